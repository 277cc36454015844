"""Interpolation maths for prompt travel: lerp, true slerp, token-length padding, noise travel.

Shapes follow ComfyUI: token embeddings ``[B, T, C]`` (T a multiple of 77 for CLIP models: one 77-token window
per chunk of the prompt, encoded separately and concatenated), pooled output ``[B, C]``, latents/noise
``[B, C, H, W]``.

Slerp here is the *true* spherical interpolation of directions with a linear blend of lengths:

    slerp(a, b, w) = ((1-w)|a| + w|b|) * (sin((1-w)W)/sin W * â + sin(wW)/sin W * b̂),   cos W = â·b̂

so the direction moves along the great circle at constant angular speed, and the length is the lerp of the
endpoint lengths: equal-length inputs give an equal-length result at every weight (norm preserved), unlike
lerp, whose midpoint of two independent vectors is ~0.7 times as long. Endpoints (w = 0, w = 1) are returned
exactly. Near-parallel pairs fall back to lerp of directions; exactly opposite pairs turn through a fixed
perpendicular direction, so the result is always defined.

Padding prompts of different window counts (the "77 vs 154" crash): each embedding is *tiled* (its whole
token sequence repeated) to the least common multiple of the lengths. This is the same thing ComfyUI's
sampler does when it batches conds of different lengths (``CONDCrossAttn.concat``), and it is exactly neutral
for cross-attention: with keys and values repeated k times, every softmax weight is split evenly across the k
copies, so the attention output is unchanged (tested in tests/unit/animation/test_interpolate.py). The two
alternatives are not neutral: an empty prompt's window adds "nothing" tokens that take a share of the
attention and wash the prompt out, and zero padding (ComfyUI's ConditioningAverage) adds keys with logit 0.
Only when the LCM would exceed ``max_windows`` windows do we fall back to repeating the last window (which
over-weights that window) and say so in the returned note.
"""

from __future__ import annotations

import math
from typing import Iterable, Sequence

import torch

from .easing import ease

__all__ = [
    "lerp",
    "slerp",
    "slerp_flat",
    "blend",
    "pad_to_common_length",
    "attention",
    "make_noise",
    "blend_sequence",
    "interpolate_frames",
    "interpolated_length",
]

CLIP_WINDOW = 77


def _weight(w, like: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """Turn ``w`` (float, [B] tensor or broadcastable tensor) into a tensor broadcastable against ``like``."""
    if not isinstance(w, torch.Tensor):
        w = torch.tensor(float(w), dtype=torch.float32, device=like.device)
    w = w.to(device=like.device, dtype=torch.float32)
    if w.ndim == 1 and like.ndim > 1:  # one weight per batch item
        w = w.reshape([-1] + [1] * (like.ndim - 1))
    if torch.any(w < 0) or torch.any(w > 1) or torch.any(torch.isnan(w)):
        raise ValueError("interpolation weights must lie in [0, 1]")
    return w


def _exact_ends(out: torch.Tensor, a: torch.Tensor, b: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    out = torch.where(w == 0, a.to(out.dtype), out)
    return torch.where(w == 1, b.to(out.dtype), out)


def lerp(a: torch.Tensor, b: torch.Tensor, w) -> torch.Tensor:
    """Linear interpolation ``(1-w)a + wb`` with exact endpoints; ``w`` float or per-batch tensor in [0, 1]."""
    if a.shape != b.shape:
        raise ValueError(f"cannot blend tensors of shapes {tuple(a.shape)} and {tuple(b.shape)}")
    w = _weight(w, a)
    out = (1 - w) * a.float() + w * b.float()
    return _exact_ends(out, a.float(), b.float(), w).to(a.dtype)


def slerp(a: torch.Tensor, b: torch.Tensor, w, dim: int = -1, eps: float = 1e-6) -> torch.Tensor:
    """True spherical interpolation along ``dim`` (see the module docstring); exact endpoints."""
    if a.shape != b.shape:
        raise ValueError(f"cannot blend tensors of shapes {tuple(a.shape)} and {tuple(b.shape)}")
    w = _weight(w, a)
    af, bf = a.double(), b.double()
    wd = w.double()
    na = af.norm(dim=dim, keepdim=True)
    nb = bf.norm(dim=dim, keepdim=True)
    ua = af / na.clamp_min(1e-30)
    ub = bf / nb.clamp_min(1e-30)
    dot = (ua * ub).sum(dim=dim, keepdim=True).clamp(-1.0, 1.0)
    omega = torch.arccos(dot)
    so = torch.sin(omega)
    safe = so > eps
    so_safe = torch.where(safe, so, torch.ones_like(so))
    c0 = torch.where(safe, torch.sin((1 - wd) * omega) / so_safe, 1 - wd)
    c1 = torch.where(safe, torch.sin(wd * omega) / so_safe, wd)
    direction = c0 * ua + c1 * ub
    # the near-parallel fallback is a lerp of unit vectors: renormalise (a no-op for true slerp)
    direction = direction / direction.norm(dim=dim, keepdim=True).clamp_min(1e-30)

    # opposite directions: rotate through a perpendicular vector (Gram-Schmidt on the least-aligned axis)
    opposite = dot < -1 + eps
    if bool(opposite.any()):
        moved = ua.movedim(dim, -1)
        axis = torch.zeros_like(moved)
        axis.scatter_(-1, moved.abs().argmin(dim=-1, keepdim=True), 1.0)
        perp = axis - (axis * moved).sum(-1, keepdim=True) * moved
        perp = (perp / perp.norm(dim=-1, keepdim=True).clamp_min(1e-30)).movedim(-1, dim)
        turned = torch.cos(math.pi * wd) * ua + torch.sin(math.pi * wd) * perp
        direction = torch.where(opposite, turned, direction)

    length = (1 - wd) * na + wd * nb
    out = direction * length
    # zero vectors have no direction: plain lerp there
    degenerate = (na == 0) | (nb == 0)
    out = torch.where(degenerate, (1 - wd) * af + wd * bf, out)
    return _exact_ends(out, af, bf, wd).to(a.dtype)


def slerp_flat(a: torch.Tensor, b: torch.Tensor, w) -> torch.Tensor:
    """Slerp treating each batch item (dim 0) as one vector: for latents and noise ``[B, C, H, W]``.

    Slerping two independent unit-variance noises keeps the per-element variance at ~1 (lerp halves it at the
    midpoint, which samplers turn into flat, washed-out frames).
    """
    if a.shape != b.shape:
        raise ValueError(f"cannot blend tensors of shapes {tuple(a.shape)} and {tuple(b.shape)}")
    shape = a.shape
    return slerp(a.reshape(shape[0], -1), b.reshape(shape[0], -1), w, dim=-1).reshape(shape)


def blend(a: torch.Tensor, b: torch.Tensor, w, method: str = "slerp") -> torch.Tensor:
    """``lerp`` or per-vector ``slerp`` along the last dim (tokens ``[B,T,C]``, pooled ``[B,C]``)."""
    if method == "lerp":
        return lerp(a, b, w)
    if method == "slerp":
        return slerp(a, b, w, dim=-1)
    raise ValueError(f"unknown interpolation {method!r}; use 'lerp' or 'slerp'")


def pad_to_common_length(
    tensors: Sequence[torch.Tensor], window: int = CLIP_WINDOW, max_windows: int = 8
) -> tuple[list[torch.Tensor], str]:
    """Bring ``[B, T_i, C]`` embeddings to one token length; returns (tensors, note).

    Tiles each sequence to the LCM of the lengths (attention-neutral, see module docstring) when that stays
    within ``max_windows * window`` tokens; otherwise repeats each one's last window up to the longest length
    and the note says so.
    """
    lengths = [int(t.shape[1]) for t in tensors]
    if len(set(lengths)) <= 1:
        return list(tensors), ""
    common = lengths[0]
    for n in lengths[1:]:
        common = common * n // math.gcd(common, n)
    if common <= max_windows * window:
        out = [t if t.shape[1] == common else t.repeat(1, common // t.shape[1], 1) for t in tensors]
        return out, f"token lengths {sorted(set(lengths))} tiled to {common} (attention-neutral)"
    target = max(lengths)
    out = []
    for t in tensors:
        n = t.shape[1]
        unit = window if n % window == 0 and (target - n) % window == 0 else 1
        last = t[:, n - unit :, :]
        reps = (target - n) // unit
        out.append(torch.cat([t] + [last] * reps, dim=1) if reps else t)
    return out, (
        f"token lengths {sorted(set(lengths))} padded to {target} by repeating the last window "
        f"(a common multiple would exceed {max_windows} windows); the repeated window weighs a little more"
    )


def attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Plain scaled dot-product attention, used to check that padding is neutral."""
    scores = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])
    return torch.softmax(scores, dim=-1) @ v


def make_noise(seed: int, shape: Sequence[int], dtype=torch.float32) -> torch.Tensor:
    """Gaussian noise for one seed; identical to ComfyUI's ``comfy.sample.prepare_noise`` for a batch of 1."""
    gen = torch.Generator(device="cpu").manual_seed(int(seed))
    return torch.randn(list(shape), dtype=dtype, generator=gen, device="cpu")


def blend_sequence(
    items: Sequence[torch.Tensor], plan: Iterable, method: str = "slerp", flat: bool = False
) -> torch.Tensor:
    """Per-frame blends: ``plan`` yields objects with ``a``, ``b``, ``weight`` (indices into ``items``).

    Each item is ``[1, ...]``; the result is ``[F, ...]``. ``flat`` slerps whole items (latents, noise)
    instead of per-vector along the last dim.
    """
    plan = list(plan)
    if not plan:
        raise ValueError("the frame plan is empty")
    first = items[plan[0].a]
    out = torch.empty((len(plan),) + tuple(first.shape[1:]), dtype=first.dtype)
    for i, p in enumerate(plan):
        a, b = items[p.a], items[p.b]
        if p.a == p.b or p.weight == 0:
            out[i] = a[0]
        elif p.weight == 1:
            out[i] = b[0]
        elif method == "lerp":
            out[i] = lerp(a, b, p.weight)[0]
        elif flat:
            out[i] = slerp_flat(a, b, p.weight)[0]
        else:
            out[i] = slerp(a, b, p.weight, dim=-1)[0]
    return out


def interpolated_length(n: int, multiplier: int, loop: bool = False) -> int:
    """Frames after inserting ``multiplier - 1`` frames between each pair (and last->first when looping)."""
    if n < 1:
        return 0
    return n * multiplier if loop else (n - 1) * multiplier + 1


def interpolate_frames(
    frames: torch.Tensor,
    multiplier: int,
    method: str = "lerp",
    easing: str = "linear",
    loop: bool = False,
) -> torch.Tensor:
    """Model-free in-betweening of a frame batch ``[N, ...]`` (pixels ``[N,H,W,C]`` or latents ``[N,C,H,W]``).

    Inserts ``multiplier - 1`` blended frames between neighbours (lerp for pixels, flat slerp for latents);
    original frames are kept exactly. The result is written into one preallocated tensor.
    """
    if multiplier < 1:
        raise ValueError(f"multiplier must be at least 1, got {multiplier}")
    n = int(frames.shape[0])
    if n == 0:
        raise ValueError("no frames to interpolate")
    if multiplier == 1 or (n == 1 and not loop):
        return frames.clone()
    total = interpolated_length(n, multiplier, loop)
    out = torch.empty((total,) + tuple(frames.shape[1:]), dtype=frames.dtype, device=frames.device)
    for j in range(total):
        i, r = divmod(j, multiplier)
        if r == 0:
            out[j] = frames[i]
            continue
        nxt = (i + 1) % n
        w = float(ease(easing, r / multiplier))
        a, b = frames[i : i + 1], frames[nxt : nxt + 1]
        out[j] = (slerp_flat(a, b, w) if method == "slerp" else lerp(a, b, w))[0]
    return out
