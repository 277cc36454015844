from hypothesis import given, strategies as st

from lantern.prompting import syntax


def test_weights_follow_comfyui_rules():
    segs = syntax.weighted_segments("a (red:1.3) kite, ((big)) field, \\(literal\\)")
    as_pairs = [(s.text, round(s.weight, 4)) for s in segs]
    assert ("red", 1.3) in as_pairs
    assert ("big", 1.21) in as_pairs  # two levels of x1.1
    assert any(t.endswith("(literal)") and w == 1.0 for t, w in as_pairs)


def test_parse_collects_embeddings_tags_and_weights():
    p = syntax.parse("(masterpiece:1.2) embedding:easyneg <lora:film:0.7> a cat\x07 on a mat")
    assert p.embeddings == ["easyneg"]
    assert p.tags == ["<lora:film:0.7>"]
    assert p.weighted == [{"text": "masterpiece", "weight": 1.2}]
    assert p.control_chars == 1
    assert "embedding" not in p.plain and "lora" not in p.plain
    assert "cat" in p.plain and "\x07" not in p.clean


def test_unbalanced_detected():
    assert syntax.parse("a (red kite").unbalanced
    assert not syntax.parse("a (red) kite \\(").unbalanced


def test_escape_for_prompt_is_read_literally():
    esc = syntax.escape_for_prompt("smile (big)")
    segs = syntax.weighted_segments(esc)
    assert len(segs) == 1 and segs[0].text == "smile (big)" and segs[0].weight == 1.0


@given(st.text(max_size=200))
def test_parse_never_raises(s):
    p = syntax.parse(s)
    assert isinstance(p.plain, str)
    assert p.control_chars >= 0
