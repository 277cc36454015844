"""Prompt-sequence animation: schedules, interpolation maths, planning, consistency metrics."""

from .animator import SEED_MODES, STRATEGIES, check_frame_budget, plan_animation, run_animation
from .easing import EASINGS, ease
from .interpolate import interpolate_frames, lerp, pad_to_common_length, slerp, slerp_flat
from .schedule import Schedule, ScheduleError, parse_schedule

__all__ = [
    "EASINGS",
    "SEED_MODES",
    "STRATEGIES",
    "Schedule",
    "ScheduleError",
    "check_frame_budget",
    "ease",
    "interpolate_frames",
    "lerp",
    "pad_to_common_length",
    "parse_schedule",
    "plan_animation",
    "run_animation",
    "slerp",
    "slerp_flat",
]
