"""Animation encoders: MP4/WebM (ffmpeg), GIF (ffmpeg, two-pass palette), animated WebP (Pillow).

Design rules (each one a complaint about existing tools):

* The ffmpeg binary comes from ``imageio-ffmpeg`` (bundled, no ffmpeg on PATH needed).
* Frames are streamed one at a time: each frame is converted to 8-bit RGB just before it is written, so the
  exporter's extra memory is about one frame, never a second copy of the batch.
* Output goes to a hidden temporary name in the target folder and is renamed on success; on any failure
  (encoder error, cancelled run, bad frame) the temporary file is removed: no half-written files.
* yuv420p formats need even sizes: odd widths/heights are padded by one black column/row, and the result says so.
* Metadata (prompt, workflow, anything JSON-able) goes into the container: ffmpeg metadata tags for MP4/WebM
  (through an ffmetadata file, so large workflows do not hit command-line limits), a GIF comment extension,
  EXIF for WebP (ComfyUI's convention: ``0x0110 = "prompt:<json>"``, ``0x010f = "workflow:<json>"``).

Loop counts mean *how many times the animation plays* (0 = forever). GIF stores repetitions (plays - 1) in
its NETSCAPE block, and a single play has no block at all; WebP stores plays.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from .formats import VideoFormat, get_format

__all__ = [
    "ExportResult",
    "EncoderError",
    "ffmpeg_exe",
    "frame_order",
    "to_uint8",
    "encode_animation",
    "gif_loop_value",
    "palette_sample",
    "insert_gif_comment",
]


class EncoderError(RuntimeError):
    """The encoder failed; the message holds the tail of its log. No output file was left behind."""


@dataclass
class ExportResult:
    path: str
    format: str
    frames: int
    width: int
    height: int
    fps: float
    notes: list[str] = field(default_factory=list)

    @property
    def duration(self) -> float:
        return self.frames / self.fps


def ffmpeg_exe() -> str:
    try:
        import imageio_ffmpeg
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise RuntimeError("video export needs the ffmpeg binary from imageio-ffmpeg: pip install imageio-ffmpeg") from exc
    return imageio_ffmpeg.get_ffmpeg_exe()


def frame_order(n: int, pingpong: bool = False) -> list[int]:
    """Frame indices to write: forward, then (ping-pong) backward without repeating either end."""
    order = list(range(n))
    if pingpong and n > 2:
        order += list(range(n - 2, 0, -1))
    return order


def to_uint8(frame: Any) -> np.ndarray:
    """One frame (torch tensor or array, ``[H, W, C]`` floats in [0, 1] or uint8) -> contiguous uint8 RGB."""
    if hasattr(frame, "detach"):
        frame = frame.detach()
        if frame.dtype.is_floating_point:
            frame = (frame[..., :3].float().clamp(0, 1) * 255).round().to("cpu").byte()
        return np.ascontiguousarray(frame[..., :3].cpu().numpy())
    arr = np.asarray(frame)
    if arr.dtype != np.uint8:
        arr = (np.clip(arr[..., :3].astype(np.float32), 0, 1) * 255).round().astype(np.uint8)
    if arr.ndim == 2:
        arr = np.repeat(arr[..., None], 3, axis=2)
    return np.ascontiguousarray(arr[..., :3])


def palette_sample(n: int, k: int) -> list[int]:
    """Up to ``k`` frame indices spread evenly over ``n`` frames, first and last included, each once."""
    if k <= 0 or n <= k:
        return list(range(n))
    if k == 1:
        return [0]
    return sorted({round(i * (n - 1) / (k - 1)) for i in range(k)})


def gif_loop_value(plays: int) -> int:
    """ffmpeg gif muxer ``-loop``: 0 = forever, -1 = no NETSCAPE block (one play), n = n repetitions."""
    if plays < 0:
        raise ValueError(f"loop_count must be 0 (forever) or a number of plays >= 1, got {plays}")
    return 0 if plays == 0 else (-1 if plays == 1 else plays - 1)


def _ffmeta_escape(text: str) -> str:
    out = []
    for ch in text:
        if ch in "=;#\\\n":
            out.append("\\" + ch)
        else:
            out.append(ch)
    return "".join(out)


def _metadata_strings(metadata: dict | None) -> dict[str, str]:
    if not metadata:
        return {}
    return {k: v if isinstance(v, str) else json.dumps(v, ensure_ascii=False) for k, v in metadata.items() if v is not None}


def insert_gif_comment(src: str, dst: str, comment: str) -> None:
    """Copy GIF ``src`` to ``dst`` with a Comment Extension placed right after the global colour table."""
    data = comment.encode("utf-8")
    block = bytearray(b"\x21\xfe")
    for i in range(0, len(data), 255):
        part = data[i : i + 255]
        block += bytes([len(part)]) + part
    block += b"\x00"
    with open(src, "rb") as fin, open(dst, "wb") as fout:
        head = fin.read(13)
        if len(head) < 13 or head[:6] not in (b"GIF87a", b"GIF89a"):
            raise EncoderError(f"{src} is not a GIF file")
        flags = head[10]
        gct = 3 * (2 ** ((flags & 0x07) + 1)) if flags & 0x80 else 0
        fout.write(b"GIF89a" + head[6:])
        fout.write(fin.read(gct))
        fout.write(bytes(block))
        while True:
            chunk = fin.read(1 << 20)
            if not chunk:
                break
            fout.write(chunk)


def _tmp_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.part")


def _check_frame(i: int, arr: np.ndarray, width: int, height: int) -> None:
    if arr.shape[0] != height or arr.shape[1] != width:
        raise ValueError(f"frame {i} is {arr.shape[1]}x{arr.shape[0]}, expected {width}x{height}: all frames must have one size")


def _run_ffmpeg(
    cmd: list[str],
    frames: Sequence,
    order: list[int],
    width: int,
    height: int,
    label: str,
    on_frame: Callable[[int], None] | None,
) -> None:
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=log)
        written = 0
        broken = False
        try:
            for i in order:
                arr = to_uint8(frames[i])
                _check_frame(i, arr, width, height)
                try:
                    proc.stdin.write(arr.tobytes())
                except (BrokenPipeError, OSError):
                    broken = True
                    break
                written += 1
                if on_frame:
                    on_frame(written)
            try:
                proc.stdin.close()
            except (BrokenPipeError, OSError):
                broken = True
            rc = proc.wait()
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        if rc != 0 or broken:
            log.seek(0)
            tail = log.read().decode("utf-8", "replace").strip().splitlines()[-8:]
            raise EncoderError(
                f"ffmpeg failed while encoding {label} after {written} of {len(order)} frames "
                f"(exit code {rc}): {' | '.join(tail) or 'no message'}"
            )


def encode_animation(
    frames: Sequence,
    path: str | os.PathLike,
    fmt: str | VideoFormat,
    fps: float = 12.0,
    quality: int | None = None,
    loop_count: int = 0,
    pingpong: bool = False,
    metadata: dict | None = None,
    on_frame: Callable[[int], None] | None = None,
) -> ExportResult:
    """Encode ``frames`` (``[N, H, W, C]`` tensor/array or a sequence of frames) to ``path``.

    ``on_frame(count)`` is called after each written frame (progress; raise from it to cancel).
    Raises ValueError for bad arguments and EncoderError when the encoder fails; in both cases no file is left.
    """
    fmt = get_format(fmt) if isinstance(fmt, str) else fmt
    n = len(frames)
    if n == 0:
        raise ValueError("no frames to save: the images input is empty")
    if not fps or fps <= 0:
        raise ValueError(f"fps must be positive, got {fps}")
    q = fmt.resolve_quality(quality)
    path = Path(path)
    if path.suffix.lower() != "." + fmt.extension:
        raise ValueError(f"{path.name}: a {fmt.label} file must end in .{fmt.extension}")
    first = to_uint8(frames[0])
    height, width = first.shape[:2]
    order = frame_order(n, pingpong)
    notes: list[str] = []
    meta = _metadata_strings(metadata)
    tmp = _tmp_path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    out_w, out_h = width, height
    if fmt.even_dimensions and (width % 2 or height % 2):
        out_w, out_h = width + width % 2, height + height % 2
        notes.append(f"padded from {width}x{height} to {out_w}x{out_h} with black (yuv420p needs even sizes)")
    if pingpong:
        notes.append(f"ping-pong: {n} frames played forward and back as {len(order)}")
    try:
        if fmt.engine == "ffmpeg":
            _encode_ffmpeg(fmt, frames, order, width, height, out_w, out_h, fps, q, meta, tmp, on_frame)
        elif fmt.engine == "ffmpeg-gif":
            _encode_gif(fmt, frames, order, width, height, fps, loop_count, metadata, tmp, on_frame)
        elif fmt.engine == "pillow-webp":
            _encode_webp(fmt, frames, order, width, height, fps, q, loop_count, meta, tmp, on_frame)
        else:  # pragma: no cover - formats.py validates engines
            raise ValueError(f"unknown engine {fmt.engine!r}")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return ExportResult(str(path), fmt.name, len(order), out_w, out_h, float(fps), notes)


def _raw_input(width: int, height: int, fps: float) -> list[str]:
    return ["-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}", "-framerate", f"{fps:g}", "-i", "-"]


def _encode_ffmpeg(fmt, frames, order, width, height, out_w, out_h, fps, q, meta, tmp, on_frame) -> None:
    with tempfile.TemporaryDirectory(prefix="lantern-export-") as td:
        cmd = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y"] + _raw_input(width, height, fps)
        if meta:
            meta_file = Path(td) / "meta.txt"
            lines = [";FFMETADATA1"] + [f"{_ffmeta_escape(k)}={_ffmeta_escape(v)}" for k, v in meta.items()]
            meta_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
            cmd += ["-f", "ffmetadata", "-i", str(meta_file), "-map_metadata", "1", "-map", "0:v"]
        if (out_w, out_h) != (width, height):
            cmd += ["-vf", f"pad={out_w}:{out_h}:0:0:black"]
        cmd += list(fmt.spec.get("args", []))
        if q is not None:
            cmd += [fmt.quality["flag"], str(q)]
        cmd += ["-f", fmt.spec.get("muxer", fmt.extension), str(tmp)]
        _run_ffmpeg(cmd, frames, order, width, height, fmt.label, on_frame)


def _encode_gif(fmt, frames, order, width, height, fps, loop_count, metadata, tmp, on_frame) -> None:
    loop = gif_loop_value(loop_count)
    with tempfile.TemporaryDirectory(prefix="lantern-gif-") as td:
        palette = str(Path(td) / "palette.png")
        base = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y"] + _raw_input(width, height, fps)
        pass1 = base + ["-vf", fmt.spec.get("palettegen", "palettegen"), "-frames:v", "1", "-update", "1", palette]
        # pass 1 builds the palette from up to `palette_sample_frames` frames spread evenly over the clip (each
        # distinct frame at most once): palettegen's colour histogram grows with the colours it sees, and a
        # sample of the clip gives the same palette for a fraction of the time and memory
        _run_ffmpeg(pass1, frames, palette_sample(len(frames), int(fmt.spec.get("palette_sample_frames", 32))),
                    width, height, fmt.label + " palette", None)
        gif_tmp = str(Path(td) / "out.gif")
        pass2 = base + ["-i", palette, "-lavfi", f"[0:v][1:v]{fmt.spec.get('paletteuse', 'paletteuse')}",
                        "-loop", str(loop), "-f", "gif", gif_tmp]
        _run_ffmpeg(pass2, frames, order, width, height, fmt.label, on_frame)
        if metadata:
            comment = {k: v for k, v in metadata.items() if v is not None}
            insert_gif_comment(gif_tmp, str(tmp), json.dumps(comment, ensure_ascii=False))
        else:
            shutil.move(gif_tmp, tmp)


def _encode_webp(fmt, frames, order, width, height, fps, q, loop_count, meta, tmp, on_frame) -> None:
    from PIL import Image

    if loop_count < 0:
        raise ValueError(f"loop_count must be 0 (forever) or a number of plays >= 1, got {loop_count}")
    written = {"n": 0}

    def frame_image(k: int) -> Image.Image:
        i = order[k]
        arr = to_uint8(frames[i])
        _check_frame(i, arr, width, height)
        if k >= written["n"]:
            written["n"] = k + 1
            if on_frame:
                on_frame(k + 1)
        return Image.fromarray(arr, "RGB")

    seq = _FrameSequence(frame_image, len(order))
    exif = Image.Exif()
    if "prompt" in meta:
        exif[0x0110] = "prompt:" + meta["prompt"]
    tag = 0x010F
    for key, value in meta.items():
        if key == "prompt":
            continue
        exif[tag] = f"{key}:{value}"
        tag -= 1
    lossless = q is not None and q >= fmt.spec.get("lossless_at", 101)
    seq.save(
        str(tmp),
        format="WEBP",
        save_all=True,
        duration=round(1000 / fps),
        loop=loop_count,
        quality=q if q is not None else 85,
        lossless=lossless,
        method=4,
        exif=exif.tobytes() if meta else b"",
    )


try:  # Pillow is a hard dependency of the core library, but keep import errors readable
    from PIL import Image as _PILImage

    class _FrameSequence(_PILImage.Image):
        """A multi-frame PIL image whose frames are made on demand (so Pillow never holds the whole clip)."""

        format = None

        def __init__(self, make: Callable[[int], Any], n: int):
            super().__init__()
            self._make = make
            self._n = n
            self._cur = -1
            self.seek(0)

        @property
        def n_frames(self) -> int:
            return self._n

        @property
        def is_animated(self) -> bool:
            return self._n > 1

        def seek(self, frame: int) -> None:
            if frame == self._cur:
                return
            img = self._make(frame)
            self.im = img.im
            self._mode = img.mode
            self._size = img.size
            self._cur = frame

        def tell(self) -> int:
            return self._cur

except ImportError:  # pragma: no cover
    _FrameSequence = None  # type: ignore
