#!/usr/bin/env bash
# Run Lantern's whole test suite (unit + end-to-end on a real ComfyUI host), setting everything up first.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/bootstrap.sh"
cd "$root"
exec .venv/bin/python -m pytest "${@:-tests}"
