"""Auto-optimise: measure candidate configurations on one real step, keep the fastest within a fidelity bound.

A candidate is a name plus a ``build()`` returning a runnable (``step(batch) -> tensor``). Each is built, warmed up,
timed on the same inputs as the fp32 reference and compared with it (relative L2 error). The decision — and the
table of measurements it came from — is cached as JSON per machine, model fingerprint and input shape, so the next
run applies it without measuring again.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import platform
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import torch

from .metrics import rel_error

DEFAULT_BOUND = 0.01


@dataclass
class Candidate:
    name: str
    build: Callable[[], Callable[[tuple], torch.Tensor]]
    description: str = ""


@dataclass
class Trial:
    name: str
    seconds: float | None
    rel_error: float | None
    ok: bool
    reason: str


@dataclass
class Decision:
    choice: str
    reference_seconds: float
    speedup: float
    bound: float
    trials: list[Trial]
    key: str
    cached: bool = False
    created: float = field(default_factory=time.time)

    def explain(self) -> str:
        lines = [f"chose {self.choice}: {self.speedup:.2f}x faster than the fp32 reference "
                 f"({self.reference_seconds:.3f} s/step), fidelity bound {self.bound:.2%}"
                 + (" [cached decision]" if self.cached else "")]
        for t in self.trials:
            secs = f"{t.seconds:.3f} s" if t.seconds is not None else "-"
            err = f"{t.rel_error:.3%}" if t.rel_error is not None and math.isfinite(t.rel_error) else "-"
            lines.append(f"  {t.name}: {secs}, rel. error {err} — {t.reason}")
        return "\n".join(lines)

    def to_json(self) -> dict:
        d = asdict(self)
        d.pop("cached")
        return d

    @classmethod
    def from_json(cls, d: dict) -> "Decision":
        trials = [Trial(**t) for t in d.pop("trials")]
        return cls(trials=trials, cached=True, **d)


def machine_id() -> str:
    """Stable description of this machine's compute: CPU, threads, accelerator, torch build."""
    parts = [platform.machine(), platform.processor() or "", str(os.cpu_count()), str(torch.get_num_threads()),
             torch.__version__]
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    parts.append(line.split(":", 1)[1].strip())
                    break
    except OSError:
        pass
    if torch.cuda.is_available():
        parts.append(torch.cuda.get_device_name(0))
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def decision_key(model_fingerprint: str, shape: Sequence[int], bound: float, names: Sequence[str]) -> str:
    payload = json.dumps({"m": machine_id(), "fp": model_fingerprint, "shape": list(shape), "bound": bound,
                          "candidates": sorted(names)}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:24]


class DecisionCache:
    """JSON file of decisions keyed by :func:`decision_key` (written atomically)."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)

    def _load(self) -> dict:
        try:
            return json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}

    def get(self, key: str) -> Decision | None:
        d = self._load().get(key)
        return Decision.from_json(dict(d)) if d else None

    def put(self, decision: Decision) -> None:
        data = self._load()
        data[decision.key] = decision.to_json()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps(data, indent=1))
        os.replace(tmp, self.path)


def _time(step, batch, repeats: int) -> tuple[float, torch.Tensor]:
    with torch.no_grad():
        out = step(batch)  # warm-up (first-call allocation, lazy init)
        best = math.inf
        for _ in range(repeats):
            t0 = time.perf_counter()
            out = step(batch)
            best = min(best, time.perf_counter() - t0)
    return best, out


def auto_optimize(reference: Candidate, candidates: Sequence[Candidate], batch: tuple, key: str,
                  cache: DecisionCache | None = None, bound: float = DEFAULT_BOUND, repeats: int = 1,
                  progress: Callable[[int, int, str], None] | None = None,
                  should_stop: Callable[[], None] | None = None) -> Decision:
    """Measure ``reference`` and each candidate on ``batch``; return (and cache) the fastest within ``bound``.

    The reference is always a valid answer (error 0). A candidate that raises, returns NaN/inf or exceeds the
    bound is recorded with the reason and skipped.
    """
    if cache is not None:
        hit = cache.get(key)
        if hit is not None:
            return hit
    total = len(candidates) + 1
    ref_step = reference.build()
    ref_secs, ref_out = _time(ref_step, batch, repeats)
    del ref_step
    trials = [Trial(reference.name, ref_secs, 0.0, True, "reference")]
    if progress:
        progress(1, total, reference.name)
    best_name, best_secs = reference.name, ref_secs
    for i, cand in enumerate(candidates, start=2):
        if should_stop is not None:
            should_stop()
        try:
            step = cand.build()
            secs, out = _time(step, batch, repeats)
            del step
            err = rel_error(out, ref_out)
        except Exception as e:  # a failing candidate is a measured outcome, not a crash
            trials.append(Trial(cand.name, None, None, False, f"failed: {type(e).__name__}: {e}"[:300]))
            if progress:
                progress(i, total, cand.name)
            continue
        if not math.isfinite(err):
            trials.append(Trial(cand.name, secs, None, False, "output has NaN/inf"))
        elif err > bound:
            trials.append(Trial(cand.name, secs, err, False, f"error {err:.2%} above the {bound:.2%} bound"))
        else:
            faster = secs < best_secs
            trials.append(Trial(cand.name, secs, err, True,
                                f"within bound, {ref_secs / secs:.2f}x" + ("" if faster else ", not the fastest")))
            if faster:
                best_name, best_secs = cand.name, secs
        if progress:
            progress(i, total, cand.name)
    for t in trials:
        if t.ok and t.name == best_name and t.name != reference.name:
            t.reason = t.reason.replace(", not the fastest", "") + ", fastest: chosen"
    dec = Decision(best_name, ref_secs, ref_secs / best_secs, bound, trials, key)
    if cache is not None:
        cache.put(dec)
    return dec
