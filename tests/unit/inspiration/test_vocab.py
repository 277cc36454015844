"""The vocabulary adapter: our lists, joined with lantern.prompting's words shaped for our sentence frames."""
from __future__ import annotations

from lantern.inspiration import generate
from lantern.inspiration.vocab import _prompting_words, builtin_vocab, general_vocab, medium_kind


def test_builtin_lists_are_sorted_unique_and_kinded():
    v = builtin_vocab()
    assert v.source == "builtin"
    for words in (v.styles, v.mediums, v.lighting, v.colours, v.palettes, v.compositions, v.moods):
        assert len(words) >= 15 and list(words) == sorted(set(words), key=lambda s: (s.lower(), s))
    assert v.kind_of("oil painting") == "painting" and v.kind_of("polaroid photograph") == "photo"
    assert medium_kind("wildlife photograph") == "photo" and medium_kind("linocut print") == "print"


def test_joined_with_prompting_vocabulary_when_importable():
    words = _prompting_words()
    v = general_vocab()
    if words is None:  # lantern.prompting absent: our lists alone
        assert v == builtin_vocab()
        return
    assert v.source == "lantern.prompting+builtin"
    base = builtin_vocab()
    assert set(base.styles) <= set(v.styles) and set(base.mediums) <= set(v.mediums)
    # tags that do not read in our frames are reshaped or left out
    assert "impressionist" in v.styles and "impressionism" not in v.styles
    assert "charcoal drawing" in v.mediums and "charcoal" not in v.mediums
    assert "ambient occlusion" not in v.lighting and "motion blur" not in v.compositions
    assert "low-angle shot" in v.compositions and "low angle" not in v.compositions
    assert not {"pastel", "neon", "rainbow"} & set(v.colours)
    assert v.kind_of("watercolor painting") == "painting" and v.kind_of("3D render") == "render"


def test_prompts_never_pair_overlapping_colours():
    for item in generate("any", 300, seed=17, variety=10).items:
        if item.parts["palette"].count(",") >= 1:
            cols = [c.strip() for c in item.parts["palette"].split(",")]
            words = [w for c in cols for w in c.split()]
            assert len(words) == len(set(words)), cols
