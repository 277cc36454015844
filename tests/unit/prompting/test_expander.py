import pytest
from hypothesis import given, settings, strategies as st

from lantern.prompting.expander import expand, theme_names
from lantern.prompting.reading import read_prompt

# Stored expected strings: the same inputs and seed must give exactly this text on every run and machine.
# A deliberate change to the expander bumps EXPANDER_VERSION and regenerates these.
GOLDEN_EST = {
    ("red kite over a green field, watercolor", (("seed", 0),)):
        "red kite over a green field, watercolor, soft washes, natural light, soft window shadows, close-up, rich glazes, sense of scale, thoughtful framing, hand-painted feel, strong silhouette, visible brushstrokes, rich atmosphere, loose painterly background, gentle atmospheric perspective, gallery quality painting, well-defined shapes",
    ("evening in a city with lantern lights", (("seed", 7), ("theme", "cozy"))):
        "evening in a city with lantern lights, palette of amber, navy and purple, leading lines, rain on the window, sense of scale, warm blankets, thoughtful framing, stacked books, pleasing contrast, glowing hearth, rich atmosphere, soft knit textures, well-defined shapes, flickering candle, carefully composed, quiet afternoon, harmonious colors, potted plants",
    ("(masterpiece:1.2) embedding:easyneg <lora:foo:0.7> line art of a cat", (("seed", 3), ("strength", 0.5))):
        "(masterpiece:1.2) embedding:easyneg <lora:foo:0.7> line art of a cat, white background, uniform stroke weight, golden light, warm golden highlights, eye level, sketchbook feel, harmonious colors",
    ("portrait of an old fisherman, oil painting", (("seed", 42), ("budget", 60))):
        "portrait of an old fisherman, oil painting, visible brushstrokes, rich layered pigment, rim light, bright outline, expressive brushwork, thoughtful framing, subtle texture, painterly texture, refined details, rich glazes, quiet details in the background, soft blended edges, pleasing contrast",
}
GOLDEN_CLIP = {
    ("red kite over a green field, watercolor", (("seed", 0),)):
        "red kite over a green field, watercolor, soft washes, natural light, soft window shadows, close-up, rich glazes, sense of scale, thoughtful framing, hand-painted feel, strong silhouette, visible brushstrokes, rich atmosphere, loose painterly background, gentle atmospheric perspective, gallery quality painting, well-defined shapes, painterly texture, pleasing contrast",
    ("(masterpiece:1.2) embedding:easyneg <lora:foo:0.7> line art of a cat", (("seed", 3), ("strength", 0.5))):
        "(masterpiece:1.2) embedding:easyneg <lora:foo:0.7> line art of a cat, white background, uniform stroke weight, golden light, warm golden highlights, eye level, sketchbook feel, harmonious colors, hand-drawn texture",
}
GOLDEN_NEG = ("photo, shading, color fill, 3d render, blurry lines, blurry, low quality, jpeg artifacts, watermark, "
              "text, signature, deformed, bad anatomy, extra limbs, cropped, out of frame, duplicate, lowres, noise")


@pytest.mark.parametrize("key", list(GOLDEN_EST))
def test_stored_expansions_estimate(est_counter, key):
    text, kw = key
    assert expand(text, counter=est_counter, **dict(kw))["positive"] == GOLDEN_EST[key]


@pytest.mark.parametrize("key", list(GOLDEN_CLIP))
def test_stored_expansions_clip(clip_counter, key):
    text, kw = key
    out = expand(text, counter=clip_counter, **dict(kw))
    assert out["positive"] == GOLDEN_CLIP[key]
    assert out["tokens"] <= out["target"] <= out["budget"]


def test_negative_matches_the_look(clip_counter):
    out = expand("(masterpiece:1.2) embedding:easyneg <lora:foo:0.7> line art of a cat", seed=3, strength=0.5,
                 counter=clip_counter)
    assert out["negative"] == GOLDEN_NEG
    assert out["looks"] == ["drawn"]


def test_seed_changes_text_and_is_stable(est_counter):
    a = expand("a lighthouse on a cliff", seed=1, counter=est_counter)["positive"]
    b = expand("a lighthouse on a cliff", seed=2, counter=est_counter)["positive"]
    assert a != b
    assert a == expand("a lighthouse on a cliff", seed=1, counter=est_counter)["positive"]


def test_detected_style_is_reinforced_never_contradicted(est_counter):
    out = expand("a fox, line art", seed=5, counter=est_counter)
    added = " ".join(out["added"]).lower()
    assert any(p in out["added"] for p in ["clean lines", "uniform stroke weight", "white background"])
    for bad in ("photo", "film grain", "3d", "bokeh", "shading", "85mm"):
        assert bad not in added
    assert "line art" not in out["negative"]


def test_budget_respected(clip_counter):
    for budget in (20, 40, 75):
        out = expand("a cabin in the woods", seed=0, budget=budget, counter=clip_counter)
        assert out["tokens"] <= budget
    over = expand(", ".join(["a red kite"] * 30), seed=0, budget=10, counter=clip_counter)
    assert over["added"] == [] and over["notes"]


def test_strength_zero_adds_nothing(est_counter):
    out = expand("a cabin in the woods", seed=0, strength=0.0, counter=est_counter)
    assert out["positive"] == "a cabin in the woods" and out["added"] == []


def test_theme_words_used(est_counter):
    out = expand("a cabin", seed=0, theme="winter", counter=est_counter)
    from lantern.prompting.expander import pools
    assert set(out["added"]) & set(pools()["themes"]["winter"]["words"])
    custom = expand("a cabin", seed=0, theme="moss, lichen, old stones", counter=est_counter)
    assert {"moss", "lichen", "old stones"} & set(custom["added"])
    assert "winter" in theme_names()


def test_no_repeated_phrases(est_counter):
    out = expand("a cabin", seed=9, counter=est_counter)
    assert len(out["added"]) == len(set(out["added"]))


@pytest.mark.parametrize("bad", [dict(seed="x"), dict(strength=2.0), dict(strength="lots")])
def test_bad_arguments_raise_clear_errors(est_counter, bad):
    kw = dict(seed=0)
    kw.update(bad)
    with pytest.raises(ValueError) as e:
        expand("a cabin", counter=est_counter, **kw)
    assert list(bad)[0] in str(e.value)


def test_empty_prompt(est_counter):
    out = expand("   ", seed=0, counter=est_counter)
    assert out["notes"]
    assert "palette of cream" not in out["positive"]


@settings(max_examples=40, deadline=None)
@given(st.text(max_size=200), st.integers(min_value=0, max_value=2**63 - 1))
def test_user_text_survives_verbatim(est_counter, text, seed):
    out = expand(text, seed=seed, counter=est_counter)
    prefix = text.rstrip()
    while prefix.endswith(","):
        prefix = prefix[:-1].rstrip()
    assert out["positive"].startswith(prefix)
    assert out["tokens"] <= max(out["budget"], est_counter.count(prefix))
