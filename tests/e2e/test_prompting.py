"""Prompt intelligence on the real ComfyUI host: the three nodes, the reading route, the prompt_to_image workflow."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from lantern.client import ComfyError
from lantern.prompting.reading import READING_SCHEMA
from tests.e2e.graphs import DEMO_CHECKPOINT
from tests.tiny_models import build_tiny_gpt2

PACK = Path(__file__).resolve().parents[2]
WORKFLOW = PACK / "workflows" / "prompt_to_image.api.json"


def _http(comfy, path, body=None, method=None):
    data = json.dumps(body).encode() if isinstance(body, (dict, list)) else body
    req = urllib.request.Request(comfy.url + path, data=data, method=method or ("POST" if data is not None else "GET"),
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def _options(spec) -> list:
    if spec[0] == "COMBO":
        return spec[1]["options"]
    return spec[0]


def test_nodes_registered_with_presets_and_themes(comfy):
    info = comfy.object_info
    for node_id in ("LanternPromptInterpreter", "LanternPromptExpander", "LanternStyleStack"):
        assert node_id in info and info[node_id]["category"] == "Lantern/prompt"
    styles = _options(info["LanternStyleStack"]["input"]["required"]["style_1"])
    assert len([s for s in styles if s.startswith("Lantern ")]) >= 60
    themes = _options(info["LanternPromptExpander"]["input"]["required"]["theme"])
    assert {"none", "cozy", "winter"} <= set(themes)
    assert "reading_json" in info["LanternPromptInterpreter"]["output_name"]


def test_prompt_to_image_workflow_and_reading_in_history(client):
    graph = json.loads(WORKFLOW.read_text())
    result = client.run(graph)
    images = client.images(result, "9")
    assert len(images) == 1 and images[0].size == (128, 128)
    assert len(np.unique(np.asarray(images[0]).reshape(-1, 3), axis=0)) > 500
    # the interpreter shows its reading on the node: UI data in the history
    ui = result.outputs["10"]
    reading = ui["lantern_reading"][0]
    assert reading["schema"] == "lantern.reading/1"
    assert reading["time_of_day"] == ["evening"] and reading["lighting"] == ["lantern light"]
    assert reading["tokens"]["method"] == "clip"  # counted with the checkpoint's own tokenizer
    assert ui["lantern_palette"] == [p["hex"] for p in reading["palette"]]
    assert "subject: city" in ui["text"][0]
    # the expander kept the interpreter's variant verbatim and the style stack wrapped it
    expander_text = result.outputs["11"]["text"][0]
    stack_text = result.outputs["12"]["text"][0]
    variant = reading["variants"][0]
    assert expander_text.startswith("+ " + variant)
    assert stack_text.startswith("+ watercolor painting of " + variant)


def test_expander_is_reproducible_through_the_host(client, comfy):
    def graph(seed):
        return {
            "1": {"class_type": "LanternPromptExpander", "inputs": {
                "text": "(red:1.2) kite over a field, embedding:foo", "seed": seed, "strength": 1.0, "budget": 0,
                "theme": "none", "theme_words": "", "mode": "vocabulary", "model": "none", "styles": "Lantern Pixel Art:1.1"}},
            "2": {"class_type": "LanternStyleStack", "inputs": {
                "text": ["1", 0], "negative": ["1", 1], "style_1": "none", "weight_1": 1.0, "style_2": "none",
                "weight_2": 1.0, "style_3": "none", "weight_3": 1.0, "style_4": "none", "weight_4": 1.0, "more_styles": ""}},
        }
    a = client.run(graph(5)).outputs["2"]["text"][0]
    client.free()
    b = client.run(graph(5)).outputs["2"]["text"][0]
    c = client.run(graph(6)).outputs["2"]["text"][0]
    assert a == b and a != c
    assert "(red:1.2) kite over a field, embedding:foo" in a
    from lantern.prompting.tokens import get_counter

    final = a.splitlines()[0][2:]
    assert final.startswith("(pixel art of:1.10) (red:1.2) kite")
    assert get_counter().count(final) <= 75  # the styles' words share the window with the expansion
    for photo_word in ("film grain", "bokeh", "85mm", "skin texture"):
        assert photo_word not in final
    status, direct = _http(comfy, "/lantern/prompt/expand", {"text": "(red:1.2) kite over a field, embedding:foo", "seed": 5})
    assert status == 200 and direct["positive"].startswith("(red:1.2) kite over a field, embedding:foo, ")


def test_read_route_get_and_post(comfy):
    status, r = _http(comfy, "/lantern/prompt/read?" + urllib.parse.urlencode({"text": "red kite over a green field, watercolor", "semantic": "0"}))
    assert status == 200
    assert r["subject"] == ["kite"] and r["medium"] == ["watercolor"]
    assert [c["name"] for c in r["colours"]] == ["red", "green"]
    assert r["semantic"]["method"] == "lexical"
    for key in READING_SCHEMA["required"]:
        assert key in r
    status, r2 = _http(comfy, "/lantern/prompt/read", {"text": "a photorealistic anime girl, watercolr"})
    assert status == 200
    codes = {w["code"] for w in r2["warnings"]}
    assert {"style_conflict", "misspelling"} <= codes
    status, sugg = _http(comfy, "/lantern/prompt/styles/suggest?" + urllib.parse.urlencode(
        {"text": "a dragon over a castle, epic fantasy", "k": 3, "semantic": "0"}))
    assert status == 200 and sugg["method"] == "lexical"
    assert sugg["styles"][0]["name"] == "Lantern Fantasy Epic" and len(sugg["styles"]) <= 3
    status, schema = _http(comfy, "/lantern/prompt/schema")
    assert status == 200 and schema["$id"] == "lantern.reading/1"


@pytest.mark.parametrize("body,code,needle", [
    (b"not json", 400, "JSON"),
    ({"text": 5}, 400, "'text' must be a string"),
    ({"text": "x" * 20001}, 413, "at most 20000"),
])
def test_read_route_bad_input(comfy, body, code, needle):
    status, r = _http(comfy, "/lantern/prompt/read", body, method="POST")
    assert status == code and needle in r["error"]


def test_bad_prompts_read_without_crash(comfy):
    for text in ["", "   ", "кот на крыше 🐱", "a\x00b\x1bc", "(masterpiece:1.2) embedding:x <lora:y:0.5>",
                 ("a red kite, " * 900)[:10000]]:
        status, r = _http(comfy, "/lantern/prompt/read", {"text": text, "semantic": False})
        assert status == 200, (text[:20], r)
        assert r["warnings"] or r["empty"] is False


def test_style_stack_reports_bad_user_files_and_unknown_names(comfy, client):
    folder = Path(comfy.user_dir) / "lantern" / "styles"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "mine.json").write_text(json.dumps({"name": "My Riso", "prompt": "risograph of {prompt}", "tags": ["print"]}))
    (folder / "broken.json").write_text("{oops")
    status, r = _http(comfy, "/lantern/prompt/styles")
    assert status == 200
    assert "My Riso" in [s["name"] for s in r["styles"]]
    assert [e["file"] for e in r["errors"]] == ["broken.json"]
    graph = {"1": {"class_type": "LanternStyleStack", "inputs": {
        "text": "a fox", "negative": "", "style_1": "none", "weight_1": 1.0, "style_2": "none", "weight_2": 1.0,
        "style_3": "none", "weight_3": 1.0, "style_4": "none", "weight_4": 1.0, "more_styles": "My Riso:1.2"}}}
    out = client.run(graph).outputs["1"]["text"][0]
    assert out.startswith("+ (risograph of:1.20) a fox")
    assert "skipped broken.json" in out
    graph["1"]["inputs"]["more_styles"] = "No Such Style"
    with pytest.raises(ComfyError, match="not a known preset"):
        client.run(graph)


def test_generative_mode_without_model_is_a_clear_error(client):
    graph = {"1": {"class_type": "LanternPromptExpander", "inputs": {
        "text": "a fox", "seed": 1, "strength": 1.0, "budget": 0, "theme": "none", "theme_words": "",
        "mode": "generative", "model": "none", "styles": ""}}}
    with pytest.raises(ComfyError, match="models/prompt_expansion"):
        client.run(graph)


def test_window_map_matches_comfyui_tokenizer(comfy):
    """Lantern's window map against ComfyUI's own SDTokenizer, in a separate process with the host on sys.path."""
    script = f"""
import sys, random
sys.path.insert(0, {str(comfy.server.comfy_dir)!r}); sys.path.insert(0, {str(PACK)!r})
sys.argv = ['x', '--cpu']
from comfy.cli_args import args; args.cpu = True
from comfy.sd1_clip import SDTokenizer
from lantern.prompting.tokens import get_counter
tk = SDTokenizer(embedding_directory=None, tokenizer_data={{}})
c = get_counter(tk.tokenizer)
r = random.Random(3)
words = 'red kite over green field watercolor masterpiece extraordinarily photorealistic lantern, lights (glow:1.3) ((soft)) sci-fi'.split()
bad = 0
for _ in range(150):
    t = ' '.join(r.choice(words) for _ in range(r.randint(1, 140)))
    theirs = [sum(1 for tok, w, wid in b if wid > 0) for b in tk.tokenize_with_weights(t, return_word_ids=True)]
    mine = [w['tokens'] for w in c.window_map(t)['windows']] or [0]
    bad += theirs != mine
print('MISMATCH', bad)
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert "MISMATCH 0" in out.stdout, out.stdout + out.stderr


def test_generative_mode_with_a_local_model(comfy, client):
    folder = Path(comfy.server.base_dir) / "models" / "prompt_expansion" / "tiny-gpt2"
    build_tiny_gpt2(folder)
    info = client.object_info()  # the model list is read when the schema is built
    assert "tiny-gpt2" in _options(info["LanternPromptExpander"]["input"]["required"]["model"])

    def graph(seed):
        return {"1": {"class_type": "LanternPromptExpander", "inputs": {
            "text": "(red:1.2) kite over a field, watercolor", "seed": seed, "strength": 1.0, "budget": 40,
            "theme": "none", "theme_words": "", "mode": "generative", "model": "tiny-gpt2", "styles": ""}}}
    first = client.run(graph(3)).outputs["1"]["text"][0]
    client.free()
    again = client.run(graph(3)).outputs["1"]["text"][0]
    assert first == again
    assert first.startswith("+ (red:1.2) kite over a field, watercolor, ")
    assert "mode generative" in first
