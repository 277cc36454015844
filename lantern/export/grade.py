"""Palette grade: model-free colour correction toward a palette, preserving luminance.

Method (a Reinhard-style colour transfer restricted to chroma): the image is converted to CIE L*a*b* (D65);
its a*/b* channels are shifted and scaled so their mean and spread move toward the palette's (the palette's
colours, optionally weighted), by ``strength``; L* is left untouched, so the lightness of every pixel is kept
(up to the clip back into the sRGB gamut). ``strength`` 0 returns the input unchanged, 1 gives the palette's
chroma statistics.
"""

from __future__ import annotations

import re
from typing import Sequence

import torch
from PIL import ImageColor

__all__ = ["parse_palette", "rgb_to_lab", "lab_to_rgb", "fit_gamut", "palette_grade"]

_D65 = torch.tensor([0.95047, 1.0, 1.08883])
_RGB2XYZ = torch.tensor(
    [[0.4124564, 0.3575761, 0.1804375], [0.2126729, 0.7151522, 0.0721750], [0.0193339, 0.1191920, 0.9503041]]
)
_XYZ2RGB = torch.linalg.inv(_RGB2XYZ)


def parse_palette(text: str | Sequence) -> torch.Tensor:
    """Colours from text (``#rrggbb``, ``#rgb``, ``rgb(…)`` or CSS names, separated by commas, spaces or
    newlines) or a sequence of such strings / RGB triples -> ``[K, 3]`` floats in [0, 1]."""
    if isinstance(text, str):
        tokens = re.findall(r"rgb\([^)]*\)|#[0-9a-fA-F]{3,8}\b|[A-Za-z]+", text)
        if not tokens and text.strip():
            raise ValueError(f"palette: no colours found in {text[:60]!r}; write e.g. '#1f3a5f, #d9a441, teal'")
    else:
        tokens = list(text)
    colours = []
    for tok in tokens:
        if isinstance(tok, str):
            try:
                rgb = ImageColor.getrgb(tok)[:3]
            except ValueError:
                raise ValueError(f"palette: {tok!r} is not a colour; use #rrggbb, rgb(r, g, b) or a CSS colour name") from None
        else:
            rgb = tuple(tok)[:3]
            if max(rgb) > 1:
                rgb = tuple(c for c in rgb)
            else:
                rgb = tuple(round(c * 255) for c in rgb)
        colours.append([c / 255 for c in rgb])
    if not colours:
        raise ValueError("palette is empty: give at least one colour, e.g. '#1f3a5f, #d9a441'")
    return torch.tensor(colours, dtype=torch.float32)


def _srgb_to_linear(c: torch.Tensor) -> torch.Tensor:
    return torch.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def _linear_to_srgb(c: torch.Tensor) -> torch.Tensor:
    c = c.clamp_min(0)
    return torch.where(c <= 0.0031308, 12.92 * c, 1.055 * c ** (1 / 2.4) - 0.055)


def rgb_to_lab(rgb: torch.Tensor) -> torch.Tensor:
    """sRGB ``[..., 3]`` in [0, 1] -> L*a*b* ``[..., 3]`` (L in 0..100)."""
    xyz = _srgb_to_linear(rgb.float()) @ _RGB2XYZ.T / _D65
    eps, kappa = 216 / 24389, 24389 / 27
    f = torch.where(xyz > eps, xyz.clamp_min(1e-12) ** (1 / 3), (kappa * xyz + 16) / 116)
    L = 116 * f[..., 1] - 16
    a = 500 * (f[..., 0] - f[..., 1])
    b = 200 * (f[..., 1] - f[..., 2])
    return torch.stack([L, a, b], dim=-1)


def _lab_to_linear(lab: torch.Tensor) -> torch.Tensor:
    L, a, b = lab.unbind(-1)
    fy = (L + 16) / 116
    fx = fy + a / 500
    fz = fy - b / 200
    eps, kappa = 216 / 24389, 24389 / 27
    f = torch.stack([fx, fy, fz], dim=-1)
    xyz = torch.where(f**3 > eps, f**3, (116 * f - 16) / kappa)
    return (xyz * _D65) @ _XYZ2RGB.T


def lab_to_rgb(lab: torch.Tensor) -> torch.Tensor:
    """L*a*b* ``[..., 3]`` -> sRGB ``[..., 3]`` clipped to [0, 1]."""
    return _linear_to_srgb(_lab_to_linear(lab)).clamp(0, 1)


def fit_gamut(lab: torch.Tensor, iterations: int = 12) -> torch.Tensor:
    """Pull out-of-gamut colours toward grey *at constant L** (bisection on the chroma scale, only for the
    pixels that need it), so clipping to sRGB never changes lightness."""
    tol = 1e-5

    def inside(x: torch.Tensor) -> torch.Tensor:
        lin = _lab_to_linear(x)
        return ((lin >= -tol) & (lin <= 1 + tol)).all(-1)

    flat = lab.reshape(-1, 3)
    bad = (~inside(flat)).nonzero().squeeze(-1)
    if bad.numel() == 0:
        return lab
    sub = flat[bad]
    L, ab = sub[:, :1], sub[:, 1:]
    lo, hi = torch.zeros_like(L), torch.ones_like(L)
    for _ in range(iterations):
        mid = (lo + hi) / 2
        good = inside(torch.cat([L, ab * mid], -1)).unsqueeze(-1)
        lo = torch.where(good, mid, lo)
        hi = torch.where(good, hi, mid)
    flat = flat.clone()
    flat[bad] = torch.cat([L, ab * lo], -1)
    return flat.reshape(lab.shape)


def palette_grade(
    images: torch.Tensor, palette: torch.Tensor, strength: float = 0.5, weights: Sequence[float] | None = None
) -> torch.Tensor:
    """Grade ``[N, H, W, 3]`` (or ``[H, W, 3]``) images toward ``palette`` ``[K, 3]`` by ``strength`` in [0, 1].

    Each image is graded on its own statistics; extra channels (alpha) pass through.
    """
    if not 0 <= strength <= 1:
        raise ValueError(f"strength must be in 0..1, got {strength}")
    if strength == 0:
        return images.clone()
    single = images.ndim == 3
    batch = images.unsqueeze(0) if single else images
    rgb, extra = batch[..., :3].float(), batch[..., 3:]
    pal_lab = rgb_to_lab(palette.float())[:, 1:]
    w = torch.ones(pal_lab.shape[0]) if weights is None else torch.tensor(list(weights), dtype=torch.float32)
    if w.shape[0] != pal_lab.shape[0] or bool((w < 0).any()) or float(w.sum()) <= 0:
        raise ValueError("palette weights must be one non-negative number per colour, not all zero")
    w = w / w.sum()
    p_mean = (pal_lab * w[:, None]).sum(0)
    p_std = ((pal_lab - p_mean) ** 2 * w[:, None]).sum(0).sqrt()
    out = torch.empty_like(rgb)
    for i in range(batch.shape[0]):
        lab = rgb_to_lab(rgb[i])
        ab = lab[..., 1:]
        mean = ab.reshape(-1, 2).mean(0)
        std = ab.reshape(-1, 2).std(0).clamp_min(1e-6)
        # a single-colour palette has no spread: keep the image's own spread around the new mean
        target_std = torch.where(p_std > 1e-6, p_std, std)
        moved = (ab - mean) / std * target_std + p_mean
        lab = torch.cat([lab[..., :1], ab + strength * (moved - ab)], dim=-1)
        out[i] = lab_to_rgb(fit_gamut(lab))
    out = torch.cat([out, extra.to(out.dtype)], dim=-1) if extra.shape[-1] else out
    return (out[0] if single else out).to(images.dtype)
