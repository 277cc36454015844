"""Exporters on the real host: files are opened and checked (frames, size, duration, loop, metadata)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lantern.client import ComfyError
from lantern.export.probe import probe
from lantern.export.stills import read_metadata

from tests.e2e.graphs import txt2img

WORKFLOW = {"nodes": [{"id": 1, "type": "LanternSaveImage"}], "version": 0.4}


def frames_graph(width=66, height=48, batch=6, color=0x3366AA):
    """``batch`` frames fading from ``color`` to white: two stock EmptyImages, batched, then in-betweened by
    LanternFrameInterpolate (every frame differs, so no encoder can merge frames); node "1" gives the frames."""
    def empty(c):
        return {"class_type": "EmptyImage", "inputs": {"width": width, "height": height, "batch_size": 1, "color": c}}

    if batch == 1:
        return {"1": empty(color)}
    return {
        "91": empty(color),
        "92": empty(0xFFFFFF),
        "93": {"class_type": "ImageBatch", "inputs": {"image1": ["91", 0], "image2": ["92", 0]}},
        "1": {"class_type": "LanternFrameInterpolate", "inputs": {"images": ["93", 0], "multiplier": batch - 1,
                                                                  "easing": "linear", "loop": False}},
    }


def save_anim(images, fmt, prefix, **kw):
    inputs = {"images": images, "filename_prefix": prefix, "format": fmt, "fps": 10.0, "quality": -1,
              "loop_count": 0, "pingpong": False, "save_first_frame": True}
    inputs.update(kw)
    return {"class_type": "LanternSaveAnimation", "inputs": inputs}


def saved(comfy, result, node_id) -> Path:
    items = result.files(node_id)
    assert len(items) == 1, result.outputs.get(node_id)
    return Path(comfy.output_dir) / items[0]["subfolder"] / items[0]["filename"]


def test_every_format_written_and_read_back(comfy, client):
    graph = frames_graph()
    graph["2"] = save_anim(["1", 0], "h264-mp4", "lantern_e2e/fmt")
    graph["3"] = save_anim(["1", 0], "vp9-webm", "lantern_e2e/fmt")
    graph["4"] = save_anim(["1", 0], "gif", "lantern_e2e/fmt", loop_count=2, pingpong=True)
    graph["5"] = save_anim(["1", 0], "webp", "lantern_e2e/fmt", loop_count=3, quality=90)
    result = client.run(graph, extra_pnginfo={"workflow": WORKFLOW})
    for node_id, codec in (("2", "h264"), ("3", "vp9")):
        info = probe(str(saved(comfy, result, node_id)))
        assert (info.codec, info.frames, info.width, info.height) == (codec, 6, 66, 48)
        assert info.duration == pytest.approx(0.6, abs=0.05)
        assert json.loads(info.metadata["workflow"]) == WORKFLOW
        assert json.loads(info.metadata["prompt"])["1"]["class_type"] == "LanternFrameInterpolate"
    gif = probe(str(saved(comfy, result, "4")))
    assert (gif.frames, gif.width, gif.height, gif.loop) == (10, 66, 48, 1)  # ping-pong 6 -> 10, 2 plays
    assert json.loads(gif.metadata["comment"])["workflow"] == WORKFLOW
    webp = probe(str(saved(comfy, result, "5")))
    assert (webp.frames, webp.width, webp.loop) == (6, 66, 3)
    assert json.loads(webp.metadata["workflow"]) == WORKFLOW
    pixel = np.asarray(Image.open(saved(comfy, result, "5")).convert("RGB"))[10, 10]
    assert np.abs(pixel.astype(int) - [0x33, 0x66, 0xAA]).max() <= 6
    first = saved(comfy, result, "2").with_suffix(".png")
    assert json.loads(Image.open(first).info["workflow"]) == WORKFLOW
    # the editor gets a preview item per save node
    assert result.outputs["2"]["animated"] == [True]


def test_odd_size_h264_padded(comfy, client):
    graph = frames_graph(width=65, height=47, batch=3)
    graph["2"] = save_anim(["1", 0], "h264-mp4", "lantern_e2e/odd")
    info = probe(str(saved(comfy, client.run(graph), "2")))
    assert (info.width, info.height, info.frames) == (66, 48, 3)


@pytest.mark.parametrize("prefix", ["../escape", "/tmp/lantern_escape/x", "a/../../escape"])
def test_prefix_leaving_output_folder_refused(comfy, client, prefix):
    graph = frames_graph(batch=2)
    graph["2"] = save_anim(["1", 0], "gif", prefix)
    with pytest.raises(ComfyError, match="points outside ComfyUI's output folder"):
        client.run(graph)
    graph = frames_graph(batch=1)
    graph["2"] = {"class_type": "LanternSaveImage", "inputs": {
        "images": ["1", 0], "filename_prefix": prefix, "format": "png", "quality": 95, "long_side": 0,
        "sidecar": True, "embed_metadata": True}}
    with pytest.raises(ComfyError, match="points outside ComfyUI's output folder"):
        client.run(graph)
    assert not Path("/tmp/lantern_escape").exists()
    assert not list(Path(comfy.output_dir).parent.glob("escape*"))


def test_quality_out_of_range_refused(client):
    graph = frames_graph(batch=2)
    graph["2"] = save_anim(["1", 0], "h264-mp4", "lantern_e2e/bad", quality=80)
    with pytest.raises(ComfyError, match=r"quality 80 is outside 0..51 for MP4"):
        client.run(graph)


def test_stills_graded_saved_with_metadata_and_sidecar(comfy, client):
    graph = txt2img(seed=5, steps=2, size=64, prefix="lantern_e2e/stock")
    del graph["9"]
    graph["10"] = {"class_type": "LanternPaletteGrade", "inputs": {
        "images": ["8", 0], "palette": "#c8643c, #dc8c50", "strength": 1.0}}
    formats = {"11": ("png", "png"), "12": ("jpeg", "jpg"), "13": ("webp", "webp"), "14": ("tiff", "tif")}
    for node_id, (fmt, _) in formats.items():
        graph[node_id] = {"class_type": "LanternSaveImage", "inputs": {
            "images": ["10", 0], "filename_prefix": f"lantern_e2e/still_{fmt}", "format": fmt, "quality": 90,
            "long_side": 96, "sidecar": True, "embed_metadata": True}}
    graph["15"] = {"class_type": "LanternSaveImage", "inputs": {
        "images": ["8", 0], "filename_prefix": "lantern_e2e/ungraded", "format": "png", "quality": 90,
        "long_side": 0, "sidecar": False, "embed_metadata": False}}
    result = client.run(graph, extra_pnginfo={"workflow": WORKFLOW})
    for node_id, (fmt, ext) in formats.items():
        path = saved(comfy, result, node_id)
        assert path.suffix == f".{ext}"
        with Image.open(path) as im:
            assert im.size == (96, 96)
        meta = read_metadata(str(path))
        assert meta["workflow"] == WORKFLOW and meta["prompt"]["3"]["inputs"]["seed"] == 5
        side = json.loads(path.with_name(path.name + ".json").read_text())
        assert side["parameters"]["seed"] == 5 and side["parameters"]["steps"] == 2
        assert side["parameters"]["checkpoint"].startswith("lantern_demo")
        assert side["width"] == 96
    plain = saved(comfy, result, "15")
    assert not plain.with_name(plain.name + ".json").exists()
    assert Image.open(plain).size == (64, 64) and "prompt" not in Image.open(plain).info
    # the grade moved colour toward warm orange without changing lightness
    from lantern.export.grade import rgb_to_lab
    import torch

    graded = torch.from_numpy(np.array(Image.open(saved(comfy, result, "11")).resize((64, 64)))).float() / 255
    ungraded = torch.from_numpy(np.array(Image.open(plain))).float() / 255
    lab_g, lab_u = rgb_to_lab(graded), rgb_to_lab(ungraded)
    assert abs(float(lab_g[..., 0].mean() - lab_u[..., 0].mean())) < 2.0
    assert float(lab_g[..., 1].mean()) > float(lab_u[..., 1].mean()) or float(lab_g[..., 2].mean()) > float(lab_u[..., 2].mean())


def test_bad_palette_named(client):
    graph = frames_graph(batch=1)
    graph["2"] = {"class_type": "LanternPaletteGrade", "inputs": {"images": ["1", 0], "palette": "#ff0000, nocolour",
                                                                  "strength": 0.5}}
    graph["3"] = {"class_type": "PreviewImage", "inputs": {"images": ["2", 0]}}
    with pytest.raises(ComfyError, match="palette input: palette: 'nocolour' is not a colour"):
        client.run(graph)


def test_export_stills_workflow(comfy, client, workflows_dir):
    graph = json.loads((workflows_dir / "export_stills.api.json").read_text())
    ui_twin = json.loads((workflows_dir / "export_stills.json").read_text())
    result = client.run(graph, extra_pnginfo={"workflow": ui_twin})
    batch = graph["5"]["inputs"]["batch_size"]
    for node_id, size, fmt in (("11", 128, "PNG"), ("12", 256, "JPEG")):
        items = result.files(node_id)
        assert len(items) == batch
        for item in items:
            path = Path(comfy.output_dir) / item["subfolder"] / item["filename"]
            with Image.open(path) as im:
                assert (im.format, im.size) == (fmt, (size, size))
            meta = read_metadata(str(path))
            assert meta["workflow"] == ui_twin and meta["prompt"]["3"]["inputs"]["seed"] == 42
            side = json.loads(path.with_name(path.name + ".json").read_text())
            assert side["parameters"]["texts"][0].startswith("a paper lantern")
