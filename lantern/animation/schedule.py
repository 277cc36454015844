"""Prompt schedules: a keyframed list of prompts parsed into a documented structure.

Text format (one keyframe per line; blank lines and lines starting with ``#`` are ignored)::

    0: a small bird flies across a field | ease: ease-in-out
    24: the bird lands on a tree | neg: blurry, cropped
    48: the bird sings on a branch

* ``<frame>: <prompt>`` -- ``frame`` is a whole number >= 0; the first key must be frame 0; keys must
  increase strictly and stay below the frame count.
* optional ``| ease: <name>`` -- the easing of the transition *from this key to the next*
  (``linear``, ``ease-in``, ``ease-out``, ``ease-in-out``, ``cubic``); default: the schedule's default.
* optional ``| neg: <text>`` -- this key's negative prompt (blended between keys like the positive one).
* a ``|`` followed by anything else stays part of the prompt text.
* FizzNodes-style lines (``"12": "a bird",``) are accepted too: quotes and a trailing comma are dropped.

Semantics: frame ``f`` between keys ``A`` (at ``a``) and ``B`` (at ``b``) blends A -> B with weight
``ease_A((f - a) / (b - a))``; weight 0 means exactly A. Frames after the last key hold the last prompt,
unless ``loop`` is set: then the last key blends back to the first one, reaching it at frame ``frames``
(one past the end), so playing the clip on repeat has no jump.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field

from .easing import EASINGS, ease

__all__ = [
    "Keyframe",
    "FrameBlend",
    "Schedule",
    "ScheduleError",
    "parse_schedule",
    "MAX_FRAMES",
    "DEFAULT_MIN_SPACING",
]

MAX_FRAMES = 10_000
DEFAULT_MIN_SPACING = 4

_KEY_RE = re.compile(r"^\s*\"?\s*([^:\"]*?)\s*\"?\s*:(.*)$")
_OPTION_RE = re.compile(r"^\s*(neg|negative|ease|easing)\s*:\s*(.*)$", re.IGNORECASE)


class ScheduleError(ValueError):
    """A schedule that cannot be used; the message names the line and what was expected."""


@dataclass(frozen=True)
class Keyframe:
    """One keyframe.

    frame: the frame index the prompt is reached at (exactly).
    prompt: the full positive text (pre_text + the line's prompt + app_text).
    negative: the full negative text for this key ("" when none).
    easing: the curve used from this key to the next one.
    line: 1-based line number in the schedule text (0 for keys not written by the user).
    text: the prompt exactly as written on the line.
    """

    frame: int
    prompt: str
    negative: str
    easing: str
    line: int
    text: str


@dataclass(frozen=True)
class FrameBlend:
    """How one frame is made: ``(1 - weight) * keys[a] + weight * keys[b]``.

    progress is the linear position between the two keys in [0, 1); weight is the eased value in [0, 1].
    ``a == b`` (weight 0) where a frame holds a key.
    """

    frame: int
    a: int
    b: int
    progress: float
    weight: float


@dataclass(frozen=True)
class Schedule:
    """A parsed schedule. ``keys`` are sorted by frame; ``frames`` is the clip length."""

    keys: tuple[Keyframe, ...]
    frames: int
    loop: bool = False
    warnings: tuple[str, ...] = field(default_factory=tuple)

    @property
    def key_frames(self) -> list[int]:
        return [k.frame for k in self.keys]

    def blend(self, frame: int) -> FrameBlend:
        if not 0 <= frame < self.frames:
            raise IndexError(f"frame {frame} is outside 0..{self.frames - 1}")
        idx = 0
        for i, k in enumerate(self.keys):
            if k.frame <= frame:
                idx = i
        start = self.keys[idx].frame
        if idx + 1 < len(self.keys):
            nxt, end = idx + 1, self.keys[idx + 1].frame
        elif self.loop:
            nxt, end = 0, self.frames
        else:
            return FrameBlend(frame, idx, idx, 0.0, 0.0)
        if frame == start:
            return FrameBlend(frame, idx, nxt, 0.0, 0.0)
        progress = (frame - start) / (end - start)
        return FrameBlend(frame, idx, nxt, progress, float(ease(self.keys[idx].easing, progress)))

    def plan(self) -> list[FrameBlend]:
        """One FrameBlend per frame, in order."""
        return [self.blend(f) for f in range(self.frames)]

    def distinct_prompts(self) -> list[str]:
        """Positive texts in first-use order, each once (each is encoded once)."""
        return list(dict.fromkeys(k.prompt for k in self.keys))

    def distinct_negatives(self) -> list[str]:
        return list(dict.fromkeys(k.negative for k in self.keys))

    def to_dict(self) -> dict:
        return {
            "frames": self.frames,
            "loop": self.loop,
            "keys": [asdict(k) for k in self.keys],
            "warnings": list(self.warnings),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False)


def _join(*parts: str) -> str:
    return ", ".join(p.strip().strip(",").strip() for p in parts if p and p.strip().strip(","))


def _split_options(body: str, lineno: int, default_easing: str) -> tuple[str, str | None, str]:
    segments = body.split("|")
    prompt_parts = [segments[0]]
    negative: str | None = None
    easing = default_easing
    for seg in segments[1:]:
        m = _OPTION_RE.match(seg)
        if not m:
            prompt_parts.append(seg)  # a literal "|" inside the prompt
            continue
        name, value = m.group(1).lower(), m.group(2).strip()
        if name.startswith("neg"):
            negative = value
        else:
            value = value.lower()
            if value not in EASINGS:
                raise ScheduleError(
                    f"schedule line {lineno}: unknown easing {value!r}; expected one of {', '.join(EASINGS)}"
                )
            easing = value
    return "|".join(prompt_parts).strip(), negative, easing


def parse_schedule(
    text: str,
    frames: int,
    *,
    pre_text: str = "",
    app_text: str = "",
    loop: bool = False,
    default_easing: str = "linear",
    default_negative: str = "",
    min_spacing: int = DEFAULT_MIN_SPACING,
    max_frames: int = MAX_FRAMES,
) -> Schedule:
    """Parse ``text`` into a :class:`Schedule` of ``frames`` frames.

    Raises :class:`ScheduleError` (a ValueError) naming the line and what was expected for: an empty
    schedule, a single key, a first key other than 0, keys out of order, duplicate keys, non-numeric or
    negative keys, keys at or beyond the frame count, empty prompts, unknown easings; and for 0, negative
    or huge (> ``max_frames``) frame counts. Keys closer than ``min_spacing`` frames give warnings.
    """
    if isinstance(frames, bool) or not isinstance(frames, int):
        raise ScheduleError(f"frames must be a whole number, got {frames!r}")
    if frames <= 0:
        raise ScheduleError(f"frames must be a positive whole number (an animation needs at least 2), got {frames}")
    if frames > max_frames:
        raise ScheduleError(
            f"frames={frames} is more than the limit of {max_frames}; split the animation into shorter clips"
        )
    if default_easing not in EASINGS:
        raise ScheduleError(f"default easing {default_easing!r} is unknown; expected one of {', '.join(EASINGS)}")

    keys: list[Keyframe] = []
    seen: dict[int, int] = {}
    for lineno, raw in enumerate((text or "").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#") or line in "{}":
            continue
        if line.endswith(","):
            line = line[:-1].rstrip()
        m = _KEY_RE.match(line)
        if not m:
            raise ScheduleError(
                f"schedule line {lineno}: expected '<frame>: <prompt>' (e.g. '12: a bird on a tree'), "
                f"found no ':' in {raw.strip()!r}"
            )
        key_text, body = m.group(1).strip(), m.group(2).strip()
        if len(body) >= 2 and body[0] == body[-1] == '"':
            body = body[1:-1]
        if not re.fullmatch(r"[+-]?\d+", key_text):
            raise ScheduleError(
                f"schedule line {lineno}: expected a whole frame number before ':', got {key_text!r} "
                f"(e.g. '12: a bird on a tree')"
            )
        frame = int(key_text)
        if frame < 0:
            raise ScheduleError(f"schedule line {lineno}: frame {frame} is negative; frames start at 0")
        if frame >= frames:
            raise ScheduleError(
                f"schedule line {lineno}: key {frame} is beyond the last frame ({frames - 1}) of a "
                f"{frames}-frame animation; raise frames or move the key"
            )
        if frame in seen:
            raise ScheduleError(
                f"schedule line {lineno}: key {frame} is a duplicate of line {seen[frame]}; "
                f"each frame may have one prompt"
            )
        if keys and frame < keys[-1].frame:
            raise ScheduleError(
                f"schedule line {lineno}: key {frame} comes after key {keys[-1].frame} (line {keys[-1].line}); "
                f"keys must be in increasing order"
            )
        prompt, negative, easing = _split_options(body, lineno, default_easing)
        if not prompt:
            raise ScheduleError(f"schedule line {lineno}: key {frame} has an empty prompt; write text after ':'")
        seen[frame] = lineno
        keys.append(
            Keyframe(
                frame=frame,
                prompt=_join(pre_text, prompt, app_text),
                negative=default_negative.strip() if negative is None else negative,
                easing=easing,
                line=lineno,
                text=prompt,
            )
        )

    if not keys:
        raise ScheduleError(
            "schedule is empty: write one keyframe per line, e.g. '0: a bird on a field' and '24: the bird on a tree'"
        )
    if len(keys) == 1:
        raise ScheduleError(
            f"schedule has one key only (line {keys[0].line}); an animation needs at least two keys, "
            f"e.g. add '{max(1, frames - 1)}: <another prompt>'"
        )
    if keys[0].frame != 0:
        raise ScheduleError(
            f"schedule line {keys[0].line}: the first key is {keys[0].frame}; the first key must be 0"
        )

    warnings: list[str] = []
    for k0, k1 in zip(keys, keys[1:]):
        if k1.frame - k0.frame < min_spacing:
            warnings.append(
                f"keys {k0.frame} (line {k0.line}) and {k1.frame} (line {k1.line}) are only "
                f"{k1.frame - k0.frame} frame(s) apart (minimum spacing {min_spacing}): the change will look like a cut"
            )
    if loop and frames - keys[-1].frame < min_spacing:
        warnings.append(
            f"loop: the last key {keys[-1].frame} (line {keys[-1].line}) is only {frames - keys[-1].frame} "
            f"frame(s) before the loop point {frames} (minimum spacing {min_spacing})"
        )
    return Schedule(keys=tuple(keys), frames=frames, loop=bool(loop), warnings=tuple(warnings))
