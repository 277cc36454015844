"""Inspiration generator: counts, distinctness, reproducibility, pins, grammar, validation."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from lantern.inspiration import THEME_CHOICES, THEME_ORDER, Pins, builtin_themes, generate, image_seed
from lantern.inspiration.vocab import builtin_vocab, general_vocab

REPO = Path(__file__).resolve().parents[3]
GOLDEN = Path(__file__).with_name("golden_prompts.json")
GOLDEN_CASES = [("nature", 0, 5, 3), ("sci-fi city", 42, 0, 3), ("portrait", 2**63 + 7, 10, 3), ("any", 123456789, 5, 6)]

REQUIRED_THEMES = {"nature", "technology", "science", "fantasy", "architecture", "portrait", "animals", "space",
                   "underwater", "abstract", "food", "sci-fi city", "history", "any"}


def _golden_payload(vocab=None):
    out = []
    for theme, seed, variety, n in GOLDEN_CASES:
        b = generate(theme, n, seed=seed, variety=variety, vocab=vocab)
        out.append({"theme": theme, "seed": seed, "variety": variety,
                    "items": [{"prompt": i.prompt, "negative": i.negative, "seed": i.seed, "theme": i.theme} for i in b.items]})
    return out


def test_all_required_themes_offered():
    assert REQUIRED_THEMES <= set(THEME_CHOICES)
    assert set(builtin_themes()) == set(THEME_CHOICES) - {"any"}


@pytest.mark.parametrize("theme", THEME_CHOICES)
def test_count_distinct_and_theme(theme):
    b = generate(theme, 30, seed=5)
    assert len(b.items) == 30
    assert len(set(p.lower() for p in b.prompts)) == 30
    assert [i.index for i in b.items] == list(range(30))
    if theme != "any":
        assert {i.theme for i in b.items} == {theme}
    else:
        assert len({i.theme for i in b.items}) >= 5


@pytest.mark.parametrize("theme", THEME_ORDER)
def test_hundred_prompts_have_hundred_distinct_subjects(theme):
    b = generate(theme, 100, seed=9)
    assert len({i.parts["subject"].lower() for i in b.items}) == 100


def test_same_inputs_same_outputs_and_seed_matters():
    a = generate("fantasy", 12, seed=77, variety=6)
    b = generate("fantasy", 12, seed=77, variety=6)
    c = generate("fantasy", 12, seed=78, variety=6)
    assert a.to_dict() == b.to_dict()
    assert a.prompts != c.prompts
    assert len(set(a.prompts) & set(c.prompts)) <= 1


def test_prefix_stable_when_count_grows():
    short = generate("any", 5, seed=3)
    long = generate("any", 40, seed=3)
    assert long.prompts[:5] == short.prompts
    assert long.seeds[:5] == short.seeds


@pytest.mark.parametrize("which", ["builtin", "default"])
def test_golden_outputs_unchanged(which):
    """Stored expected outputs guard reproducibility across restarts and releases. "builtin" pins the algorithm on
    our own word lists; "default" pins what users get, whose vocabulary also joins lantern.prompting's words, so it
    fails when those change too (intended: the same seed would give other prompts). Regenerate deliberately with
    LANTERN_REGEN_GOLDEN=1, bump rng.ALGORITHM for algorithm changes, and say so in the release notes."""
    payload = _golden_payload(builtin_vocab() if which == "builtin" else None)
    stored = json.loads(GOLDEN.read_text(encoding="utf-8")) if GOLDEN.exists() else {}
    if os.environ.get("LANTERN_REGEN_GOLDEN") == "1":
        stored[which] = payload
        GOLDEN.write_text(json.dumps(stored, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    assert payload == stored[which], (
        f"inspiration prompts changed for stored seeds ({which} vocabulary, source {general_vocab().source})")


def test_same_prompts_without_inflect(monkeypatch):
    """inflect is optional: the built-in article rules give the same stored prompts."""
    from lantern.inspiration import grammar

    monkeypatch.setattr(grammar, "_engine", lambda: None)
    grammar.indefinite_article.cache_clear()
    try:
        assert _golden_payload() == json.loads(GOLDEN.read_text(encoding="utf-8"))["default"]
        assert generate("any", 200, seed=8).prompts == _prompts_with_inflect
    finally:
        grammar.indefinite_article.cache_clear()


_prompts_with_inflect = generate("any", 200, seed=8).prompts


def test_reproducible_across_processes_with_different_hash_seeds():
    """A fresh interpreter with another PYTHONHASHSEED (this one's is random) gives the same batch."""
    code = ("import json; from lantern.inspiration import generate; "
            "print(json.dumps(generate('any', 8, seed=2024, variety=7).to_dict()))")
    env = dict(os.environ, PYTHONHASHSEED="987")
    r = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, check=True)
    assert json.loads(r.stdout) == generate("any", 8, seed=2024, variety=7).to_dict()


def test_image_seeds_derived_and_distinct():
    b = generate("space", 20, seed=1)
    assert b.seeds == [image_seed(1, i) for i in range(20)]
    assert len(set(b.seeds)) == 20
    assert all(0 <= s < 2**53 for s in b.seeds)
    assert image_seed(1, 0) != image_seed(2, 0)


_WELL_FORMED = re.compile(r"^[A-Z0-9][^\n]*\.$")


def _article_errors(prompt: str) -> list[str]:
    """Independent of inflect: vowel-letter rule with the exceptions our vocabulary really has."""
    errs = []
    for m in re.finditer(r"\b(a|an|A|An) ([\w'-]+)", prompt):
        art, word = m.group(1).lower(), m.group(2).lower()
        vowel_sound = word[0] in "aeio" or (word[0] == "u" and not word.startswith(("uni", "uto", "ukiyo", "use", "uk")))
        vowel_sound = vowel_sound or word.startswith(("hour", "honest", "heir", "hdr")) or word[0] in "8" \
            or word.startswith(("18", "11"))
        if word.startswith(("one", "eu")):
            vowel_sound = False
        if (art == "an") != vowel_sound:
            errs.append(m.group(0))
    return errs


@pytest.mark.parametrize("variety", [0, 5, 10])
def test_prompts_are_well_formed_sentences(variety):
    for theme in THEME_CHOICES:
        for item in generate(theme, 60, seed=13, variety=variety).items:
            p = item.prompt
            assert _WELL_FORMED.match(p), p
            assert "  " not in p and " ," not in p and ",," not in p and ".." not in p, p
            assert _article_errors(p) == [], p
            parts = item.parts
            for key in ("setting", "medium", "lighting", "composition"):
                assert parts[key] and parts[key] in p, (key, p)
            assert parts["subject"].lower() in p.lower()


def test_variety_widens_the_prompts():
    low = generate("nature", 200, seed=4, variety=0).items
    high = generate("nature", 200, seed=4, variety=10).items
    moods = lambda items: sum(1 for i in items if i.parts["mood"])
    details = lambda items: sum(1 for i in items if i.parts["detail"])
    styles = lambda items: len({i.parts["style"] for i in items})
    assert details(low) == 0 and details(high) > 40
    assert moods(high) > moods(low) + 60
    assert styles(high) > styles(low)
    words = lambda items: sum(len(i.prompt.split()) for i in items) / len(items)
    assert words(high) > words(low)


def test_pinned_parts_appear_and_leave_other_parts_unchanged():
    free = generate("animals", 10, seed=21, variety=5)
    pinned = generate("animals", 10, seed=21, variety=5, pins=Pins(style="art nouveau"))
    for f, p in zip(free.items, pinned.items):
        assert "in an art nouveau style" in p.prompt
        assert p.parts["style"] == "art nouveau"
        for key in ("subject", "setting", "medium", "lighting", "composition", "palette"):
            assert f.parts[key] == p.parts[key]


def test_all_pins_together():
    b = generate("food", 25, seed=8, pins=Pins(subject="red fox", style="ukiyo-e style", palette="teal, orange",
                                                medium="watercolor painting"))
    assert len(set(b.prompts)) == 25
    for item in b.items:
        p = item.prompt
        assert "a red fox" in p.lower()
        assert "in a ukiyo-e style" in p
        assert "with a palette of teal and orange" in p
        assert "a watercolor painting" in p.lower()
        assert "photograph," in item.negative  # painting medium -> photo terms in the negative


def test_pinned_plural_and_named_subjects_get_no_article():
    assert all(p.startswith(("Three foxes", "An oil painting of three foxes")) or "three foxes" in p
               for p in generate("animals", 5, seed=1, pins=Pins(subject="three foxes")).prompts)
    for p in generate("animals", 6, seed=1, pins=Pins(subject="foxes")).prompts:
        assert "a foxes" not in p.lower()
    for p in generate("space", 4, seed=1, pins=Pins(palette="pastel")).prompts:
        assert "with a pastel palette" in p


def test_negatives_follow_medium_and_theme():
    b = generate("portrait", 80, seed=3, variety=5)
    vocab = general_vocab()
    for item in b.items:
        neg = item.negative
        assert neg.startswith("blurry, low quality")
        assert "bad anatomy" in neg  # portrait theme negative
        kind = vocab.kind_of(item.parts["medium"])
        if kind == "photo":
            assert "cartoon" in neg and "photograph" not in neg.split(", ")
        if kind == "painting":
            assert "photograph" in neg.split(", ") and "cartoon" not in neg
        assert len(neg.split(", ")) == len(set(neg.split(", ")))


@pytest.mark.parametrize("kwargs, needle", [
    (dict(theme="dinosaurs"), "theme: unknown theme 'dinosaurs'"),
    (dict(count=0), "count: 0 is out of range"),
    (dict(count=1001), "count: 1001 is out of range"),
    (dict(seed=-1), "seed: -1 is out of range"),
    (dict(seed=2**64), "seed:"),
    (dict(variety=11), "variety: 11 is out of range"),
    (dict(count="many"), "count: 'many' is not a whole number"),
    (dict(count=2.5), "count: 2.5 is not a whole number"),
    (dict(pins=Pins(subject="x" * 201)), "subject:"),
])
def test_bad_input_names_the_input(kwargs, needle):
    with pytest.raises(ValueError) as exc:
        generate(**kwargs)
    assert needle in str(exc.value)


def test_theme_names_are_normalised():
    assert generate("Sci-Fi_City", 3, seed=1).prompts == generate("sci-fi city", 3, seed=1).prompts


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(theme=st.sampled_from(THEME_CHOICES), seed=st.integers(0, 2**64 - 1), variety=st.integers(0, 10),
       n=st.integers(1, 25))
def test_property_distinct_wellformed_reproducible(theme, seed, variety, n):
    a = generate(theme, n, seed=seed, variety=variety)
    assert len(a.prompts) == n == len(set(p.lower() for p in a.prompts))
    assert all(_WELL_FORMED.match(p) and not _article_errors(p) for p in a.prompts)
    assert a.prompts == generate(theme, n, seed=seed, variety=variety).prompts


def test_cross_theme_settings_never_borrow_person_or_animal_doings():
    themes = builtin_themes()
    lendable = {s for t in THEME_ORDER if t not in ("portrait", "animals") for s in themes[t].settings}
    for item in generate("any", 400, seed=404, variety=10).items:
        assert item.parts["setting"] in themes[item.theme].settings or item.parts["setting"] in lendable, item.prompt
    assert sum(1 for i in generate("any", 400, seed=404, variety=10).items
               if i.parts["setting"] not in themes[i.theme].settings) > 40  # borrowing does happen at variety 10


def test_no_second_adjective_on_subjects_that_start_with_one():
    themes = builtin_themes()
    for item in generate("history", 300, seed=2, variety=10).items:
        first = item.parts["subject"].split()[0].lower()
        if first in {a.lower() for a in themes["history"].adjectives}:
            assert item.parts["adjective"] == "", item.prompt


def test_render_media_are_not_rendered_as_renders():
    for p in generate("technology", 300, seed=6, variety=10).prompts:
        assert "rendered as a 3D render" not in p and "rendered as an octane render" not in p
