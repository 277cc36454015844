"""Builders of API-format graphs for the e2e tests."""

from __future__ import annotations

import re
from pathlib import Path

DEMO_CHECKPOINT = "lantern_demo_sd15.safetensors"
PACK_DIR = Path(__file__).resolve().parents[2]


def declared_node_ids() -> set[str]:
    """Every node id the pack's adapter modules declare, read from the source (independent of the registry)."""
    ids = set()
    for module in (PACK_DIR / "nodes").glob("*.py"):
        ids.update(re.findall(r'node_id\s*=\s*"(Lantern\w+)"', module.read_text()))
    return ids


def txt2img(prompt: str = "a lantern on a wooden table, warm light", negative: str = "blurry", seed: int = 1,
            steps: int = 4, size: int = 128, batch: int = 1, prefix: str = "lantern_e2e") -> dict:
    """The stock txt2img graph on the demo checkpoint; node "9" saves the image."""
    return {
        "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": DEMO_CHECKPOINT}},
        "5": {"class_type": "EmptyLatentImage", "inputs": {"width": size, "height": size, "batch_size": batch}},
        "6": {"class_type": "CLIPTextEncode", "inputs": {"text": prompt, "clip": ["4", 1]}},
        "7": {"class_type": "CLIPTextEncode", "inputs": {"text": negative, "clip": ["4", 1]}},
        "3": {"class_type": "KSampler", "inputs": {
            "seed": seed, "steps": steps, "cfg": 7.0, "sampler_name": "euler", "scheduler": "normal", "denoise": 1.0,
            "model": ["4", 0], "positive": ["6", 0], "negative": ["7", 0], "latent_image": ["5", 0]}},
        "8": {"class_type": "VAEDecode", "inputs": {"samples": ["3", 0], "vae": ["4", 2]}},
        "9": {"class_type": "SaveImage", "inputs": {"filename_prefix": prefix, "images": ["8", 0]}},
    }
