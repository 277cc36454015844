"""Themed, reproducible, varied prompts.

``generate(theme, count, seed, variety, pins, wordlist_dir)`` returns a :class:`Batch` of ``count`` distinct
prompts with their negatives and per-image seeds. Each prompt is one English sentence built from

    subject (+ adjective) + setting (+ detail) + medium + style + lighting + palette + composition (+ mood)

in one of two frames::

    "An oil painting of a weathered lighthouse on a rocky coastline, in an impressionist style, lit by soft
     golden-hour light, with a palette of amber, sage and ivory, framed as a low-angle shot."
    "A red fox resting in tall grass, rendered as a linocut print in a storybook style, under cold blue
     moonlight, with a pastel palette, framed as a close-up, with a serene atmosphere."

Reproducibility: every random draw comes from :class:`rng.Stream` keyed by strings (seed, theme, variety,
index, attempt); subjects follow a seeded permutation per theme, so a batch's first k prompts do not depend on
``count`` and no subject repeats until the theme's list is used up. All parts are drawn even when pinned, so
pinning one part leaves the others as they were. Variety (0–10) raises the odds of adjectives, details and
moods, widens styles/mediums from the theme's preferred ones to the whole vocabulary, and (theme "any" only,
above 5) borrows settings across themes.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from . import grammar
from .rng import SEED_MAX, Stream, image_seed
from .themes import ANY, NAMED, PLURAL, SINGULAR, THEME_CHOICES, THEME_ORDER, Subject, Theme, builtin_themes, normalise_theme_name
from .vocab import GeneralVocab, general_vocab, medium_kind
from .wordlists import WordLists, load_wordlists

MAX_COUNT = 1000
VARIETY_MIN, VARIETY_MAX, VARIETY_DEFAULT = 0, 10, 5
MAX_ATTEMPTS = 40
GUARD_ATTEMPTS = 8
GUARD_CHUNK = 3  # candidates per prompt embedded together after a failed first one
LIGHTING_VERBS = ("lit by", "bathed in", "under")
_NO_CROSS_SETTINGS = ("portrait", "animals")  # their settings speak of a person's or an animal's doings


@dataclass(frozen=True)
class Pins:
    """Parts the user fixed; empty strings are not pinned."""

    subject: str = ""
    style: str = ""
    palette: str = ""
    medium: str = ""

    def cleaned(self) -> "Pins":
        vals = {}
        for k, v in asdict(self).items():
            v = " ".join(str(v or "").split())
            if len(v) > 200:
                raise ValueError(f"{k}: the pinned {k} is {len(v)} characters; keep it under 200")
            vals[k] = v
        return Pins(**vals)


@dataclass(frozen=True)
class Inspiration:
    index: int
    prompt: str
    negative: str
    seed: int
    theme: str
    parts: dict
    theme_margin: float | None = None  # MiniLM margin over the nearest other theme (theme check only)

    def to_dict(self) -> dict:
        d = {"index": self.index, "prompt": self.prompt, "negative": self.negative, "seed": self.seed,
             "theme": self.theme, "parts": dict(self.parts)}
        if self.theme_margin is not None:
            d["theme_margin"] = self.theme_margin
        return d


@dataclass
class Batch:
    theme: str
    seed: int
    variety: int
    items: list[Inspiration]
    warnings: list[str] = field(default_factory=list)
    vocab_source: str = "builtin"
    wordlists_used: list[str] = field(default_factory=list)
    theme_check: bool = False

    @property
    def prompts(self) -> list[str]:
        return [i.prompt for i in self.items]

    @property
    def negatives(self) -> list[str]:
        return [i.negative for i in self.items]

    @property
    def seeds(self) -> list[int]:
        return [i.seed for i in self.items]

    def to_dict(self) -> dict:
        return {"theme": self.theme, "seed": self.seed, "variety": self.variety, "count": len(self.items),
                "vocab_source": self.vocab_source, "wordlists": list(self.wordlists_used), "theme_check": self.theme_check,
                "warnings": list(self.warnings), "prompts": [i.to_dict() for i in self.items]}


# ---------------------------------------------------------------- validation


def validate_theme(theme: str) -> str:
    name = normalise_theme_name(theme)
    if name not in THEME_CHOICES:
        raise ValueError(f"theme: unknown theme {theme!r}; choose one of: {', '.join(THEME_CHOICES)}")
    return name


def _validate_int(name: str, value, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        try:
            if isinstance(value, float) and not value.is_integer():
                raise ValueError
            value = int(str(value).strip()) if not isinstance(value, float) else int(value)
        except (TypeError, ValueError):
            raise ValueError(f"{name}: {value!r} is not a whole number; give an integer from {lo} to {hi}") from None
    if not lo <= value <= hi:
        raise ValueError(f"{name}: {value} is out of range; give an integer from {lo} to {hi}")
    return value


# ---------------------------------------------------------------- merged per-theme word pools


@dataclass(frozen=True)
class _Pools:
    theme: Theme
    subjects: tuple[Subject, ...]
    adjectives: tuple[str, ...]
    settings: tuple[str, ...]
    details: tuple[str, ...]
    styles: tuple[str, ...]
    mediums: tuple[str, ...]
    preferred_styles: tuple[str, ...]
    preferred_mediums: tuple[str, ...]
    negatives: tuple[str, ...]
    adjective_words: frozenset = frozenset()


def _merge(base, extra) -> tuple[str, ...]:
    out: dict[str, None] = {}
    low: set[str] = set()
    for x in list(base) + list(extra):
        if x.lower() not in low:
            out[x] = None
            low.add(x.lower())
    return tuple(out)


def _pools(theme: Theme, vocab: GeneralVocab, wl: WordLists) -> _Pools:
    subjects = list(theme.subjects)
    known = {s.text.lower() for s in subjects}
    for text in wl.get(theme.name, "subjects"):
        if text.lower() not in known:
            kind = NAMED if grammar.starts_with_determiner(text) else (PLURAL if grammar.looks_plural(text) else SINGULAR)
            subjects.append(Subject(text, kind))
            known.add(text.lower())
    for text in wl.get(theme.name, "plural_subjects"):
        if text.lower() not in known:
            subjects.append(Subject(text, PLURAL))
            known.add(text.lower())
    user_styles = wl.entries.get((theme.name, "styles"), [])
    user_mediums = wl.entries.get((theme.name, "mediums"), [])
    return _Pools(
        theme=theme,
        subjects=tuple(subjects),
        adjectives=_merge(theme.adjectives, wl.get(theme.name, "adjectives")),
        settings=_merge(theme.settings, wl.get(theme.name, "settings")),
        details=_merge(theme.details, wl.get(theme.name, "details")),
        styles=_merge(vocab.styles, wl.get(None, "styles") + list(user_styles)),
        mediums=_merge(vocab.mediums, wl.get(None, "mediums") + list(user_mediums)),
        preferred_styles=_merge(theme.preferred_styles, user_styles),
        preferred_mediums=_merge(theme.preferred_mediums, user_mediums),
        negatives=_merge(theme.negatives, wl.get(theme.name, "negatives")),
        adjective_words=frozenset(a.lower() for a in _merge(theme.adjectives, wl.get(theme.name, "adjectives"))
                                  if " " not in a),
    )


# ---------------------------------------------------------------- phrase builders


def _style_phrase(style: str) -> str:
    style = re.sub(r"\s+style$", "", style.strip(), flags=re.I)
    style = re.sub(r"^(in\s+)?(the\s+|an?\s+)?", "", style, flags=re.I)
    return f"in {grammar.with_article(style)} style"


def _palette_phrase(palette: str | list[str]) -> str:
    if isinstance(palette, list):
        return f"with a palette of {grammar.join_list(palette)}"
    p = palette.strip()
    p = re.sub(r"\s+(palette|colou?rs?|colou?r scheme)$", "", p, flags=re.I)
    parts = [x.strip() for x in re.split(r",|\s+and\s+", p) if x.strip()]
    if len(parts) > 1:
        return f"with a palette of {grammar.join_list(parts)}"
    return f"with {grammar.with_article(p)} palette"


def _medium_np(medium: str) -> str:
    return grammar.with_article(re.sub(r"^(an?\s+)", "", medium.strip(), flags=re.I))


def _subject_phrase(subject: Subject, adjective: str | None) -> str:
    if subject.kind == NAMED:
        return subject.text
    text = f"{adjective} {subject.text}" if adjective else subject.text
    if subject.kind == PLURAL:
        return text
    return grammar.with_article(text)


def _pinned_subject_phrase(text: str) -> str:
    if grammar.starts_with_determiner(text) or grammar.looks_plural(text) or text[:1].isupper() and " " not in text:
        return text
    return grammar.with_article(text)


def _colours(stream: Stream, vocab: GeneralVocab, wl: WordLists, k: int) -> list[str]:
    """k colours that share no word ("cherry red" and "red" never come together)."""
    pool = list(_merge(vocab.colours, wl.get(None, "colours")))
    out: list[str] = []
    used: set[str] = set()
    while pool and len(out) < k:
        c = pool.pop(stream.below(len(pool)))
        words = set(c.lower().split())
        if words & used:
            continue
        out.append(c)
        used |= words
    return out


# ---------------------------------------------------------------- the generator


def _compose(i: int, theme_name: str, requested: str, subject: Subject, pools: _Pools, all_pools: dict,
             vocab: GeneralVocab, wl: WordLists, seed: int, variety: int, attempt: int, pins: Pins) -> dict:
    v = variety
    s = Stream(seed, requested, v, i, attempt)
    # 1. every draw, in a fixed order, whether or not the part is pinned
    use_adj = s.chance(0.2 + 0.05 * v)
    adjective = s.choice(pools.adjectives)
    cross = requested == ANY and s.chance(max(0.0, 0.08 * (v - 5)))
    other = s.choice([t for t in THEME_ORDER if t != theme_name and t not in _NO_CROSS_SETTINGS])
    setting = s.choice(all_pools[other].settings if cross else pools.settings)
    use_detail = s.chance(0.05 * v)
    detail = s.choice(pools.details) if pools.details else ""
    p_pref = 0.95 - 0.06 * v
    medium = s.choice(pools.preferred_mediums) if (pools.preferred_mediums and s.chance(p_pref)) else s.choice(pools.mediums)
    style = s.choice(pools.preferred_styles) if (pools.preferred_styles and s.chance(p_pref)) else s.choice(pools.styles)
    frame = s.below(2)
    lighting_pool = _merge(vocab.lighting, wl.get(None, "lighting"))
    lighting = s.choice(pools.theme.preferred_lighting) if (pools.theme.preferred_lighting and s.chance(p_pref)) \
        else s.choice(lighting_pool)
    lighting_verb = s.choice(LIGHTING_VERBS)
    named_palette = s.chance(0.4)
    palette_pool = _merge(vocab.palettes, wl.get(None, "palettes"))
    palette_name = s.choice(pools.theme.preferred_palettes) if (pools.theme.preferred_palettes and s.chance(p_pref)) \
        else s.choice(palette_pool)
    n_colours = 3 if s.chance(0.2 + 0.05 * v) else 2
    colours = _colours(s, vocab, wl, n_colours)
    composition = s.choice(_merge(vocab.compositions, wl.get(None, "compositions")))
    use_mood = s.chance(0.15 + 0.06 * v)
    mood = s.choice(_merge(vocab.moods, wl.get(None, "moods")))
    mood_frame = s.below(2)

    # 2. pins override
    if pins.medium:
        medium = pins.medium
    if pins.style:
        style = pins.style
    if pins.subject:
        subject_phrase = _pinned_subject_phrase(pins.subject)
        subject_text = pins.subject
        use_adj = False
    else:
        first = subject.text.split()[0].lower()
        if first in pools.adjective_words:  # "ancient Olympic athlete" takes no second adjective
            use_adj = False
        subject_phrase = _subject_phrase(subject, adjective if use_adj and subject.kind != NAMED else None)
        subject_text = subject.text
    palette_clause = _palette_phrase(pins.palette) if pins.palette else (
        _palette_phrase(palette_name) if named_palette else _palette_phrase(colours))

    core = f"{subject_phrase} {setting}"
    if use_detail and detail:
        core += f", {detail}"
    clauses = []
    if frame == 0:
        clauses.append(f"{_medium_np(medium)} of {core}")
        clauses.append(_style_phrase(style))
    else:
        clauses.append(core)
        verb = "shown as" if "render" in medium.lower() else "rendered as"  # never "rendered as a 3D render"
        clauses.append(f"{verb} {_medium_np(medium)} {_style_phrase(style)}")
    clauses.append(f"{lighting_verb} {lighting}")
    clauses.append(palette_clause)
    clauses.append(f"framed as {grammar.with_article(composition)}")
    if use_mood:
        clauses.append(f"with {grammar.with_article(mood)} atmosphere" if mood_frame == 0 else f"evoking {grammar.with_article(mood)} mood")
    prompt = grammar.capitalise(", ".join(clauses)) + "."
    return {
        "prompt": prompt,
        "parts": {
            "subject": subject_text,
            "subject_phrase": subject_phrase,
            "adjective": adjective if use_adj else "",
            "setting": setting,
            "detail": detail if use_detail else "",
            "medium": medium,
            "style": style,
            "lighting": lighting,
            "palette": pins.palette or (palette_name if named_palette else ", ".join(colours)),
            "composition": composition,
            "mood": mood if use_mood else "",
        },
        "medium_kind": medium_kind(medium) if pins.medium else vocab.kind_of(medium),
    }


def _negative(kind: str, pools: _Pools, vocab: GeneralVocab, wl: WordLists) -> str:
    words = list(vocab.negatives.get("base", ())) + list(vocab.negatives.get(kind, ())) + list(pools.negatives)
    return ", ".join(_merge([], words))


def _prefetch_guard(guard, candidate, plan, count: int, guard_attempts: int) -> None:
    """Embed candidates in a few large batches (one prompt at a time is many times slower on a CPU):
    round 0 all first candidates, then the next chunk for every prompt whose candidates so far all failed."""
    pending = list(range(count))
    attempt = 0
    while pending and attempt < guard_attempts:
        chunk = 1 if attempt == 0 else GUARD_CHUNK
        attempts = range(attempt, min(attempt + chunk, guard_attempts))
        texts = [candidate(i, a)["prompt"] for i in pending for a in attempts]
        themes = [plan[i][0] for i in pending for _ in attempts]
        margins = guard.margins(texts, themes)
        k = len(attempts)
        pending = [i for n, i in enumerate(pending) if max(margins[n * k:(n + 1) * k]) <= 0]
        attempt += chunk


def generate(theme: str = ANY, count: int = 8, seed: int = 0, variety: int = VARIETY_DEFAULT,
             pins: Pins | None = None, wordlist_dir: str | Path | None = None,
             vocab: GeneralVocab | None = None, guard=None, guard_attempts: int = GUARD_ATTEMPTS) -> Batch:
    """Make ``count`` distinct prompts for ``theme``. Raises ValueError naming the bad input.

    ``guard``: an optional :class:`coherence.ThemeGuard`; with it each prompt is redrawn (up to
    ``guard_attempts`` candidates) until MiniLM places it nearer its own theme than any other.
    """
    requested = validate_theme(theme)
    count = _validate_int("count", count, 1, MAX_COUNT)
    seed = _validate_int("seed", seed, 0, SEED_MAX)
    variety = _validate_int("variety", variety, VARIETY_MIN, VARIETY_MAX)
    pins = (pins or Pins()).cleaned()
    vocab = vocab or general_vocab()
    wl = load_wordlists(wordlist_dir)
    themes = builtin_themes()
    all_pools = {name: _pools(t, vocab, wl) for name, t in themes.items()}
    # which theme and subject each prompt gets (independent of count: a batch's first k prompts never change)
    plan: list[tuple[str, Subject]] = []
    orders: dict[str, list[int]] = {}
    used: dict[str, int] = {}
    theme_stream = Stream(seed, requested, "themes")
    for i in range(count):
        theme_name = requested if requested != ANY else theme_stream.choice(THEME_ORDER)
        if theme_name not in orders:
            orders[theme_name] = Stream(seed, requested, theme_name, "subjects").permutation(len(all_pools[theme_name].subjects))
            used[theme_name] = 0
        order = orders[theme_name]
        plan.append((theme_name, all_pools[theme_name].subjects[order[used[theme_name] % len(order)]]))
        used[theme_name] += 1

    def candidate(i: int, attempt: int) -> dict:
        theme_name, subject = plan[i]
        return _compose(i, theme_name, requested, subject, all_pools[theme_name], all_pools, vocab, wl, seed, variety,
                        attempt, pins)

    if guard is not None:
        _prefetch_guard(guard, candidate, plan, count, guard_attempts)

    seen: set[str] = set()
    items: list[Inspiration] = []
    for i in range(count):
        theme_name, subject = plan[i]
        chosen, margin, checked = None, None, 0
        for attempt in range(MAX_ATTEMPTS):
            made = candidate(i, attempt)
            if made["prompt"].lower() in seen:
                continue
            if guard is None:
                chosen = made
                break
            m = guard.margin(made["prompt"], theme_name)
            checked += 1
            if chosen is None or m > margin:
                chosen, margin = made, m
            if m > 0 or checked >= guard_attempts:
                break
        if chosen is None:
            raise ValueError(
                f"count: only {i} distinct prompts could be made for theme {requested!r} with these pinned parts; "
                f"lower count, unpin a part or raise variety")
        seen.add(chosen["prompt"].lower())
        items.append(Inspiration(
            index=i, prompt=chosen["prompt"], negative=_negative(chosen["medium_kind"], all_pools[theme_name], vocab, wl),
            seed=image_seed(seed, i), theme=theme_name, parts=chosen["parts"], theme_margin=margin))
    return Batch(theme=requested, seed=seed, variety=variety, items=items, warnings=list(wl.warnings),
                 vocab_source=vocab.source, wordlists_used=list(wl.loaded), theme_check=guard is not None)
