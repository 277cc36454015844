"""Plain attention with the calling convention of ComfyUI's attention functions.

ComfyUI routes every attention call through ``transformer_options["optimized_attention_override"]`` when set:
``override(original_function, q, k, v, heads, mask=None, ..., skip_reshape=False, skip_output_reshape=False)``.
:func:`sdpa_override` answers with ``torch.nn.functional.scaled_dot_product_attention`` (one fused kernel: fast
on the CPU, and a single, branch-free operator for ONNX export, unlike the chunked sub-quadratic attention ComfyUI
picks on the CPU).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def sdpa_attention(q, k, v, heads, mask=None, attn_precision=None, skip_reshape=False, skip_output_reshape=False,
                   **kwargs):
    if skip_reshape:
        b, _, _, dim_head = q.shape
    else:
        b, _, inner = q.shape
        dim_head = inner // heads
        q, k, v = (t.reshape(b, -1, heads, dim_head).transpose(1, 2) for t in (q, k, v))
    if mask is not None:
        if mask.ndim == 2:
            mask = mask.unsqueeze(0)
        if mask.ndim == 3:
            mask = mask.unsqueeze(1)
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=0.0, is_causal=False)
    if not skip_output_reshape:
        out = out.transpose(1, 2).reshape(b, -1, heads * dim_head)
    return out


def sdpa_override(func, *args, **kwargs):
    """Value for ``transformer_options["optimized_attention_override"]``: ignore ``func``, use SDPA."""
    kwargs.pop("transformer_options", None)
    kwargs.pop("_inside_attn_wrapper", None)
    return sdpa_attention(*args, **kwargs)


def with_sdpa(transformer_options: dict | None) -> dict:
    """A copy of ``transformer_options`` whose attention calls use :func:`sdpa_override`."""
    out = dict(transformer_options or {})
    out["optimized_attention_override"] = sdpa_override
    return out
