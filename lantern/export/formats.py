"""Video/animation formats described as data files (``lantern/data/video_formats/*.json``).

Each file names an engine (``ffmpeg``, ``ffmpeg-gif``, ``pillow-webp``), the container/extension, encoder
arguments, the quality scale (flag, default, range, which direction is better) and whether the format needs
even dimensions. Adding a format is adding a file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

__all__ = ["VideoFormat", "load_formats", "get_format", "format_names", "FORMATS_DIR"]

FORMATS_DIR = Path(__file__).resolve().parent.parent / "data" / "video_formats"
ENGINES = ("ffmpeg", "ffmpeg-gif", "pillow-webp")


@dataclass(frozen=True)
class VideoFormat:
    name: str
    label: str
    extension: str
    engine: str
    spec: dict

    @property
    def quality(self) -> dict | None:
        return self.spec.get("quality")

    @property
    def even_dimensions(self) -> bool:
        return bool(self.spec.get("even_dimensions"))

    @property
    def loops(self) -> bool:
        return bool(self.spec.get("loops"))

    def resolve_quality(self, value: int | None) -> int | None:
        """The quality to use: ``None``/``-1`` gives the format default; out-of-range values are refused."""
        q = self.quality
        if q is None:
            return None
        if value is None or value < 0:
            return int(q["default"])
        if not q["min"] <= value <= q["max"]:
            better = "lower is better" if q.get("better") == "lower" else "higher is better"
            raise ValueError(
                f"quality {value} is outside {q['min']}..{q['max']} for {self.label} ({q['name']}, {better}); "
                f"use -1 for the default {q['default']}"
            )
        return int(value)


def _from_file(path: Path) -> VideoFormat:
    spec = json.loads(path.read_text(encoding="utf-8"))
    for key in ("name", "label", "extension", "engine"):
        if key not in spec:
            raise ValueError(f"video format file {path.name} lacks {key!r}")
    if spec["engine"] not in ENGINES:
        raise ValueError(f"video format file {path.name}: engine {spec['engine']!r} is not one of {ENGINES}")
    return VideoFormat(spec["name"], spec["label"], spec["extension"], spec["engine"], spec)


@lru_cache(maxsize=None)
def load_formats(directory: str | None = None) -> dict[str, VideoFormat]:
    folder = Path(directory) if directory else FORMATS_DIR
    formats = {}
    for path in sorted(folder.glob("*.json")):
        fmt = _from_file(path)
        formats[fmt.name] = fmt
    return formats


def format_names() -> list[str]:
    order = ["h264-mp4", "vp9-webm", "gif", "webp"]
    names = list(load_formats())
    return [n for n in order if n in names] + [n for n in names if n not in order]


def get_format(name: str) -> VideoFormat:
    formats = load_formats()
    if name not in formats:
        raise ValueError(f"unknown format {name!r}; available: {', '.join(format_names())}")
    return formats[name]
