import math

import pytest
import torch
from hypothesis import given, settings, strategies as st

from lantern.animation.conditioning import build_conditioning
from lantern.animation.interpolate import (
    attention,
    interpolate_frames,
    interpolated_length,
    lerp,
    make_noise,
    pad_to_common_length,
    slerp,
    slerp_flat,
)
from lantern.animation.schedule import parse_schedule

vec_dims = st.integers(2, 16)


@st.composite
def vector_pairs(draw):
    d = draw(vec_dims)
    elems = st.floats(-10, 10, allow_nan=False, allow_infinity=False, width=32)
    a = torch.tensor(draw(st.lists(elems, min_size=d, max_size=d)))
    b = torch.tensor(draw(st.lists(elems, min_size=d, max_size=d)))
    return a[None], b[None]


@settings(max_examples=150, deadline=None)
@given(vector_pairs(), st.floats(0, 1))
def test_property_slerp_norm_is_lerp_of_norms(pair, w):
    a, b = pair
    out = slerp(a, b, w)
    want = (1 - w) * a.double().norm() + w * b.double().norm()
    assert float(out.double().norm()) == pytest.approx(float(want), rel=1e-4, abs=1e-4)


@settings(max_examples=150, deadline=None)
@given(vector_pairs())
def test_property_endpoints_exact(pair):
    a, b = pair
    for fn in (lerp, slerp):
        assert torch.equal(fn(a, b, 0.0), a)
        assert torch.equal(fn(a, b, 1.0), b)


@settings(max_examples=100, deadline=None)
@given(st.integers(2, 32), st.floats(0.01, 0.99), st.integers(0, 2**31))
def test_property_equal_norm_preserved_and_on_the_arc(d, w, seed):
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(1, d, generator=g, dtype=torch.float64)
    b = torch.randn(1, d, generator=g, dtype=torch.float64)
    b = b / b.norm() * a.norm()
    out = slerp(a, b, w)
    assert float(out.norm()) == pytest.approx(float(a.norm()), rel=1e-9)
    # constant angular speed: angle(a, out) == w * angle(a, b)
    ang = lambda x, y: math.acos(max(-1.0, min(1.0, float((x * y).sum() / (x.norm() * y.norm())))))
    assert ang(a, out) == pytest.approx(w * ang(a, b), abs=1e-6)


def test_weights_outside_unit_interval_refused():
    a, b = torch.ones(1, 3), torch.zeros(1, 3)
    for w in (-0.1, 1.5, float("nan")):
        with pytest.raises(ValueError, match=r"\[0, 1\]"):
            slerp(a, b, w)


def test_opposite_vectors_stay_on_the_sphere():
    a = torch.tensor([[1.0, 0.0, 0.0]])
    out = slerp(a, -a, 0.5)
    assert float(out.norm()) == pytest.approx(1.0, rel=1e-6)
    assert float((out * a).sum()) == pytest.approx(0.0, abs=1e-6)


def test_per_batch_weights_on_token_embeddings():
    a = torch.randn(3, 77, 8)
    b = torch.randn(3, 77, 8)
    w = torch.tensor([0.0, 0.5, 1.0])
    out = slerp(a, b, w)
    assert out.shape == (3, 77, 8)
    assert torch.equal(out[0], a[0]) and torch.equal(out[2], b[2])
    # each token vector slerped separately: norms are the lerp of the token norms
    assert torch.allclose(out[1].norm(dim=-1), (a[1].norm(dim=-1) + b[1].norm(dim=-1)) / 2, atol=1e-5)


def test_noise_slerp_keeps_unit_variance_where_lerp_loses_it():
    n0 = make_noise(1, [1, 4, 32, 32])
    n1 = make_noise(2, [1, 4, 32, 32])
    assert float(slerp_flat(n0, n1, 0.5).std()) == pytest.approx(1.0, abs=0.03)
    assert float(lerp(n0, n1, 0.5).std()) == pytest.approx(math.sqrt(0.5), abs=0.03)


def test_make_noise_matches_torch_manual_seed():
    torch.manual_seed(42)
    want = torch.randn([1, 4, 8, 8], generator=None)
    assert torch.equal(make_noise(42, [1, 4, 8, 8]), want)


def test_tiling_is_attention_neutral():
    g = torch.Generator().manual_seed(0)
    q = torch.randn(1, 16, 32, generator=g)
    one = torch.randn(1, 77, 32, generator=g)
    two = torch.randn(1, 154, 32, generator=g)
    (one_p, two_p), note = pad_to_common_length([one, two])
    assert one_p.shape == two_p.shape == (1, 154, 32)
    assert "tiled to 154" in note
    assert torch.allclose(attention(q, one_p, one_p), attention(q, one, one), atol=1e-5)
    # the alternative (an extra window of other tokens) is not neutral
    other = torch.cat([one, torch.randn(1, 77, 32, generator=g)], dim=1)
    assert not torch.allclose(attention(q, other, other), attention(q, one, one), atol=1e-3)


def test_lcm_and_fallback_padding():
    ts = [torch.randn(1, 77 * n, 4) for n in (2, 3)]
    out, note = pad_to_common_length(ts)
    assert {t.shape[1] for t in out} == {462} and "tiled" in note
    ts = [torch.randn(1, 77 * n, 4) for n in (7, 9)]
    out, note = pad_to_common_length(ts, max_windows=8)
    assert {t.shape[1] for t in out} == {693} and "repeating the last window" in note
    assert torch.equal(out[0][:, -77:], ts[0][:, -77:]) and torch.equal(out[0][:, 539:616], ts[0][:, -77:])


def test_build_conditioning_encodes_each_text_once_and_pads():
    calls = []

    def encode(text):
        calls.append(text)
        g = torch.Generator().manual_seed(len(text))
        windows = 2 if "long" in text else 1
        return torch.randn(1, 77 * windows, 8, generator=g), torch.randn(1, 8, generator=g)

    s = parse_schedule("0: a bird\n4: a long bird | neg: ugly\n8: a bird", 12, default_negative="")
    pos, neg = build_conditioning(s, encode, "slerp")
    assert sorted(calls) == sorted(["a bird", "a long bird", "", "ugly"])
    assert pos.cond.shape == (12, 154, 8) and pos.pooled.shape == (12, 8)
    assert neg.cond.shape == (12, 77, 8)
    a_cond, a_pooled = encode("a bird")
    assert torch.equal(pos.cond[0], a_cond.repeat(1, 2, 1)[0]) and torch.equal(pos.pooled[8], a_pooled[0])
    # pooled output is blended too: frame 2 lies between both keys' pooled vectors
    b_pooled = encode("a long bird")[1]
    assert not torch.equal(pos.pooled[2], a_pooled[0]) and not torch.equal(pos.pooled[2], b_pooled[0])
    assert torch.allclose(pos.pooled[2].norm(), (a_pooled.norm() + b_pooled.norm()) / 2, atol=1e-5)


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 6), st.integers(1, 5), st.booleans())
def test_property_frame_interpolation_keeps_originals(n, m, loop):
    frames = torch.rand(n, 6, 5, 3)
    out = interpolate_frames(frames, m, loop=loop)
    expected = interpolated_length(n, m, loop) if m > 1 and (n > 1 or loop) else n
    assert out.shape[0] == expected
    if m > 1 and (n > 1 or loop):
        assert torch.equal(out[::m][:n], frames)
    assert float(out.min()) >= 0 and float(out.max()) <= 1


def test_frame_interpolation_midpoint_value():
    frames = torch.stack([torch.zeros(2, 2, 3), torch.ones(2, 2, 3)])
    out = interpolate_frames(frames, 2)
    assert out.shape[0] == 3 and torch.allclose(out[1], torch.full((2, 2, 3), 0.5))
    with pytest.raises(ValueError, match="multiplier"):
        interpolate_frames(frames, 0)
