import json
import os

import pytest
import torch
from PIL import Image

from lantern.export.grade import palette_grade, parse_palette, rgb_to_lab
from lantern.export.stills import generation_parameters, read_metadata, save_still

GRAPH = {
    "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "demo.safetensors"}},
    "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "a lantern at dusk", "clip": ["4", 1]}},
    "3": {"class_type": "KSampler", "inputs": {"seed": 11, "steps": 4, "cfg": 6.5, "sampler_name": "euler",
                                                "scheduler": "normal", "denoise": 1.0, "model": ["4", 0]}},
}
META = {"prompt": GRAPH, "workflow": {"nodes": [{"id": 3}]}}


@pytest.mark.parametrize("fmt,ext", [("png", "png"), ("jpeg", "jpg"), ("webp", "webp"), ("tiff", "tif")])
def test_metadata_round_trip_and_sidecar(tmp_path, fmt, ext):
    img = torch.rand(20, 30, 3)
    res = save_still(img, tmp_path / f"a.{ext}", fmt, metadata=META, sidecar=generation_parameters(GRAPH))
    meta = read_metadata(res.path)
    assert meta["prompt"] == GRAPH and meta["workflow"] == META["workflow"]
    side = json.loads(open(res.sidecar).read())
    assert side["parameters"]["seed"] == 11 and side["parameters"]["checkpoint"] == "demo.safetensors"
    assert side["parameters"]["texts"] == ["a lantern at dusk"]
    assert side["width"] == 30 and side["height"] == 20 and side["prompt"] == GRAPH
    with Image.open(res.path) as im:
        assert im.size == (30, 20)
    assert sorted(os.listdir(tmp_path)) == sorted([f"a.{ext}", f"a.{ext}.json"])


def test_png_pixels_exact_and_resize_to_long_side(tmp_path):
    img = torch.rand(20, 30, 3)
    res = save_still(img, tmp_path / "a.png", "png")
    with Image.open(res.path) as im:
        assert torch.equal(torch.from_numpy(__import__("numpy").array(im)), (img * 255).round().byte())
    res = save_still(img, tmp_path / "b.png", "png", long_side=90)
    assert (res.width, res.height) == (90, 60) and "resized from 30x20 to 90x60" in res.notes[0]


def test_large_metadata_in_jpeg_goes_to_sidecar(tmp_path):
    big = {"prompt": GRAPH, "workflow": {"blob": "x" * 100_000}}
    res = save_still(torch.rand(8, 8, 3), tmp_path / "a.jpg", "jpeg", metadata=big)
    assert "kept in the sidecar JSON only" in res.notes[0]
    assert json.loads(open(res.sidecar).read())["workflow"]["blob"] == "x" * 100_000


def test_bad_inputs(tmp_path):
    with pytest.raises(ValueError, match="format 'bmp' is not supported"):
        save_still(torch.rand(4, 4, 3), tmp_path / "a.bmp", "bmp")
    with pytest.raises(ValueError, match="quality must be 1..100"):
        save_still(torch.rand(4, 4, 3), tmp_path / "a.jpg", "jpeg", quality=0)
    assert os.listdir(tmp_path) == []


def test_palette_parsing():
    p = parse_palette("#ff0000, #0f0 teal\nrgb(0, 0, 255)")
    assert p.shape == (4, 3) and torch.allclose(p[0], torch.tensor([1.0, 0, 0]))
    with pytest.raises(ValueError, match="'notacolour' is not a colour"):
        parse_palette("#ff0000, notacolour")
    with pytest.raises(ValueError, match="palette is empty"):
        parse_palette("")


def test_palette_grade_keeps_lightness_and_moves_chroma():
    g = torch.Generator().manual_seed(3)
    img = torch.rand(2, 24, 24, 3, generator=g) * 0.4 + 0.3
    pal = parse_palette("#c8643c, #dc8c50, #b45a3c")  # warm oranges
    assert torch.equal(palette_grade(img, pal, 0.0), img)
    out = palette_grade(img, pal, 1.0)
    lab_in, lab_out, lab_pal = rgb_to_lab(img), rgb_to_lab(out), rgb_to_lab(pal)
    assert float((lab_out[..., 0] - lab_in[..., 0]).abs().max()) < 0.05
    target = lab_pal[:, 1:].mean(0)
    dist_in = (lab_in[..., 1:].mean((1, 2)) - target).norm(dim=-1)
    dist_out = (lab_out[..., 1:].mean((1, 2)) - target).norm(dim=-1)
    assert bool((dist_out < 0.25 * dist_in).all())
    half = palette_grade(img, pal, 0.5)
    dist_half = (rgb_to_lab(half)[..., 1:].mean((1, 2)) - target).norm(dim=-1)
    assert bool((dist_out < dist_half).all() and (dist_half < dist_in).all())
    with pytest.raises(ValueError, match="strength"):
        palette_grade(img, pal, 1.5)
