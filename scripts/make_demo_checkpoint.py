"""Generate Lantern's demo checkpoint: SD1.5 layout, seeded random weights, small enough for a CPU.

Nothing can be downloaded, so tests, benchmarks and the demo share this checkpoint. It is made with ComfyUI's own
model classes, so every key is where ComfyUI's loader expects it:

- UNet: `model_channels=320` and `context_dim=768`, which is what makes stock `CheckpointLoaderSimple` detect SD1.5,
  but two levels with one res-block each instead of four with two (about 107M parameters instead of 860M);
- text encoder: the full CLIP-L (ComfyUI's `sd1_clip_config.json`), tokenised by ComfyUI's bundled CLIP tokenizer;
- VAE: the full SD VAE (`ch=128`, `ch_mult=[1,2,4,4]`).

Weights are drawn from a seeded generator, then the UNet's and the VAE decoder's output layers are rescaled so that
predictions and images have a sensible spread (random weights otherwise saturate the decoded image to flat colours,
which would make fidelity measurements meaningless). The file is written to a temporary name and renamed, so an
interrupted run never leaves a half checkpoint that later loads fail on.

Usage: python scripts/make_demo_checkpoint.py --host .host/ComfyUI [--force]
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path

DEMO_CHECKPOINT = "lantern_demo_sd15.safetensors"
SEED = 20261129
FORMAT_VERSION = "1"  # bump when the recipe changes so stale files are regenerated

UNET_CONFIG = {
    "use_checkpoint": False, "image_size": 32, "in_channels": 4, "out_channels": 4, "model_channels": 320,
    "use_spatial_transformer": True, "legacy": False, "adm_in_channels": None, "context_dim": 768, "num_heads": 8,
    "use_linear_in_transformer": False, "use_temporal_attention": False, "use_temporal_resblock": False,
    "channel_mult": [1, 2], "num_res_blocks": [1, 1], "transformer_depth": [1, 1], "transformer_depth_middle": 1,
    "transformer_depth_output": [1, 1, 1, 1],
}
VAE_CONFIG = {"double_z": True, "z_channels": 4, "resolution": 256, "in_channels": 3, "out_ch": 3, "ch": 128,
              "ch_mult": [1, 2, 4, 4], "num_res_blocks": 2, "attn_resolutions": [], "dropout": 0.0}


def _init_weights(module, generator) -> None:
    import torch

    for sub in module.modules():
        weight = getattr(sub, "weight", None)
        bias = getattr(sub, "bias", None)
        name = type(sub).__name__
        with torch.no_grad():
            if "Norm" in name:
                if weight is not None:
                    weight.fill_(1.0)
                if bias is not None:
                    bias.zero_()
            elif "Embedding" in name and weight is not None:
                weight.normal_(0.0, 0.02, generator=generator)
            elif weight is not None and weight.dim() >= 2:
                fan_in = math.prod(weight.shape[1:])
                weight.normal_(0.0, 1.0 / math.sqrt(fan_in), generator=generator)
                if bias is not None:
                    bias.zero_()
    # Parameters that are not module weights (CLIP's position embedding, logit scale...)
    for name, param in module.named_parameters():
        if torch.isnan(param).any() or torch.isinf(param).any() or param.abs().max() > 1e6:
            with torch.no_grad():
                param.normal_(0.0, 0.01, generator=generator)


def _rescale_output(layer, produce, target_std: float) -> None:
    import torch

    with torch.no_grad():
        std = produce().float().std().item()
        layer.weight.mul_(target_std / max(std, 1e-6))
        if layer.bias is not None:
            layer.bias.zero_()


def build_state_dict(seed: int = SEED):
    import torch
    import comfy.ops
    import comfy.sd1_clip
    from comfy.ldm.models.autoencoder import AutoencoderKL
    from comfy.ldm.modules.diffusionmodules.openaimodel import UNetModel

    generator = torch.Generator().manual_seed(seed)
    ops = comfy.ops.disable_weight_init

    unet = UNetModel(**UNET_CONFIG, dtype=torch.float32, device="cpu", operations=ops)
    _init_weights(unet, generator)
    latents = torch.randn(1, 4, 16, 16, generator=generator)
    context = torch.randn(1, 77, 768, generator=generator)
    timesteps = torch.tensor([500.0])
    _rescale_output(unet.out[-1], lambda: unet(latents, timesteps, context=context), 1.0)

    clip = comfy.sd1_clip.SDClipModel(device="cpu", dtype=torch.float32)
    _init_weights(clip.transformer, generator)

    vae = AutoencoderKL(ddconfig=VAE_CONFIG, embed_dim=4)
    _init_weights(vae, generator)
    _rescale_output(vae.decoder.conv_out, lambda: vae.decode(torch.randn(1, 4, 16, 16, generator=generator)), 0.5)

    state = {}
    for prefix, module in (("model.diffusion_model.", unet), ("cond_stage_model.", clip), ("first_stage_model.", vae)):
        for key, tensor in module.state_dict().items():
            if prefix == "cond_stage_model." and not key.startswith("transformer."):
                continue  # ComfyUI-side buffers, not checkpoint weights
            state[prefix + key] = tensor.detach().to(torch.float16).contiguous()
    return state


def ensure_demo_checkpoint(host: Path, force: bool = False) -> Path:
    from safetensors import safe_open
    from safetensors.torch import save_file

    target = host / "models" / "checkpoints" / DEMO_CHECKPOINT
    if target.exists() and not force:
        try:
            with safe_open(str(target), framework="pt") as f:
                if (f.metadata() or {}).get("lantern_demo_version") == FORMAT_VERSION:
                    print(f"demo checkpoint present: {target}")
                    return target
        except Exception:
            pass  # unreadable or stale: regenerate
    started = time.perf_counter()
    state = build_state_dict()
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    save_file(state, str(partial), metadata={"lantern_demo_version": FORMAT_VERSION, "seed": str(SEED),
                                               "note": "Lantern demo checkpoint: seeded random weights, SD1.5 layout"})
    os.replace(partial, target)
    unet_params = sum(t.numel() for k, t in state.items() if k.startswith("model.diffusion_model."))
    print(f"demo checkpoint written: {target} ({target.stat().st_size / 2**20:.0f} MiB, UNet {unet_params / 1e6:.0f}M "
          f"parameters, {time.perf_counter() - started:.1f} s)")
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", type=Path, required=True, help="the ComfyUI folder")
    parser.add_argument("--force", action="store_true", help="regenerate even if present")
    args = parser.parse_args()
    host = args.host.resolve()
    sys.path.insert(0, str(host))
    from comfy.cli_args import args as comfy_args

    comfy_args.cpu = True  # generation needs no accelerator; keeps model_management off CUDA
    ensure_demo_checkpoint(host, args.force)


if __name__ == "__main__":
    main()
