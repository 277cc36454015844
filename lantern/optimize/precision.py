"""Mixed precision for UNets: bf16 (or fp16) matrix maths, fp32 everywhere the error would come from.

Casting a whole SD1.5 UNet to bf16 makes a step ~3.8x faster on CPUs with AMX / AVX-512-BF16, but its output
differs from fp32 by ~1.7 % (relative L2): bf16 keeps 8 bits of mantissa, and rounding the residual stream at every
addition plus the inputs of every layer adds up. Measured per part (benchmarks/optimize_bench.py, SD1.5 UNet):
the residual stream accounts for about half of the error, and a handful of cheap layers for much of the rest --
the first and last convolutions (they touch the latent), the timestep embedding, and the 1x1 skip / projection
layers that move the whole residual stream into and out of each block.

:func:`mixed_precision` therefore keeps the model's stream (norms, activations, additions, attention softmax) in
fp32 and those sensitive layers in fp32 too, and runs every other Conv2d / Linear in the low-precision dtype: its
weights are stored in that dtype, a forward pre-hook casts the input down and a forward hook casts the output back
(except the query/key/value projections, so that attention runs in the low dtype too; layers kept in fp32 cast
whatever reaches them to fp32).
Module names and the state-dict layout are unchanged (LoRA keys still match). On the CPU the result is also put
in channels-last memory format (oneDNN's native layout for bf16 convolutions: no reorder per layer).
"""
from __future__ import annotations

import copy
import fnmatch
from typing import Iterable

import torch
from torch import nn

# fnmatch patterns (module names of ComfyUI's UNetModel) kept in fp32 by default; see the module docstring.
UNET_SENSITIVE = (
    "input_blocks.0.0",      # first conv: latent -> features
    "out.*",                 # last conv: features -> prediction
    "time_embed.*",
    "label_emb.*",
    "*emb_layers*",          # per-block timestep projections (tiny)
    "*skip_connection",      # 1x1 residual projections when the width changes
    "*proj_in",              # transformer entry / exit projections (1x1)
    "*proj_out",
)
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


def mixed_precision(model: nn.Module, dtype: str = "bf16", keep: Iterable[str] = UNET_SENSITIVE,
                    channels_last: bool | None = None) -> nn.Module:
    """A copy of ``model`` whose Conv2d/Linear layers (except those matching ``keep``) compute in ``dtype``.

    The copy's stream stays in the model's own floating dtype (fp32 for the passes here). ``channels_last``
    defaults to True on the CPU. The returned module carries ``lantern_mixed_precision`` = a short description.
    """
    if dtype not in LOW_DTYPES:
        raise ValueError(f"mixed precision dtype must be one of {sorted(LOW_DTYPES)}, got {dtype!r}")
    low = LOW_DTYPES[dtype]
    keep = tuple(keep)
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
    setattr(m, MIXED_TAG, f"{dtype} mixed precision: {len(low_layers)} Conv2d/Linear layers in {dtype}, "
                          f"{len(kept)} sensitive layers and the residual stream in fp32")
    m.lantern_low_layers = low_layers
    return m
