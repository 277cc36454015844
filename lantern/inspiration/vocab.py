"""General vocabulary (styles, mediums, lighting, colours, palettes, compositions, moods) for inspiration mode.

One adapter: it takes the words from ``lantern.prompting``'s vocabularies when that package is importable and
exposes them, and falls back to our own minimal lists in ``data/general.toml`` otherwise. Lists are sorted and
de-duplicated here so the generator never depends on the order (or set iteration order) of another module's data.
Which source was used is reported in every batch (``Batch.vocab_source``) because it changes the prompts.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache

from .themes import DATA_DIR

MEDIUM_KINDS = ("photo", "painting", "drawing", "print", "digital", "render", "craft", "other")

# keyword -> kind, for mediums that come from elsewhere (user lists, prompting vocab, pins)
_KIND_KEYWORDS = (
    ("photo", "photo"), ("polaroid", "photo"), ("cyanotype", "photo"),
    ("painting", "painting"), ("fresco", "painting"),
    ("drawing", "drawing"), ("sketch", "drawing"),
    ("print", "print"), ("etching", "print"), ("lithograph", "print"), ("woodcut", "print"),
    ("render", "render"), ("3d", "render"), ("cgi", "render"),
    ("illustration", "digital"), ("pixel", "digital"), ("comic", "digital"), ("anime", "digital"),
    ("poster", "digital"), ("vector", "digital"),
    ("glass", "craft"), ("mosaic", "craft"), ("collage", "craft"), ("tapestry", "craft"), ("sculpture", "craft"),
    ("embroider", "craft"), ("diorama", "craft"), ("origami", "craft"), ("relief", "craft"),
)


def medium_kind(medium: str) -> str:
    m = medium.lower()
    for key, kind in _KIND_KEYWORDS:
        if key in m:
            return kind
    return "other"


@dataclass(frozen=True)
class GeneralVocab:
    styles: tuple[str, ...]
    mediums: tuple[str, ...]
    medium_kinds: dict
    lighting: tuple[str, ...]
    colours: tuple[str, ...]
    palettes: tuple[str, ...]
    compositions: tuple[str, ...]
    moods: tuple[str, ...]
    negatives: dict
    source: str

    def kind_of(self, medium: str) -> str:
        return self.medium_kinds.get(medium) or medium_kind(medium)


def _clean(items) -> tuple[str, ...]:
    out = {" ".join(str(i).split()) for i in items if isinstance(i, str) and i.strip()}
    return tuple(sorted(out, key=lambda s: (s.lower(), s)))


@lru_cache(maxsize=1)
def builtin_vocab() -> GeneralVocab:
    with (DATA_DIR / "general.toml").open("rb") as f:
        d = tomllib.load(f)
    kinds: dict[str, str] = {}
    for kind, items in d["mediums"].items():
        if kind not in MEDIUM_KINDS:
            raise ValueError(f"general.toml: unknown medium kind {kind!r}")
        for m in items:
            kinds[m] = kind
    return GeneralVocab(
        styles=_clean(d["styles"]),
        mediums=_clean(kinds),
        medium_kinds=kinds,
        lighting=_clean(d["lighting"]),
        colours=_clean(d["colours"]),
        palettes=_clean(d["palettes"]),
        compositions=_clean(d["compositions"]),
        moods=_clean(d["moods"]),
        negatives={k: tuple(v) for k, v in d["negatives"].items()},
        source="builtin",
    )


def _prompting_words() -> dict[str, tuple[str, ...]] | None:
    """Word lists from lantern.prompting, or None when it is absent or exposes no usable API."""
    try:
        from ..prompting import vocab as pv  # type: ignore[attr-defined]
    except Exception:
        return None
    getter = getattr(pv, "words", None)
    out: dict[str, tuple[str, ...]] = {}
    for slot, names in (
        ("styles", ("styles", "STYLES")), ("mediums", ("mediums", "MEDIUMS")),
        ("lighting", ("lighting", "LIGHTING")), ("colours", ("colours", "colors", "COLOURS", "COLORS")),
        ("compositions", ("composition", "compositions", "COMPOSITION", "COMPOSITIONS")),
        ("moods", ("moods", "MOODS")),
    ):
        items = None
        if callable(getter):
            for n in names:
                try:
                    items = getter(n)
                    break
                except Exception:
                    items = None
        if items is None:
            for n in names:
                if hasattr(pv, n):
                    items = getattr(pv, n)
                    break
        if items is None:
            continue
        if isinstance(items, dict):
            items = list(items.keys())
        words = _clean(getattr(i, "name", i) for i in items)
        if words:
            out[slot] = words
    return out or None


@lru_cache(maxsize=1)
def general_vocab() -> GeneralVocab:
    base = builtin_vocab()
    words = _prompting_words()
    if not words:
        return base
    mediums = words.get("mediums", base.mediums)
    kinds = {m: base.medium_kinds.get(m) or medium_kind(m) for m in mediums}
    return GeneralVocab(
        styles=words.get("styles", base.styles),
        mediums=mediums,
        medium_kinds=kinds,
        lighting=words.get("lighting", base.lighting),
        colours=words.get("colours", base.colours),
        palettes=base.palettes,
        compositions=words.get("compositions", base.compositions),
        moods=words.get("moods", base.moods),
        negatives=base.negatives,
        source="lantern.prompting+builtin",
    )
