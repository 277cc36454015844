"""Write the UI-format twin of an API-format workflow: workflows/<name>.api.json -> workflows/<name>.json.

Needs each node's input order from a real ComfyUI's /object_info: pass --url of a running server, or let the script
start one with the pack (takes ~20 s).
"""

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lantern.client import ComfyClient  # noqa: E402
from lantern.comfy_host import ComfyServer, default_comfy_dir, default_python  # noqa: E402
from lantern.workflow_format import api_to_ui  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("api_files", nargs="+", type=Path)
    parser.add_argument("--url", help="a running ComfyUI with the Lantern pack")
    args = parser.parse_args()
    if args.url:
        object_info = ComfyClient(args.url).object_info()
    else:
        with tempfile.TemporaryDirectory() as base, ComfyServer(default_comfy_dir(), Path(base),
                                                                python=default_python()) as server:
            object_info = ComfyClient(server.url).object_info()
    for api_file in args.api_files:
        if not api_file.name.endswith(".api.json"):
            raise SystemExit(f"{api_file}: expected a name ending in .api.json")
        ui = api_to_ui(json.loads(api_file.read_text()), object_info)
        target = api_file.with_name(api_file.name[: -len(".api.json")] + ".json")
        target.write_text(json.dumps(ui, indent=2) + "\n")
        print(f"wrote {target}")


if __name__ == "__main__":
    main()
