"""Small English helpers: indefinite articles (via ``inflect``), list joining, capitalisation."""
from __future__ import annotations

import re
from functools import lru_cache

_DETERMINERS = {
    "a", "an", "the", "this", "that", "these", "those", "some", "many", "several", "few", "two", "three",
    "four", "five", "six", "seven", "eight", "nine", "ten", "dozens", "hundreds", "thousands", "countless",
    "my", "your", "his", "her", "its", "our", "their", "every", "each", "one",
}


@lru_cache(maxsize=1)
def _engine():
    import inflect  # pip: inflect

    return inflect.engine()


def starts_with_determiner(phrase: str) -> bool:
    """True when the phrase already carries a determiner (``the``, ``two``…) or a proper possessive
    (``Jupiter's``; a common one like ``explorer's caravel`` still takes an article)."""
    words = phrase.strip().split()
    if not words:
        return False
    first = words[0]
    if first.lower() in _DETERMINERS:
        return True
    return first[:1].isupper() and (first.endswith("'s") or first.endswith("s'"))


@lru_cache(maxsize=8192)
def indefinite_article(phrase: str) -> str:
    """'a' or 'an' for the phrase, by pronunciation (``an hour``, ``a unicorn``, ``an MRI``, ``an 8-bit``)."""
    phrase = phrase.strip()
    m = re.match(r"(\d+)", phrase)
    if m:  # inflect reads digits letter by letter; read the number as words instead
        words = _engine().number_to_words(int(m.group(1)))
        return _engine().a(words).split(" ", 1)[0]
    return _engine().a(phrase).split(" ", 1)[0]


def with_article(phrase: str) -> str:
    """``a``/``an`` + phrase, unless the phrase already has a determiner."""
    phrase = phrase.strip()
    if starts_with_determiner(phrase):
        return phrase
    return f"{indefinite_article(phrase)} {phrase}"


def looks_plural(phrase: str) -> bool:
    """Heuristic for user-supplied subjects: the head word (before ' of ', ' with '…) is a plural noun."""
    head = re.split(r"\s+(?:of|with|in|on|under|over|at|from)\s+", phrase.strip(), maxsplit=1)[0]
    words = head.split()
    if not words:
        return False
    last = words[-1].lower().strip(",.")
    if len(last) < 4 or not last.endswith("s") or last.endswith(("ss", "us", "is")):
        return False
    return bool(_engine().singular_noun(last))


def join_list(items: list[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    items = [i for i in items if i]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def capitalise(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text
