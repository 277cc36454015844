"""Open produced files and report what is really in them (used by tests and benchmarks).

Videos are read with the bundled ffmpeg (``ffmpeg -i`` for container metadata, a decode to the null muxer for
the exact frame count); GIF and WebP with Pillow (loop flag, per-frame durations, comment/EXIF).
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, field

from .video import ffmpeg_exe

__all__ = ["MediaInfo", "probe"]


@dataclass
class MediaInfo:
    path: str
    codec: str
    width: int
    height: int
    frames: int
    duration: float
    fps: float | None = None
    loop: int | None = None  # GIF/WebP stored loop value; None when the file has none
    metadata: dict[str, str] = field(default_factory=dict)


def _ffmpeg_info(path: str) -> tuple[str, dict[str, str]]:
    proc = subprocess.run([ffmpeg_exe(), "-hide_banner", "-i", path], capture_output=True, text=True)
    text = proc.stderr
    meta: dict[str, str] = {}
    in_meta = False
    for line in text.splitlines():
        if re.match(r"^  Metadata:", line):
            in_meta = True
            continue
        if in_meta:
            m = re.match(r"^    (\S[^:]*?)\s*: (.*)$", line)
            if m:
                meta.setdefault(m.group(1).strip().lower(), m.group(2))
                continue
            in_meta = False
    return text, meta


def _count_frames(path: str) -> int:
    proc = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostats", "-i", path, "-map", "0:v:0", "-f", "null", "-", "-progress", "pipe:1"],
        capture_output=True,
        text=True,
    )
    counts = re.findall(r"^frame=(\d+)", proc.stdout, flags=re.M)
    if not counts:
        raise RuntimeError(f"could not decode {path}: {proc.stderr.strip()[-300:]}")
    return int(counts[-1])


def probe(path: str) -> MediaInfo:
    lower = path.lower()
    if lower.endswith((".gif", ".webp")):
        from PIL import Image

        with Image.open(path) as im:
            n = getattr(im, "n_frames", 1)
            total_ms = 0
            for i in range(n):
                im.seek(i)
                im.load()
                total_ms += im.info.get("duration", 0)
            im.seek(0)
            meta: dict[str, str] = {}
            comment = im.info.get("comment")
            if comment:
                meta["comment"] = comment.decode("utf-8", "replace") if isinstance(comment, bytes) else comment
            exif = im.getexif()
            for tag in (0x0110, 0x010F, 0x010E, 0x010D):
                if tag in exif:
                    key, _, value = str(exif[tag]).partition(":")
                    meta[key.lower()] = value
            return MediaInfo(
                path=path,
                codec=im.format.lower(),
                width=im.size[0],
                height=im.size[1],
                frames=n,
                duration=total_ms / 1000,
                fps=(n * 1000 / total_ms) if total_ms else None,
                loop=im.info.get("loop"),
                metadata=meta,
            )
    text, meta = _ffmpeg_info(path)
    stream = re.search(r"Stream #\d+:\d+.*?: Video: (\w+).*?, (\d+)x(\d+)", text)
    if not stream:
        raise RuntimeError(f"no video stream in {path}: {text.strip()[-300:]}")
    dur = re.search(r"Duration: (\d+):(\d+):([\d.]+)", text)
    duration = int(dur.group(1)) * 3600 + int(dur.group(2)) * 60 + float(dur.group(3)) if dur else 0.0
    fps = re.search(r", ([\d.]+) fps", text)
    return MediaInfo(
        path=path,
        codec=stream.group(1),
        width=int(stream.group(2)),
        height=int(stream.group(3)),
        frames=_count_frames(path),
        duration=duration,
        fps=float(fps.group(1)) if fps else None,
        metadata=meta,
    )
