"""Lantern needs no network at run time: the whole showcase runs in a network namespace with only loopback."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from lantern.comfy_host import PACK_DIR, default_python, network_isolation_prefix


def _can_isolate() -> bool:
    if os.geteuid() != 0 or not shutil.which("unshare") or not shutil.which("ip"):
        return False
    probe = subprocess.run([*network_isolation_prefix(), "true"], capture_output=True)
    return probe.returncode == 0


@pytest.mark.slow
def test_showcase_runs_with_outbound_network_blocked(tmp_path):
    if not _can_isolate():
        pytest.skip("needs root with unshare and ip to make a network namespace")
    # Inside the namespace, nothing but loopback exists: prove it before trusting the result.
    probe = subprocess.run([*network_isolation_prefix(), sys.executable, "-c",
                            "import socket; socket.create_connection(('1.1.1.1', 443), timeout=3)"],
                           capture_output=True, text=True)
    assert probe.returncode != 0 and "unreachable" in probe.stderr.lower(), probe.stderr

    output = tmp_path / "output"
    run = subprocess.run([*network_isolation_prefix(), default_python(), str(PACK_DIR / "scripts" / "run.py"), "demo",
                          "--output", str(output)], capture_output=True, text=True, timeout=1500)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    assert "showcase workflows succeeded" in run.stdout
    produced = [p for p in output.rglob("*") if p.is_file()]
    assert any(p.suffix == ".png" for p in produced), run.stdout[-4000:]
