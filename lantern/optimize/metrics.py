"""Fidelity and timing measures shared by the optimisation passes, the nodes and the benchmark."""
from __future__ import annotations

import math
import time
from typing import Callable

import numpy as np
import torch


def rel_error(out: torch.Tensor, ref: torch.Tensor) -> float:
    """Relative L2 error ``||out - ref|| / ||ref||`` (0 = identical). NaN/inf in ``out`` gives ``inf``."""
    out, ref = out.detach().float(), ref.detach().float()
    if out.shape != ref.shape:
        raise ValueError(f"shape mismatch: {tuple(out.shape)} vs reference {tuple(ref.shape)}")
    if not torch.isfinite(out).all():
        return math.inf
    den = ref.norm().item()
    num = (out - ref).norm().item()
    return num / den if den > 0 else (0.0 if num == 0 else math.inf)


def max_rel_diff(out: torch.Tensor, ref: torch.Tensor) -> float:
    """Largest element-wise difference relative to the reference's largest magnitude."""
    out, ref = out.detach().float(), ref.detach().float()
    if not torch.isfinite(out).all():
        return math.inf
    scale = ref.abs().max().item()
    d = (out - ref).abs().max().item()
    return d / scale if scale > 0 else (0.0 if d == 0 else math.inf)


def cosine(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Row-wise cosine similarity of two [N, D] tensors."""
    return torch.nn.functional.cosine_similarity(a.float(), b.float(), dim=-1)


def psnr(img: np.ndarray, ref: np.ndarray, data_range: float = 255.0) -> float:
    """Peak signal-to-noise ratio in dB (``inf`` for identical images)."""
    from skimage.metrics import peak_signal_noise_ratio
    img, ref = np.asarray(img, dtype=np.float64), np.asarray(ref, dtype=np.float64)
    if np.array_equal(img, ref):
        return math.inf
    return float(peak_signal_noise_ratio(ref, img, data_range=data_range))


def ssim(img: np.ndarray, ref: np.ndarray, data_range: float = 255.0) -> float:
    """Structural similarity of two HxW or HxWxC images (1 = identical)."""
    from skimage.metrics import structural_similarity
    img, ref = np.asarray(img, dtype=np.float64), np.asarray(ref, dtype=np.float64)
    channel_axis = -1 if img.ndim == 3 else None
    win = min(7, min(img.shape[:2]) // 2 * 2 - 1) if min(img.shape[:2]) < 7 else 7
    return float(structural_similarity(ref, img, data_range=data_range, channel_axis=channel_axis, win_size=win))


def time_call(fn: Callable[[], object], repeats: int = 2, warmup: int = 1) -> tuple[float, object]:
    """(fastest wall-clock seconds of ``repeats`` calls after ``warmup`` calls, last result)."""
    out = None
    for _ in range(warmup):
        out = fn()
    best = math.inf
    for _ in range(max(1, repeats)):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out
