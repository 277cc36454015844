import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

from lantern.optimize.metrics import max_rel_diff, psnr, rel_error, ssim
from lantern.optimize.report import build_report, count_parameters


def test_report_counts_params_and_bytes(tiny, tiny_input):
    rep = build_report(tiny, "tiny", step=lambda: tiny(*tiny_input))
    n = sum(p.numel() for p in tiny.parameters())
    assert rep.parameters == n == count_parameters(tiny)
    assert rep.bytes_by_dtype == {"float32": 4 * n}
    assert rep.weight_bytes == 4 * n
    assert rep.step_seconds > 0
    assert rep.estimated_memory_bytes >= rep.weight_bytes
    assert rep.layers_by_kind["Conv2d"] == 8
    assert "M parameters" in rep.text()


def test_report_of_half_model_halves_bytes(tiny):
    import copy
    assert build_report(copy.deepcopy(tiny).half()).weight_bytes * 2 == build_report(tiny).weight_bytes


@settings(max_examples=25, deadline=None)
@given(st.floats(0.01, 10), st.integers(0, 1000))
def test_rel_error_is_scale_invariant(scale, seed):
    g = torch.Generator().manual_seed(seed)
    a, b = torch.randn(64, generator=g), torch.randn(64, generator=g)
    assert rel_error(a * scale, b * scale) == pytest.approx(rel_error(a, b), rel=1e-4)
    assert rel_error(b, b) == 0.0


def test_nan_is_infinite_error():
    a = torch.ones(4)
    b = a.clone()
    b[0] = float("nan")
    assert rel_error(b, a) == math.inf and max_rel_diff(b, a) == math.inf
    assert max_rel_diff(a * 1.001, a) == pytest.approx(1e-3, rel=1e-3)
    with pytest.raises(ValueError, match="shape mismatch"):
        rel_error(torch.ones(3), torch.ones(4))


def test_psnr_ssim():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (32, 32, 3)).astype(np.uint8)
    noisy = np.clip(img.astype(int) + rng.integers(-8, 9, img.shape), 0, 255).astype(np.uint8)
    assert psnr(img, img) == math.inf and ssim(img, img) == pytest.approx(1.0)
    p = psnr(noisy, img)
    assert 25 < p < 40
    assert 0 < ssim(noisy, img) < 1
