"""`GET /lantern/status`: which Lantern nodes loaded, which are disabled and why (for users and automation)."""

from __future__ import annotations

from aiohttp import web

from ..lantern import __version__


def register_routes(routes) -> None:
    @routes.get("/lantern/status")
    async def lantern_status(request: web.Request) -> web.Response:
        from . import DISABLED
        import nodes as comfy_nodes  # ComfyUI's registry: what actually got registered

        loaded = sorted(name for name in comfy_nodes.NODE_CLASS_MAPPINGS if name.startswith("Lantern"))
        return web.json_response({"version": __version__, "nodes": loaded, "disabled": DISABLED})
