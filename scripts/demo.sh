#!/usr/bin/env bash
# The main job: set everything up on a fresh machine, start ComfyUI with Lantern, run the showcase workflows.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/bootstrap.sh"
exec "$root/.venv/bin/python" "$root/scripts/run.py" demo "$@"
