"""Small English helpers: indefinite articles (via ``inflect`` when installed), list joining, capitalisation."""
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
    """inflect's engine (pip: inflect), or None when it is not installed."""
    try:
        import inflect
    except ImportError:
        return None
    return inflect.engine()


_AN_LETTERS = set("aefhilmnorsx")  # letters whose spoken name starts with a vowel sound ("an MRI", "an X-ray")
_A_PREFIXES = ("uni", "use", "usu", "uti", "uto", "ura", "ure", "uk", "eu", "ewe", "one", "once", "ubiq", "ufo")
_AN_PREFIXES = ("hour", "honest", "honor", "honour", "heir")


def _fallback_article(phrase: str) -> str:
    """Rules for when inflect is absent; the unit tests check they agree with inflect on all shipped words."""
    word = re.split(r"[\s-]", phrase.strip(), maxsplit=1)[0]
    if not word:
        return "a"
    low = word.lower()
    if word.isupper() and len(word) <= 3 and word.isalpha():  # read letter by letter: MRI, HDR, UFO
        return "an" if low[0] in _AN_LETTERS else "a"
    if low.startswith(_AN_PREFIXES):
        return "an"
    if low.startswith(_A_PREFIXES):
        return "a"
    return "an" if low[0] in "aeiou" else "a"


def _number_article(n: int) -> str:
    """'an' for numbers read with a leading vowel sound: 8, 11, 18, 80-89, 800-899, 8000..."""
    s = str(n)
    if s[0] == "8":
        return "an"
    if len(s) in (2, 5) and s[:2] in ("11", "18"):
        return "an"
    return "a"


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
    """'a' or 'an' for the phrase, by pronunciation (``an hour``, ``a unicorn``, ``an MRI``, ``an 8-bit``).

    Uses ``inflect`` when installed, else built-in rules that agree with it on every word Lantern ships."""
    phrase = phrase.strip()
    m = re.match(r"(\d+)", phrase)
    if m:  # inflect reads digits one by one; read the number as a number instead
        return _number_article(int(m.group(1)))
    engine = _engine()
    if engine is None:
        return _fallback_article(phrase)
    return engine.a(phrase).split(" ", 1)[0]


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
    engine = _engine()
    return bool(engine.singular_noun(last)) if engine is not None else True


def join_list(items: list[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    items = [i for i in items if i]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def capitalise(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text
