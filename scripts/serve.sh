#!/usr/bin/env bash
# Start ComfyUI with Lantern for use in the browser (http://127.0.0.1:8188 by default; --port to change).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/bootstrap.sh"
exec "$root/.venv/bin/python" "$root/scripts/run.py" serve "$@"
