"""Model report: parameters, weight bytes by storage dtype, estimated memory, optional measured step latency."""
from __future__ import annotations

import math
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Callable

import torch
from torch import nn


@dataclass
class ModelReport:
    label: str
    parameters: int
    weight_bytes: int
    bytes_by_dtype: dict[str, int]
    layers_by_kind: dict[str, int]
    estimated_memory_bytes: int
    step_seconds: float | None = None
    peak_rss_delta_bytes: int | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)

    def text(self) -> str:
        def mib(b):
            return f"{b / 2**20:,.1f} MiB"
        lines = [f"{self.label}: {self.parameters / 1e6:,.2f} M parameters, weights {mib(self.weight_bytes)}"]
        for dt, b in sorted(self.bytes_by_dtype.items(), key=lambda kv: -kv[1]):
            lines.append(f"  {dt}: {mib(b)}")
        kinds = ", ".join(f"{k} {v}" for k, v in sorted(self.layers_by_kind.items()))
        lines.append(f"  layers: {kinds}")
        lines.append(f"  estimated memory: {mib(self.estimated_memory_bytes)}")
        if self.step_seconds is not None:
            lines.append(f"  measured step: {self.step_seconds * 1000:,.1f} ms")
        if self.peak_rss_delta_bytes is not None:
            lines.append(f"  peak extra RAM during the step: {mib(self.peak_rss_delta_bytes)}")
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)


def _logical_numel(t: torch.Tensor) -> int:
    return int(math.prod(t.shape))


def count_parameters(model: nn.Module) -> int:
    """Logical parameter count (a quantised weight counts its unquantised elements)."""
    return sum(_logical_numel(p) for p in model.parameters())


def bytes_by_dtype(model: nn.Module) -> dict[str, int]:
    """Bytes of the tensors the module actually stores (its state dict; quantised weights as their int data+scales)."""
    out: dict[str, int] = {}
    seen = set()
    for _, t in model.state_dict().items():
        if t is None or id(t) in seen:
            continue
        seen.add(id(t))
        key = str(t.dtype).replace("torch.", "")
        out[key] = out.get(key, 0) + t.numel() * t.element_size()
    extra = getattr(model, "lantern_external_bytes", None)  # e.g. an ONNX Runtime session's weights
    if isinstance(extra, dict):
        for k, v in extra.items():
            out[k] = out.get(k, 0) + int(v)
    return out


def layers_by_kind(model: nn.Module) -> dict[str, int]:
    kinds: dict[str, int] = {}
    for m in model.modules():
        if len(list(m.children())) == 0:
            name = type(m).__name__
            kinds[name] = kinds.get(name, 0) + 1
    return kinds


def _rss() -> int:
    import psutil
    return psutil.Process().memory_info().rss


def measure_step(step: Callable[[], object], warmup: int = 1, repeats: int = 1) -> tuple[float, int]:
    """(fastest step seconds, peak RSS increase in bytes while stepping), sampling RSS every 10 ms."""
    for _ in range(warmup):
        step()
    base = _rss()
    peak = [base]
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            peak[0] = max(peak[0], _rss())
            time.sleep(0.01)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    best = math.inf
    try:
        for _ in range(max(1, repeats)):
            t0 = time.perf_counter()
            step()
            best = min(best, time.perf_counter() - t0)
    finally:
        stop.set()
        th.join()
    return best, max(0, peak[0] - base)


def build_report(model: nn.Module, label: str = "model", step: Callable[[], object] | None = None,
                 warmup: int = 1, repeats: int = 1) -> ModelReport:
    by_dtype = bytes_by_dtype(model)
    wbytes = sum(by_dtype.values())
    notes = list(getattr(model, "lantern_notes", []) or [])
    rep = ModelReport(label=label, parameters=count_parameters(model), weight_bytes=wbytes,
                      bytes_by_dtype=by_dtype, layers_by_kind=layers_by_kind(model),
                      estimated_memory_bytes=wbytes, notes=notes)
    if step is not None:
        secs, rss = measure_step(step, warmup=warmup, repeats=repeats)
        rep.step_seconds = secs
        rep.peak_rss_delta_bytes = rss
        rep.estimated_memory_bytes = wbytes + rss
    return rep
