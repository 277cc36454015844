"""Start and stop a real ComfyUI server with the Lantern pack installed, in a private base directory.

Used by the end-to-end tests, the demo (`scripts/demo.py`), `scripts/serve.sh` and benchmarks. The server runs as a
subprocess of the given Python (`main.py --cpu --base-directory <dir> --port <port> --disable-auto-launch`), with the
pack linked into `<dir>/custom_nodes/` and the checkpoints of the host linked into `<dir>/models/checkpoints/`.

ComfyUI keeps running when a custom node fails to import (and `--quick-test-for-ci` exits 0 then), so `start()`
reads the log and fails loudly if the pack did not load.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

PACK_DIR = Path(__file__).resolve().parent.parent
PACK_FOLDER_NAME = "Lantern"
IMPORT_FAILURE_MARKERS = ("IMPORT FAILED", "Cannot import", "Traceback (most recent call last)")


class HostError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ComfyServer:
    def __init__(self, comfy_dir: Path, base_dir: Path, python: str = sys.executable, port: int | None = None,
                 pack_dir: Path = PACK_DIR, extra_args: tuple[str, ...] = (), env: dict | None = None,
                 output_dir: Path | None = None):
        self.comfy_dir = Path(comfy_dir).resolve()
        self.base_dir = Path(base_dir).resolve()
        self.python = python
        self.port = port or free_port()
        self.pack_dir = Path(pack_dir).resolve()
        self.extra_args = tuple(extra_args)
        self.env = env
        self._output_dir = Path(output_dir).resolve() if output_dir else None
        self.log_path = self.base_dir / "comfyui.log"
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def output_dir(self) -> Path:
        return self._output_dir or self.base_dir / "output"

    @property
    def user_dir(self) -> Path:
        return self.base_dir / "user"

    def prepare(self) -> None:
        """Lay out the base directory: the pack in custom_nodes/, the host's checkpoints in models/checkpoints/."""
        if not (self.comfy_dir / "main.py").is_file():
            raise HostError(f"no ComfyUI at {self.comfy_dir}: run scripts/bootstrap.sh first")
        custom_nodes = self.base_dir / "custom_nodes"
        custom_nodes.mkdir(parents=True, exist_ok=True)
        link = custom_nodes / PACK_FOLDER_NAME
        if not link.exists():
            link.symlink_to(self.pack_dir, target_is_directory=True)
        source = self.comfy_dir / "models" / "checkpoints"
        checkpoints = self.base_dir / "models" / "checkpoints"
        checkpoints.mkdir(parents=True, exist_ok=True)
        for model in source.glob("*.safetensors"):
            target = checkpoints / model.name
            if not target.exists():
                target.symlink_to(model)
        for folder in ("input", "temp", "user"):
            (self.base_dir / folder).mkdir(exist_ok=True)
        self.output_dir.mkdir(parents=True, exist_ok=True)

    def command(self) -> list[str]:
        return [self.python, str(self.comfy_dir / "main.py"), "--cpu", "--base-directory",
                str(self.base_dir), "--listen", "127.0.0.1", "--port", str(self.port), "--disable-auto-launch",
                "--database-url", "sqlite:///:memory:",
                *(("--output-directory", str(self._output_dir)) if self._output_dir else ()), *self.extra_args]

    def start(self, timeout: float = 240.0) -> "ComfyServer":
        self.prepare()
        env = dict(os.environ if self.env is None else self.env)
        env.setdefault("HF_HUB_OFFLINE", "1")  # nothing in Lantern or ComfyUI core may reach a model hub
        env.setdefault("TRANSFORMERS_OFFLINE", "1")
        env.setdefault("DO_NOT_TRACK", "1")
        log = open(self.log_path, "wb")
        self.process = subprocess.Popen(self.command(), cwd=self.comfy_dir, stdout=log, stderr=subprocess.STDOUT,
                                        env=env, start_new_session=True)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise HostError(f"ComfyUI exited with code {self.process.returncode} during start-up:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(self.url + "/system_stats", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                time.sleep(0.5)
        else:
            self.stop()
            raise HostError(f"ComfyUI did not answer /system_stats within {timeout:.0f} s:\n{self.log_tail()}")
        self.check_pack_loaded()
        return self

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def check_pack_loaded(self) -> None:
        """Fail if the log shows the pack (or one of its area modules) failing to import."""
        text = self.log_text()
        bad = [line for line in text.splitlines()
               if any(marker in line for marker in IMPORT_FAILURE_MARKERS) and PACK_FOLDER_NAME in line]
        area_errors = [line for line in text.splitlines() if "Lantern: the " in line and "disabled" in line]
        if bad or area_errors:
            raise HostError("the Lantern pack failed to load:\n" + "\n".join(bad + area_errors) + "\n\n" + self.log_tail())

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def __enter__(self) -> "ComfyServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def default_comfy_dir() -> Path:
    return Path(os.environ.get("LANTERN_COMFYUI", PACK_DIR / ".host" / "ComfyUI"))


def default_python() -> str:
    venv_python = PACK_DIR / ".venv" / "bin" / "python"
    return str(venv_python) if venv_python.exists() else sys.executable


def network_isolation_prefix() -> tuple[str, ...]:
    """A command prefix that runs a program in a new network namespace where only loopback is up (needs root).

    Client and server must both run inside it: the namespace has its own loopback."""
    if not shutil.which("unshare") or not shutil.which("ip"):
        raise HostError("network isolation needs `unshare` and `ip` (util-linux, iproute2)")
    return ("unshare", "--net", "sh", "-c", 'ip link set lo up && exec "$0" "$@"')
