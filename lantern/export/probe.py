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
    """``ffmpeg -i`` text (streams, duration) and the container's global tags, read in full through the
    ffmetadata muxer (``ffmpeg -i`` itself truncates long values when it prints them)."""
    text = subprocess.run([ffmpeg_exe(), "-hide_banner", "-i", path], capture_output=True, text=True).stderr
    dump = subprocess.run([ffmpeg_exe(), "-v", "error", "-i", path, "-f", "ffmetadata", "-"],
                          capture_output=True).stdout.decode("utf-8", "replace")
    meta: dict[str, str] = {}
    for line in _ffmeta_lines(dump):
        if line.startswith((";", "[")):
            if line.startswith("["):
                break  # stream/chapter sections follow the global tags
            continue
        key, sep, value = _split_unescaped(line)
        if sep:
            meta.setdefault(key.lower(), value)
    return text, meta


def _ffmeta_lines(dump: str) -> list[str]:
    """Logical lines of an ffmetadata dump (a backslash before a newline continues the line)."""
    lines, cur, i = [], [], 0
    while i < len(dump):
        ch = dump[i]
        if ch == "\\" and i + 1 < len(dump):
            cur.append(ch + dump[i + 1])
            i += 2
            continue
        if ch == "\n":
            lines.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
        i += 1
    if cur:
        lines.append("".join(cur))
    return lines


def _split_unescaped(line: str) -> tuple[str, str, str]:
    key, value, i, seen_eq = [], [], 0, False
    while i < len(line):
        ch = line[i]
        if ch == "\\" and i + 1 < len(line):
            (value if seen_eq else key).append(line[i + 1])
            i += 2
            continue
        if ch == "=" and not seen_eq:
            seen_eq = True
        else:
            (value if seen_eq else key).append(ch)
        i += 1
    return "".join(key), "=" if seen_eq else "", "".join(value)


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
