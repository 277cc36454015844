"""Easing curves for keyframe transitions.

Every curve maps a progress value ``t`` in [0, 1] to a weight in [0, 1] with ``f(0) == 0`` and
``f(1) == 1`` exactly, and is monotonically non-decreasing, so a blend never overshoots either
keyframe. Works on Python floats and on torch tensors alike.
"""

from __future__ import annotations

import math
from typing import Callable

import torch

__all__ = ["EASINGS", "ease", "easing_names"]


def _clamp(t):
    if isinstance(t, torch.Tensor):
        return t.clamp(0.0, 1.0)
    return min(1.0, max(0.0, float(t)))


def _linear(t):
    return t


def _ease_in(t):  # quadratic, slow start
    return t * t


def _ease_out(t):  # quadratic, slow end
    return 1 - (1 - t) * (1 - t)


def _ease_in_out(t):  # sine, slow start and end
    if isinstance(t, torch.Tensor):
        return (1 - torch.cos(math.pi * t)) / 2
    return (1 - math.cos(math.pi * t)) / 2


def _cubic(t):  # cubic ease-in-out: flatter ends, steeper middle than the sine curve
    if isinstance(t, torch.Tensor):
        return torch.where(t < 0.5, 4 * t**3, 1 - (-2 * t + 2) ** 3 / 2)
    return 4 * t**3 if t < 0.5 else 1 - (-2 * t + 2) ** 3 / 2


EASINGS: dict[str, Callable] = {
    "linear": _linear,
    "ease-in": _ease_in,
    "ease-out": _ease_out,
    "ease-in-out": _ease_in_out,
    "cubic": _cubic,
}


def easing_names() -> list[str]:
    return list(EASINGS)


def ease(name: str, t):
    """Apply the easing ``name`` to progress ``t`` (float or tensor), clamped to [0, 1].

    Endpoints are returned exactly (0 -> 0.0, 1 -> 1.0) regardless of floating-point error in the curve.
    """
    try:
        fn = EASINGS[name]
    except KeyError:
        raise ValueError(f"unknown easing {name!r}; use one of: {', '.join(EASINGS)}") from None
    t = _clamp(t)
    if isinstance(t, torch.Tensor):
        out = fn(t).clamp(0.0, 1.0)
        out = torch.where(t <= 0, torch.zeros_like(out), out)
        return torch.where(t >= 1, torch.ones_like(out), out)
    if t <= 0.0:
        return 0.0
    if t >= 1.0:
        return 1.0
    return min(1.0, max(0.0, float(fn(t))))
