"""GPU latency / peak-VRAM benchmark of the optimisation passes (prepared for a lent H200; < 8 minutes).

    python -m benchmarks.gpu.optimize_gpu [--size 512] [--batch 2] [--steps 20] [--out DIR]

Needs torch with CUDA and the ComfyUI host (LANTERN_COMFYUI or .host/ComfyUI: the UNet is ComfyUI's own
UNetModel with the SD1.5 config and seeded random weights). Optional, each section skipped with the reason when
missing: optimum-quanto (fp8 / int8 weights), onnxruntime-gpu (CUDA / TensorRT providers), onnx.
Writes optimize_gpu.json and .md to --out (default benchmarks/results/). Every section has its own time budget
and the whole run stops starting new sections after --budget seconds (default 420).
"""
from __future__ import annotations

import argparse
import copy
import gc
import json
import math
import os
import sys
import tempfile
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--budget", type=float, default=420.0)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    args = ap.parse_args(argv)
    import torch
    if not torch.cuda.is_available():
        raise SystemExit("no CUDA device: this benchmark is for a GPU machine")
    t_start = time.perf_counter()
    from benchmarks.optimize_host import build_sd15_unet, import_comfy, sd15_inputs
    import_comfy(cpu=False)
    from lantern.optimize.metrics import max_rel_diff, rel_error
    from lantern.optimize.quantize import cast_module
    from lantern.optimize.unet import unet_forward

    dev = torch.device("cuda")
    res = {"device": torch.cuda.get_device_name(0), "torch": torch.__version__,
           "shape": f"{args.size}x{args.size} batch {args.batch}", "rows": []}
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)

    def save():
        (out_dir / "optimize_gpu.json").write_text(json.dumps(res, indent=1, default=float))
        lines = ["# GPU optimisation benchmark", "", f"{res['device']}, torch {res['torch']}, SD1.5 UNet "
                 f"architecture (seeded random weights), {res['shape']}", "",
                 "| config | ms/step | speed-up vs fp16 | peak VRAM (MiB) | rel. error vs fp16 | note |",
                 "|---|---|---|---|---|---|"]
        base = next((r for r in res["rows"] if r["config"] == "fp16 eager"), None)
        for r in res["rows"]:
            if "ms" in r:
                sp = base["ms"] / r["ms"] if base else float("nan")
                lines.append(f"| {r['config']} | {r['ms']:.1f} | {sp:.2f}x | {r['peak_vram_mib']:,.0f} | "
                             f"{r.get('rel_error', 0):.3%} | {r.get('note', '')} |")
            else:
                lines.append(f"| {r['config']} | - | - | - | - | {r.get('skipped', '')} |")
        (out_dir / "optimize_gpu.md").write_text("\n".join(lines) + "\n")

    unet32 = build_sd15_unet(seed=0)
    x, t, ctx = sd15_inputs(batch=args.batch, size=args.size)
    x, t, ctx = x.to(dev), t.to(dev), ctx.to(dev)
    ref = None

    def bench(name, fn, note=""):
        nonlocal ref
        if time.perf_counter() - t_start > args.budget:
            res["rows"].append({"config": name, "skipped": "time budget spent"})
            save()
            return
        try:
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            with torch.no_grad():
                for _ in range(3):
                    out = fn()
                torch.cuda.synchronize()
                t0 = time.perf_counter()
                for _ in range(args.steps):
                    out = fn()
                torch.cuda.synchronize()
            ms = (time.perf_counter() - t0) / args.steps * 1000
            out = out.float()
            row = {"config": name, "ms": ms, "peak_vram_mib": torch.cuda.max_memory_allocated() / 2**20,
                   "note": note, "nan": bool(torch.isnan(out).any())}
            if ref is None:
                ref = out
                row["rel_error"] = 0.0
            else:
                row["rel_error"] = rel_error(out, ref)
                row["max_rel_diff"] = max_rel_diff(out, ref)
            res["rows"].append(row)
            print(row, flush=True)
        except Exception as e:
            traceback.print_exc()
            res["rows"].append({"config": name, "skipped": f"{type(e).__name__}: {e}"[:300]})
        save()

    u16 = cast_module(copy.deepcopy(unet32), torch.float16).to(dev).eval()
    batch16 = (x, t, ctx)
    bench("fp16 eager", lambda: unet_forward(u16, batch16, sdpa=True))
    try:
        from optimum.quanto import freeze, qfloat8, qint8, quantize  # noqa: F401
        from lantern.optimize.quantize import quantize_weights
        for w in ("fp8", "int8"):
            q = quantize_weights(unet32, w, compute_dtype="fp16").module.to(dev)
            bench(f"{w} weights (quanto), fp16 compute", lambda: unet_forward(q, batch16, sdpa=True))
            del q
            gc.collect()
            torch.cuda.empty_cache()
    except ImportError as e:
        res["rows"].append({"config": "quanto fp8/int8", "skipped": f"optimum-quanto missing ({e})"})
    # ComfyUI-style fp8 storage (weights stored fp8, upcast per layer) for comparison
    try:
        u8 = copy.deepcopy(u16)
        for m in u8.modules():
            if isinstance(m, (torch.nn.Linear, torch.nn.Conv2d)):
                m.weight.data = m.weight.data.to(torch.float8_e4m3fn)
                m.forward = (lambda mod: (lambda inp: torch.nn.functional.linear(inp, mod.weight.to(inp.dtype),
                                                                                   mod.bias)
                                          if isinstance(mod, torch.nn.Linear) else
                                          mod._conv_forward(inp, mod.weight.to(inp.dtype), mod.bias)))(m)
        bench("fp8 storage, fp16 compute (upcast per layer)", lambda: unet_forward(u8, batch16, sdpa=True))
        del u8
    except Exception as e:
        res["rows"].append({"config": "fp8 storage", "skipped": f"{type(e).__name__}: {e}"[:300]})
    gc.collect()
    torch.cuda.empty_cache()
    try:
        import onnxruntime as ort
        from lantern.optimize.onnx_rt import OrtModule, make_session
        from lantern.optimize.unet import UNetExportWrapper
        avail = ort.get_available_providers()
        res["ort_providers"] = avail
        tmp = Path(tempfile.mkdtemp(prefix="lantern-gpu-onnx-"))
        wrapper = UNetExportWrapper(copy.deepcopy(u16)).to(dev)
        dyn = {"x": {0: "batch", 2: "h", 3: "w"}, "timesteps": {0: "batch"}, "context": {0: "batch", 1: "tokens"},
               "out": {0: "batch", 2: "h", 3: "w"}}
        t0 = time.perf_counter()
        from lantern.optimize.onnx_rt import export_onnx
        info = export_onnx(wrapper, [x.half(), t.half(), ctx.half()], ["x", "timesteps", "context"], dyn, tmp,
                           "fp16")
        res["onnx_export_s"] = time.perf_counter() - t0
        del wrapper
        for prov in ("cuda", "tensorrt"):
            name = {"cuda": "CUDAExecutionProvider", "tensorrt": "TensorrtExecutionProvider"}[prov]
            if name not in avail:
                res["rows"].append({"config": f"onnxruntime {prov}", "skipped": f"{name} not in {avail}"})
                continue
            if time.perf_counter() - t_start > args.budget - 120 and prov == "tensorrt":
                res["rows"].append({"config": "onnxruntime tensorrt", "skipped": "not enough time left to build "
                                    "a TensorRT engine"})
                continue
            sess = make_session(info.path, prov)
            om = OrtModule(sess, ["x", "timesteps", "context"], torch.float16)
            bench(f"onnxruntime {prov} fp16", lambda: om(x, t, ctx),
                  note="peak VRAM excludes onnxruntime's own arena")
            del sess, om
    except ImportError as e:
        res["rows"].append({"config": "onnxruntime", "skipped": f"onnxruntime-gpu/onnx missing ({e})"})
    except Exception as e:
        traceback.print_exc()
        res["rows"].append({"config": "onnxruntime", "skipped": f"{type(e).__name__}: {e}"[:300]})
    res["total_s"] = time.perf_counter() - t_start
    save()
    print(json.dumps(res, indent=1, default=float))


if __name__ == "__main__":
    main()
