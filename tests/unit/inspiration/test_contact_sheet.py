"""Contact sheet: documented size formula, image placement, caption wrapping."""
from __future__ import annotations

import math

import numpy as np
import pytest
from PIL import Image

from lantern.inspiration.contact_sheet import ELLIPSIS, _font, contact_sheet, sheet_layout, wrap_caption

BG = (24, 24, 24)


@pytest.mark.parametrize("n, cols, expect_cols, expect_rows", [(1, 0, 1, 1), (2, 0, 2, 1), (5, 0, 3, 2),
                                                               (9, 0, 3, 3), (10, 0, 4, 3), (7, 2, 2, 4), (3, 8, 3, 1)])
def test_layout_formula(n, cols, expect_cols, expect_rows):
    lay = sheet_layout(n, 64, 48, columns=cols, font_size=12, caption_lines=2, padding=6)
    assert (lay.columns, lay.rows) == (expect_cols, expect_rows)
    line_h = math.ceil(1.25 * 12)
    assert lay.width == expect_cols * 64 + (expect_cols + 1) * 6
    assert lay.height == expect_rows * (48 + 3 + 2 * line_h) + (expect_rows + 1) * 6


def _solid(color, w=40, h=30):
    return np.full((h, w, 3), np.array(color, dtype=np.float32) / 255.0)


def test_images_land_in_their_cells_and_captions_are_drawn():
    colors = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0), (0, 255, 255)]
    sheet = contact_sheet([_solid(c) for c in colors], [f"caption {i}" for i in range(5)], font_size=10,
                          caption_lines=2, padding=4)
    lay = sheet_layout(5, 40, 30, 0, 10, 2, 4)
    assert sheet.size == (lay.width, lay.height)
    arr = np.asarray(sheet)
    for i, c in enumerate(colors):
        x, y = lay.cell_origin(i)
        assert tuple(arr[y + 15, x + 20]) == c  # centre of the image
        assert tuple(arr[y, x]) == c and tuple(arr[y + 29, x + 39]) == c  # corners
        cap = arr[y + 30 + 2: y + lay.cell_height, x: x + 40]
        assert (np.abs(cap.astype(int) - BG).sum(axis=2) > 100).sum() > 20  # text pixels
    # the sixth cell (row 2, col 3) is empty background
    x, y = lay.cell_origin(5)
    empty = arr[y: y + lay.cell_height, x: x + 40]
    assert (empty == BG).all()


def test_mixed_sizes_are_centred_and_uint8_pil_inputs_accepted():
    big = Image.new("RGB", (60, 40), (10, 200, 30))
    small = np.full((20, 30, 3), 255, dtype=np.uint8)
    sheet = contact_sheet([big, small], ["a", "b"], columns=2, padding=0, caption_lines=1, font_size=8)
    arr = np.asarray(sheet)
    assert sheet.size == (120, 40 + 0 + math.ceil(1.25 * 8))
    assert tuple(arr[20, 90]) == (255, 255, 255)  # centre of cell 2 holds the small image
    assert tuple(arr[2, 62]) == BG  # corner of cell 2 is background (small image centred)


def test_wrap_respects_width_and_line_limit():
    font = _font(12)
    text = "A weathered lighthouse perched on a basalt cliff, rendered as an oil painting in an impressionist style"
    lines = wrap_caption(text, font, 120, 3)
    assert len(lines) == 3
    assert all(font.getlength(line) <= 120 for line in lines)
    assert lines[-1].endswith(ELLIPSIS)
    full = wrap_caption(text, font, 2000, 3)
    assert full == [text]
    cut = wrap_caption("Supercalifragilisticexpialidocious", font, 40, 5)
    assert all(font.getlength(line) <= 40 for line in cut) and "".join(cut).replace(ELLIPSIS, "") in "Supercalifragilisticexpialidocious"
    assert wrap_caption("anything", font, 100, 0) == []


def test_bad_inputs():
    with pytest.raises(ValueError, match="captions: got 1 captions for 2 images"):
        contact_sheet([_solid((1, 2, 3))] * 2, ["one"])
    with pytest.raises(ValueError, match="at least one image"):
        contact_sheet([], [])
    with pytest.raises(ValueError, match="font_size"):
        sheet_layout(2, 10, 10, font_size=2)
