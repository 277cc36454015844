"""Helpers for the optimisation benchmarks: import the ComfyUI host on the CPU and build its SD1.5 UNet.

The UNet is ComfyUI's own ``UNetModel`` class with the SD1.5 configuration and seeded random weights (no weights are
shipped or downloaded). Used by ``benchmarks/optimize_bench.py``.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SD15_UNET = dict(
    use_checkpoint=False, image_size=32, out_channels=4, use_spatial_transformer=True, legacy=False,
    adm_in_channels=None, in_channels=4, model_channels=320, num_res_blocks=[2, 2, 2, 2],
    transformer_depth=[1, 1, 1, 1, 1, 1, 0, 0], channel_mult=[1, 2, 4, 4], transformer_depth_middle=1,
    use_linear_in_transformer=False, context_dim=768, num_heads=8,
    transformer_depth_output=[1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0],
    use_temporal_attention=False, use_temporal_resblock=False,
)


def host_dir() -> Path:
    env = os.environ.get("LANTERN_COMFYUI")
    for cand in ([Path(env)] if env else []) + [ROOT / ".host" / "ComfyUI"]:
        if (cand / "comfy").is_dir():
            return cand
    raise SystemExit("ComfyUI host not found: run scripts/bootstrap.sh or set LANTERN_COMFYUI=/path/to/ComfyUI")


def import_comfy(cpu: bool = True):
    """Import ComfyUI's ``comfy`` package in CPU mode (as ``main.py --cpu`` would)."""
    d = str(host_dir())
    if d not in sys.path:
        sys.path.insert(0, d)
    import comfy.options
    comfy.options.enable_args_parsing(False)
    from comfy.cli_args import args
    args.cpu = cpu
    import comfy.model_management  # noqa: F401  (decides the attention function from args)
    import comfy.ldm.modules.attention as attention
    return attention


def build_sd15_unet(seed: int = 0, dtype=None, **overrides):
    """ComfyUI's UNetModel with the SD1.5 configuration and seeded random weights (fp32, CPU)."""
    import torch
    import comfy.ops
    from comfy.ldm.modules.diffusionmodules.openaimodel import UNetModel
    cfg = dict(SD15_UNET)
    cfg.update(overrides)
    cfg["dtype"] = dtype or torch.float32
    unet = UNetModel(**cfg, device="cpu", operations=comfy.ops.disable_weight_init)
    seed_weights(unet, seed)
    return unet.eval().requires_grad_(False)


def seed_weights(module, seed: int) -> None:
    """Fill every weight with a seeded, variance-preserving random init (ComfyUI's ops skip initialisation)."""
    import math
    import torch
    g = torch.Generator().manual_seed(seed)
    for name, p in module.named_parameters():
        with torch.no_grad():
            if p.ndim >= 2:
                fan_in = p[0].numel()
                p.copy_(torch.randn(p.shape, generator=g) / math.sqrt(fan_in))
            elif name.endswith("weight"):
                p.fill_(1.0)
            else:
                p.copy_(torch.randn(p.shape, generator=g) * 0.01)


def sd15_inputs(batch: int = 2, size: int = 256, seed: int = 0, context_tokens: int = 77):
    import torch
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, 4, size // 8, size // 8, generator=g)
    t = torch.linspace(999, 1, batch)
    ctx = torch.randn(batch, context_tokens, 768, generator=g)
    return x, t, ctx
