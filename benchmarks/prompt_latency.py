"""Latency of the prompt interpreter per prompt (median over a few hundred prompts).

Two modes: lexical (vocabularies, CLIP token map, diagnosis; MiniLM off) and MiniLM (the same plus semantic
suggestions with all-MiniLM-L6-v2). Prompts: the labelled set plus variations made from it (seeded), so every
prompt is new to the per-text caches. Model loading is measured separately, not in the per-prompt numbers.

    .venv/bin/python -m benchmarks.prompt_latency [--n 300]

Writes benchmarks/results/prompt_latency.json and .md.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from lantern import semantic  # noqa: E402
from lantern.prompting.expander import expand  # noqa: E402
from lantern.prompting.reading import get_interpreter  # noqa: E402
from lantern.prompting.tokens import get_counter  # noqa: E402

OUT = ROOT / "benchmarks" / "results"
TARGETS_MS = {"lexical": 20.0, "minilm": 60.0}
EXTRA = ["at dawn", "in the rain", "oil painting", "soft light", "close-up", "wide shot", "golden hour",
         "watercolor", "mysterious", "85mm", "neon lights", "studio ghibli-like", "snowy", "with a cat"]


def prompts(n: int) -> list[str]:
    base = [json.loads(l)["prompt"] for l in open(ROOT / "tests" / "data" / "prompts_labelled.jsonl", encoding="utf-8")]
    rng = random.Random(1234)
    out = []
    i = 0
    while len(out) < n:
        p = base[i % len(base)]
        extra = rng.sample(EXTRA, rng.randint(0, 3))
        out.append(", ".join([p] + extra) + f" #{i}")
        i += 1
    return out


def timeit(fn, items):
    """Wall-clock and CPU (process) time per prompt, in ms."""
    wall, cpu = [], []
    for t in items:
        t0, c0 = time.perf_counter(), time.process_time()
        fn(t)
        wall.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
    return wall, cpu


def summary(times):
    wall, cpu = times
    s = sorted(wall)
    return {"median_ms": round(statistics.median(s), 3), "p90_ms": round(s[int(0.9 * (len(s) - 1))], 3),
            "mean_ms": round(statistics.fmean(s), 3), "max_ms": round(s[-1], 3),
            "cpu_median_ms": round(statistics.median(cpu), 3), "n": len(s)}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--threads", type=int, default=1,
                    help="torch CPU threads for MiniLM in this process (default 1: the machine is shared)")
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(max(1, args.threads))
    load_before = os.getloadavg()
    items = prompts(args.n)
    interp = get_interpreter()
    t0 = time.perf_counter()
    counter = get_counter()
    interp.read("warm-up prompt, watercolr", counter=counter, semantic=False)  # loads tokenizer + spell checker
    warm_lexical = (time.perf_counter() - t0) * 1000
    results = {}
    results["lexical"] = summary(timeit(lambda t: interp.read(t, counter=counter, semantic=False), items))
    results["expander"] = summary(timeit(lambda t: expand(t, seed=1, counter=counter), items[: max(50, args.n // 3)]))
    load_ms = None
    if semantic.available():
        t0 = time.perf_counter()
        interp.read("warm-up prompt", counter=counter, semantic=True)  # loads MiniLM + vocabulary embeddings
        load_ms = (time.perf_counter() - t0) * 1000
        results["minilm"] = summary(timeit(lambda t: interp.read(t, counter=counter, semantic=True), items))
    else:
        results["minilm"] = {"skipped": semantic.unavailable_reason()}
    for k, target in TARGETS_MS.items():
        if "median_ms" in results[k]:
            results[k]["target_ms"] = target
            results[k]["meets_target"] = results[k]["median_ms"] <= target
    payload = {
        "benchmark": "prompt_latency",
        "machine": {"python": platform.python_version(), "cpu_count": os.cpu_count(), "platform": platform.platform()},
        "tokenizer": counter.name, "token_method": counter.method,
        "warmup_lexical_ms": round(warm_lexical, 1), "minilm_load_ms": round(load_ms, 1) if load_ms else None,
        "torch_threads": args.threads, "loadavg_before": [round(x, 2) for x in load_before],
        "loadavg_after": [round(x, 2) for x in os.getloadavg()],
        "results": results,
    }
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "prompt_latency.json").write_text(json.dumps(payload, indent=1) + "\n")
    lines = ["# prompt_latency", "", f"{args.n} prompts, one at a time; tokenizer: {counter.name} ({counter.method}); "
             f"{os.cpu_count()} CPU cores shared with other work (load average {load_before[0]:.1f} before, "
             f"{os.getloadavg()[0]:.1f} after); torch threads {args.threads}.", "",
             "| mode | median ms (wall) | p90 ms | max ms | median CPU ms | target (median) | met |",
             "|---|---|---|---|---|---|---|"]
    for k, r in results.items():
        if "median_ms" in r:
            t = r.get("target_ms")
            lines.append(f"| {k} | {r['median_ms']:.2f} | {r['p90_ms']:.2f} | {r['max_ms']:.1f} | {r['cpu_median_ms']:.2f} | "
                         f"{'≤ %.0f ms' % t if t else '-'} | {('yes' if r['meets_target'] else 'no') if t else '-'} |")
        else:
            lines.append(f"| {k} | skipped: {r['skipped']} | | | | | |")
    lines += ["", f"One-off loading: tokenizer + spell checker {warm_lexical:.0f} ms; "
              f"MiniLM + vocabulary embeddings {load_ms:.0f} ms." if load_ms else "",
              "", "Command: `.venv/bin/python -m benchmarks.prompt_latency`", ""]
    (OUT / "prompt_latency.md").write_text("\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
