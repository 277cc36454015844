"""The pack on the real ComfyUI host: registration, schema quality, the stock graph on the demo checkpoint."""

from __future__ import annotations

import numpy as np
import pytest

from lantern.client import ComfyError

from tests.e2e.graphs import DEMO_CHECKPOINT, declared_node_ids, txt2img


def test_pack_loaded_without_import_errors(comfy):
    log = comfy.log()
    pack_lines = [line for line in log.splitlines() if "Lantern" in line]
    assert any("custom_nodes/Lantern" in line and "seconds" in line for line in pack_lines), log
    assert not [line for line in pack_lines if "IMPORT FAILED" in line or "Cannot import" in line], log
    assert not [line for line in pack_lines if "disabled" in line], log


def test_every_declared_node_is_registered(comfy):
    declared = declared_node_ids()
    registered = {name for name in comfy.object_info if name.startswith("Lantern")}
    assert declared - registered == set(), f"declared but missing from /object_info: {declared - registered}"
    status = comfy.client.get("/lantern/status")
    assert set(status["nodes"]) == registered
    assert status["disabled"] == {}


def test_every_lantern_node_is_documented(comfy):
    problems = []
    for name, info in comfy.object_info.items():
        if not name.startswith("Lantern"):
            continue
        if not info.get("category", "").startswith("Lantern/"):
            problems.append(f"{name}: category {info.get('category')!r} does not start with Lantern/")
        if not info.get("description"):
            problems.append(f"{name}: no description")
        for section in ("required", "optional"):
            for input_name, spec in (info["input"].get(section) or {}).items():
                options = spec[1] if len(spec) > 1 and isinstance(spec[1], dict) else {}
                if not options.get("tooltip"):
                    problems.append(f"{name}.{input_name}: no tooltip")
        tooltips = info.get("output_tooltips") or []
        for index, output_name in enumerate(info.get("output_name", [])):
            if index >= len(tooltips) or not tooltips[index]:
                problems.append(f"{name} output {output_name}: no tooltip")
    assert problems == []


def test_demo_checkpoint_is_listed_for_stock_loader(comfy):
    choices = comfy.object_info["CheckpointLoaderSimple"]["input"]["required"]["ckpt_name"][0]
    assert DEMO_CHECKPOINT in choices


def test_stock_txt2img_on_demo_checkpoint(client):
    result = client.run(txt2img(seed=7, size=128, steps=4, prefix="lantern_foundation"))
    images = client.images(result, "9")
    assert len(images) == 1
    image = images[0]
    assert image.size == (128, 128)
    assert image.mode == "RGB"
    assert image.format == "PNG"
    pixels = np.asarray(image).reshape(-1, 3)
    assert len(np.unique(pixels, axis=0)) > 1000, "the decoded image is (almost) flat; the demo weights are degenerate"
    assert "prompt" in image.info  # stock SaveImage metadata


def test_same_seed_same_image_different_seed_different_image(client):
    first = client.images(client.run(txt2img(seed=11, prefix="lantern_repeat")), "9")[0]
    client.free()  # drop caches so the graph really runs again
    again = client.images(client.run(txt2img(seed=11, prefix="lantern_repeat")), "9")[0]
    other = client.images(client.run(txt2img(seed=12, prefix="lantern_repeat")), "9")[0]
    assert np.array_equal(np.asarray(first), np.asarray(again))
    assert not np.array_equal(np.asarray(first), np.asarray(other))


def test_client_reports_validation_errors_with_comfy_message(client):
    graph = txt2img()
    graph["4"]["inputs"]["ckpt_name"] = "no_such_model.safetensors"
    with pytest.raises(ComfyError) as error:
        client.run(graph)
    assert "no_such_model.safetensors" in str(error.value)
    assert "CheckpointLoaderSimple" in str(error.value)


def test_client_reports_execution_errors(client):
    # A 16-channel SD3 latent passes validation but the SD1.5 VAE cannot decode it: a runtime failure.
    graph = {
        "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": DEMO_CHECKPOINT}},
        "5": {"class_type": "EmptySD3LatentImage", "inputs": {"width": 64, "height": 64, "batch_size": 1}},
        "8": {"class_type": "VAEDecode", "inputs": {"samples": ["5", 0], "vae": ["4", 2]}},
        "9": {"class_type": "PreviewImage", "inputs": {"images": ["8", 0]}},
    }
    with pytest.raises(ComfyError) as error:
        client.run(graph)
    assert "VAEDecode" in str(error.value)
    assert "channels" in str(error.value)


def test_web_extension_is_served(comfy):
    extensions = comfy.client.get("/extensions")
    ours = [path for path in extensions if "lantern" in path.lower()]
    assert ours == ["/extensions/Lantern/lantern.js"], extensions
    source = comfy.client.request("GET", ours[0], raw=True).decode()
    assert "registerExtension" in source
