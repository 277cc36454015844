import json

import pytest
from hypothesis import given, settings, strategies as st

from lantern.prompting.reading import READING_SCHEMA, SCHEMA_ID, read_prompt


@pytest.fixture(scope="module")
def read(est_counter):
    def _read(text, **kw):
        kw.setdefault("semantic", False)
        return read_prompt(text, counter=est_counter, **kw)
    return _read


def test_reading_of_a_typical_prompt(read):
    r = read("red kite over a green field, watercolor")
    assert r["schema"] == SCHEMA_ID
    assert r["subject"] == ["kite"]
    assert r["scene"] == ["field"]
    assert r["medium"] == ["watercolor"]
    assert [c["name"] for c in r["colours"]] == ["red", "green"]
    assert r["colours"][0]["rgb"] == [200, 34, 42] and r["colours"][0]["hex"] == "#c8222a"
    assert r["palette"][0]["name"] == "red" and r["palette"][0]["source"] == "named"
    assert 3 <= len(r["palette"]) <= 6


def test_lantern_city_reading(read):
    r = read("evening in a city with lantern lights")
    assert r["time_of_day"] == ["evening"]
    assert r["lighting"] == ["lantern light"]
    assert r["subject"] == ["city"] and r["subject_source"] == "scene"
    names = [p["name"] for p in r["palette"]]
    assert "amber" in names  # the lanterns' tint
    assert {p["source"] for p in r["palette"]} >= {"lighting:lantern light", "time:evening"}


def test_all_schema_keys_present_and_json_serialisable(read):
    r = read("a samurai in a bamboo forest at dawn, cinematic, close-up, serene")
    for key in READING_SCHEMA["required"]:
        assert key in r, key
    json.dumps(r)
    assert r["style"] == ["cinematic"] and r["mood"] == ["serene"]
    assert r["composition"][0] == {"name": "close-up", "kind": "shot"}


def test_movement_is_also_a_style(read):
    r = read("impressionist painting of a garden")
    assert r["style"] == ["impressionism"] and r["movement"] == ["impressionism"]


def test_ambiguous_colour_words(read):
    assert [c["name"] for c in read("an orange cat on a sofa")["colours"]] == ["orange"]
    assert read("an orange on a table")["colours"] == []
    assert [c["name"] for c in read("orange and teal, a man walking")["colours"]] == ["orange", "teal"]


def test_subject_roles(read):
    assert read("a bowl of ramen on a table")["subject"] == ["ramen"]
    r = read("a fox sleeping under a pine tree")
    assert r["subject"] == ["fox"] and "pine tree" in r["objects"]
    assert read("a witch's cottage in a forest")["subject"] == ["cottage"]
    assert read("a girl walking a dog")["subject"] == ["girl", "dog"]


def test_keywords_ordered_by_salience(read):
    r = read("a lighthouse on a cliff, (storm:1.4), oil painting")
    scores = [k["score"] for k in r["keywords"]]
    assert scores == sorted(scores, reverse=True)
    assert r["keywords"][0]["canonical"] in ("lighthouse", "storm")


def test_conflicting_styles_warned(read):
    r = read("a photorealistic anime girl")
    codes = [w["code"] for w in r["warnings"]]
    assert "style_conflict" in codes
    w = next(w for w in r["warnings"] if w["code"] == "style_conflict")
    assert "photorealistic" in w["message"] and "anime" in w["message"] and w["fix"]


def test_weak_prompt_gets_warnings_and_variants(read):
    r = read("a castle")
    codes = {w["code"] for w in r["warnings"]}
    assert {"no_style_or_medium", "no_lighting"} <= codes
    assert 1 <= len(r["variants"]) <= 3
    for v in r["variants"]:
        assert v.startswith("a castle, ") and len(v) > len("a castle, ")
    assert len(set(r["variants"])) == len(r["variants"])


def test_misspelling_detected_and_fixed_in_variants(read):
    r = read("a watercolr painting of a ligthhouse at sunest")
    found = {m["word"]: m["suggestion"] for m in r["misspellings"]}
    assert found.get("watercolr") == "watercolor"
    assert found.get("sunest") == "sunset"
    assert any("watercolor" in v and "watercolr" not in v for v in r["variants"])


def test_over_window_warning(read):
    r = read(", ".join(["a red kite over a green field"] * 15))
    codes = [w["code"] for w in r["warnings"]]
    assert "over_window" in codes
    assert r["tokens"]["windows_used"] >= 2


def test_semantic_fallback_is_reported(read, monkeypatch):
    from lantern import semantic

    monkeypatch.setenv(semantic.ENV_DISABLE, "1")
    semantic._reset_for_tests()
    try:
        r = read("a quiet harbour at dawn", semantic="auto")
        assert r["semantic"]["method"] == "lexical"
        assert "unavailable" in r["semantic"]["note"]
        assert r["suggestions"]["style"]  # lexical suggestions still there
    finally:
        monkeypatch.delenv(semantic.ENV_DISABLE)
        semantic._reset_for_tests()


# ---- bad input ----------------------------------------------------------------------------
@pytest.mark.parametrize("text", ["", "   ", "\n\t", None])
def test_empty_input(read, text):
    r = read(text)
    assert r["empty"] is True
    assert r["warnings"][0]["code"] == "empty"
    assert r["variants"] == [] and r["subject"] == []
    assert len(r["palette"]) >= 3


def test_ten_thousand_characters(read):
    text = ("a red kite over a green field at sunset, watercolor, " * 200)[:10000]
    r = read(text)
    assert r["tokens"]["windows_used"] > 3
    assert {"over_window", "too_long"} <= {w["code"] for w in r["warnings"]}
    assert r["subject"] == ["kite"]


def test_weighting_and_embedding_syntax(read):
    r = read("(masterpiece:1.2), embedding:easyneg, <lora:ink:0.8> (red:1.5) fox")
    assert r["syntax"]["embeddings"] == ["easyneg"]
    assert r["syntax"]["tags"] == ["<lora:ink:0.8>"]
    assert {"text": "red", "weight": 1.5} in r["syntax"]["weighted"]
    assert r["subject"] == ["fox"] and [c["name"] for c in r["colours"]] == ["red"]
    assert "easyneg" not in r["subject"]


def test_emoji_control_chars_and_cyrillic(read):
    r = read("кот на крыше 🐱\x00\x1b")
    codes = {w["code"] for w in r["warnings"]}
    assert {"non_english", "emoji", "control_characters"} <= codes
    assert r["language"]["non_latin_words"] == 3 and r["language"]["emoji"] == 1
    r2 = read("🐱🌙")
    assert r2["empty"] is True and r2["warnings"][0]["code"] == "no_words"


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=300))
def test_any_text_gives_a_reading(est_counter, text):
    r = read_prompt(text, counter=est_counter, semantic=False)
    assert r["schema"] == SCHEMA_ID
    assert 3 <= len(r["palette"]) <= 6
    json.dumps(r)


def test_theme_and_palette_by_meaning(est_counter):
    from lantern import semantic

    if not semantic.available():
        pytest.skip("MiniLM not installed")
    r = read_prompt("a haunted house", counter=est_counter, semantic=True)
    assert r["semantic"]["method"] == "minilm"
    assert r["suggestions"]["theme"][0] == "horror"
    assert r["suggestions"]["style"][0] == "horror"  # close in meaning, ranked first
    assert not any(p["source"] == "default" for p in r["palette"])
    assert any(p["source"] == "meaning" for p in r["palette"])


def test_lexical_theme_suggestion(read):
    r = read("a cozy cabin with warm blankets")
    assert r["suggestions"]["theme"][0] == "cozy"
    assert r["semantic"]["method"] == "lexical"


def test_misspellings_without_pyspellchecker_stay_conservative(read, monkeypatch):
    from lantern.prompting import diagnose

    monkeypatch.setitem(diagnose._spell, "loaded", True)
    monkeypatch.setitem(diagnose._spell, "checker", None)
    r = read("a watercolr of a ligthhouse; a knight fighting, earth below, a flaming sword on a hill")
    assert {m["word"]: m["suggestion"] for m in r["misspellings"]} == {"watercolr": "watercolor", "ligthhouse": "lighthouse"}
