"""Inspiration mode on the real ComfyUI host: the shipped workflow, the prompt node, the route, Cancel."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest

from lantern.client import ComfyError
from lantern.inspiration import THEME_CHOICES
from lantern.inspiration.contact_sheet import sheet_layout

WORKFLOW = "inspiration"


def _workflow(workflows_dir, count=3, size=128, steps=2, seed=91, prefix="e2e_inspiration"):
    graph = json.loads((workflows_dir / f"{WORKFLOW}.api.json").read_text())
    s = graph["2"]["inputs"]
    s.update(count=count, width=size, height=size, steps=steps, seed=seed)
    graph["3"]["inputs"]["filename_prefix"] = f"{prefix}/image"
    graph["4"]["inputs"]["filename_prefix"] = f"{prefix}/sheet"
    return graph


def test_nodes_registered_with_all_themes(comfy):
    info = comfy.object_info
    for node in ("LanternInspiration", "LanternInspirationSampler"):
        assert node in info
        spec = info[node]["input"]["required"]["theme"]
        options = spec[0] if isinstance(spec[0], list) else spec[1].get("options")
        assert options == list(THEME_CHOICES)
    assert info["LanternInspirationSampler"]["output_name"] == ["images", "prompts", "contact_sheet"]
    assert info["LanternInspiration"]["output_is_list"] == [True, True, True, False, False]


def test_ui_twin_exists_and_matches(workflows_dir):
    ui = json.loads((workflows_dir / f"{WORKFLOW}.json").read_text())
    types = sorted(n["type"] for n in ui["nodes"])
    assert types == ["CheckpointLoaderSimple", "LanternInspirationSampler", "SaveImage", "SaveImage"]


def test_workflow_makes_n_images_n_prompts_and_a_contact_sheet(client, workflows_dir):
    n, size = 3, 128
    result = client.run(_workflow(workflows_dir, count=n, size=size))
    images = client.images(result, "3")
    assert len(images) == n
    assert all(im.size == (size, size) for im in images)
    arrays = [np.asarray(im) for im in images]
    assert not np.array_equal(arrays[0], arrays[1])  # each image has its own prompt and seed
    prompts = result.outputs["2"]["prompts"]
    assert len(prompts) == n and len(set(prompts)) == n
    # the same prompts as the route gives for the same inputs (one generator behind both)
    body = client.get("/lantern/inspire", theme="any", n=n, seed=91, variety=5)
    assert [p["prompt"] for p in body["prompts"]] == prompts
    sheets = client.images(result, "4")
    assert len(sheets) == 1
    lay = sheet_layout(n, size, size, columns=0, font_size=10, caption_lines=3, padding=8)
    assert sheets[0].size == (lay.width, lay.height)
    sheet = np.asarray(sheets[0].convert("RGB"))
    x, y = lay.cell_origin(1)
    # the second image sits in the second cell (SaveImage truncates to uint8, the sheet rounds: at most 1 apart)
    assert np.abs(sheet[y:y + size, x:x + size].astype(int) - arrays[1][..., :3].astype(int)).max() <= 1


def test_prompt_node_alone_returns_distinct_prompts(client):
    graph = {"1": {"class_type": "LanternInspiration", "inputs": {
        "theme": "underwater", "count": 6, "seed": 5, "variety": 3, "theme_check": False, "word_lists": False,
        "subject": "", "style": "ukiyo-e", "palette": "", "medium": ""}}}
    out = client.run(graph).outputs["1"]
    prompts = out["prompts"]
    assert len(prompts) == 6 and len(set(prompts)) == 6
    assert all("in a ukiyo-e style" in p for p in prompts)
    body = client.get("/lantern/inspire", theme="underwater", n=6, seed=5, variety=3, check=0, wordlists=0,
                      style="ukiyo-e")
    assert [p["prompt"] for p in body["prompts"]] == prompts
    assert "theme underwater | seed 5 | variety 3" in out["text"][0]


def test_route_answers_json(client):
    body = client.get("/lantern/inspire", theme="sci-fi city", n=5, seed=12, check=0)
    assert body["theme"] == "sci-fi city" and body["count"] == 5
    prompts = [p["prompt"] for p in body["prompts"]]
    assert len(set(prompts)) == 5
    assert all(p["theme"] == "sci-fi city" and p["negative"] and 0 <= p["seed"] < 2**53 for p in body["prompts"])
    assert client.get("/lantern/inspire", theme="sci-fi city", n=5, seed=12, check=0) == body


@pytest.mark.parametrize("params, needle", [
    ({"theme": "dinosaurs"}, "theme: unknown theme"),
    ({"n": "0"}, "n: 0 is out of range"),
    ({"n": "100000"}, "out of range"),
    ({"n": "lots"}, "not a whole number"),
    ({"seed": "-3"}, "seed: -3 is out of range"),
    ({"variety": "11"}, "variety: 11 is out of range"),
    ({"check": "maybe"}, "check:"),
    ({"colour": "red"}, "unknown parameter(s) colour"),
])
def test_route_rejects_bad_parameters_with_400(client, params, needle):
    with pytest.raises(ComfyError) as exc:
        client.get("/lantern/inspire", **params)
    assert "HTTP 400" in str(exc.value)
    assert needle in exc.value.details["error"]


def test_sampler_reports_progress_and_honours_cancel(client, workflows_dir):
    graph = _workflow(workflows_dir, count=4, size=64, steps=30, seed=4242, prefix="e2e_inspiration_cancel")
    progress = []
    fired = threading.Event()

    def on_event(event):
        if event.get("type") == "progress" and event["data"].get("node") == "2":
            progress.append((event["data"]["value"], event["data"]["max"]))
            if not fired.is_set():
                fired.set()
                client.interrupt()

    with pytest.raises(ComfyError, match="interrupted"):
        client.run(graph, on_event=on_event)
    assert progress and progress[0][1] == 4 * 30
    assert progress[-1][0] < 4 * 30


def test_user_word_lists_are_used_reported_and_rerun(comfy, client):
    folder = comfy.user_dir / "lantern" / "wordlists"
    folder.mkdir(parents=True, exist_ok=True)
    good, bad, neg = folder / "nature.subjects.txt", folder / "dinosaurs.subjects.txt", folder / "negatives.txt"
    graph = {"1": {"class_type": "LanternInspiration", "inputs": {
        "theme": "food", "count": 2, "seed": 77, "variety": 5, "theme_check": False, "word_lists": True,
        "subject": "", "style": "", "palette": "", "medium": ""}}}
    try:
        before = client.run(graph).outputs["1"]["text"][0]
        assert "word lists:" not in before
        good.write_text("# mine\nglass heron sculpture\n", encoding="utf-8")
        bad.write_text("t-rex\n", encoding="utf-8")
        body = client.get("/lantern/inspire", theme="nature", n=120, seed=1, check=0)
        assert body["wordlists"] == ["nature.subjects.txt"]
        assert any("dinosaurs.subjects.txt" in w and "unknown theme" in w for w in body["warnings"])
        assert any("glass heron sculpture" in p["prompt"].lower() for p in body["prompts"])
        neg.write_text("lens dirt\n", encoding="utf-8")
        after = client.run(graph).outputs["1"]["text"][0]  # same inputs, new files: the node runs again
        assert "word lists: nature.subjects.txt, negatives.txt" in after
        assert "word list dinosaurs.subjects.txt skipped" in after
    finally:
        for f in (good, bad, neg):
            f.unlink(missing_ok=True)
