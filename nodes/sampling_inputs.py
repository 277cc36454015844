"""Schema inputs shared by Lantern's nodes that sample with ComfyUI's own sampler (same names as KSampler's)."""

from __future__ import annotations

import comfy.samplers
from comfy_api.latest import io


def sampler_inputs(steps_tooltip: str) -> list:
    """steps, cfg, sampler_name and scheduler inputs, with KSampler's defaults."""
    return [
        io.Int.Input("steps", default=20, min=1, max=10000, tooltip=steps_tooltip),
        io.Float.Input("cfg", default=7.0, min=0.0, max=100.0, step=0.1, round=0.01,
                       tooltip="Classifier-free guidance scale."),
        io.Combo.Input("sampler_name", options=comfy.samplers.KSampler.SAMPLERS, default="euler",
                       tooltip="The sampling algorithm."),
        io.Combo.Input("scheduler", options=comfy.samplers.KSampler.SCHEDULERS, default="normal",
                       tooltip="The noise schedule."),
    ]
