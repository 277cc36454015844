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
