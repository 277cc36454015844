"""oneDNN weight prepacking for CPU convolutions.

PyTorch's eager ``conv2d`` on the CPU hands oneDNN a plain weight tensor, and oneDNN reorders it into its blocked
layout on every call. For the wide, low-resolution convolutions of a UNet (1280-2560 channels at 4x4-8x8 latent
pixels) that reorder costs more than the convolution itself: measured here, a bf16 2560->1280 3x3 conv on a 4x4 input
took 24 ms eager and 4.8 ms with the weight packed once (same result, bit for bit). :func:`prepack_convolutions`
packs each Conv2d's weight once (``mkldnn_reorder_conv2d_weight``, what torch.compile's freezing pass does) and runs
it through ``torch.ops.mkldnn._convolution_pointwise``, which takes and returns ordinary (channels-last) tensors.

The packed copy lives outside the module's parameters and state dict (module names and keys are unchanged) in a
cache keyed by the weight's storage and version, so an in-place change of the weight repacks it and a deep copy
packs its own. Anything the packed path does not cover -- autograd, tracing / ONNX export, ComfyUI weight functions
or casts, string paddings, non-CPU tensors, a dtype mismatch -- falls back to the layer's own forward.
"""
from __future__ import annotations

import weakref

import torch
from torch import nn

_PACKED: "weakref.WeakKeyDictionary[nn.Module, tuple[tuple, torch.Tensor]]" = weakref.WeakKeyDictionary()
_CLASSES: dict[type, type] = {}
# oneDNN picks the weight layout from the input shape; one nominal shape serves every size measured (4x4-128x128)
_NOMINAL_HW = 8


def available() -> bool:
    return (torch.backends.mkldnn.is_available() and hasattr(torch.ops.mkldnn, "_convolution_pointwise")
            and hasattr(torch._C._nn, "mkldnn_reorder_conv2d_weight"))


def packable(conv: nn.Module) -> bool:
    return (isinstance(conv, nn.Conv2d) and conv.padding_mode == "zeros" and not isinstance(conv.padding, str)
            and conv.weight.device.type == "cpu" and conv.weight.dtype in (torch.float32, torch.bfloat16))


def _key(conv: nn.Conv2d) -> tuple:
    w = conv.weight
    return (w.data_ptr(), w._version, w.dtype, tuple(w.shape))


def packed_weight(conv: nn.Conv2d) -> torch.Tensor:
    hit = _PACKED.get(conv)
    key = _key(conv)
    if hit is not None and hit[0] == key:
        return hit[1]
    with torch.no_grad():
        w = torch._C._nn.mkldnn_reorder_conv2d_weight(
            conv.weight.detach().contiguous().to_mkldnn(), list(conv.padding), list(conv.stride), list(conv.dilation),
            conv.groups, [1, conv.in_channels, _NOMINAL_HW, _NOMINAL_HW])
    _PACKED[conv] = (key, w)
    return w


def _use_packed(conv: nn.Conv2d, x: torch.Tensor) -> bool:
    if getattr(conv, "lantern_prepack_failed", False):
        return False
    if x.device.type != "cpu" or x.dim() != 4 or x.dtype != conv.weight.dtype:
        return False
    if conv.bias is not None and conv.bias.dtype != x.dtype:
        return False
    if torch.is_grad_enabled() and (x.requires_grad or conv.weight.requires_grad):
        return False
    if torch.jit.is_tracing() or torch.onnx.is_in_onnx_export() or torch.compiler.is_compiling():
        return False
    # ComfyUI's ops: weight functions (LoRA-style patches applied at run time) or casts take their own path
    if getattr(conv, "comfy_cast_weights", False) or getattr(conv, "weight_function", None) or \
            getattr(conv, "bias_function", None):
        return False
    return True


class _PrepackedConv:
    """Mixin placed before the layer's own class: forward through the packed weight when it applies."""

    def forward(self, x, *args, **kwargs):
        if args or kwargs or not _use_packed(self, x):
            return super().forward(x, *args, **kwargs)
        try:
            w = packed_weight(self)
            return torch.ops.mkldnn._convolution_pointwise(x, w, self.bias, list(self.padding), list(self.stride),
                                                           list(self.dilation), self.groups, "none", [], "")
        except RuntimeError:  # an oneDNN build without this path: stay on the layer's own forward from now on
            self.lantern_prepack_failed = True
            return super().forward(x)


def _prepacked_class(cls: type) -> type:
    if cls not in _CLASSES:
        _CLASSES[cls] = type(f"Prepacked{cls.__name__}", (_PrepackedConv, cls), {"__module__": cls.__module__})
    return _CLASSES[cls]


def prepack_convolutions(model: nn.Module, names: set[str] | None = None) -> int:
    """Switch the packable Conv2d layers of ``model`` (those in ``names``, else all) to prepacked weights, in place.

    Returns the bytes of the packed copies made now (they are held in addition to the weights). Does nothing and
    returns 0 where oneDNN's packed convolution is unavailable.
    """
    if not available():
        return 0
    total = 0
    for name, mod in model.named_modules():
        if (names is not None and name not in names) or not packable(mod) or isinstance(mod, _PrepackedConv):
            continue
        mod.__class__ = _prepacked_class(type(mod))
        try:
            total += mod.weight.numel() * mod.weight.element_size()
            packed_weight(mod)
        except RuntimeError:
            mod.lantern_prepack_failed = True
    return total
