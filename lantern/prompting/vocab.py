"""Lantern's prompt vocabularies (JSON files in ``data/``) and the phrase matcher.

Every vocabulary is a JSON object ``canonical -> {"aliases": [...], ...}`` (subjects use
``{"categories": {cat: [nouns]}, "aliases": {...}, "typical_colours": {...}}``).
The matcher finds the longest phrase at each position of a tokenised prompt; one phrase
may belong to several categories (e.g. "afternoon sun" is a time of day and a light).
"""
from __future__ import annotations

import json
import re
import threading
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"

# category name -> data file
CATEGORY_FILES = {
    "style": "styles.json",
    "medium": "mediums.json",
    "colour": "colours.json",
    "lighting": "lighting.json",
    "time_of_day": "time_of_day.json",
    "composition": "composition.json",
    "mood": "moods.json",
    "scene": "scenes.json",
}

# words that carry no content of their own
STOPWORDS = frozenset(
    """a an the and or of in on at by for with without from to into onto over under above below beneath behind
    beside besides between near through across along around among amid against toward towards inside outside
    upon within while during after before as is are was were be been being it its this that these those there
    here very so too some any each every all both few many much more most other such no nor not only own same
    than then just can will my your his her their our who whom which what where when how why i you he she we
    they me him us them up down out off again further once also like about via per vs
    """.split()
)

# prepositions after which a noun is a setting/prop rather than the main subject
LOCATIVE = frozenset(
    """in on at by under over above below beneath behind beside near through across along around among amid
    against inside outside upon within into onto from toward towards between atop during after before""".split()
)

# nouns meaning "a quantity/container of": in "a bowl of ramen" the subject is the ramen
QUANTITY_WORDS = frozenset(
    """cup bowl plate glass bottle jar basket pile stack heap herd flock pack swarm school group crowd row set
    slice piece handful bunch box bag pair collection sea cluster series portrait picture photo image
    painting drawing sketch illustration render study view close-up closeup shot poster print patch""".split()
)

# common modifiers that are never subjects (used by the fallback subject finder)
MODIFIERS = frozenset(
    """tiny little small big large huge giant enormous massive old young ancient new modern cute beautiful pretty
    lovely gorgeous stunning ugly strange weird lonely lone single sleepy sleeping busy quiet empty full tall short
    long wide narrow deep dark bright light heavy soft hard warm cold cool hot wet dry fresh rainy sunny snowy
    foggy misty stormy windy cloudy wooden stone metal glass golden silver iron steel fluffy furry fuzzy shiny
    glowing floating flying running walking sitting standing giant detailed intricate highly ultra extremely
    best masterpiece quality high low resolution 4k 8k hd uhd hdr trending artstation award winning professional
    epic elegant magical mystical mysterious abandoned overgrown broken ruined distant nearby huge lush vast
    medieval victorian futuristic retro vintage rustic cozy cosy tiny cinematic realistic background foreground
    scene landscape style art artwork image picture photo photograph painting drawing render version
    """.split()
)

_TOKEN_RE = re.compile(r"[^\W_]+(?:['’./&+][^\W_]+)*", re.UNICODE)


def normalise_token(tok: str) -> str:
    t = tok.lower().replace("’", "'")
    if t.endswith("'s"):
        t = t[:-2]
    return t.replace("'", "")


def split_words(text: str) -> list[tuple[str, int, int]]:
    """Word tokens (normalised, start, end) of ``text``; hyphens and punctuation separate words."""
    out = []
    for m in _TOKEN_RE.finditer(text):
        t = normalise_token(m.group(0))
        if t:
            out.append((t, m.start(), m.end()))
    return out


def phrase_key(phrase: str) -> tuple[str, ...]:
    return tuple(t for t, _, _ in split_words(phrase))


_IRREGULAR = {
    "man": "men", "woman": "women", "child": "children", "person": "people", "mouse": "mice", "goose": "geese",
    "foot": "feet", "tooth": "teeth", "deer": "deer", "sheep": "sheep", "fish": "fish", "ox": "oxen",
    "wolf": "wolves", "leaf": "leaves", "knife": "knives", "elf": "elves", "dwarf": "dwarves", "shelf": "shelves",
    "thief": "thieves", "cactus": "cacti", "fungus": "fungi", "moose": "moose", "reindeer": "reindeer",
    "aircraft": "aircraft", "spacecraft": "spacecraft", "bison": "bison", "octopus": "octopuses",
}


def plural(word: str) -> str:
    if word in _IRREGULAR:
        return _IRREGULAR[word]
    if word.endswith(("s", "x", "z", "ch", "sh")):
        return word + "es"
    if word.endswith("y") and len(word) > 2 and word[-2] not in "aeiou":
        return word[:-1] + "ies"
    return word + "s"


@dataclass
class Entry:
    category: str
    canonical: str
    data: dict = field(default_factory=dict)


@dataclass
class Match:
    start: int  # word index
    end: int  # exclusive
    text: str  # surface text as matched (normalised words joined by spaces)
    entries: list  # list[Entry]


def _load_json(name: str, data_dir: Path = DATA_DIR) -> dict:
    with open(Path(data_dir) / name, encoding="utf-8") as fh:
        return json.load(fh)


class Vocabulary:
    """All vocabularies plus a phrase index (tuple of words -> entries)."""

    def __init__(self, data_dir: Path | None = None):
        self.data_dir = Path(data_dir) if data_dir is not None else DATA_DIR
        self.tables: dict[str, dict[str, dict]] = {}
        self.index: dict[tuple[str, ...], list[Entry]] = {}
        self.max_len = 1
        for cat, fname in CATEGORY_FILES.items():
            table = {k: v for k, v in _load_json(fname, self.data_dir).items() if not k.startswith("_")}
            self.tables[cat] = table
            for canon, data in table.items():
                self._add(canon, Entry(cat, canon, data))
                for alias in data.get("aliases", []):
                    self._add(alias, Entry(cat, canon, data))
        subj = _load_json("subjects.json", self.data_dir)
        self.subject_category: dict[str, str] = {}
        self.subject_alias: dict[str, str] = dict(subj.get("aliases", {}))
        self.typical_colours: dict[str, list[str]] = dict(subj.get("typical_colours", {}))
        subjects: dict[str, dict] = {}
        for cat, nouns in subj["categories"].items():
            for noun in nouns:
                canon = self.subject_alias.get(noun, noun)
                self.subject_category.setdefault(canon, cat)
                subjects.setdefault(canon, {"category": self.subject_category[canon]})
                e = Entry("subject", canon, subjects[canon])
                self._add(noun, e)
                words = noun.split()
                self._add(" ".join(words[:-1] + [plural(words[-1])]), e, plural_form=True)
        self.tables["subject"] = subjects
        for canon, data in self.tables["scene"].items():
            for alias in [canon] + data.get("aliases", []):
                words = alias.split()
                if len(words) <= 2 and not words[-1].endswith("s"):
                    self._add(" ".join(words[:-1] + [plural(words[-1])]), Entry("scene", canon, data), plural_form=True)
        for canon, data in self.tables["medium"].items():
            for alias in [canon] + data.get("aliases", []):
                words = alias.split()
                if not words[-1].endswith("s") and len(words) <= 2:
                    self._add(" ".join(words[:-1] + [plural(words[-1])]), Entry("medium", canon, data), plural_form=True)
        # words known to the vocabularies (for the spell checker)
        self.known_words = frozenset(w for key in self.index for w in key)
        self.colour_rgb = {k: tuple(v["rgb"]) for k, v in self.tables["colour"].items()}

    def _add(self, phrase: str, entry: Entry, plural_form: bool = False) -> None:
        key = phrase_key(phrase)
        if not key:
            return
        bucket = self.index.setdefault(key, [])
        for e in bucket:
            if e.category == entry.category:
                if plural_form or e.canonical == entry.canonical:
                    return  # an explicit entry wins over a derived plural
        bucket.append(entry)
        self.max_len = max(self.max_len, len(key))

    def match(self, words: list[str]) -> list[Match]:
        """Greedy longest-phrase matching over a list of normalised words."""
        out: list[Match] = []
        i, n = 0, len(words)
        while i < n:
            found = None
            for L in range(min(self.max_len, n - i), 0, -1):
                key = tuple(words[i : i + L])
                entries = self.index.get(key)
                if entries:
                    found = Match(i, i + L, " ".join(key), list(entries))
                    break
            if found:
                out.append(found)
                i = found.end
            else:
                i += 1
        return out

    def canonical_names(self, category: str) -> list[str]:
        return list(self.tables[category])

    def canonicalise(self, category: str, name: str) -> str | None:
        """Map any alias (or canonical) of ``category`` to its canonical name."""
        for e in self.index.get(phrase_key(name), []):
            if e.category == category:
                return e.canonical
        return None


_vocab: Vocabulary | None = None
_vocab_lock = threading.Lock()


def get_vocabulary() -> Vocabulary:
    global _vocab
    if _vocab is None:
        with _vocab_lock:
            if _vocab is None:
                _vocab = Vocabulary()
    return _vocab


def strip_accents(s: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", s) if not unicodedata.combining(c))
