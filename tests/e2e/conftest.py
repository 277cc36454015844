"""Session fixtures: one real ComfyUI server with the Lantern pack, shared by every e2e test.

Set LANTERN_COMFYUI to use another ComfyUI checkout (default: .host/ComfyUI made by scripts/bootstrap.sh).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lantern.client import ComfyClient
from lantern.comfy_host import PACK_DIR, ComfyServer, default_comfy_dir, default_python
from tests.e2e.graphs import DEMO_CHECKPOINT


class Host:
    def __init__(self, server: ComfyServer, client: ComfyClient):
        self.server = server
        self.client = client
        self.url = server.url
        self.output_dir = server.output_dir
        self.user_dir = server.user_dir
        self._object_info = None

    @property
    def object_info(self) -> dict:
        if self._object_info is None:
            self._object_info = self.client.object_info()
        return self._object_info

    def log(self) -> str:
        return self.server.log_text()


@pytest.fixture(scope="session")
def comfy(tmp_path_factory) -> Host:
    comfy_dir = default_comfy_dir()
    if not (comfy_dir / "models" / "checkpoints" / DEMO_CHECKPOINT).exists():
        pytest.fail(f"the demo checkpoint is missing under {comfy_dir}: run scripts/bootstrap.sh")
    server = ComfyServer(comfy_dir, tmp_path_factory.mktemp("comfy-base"), python=default_python())
    server.start()
    host = Host(server, ComfyClient(server.url, timeout=900))
    try:
        yield host
    finally:
        server.stop()
        print(f"\n[ComfyUI log: {server.log_path}]")


@pytest.fixture(scope="session")
def client(comfy) -> ComfyClient:
    return comfy.client


@pytest.fixture(scope="session")
def workflows_dir() -> Path:
    return PACK_DIR / "workflows"
