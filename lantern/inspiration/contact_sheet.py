"""Contact sheet: a grid of images, each with its caption underneath (pure Pillow + numpy).

Size formula (all in pixels; W×H is the largest image, n images, p = padding, f = font size)::

    columns      c = columns if columns > 0 else ceil(sqrt(n))   (never more than n)
    rows         r = ceil(n / c)
    line height  L = ceil(1.25 * f)
    caption      C = caption_lines * L
    cell height  h = H + p // 2 + C
    sheet width  = c * W + (c + 1) * p
    sheet height = r * h + (r + 1) * p

Captions are wrapped word by word to the cell width with Pillow's default font
(``ImageFont.load_default(size=f)``); text beyond ``caption_lines`` lines ends in "...". Smaller images are
centred in their cell; cells past the last image stay background.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

ELLIPSIS = "..."


@dataclass(frozen=True)
class Layout:
    count: int
    columns: int
    rows: int
    cell_width: int
    image_height: int
    line_height: int
    caption_height: int
    cell_height: int
    padding: int
    width: int
    height: int

    def cell_origin(self, index: int) -> tuple[int, int]:
        r, c = divmod(index, self.columns)
        return (self.padding + c * (self.cell_width + self.padding), self.padding + r * (self.cell_height + self.padding))


def sheet_layout(count: int, image_width: int, image_height: int, columns: int = 0, font_size: int = 14,
                 caption_lines: int = 3, padding: int = 8) -> Layout:
    if count < 1:
        raise ValueError("images: a contact sheet needs at least one image")
    if image_width < 1 or image_height < 1:
        raise ValueError("images: image width and height must be positive")
    if font_size < 6 or font_size > 128:
        raise ValueError(f"font_size: {font_size} is out of range; use 6 to 128")
    if caption_lines < 0 or caption_lines > 20:
        raise ValueError(f"caption_lines: {caption_lines} is out of range; use 0 to 20")
    if padding < 0 or padding > 256:
        raise ValueError(f"padding: {padding} is out of range; use 0 to 256")
    cols = columns if columns > 0 else math.ceil(math.sqrt(count))
    cols = max(1, min(cols, count))
    rows = math.ceil(count / cols)
    line_h = math.ceil(1.25 * font_size)
    cap_h = caption_lines * line_h
    cell_h = image_height + padding // 2 + cap_h
    return Layout(
        count=count, columns=cols, rows=rows, cell_width=image_width, image_height=image_height,
        line_height=line_h, caption_height=cap_h, cell_height=cell_h, padding=padding,
        width=cols * image_width + (cols + 1) * padding, height=rows * cell_h + (rows + 1) * padding,
    )


@lru_cache(maxsize=16)
def _font(size: int):
    return ImageFont.load_default(size=size)


def wrap_caption(text: str, font, max_width: int, max_lines: int) -> list[str]:
    """Greedy word wrap to ``max_width`` pixels; long words are cut; overflow ends in '...'."""
    if max_lines <= 0:
        return []
    words = " ".join(str(text).split()).split(" ")
    lines: list[str] = []
    cur = ""
    i = 0
    while i < len(words) and words != [""]:
        w = words[i]
        trial = f"{cur} {w}" if cur else w
        if font.getlength(trial) <= max_width:
            cur = trial
            i += 1
            continue
        if not cur:  # a single word wider than the cell: cut it
            cut = len(w)
            while cut > 1 and font.getlength(w[:cut]) > max_width:
                cut -= 1
            lines.append(w[:cut])
            words[i] = w[cut:]
        else:
            lines.append(cur)
            cur = ""
        if len(lines) == max_lines:
            break
    if cur and len(lines) < max_lines:
        lines.append(cur)
        cur = ""
    overflow = i < len(words) or bool(cur)
    if overflow and lines:
        last = lines[-1]
        while last and font.getlength(last + ELLIPSIS) > max_width:
            last = last[:-1]
        lines[-1] = last.rstrip(" ,.;") + ELLIPSIS
    return lines


def _to_pil(img) -> Image.Image:
    if isinstance(img, Image.Image):
        return img.convert("RGB")
    arr = np.asarray(img)
    if arr.ndim == 2:
        arr = arr[..., None]
    if arr.ndim != 3:
        raise ValueError(f"images: expected H×W×C arrays, got shape {arr.shape}")
    if arr.shape[2] == 1:
        arr = np.repeat(arr, 3, axis=2)
    arr = arr[..., :3]
    if arr.dtype != np.uint8:
        arr = np.clip(np.asarray(arr, dtype=np.float32) * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return Image.fromarray(arr, "RGB")


def contact_sheet(images: Sequence, captions: Sequence[str] | None = None, columns: int = 0, font_size: int = 14,
                  caption_lines: int = 3, padding: int = 8, background=(24, 24, 24), text_color=(235, 235, 235),
                  number: bool = True) -> Image.Image:
    """Lay ``images`` (PIL images or H×W×C arrays, float 0–1 or uint8) out in a grid with captions."""
    pil = [_to_pil(im) for im in images]
    captions = list(captions or [])
    if captions and len(captions) != len(pil):
        raise ValueError(f"captions: got {len(captions)} captions for {len(pil)} images; give one per image")
    w = max((im.width for im in pil), default=0)
    h = max((im.height for im in pil), default=0)
    lay = sheet_layout(len(pil), w, h, columns, font_size, caption_lines, padding)
    sheet = Image.new("RGB", (lay.width, lay.height), tuple(background))
    draw = ImageDraw.Draw(sheet)
    font = _font(font_size)
    for i, im in enumerate(pil):
        x, y = lay.cell_origin(i)
        sheet.paste(im, (x + (w - im.width) // 2, y + (h - im.height) // 2))
        text = captions[i] if captions else ""
        if number:
            text = f"{i + 1}. {text}".strip()
        ty = y + h + padding // 2
        for line in wrap_caption(text, font, w, caption_lines):
            draw.text((x, ty), line, fill=tuple(text_color), font=font)
            ty += lay.line_height
    return sheet
