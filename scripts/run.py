"""Lantern's main commands (called by scripts/demo.sh and scripts/serve.sh after set-up).

  demo   start ComfyUI with the pack, run the showcase workflows through the HTTP API with progress, print results
  serve  start ComfyUI with the pack for use in the browser (Ctrl+C stops it)
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lantern.client import ComfyClient, ComfyError  # noqa: E402
from lantern.comfy_host import ComfyServer, default_comfy_dir, default_python  # noqa: E402

# The showcase, in order; each is an API workflow in workflows/. Missing ones (features not landed) are skipped.
SHOWCASE = ("txt2img_demo", "prompt_to_image", "inspiration", "prompt_animation", "export_stills",
            "optimized_txt2img")


def _progress_printer():
    state = {"node": None}

    def on_event(event: dict) -> None:
        data = event.get("data", {})
        if event["type"] == "executing" and data.get("node"):
            state["node"] = data["node"]
        elif event["type"] == "progress":
            done, total = data.get("value", 0), data.get("max", 1) or 1
            bar = "#" * int(30 * done / total)
            print(f"\r    node {data.get('node', state['node'])}: [{bar:<30}] {done}/{total}", end="", flush=True)
        elif event["type"] == "executed":
            print(f"\r    node {data.get('node')}: done{' ' * 40}", flush=True)

    return on_event


def demo(args) -> int:
    output = args.output.resolve()
    workflows = [(name, ROOT / "workflows" / f"{name}.api.json") for name in SHOWCASE]
    workflows = [(name, path) for name, path in workflows if path.exists()]
    print(f"Lantern demo: starting ComfyUI (CPU) with the Lantern pack; outputs go to {output}")
    server = ComfyServer(default_comfy_dir(), ROOT / ".host" / "demo-base", python=default_python(),
                         output_dir=output, port=args.port)
    failures = 0
    with server:
        client = ComfyClient(server.url, timeout=1800)
        print(f"ComfyUI is up at {server.url} (log: {server.log_path})")
        for name, path in workflows:
            graph = json.loads(path.read_text())
            ui_twin = path.with_name(f"{name}.json")
            extra = {"workflow": json.loads(ui_twin.read_text())} if ui_twin.exists() else None
            print(f"\n▶ {name}  ({path.relative_to(ROOT)})")
            started = time.perf_counter()
            try:
                result = client.run(graph, on_event=_progress_printer(), extra_pnginfo=extra)
            except ComfyError as error:
                failures += 1
                print(f"  ✗ failed: {error}")
                continue
            files = [item for node_id in result.outputs for item in result.files(node_id)]
            print(f"  ✓ {time.perf_counter() - started:.1f} s")
            for item in files:
                folder = output / item.get("subfolder", "") if item.get("type") == "output" else None
                where = folder / item["filename"] if folder else f"({item.get('type')}) {item['filename']}"
                print(f"    {where}")
    print(f"\nDone: {len(workflows) - failures}/{len(workflows)} showcase workflows succeeded. Results are in {output}")
    return 1 if failures else 0


def serve(args) -> int:
    server = ComfyServer(default_comfy_dir(), ROOT / ".host" / "serve-base", python=default_python(),
                         output_dir=args.output.resolve(), port=args.port)
    with server:
        print(f"ComfyUI with Lantern is running: open {server.url} in your browser (Ctrl+C to stop).")
        print(f"Outputs go to {server.output_dir}; log: {server.log_path}")
        try:
            while server.process.poll() is None:
                time.sleep(1)
        except KeyboardInterrupt:
            print("\nstopping")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("demo", "serve"):
        command = sub.add_parser(name)
        command.add_argument("--output", type=Path, default=ROOT / "output", help="where results are written")
        command.add_argument("--port", type=int, default=8188 if name == "serve" else None)
    args = parser.parse_args()
    return demo(args) if args.command == "demo" else serve(args)


if __name__ == "__main__":
    sys.exit(main())
