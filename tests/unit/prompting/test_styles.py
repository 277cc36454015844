import json

import pytest

from lantern.prompting.styles import (
    SHIPPED_DIR,
    StyleLibrary,
    apply_stack,
    get_library,
    load_file,
    parse_stack,
)


def test_shipped_presets_are_valid_and_many():
    lib = StyleLibrary()
    assert lib.errors == []
    assert len(lib.names()) >= 60
    for n in lib.names():
        p = lib.get(n)
        assert p.prompt.count("{prompt}") == 1 and p.tags and n.startswith("Lantern ")


def test_malformed_user_files_reported_by_name_and_skipped(tmp_path):
    (tmp_path / "good.json").write_text(json.dumps({"name": "My Ink", "prompt": "ink of {prompt}", "negative_prompt": "color"}))
    (tmp_path / "broken.json").write_text("{ not json")
    (tmp_path / "noplaceholder.json").write_text(json.dumps({"name": "Bad", "prompt": "no placeholder"}))
    (tmp_path / "mixed.json").write_text(json.dumps([{"name": "Fine", "prompt": "{prompt}, fine"}, {"prompt": "{prompt}"}]))
    (tmp_path / "latin1.json").write_bytes(b'{"name": "caf\xe9", "prompt": "{prompt}"}')
    lib = StyleLibrary(user_dirs=[tmp_path])
    files = {e["file"] for e in lib.errors}
    assert files == {"broken.json", "noplaceholder.json", "mixed.json", "latin1.json"}
    assert any("line 1" in e["error"] for e in lib.errors if e["file"] == "broken.json")
    assert "My Ink" in lib.names() and "Fine" in lib.names() and "Bad" not in lib.names()
    assert len(lib.names()) >= 62  # shipped presets still load


def test_user_preset_overrides_shipped(tmp_path):
    (tmp_path / "o.json").write_text(json.dumps({"name": "Lantern Cartoon", "prompt": "my cartoon {prompt}"}))
    lib = StyleLibrary(user_dirs=[tmp_path])
    assert lib.get("lantern cartoon").prompt == "my cartoon {prompt}"


def test_stack_keeps_user_text_and_weights():
    lib = get_library()
    stack = [(lib.get("Lantern Soft Watercolor"), 1.0), (lib.get("Lantern Cozy Lantern Light"), 0.6)]
    user = "(red:1.2) kite over a field, embedding:foo"
    out = apply_stack(user, stack, negative="blurry")
    assert user in out["positive"]
    assert out["positive"].startswith("watercolor painting of (red:1.2) kite")
    assert "(cozy atmosphere, warm lantern light, soft glowing halos, evening calm:0.60)" in out["positive"]
    assert out["negative"].startswith("blurry, photo, hard edges")
    assert out["names"] == ["Lantern Soft Watercolor", "Lantern Cozy Lantern Light:0.60"]


def test_zero_weight_skips_and_parse_stack():
    lib = get_library()
    spec = parse_stack("Lantern Pixel Art:1.2; Lantern Cartoon:0")
    assert spec == [("Lantern Pixel Art", 1.2), ("Lantern Cartoon", 0.0)]
    out = apply_stack("a knight", [(lib.get(n), w) for n, w in spec])
    assert "cartoon" not in out["positive"].lower() and out["names"] == ["Lantern Pixel Art:1.20"]
    with pytest.raises(ValueError, match="between 0 and 2"):
        parse_stack("Lantern Cartoon:5")


def test_unknown_style_message():
    with pytest.raises(ValueError, match="not a known preset"):
        get_library().get("Lantern Watercolr")


def test_preset_text_with_parentheses_is_escaped_when_weighted(tmp_path):
    (tmp_path / "p.json").write_text(json.dumps({"name": "Paren", "prompt": "{prompt}, smile (big)"}))
    lib = StyleLibrary(user_dirs=[tmp_path], shipped_dir=None)
    out = apply_stack("a cat", [(lib.get("Paren"), 1.3)])
    assert out["positive"] == "a cat, (smile \\(big\\):1.30)"


def test_lexical_suggestion(monkeypatch):
    lib = StyleLibrary()
    res = lib.suggest("a dragon over a castle, epic fantasy", k=3, semantic=False)
    assert res["method"] == "lexical" and res["note"]
    assert res["styles"][0]["name"] == "Lantern Fantasy Epic"


def test_semantic_suggestion():
    from lantern import semantic

    if not semantic.available():
        pytest.skip("MiniLM not installed")
    lib = StyleLibrary()
    res = lib.suggest("neon signs reflecting on wet streets in a futuristic megacity", k=3)
    assert res["method"] == "minilm"
    assert "Lantern Cyberpunk Night" in [s["name"] for s in res["styles"]]
    res2 = lib.suggest("a bowl of fruit photographed for a cookbook", k=3)
    assert "Lantern Food Editorial" in [s["name"] for s in res2["styles"]]


def test_load_file_reports_not_raises(tmp_path):
    p = tmp_path / "list.json"
    p.write_text(json.dumps([1, {"name": "", "prompt": "{prompt}"}]))
    presets, errors = load_file(p)
    assert presets == [] and len(errors) == 2 and all(e["file"] == "list.json" for e in errors)
