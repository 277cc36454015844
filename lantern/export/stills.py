"""Still-image saving with metadata: PNG (text chunks), JPEG/WebP (EXIF + XMP), TIFF (ImageDescription),
a sidecar JSON with the generation parameters, optional resize to a target long side.

Metadata layout (so ComfyUI and other tools find it):
* PNG: one ``tEXt``/``iTXt`` chunk per key (``prompt``, ``workflow``, ...) holding JSON, like ComfyUI's SaveImage.
* WebP: EXIF ``0x0110 = "prompt:<json>"``, ``0x010f``, ``0x010e``... = ``"<key>:<json>"`` (ComfyUI's convention,
  which its editor reads back) plus an XMP packet.
* JPEG: EXIF UserComment with ``{"prompt": ..., "workflow": ...}`` plus an XMP packet. A JPEG APP1 segment holds
  at most 64 KiB; when the metadata is larger it is left out of the file (the sidecar keeps it) and a note
  says so.
* TIFF: ImageDescription holds the JSON.
Files are written to a hidden temporary name and renamed on success.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import numpy as np
from PIL import Image, PngImagePlugin

from .video import to_uint8

__all__ = [
    "STILL_FORMATS",
    "SavedStill",
    "save_still",
    "resize_long_side",
    "generation_parameters",
    "read_metadata",
]

STILL_FORMATS = {"png": "png", "jpeg": "jpg", "webp": "webp", "tiff": "tif"}
_JPEG_APP1_LIMIT = 65_000
_SAMPLER_KEYS = ("seed", "noise_seed", "steps", "cfg", "sampler_name", "scheduler", "denoise", "strategy", "seed_mode")


@dataclass
class SavedStill:
    path: str
    sidecar: str | None
    width: int
    height: int
    notes: list[str] = field(default_factory=list)


def resize_long_side(img: Image.Image, long_side: int) -> Image.Image:
    """Resize (Lanczos) so the longer side is ``long_side``; 0 keeps the size."""
    if long_side <= 0:
        return img
    w, h = img.size
    if max(w, h) == long_side:
        return img
    scale = long_side / max(w, h)
    return img.resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.Resampling.LANCZOS)


def generation_parameters(prompt: dict | None) -> dict:
    """Generation parameters from a ComfyUI API graph: per-node literal inputs, plus the common ones
    (checkpoint, seed, steps, cfg, sampler, scheduler, texts) lifted to the top for tools and people."""
    if not prompt:
        return {}
    nodes: dict[str, Any] = {}
    summary: dict[str, Any] = {}
    texts: list[str] = []
    for node_id, node in sorted(prompt.items(), key=lambda kv: str(kv[0])):
        if not isinstance(node, dict):
            continue
        inputs = node.get("inputs", {}) or {}
        literal = {k: v for k, v in inputs.items() if not (isinstance(v, list) and len(v) == 2 and isinstance(v[1], int))}
        nodes[str(node_id)] = {"class_type": node.get("class_type"), "inputs": literal}
        for key in _SAMPLER_KEYS:
            if key in literal and key not in summary:
                summary[key] = literal[key]
        if "ckpt_name" in literal:
            summary.setdefault("checkpoint", literal["ckpt_name"])
        for key in ("text", "schedule", "prompt"):
            if isinstance(literal.get(key), str) and literal[key].strip():
                texts.append(literal[key])
    if texts:
        summary["texts"] = texts
    return {**summary, "nodes": nodes}


def _xmp(metadata: dict[str, str]) -> bytes:
    fields = "".join(f"<lantern:{k}>{escape(v)}</lantern:{k}>" for k, v in metadata.items() if k.isidentifier())
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" xmlns:lantern="https://github.com/lantern/ns/1.0/">'
        f"{fields}</rdf:Description></rdf:RDF></x:xmpmeta>"
        '<?xpacket end="w"?>'
    ).encode("utf-8")


def _as_strings(metadata: dict | None) -> dict[str, str]:
    return {k: v if isinstance(v, str) else json.dumps(v, ensure_ascii=False) for k, v in (metadata or {}).items() if v is not None}


def save_still(
    image: Any,
    path: str | os.PathLike,
    fmt: str = "png",
    quality: int = 95,
    metadata: dict | None = None,
    sidecar: dict | None = None,
    long_side: int = 0,
    embed: bool = True,
) -> SavedStill:
    """Save one image (``[H, W, C]`` tensor/array in [0, 1], uint8 array or PIL image).

    ``metadata`` (e.g. ``{"prompt": graph, "workflow": ui_json}``) is embedded when ``embed``; ``sidecar``
    (a dict) is written next to the image as ``<name>.json`` together with the metadata.
    """
    if fmt not in STILL_FORMATS:
        raise ValueError(f"format {fmt!r} is not supported; use one of {', '.join(STILL_FORMATS)}")
    if not 1 <= quality <= 100:
        raise ValueError(f"quality must be 1..100, got {quality}")
    path = Path(path)
    img = image if isinstance(image, Image.Image) else Image.fromarray(to_uint8(image), "RGB")
    notes: list[str] = []
    if long_side:
        before = img.size
        img = resize_long_side(img, long_side)
        if img.size != before:
            notes.append(f"resized from {before[0]}x{before[1]} to {img.size[0]}x{img.size[1]} (Lanczos)")
    meta = _as_strings(metadata) if embed else {}
    kwargs: dict[str, Any] = {}
    if fmt == "png":
        info = PngImagePlugin.PngInfo()
        for k, v in meta.items():
            info.add_text(k, v)
        kwargs = {"pnginfo": info, "compress_level": 4}
    elif fmt == "webp":
        exif = Image.Exif()
        if "prompt" in meta:
            exif[0x0110] = "prompt:" + meta["prompt"]
        tag = 0x010F
        for k, v in meta.items():
            if k != "prompt":
                exif[tag] = f"{k}:{v}"
                tag -= 1
        kwargs = {"quality": quality, "lossless": quality == 100, "exif": exif.tobytes() if meta else b""}
        if meta:
            kwargs["xmp"] = _xmp(meta)
    elif fmt == "jpeg":
        kwargs = {"quality": quality, "optimize": True}
        if meta:
            blob = json.dumps({k: json.loads(v) if v[:1] in "{[" else v for k, v in meta.items()}, ensure_ascii=False)
            exif = Image.Exif()
            exif_ifd = exif.get_ifd(0x8769)
            exif_ifd[0x9286] = "UNICODE\0" + blob  # UserComment
            exif_bytes = exif.tobytes()
            xmp = _xmp(meta)
            if len(exif_bytes) > _JPEG_APP1_LIMIT or len(xmp) > _JPEG_APP1_LIMIT:
                notes.append(
                    f"metadata ({max(len(exif_bytes), len(xmp)) // 1024} KiB) is larger than a JPEG segment (64 KiB): "
                    f"kept in the sidecar JSON only"
                )
                sidecar = sidecar if sidecar is not None else {}
            else:
                kwargs["exif"] = exif_bytes
                kwargs["xmp"] = xmp
    elif fmt == "tiff":
        kwargs = {"compression": "tiff_deflate"}
        if meta:
            kwargs["description"] = json.dumps(meta, ensure_ascii=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
    side_path = None
    try:
        img.save(tmp, format={"jpeg": "JPEG", "png": "PNG", "webp": "WEBP", "tiff": "TIFF"}[fmt], **kwargs)
        if sidecar is not None:
            side_path = path.with_suffix(path.suffix + ".json")
            side_tmp = side_path.with_name(f".{side_path.name}.{os.getpid()}.part")
            record = {
                "file": path.name,
                "format": fmt,
                "width": img.size[0],
                "height": img.size[1],
                "parameters": sidecar,
                **{k: (metadata or {}).get(k) for k in (metadata or {})},
            }
            side_tmp.write_text(json.dumps(record, ensure_ascii=False, indent=1), encoding="utf-8")
            os.replace(side_tmp, side_path)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        if side_path is not None:
            side_path.with_name(f".{side_path.name}.{os.getpid()}.part").unlink(missing_ok=True)
        raise
    return SavedStill(str(path), str(side_path) if side_path else None, img.size[0], img.size[1], notes)


def read_metadata(path: str) -> dict[str, Any]:
    """Read back what :func:`save_still` embedded, as ``{key: parsed JSON}``."""
    out: dict[str, Any] = {}

    def parse(v: str):
        try:
            return json.loads(v)
        except (ValueError, TypeError):
            return v

    with Image.open(path) as im:
        if im.format == "PNG":
            for k, v in im.text.items():
                out[k] = parse(v)
        elif im.format == "TIFF":
            desc = im.tag_v2.get(270)
            if desc:
                out.update({k: parse(v) for k, v in json.loads(desc).items()})
        elif im.format == "JPEG":
            exif = im.getexif().get_ifd(0x8769)
            comment = exif.get(0x9286)
            if comment:
                if isinstance(comment, bytes):
                    comment = comment.decode("utf-16-be" if comment.startswith(b"UNICODE\0\xfe\xff") else "utf-8", "replace")
                comment = comment.split("\0", 1)[-1] if comment.startswith("UNICODE") else comment
                out.update(json.loads(comment))
        elif im.format == "WEBP":
            exif = im.getexif()
            for tag in range(0x0110, 0x0100, -1):
                if tag in exif:
                    key, _, value = str(exif[tag]).partition(":")
                    out[key] = parse(value)
        xmp = im.info.get("xmp")
        if xmp is not None:
            out["_xmp"] = xmp.decode("utf-8", "replace") if isinstance(xmp, bytes) else xmp
    return out


def image_array(image: Any) -> np.ndarray:
    return to_uint8(image)
