import pytest
import torch

from lantern.animation.animator import (
    check_frame_budget,
    default_key_frames,
    estimate_memory,
    evaluations_per_step,
    frame_noise,
    key_blends,
    plan_animation,
    run_animation,
)
from lantern.animation.interpolate import make_noise, slerp_flat
from lantern.animation.metrics import _ssim_builtin, consecutive_ssim, ssim


def test_keyframes_cost_for_24_frames_4_keys():
    keys = [0, 8, 16, 23]
    full = plan_animation(24, keys, "full", steps=20)
    kf = plan_animation(24, keys, "keyframes", steps=20, inbetween_denoise=0.25)
    assert full.model_steps == 24 * 20
    assert kf.model_steps == 4 * 20 + 20 * 5
    assert kf.cost_ratio(20) == pytest.approx(0.375)  # in-betweens at the keys' cfg (the default)
    assert kf.passes[0].frames == (0, 8, 16, 23) and kf.passes[1].denoise == 0.25
    assert kf.passes[0].cfg == kf.passes[1].cfg == 7.0
    assert full.model_evaluations == 2 * full.model_steps and kf.model_evaluations == 2 * kf.model_steps


def test_inbetween_cfg_one_halves_the_inbetween_pass():
    keys = [0, 8, 16, 23]
    full = plan_animation(24, keys, "full", steps=12, cfg=7.0, inbetween_cfg=1.0)
    kf = plan_animation(24, keys, "keyframes", steps=12, inbetween_denoise=0.25, cfg=7.0, inbetween_cfg=1.0)
    assert [p.cfg for p in full.passes] == [7.0]  # full has no in-between pass: inbetween_cfg is not used
    assert [p.cfg for p in kf.passes] == [7.0, 1.0] and kf.cfg == 7.0
    assert full.model_evaluations == 24 * 12 * 2
    assert kf.model_steps == 4 * 12 + 20 * 3  # sampler steps do not change with cfg
    assert kf.model_evaluations == 4 * 12 * 2 + 20 * 3 * 1
    assert kf.cost_ratio(12) == pytest.approx(156 / 576)
    # keys at cfg 1.0 too: one evaluation per step everywhere, the same ratio as the model steps
    both_one = plan_animation(24, keys, "keyframes", steps=12, cfg=1.0, inbetween_cfg=1.0)
    assert both_one.model_evaluations == both_one.model_steps
    assert both_one.cost_ratio(12) == pytest.approx(both_one.model_steps / (24 * 12))


def test_evaluations_per_step_matches_comfyui_cfg1_test():
    assert evaluations_per_step(1.0) == 1 and evaluations_per_step(1.0 + 1e-12) == 1
    assert evaluations_per_step(1.01) == 2 and evaluations_per_step(0.0) == 2 and evaluations_per_step(7.0) == 2


def test_plan_errors():
    with pytest.raises(ValueError, match="strategy"):
        plan_animation(8, [0, 4], "magic", 10)
    with pytest.raises(ValueError, match="inbetween_denoise"):
        plan_animation(8, [0, 4], "keyframes", 10, inbetween_denoise=0)
    with pytest.raises(ValueError, match="inbetween_cfg"):
        plan_animation(8, [0, 4], "keyframes", 10, inbetween_cfg=-1)
    with pytest.raises(ValueError, match="key frames must start at 0"):
        key_blends([2, 4], 8)


def test_default_key_frames_include_last():
    assert default_key_frames(24, 8) == [0, 8, 16, 23]
    assert default_key_frames(9, 4) == [0, 4, 8]


def test_seed_modes():
    blends = key_blends([0, 4], 8)
    shape = [4, 8, 8]
    fixed = [frame_noise("fixed", 7, shape, b) for b in blends]
    assert all(torch.equal(fixed[0], n) for n in fixed)
    per = [frame_noise("per-keyframe", 7, shape, b) for b in blends]
    assert torch.equal(per[1], make_noise(7, [1] + shape)) and torch.equal(per[3], make_noise(8, [1] + shape))
    trav = [frame_noise("travelling", 7, shape, b) for b in blends]
    assert torch.equal(trav[0], make_noise(7, [1] + shape)) and torch.equal(trav[4], make_noise(8, [1] + shape))
    assert torch.allclose(trav[2], slerp_flat(make_noise(7, [1] + shape), make_noise(8, [1] + shape), 0.5))
    with pytest.raises(ValueError, match="seed_mode"):
        frame_noise("chaos", 1, shape, blends[0])


def test_huge_frame_counts_refused_with_memory_needed():
    need = estimate_memory(100_000, 512, 512)
    with pytest.raises(ValueError) as err:
        check_frame_budget(100_000, 512, 512, budget=8 * 2**30)
    assert f"{need / 2**30:.1f} GiB" in str(err.value) and "frames=100000" in str(err.value)
    assert check_frame_budget(24, 64, 64, budget=8 * 2**30) == estimate_memory(24, 64, 64)


class StandIn:
    """A deterministic stand-in for the sampler: records calls; output = (1-d)*start + d*(noise + frame index)."""

    def __init__(self):
        self.calls = []

    def sample(self, noise, start, frames, steps, denoise, cfg):
        self.calls.append((list(frames), steps, denoise, start.clone(), cfg))
        idx = torch.tensor(frames, dtype=torch.float32).reshape(-1, 1, 1, 1)
        return (1 - denoise) * start + denoise * (noise * 0 + idx)

    @staticmethod
    def decode(lat):
        return lat[:, :3].movedim(1, -1).repeat_interleave(2, 1).repeat_interleave(2, 2).clamp(0, 1) / 24


def test_run_keyframes_starts_inbetweens_from_key_latents():
    sampler = StandIn()
    plan = plan_animation(9, [0, 4, 8], "keyframes", steps=8, inbetween_denoise=0.25, cfg=6.0, inbetween_cfg=1.0)
    seen = []
    res = run_animation(plan, [4, 4, 4], 3, "travelling", sampler.sample, sampler.decode, chunk=2,
                        progress=lambda d, t: seen.append((d, t)))
    key_calls = [c for c in sampler.calls if c[2] == 1.0]
    assert sorted(f for c in key_calls for f in c[0]) == [0, 4, 8]
    assert all(torch.count_nonzero(c[3]) == 0 for c in key_calls)
    assert all(c[4] == 6.0 for c in key_calls)  # keys keep cfg
    inb = [c for c in sampler.calls if c[2] == 0.25]
    assert all(c[1] == 2 and c[4] == 1.0 for c in inb)  # the in-between pass samples at inbetween_cfg
    assert sorted(f for c in inb for f in c[0]) == [1, 2, 3, 5, 6, 7]
    # frame 2's start latent is the slerp of keys 0 and 4 at weight 0.5
    call = next(c for c in inb if 2 in c[0])
    want = slerp_flat(res.latents[0:1], res.latents[4:5], 0.5)[0]
    assert torch.allclose(call[3][call[0].index(2)], want)
    assert res.images.shape == (9, 8, 8, 3)
    assert res.model_steps == 3 * 8 + 6 * 2 and res.model_evaluations == 3 * 8 * 2 + 6 * 2
    assert len(res.pass_cpu_seconds) == 2 and all(c >= 0 for c in res.pass_cpu_seconds)
    assert seen[-1] == (plan.model_steps + 9, plan.model_steps + 9)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_run_cancels_between_chunks():
    sampler = StandIn()
    plan = plan_animation(8, [0, 4], "full", steps=2)
    count = {"n": 0}

    def interrupt():
        count["n"] += 1
        if count["n"] == 3:
            raise InterruptedError("cancelled")

    with pytest.raises(InterruptedError):
        run_animation(plan, [4, 4, 4], 0, "fixed", sampler.sample, sampler.decode, chunk=2, check_interrupt=interrupt)
    assert len(sampler.calls) == 2


def test_ssim_identical_and_different_frames():
    g = torch.Generator().manual_seed(0)
    a = torch.rand(1, 3, 32, 32, generator=g)
    assert float(_ssim_builtin(a, a)[0]) == pytest.approx(1.0, abs=1e-5)
    noise = torch.rand(1, 3, 32, 32, generator=g)
    assert float(_ssim_builtin(a, noise)[0]) < 0.2
    frames = torch.cat([a, a, noise]).movedim(1, -1)
    scores = consecutive_ssim(frames)
    assert len(scores) == 2 and scores[0] == pytest.approx(1.0, abs=1e-4) and scores[1] < 0.2
    with pytest.raises(ValueError, match="11x11"):
        ssim(torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 8))


def test_seed_wraps_at_64_bits():
    blends = key_blends([0, 4], 8)
    top = 0xFFFFFFFFFFFFFFFF
    assert torch.equal(frame_noise("per-keyframe", top, [1, 2, 2], blends[4]), make_noise(0, [1, 1, 2, 2]))
