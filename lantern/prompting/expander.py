"""Reproducible prompt expansion.

``expand(text, seed)`` appends phrases to the user's prompt until a CLIP token budget is reached:

1. the user's text is kept verbatim as the prefix (LoRA tags, ``embedding:`` names and ``(word:1.3)``
   weighting survive untouched; only trailing whitespace and commas are trimmed);
2. the reading of the prompt decides what to add: phrases that reinforce the detected style and
   medium come first, then light (if none is named), the palette, framing, and details from a pool
   that matches the prompt's look (a line-art prompt never gets "film grain"); phrases that a detected
   style rejects (its negative words) are never added;
3. choices come from ``random.Random`` seeded with a hash of (version, seed, text, options), so the same
   inputs give the same text on every run and machine (stored expected strings in the unit tests);
4. the default budget fills the 75-token window the prompt ends in.

The matching negative prompt joins Lantern's base negatives with those of the detected styles/look and
the theme, minus anything the positive prompt asks for.
"""
from __future__ import annotations

import hashlib
import json
import random
import re
from pathlib import Path

from .reading import get_interpreter
from .tokens import CONTENT, TokenCounter, budget_fill_window, get_counter
from .vocab import STOPWORDS, _load_json, split_words

EXPANDER_VERSION = 1
LENGTHS = {"short": 0.35, "medium": 0.7, "long": 1.0}

_pools_cache: dict | None = None


def pools() -> dict:
    global _pools_cache
    if _pools_cache is None:
        _pools_cache = {k: v for k, v in _load_json("expansion.json").items() if not k.startswith("_")}
    return _pools_cache


def theme_names() -> list[str]:
    return sorted(pools()["themes"])


def parse_theme(theme: str | list | dict | None) -> tuple[str, list[str], list[str]]:
    """A theme name from the shipped list, or the user's own comma/newline-separated words."""
    if theme is None:
        return "", [], []
    if isinstance(theme, dict):
        return theme.get("name", "custom"), list(theme.get("words", [])), list(theme.get("negative", []))
    if isinstance(theme, (list, tuple)):
        return "custom", [str(w).strip() for w in theme if str(w).strip()], []
    t = str(theme).strip()
    if not t or t.lower() == "none":
        return "", [], []
    themes = pools()["themes"]
    if t.lower() in themes:
        d = themes[t.lower()]
        return t.lower(), list(d["words"]), list(d.get("negative", []))
    words = [w.strip() for w in re.split(r"[,\n]", t) if w.strip()]
    return "custom", words, []


def _rng(*parts) -> random.Random:
    h = hashlib.sha256("\x1f".join(str(p) for p in (f"lantern-expander/{EXPANDER_VERSION}",) + parts).encode("utf-8"))
    return random.Random(int.from_bytes(h.digest()[:8], "big"))


def _content(text: str) -> set[str]:
    return {w for w, _, _ in split_words(text) if w not in STOPWORDS}


def _looks(interp, reading) -> list[str]:
    looks = []
    for s in reading["style"]:
        l = interp.vocab.tables["style"][s].get("look", "any")
        if l != "any" and l not in looks:
            looks.append(l)
    for m in reading["medium"]:
        l = interp.vocab.tables["medium"][m].get("look", "any")
        if l != "any" and l not in looks:
            looks.append(l)
    return looks


def expand(text, seed: int = 0, strength: float = 1.0, budget: int | None = None, theme=None,
           counter: TokenCounter | None = None, reading: dict | None = None, max_phrases: int = 40) -> dict:
    """Expand ``text``; returns {positive, negative, added, tokens, budget, seed, looks, theme, notes}."""
    if not isinstance(seed, int):
        raise ValueError(f"seed must be an integer, got {seed!r}")
    try:
        strength = float(strength)
    except (TypeError, ValueError):
        raise ValueError(f"strength must be a number between 0 and 1, got {strength!r}") from None
    if not 0.0 <= strength <= 1.0:
        raise ValueError(f"strength must be between 0 and 1, got {strength}")
    text = "" if text is None else str(text)
    counter = counter or get_counter()
    interp = get_interpreter()
    reading = reading or interp.read(text, counter=counter, semantic=False, diagnose=True)
    theme_name, theme_words, theme_neg = parse_theme(theme)
    prefix = text.rstrip()
    while prefix.endswith(","):
        prefix = prefix[:-1].rstrip()
    current = counter.count(prefix) if prefix else 0
    if budget is None or budget <= 0:
        budget = budget_fill_window(current)
    target = current + int(round(strength * max(0, budget - current)))
    notes = []
    if current >= budget:
        notes.append(f"the prompt already uses {current} tokens, at or over the budget of {budget}; nothing added")
    vocab = interp.vocab
    looks = _looks(interp, reading)
    rng = _rng(seed, prefix, round(strength, 4), budget, theme_name, "|".join(theme_words))
    P = pools()

    # words a detected style/medium rejects must not be added
    banned: set[str] = set()
    for s in reading["style"]:
        for n in vocab.tables["style"][s].get("negative", []):
            banned |= _content(n)
    for m in reading["medium"]:
        for n in vocab.tables["medium"][m].get("negative", []):
            banned |= _content(n)
    present = _content(prefix) | _content(reading.get("text", ""))  # a given reading may include style words

    slots: list[list[str]] = []
    # 1. reinforce the detected style and medium
    for s in reading["style"]:
        r = list(vocab.tables["style"][s].get("reinforce", []))
        rng.shuffle(r)
        slots.append(r[:2])
    for m in reading["medium"]:
        r = list(vocab.tables["medium"][m].get("reinforce", []))
        rng.shuffle(r)
        slots.append(r[:2])
    sugg = reading.get("suggestions") or {}
    # 2. light when none is named
    if not reading["lighting"] and sugg.get("lighting"):
        light = rng.choice(sugg["lighting"][:3])
        d = vocab.tables["lighting"].get(light, {})
        extra = rng.choice(d["reinforce"]) if d.get("reinforce") else None
        slots.append([light] + ([extra] if extra else []))
    # 3. palette from the reading (named colours are already in the text)
    pal = [p["name"] for p in reading["palette"] if p["source"] not in ("named", "default")][:3]
    if pal and not reading["colours"]:
        slots.append([("palette of " + ", ".join(pal[:-1]) + " and " + pal[-1]) if len(pal) > 1 else f"{pal[0]} tones"])
    # 4. framing when none is named
    comp = list(sugg.get("composition") or [])
    if looks and not set(looks) & {"photo", "rendered"}:  # no lenses for drawings and paintings
        comp = [c for c in comp if vocab.tables["composition"][c].get("kind") not in ("lens", "focus")]
    if not reading["composition"] and comp:
        slots.append([rng.choice(comp[:3])])
    # 5. theme words, then details of the prompt's look (and neutral ones)
    tw = list(theme_words)
    rng.shuffle(tw)
    detail = []
    for l in looks:
        detail += P["detail"].get(l, [])
    rng.shuffle(detail)
    neutral = list(P["detail"]["any"])
    rng.shuffle(neutral)
    # interleave theme words with details so a short budget still shows the theme
    mixed = []
    for i in range(max(len(tw), len(detail), len(neutral))):
        for src in (tw, detail, neutral):
            if i < len(src):
                mixed.append(src[i])
    slots.append(mixed)

    added: list[str] = []
    used_tokens = current
    for slot in slots:
        for phrase in slot:
            if len(added) >= max_phrases:
                break
            words = _content(phrase)
            if not words or words <= present or words & banned:
                continue
            cost = counter.phrase_tokens(phrase) + (1 if (prefix or added) else 0)
            if used_tokens + cost > target:
                continue
            added.append(phrase)
            present |= words
            used_tokens += cost
    if prefix and added:
        positive = prefix + ", " + ", ".join(added)
    elif added:
        positive = ", ".join(added)
    else:
        positive = prefix
    if not prefix:
        notes.append("empty prompt: only theme and neutral words were added" if added else "empty prompt: nothing to expand")
    negative = negative_for(reading, looks, theme_neg, positive_words=_content(positive) | {s for s in reading["style"]})
    return {
        "positive": positive,
        "negative": negative,
        "added": added,
        "tokens": counter.count(positive) if positive else 0,
        "budget": budget,
        "target": target,
        "seed": seed,
        "looks": looks,
        "theme": theme_name,
        "notes": notes,
        "version": EXPANDER_VERSION,
    }


def negative_for(reading, looks, theme_neg=(), positive_words=frozenset(), limit_tokens: int = CONTENT,
                 counter: TokenCounter | None = None) -> str:
    interp = get_interpreter()
    P = pools()["negative"]
    terms: list[str] = []
    for s in reading["style"]:
        terms += interp.vocab.tables["style"][s].get("negative", [])
    for m in reading["medium"]:
        terms += interp.vocab.tables["medium"][m].get("negative", [])
    for l in looks:
        terms += P.get(l, [])
    terms += list(theme_neg)
    terms += P["base"]
    counter = counter or get_counter()
    out, seen, used = [], set(), 0
    for t in terms:
        key = t.lower().strip()
        if not key or key in seen:
            continue
        if _content(key) & positive_words:
            continue  # never negate what the positive asks for
        cost = counter.phrase_tokens(t) + (1 if out else 0)
        if used + cost > limit_tokens:
            break
        seen.add(key)
        out.append(t)
        used += cost
    return ", ".join(out)
