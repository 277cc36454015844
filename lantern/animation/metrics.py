"""Temporal consistency: SSIM between consecutive frames.

Uses ``kornia.metrics.ssim`` (a ComfyUI dependency) when it is importable, else a small Gaussian-window
SSIM (11x11, sigma 1.5, C1 = 0.01², C2 = 0.03², data range 1) that follows the same definition.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["ssim", "consecutive_ssim", "ssim_backend"]


def _gaussian_window(size: int = 11, sigma: float = 1.5, channels: int = 3) -> torch.Tensor:
    x = torch.arange(size, dtype=torch.float32) - (size - 1) / 2
    g = torch.exp(-(x**2) / (2 * sigma**2))
    g = g / g.sum()
    w2 = g[:, None] @ g[None, :]
    return w2.expand(channels, 1, size, size).contiguous()


def _ssim_builtin(x: torch.Tensor, y: torch.Tensor, window: int = 11) -> torch.Tensor:
    """SSIM per pair for ``[N, C, H, W]`` in [0, 1]; returns ``[N]``."""
    c = x.shape[1]
    w = _gaussian_window(window, 1.5, c).to(x.device, x.dtype)
    pad = window // 2
    x = F.pad(x, [pad] * 4, mode="reflect")
    y = F.pad(y, [pad] * 4, mode="reflect")
    mu_x = F.conv2d(x, w, groups=c)
    mu_y = F.conv2d(y, w, groups=c)
    sxx = F.conv2d(x * x, w, groups=c) - mu_x**2
    syy = F.conv2d(y * y, w, groups=c) - mu_y**2
    sxy = F.conv2d(x * y, w, groups=c) - mu_x * mu_y
    c1, c2 = 0.01**2, 0.03**2
    num = (2 * mu_x * mu_y + c1) * (2 * sxy + c2)
    den = (mu_x**2 + mu_y**2 + c1) * (sxx + syy + c2)
    return (num / den).mean(dim=(1, 2, 3))


def ssim_backend() -> str:
    try:
        import kornia.metrics  # noqa: F401

        return "kornia"
    except Exception:
        return "builtin"


def ssim(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean SSIM per pair of ``[N, C, H, W]`` images in [0, 1] (``[N]``)."""
    x = x.float().clamp(0, 1)
    y = y.float().clamp(0, 1)
    if min(x.shape[-2:]) < 11:
        raise ValueError(f"SSIM needs images of at least 11x11 pixels, got {tuple(x.shape[-2:])}")
    if ssim_backend() == "kornia":
        import kornia.metrics

        return kornia.metrics.ssim(x, y, window_size=11).mean(dim=(1, 2, 3))
    return _ssim_builtin(x, y)


@torch.no_grad()
def consecutive_ssim(images: torch.Tensor, chunk: int = 8, max_side: int = 256) -> list[float]:
    """SSIM of each frame with the next one, for ComfyUI IMAGE batches ``[N, H, W, C]`` in [0, 1].

    Frames are compared in chunks (bounded memory) and downscaled so the long side is at most ``max_side``.
    """
    n = int(images.shape[0])
    out: list[float] = []
    for start in range(0, n - 1, chunk):
        stop = min(n, start + chunk + 1)
        block = images[start:stop].float().movedim(-1, 1)
        h, w = block.shape[-2:]
        scale = max_side / max(h, w)
        if scale < 1:
            block = F.interpolate(block, scale_factor=scale, mode="area")
        out.extend(ssim(block[:-1], block[1:]).tolist())
    return out
