"""Lantern's core library: plain Python that imports and tests without ComfyUI."""

__version__ = "0.1.0"
