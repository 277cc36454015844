"""Exporter throughput and extra memory (issue 5).

    .venv/bin/python -m benchmarks.export_throughput [--frames 240] [--size 512]

For each format (MP4 H.264, WebM VP9, GIF, animated WebP) a fresh child process builds a ComfyUI-style IMAGE batch
(float32 ``[frames, size, size, 3]``, a moving gradient so every frame differs) and encodes it with
``lantern.export.encode_animation``. Measured per format:

- throughput: frames written per second of wall time (encoding included);
- extra peak memory over the input batch, in the Python process: peak RSS during encoding minus RSS just before
  it (sampled every 5 ms from /proc/self/statm), and the tracemalloc peak (numpy/Python allocations);
  target: extra <= 10 % of the batch's size;
- the encoder subprocess's own peak RSS (ffmpeg's VmHWM, sampled from /proc), reported separately.

Writes benchmarks/results/export_throughput.json and .md.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import tempfile
import threading
import time
import tracemalloc
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
FORMATS = ["h264-mp4", "vp9-webm", "gif", "webp"]


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _children_peak_rss() -> int:
    """Largest VmHWM (peak resident memory) among this process's current child processes (the encoder)."""
    best = 0
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/children") as f:
                pids = f.read().split()
        except OSError:
            continue
        for pid in pids:
            try:
                with open(f"/proc/{pid}/comm") as f:
                    if not f.read().startswith("ffmpeg"):
                        continue  # not exec'd yet: a fork of this process, whose RSS is ours
                with open(f"/proc/{pid}/status") as f:
                    for line in f:
                        if line.startswith("VmHWM:"):
                            best = max(best, int(line.split()[1]) * 1024)
            except OSError:
                pass
    return best


def _measure(fmt_name: str, frames: int, size: int, queue) -> None:
    import torch

    from lantern.export.formats import get_format
    from lantern.export.video import encode_animation

    fmt = get_format(fmt_name)
    torch.manual_seed(0)
    x = torch.linspace(0, 1, size).reshape(1, 1, size, 1)
    y = torch.linspace(0, 1, size).reshape(1, size, 1, 1)
    t = torch.linspace(0, 1, frames).reshape(frames, 1, 1, 1)
    batch = torch.cat([(x + t) % 1.0 * torch.ones_like(y), (y + 2 * t) % 1.0 * torch.ones_like(x),
                       (0.5 + 0.5 * torch.sin(6.28 * (x * y + t))).expand(frames, size, size, 1)], dim=-1)
    batch = batch.expand(frames, size, size, 3).contiguous()
    batch_bytes = batch.numel() * batch.element_size()
    base = _rss()
    peak = {"rss": base, "child": 0}
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak["rss"] = max(peak["rss"], _rss())
            peak["child"] = max(peak["child"], _children_peak_rss())
            time.sleep(0.005)

    sampler = threading.Thread(target=sample, daemon=True)
    with tempfile.TemporaryDirectory() as td:
        out = Path(td) / f"bench.{fmt.extension}"
        tracemalloc.start()
        sampler.start()
        started = time.perf_counter()
        result = encode_animation(batch, out, fmt, fps=24)
        seconds = time.perf_counter() - started
        stop.set()
        sampler.join()
        _, traced_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        file_bytes = out.stat().st_size
    child_peak = peak["child"]
    extra = peak["rss"] - base
    queue.put({
        "format": fmt_name,
        "frames": result.frames,
        "size": size,
        "seconds": round(seconds, 2),
        "fps": round(result.frames / seconds, 1),
        "batch_mib": round(batch_bytes / 2**20, 1),
        "extra_rss_mib": round(extra / 2**20, 1),
        "extra_rss_pct_of_batch": round(100 * extra / batch_bytes, 2),
        "tracemalloc_peak_mib": round(traced_peak / 2**20, 2),
        "encoder_process_peak_rss_mib": round(child_peak / 2**20, 1),
        "file_mib": round(file_bytes / 2**20, 2),
        "meets_target": extra <= 0.10 * batch_bytes,
    })


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=240)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--formats", default=",".join(FORMATS),
                        help="comma-separated subset to re-measure (other rows are kept from the last run)")
    args = parser.parse_args()
    ctx = mp.get_context("spawn")
    rows = []
    for name in args.formats.split(","):
        queue = ctx.Queue()
        proc = ctx.Process(target=_measure, args=(name, args.frames, args.size, queue))
        proc.start()
        row = queue.get()
        proc.join()
        rows.append(row)
        print(json.dumps(row))
    previous = RESULTS / "export_throughput.json"
    if args.formats != ",".join(FORMATS) and previous.exists():  # re-measured a subset: keep the other rows
        done = {r["format"] for r in rows}
        old_rows = {r["format"]: r for r in json.loads(previous.read_text())["results"]}
        rows = [next(r for r in rows if r["format"] == f) if f in done else old_rows[f]
                for f in FORMATS if f in done or f in old_rows]
    import imageio_ffmpeg

    data = {
        "benchmark": "export_throughput",
        "command": f".venv/bin/python -m benchmarks.export_throughput --frames {args.frames} --size {args.size}",
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs (shared), Python {platform.python_version()}",
        "ffmpeg": imageio_ffmpeg.get_ffmpeg_version(),
        "target": "exporter's extra peak memory <= 10 % of the input batch",
        "results": rows,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "export_throughput.json").write_text(json.dumps(data, indent=2) + "\n")
    lines = [
        f"# Export throughput ({args.frames} frames, {args.size}x{args.size}, float32 batch "
        f"{rows[0]['batch_mib']} MiB)",
        "",
        f"`{data['command']}` on {data['machine']}; ffmpeg {data['ffmpeg']} (imageio-ffmpeg).",
        "",
        "| format | fps | seconds | extra RSS (MiB) | % of batch | tracemalloc peak (MiB) | ffmpeg peak RSS (MiB) | file (MiB) | ≤10 % |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(f"| {r['format']} | {r['fps']} | {r['seconds']} | {r['extra_rss_mib']} | "
                     f"{r['extra_rss_pct_of_batch']} | {r['tracemalloc_peak_mib']} | "
                     f"{r['encoder_process_peak_rss_mib'] or 'n/a (Pillow, in-process)'} | {r['file_mib']} | "
                     f"{'yes' if r['meets_target'] else 'no'} |")
    lines += ["", "Extra RSS is measured in the exporting process over the batch already in memory (sampled every 5 ms); "
              "the test clip is a moving full-colour gradient (nearly every 24-bit colour appears), a worst case for "
              "GIF's palette passes."]
    (RESULTS / "export_throughput.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
