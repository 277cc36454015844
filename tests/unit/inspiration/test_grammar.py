from lantern.inspiration.grammar import indefinite_article, join_list, looks_plural, starts_with_determiner, with_article
import pytest


@pytest.mark.parametrize("phrase, art", [("hour", "an"), ("unicorn", "a"), ("oil painting", "an"), ("8-bit sprite", "an"),
                                         ("18th-century port", "an"), ("MRI scan", "an"), ("European city", "a"),
                                         ("one-eyed cat", "a"), ("umbrella", "an"), ("honest knight", "an"),
                                         ("ukiyo-e print", "a"), ("red fox", "a")])
def test_indefinite_article(phrase, art):
    assert indefinite_article(phrase) == art


def test_determiners_and_possessives():
    assert with_article("the Milky Way") == "the Milky Way"
    assert with_article("Jupiter's Great Red Spot") == "Jupiter's Great Red Spot"
    assert with_article("explorer's caravel") == "an explorer's caravel"
    assert starts_with_determiner("three foxes") and not starts_with_determiner("fox")


def test_plural_heuristic_and_join():
    assert looks_plural("foxes") and looks_plural("wild horses in the snow")
    assert not looks_plural("fox") and not looks_plural("octopus") and not looks_plural("glass")
    assert join_list(["a"]) == "a" and join_list(["a", "b"]) == "a and b" and join_list(["a", "b", "c"]) == "a, b and c"


def _shipped_phrases():
    from lantern.inspiration import builtin_themes
    from lantern.inspiration.vocab import general_vocab

    v = general_vocab()
    out = set(v.styles) | set(v.mediums) | set(v.compositions) | set(v.moods) | set(v.palettes)
    for t in builtin_themes().values():
        out |= {s.text for s in t.subjects} | set(t.adjectives) | set(t.preferred_mediums) | set(t.preferred_styles)
        out |= set(t.preferred_palettes)
    return sorted(out)


def test_fallback_rules_agree_with_inflect_on_every_shipped_word():
    """Prompts must not depend on whether inflect is installed, for every word Lantern ships."""
    from lantern.inspiration import grammar

    engine = grammar._engine()
    if engine is None:
        pytest.skip("inflect not installed")
    phrases = _shipped_phrases()
    assert len(phrases) > 1500
    disagree = [p for p in phrases if not p[0].isdigit() and not grammar.starts_with_determiner(p)
                and grammar._fallback_article(p) != engine.a(p).split(" ", 1)[0]]
    assert disagree == []


@pytest.mark.parametrize("n, art", [(8, "an"), (11, "an"), (18, "an"), (80, "an"), (1920, "a"), (35, "a"),
                                    (3, "a"), (800, "an"), (18000, "an"), (110, "a")])
def test_numbers(n, art):
    assert indefinite_article(f"{n}-something") == art
