"""Mixed precision for UNets: bf16 (or fp16) matrix maths, fp32 everywhere the error would come from.

Casting a whole SD1.5 UNet to bf16 makes a step ~3.7x faster on CPUs with AMX / AVX-512-BF16, but its output
differs from fp32 by ~1.7 % (relative L2): bf16 keeps 8 bits of mantissa, and rounding the residual stream at every
addition plus the inputs of every layer adds up. Measured on the SD1.5 UNet with seeded random weights, one part
at a time in bf16: keeping the residual stream in fp32 brings the error to 1.4 %, and keeping a handful of cheap
layers in fp32 as well brings it to 0.85 % -- the first and last convolutions (they touch the latent), the timestep
embedding, and, at the high-resolution levels, the 1x1 skip / projection layers that move the whole residual stream
into and out of each block.

:func:`mixed_precision` therefore keeps the model's stream (norms, activations, additions, attention softmax) in
fp32 and those sensitive layers in fp32 too, and runs every other Conv2d / Linear in the low-precision dtype: its
weights are stored in that dtype, a forward pre-hook casts the input down and a forward hook casts the output back
(except the query/key/value projections, so that attention runs in the low dtype too; layers kept in fp32 cast
whatever reaches them to fp32).
Module names and the state-dict layout are unchanged (LoRA keys still match). On the CPU the result is also put
in channels-last memory format (oneDNN's native layout for bf16 convolutions: no reorder per layer) and its
low-precision convolutions get prepacked weights (see prepack.py).
"""
from __future__ import annotations

import copy
import fnmatch
from typing import Iterable

import torch
from torch import nn

from .prepack import prepack_convolutions

# fnmatch patterns (module names of ComfyUI's UNetModel) always kept in fp32 by default; see the module docstring.
UNET_SENSITIVE = (
    "input_blocks.0.0",      # first conv: latent -> features
    "out.*",                 # last conv: features -> prediction
    "time_embed.*",
    "label_emb.*",
    "*emb_layers*",          # per-block timestep projections (tiny)
)
# 1x1 projections that move the whole residual stream (width changes, transformer entry/exit): kept in fp32 at the
# high-resolution levels, where their rounding costs the most accuracy (see default_keep).
UNET_PROJECTIONS = ("*skip_connection", "*proj_in", "*proj_out")
# Attention projections whose output stays in the low dtype when all three of a block are low: the attention then
# runs in it too (bf16 SDPA on the CPU), and the output projection brings the result back to the stream's dtype.
# (Keeping the feed-forward's gated activation low as well was measured: no faster, slightly less accurate.)
QKV = ("to_q", "to_k", "to_v")
LOW_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}
MIXED_TAG = "lantern_mixed_precision"


def _cast_input(module: nn.Module, args: tuple) -> tuple:
    return (args[0].to(module.weight.dtype),) + tuple(args[1:])


def _cast_output(module: nn.Module, args: tuple, out: torch.Tensor) -> torch.Tensor:
    return out.to(module.lantern_stream_dtype)


def sensitive(name: str, patterns: Iterable[str]) -> bool:
    return any(fnmatch.fnmatchcase(name, p) for p in patterns)


def default_keep(model: nn.Module) -> list[str]:
    """Layers kept in fp32 by default: :data:`UNET_SENSITIVE`, plus the :data:`UNET_PROJECTIONS` no wider than twice
    the first convolution's width (SD1.x/SDXL: the two highest-resolution levels).

    Measured on the SD1.5 UNet (one block at a time in bf16): a projection's share of the output error falls with
    the resolution, while its cost does not (the width grows as the resolution shrinks), so the wide low-resolution
    projections are the cheap accuracy to give up.
    """
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    base = convs[0].out_channels if convs else 0
    names = []
    for name, mod in model.named_modules():
        if not isinstance(mod, (nn.Conv2d, nn.Linear)):
            continue
        width = mod.out_channels if isinstance(mod, nn.Conv2d) else mod.out_features
        if sensitive(name, UNET_SENSITIVE) or (sensitive(name, UNET_PROJECTIONS) and width <= 2 * base):
            names.append(name)
    return names


def mixed_precision(model: nn.Module, dtype: str = "bf16", keep: Iterable[str] | None = None,
                    channels_last: bool | None = None, prepack: bool | None = None) -> nn.Module:
    """A copy of ``model`` whose Conv2d/Linear layers (except those matching ``keep``) compute in ``dtype``.

    ``keep``: fnmatch patterns or exact module names kept in fp32 (default: :func:`default_keep`). The copy's
    stream stays in the model's own floating dtype (fp32 for the passes here). ``channels_last`` and ``prepack``
    (oneDNN weight prepacking of the low-precision convolutions, :mod:`.prepack`) default to True on the CPU. The
    returned module carries ``lantern_mixed_precision`` = a short description.
    """
    if dtype not in LOW_DTYPES:
        raise ValueError(f"mixed precision dtype must be one of {sorted(LOW_DTYPES)}, got {dtype!r}")
    low = LOW_DTYPES[dtype]
    keep = tuple(default_keep(model) if keep is None else keep)
    m = copy.deepcopy(model).eval().requires_grad_(False)
    low_layers, kept = [], []
    for name, mod in m.named_modules():
        if not isinstance(mod, (nn.Conv2d, nn.Linear)):
            continue
        if sensitive(name, keep):
            mod.register_forward_pre_hook(_cast_input)  # its input may come from a low-output layer
            kept.append(name)
            continue
        mod.lantern_stream_dtype = mod.weight.dtype
        mod.to(low)
        mod.register_forward_pre_hook(_cast_input)
        low_layers.append(name)
    low_set = set(low_layers)
    for name in low_layers:
        parent, _, leaf = name.rpartition(".")
        siblings = {f"{parent}.{p}" if parent else p for p in QKV}
        if not (leaf in QKV and siblings <= low_set):
            m.get_submodule(name).register_forward_hook(_cast_output)
    if not low_layers:
        raise ValueError("mixed precision: every Conv2d/Linear layer matches the keep-list; nothing runs in "
                         f"{dtype}. Shorten the keep-list.")
    device = next((p.device for p in m.parameters()), torch.device("cpu"))
    if channels_last if channels_last is not None else device.type == "cpu":
        m = m.to(memory_format=torch.channels_last)
    packed = 0
    if prepack if prepack is not None else device.type == "cpu":
        packed = prepack_convolutions(m, set(low_layers))
        if packed:
            m.lantern_external_bytes = {f"{dtype} prepacked (oneDNN)": packed}
    setattr(m, MIXED_TAG, f"{dtype} mixed precision: {len(low_layers)} Conv2d/Linear layers in {dtype}, "
                          f"{len(kept)} sensitive layers and the residual stream in fp32"
                          + (f"; convolution weights prepacked for oneDNN (+{packed / 2**20:.0f} MiB)" if packed
                             else ""))
    m.lantern_low_layers = low_layers
    return m
