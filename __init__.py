"""Lantern: private, local text-and-image content generation for ComfyUI.

ComfyUI loads this file when the repository sits in `ComfyUI/custom_nodes/`. Nodes are registered through the V3
API (`comfy_entrypoint`); this module deliberately does not export `NODE_CLASS_MAPPINGS`, because ComfyUI would then
take the V1 path and silently drop every V3 node.
"""

from .nodes import comfy_entrypoint  # noqa: F401

WEB_DIRECTORY = "./web"

__all__ = ["comfy_entrypoint", "WEB_DIRECTORY"]
