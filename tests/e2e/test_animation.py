"""Prompt-sequence animation on the real host: schedule -> animator -> in-betweens -> files opened and checked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from lantern.client import ComfyError
from lantern.export.probe import probe

from tests.e2e.graphs import DEMO_CHECKPOINT

SCHEDULE = "0: a red lantern on a table\n4: a blue lantern in the snow | ease: ease-in-out\n7: a green lantern in a forest"


def animation_graph(strategy="keyframes", frames=8, size=64, steps=4, seed=3, prefix="lantern_e2e/anim",
                    formats=("h264-mp4", "gif"), multiplier=2, schedule=SCHEDULE, seed_mode="travelling",
                    inbetween_cfg=1.0):
    graph = {
        "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": DEMO_CHECKPOINT}},
        "2": {"class_type": "LanternPromptSchedule", "inputs": {
            "clip": ["1", 1], "schedule": schedule, "frames": frames, "pre_text": "", "app_text": "",
            "negative": "blurry", "interpolation": "slerp", "default_easing": "linear", "loop": False,
            "min_spacing": 2}},
        "3": {"class_type": "LanternAnimator", "inputs": {
            "model": ["1", 0], "vae": ["1", 2], "positive": ["2", 0], "negative": ["2", 1], "width": size,
            "height": size, "frames": 0, "strategy": strategy, "seed": seed, "seed_mode": seed_mode, "steps": steps,
            "cfg": 6.0, "sampler_name": "euler", "scheduler": "normal", "inbetween_denoise": 0.25,
            "inbetween_cfg": inbetween_cfg, "keyframe_every": 4, "batch_size": 4}},
        "4": {"class_type": "LanternFrameInterpolate", "inputs": {
            "images": ["3", 0], "multiplier": multiplier, "easing": "linear", "loop": False}},
    }
    for i, fmt in enumerate(formats):
        graph[str(10 + i)] = {"class_type": "LanternSaveAnimation", "inputs": {
            "images": ["4", 0], "filename_prefix": prefix, "format": fmt, "fps": 8.0, "quality": -1,
            "loop_count": 0, "pingpong": False, "save_first_frame": True}}
    if not formats:  # an output node so ComfyUI runs the graph
        graph["20"] = {"class_type": "PreviewImage", "inputs": {"images": ["3", 0]}}
    return graph


def saved(comfy, result, node_id) -> Path:
    items = result.files(node_id)
    assert len(items) == 1, result.outputs.get(node_id)
    return Path(comfy.output_dir) / items[0]["subfolder"] / items[0]["filename"]


def report(result, node_id) -> dict:
    return json.loads(result.outputs[node_id]["text"][0])


def test_schedule_to_mp4_and_gif(comfy, client):
    workflow = {"nodes": [], "note": "lantern e2e"}
    result = client.run(animation_graph(), extra_pnginfo={"workflow": workflow})
    info = report(result, "2")
    assert [k["frame"] for k in info["keys"]] == [0, 4, 7] and info["encoded_texts"] == 4  # 3 prompts + negative
    anim = report(result, "3")
    assert anim["keys"] == [0, 4, 7] and anim["model_steps"] == 3 * 4 + 5 * 1
    assert anim["model_evaluations"] == 3 * 4 * 2 + 5 * 1 * 1 and anim["inbetween_cfg"] == 1.0
    assert [(p["frames"], p["steps"], p["cfg"], p["model_evaluations"]) for p in anim["passes"]] == [
        (3, 4, 6.0, 24), (5, 1, 1.0, 5)]
    assert 0.0 < anim["mean_ssim"] <= 1.0
    mp4 = saved(comfy, result, "10")
    gif = saved(comfy, result, "11")
    frames_out = (8 - 1) * 2 + 1
    video = probe(str(mp4))
    assert (video.codec, video.frames, video.width, video.height) == ("h264", frames_out, 64, 64)
    assert video.duration == pytest.approx(frames_out / 8, abs=0.05)
    assert json.loads(video.metadata["prompt"])["3"]["class_type"] == "LanternAnimator"
    assert json.loads(video.metadata["workflow"]) == workflow
    anim_gif = probe(str(gif))
    assert (anim_gif.frames, anim_gif.width, anim_gif.loop) == (frames_out, 64, 0)
    comment = json.loads(anim_gif.metadata["comment"])
    assert comment["workflow"] == workflow and "LanternPromptSchedule" in json.dumps(comment["prompt"])
    first = mp4.with_suffix(".png")
    with Image.open(first) as im:
        assert im.size == (64, 64) and json.loads(im.info["workflow"]) == workflow
    assert not [p for p in mp4.parent.iterdir() if p.name.startswith(".")]  # no temporary files left


def test_keyframes_cheaper_than_full_and_both_consistent(client):
    full = report(client.run(animation_graph("full", prefix="lantern_e2e/full", formats=())), "3")
    keys = report(client.run(animation_graph("keyframes", prefix="lantern_e2e/keys", formats=())), "3")
    assert full["model_steps"] == 8 * 4 and full["model_evaluations"] == 8 * 4 * 2
    assert keys["cost_vs_full"] == pytest.approx(keys["model_evaluations"] / full["model_evaluations"], abs=1e-3)
    assert keys["cost_vs_full"] <= 0.6
    assert 0.0 < full["mean_ssim"] <= 1.0 and 0.0 < keys["mean_ssim"] <= 1.0


def test_inbetween_cfg_guides_only_the_inbetween_pass(client):
    runs = {}
    for value in (1.0, 6.0):  # 6.0 is the graph's cfg; seed 11 so no earlier test's cached result is reused
        result = client.run(animation_graph("keyframes", formats=(), inbetween_cfg=value, seed=11))
        runs[value] = (report(result, "3"), [im.convert("RGB").tobytes() for im in client.images(result, "20")])
    (at_one, frames_one), (at_cfg, frames_cfg) = runs[1.0], runs[6.0]
    assert at_one["model_steps"] == at_cfg["model_steps"] == 3 * 4 + 5 * 1
    assert at_cfg["model_evaluations"] == 2 * at_cfg["model_steps"]
    assert at_one["model_evaluations"] == 3 * 4 * 2 + 5 * 1
    assert len(frames_one) == len(frames_cfg) == 8
    assert all(frames_one[k] == frames_cfg[k] for k in (0, 4, 7))  # keys keep cfg
    assert any(frames_one[f] != frames_cfg[f] for f in (1, 2, 3, 5, 6))  # in-betweens use inbetween_cfg


@pytest.mark.parametrize("schedule,message", [
    ("", "schedule is empty"),
    ("0: only one", "one key only"),
    ("0: a\n6: b\n3: c", "line 3: key 3 comes after key 6"),
    ("0: a\n12: b", "line 2: key 12 is beyond the last frame (7)"),
    ("0: a\nx: b", "line 2: expected a whole frame number"),
])
def test_bad_schedules_are_refused_with_the_line(client, schedule, message):
    with pytest.raises(ComfyError) as error:
        client.run(animation_graph(schedule=schedule, formats=("gif",), prefix="lantern_e2e/bad"))
    assert "LanternPromptSchedule" in str(error.value) and message in str(error.value)


def test_frames_mismatch_and_huge_frames_refused(client):
    graph = animation_graph(formats=("gif",), prefix="lantern_e2e/bad")
    graph["3"]["inputs"]["frames"] = 5
    with pytest.raises(ComfyError, match="frames=5 but the schedule has 8 frames"):
        client.run(graph)
    graph = animation_graph(formats=("gif",), prefix="lantern_e2e/bad")
    graph["3"]["inputs"].update({"positive": ["5", 0], "frames": 9000, "width": 4096, "height": 4096})
    graph["5"] = {"class_type": "CLIPTextEncode", "inputs": {"text": "a lantern", "clip": ["1", 1]}}
    with pytest.raises(ComfyError, match=r"frames=9000 at 4096x4096 would need about \d+\.\d GiB"):
        client.run(graph)


def test_prompt_animation_workflow(comfy, client, workflows_dir):
    graph = json.loads((workflows_dir / "prompt_animation.api.json").read_text())
    ui_twin = json.loads((workflows_dir / "prompt_animation.json").read_text())
    result = client.run(graph, extra_pnginfo={"workflow": ui_twin})
    frames = graph["2"]["inputs"]["frames"] * graph["4"]["inputs"]["multiplier"]  # looped in-betweening
    size = graph["3"]["inputs"]["width"]
    mp4, gif = saved(comfy, result, "5"), saved(comfy, result, "6")
    video = probe(str(mp4))
    assert (video.codec, video.frames, video.width, video.height) == ("h264", frames, size, size)
    assert video.duration == pytest.approx(frames / 12, abs=0.05)
    assert json.loads(video.metadata["workflow"])["nodes"]
    anim = probe(str(gif))
    assert (anim.frames, anim.width, anim.loop) == (frames, size, 0)
    assert anim.duration == pytest.approx(frames / 12, abs=0.1)
    with Image.open(mp4.with_suffix(".png")) as first:
        assert json.loads(first.info["workflow"]) == ui_twin
    rep = report(result, "3")
    assert rep["keys"] == [0, 4, 8] and rep["cost_vs_full"] < 0.5
    vae_report = result.outputs["7"]["text"][0]  # the workflow decodes through LanternOptimizeVAE (auto)
    assert vae_report.startswith("LanternOptimizeVAE: chose ") and "result: " in vae_report, vae_report
