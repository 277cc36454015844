"""Generative expansion with a tiny random-weight GPT-2 built here (no downloads)."""
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from lantern.prompting.generative import GenerativeExpander, allowed_words_for, find_models  # noqa: E402
from lantern.prompting.reading import read_prompt  # noqa: E402
from lantern.prompting.vocab import split_words  # noqa: E402
from tests.tiny_models import build_tiny_gpt2  # noqa: E402


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory):
    return build_tiny_gpt2(tmp_path_factory.mktemp("prompt_expansion") / "tiny-gpt2")


def test_find_models(tiny_model_dir):
    assert find_models([tiny_model_dir.parent]) == ["tiny-gpt2"]


def test_loaded_once_and_cached(tiny_model_dir):
    a = GenerativeExpander.from_dir(tiny_model_dir)
    b = GenerativeExpander.from_dir(str(tiny_model_dir))
    assert a is b


def test_seeded_constrained_no_repeats_within_budget(tiny_model_dir, est_counter):
    g = GenerativeExpander.from_dir(tiny_model_dir)
    text = "(red:1.2) kite over a field, watercolor"
    reading = read_prompt(text, counter=est_counter, semantic=False)
    allowed = set(allowed_words_for(reading))
    r1 = g.generate(text, seed=11, budget=40, counter=est_counter)
    r2 = g.generate(text, seed=11, budget=40, counter=est_counter)
    r3 = g.generate(text, seed=12, budget=40, counter=est_counter)
    assert r1["positive"] == r2["positive"]  # same seed, same words
    assert r1["added"] and r1["positive"].startswith(text + ", ")
    assert set(r1["added"]) <= allowed  # only vocabulary words
    assert len(r1["added"]) == len(set(r1["added"]))  # no repeated words
    prompt_words = {w for w, _, _ in split_words(text)}
    assert not set(r1["added"]) & prompt_words
    assert r1["tokens"] <= 40
    assert r1["added"] != r3["added"]


def test_style_words_never_contradicted(tiny_model_dir, est_counter):
    g = GenerativeExpander.from_dir(tiny_model_dir)
    r = g.generate("a fox, line art", seed=3, counter=est_counter)
    assert not {"photo", "shading", "render"} & set(r["added"])


def test_missing_model_folder_message(tmp_path):
    with pytest.raises(ValueError, match="config.json"):
        GenerativeExpander.from_dir(tmp_path / "nothing")
