"""User word lists for inspiration mode.

A user folder (the node uses ``<ComfyUI user dir>/lantern/wordlists/``) holds plain UTF-8 ``.txt`` files, one
entry per line, ``#`` starts a comment line. The file name says where the words go:

- ``<slot>.txt``          adds to that slot for every theme        (``styles.txt``, ``subjects.txt``)
- ``<theme>.<slot>.txt``  adds to that slot for one theme          (``nature.subjects.txt``,
                          ``sci-fi_city.settings.txt``: underscores stand for spaces)

Slots: see ``SLOTS``. A file that breaks a rule (unknown slot or theme, not UTF-8, an over-long line, a line
with control characters or prompt syntax ``( ) [ ] { } < > | \\ :``, no entries, over 256 KiB) is skipped
whole and reported by file name; the other files still load. Files are read in sorted name order, so the result
does not depend on the file system's listing order.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from .themes import THEME_ORDER, normalise_theme_name

THEME_SLOTS = ("subjects", "plural_subjects", "adjectives", "settings", "details")
GENERAL_SLOTS = ("styles", "mediums", "lighting", "colours", "palettes", "compositions", "moods", "negatives")
SLOTS = THEME_SLOTS + GENERAL_SLOTS
SLOT_ALIASES = {"colors": "colours", "composition": "compositions", "subject": "subjects", "style": "styles",
                "medium": "mediums", "setting": "settings", "mood": "moods", "palette": "palettes",
                "negative": "negatives", "adjective": "adjectives", "detail": "details"}
MAX_LINE = 80
MAX_BYTES = 256 * 1024
_BAD_CHARS = re.compile(r"[\x00-\x1f\x7f()\[\]{}<>|\\:]")


@dataclass
class WordLists:
    # (theme or None, slot) -> entries in file order
    entries: dict[tuple[str | None, str], list[str]] = field(default_factory=dict)
    loaded: list[str] = field(default_factory=list)  # file names used
    warnings: list[str] = field(default_factory=list)  # one line per skipped file

    def get(self, theme: str | None, slot: str) -> list[str]:
        """Entries for every theme, then the theme's own."""
        out = list(self.entries.get((None, slot), []))
        if theme is not None:
            out += self.entries.get((theme, slot), [])
        return out

    def fingerprint(self) -> str:
        return ";".join(f"{t}/{s}={len(v)}" for (t, s), v in sorted(self.entries.items(), key=lambda kv: (str(kv[0][0]), kv[0][1])))


def _parse_name(name: str) -> tuple[str | None, str]:
    stem = name[: -len(".txt")]
    parts = stem.split(".")
    if len(parts) == 1:
        theme, slot = None, parts[0]
    elif len(parts) == 2:
        theme, slot = parts
    else:
        raise ValueError("name must be <slot>.txt or <theme>.<slot>.txt")
    slot = SLOT_ALIASES.get(slot.lower(), slot.lower())
    if slot not in SLOTS:
        raise ValueError(f"unknown slot {slot!r}; use one of {', '.join(SLOTS)}")
    if theme is not None:
        theme = normalise_theme_name(theme)
        if theme not in THEME_ORDER:
            raise ValueError(f"unknown theme {theme!r}; use one of {', '.join(t.replace(' ', '_') for t in THEME_ORDER)}")
    return theme, slot


def _parse_lines(data: bytes) -> list[str]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(f"not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
    out: list[str] = []
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        line = " ".join(line.split())
        if len(line) > MAX_LINE:
            raise ValueError(f"line {lineno} is {len(line)} characters long (at most {MAX_LINE})")
        bad = _BAD_CHARS.search(line)
        if bad:
            raise ValueError(f"line {lineno} contains {bad.group()!r}; write plain words without prompt syntax")
        if not any(ch.isalpha() for ch in line):
            raise ValueError(f"line {lineno} has no letters")
        out.append(line)
    if not out:
        raise ValueError("no entries (one word or phrase per line; # starts a comment)")
    return out


def load_wordlists(folder: str | Path | None) -> WordLists:
    """Read every word-list file in ``folder``; a missing folder gives empty lists and no warning."""
    result = WordLists()
    if folder is None:
        return result
    folder = Path(folder)
    if not folder.is_dir():
        return result
    for path in sorted(folder.iterdir(), key=lambda p: p.name):
        name = path.name
        if name.startswith(".") or path.is_dir():
            continue
        try:
            if not name.lower().endswith(".txt"):
                raise ValueError("not a .txt word list")
            theme, slot = _parse_name(name)
            size = path.stat().st_size
            if size > MAX_BYTES:
                raise ValueError(f"{size} bytes is over the {MAX_BYTES // 1024} KiB limit")
            lines = _parse_lines(path.read_bytes())
        except (ValueError, OSError) as exc:
            result.warnings.append(f"word list {name} skipped: {exc}")
            continue
        bucket = result.entries.setdefault((theme, slot), [])
        seen = {b.lower() for b in bucket}
        for line in lines:
            if line.lower() not in seen:
                bucket.append(line)
                seen.add(line.lower())
        result.loaded.append(name)
    return result
