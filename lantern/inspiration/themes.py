"""Built-in themes for inspiration mode (data in ``data/themes/*.toml``, written for Lantern).

Each theme file holds:

- ``name``, ``description`` (one sentence; the benchmark's theme-adherence reference),
- ``subjects`` (singular count nouns: get ``a``/``an`` and maybe an adjective),
  ``plural_subjects`` (no article), ``named_subjects`` (used verbatim: proper names, "the …"),
- ``adjectives``, ``settings`` (phrases that follow the subject: "perched on a cliff", "in deep space"),
  ``details`` ("with steam rising"), ``preferred_styles``/``preferred_mediums``/``preferred_lighting``/
  ``preferred_palettes`` (the theme's own look, chosen more often the lower the variety),
  ``negatives`` (added to every negative prompt of that theme).
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"

# The order users see in the node's dropdown; "any" draws a theme per prompt.
THEME_ORDER = (
    "nature", "animals", "portrait", "fantasy", "sci-fi city", "space", "underwater", "architecture",
    "history", "food", "science", "technology", "abstract",
)
ANY = "any"
THEME_CHOICES = (ANY,) + THEME_ORDER

SINGULAR, PLURAL, NAMED = "singular", "plural", "named"


@dataclass(frozen=True)
class Subject:
    text: str
    kind: str = SINGULAR  # singular | plural | named


@dataclass(frozen=True)
class Theme:
    name: str
    description: str
    subjects: tuple[Subject, ...]
    adjectives: tuple[str, ...]
    settings: tuple[str, ...]
    details: tuple[str, ...] = ()
    preferred_styles: tuple[str, ...] = ()
    preferred_mediums: tuple[str, ...] = ()
    preferred_lighting: tuple[str, ...] = ()
    preferred_palettes: tuple[str, ...] = ()
    negatives: tuple[str, ...] = ()
    extra: dict = field(default_factory=dict, compare=False)


def _dedupe(items) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for it in items:
        it = " ".join(str(it).split())
        if it and it.lower() not in (k.lower() for k in seen):
            seen[it] = None
    return tuple(seen)


def theme_from_dict(d: dict, source: str) -> Theme:
    for key in ("name", "description", "subjects", "adjectives", "settings"):
        if key not in d:
            raise ValueError(f"{source}: missing key {key!r}")
    subjects = [Subject(s, SINGULAR) for s in _dedupe(d["subjects"])]
    subjects += [Subject(s, PLURAL) for s in _dedupe(d.get("plural_subjects", []))]
    subjects += [Subject(s, NAMED) for s in _dedupe(d.get("named_subjects", []))]
    return Theme(
        name=str(d["name"]),
        description=str(d["description"]),
        subjects=tuple(subjects),
        adjectives=_dedupe(d["adjectives"]),
        settings=_dedupe(d["settings"]),
        details=_dedupe(d.get("details", [])),
        preferred_styles=_dedupe(d.get("preferred_styles", [])),
        preferred_mediums=_dedupe(d.get("preferred_mediums", [])),
        preferred_lighting=_dedupe(d.get("preferred_lighting", [])),
        preferred_palettes=_dedupe(d.get("preferred_palettes", [])),
        negatives=_dedupe(d.get("negatives", [])),
    )


def theme_file_stem(name: str) -> str:
    return name.replace(" ", "_")


def normalise_theme_name(name: str) -> str:
    """'Sci-Fi_City' -> 'sci-fi city'."""
    return " ".join(str(name).strip().lower().replace("_", " ").split())


@lru_cache(maxsize=1)
def builtin_themes() -> dict[str, Theme]:
    themes: dict[str, Theme] = {}
    for name in THEME_ORDER:
        path = DATA_DIR / "themes" / f"{theme_file_stem(name)}.toml"
        with path.open("rb") as f:
            theme = theme_from_dict(tomllib.load(f), path.name)
        if theme.name != name:
            raise ValueError(f"{path.name}: name {theme.name!r} does not match its file")
        themes[name] = theme
    return themes
