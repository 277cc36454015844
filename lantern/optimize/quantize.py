"""Weight quantisation of Linear and Conv2d layers with optimum-quanto, and its safetensors round trip.

``quantize_weights(model, "int8")`` returns a NEW module (the input is never touched): a copy cast to the compute
dtype whose Linear and Conv2d weights are stored as int8 / int4 / fp8 (e4m3) with per-channel (int4: per-group)
scales. Layers matching the keep-list stay in full precision. Saving writes one safetensors file holding the
quantised tensors plus the quantisation map in its metadata; loading rebuilds the module with
``optimum.quanto.requantize`` on a weightless skeleton. No pickle anywhere.
"""
from __future__ import annotations

import copy
import fnmatch
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import torch
from torch import nn

WEIGHT_TYPES = {"int8": "qint8", "int4": "qint4", "fp8": "qfloat8"}
COMPUTE_DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
# Module-name patterns (fnmatch) kept in full precision by default: timestep / class embeddings of UNets,
# token / position embeddings of transformers, and every norm layer.
DEFAULT_KEEP = ("time_embed*", "label_emb*", "*embed*", "*norm*")
FORMAT_TAG = "lantern-quanto-v1"


@dataclass
class QuantizeResult:
    module: nn.Module
    weights: str
    compute_dtype: str
    quantized: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (f"{self.weights} weights on {len(self.quantized)} Linear/Conv2d layers, {len(self.kept)} kept in "
                f"{self.compute_dtype}; compute {self.compute_dtype}")


def parse_keep(text: str | Iterable[str] | None) -> list[str]:
    """Keep-list from a comma/newline separated string (or an iterable); empty entries dropped."""
    if text is None:
        return []
    items = text.replace("\n", ",").split(",") if isinstance(text, str) else list(text)
    return [s.strip() for s in items if s and s.strip()]


def quantizable_layers(model: nn.Module) -> list[str]:
    """Names of the Linear and Conv2d layers, in module order."""
    return [n for n, m in model.named_modules() if n and isinstance(m, (nn.Linear, nn.Conv2d))]


def select_layers(model: nn.Module, keep: Iterable[str] = DEFAULT_KEEP, keep_first_last: bool = True
                  ) -> tuple[list[str], list[str]]:
    """Split the quantisable layers into (to quantise, kept) by the keep patterns and first/last conv rule."""
    layers = quantizable_layers(model)
    keep = list(keep)
    convs = [n for n in layers if isinstance(model.get_submodule(n), nn.Conv2d)]
    edge = {convs[0], convs[-1]} if (keep_first_last and convs) else set()
    quant, kept = [], []
    for n in layers:
        if n in edge or any(fnmatch.fnmatchcase(n, p) or fnmatch.fnmatchcase(n.rsplit(".", 1)[-1], p) for p in keep):
            kept.append(n)
        else:
            quant.append(n)
    return quant, kept


def _compute_dtype(name: str) -> torch.dtype:
    if name not in COMPUTE_DTYPES:
        raise ValueError(f"compute_dtype: unknown value {name!r}; use one of {sorted(COMPUTE_DTYPES)} "
                         f"(or 'auto' in the node)")
    return COMPUTE_DTYPES[name]


def cast_module(model: nn.Module, dtype: torch.dtype) -> nn.Module:
    """Cast floating-point parameters/buffers to ``dtype`` and keep a ComfyUI-style ``dtype`` attribute in sync."""
    model.to(dtype)
    for m in model.modules():
        if isinstance(getattr(m, "dtype", None), torch.dtype):
            try:
                m.dtype = dtype
            except AttributeError:  # read-only property on some modules
                pass
    return model


def quantize_weights(model: nn.Module, weights: str = "int8", keep: Iterable[str] = DEFAULT_KEEP,
                     keep_first_last: bool = True, compute_dtype: str = "fp32", inplace: bool = False
                     ) -> QuantizeResult:
    """Quantise the Linear/Conv2d weights of a copy of ``model`` (or of ``model`` itself with ``inplace``)."""
    from optimum.quanto import freeze, quantize
    if weights not in WEIGHT_TYPES:
        raise ValueError(f"weights: unknown quantisation {weights!r}; use one of {sorted(WEIGHT_TYPES)}")
    dtype = _compute_dtype(compute_dtype)
    m = model if inplace else copy.deepcopy(model)
    m.requires_grad_(False)
    cast_module(m, dtype)
    quant, kept = select_layers(m, keep, keep_first_last)
    if not quant:
        raise ValueError("keep: every Linear/Conv2d layer is on the keep-list, nothing to quantise; shorten the list")
    quantize(m, weights=WEIGHT_TYPES[weights], include=quant)
    freeze(m)
    return QuantizeResult(m, weights, compute_dtype, quant, kept)


def weightless_copy(model: nn.Module) -> nn.Module:
    """A structural copy of ``model`` whose parameters and buffers live on the meta device (no memory, no copy)."""
    memo = {}
    for t in list(model.parameters()) + list(model.buffers()):
        meta = torch.empty_like(t, device="meta")
        memo[id(t)] = nn.Parameter(meta, requires_grad=False) if isinstance(t, nn.Parameter) else meta
    return copy.deepcopy(model, memo)


def save_quantized(result: QuantizeResult | nn.Module, path: str | os.PathLike, extra: dict | None = None) -> Path:
    """Write the quantised module's tensors and quantisation map to ``path`` (safetensors; atomic)."""
    from optimum.quanto import quantization_map
    from safetensors.torch import save_file
    module = result.module if isinstance(result, QuantizeResult) else result
    sd = {k: v.detach().contiguous() for k, v in module.state_dict().items()}
    meta = {"format": FORMAT_TAG, "quantization_map": json.dumps(quantization_map(module))}
    if isinstance(result, QuantizeResult):
        meta.update(weights=result.weights, compute_dtype=result.compute_dtype)
    for k, v in (extra or {}).items():
        meta[k] = v if isinstance(v, str) else json.dumps(v)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    save_file(sd, str(tmp), metadata=meta)
    os.replace(tmp, path)
    return path


def read_metadata(path: str | os.PathLike) -> dict:
    from safetensors import safe_open
    with safe_open(str(path), framework="pt") as f:
        return dict(f.metadata() or {})


def load_quantized(skeleton: nn.Module, path: str | os.PathLike, device: str | torch.device = "cpu") -> nn.Module:
    """Rebuild a quantised module from ``path`` onto a copy of ``skeleton`` (its weights are not used)."""
    from optimum.quanto import requantize
    from safetensors.torch import load_file
    meta = read_metadata(path)
    if meta.get("format") != FORMAT_TAG:
        raise ValueError(f"{path}: not a Lantern quantised-weights file (format {meta.get('format')!r}); "
                         "delete it and quantise again")
    qmap = json.loads(meta["quantization_map"])
    dtype = COMPUTE_DTYPES.get(meta.get("compute_dtype", "fp32"), torch.float32)
    m = weightless_copy(skeleton)
    cast_module(m, dtype)
    sd = load_file(str(path), device=str(device))
    requantize(m, sd, qmap, device=torch.device(device))
    return m.eval().requires_grad_(False)


def dtype_speed_ratio(dtype: torch.dtype, device: str | torch.device = "cpu") -> float:
    """How many times slower (>1) or faster (<1) an SD-sized 3x3 conv runs in ``dtype`` than in fp32 here.

    A cheap probe (tens of ms) that lets 'auto' skip whole-model trials of a dtype the hardware emulates (bf16
    on CPUs without native bf16 instructions runs several times slower than fp32).
    """
    import time as _time
    conv = nn.Conv2d(320, 320, 3, padding=1).to(device)
    x = torch.randn(2, 320, 32, 32, device=device)

    def best(c, inp):
        with torch.no_grad():
            c(inp)
            out = float("inf")
            for _ in range(2):
                if str(device).startswith("cuda"):
                    torch.cuda.synchronize()
                t0 = _time.perf_counter()
                c(inp)
                if str(device).startswith("cuda"):
                    torch.cuda.synchronize()
                out = min(out, _time.perf_counter() - t0)
        return out

    t32 = best(conv, x)
    tlow = best(copy.deepcopy(conv).to(dtype), x.to(dtype))
    return tlow / t32
