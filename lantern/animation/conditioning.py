"""Per-frame conditioning from a schedule: each distinct prompt encoded once, then blended per frame."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

from .interpolate import blend_sequence, pad_to_common_length
from .schedule import Schedule

__all__ = ["FrameConditioning", "build_conditioning"]

Encoder = Callable[[str], "tuple[torch.Tensor, torch.Tensor | None]"]


@dataclass
class FrameConditioning:
    """``cond`` ``[F, T, C]`` and ``pooled`` ``[F, C]`` (or None) for one side (positive or negative)."""

    cond: torch.Tensor
    pooled: torch.Tensor | None
    encoded: int  # how many distinct texts were encoded
    note: str  # padding note ("" when all prompts had one length)


def _side(schedule: Schedule, texts: list[str], encode: Encoder, method: str, window: int) -> FrameConditioning:
    distinct = list(dict.fromkeys(texts))
    enc = {t: encode(t) for t in distinct}
    conds, note = pad_to_common_length([enc[t][0] for t in distinct], window=window)
    cond_by_text = dict(zip(distinct, conds))
    items = [cond_by_text[t] for t in texts]
    plan = schedule.plan()
    cond = blend_sequence(items, plan, method)
    pooled = None
    if all(enc[t][1] is not None for t in distinct):
        pooled = blend_sequence([enc[t][1] for t in texts], plan, method)
    return FrameConditioning(cond, pooled, len(distinct), note)


def build_conditioning(
    schedule: Schedule, encode: Encoder, method: str = "slerp", window: int = 77
) -> tuple[FrameConditioning, FrameConditioning]:
    """Positive and negative per-frame conditioning. ``encode(text) -> (cond [1,T,C], pooled [1,C] | None)``
    is called once per distinct text (a cache makes repeated keys free)."""
    cache: dict[str, tuple] = {}

    def cached(text: str):
        if text not in cache:
            cache[text] = encode(text)
        return cache[text]

    pos = _side(schedule, [k.prompt for k in schedule.keys], cached, method, window)
    neg = _side(schedule, [k.negative for k in schedule.keys], cached, method, window)
    return pos, neg
