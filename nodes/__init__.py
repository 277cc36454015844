"""Collects Lantern's nodes and routes from the per-area adapter modules.

Each area module (`nodes/<area>.py`) defines `NODES` and may define `register_routes(routes)`. A module that fails to
import, or a node whose optional library is missing (declared as `LANTERN_REQUIRES = {import name: pip name}`), is
left out with a log line saying what to install; the rest of the pack loads regardless.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging

from comfy_api.latest import ComfyExtension, io

log = logging.getLogger("lantern")

# Area modules, in menu order. A module listed here that does not exist yet is skipped quietly.
AREA_MODULES = ("prompting", "inspiration", "animation", "export", "optimize", "status")

# Filled at load time: node id -> reason it is unavailable. Served by /lantern/status.
DISABLED: dict[str, str] = {}


def missing_requirements(node_cls) -> list[str]:
    """pip names of the optional libraries a node needs that are not importable here."""
    missing = []
    for import_name, pip_name in getattr(node_cls, "LANTERN_REQUIRES", {}).items():
        try:
            found = importlib.util.find_spec(import_name) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            missing.append(pip_name)
    return missing


def _load_area(name: str):
    try:
        return importlib.import_module(f".{name}", __name__)
    except ModuleNotFoundError as error:
        if error.name == f"{__name__}.{name}":
            return None
        log.error("Lantern: the %s nodes are disabled: %s. Install it with: pip install %s", name, error, error.name)
        DISABLED[f"<{name}>"] = f"missing module {error.name}"
    except Exception as error:  # keep the rest of the pack alive
        log.exception("Lantern: the %s nodes are disabled: %s", name, error)
        DISABLED[f"<{name}>"] = f"import error: {error}"
    return None


def collect() -> tuple[list[type[io.ComfyNode]], list]:
    nodes, route_registrars = [], []
    for name in AREA_MODULES:
        module = _load_area(name)
        if module is None:
            continue
        for node_cls in getattr(module, "NODES", []):
            missing = missing_requirements(node_cls)
            if missing:
                node_id = node_cls.GET_SCHEMA().node_id
                reason = f"needs {', '.join(missing)}: pip install {' '.join(missing)}"
                DISABLED[node_id] = reason
                log.warning("Lantern: %s is disabled (%s)", node_id, reason)
                continue
            nodes.append(node_cls)
        if hasattr(module, "register_routes"):
            route_registrars.append(module.register_routes)
    return nodes, route_registrars


def _register_routes(registrars) -> None:
    try:
        from server import PromptServer
    except ImportError:  # imported outside a running ComfyUI (e.g. tooling)
        return
    if getattr(PromptServer, "instance", None) is None:
        return
    for register in registrars:
        try:
            register(PromptServer.instance.routes)
        except Exception:
            log.exception("Lantern: could not register routes from %s", register.__module__)


class LanternExtension(ComfyExtension):
    def __init__(self) -> None:
        self._nodes, registrars = collect()
        _register_routes(registrars)

    async def get_node_list(self) -> list[type[io.ComfyNode]]:
        return list(self._nodes)


async def comfy_entrypoint() -> LanternExtension:
    return LanternExtension()
