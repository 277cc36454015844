"""ComfyUI adapters for prompt-sequence animation: schedule -> per-frame conditioning -> frames -> in-betweens.

The maths and planning live in ``lantern/animation`` (tested without ComfyUI); this module only talks to
ComfyUI: CLIP encoding, ``comfy.sample.sample``, the VAE, the progress bar and cancellation.
"""

from __future__ import annotations

import json
import time

import torch

import comfy.model_management
import comfy.sample
import comfy.utils
from comfy_api.latest import io, ui

from ..lantern.animation.animator import (
    SEED_MODES,
    STRATEGIES,
    check_frame_budget,
    default_key_frames,
    plan_animation,
    run_animation,
)
from ..lantern.animation.conditioning import build_conditioning
from ..lantern.animation.easing import EASINGS
from ..lantern.animation.interpolate import interpolate_frames, interpolated_length
from ..lantern.animation.metrics import consecutive_ssim, ssim_backend
from ..lantern.animation.schedule import FrameBlend, MAX_FRAMES, parse_schedule
from .sampling_inputs import sampler_inputs

CATEGORY = "Lantern/animation"
SCHEDULE_KEY = "lantern_schedule"  # extra entry in the conditioning dict; ComfyUI's samplers ignore unknown keys

EXAMPLE_SCHEDULE = """0: a small bird flies across a green field
8: the bird lands on an old oak tree
16: the bird sings on a branch at sunset
"""


class LanternPromptSchedule(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="LanternPromptSchedule",
            display_name="Lantern Prompt Schedule",
            category=CATEGORY,
            description=(
                "Keyframed prompts -> per-frame conditioning. One key per line ('0: a bird on a field'), optional "
                "'| ease: ease-in-out' and '| neg: blurry' per key. Each distinct prompt is encoded once; frames "
                "between keys blend tokens and pooled output (lerp or true slerp); prompts of different lengths "
                "are padded so shapes always match."
            ),
            inputs=[
                io.Clip.Input("clip", tooltip="The CLIP model used to encode each distinct prompt once."),
                io.String.Input(
                    "schedule", multiline=True, default=EXAMPLE_SCHEDULE,
                    tooltip="One keyframe per line: '<frame>: <prompt> [| ease: <curve>] [| neg: <negative>]'. "
                    "The first key is 0; keys increase and stay below frames. Lines starting with # are comments.",
                ),
                io.Int.Input("frames", default=24, min=2, max=MAX_FRAMES,
                             tooltip="Length of the animation in frames (keys must be below this)."),
                io.String.Input("pre_text", default="", tooltip="Text put before every key's prompt (style, subject)."),
                io.String.Input("app_text", default="", tooltip="Text put after every key's prompt (quality tags)."),
                io.String.Input("negative", default="", multiline=True,
                                tooltip="Negative prompt for keys that have no '| neg:' of their own."),
                io.Combo.Input("interpolation", options=["slerp", "lerp"], default="slerp",
                               tooltip="slerp: true spherical blend of each token vector (keeps lengths); "
                               "lerp: straight-line blend (the midpoint is weaker)."),
                io.Combo.Input("default_easing", options=list(EASINGS), default="linear",
                               tooltip="Easing of transitions whose key has no '| ease:' option."),
                io.Boolean.Input("loop", default=False,
                                 tooltip="Blend from the last key back to the first so the clip loops seamlessly."),
                io.Int.Input("min_spacing", default=4, min=1, max=1000,
                             tooltip="Keys closer than this many frames get a warning (they look like a cut)."),
            ],
            outputs=[
                io.Conditioning.Output(display_name="positive",
                                       tooltip="Per-frame positive conditioning: a batch of `frames` rows."),
                io.Conditioning.Output(display_name="negative",
                                       tooltip="Per-frame negative conditioning: a batch of `frames` rows."),
                io.Int.Output(display_name="frames", tooltip="The number of frames of the schedule."),
                io.String.Output(display_name="schedule_info",
                                 tooltip="The parsed schedule as JSON: keys, easings, negatives, warnings."),
            ],
        )

    @classmethod
    def execute(cls, clip, schedule, frames, pre_text, app_text, negative, interpolation, default_easing, loop,
                min_spacing) -> io.NodeOutput:
        if clip is None:
            raise ValueError("clip input is empty: connect a CLIP (e.g. from Load Checkpoint)")
        parsed = parse_schedule(schedule, frames, pre_text=pre_text, app_text=app_text, loop=loop,
                                default_easing=default_easing, default_negative=negative, min_spacing=min_spacing)
        encoded: list[str] = []

        def encode(text: str):
            encoded.append(text)
            cond, pooled = clip.encode_from_tokens(clip.tokenize(text), return_pooled=True)
            return cond.float().cpu(), (pooled.float().cpu() if pooled is not None else None)

        pos, neg = build_conditioning(parsed, encode, interpolation)
        meta = {
            "frames": parsed.frames,
            "keys": parsed.key_frames,
            "loop": parsed.loop,
            "blends": [[b.a, b.b, b.weight] for b in parsed.plan()],
        }
        info = parsed.to_dict() | {"encoded_texts": len(encoded), "interpolation": interpolation,
                                   "padding": [n for n in (pos.note, neg.note) if n]}

        def conditioning(side):
            extra = {SCHEDULE_KEY: meta}
            if side.pooled is not None:
                extra["pooled_output"] = side.pooled
            return [[side.cond, extra]]

        text = json.dumps(info, ensure_ascii=False)
        return io.NodeOutput(conditioning(pos), conditioning(neg), parsed.frames, text, ui=ui.PreviewText(text))


def _rows(conditioning, name: str) -> int:
    if not conditioning:
        raise ValueError(f"{name} conditioning is empty: connect a Lantern Prompt Schedule or a CLIP Text Encode")
    return max(int(c[0].shape[0]) for c in conditioning)


def _slice_conditioning(conditioning, idx: list[int], frames: int):
    """Rows ``idx`` of per-frame conditioning; single-row conditioning is repeated."""
    out = []
    for tensor, extra in conditioning:
        extra = dict(extra)
        if tensor.shape[0] == frames:
            tensor = tensor[idx]
        elif tensor.shape[0] != 1:
            raise ValueError(f"a conditioning has {tensor.shape[0]} rows but the animation has {frames} frames: use "
                             f"one schedule for positive and negative, or a single-prompt conditioning")
        else:
            tensor = tensor[:1].repeat(len(idx), *([1] * (tensor.ndim - 1)))
        pooled = extra.get("pooled_output")
        if isinstance(pooled, torch.Tensor):
            extra["pooled_output"] = pooled[idx] if pooled.shape[0] == frames else pooled[:1].repeat(len(idx), 1)
        out.append([tensor, extra])
    return out


def _schedule_meta(conditioning):
    for _, extra in conditioning or []:
        if SCHEDULE_KEY in extra:
            return extra[SCHEDULE_KEY]
    return None


class LanternAnimator(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="LanternAnimator",
            display_name="Lantern Animator",
            category=CATEGORY,
            description=(
                "Frames from per-frame conditioning. 'full' samples every frame; 'keyframes' samples the schedule's "
                "keys fully and makes in-betweens from slerped key latents with a short low-denoise pass at "
                "inbetween_cfg (24 frames from 4 keys: about 0.27x the model evaluations of 'full' with the default "
                "inbetween_cfg 1.0; both strategies decode every frame with the VAE). Seeds: fixed, per-keyframe, "
                "or travelling (noise slerped between key seeds). "
                "Reports temporal consistency (mean SSIM of consecutive frames)."
            ),
            inputs=[
                io.Model.Input("model", tooltip="The diffusion model (not modified)."),
                io.Vae.Input("vae", tooltip="The VAE that decodes the frames."),
                io.Conditioning.Input("positive", tooltip="Per-frame positive conditioning (Lantern Prompt Schedule), "
                                      "or a single conditioning used for every frame."),
                io.Conditioning.Input("negative", tooltip="Per-frame or single negative conditioning."),
                io.Int.Input("width", default=512, min=64, max=4096, step=8, tooltip="Frame width in pixels."),
                io.Int.Input("height", default=512, min=64, max=4096, step=8, tooltip="Frame height in pixels."),
                io.Int.Input("frames", default=0, min=0, max=MAX_FRAMES,
                             tooltip="0: as many frames as the schedule has; otherwise must match it (or set the "
                             "length when the conditioning is a single prompt)."),
                io.Combo.Input("strategy", options=list(STRATEGIES), default="keyframes",
                               tooltip="full: sample every frame; keyframes: sample keys, refine in-betweens cheaply."),
                io.Int.Input("seed", default=0, min=0, max=0xFFFFFFFFFFFFFFFF, control_after_generate=True,
                             tooltip="Base seed; key i uses seed + i in the per-keyframe and travelling modes."),
                io.Combo.Input("seed_mode", options=list(SEED_MODES), default="travelling",
                               tooltip="fixed: one noise for all frames; per-keyframe: each key its own seed; "
                               "travelling: in-betweens slerp between their keys' noises (smoothest)."),
                *sampler_inputs("Sampler steps for key (and full) frames."),
                io.Float.Input("inbetween_denoise", default=0.25, min=0.05, max=1.0, step=0.01,
                               tooltip="keyframes strategy: denoise of the in-between pass (its steps are "
                               "ceil(steps x denoise)); lower is cheaper and smoother, higher follows the prompt more."),
                io.Float.Input("inbetween_cfg", default=1.0, min=0.0, max=100.0, step=0.1, round=0.01,
                               tooltip="keyframes strategy: guidance of the in-between pass (keys use cfg). The pass "
                               "starts from the slerped key latents, so guidance is mostly settled; at 1.0 ComfyUI "
                               "skips the unconditional (negative) pass, halving that pass's model cost. Raise it "
                               "(e.g. to cfg) if in-betweens drift from their prompt."),
                io.Int.Input("keyframe_every", default=8, min=1, max=1000,
                             tooltip="Key spacing when the conditioning carries no schedule (e.g. a plain prompt)."),
                io.Int.Input("batch_size", default=4, min=1, max=64,
                             tooltip="Frames sampled and decoded together; lower uses less memory."),
            ],
            outputs=[
                io.Image.Output(display_name="images", tooltip="The decoded frames."),
                io.Latent.Output(display_name="latent", tooltip="The frames' latents."),
                io.Float.Output(display_name="mean_ssim",
                                tooltip="Temporal consistency: mean SSIM of consecutive frames (1 = identical)."),
                io.String.Output(display_name="report",
                                 tooltip="JSON: strategy, keys, model steps and evaluations, cost vs full "
                                 "(model evaluations), SSIM, seconds."),
            ],
        )

    @classmethod
    def execute(cls, model, vae, positive, negative, width, height, frames, strategy, seed, seed_mode, steps, cfg,
                sampler_name, scheduler, inbetween_denoise, inbetween_cfg, keyframe_every, batch_size) -> io.NodeOutput:
        started = time.perf_counter()
        rows = _rows(positive, "positive")
        _rows(negative, "negative")
        meta = _schedule_meta(positive)
        if meta is not None:
            if frames and frames != meta["frames"]:
                raise ValueError(f"frames={frames} but the schedule has {meta['frames']} frames: set frames to 0 "
                                 f"(use the schedule's) or change the schedule's frame count")
            frames = meta["frames"]
        elif rows > 1:
            if frames and frames != rows:
                raise ValueError(f"frames={frames} but the positive conditioning has {rows} rows: set frames to 0")
            frames = rows
        elif frames == 0:
            raise ValueError("frames is 0 and the conditioning is a single prompt: set frames (e.g. 24) or use a "
                             "Lantern Prompt Schedule")
        if frames < 2:
            raise ValueError(f"an animation needs at least 2 frames, got {frames}")
        check_frame_budget(frames, width, height)

        if meta is not None:
            keys = list(meta["keys"])
            blends = [FrameBlend(f, int(a), int(b), 0.0, float(w)) for f, (a, b, w) in enumerate(meta["blends"])]
        else:
            keys = default_key_frames(frames, keyframe_every)
            blends = None
        plan = plan_animation(frames, keys, strategy, steps, inbetween_denoise, blends=blends, cfg=cfg,
                              inbetween_cfg=inbetween_cfg)

        latent_format = model.get_model_object("latent_format")
        latent_shape = [latent_format.latent_channels, height // 8, width // 8]
        pbar = comfy.utils.ProgressBar(plan.model_steps + frames)

        def sample(noise, start, idx, n_steps, denoise, pass_cfg):
            pos = _slice_conditioning(positive, idx, frames)
            neg = _slice_conditioning(negative, idx, frames)
            latent = comfy.sample.fix_empty_latent_channels(model, start)
            return comfy.sample.sample(model, noise, n_steps, pass_cfg, sampler_name, scheduler, pos, neg, latent,
                                       denoise=denoise, disable_pbar=True, seed=seed)

        def decode(latents):
            return vae.decode(latents)

        result = run_animation(
            plan, latent_shape, seed, seed_mode, sample, decode, chunk=batch_size,
            progress=lambda done, total: pbar.update_absolute(done, total),
            check_interrupt=comfy.model_management.throw_exception_if_processing_interrupted,
            measure=consecutive_ssim,
        )
        report = {
            "strategy": strategy,
            "frames": frames,
            "keys": list(plan.key_frames),
            "seed_mode": seed_mode,
            "model_steps": plan.model_steps,
            "model_evaluations": plan.model_evaluations,
            "inbetween_cfg": inbetween_cfg if strategy == "keyframes" else None,
            "cost_vs_full": round(plan.cost_ratio(steps), 4),
            "mean_ssim": round(result.mean_ssim, 4),
            "min_ssim": round(min(result.ssim), 4) if result.ssim else None,
            "ssim_backend": ssim_backend(),
            "seconds": round(time.perf_counter() - started, 2),
            "sample_seconds": round(result.sample_seconds, 2),
            "decode_seconds": round(result.decode_seconds, 2),
            "sample_cpu_seconds": round(result.sample_cpu_seconds, 2),
            "decode_cpu_seconds": round(result.decode_cpu_seconds, 2),
            "passes": [{"frames": len(p.frames), "steps": p.steps, "denoise": p.denoise, "cfg": p.cfg,
                        "model_evaluations": p.model_evaluations, "cpu_seconds": round(c, 2)}
                       for p, c in zip(plan.passes, result.pass_cpu_seconds)],
        }
        text = json.dumps(report)
        return io.NodeOutput(result.images, {"samples": result.latents}, result.mean_ssim, text,
                             ui=ui.PreviewText(text))


class LanternFrameInterpolate(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="LanternFrameInterpolate",
            display_name="Lantern Frame Interpolate",
            category=CATEGORY,
            description=(
                "Model-free in-betweening: inserts multiplier-1 blended frames between neighbours (no downloaded "
                "weights). Pixel cross-fade by default; give a latent and a VAE to blend latents (slerp) and decode, "
                "which keeps in-betweens sharper."
            ),
            inputs=[
                io.Image.Input("images", tooltip="The frames to in-between (original frames are kept exactly)."),
                io.Int.Input("multiplier", default=2, min=1, max=8,
                             tooltip="Output frames per input frame: 2 doubles the frame rate."),
                io.Combo.Input("easing", options=list(EASINGS), default="linear",
                               tooltip="Timing of the blend between two frames."),
                io.Boolean.Input("loop", default=False,
                                 tooltip="Also in-between the last frame and the first (for looping clips)."),
                io.Latent.Input("latent", optional=True,
                                tooltip="Optional: the frames' latents; with a VAE the in-betweens are slerped latents."),
                io.Vae.Input("vae", optional=True, tooltip="Optional: the VAE to decode blended latents."),
            ],
            outputs=[io.Image.Output(display_name="images", tooltip="The frames with in-betweens inserted.")],
        )

    @classmethod
    def execute(cls, images, multiplier, easing, loop, latent=None, vae=None) -> io.NodeOutput:
        n = int(images.shape[0])
        total = interpolated_length(n, multiplier, loop)
        check_frame_budget(total, int(images.shape[2]), int(images.shape[1]))
        if latent is not None and vae is not None:
            samples = latent["samples"]
            if samples.shape[0] != n:
                raise ValueError(f"latent has {samples.shape[0]} frames but images has {n}: connect the latent of "
                                 f"the same frames, or leave latent empty for pixel blending")
            blended = interpolate_frames(samples, multiplier, method="slerp", easing=easing, loop=loop)
            out = torch.empty((blended.shape[0],) + tuple(images.shape[1:]), dtype=images.dtype)
            pbar = comfy.utils.ProgressBar(blended.shape[0])
            for start in range(0, blended.shape[0], 4):
                comfy.model_management.throw_exception_if_processing_interrupted()
                chunk = list(range(start, min(start + 4, blended.shape[0])))
                keep = [j for j in chunk if j % multiplier == 0]
                dec = vae.decode(blended[chunk]).float().cpu()
                out[chunk] = dec[..., : images.shape[-1]].to(out.dtype)
                for j in keep:  # original frames stay exactly as they were
                    out[j] = images[j // multiplier]
                pbar.update_absolute(chunk[-1] + 1)
            return io.NodeOutput(out)
        if latent is not None and vae is None:
            raise ValueError("latent is connected but vae is not: connect the VAE too, or disconnect the latent")
        return io.NodeOutput(interpolate_frames(images, multiplier, method="lerp", easing=easing, loop=loop))


NODES = [LanternPromptSchedule, LanternAnimator, LanternFrameInterpolate]
