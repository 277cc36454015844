"""Animation planning and driving, independent of ComfyUI.

The ComfyUI node (nodes/animation.py) supplies two callables: ``sample(noise, latent, frames, steps, denoise, cfg)``
(wrapping ``comfy.sample.sample`` with the conditioning rows of ``frames``) and ``decode(latents)`` (the VAE);
everything else -- which frames are sampled how, the noise of each frame, chunking, progress, cancellation,
consistency -- lives here and is unit-tested.

Strategies
    ``full``       every frame is sampled from noise with its own (blended) conditioning.
    ``keyframes``  key frames are sampled fully; each in-between frame starts from the slerp of its two keys'
                   latents and gets a low-denoise pass of ``ceil(steps * d)`` steps (d = ``inbetween_denoise``)
                   at guidance ``inbetween_cfg`` with its blended conditioning.

Cost
    Counted in model evaluations (UNet calls per frame): a sampler step with classifier-free guidance evaluates
    the model twice (positive and negative), a step at cfg 1.0 once -- ComfyUI's ``sampling_function`` skips the
    unconditional pass when ``math.isclose(cfg, 1.0)`` (unless a model option disables that). For F frames,
    K keys, ``steps`` at key guidance ``cfg`` (e = 2 if cfg != 1 else 1) and in-between guidance ``inbetween_cfg``
    (e' likewise): ``K*steps*e + (F-K)*ceil(steps*d)*e'`` vs ``F*steps*e``. 24 frames, 4 keys, 12 steps, d=0.25,
    cfg 7: 0.375x with ``inbetween_cfg`` 7 (same as the model-step ratio), 0.271x with ``inbetween_cfg`` 1.
    Model evaluations leave out the VAE decode of every frame, which both strategies pay.

Seed modes
    ``fixed``         every frame uses the noise of ``seed``.
    ``per-keyframe``  key i uses ``seed + i``; in-between frames use the nearer key's noise.
    ``travelling``    in-between frames use the slerp of the two keys' noises (unit variance kept).
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

import torch

from .easing import ease
from .interpolate import make_noise, slerp_flat
from .schedule import FrameBlend

__all__ = [
    "STRATEGIES",
    "SEED_MODES",
    "Pass",
    "evaluations_per_step",
    "AnimationPlan",
    "key_blends",
    "plan_animation",
    "frame_noise",
    "estimate_memory",
    "check_frame_budget",
    "run_animation",
    "AnimationResult",
]

STRATEGIES = ("full", "keyframes")
SEED_MODES = ("fixed", "per-keyframe", "travelling")


def evaluations_per_step(cfg: float) -> int:
    """Model evaluations of one sampler step at guidance ``cfg``: 1 at cfg 1.0 (ComfyUI skips the unconditional
    pass, with the same ``math.isclose`` test), else 2 (positive and negative)."""
    return 1 if math.isclose(cfg, 1.0) else 2


@dataclass(frozen=True)
class Pass:
    """One sampling pass over ``frames``: ``steps`` model steps each at ``denoise`` and guidance ``cfg``;
    ``from_keys`` means the start latent is the slerp of the frame's two key latents (else empty latent)."""

    frames: tuple[int, ...]
    steps: int
    denoise: float
    from_keys: bool
    cfg: float = 7.0

    @property
    def model_evaluations(self) -> int:
        return len(self.frames) * self.steps * evaluations_per_step(self.cfg)


@dataclass(frozen=True)
class AnimationPlan:
    frames: int
    key_frames: tuple[int, ...]
    blends: tuple[FrameBlend, ...]  # a/b index into key_frames
    strategy: str
    passes: tuple[Pass, ...]

    @property
    def model_steps(self) -> int:
        """Total sampler steps over all frames (each step is one model evaluation, two with CFG)."""
        return sum(len(p.frames) * p.steps for p in self.passes)

    @property
    def model_evaluations(self) -> int:
        """Total model (UNet) evaluations over all frames: steps x 2 for passes with CFG, x 1 at cfg 1.0."""
        return sum(p.model_evaluations for p in self.passes)

    @property
    def cfg(self) -> float:
        """The key frames' (``full``: every frame's) guidance."""
        return self.passes[0].cfg

    def cost_ratio(self, steps: int) -> float:
        """Model evaluations relative to sampling every frame fully (``steps`` each at the keys' ``cfg``)."""
        return self.model_evaluations / (self.frames * steps * evaluations_per_step(self.cfg))


def key_blends(
    key_frames: Sequence[int], frames: int, loop: bool = False, easings: Sequence[str] | None = None
) -> list[FrameBlend]:
    """Per-frame blends between ``key_frames`` (indices into it), the same rule as Schedule.blend."""
    keys = list(key_frames)
    if not keys or keys[0] != 0 or any(b <= a for a, b in zip(keys, keys[1:])) or keys[-1] >= frames:
        raise ValueError(f"key frames must start at 0, increase and stay below {frames}: {keys}")
    easings = list(easings) if easings else ["linear"] * len(keys)
    out = []
    for f in range(frames):
        i = max(j for j, k in enumerate(keys) if k <= f)
        if i + 1 < len(keys):
            nxt, end = i + 1, keys[i + 1]
        elif loop and len(keys) > 1:
            nxt, end = 0, frames
        else:
            out.append(FrameBlend(f, i, i, 0.0, 0.0))
            continue
        if f == keys[i]:
            out.append(FrameBlend(f, i, nxt, 0.0, 0.0))
            continue
        t = (f - keys[i]) / (end - keys[i])
        out.append(FrameBlend(f, i, nxt, t, float(ease(easings[i], t))))
    return out


def default_key_frames(frames: int, every: int) -> list[int]:
    """Keys every ``every`` frames, always including the last frame."""
    if every < 1:
        raise ValueError(f"keyframe_every must be at least 1, got {every}")
    keys = list(range(0, frames, every))
    if keys[-1] != frames - 1:
        keys.append(frames - 1)
    return keys


def plan_animation(
    frames: int,
    key_frames: Sequence[int],
    strategy: str,
    steps: int,
    inbetween_denoise: float = 0.25,
    loop: bool = False,
    easings: Sequence[str] | None = None,
    blends: Sequence[FrameBlend] | None = None,
    cfg: float = 7.0,
    inbetween_cfg: float | None = None,
) -> AnimationPlan:
    """The passes of an animation. ``cfg`` guides the key frames (every frame with ``full``); ``inbetween_cfg``
    guides the in-between pass of ``keyframes`` (None: same as ``cfg``)."""
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {', '.join(STRATEGIES)}, got {strategy!r}")
    if frames < 1:
        raise ValueError(f"frames must be at least 1, got {frames}")
    if steps < 1:
        raise ValueError(f"steps must be at least 1, got {steps}")
    if not 0 < inbetween_denoise <= 1:
        raise ValueError(f"inbetween_denoise must be in (0, 1], got {inbetween_denoise}")
    inbetween_cfg = cfg if inbetween_cfg is None else inbetween_cfg
    for name, value in (("cfg", cfg), ("inbetween_cfg", inbetween_cfg)):
        if not 0 <= value <= 100:
            raise ValueError(f"{name} must be in [0, 100], got {value}")
    blends = tuple(blends) if blends is not None else tuple(key_blends(key_frames, frames, loop, easings))
    if len(blends) != frames:
        raise ValueError(f"the frame plan has {len(blends)} frames, expected {frames}")
    keys = tuple(int(k) for k in key_frames)
    if strategy == "full":
        passes = (Pass(tuple(range(frames)), steps, 1.0, False, float(cfg)),)
    else:
        key_set = set(keys)
        between = tuple(f for f in range(frames) if f not in key_set)
        passes = (Pass(keys, steps, 1.0, False, float(cfg)),)
        if between:
            passes += (Pass(between, max(1, math.ceil(steps * inbetween_denoise)), inbetween_denoise, True,
                            float(inbetween_cfg)),)
    return AnimationPlan(frames, keys, blends, strategy, passes)


def _seed(seed: int, key: int) -> int:
    """Key ``key``'s seed: ``seed + key`` wrapped to ComfyUI's 64-bit seed range."""
    return (seed + key) & 0xFFFFFFFFFFFFFFFF


def frame_noise(mode: str, seed: int, shape: Sequence[int], blend: FrameBlend) -> torch.Tensor:
    """Noise ``[1, *shape]`` for one frame (see the module docstring for the modes)."""
    shape = [1] + list(shape)
    seed = int(seed) & 0xFFFFFFFFFFFFFFFF
    if mode == "fixed":
        return make_noise(seed, shape)
    if mode == "per-keyframe":
        return make_noise(_seed(seed, blend.b if blend.weight >= 0.5 else blend.a), shape)
    if mode == "travelling":
        a = make_noise(_seed(seed, blend.a), shape)
        if blend.a == blend.b or blend.weight == 0:
            return a
        return slerp_flat(a, make_noise(_seed(seed, blend.b), shape), blend.weight)
    raise ValueError(f"seed_mode must be one of {', '.join(SEED_MODES)}, got {mode!r}")


def estimate_memory(frames: int, width: int, height: int, latent_channels: int = 4, tokens: int = 77, dim: int = 768) -> int:
    """Bytes the animation holds at once: decoded IMAGE (fp32 RGB), latents + noise + start latents, and the
    positive/negative per-frame conditioning."""
    image = frames * height * width * 3 * 4
    latents = 3 * frames * latent_channels * (height // 8) * (width // 8) * 4
    cond = 2 * frames * tokens * dim * 4
    return image + latents + cond


def _physical_memory() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 16 * 2**30


def check_frame_budget(frames: int, width: int, height: int, budget: int | None = None, **kw) -> int:
    """Refuse animations whose frames would not fit: raises ValueError with the memory they would need."""
    need = estimate_memory(frames, width, height, **kw)
    budget = budget if budget is not None else _physical_memory() // 2
    if need > budget:
        raise ValueError(
            f"frames={frames} at {width}x{height} would need about {need / 2**30:.1f} GiB for the frames "
            f"and latents, more than the {budget / 2**30:.1f} GiB allowed (half of this machine's memory); "
            f"lower frames or the size, or render in shorter clips"
        )
    return need


@dataclass
class AnimationResult:
    latents: torch.Tensor
    images: torch.Tensor
    ssim: list[float] = field(default_factory=list)
    model_steps: int = 0
    model_evaluations: int = 0
    sample_seconds: float = 0.0
    decode_seconds: float = 0.0
    sample_cpu_seconds: float = 0.0  # CPU time of this process (all threads) while sampling / decoding
    decode_cpu_seconds: float = 0.0
    pass_cpu_seconds: list[float] = field(default_factory=list)  # sampling CPU seconds of each plan pass

    @property
    def mean_ssim(self) -> float:
        return float(sum(self.ssim) / len(self.ssim)) if self.ssim else 1.0


def run_animation(
    plan: AnimationPlan,
    latent_shape: Sequence[int],
    seed: int,
    seed_mode: str,
    sample: Callable[[torch.Tensor, torch.Tensor, list[int], int, float, float], torch.Tensor],
    decode: Callable[[torch.Tensor], torch.Tensor],
    chunk: int = 4,
    progress: Callable[[int, int], None] | None = None,
    check_interrupt: Callable[[], None] | None = None,
    measure: Callable[[torch.Tensor], list[float]] | None = None,
) -> AnimationResult:
    """Run ``plan``: sample each pass in chunks of ``chunk`` frames, then decode in chunks.

    ``sample(noise, start_latent, frames, steps, denoise, cfg)`` gets each pass's own steps, denoise and cfg.

    ``latent_shape`` is one frame's latent ``[C, h, w]``. ``progress(done, total)`` counts model steps plus
    one unit per decoded frame; ``check_interrupt()`` is called between chunks and should raise to cancel.
    The result times both phases in wall seconds and in this process's CPU seconds (the steadier measure on a
    shared machine).
    """
    if seed_mode not in SEED_MODES:
        raise ValueError(f"seed_mode must be one of {', '.join(SEED_MODES)}, got {seed_mode!r}")
    if chunk < 1:
        raise ValueError(f"batch size must be at least 1, got {chunk}")
    total = plan.model_steps + plan.frames
    done = 0
    t0, c0 = time.perf_counter(), time.process_time()
    latents = torch.zeros([plan.frames] + list(latent_shape))
    pass_cpu = []
    for p in plan.passes:
        pass_c0 = time.process_time()
        for start in range(0, len(p.frames), chunk):
            if check_interrupt:
                check_interrupt()
            idx = list(p.frames[start : start + chunk])
            noise = torch.cat([frame_noise(seed_mode, seed, latent_shape, plan.blends[f]) for f in idx])
            if p.from_keys:
                init = []
                for f in idx:
                    bl = plan.blends[f]
                    ka = latents[plan.key_frames[bl.a]].unsqueeze(0)
                    kb = latents[plan.key_frames[bl.b]].unsqueeze(0)
                    init.append(ka if bl.a == bl.b else slerp_flat(ka, kb, bl.weight))
                start_latent = torch.cat(init)
            else:
                start_latent = torch.zeros_like(noise)
            out = sample(noise, start_latent, idx, p.steps, p.denoise, p.cfg)
            latents[idx] = out.to(latents.dtype).cpu()
            done += len(idx) * p.steps
            if progress:
                progress(done, total)
        pass_cpu.append(time.process_time() - pass_c0)
    t1, c1 = time.perf_counter(), time.process_time()
    images = None
    for start in range(0, plan.frames, chunk):
        if check_interrupt:
            check_interrupt()
        dec = decode(latents[start : start + chunk]).float().cpu()
        if images is None:
            images = torch.empty((plan.frames,) + tuple(dec.shape[1:]), dtype=dec.dtype)
        images[start : start + dec.shape[0]] = dec
        done += dec.shape[0]
        if progress:
            progress(done, total)
    t2, c2 = time.perf_counter(), time.process_time()
    scores = measure(images) if measure else []
    return AnimationResult(latents=latents, images=images, ssim=scores, model_steps=plan.model_steps,
                           model_evaluations=plan.model_evaluations, sample_seconds=t1 - t0, decode_seconds=t2 - t1,
                           sample_cpu_seconds=c1 - c0, decode_cpu_seconds=c2 - c1, pass_cpu_seconds=pass_cpu)
