"""Faster VAE decoding: a copy of a VAE's autoencoder in bf16 with channels-last convolution weights.

ComfyUI runs the VAE in fp32 on the CPU (its bf16 check refuses every CPU, "bf16 works on CPU but is extremely
slow"), while on GPUs it picks bf16 for the SD VAE by default. On CPUs with native bf16 maths (AMX /
AVX-512-BF16) bf16 convolutions are fast *if* oneDNN gets its native layout: with plain (NCHW) weights every
convolution reorders its input and weight, and most of the gain is lost. Measured on the demo checkpoint's SD VAE
decoder (``lantern_demo_sd15``, full SD architecture, seeded random weights), 4 latents of 16x16 -> 128x128 px,
2-core Xeon with AMX:

    fp32 (ComfyUI's CPU default)   1.30 CPU s / frame
    fp32, channels-last            1.07 s (bit-near: max abs diff 2e-5)
    bf16, NCHW                     0.42-0.50 s
    bf16, channels-last            0.22-0.24 s (5.4-5.8x), 47 dB PSNR vs fp32 (relative L2 1.8 %)

Only the autoencoder's dtype and the memory format of its Conv2d weights change; module names and the state dict
are unchanged. The choice between variants is measured (:func:`decode_candidates` + ``auto.auto_optimize``), not
assumed: on CPUs that emulate bf16 it is several times slower than fp32 and is skipped.
"""
from __future__ import annotations

import copy
from typing import Callable

import torch
from torch import nn

from .auto import Candidate

PRECISIONS = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
DTYPE_NAMES = {v: k for k, v in PRECISIONS.items()}


def channels_last_convolutions(module: nn.Module) -> int:
    """Put every Conv2d weight of ``module`` in channels-last memory format (in place); returns how many.

    Per layer rather than ``module.to(memory_format=...)``, which raises on the 5-d weights of video VAEs.
    """
    n = 0
    for mod in module.modules():
        if isinstance(mod, nn.Conv2d) and mod.weight.dim() == 4:
            mod.weight.data = mod.weight.data.contiguous(memory_format=torch.channels_last)
            n += 1
    return n


def is_channels_last(module: nn.Module) -> bool:
    """True when the module has Conv2d layers and all their weights are channels-last."""
    convs = [m for m in module.modules() if isinstance(m, nn.Conv2d)]
    return bool(convs) and all(m.weight.is_contiguous(memory_format=torch.channels_last) for m in convs)


def vae_variant(module: nn.Module, dtype: torch.dtype, channels_last: bool = True,
                device: torch.device | str | None = None) -> nn.Module:
    """A copy of ``module`` (the VAE's autoencoder) in ``dtype``, optionally with channels-last conv weights.

    The input module is left untouched (other branches of a graph may decode with it).
    """
    if dtype not in DTYPE_NAMES:
        raise ValueError(f"VAE precision must be one of {sorted(PRECISIONS)}, got {dtype}")
    m = copy.deepcopy(module).eval().requires_grad_(False)
    m.to(device=device, dtype=dtype)
    if channels_last:
        channels_last_convolutions(m)
    return m


def describe(module: nn.Module) -> str:
    dtypes = sorted({DTYPE_NAMES.get(p.dtype, str(p.dtype)) for p in module.parameters()})
    layout = "channels-last" if is_channels_last(module) else "contiguous (NCHW)"
    return f"{'/'.join(dtypes)}, convolution weights {layout}"


def decode_step(module: nn.Module, dtype: torch.dtype) -> Callable[[tuple], torch.Tensor]:
    """``step(batch)`` for ``auto.auto_optimize``: decode ``batch[0]`` as ComfyUI does (cast in, fp32 out).

    The result is moved to the CPU so a GPU decode is finished when the timer stops.
    """
    def step(batch: tuple) -> torch.Tensor:
        latent = batch[0]
        dev = next(module.parameters()).device
        return module.decode(latent.to(device=dev, dtype=dtype)).float().cpu()
    return step


def decode_candidates(module: nn.Module, loaded_dtype: torch.dtype, try_dtypes: list[torch.dtype],
                      built: dict, device=None) -> tuple[Candidate, list[Candidate]]:
    """The reference (the autoencoder as loaded) and the variants to measure against it.

    Variants: the loaded dtype with channels-last weights, and each of ``try_dtypes`` with channels-last weights.
    Each built variant is kept in ``built[name] = (module, dtype)`` so the chosen one is not built twice.
    """
    def make(name: str, dtype: torch.dtype) -> Candidate:
        def build():
            m = vae_variant(module, dtype, channels_last=True, device=device)
            built[name] = (m, dtype)
            return decode_step(m, dtype)
        return Candidate(name, build)

    def build_ref():
        # measured where it will run; a copy when that is another device, so the shared module never moves
        here = next(module.parameters()).device
        m = module if device is None or torch.device(device) == here else vae_variant(module, loaded_dtype, False,
                                                                                       device)
        return decode_step(m, loaded_dtype)

    ref = Candidate(f"{DTYPE_NAMES[loaded_dtype]} (as loaded)", build_ref)
    cands = [make(f"{DTYPE_NAMES[loaded_dtype]}+channels-last", loaded_dtype)]
    cands += [make(f"{DTYPE_NAMES[d]}+channels-last", d) for d in try_dtypes if d != loaded_dtype]
    return ref, cands

