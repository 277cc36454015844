"""Adapters between the optimisation passes and ComfyUI-style UNets (``UNetModel`` from openaimodel.py).

Nothing here imports ComfyUI: the UNet is recognised by its structure and called by its documented signature
``unet(x, timesteps, context=..., y=..., control=..., transformer_options=...)``.
"""
from __future__ import annotations

import copy
from typing import Callable

import torch
from torch import nn

from .attention import with_sdpa
from .onnx_rt import OrtModule


def is_unet(module: nn.Module) -> bool:
    return all(hasattr(module, a) for a in ("input_blocks", "middle_block", "output_blocks", "out"))


def family(module: nn.Module) -> str:
    return type(module).__name__


def require_unet(module: nn.Module, node: str, fix: str) -> None:
    if not is_unet(module):
        raise ValueError(f"{node}: this pass supports UNet diffusion models (SD1.x, SD2.x, SDXL); the connected "
                         f"model is a {family(module)}. {fix}")


def unet_dims(unet: nn.Module) -> dict:
    """Fixed (non-dynamic) input dims of a UNet: latent channels, context width, class-vector width."""
    first = unet.input_blocks[0][0]
    ctx = None
    for m in unet.modules():
        if hasattr(m, "to_k") and isinstance(m.to_k, nn.Linear) and m.to_k.in_features != m.to_q.in_features:
            ctx = m.to_k.in_features
            break
    adm = None
    if getattr(unet, "num_classes", None) is not None and hasattr(unet, "label_emb"):
        lin = [m for m in unet.label_emb.modules() if isinstance(m, nn.Linear)]
        adm = lin[0].in_features if lin else None
    return {"in_channels": first.in_channels, "context_dim": ctx, "adm_channels": adm}


def example_batch(unet: nn.Module, batch: int = 2, height: int = 256, width: int = 256, tokens: int = 77,
                  generator: torch.Generator | None = None, dtype: torch.dtype = torch.float32) -> tuple:
    """Random (x, timesteps, context[, y]) at pixel size height x width (latent = /8)."""
    d = unet_dims(unet)
    g = generator or torch.Generator().manual_seed(0)
    x = torch.randn(batch, d["in_channels"], height // 8, width // 8, generator=g).to(dtype)
    t = torch.rand(batch, generator=g) * 999.0
    ctx = torch.randn(batch, tokens, d["context_dim"] or 768, generator=g).to(dtype)
    if d["adm_channels"]:
        y = torch.randn(batch, d["adm_channels"], generator=g).to(dtype)
        return x, t, ctx, y
    return x, t, ctx


def unet_forward(model: nn.Module, batch: tuple, sdpa: bool = True) -> torch.Tensor:
    """Run a UNet (or an :class:`OrtUNet`) on ``(x, t, context[, y])`` casting inputs to the model's dtype."""
    x, t, ctx = batch[:3]
    y = batch[3] if len(batch) > 3 else None
    dtype = getattr(model, "dtype", torch.float32)
    if not isinstance(dtype, torch.dtype):
        dtype = torch.float32
    kw = {"context": ctx.to(dtype), "transformer_options": with_sdpa({}) if sdpa else {}}
    if y is not None:
        kw["y"] = y.to(dtype)
    return model(x.to(dtype), t, **kw).float()


class UNetExportWrapper(nn.Module):
    """Positional, branch-free entry point for ONNX export: plain (SDPA) attention, no patches."""

    def __init__(self, unet: nn.Module):
        super().__init__()
        self.unet = unet

    def forward(self, x, timesteps, context, y=None):
        kw = {"context": context, "transformer_options": with_sdpa({})}
        if y is not None:
            kw["y"] = y
        return self.unet(x, timesteps, **kw)


class OrtUNet(nn.Module):
    """A UNet stand-in with ComfyUI's diffusion-model signature that runs an ONNX Runtime session."""

    def __init__(self, ort: OrtModule, dims: dict, node: str = "LanternOnnxRuntimeModel"):
        super().__init__()
        self.ort = ort
        self.dtype = torch.float32
        self.dims = dims
        self.node = node
        self.lantern_external_bytes = ort.lantern_external_bytes
        self.lantern_notes = ort.lantern_notes

    def forward(self, x, timesteps=None, context=None, y=None, control=None, transformer_options={}, **kwargs):
        if control is not None:
            raise ValueError(f"{self.node}: ControlNet cannot feed a model running in ONNX Runtime (the exported "
                             "graph has no control inputs). Put the ControlNet on the unoptimised model or use "
                             "LanternQuantizeModel instead.")
        patches = {k: v for k, v in (transformer_options.get("patches", {}) or {}).items() if v}
        if patches or transformer_options.get("patches_replace"):
            names = sorted(set(patches) | set(transformer_options.get("patches_replace") or {}))
            raise ValueError(f"{self.node}: model patches ({', '.join(names)}) cannot run inside the exported "
                             "ONNX graph. Apply them before this node's input is exported is not possible either; "
                             "use LanternQuantizeModel, or remove the patching node.")
        inputs = [x.float(), timesteps.float(), context.float()]
        if self.dims.get("adm_channels"):
            inputs.append(y.float())
        return self.ort.run(*inputs).to(x.dtype)

    def __deepcopy__(self, memo):
        return self


def onnx_unet(unet: nn.Module, cache_dir, provider: str = "auto", example: tuple | None = None,
              fingerprint: str | None = None, node: str = "LanternOnnxRuntimeModel"):
    """Export (or load from the cache) ``unet`` as ONNX and return (OrtUNet, ExportInfo)."""
    from .onnx_rt import cache_key, export_onnx, make_session, tensor_fingerprint
    require_unet(unet, node, "Use LanternQuantizeModel for this model family.")
    dims = unet_dims(unet)
    fp = fingerprint or tensor_fingerprint(unet)
    names = ["x", "timesteps", "context"] + (["y"] if dims["adm_channels"] else [])
    settings = {"opset": 17, "attention": "sdpa", "dtype": "fp32", "inputs": names}
    key = cache_key(fp, settings, dims)
    example = example or example_batch(unet, batch=1, height=64, width=64)
    dyn = {"x": {0: "batch", 2: "height", 3: "width"}, "timesteps": {0: "batch"},
           "context": {0: "batch", 1: "tokens"}, "out": {0: "batch", 2: "height", 3: "width"}}
    if dims["adm_channels"]:
        dyn["y"] = {0: "batch"}
    wrapper = UNetExportWrapper(copy.deepcopy(unet).float().eval())
    info = export_onnx(wrapper, [e.float() for e in example[:len(names)]], names, dyn, cache_dir, key)
    del wrapper
    sess = make_session(info.path, provider)
    ort = OrtModule(sess, names, torch.float32, external_bytes=info.bytes)
    return OrtUNet(ort, dims, node), info


def make_heal_inputs(unet: nn.Module, context: torch.Tensor | None, batch: int = 2, height: int = 256,
                     width: int = 256) -> Callable[[torch.Generator], tuple]:
    """Input sampler for :func:`prune.heal`: random latents and timesteps with the graph's own conditioning.

    ``context`` ([n, tokens, dim], e.g. the positive and negative prompts' CLIP output) is cycled over the batch;
    without it, random conditioning of the right width is drawn.
    """
    d = unet_dims(unet)

    def make(g: torch.Generator):
        x = torch.randn(batch, d["in_channels"], height // 8, width // 8, generator=g)
        # latents at a random noise level, as the sampler sees them
        sigma = torch.rand(batch, 1, 1, 1, generator=g) * 2.0 + 0.05
        x = x * sigma
        t = torch.rand(batch, generator=g) * 999.0
        if context is not None:
            idx = torch.arange(batch) % context.shape[0]
            ctx = context[idx].float()
        else:
            ctx = torch.randn(batch, 77, d["context_dim"] or 768, generator=g)
        if d["adm_channels"]:
            return x, t, ctx, torch.randn(batch, d["adm_channels"], generator=g)
        return x, t, ctx

    return make
