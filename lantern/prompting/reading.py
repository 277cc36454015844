"""The prompt interpreter: reads a prompt the way an experienced prompter would.

``read_prompt(text)`` returns a plain JSON-able dict (schema below, ``READING_SCHEMA``), used by the
LanternPromptInterpreter node, the ``/lantern/prompt/read`` route, the expander and the style stack.

Reading schema ``lantern.reading/1`` (all keys always present):

==================  ==========================================================================
key                 value
==================  ==========================================================================
schema              "lantern.reading/1"
text                the prompt as given
empty               true when the prompt has no readable words
subject             main subjects, canonical singular nouns, most salient first
objects             secondary things (props, things in the setting)
subject_source      "vocabulary" | "scene" | "guess" | "none"
scene               settings (canonical, e.g. "city", "forest")
style               styles and art movements named (canonical)
movement            the subset of ``style`` that are art movements
medium              media named (canonical, e.g. "watercolor")
colours             [{name, rgb [r,g,b], hex, family, text}] named colours
palette             3-6 swatches [{name, rgb, hex, source}]; source = named | subject:<x> |
                    lighting:<x> | time:<x> | scene:<x> | mood:<x> | default
lighting            lights named (canonical)
time_of_day         canonical times (e.g. "golden hour", "night")
mood                canonical moods
composition         [{name, kind}] shot / angle / lens / framing / focus
keywords            [{text, category, score}] ordered by salience (position, user weight, kind)
syntax              {weighted: [{text, weight}], embeddings: [..], tags: [..], control_chars: n,
                    unbalanced: bool}
language            {words, non_latin_words, emoji}
tokens              CLIP token map: {tokens, windows_used, window_size, tokens_per_window,
                    left_in_window, windows: [{index, tokens, words, text}], split_words:
                    [{word, windows}], method: clip|estimate, tokenizer}
warnings            [{code, severity: info|warn|error, message, fix}]
misspellings        [{word, suggestion}]
suggestions         {style: [..], medium: [..], lighting: [..], composition: [..], method}
variants            1-3 improved prompts (the user's text kept verbatim, additions appended)
semantic            {method: minilm|lexical, note}
==================  ==========================================================================
"""
from __future__ import annotations

import re
import unicodedata

from . import syntax as _syntax
from .tokens import TokenCounter, get_counter
from .vocab import (
    LOCATIVE,
    MODIFIERS,
    QUANTITY_WORDS,
    STOPWORDS,
    Vocabulary,
    _load_json,
    get_vocabulary,
    split_words,
)

SCHEMA_ID = "lantern.reading/1"

READING_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": SCHEMA_ID,
    "title": "Lantern prompt reading",
    "type": "object",
    "required": [
        "schema", "text", "empty", "subject", "objects", "subject_source", "scene", "style", "movement",
        "medium", "colours", "palette", "lighting", "time_of_day", "mood", "composition", "keywords",
        "syntax", "language", "tokens", "warnings", "misspellings", "suggestions", "variants", "semantic",
    ],
    "properties": {
        "schema": {"const": SCHEMA_ID},
        "text": {"type": "string"},
        "empty": {"type": "boolean"},
        "subject": {"type": "array", "items": {"type": "string"}},
        "objects": {"type": "array", "items": {"type": "string"}},
        "subject_source": {"enum": ["vocabulary", "scene", "guess", "none"]},
        "scene": {"type": "array", "items": {"type": "string"}},
        "style": {"type": "array", "items": {"type": "string"}},
        "movement": {"type": "array", "items": {"type": "string"}},
        "medium": {"type": "array", "items": {"type": "string"}},
        "colours": {"type": "array", "items": {"type": "object", "required": ["name", "rgb", "hex"]}},
        "palette": {"type": "array", "minItems": 3, "maxItems": 6,
                    "items": {"type": "object", "required": ["name", "rgb", "hex", "source"]}},
        "lighting": {"type": "array", "items": {"type": "string"}},
        "time_of_day": {"type": "array", "items": {"type": "string"}},
        "mood": {"type": "array", "items": {"type": "string"}},
        "composition": {"type": "array", "items": {"type": "object", "required": ["name", "kind"]}},
        "keywords": {"type": "array", "items": {"type": "object", "required": ["text", "category", "score"]}},
        "syntax": {"type": "object"},
        "language": {"type": "object"},
        "tokens": {"type": "object", "required": ["tokens", "windows", "split_words", "method"]},
        "warnings": {"type": "array", "items": {"type": "object", "required": ["code", "severity", "message", "fix"]}},
        "misspellings": {"type": "array"},
        "suggestions": {"type": "object"},
        "variants": {"type": "array", "maxItems": 3, "items": {"type": "string"}},
        "semantic": {"type": "object", "required": ["method"]},
    },
}

_BREAK_RE = re.compile(r"[,;.|:!?\n]|\s-\s")
_CATEGORY_SCORE = {
    "subject": 1.0, "style": 0.9, "medium": 0.9, "scene": 0.8, "colour": 0.7, "lighting": 0.7,
    "time_of_day": 0.65, "mood": 0.6, "composition": 0.5, "object": 0.5, "word": 0.3,
}
_MAX_ANALYSED_WORDS = 3000  # beyond this the reading covers the first words only (tokens cover all)


def rgb_hex(rgb) -> str:
    return "#%02x%02x%02x" % tuple(int(c) for c in rgb)


def _is_emoji(ch: str) -> bool:
    return unicodedata.category(ch) == "So" or 0x1F000 <= ord(ch) <= 0x1FAFF


class _Word:
    __slots__ = ("text", "weight", "clause", "index", "possessive")

    def __init__(self, text, weight, clause, index, possessive=False):
        self.text, self.weight, self.clause, self.index = text, weight, clause, index
        self.possessive = possessive


def _word_stream(parsed: _syntax.ParsedPrompt) -> list[_Word]:
    words: list[_Word] = []
    clause = 0
    for seg in parsed.segments:
        t = _syntax.TAG_RE.sub(" , ", seg.text)
        t = _syntax.EMBEDDING_RE.sub(" , ", t).replace("\\", " ")
        last_end = 0
        for w, s, e in split_words(t):
            if _BREAK_RE.search(t[last_end:s]):
                clause += 1
            raw = t[s:e].lower()
            words.append(_Word(w, seg.weight, clause, len(words), raw.endswith(("'s", "’s"))))
            last_end = e
            if len(words) >= _MAX_ANALYSED_WORDS:
                return words
        if _BREAK_RE.search(t[last_end:]):
            clause += 1
    return words


def _is_verb_ing(w: str) -> bool:
    return len(w) > 5 and w.endswith("ing") and w not in ("building", "painting", "drawing", "ring", "king", "evening", "morning", "clothing", "lighting", "ceiling", "wedding", "string")


class Interpreter:
    """Holds the vocabularies (and optionally a token counter) and reads prompts."""

    def __init__(self, vocab: Vocabulary | None = None):
        self.vocab = vocab or get_vocabulary()
        self.suggest_table = {k: v for k, v in _load_json("suggestions.json", self.vocab.data_dir).items() if not k.startswith("_")}
        self._nouns = {}
        for key, entries in self.vocab.index.items():
            if len(key) == 1 and len(key[0]) >= 3:
                for e in entries:
                    if e.category == "subject":
                        self._nouns[key[0]] = e.canonical

    # -------------------------------------------------------------------------------------
    def read(self, text, counter: TokenCounter | None = None, semantic: bool | str = "auto",
             diagnose: bool = True) -> dict:
        parsed = _syntax.parse(text)
        counter = counter or get_counter()
        words = _word_stream(parsed)
        vocab = self.vocab
        matches = []
        # match within clauses only
        start = 0
        while start < len(words):
            end = start
            while end < len(words) and words[end].clause == words[start].clause:
                end += 1
            clause_words = [w.text for w in words[start:end]]
            for m in vocab.match(clause_words):
                m.start += start
                m.end += start
                matches.append(m)
            start = end
        matched_at = {}
        for m in matches:
            for i in range(m.start, m.end):
                matched_at[i] = m

        out = {k: [] for k in ("subject", "objects", "scene", "style", "movement", "medium", "lighting", "time_of_day", "mood")}
        colours, composition, keywords = [], [], []
        nouns: list[tuple[int, int, str, str, str]] = []  # (index, clause, canonical, subject|scene, role)
        seen = {k: set() for k in ("style", "movement", "medium", "lighting", "time_of_day", "mood", "scene", "colour", "composition", "subject", "objects")}

        def add(cat, name):
            if name not in seen[cat]:
                seen[cat].add(name)
                out[cat].append(name)
                return True
            return False

        # subject roles: walk the words clause by clause
        role_at = self._roles(words, matched_at)

        for m in matches:
            w0 = words[m.start]
            pos = 1.0 / (1.0 + 0.03 * m.start)
            for e in m.entries:
                cat = e.category
                if cat == "colour":
                    if e.data.get("ambiguous") and not self._colour_position(words, m, matched_at):
                        continue
                    if e.canonical not in seen["colour"]:
                        seen["colour"].add(e.canonical)
                        d = vocab.tables["colour"][e.canonical]
                        colours.append({"name": e.canonical, "rgb": list(d["rgb"]), "hex": rgb_hex(d["rgb"]),
                                        "family": d.get("family", ""), "text": m.text})
                elif cat == "composition":
                    if e.canonical not in seen["composition"]:
                        seen["composition"].add(e.canonical)
                        composition.append({"name": e.canonical, "kind": e.data.get("kind", "")})
                elif cat == "subject":
                    role = role_at.get(m.start, "main")
                    if role == "drop":
                        continue
                    nouns.append((m.start, w0.clause, e.canonical, "subject", role))
                    cat = "subject" if role == "main" else "object"
                elif cat == "scene":
                    add("scene", e.canonical)
                    nouns.append((m.start, w0.clause, e.canonical, "scene", role_at.get(m.start, "main")))
                elif cat == "style":
                    add("style", e.canonical)
                    if e.data.get("movement"):
                        add("movement", e.canonical)
                else:
                    add(cat, e.canonical)
                keywords.append({"text": m.text, "category": cat, "canonical": e.canonical,
                                 "score": round(_CATEGORY_SCORE.get(cat, 0.3) * w0.weight * pos, 4)})
        # compound nouns ("spellbook" -> book) and leftover content words
        for w in words:
            if w.index in matched_at or w.text in STOPWORDS:
                continue
            noun = self._compound_noun(w.text)
            pos = 1.0 / (1.0 + 0.03 * w.index)
            if noun:
                role = role_at.get(w.index, "main")
                if role != "drop":
                    nouns.append((w.index, w.clause, noun, "subject", role))
                    keywords.append({"text": w.text, "category": "subject" if role == "main" else "object",
                                     "canonical": noun, "score": round(_CATEGORY_SCORE["subject"] * w.weight * pos, 4)})
                continue
            if w.text.isdigit():
                continue
            keywords.append({"text": w.text, "category": "word", "canonical": w.text,
                             "score": round(_CATEGORY_SCORE["word"] * w.weight * pos, 4)})
        subject_source = self._assemble_subjects(nouns, out, words, matched_at)
        # keywords by salience, unique by canonical text
        keywords.sort(key=lambda k: (-k["score"], k["text"]))
        uniq, kw_seen = [], set()
        for k in keywords:
            key = (k["canonical"], k["category"])
            if key in kw_seen:
                continue
            kw_seen.add(key)
            uniq.append(k)
        non_latin = sum(1 for w in words if any(ord(c) > 0x24F and c.isalpha() for c in w.text))
        emoji = sum(1 for c in parsed.clean if _is_emoji(c))
        reading = {
            "schema": SCHEMA_ID,
            "text": parsed.original,
            "empty": not words,
            "subject": out["subject"],
            "objects": out["objects"],
            "subject_source": subject_source,
            "scene": out["scene"],
            "style": out["style"],
            "movement": out["movement"],
            "medium": out["medium"],
            "colours": colours,
            "palette": [],
            "lighting": out["lighting"],
            "time_of_day": out["time_of_day"],
            "mood": out["mood"],
            "composition": composition,
            "keywords": uniq[:40],
            "syntax": {"weighted": parsed.weighted, "embeddings": parsed.embeddings, "tags": parsed.tags,
                       "control_chars": parsed.control_chars, "unbalanced": parsed.unbalanced},
            "language": {"words": len(words), "non_latin_words": non_latin, "emoji": emoji},
            "tokens": counter.window_map(parsed.clean),
            "warnings": [],
            "misspellings": [],
            "suggestions": {},
            "variants": [],
            "semantic": {"method": "lexical", "note": ""},
        }
        reading["palette"] = self.palette(reading)
        if diagnose:
            from .diagnose import diagnose as _diagnose

            _diagnose(reading, self, counter=counter, semantic=semantic, words=[w.text for w in words],
                      matched=set(matched_at))
        return reading

    # -------------------------------------------------------------------------------------
    def _assemble_subjects(self, nouns, out, words, matched_at) -> str:
        """Main subjects: head nouns (and a head place noun before them), then fallbacks."""
        nouns = sorted(nouns)
        mains = [n for n in nouns if n[3] == "subject" and n[4] == "main"]
        first_main = {}
        for n in mains:
            first_main.setdefault(n[1], n[0])
        heads = [n for n in nouns if n[3] == "scene" and n[4] == "main" and n[0] < first_main.get(n[1], -1)]
        subject, objects = [], []
        for n in sorted(heads + mains):
            if n[2] not in subject:
                subject.append(n[2])
        for n in nouns:
            if n[3] == "subject" and n[4] != "main" and n[2] not in subject and n[2] not in objects:
                objects.append(n[2])
        source = "vocabulary" if subject else "none"
        if not subject:
            head_scenes = [n for n in nouns if n[3] == "scene" and n[4] == "main"]
            if head_scenes:
                subject, source = [head_scenes[0][2]], "scene"
            elif objects:
                subject, source = [objects.pop(0)], "vocabulary"
            elif out["scene"]:
                subject, source = [out["scene"][0]], "scene"
        if not subject:
            guess = self._guess_subject(words, matched_at)
            if guess:
                subject, source = [guess], "guess"
        out["subject"], out["objects"] = subject, objects
        return source

    def _is_noun_at(self, words, matched_at, i) -> bool:
        m = matched_at.get(i)
        if m is not None and m.start == i:
            return any(e.category in ("subject", "scene") for e in m.entries)
        return m is None and i < len(words) and self._compound_noun(words[i].text) is not None

    def _roles(self, words: list[_Word], matched_at: dict) -> dict[int, str]:
        """Role of the noun starting at each index: main | secondary | modifier | drop.

        main: in the clause's head noun phrase, joined by and/with, or the object of a verb
        ("walking a dog"); secondary: after a locative preposition ("on a hill") or "made of";
        modifier: a noun directly before another noun ("ramen shop") or a possessor ("witch's
        cottage"); drop: a quantity/container before "of" ("a bowl of ramen").
        """
        roles: dict[int, str] = {}
        state, clause = "main", None
        i = 0
        while i < len(words):
            w = words[i]
            if w.clause != clause:
                clause, state = w.clause, "main"
            t = w.text
            m = matched_at.get(i)
            end = m.end if (m is not None and m.start == i) else i + 1
            is_noun = self._is_noun_at(words, matched_at, i)
            if is_noun:
                last = words[end - 1]
                nxt = words[end] if end < len(words) and words[end].clause == clause else None
                if nxt is not None and nxt.text == "of" and (last.text in QUANTITY_WORDS or t in QUANTITY_WORDS):
                    roles[i] = "drop"
                elif last.possessive:
                    roles[i] = "modifier"
                elif nxt is not None and self._is_noun_at(words, matched_at, end):
                    roles[i] = "modifier"
                else:
                    roles[i] = state
                i = end
                continue
            if m is not None and m.start == i:  # another category (style, colour...): keep state
                roles[i] = state
                i = end
                continue
            if t in LOCATIVE or t in ("made", "full", "covered", "filled"):
                state = "secondary"
            elif _is_verb_ing(t):
                nxt = words[i + 1].text if i + 1 < len(words) else ""
                state = "secondary" if nxt in LOCATIVE else "main"
            roles[i] = state
            i += 1
        return roles

    def _colour_position(self, words: list[_Word], m, matched_at) -> bool:
        """An ambiguous colour word ("orange", "cream") counts as a colour in adjective position."""
        def is_colour(idx):
            mm = matched_at.get(idx)
            return mm is not None and any(e.category == "colour" for e in mm.entries)

        clause = words[m.start].clause
        nxt = m.end
        if nxt < len(words) and words[nxt].clause == clause:
            t = words[nxt].text
            if t not in STOPWORDS:
                return True
            if t in ("and", "or") and nxt + 1 < len(words) and is_colour(nxt + 1):
                return True
        prv = m.start - 1
        if prv >= 0 and words[prv].clause == clause:
            t = words[prv].text
            if t in ("and", "or") and prv - 1 >= 0 and is_colour(prv - 1):
                return True
            if t in ("in", "of") and (nxt >= len(words) or words[nxt].clause != clause):
                return True  # "dressed in olive", "shades of coral"
        return False

    def _compound_noun(self, w: str) -> str | None:
        if len(w) < 6 or not w.isalpha() or w.endswith(("ing", "ed")):
            return None
        for k in range(3, len(w) - 2):
            tail = w[k:]
            if tail in self._nouns and (len(tail) >= 4 or k >= 5):
                return self._nouns[tail]
        return None

    def _guess_subject(self, words: list[_Word], matched_at) -> str | None:
        for w in words:
            t = w.text
            if w.index in matched_at or t in STOPWORDS or t in MODIFIERS or len(t) < 3:
                continue
            if t.endswith(("ly", "ing", "ed", "ful", "ous", "ive")) or any(c.isdigit() for c in t):
                continue
            return t
        return None

    # -------------------------------------------------------------------------------------
    def palette(self, reading: dict, size: int = 5) -> list[dict]:
        """3-6 swatches: named colours first, then what subjects, light, time, scene and mood imply."""
        vocab = self.vocab
        cand: list[tuple[str, str]] = [(c["name"], "named") for c in reading["colours"] if c["name"] in vocab.colour_rgb]
        for s in reading["subject"] + reading["objects"]:
            for c in vocab.typical_colours.get(s, []):
                cand.append((c, f"subject:{s}"))
        for l in reading["lighting"]:
            tint = vocab.tables["lighting"][l].get("tint")
            if tint:
                cand.append((tint, f"lighting:{l}"))
        for t in reading["time_of_day"]:
            for c in vocab.tables["time_of_day"][t].get("palette", []):
                cand.append((c, f"time:{t}"))
        for s in reading["scene"]:
            for c in vocab.tables["scene"][s].get("palette", []):
                cand.append((c, f"scene:{s}"))
        for md in reading["mood"]:
            for c in vocab.tables["mood"][md].get("palette", []):
                cand.append((c, f"mood:{md}"))
        palette_names = {"pastel", "neon", "rainbow"}
        swatches: list[dict] = []
        named_only = len([c for c in cand if c[1] == "named"])
        limit = max(3, min(6, max(size, named_only)))
        for name, src in cand + [("cream", "default"), ("gray", "default"), ("navy", "default")]:
            if name not in vocab.colour_rgb or (name in palette_names and src != "named"):
                continue
            rgb = vocab.colour_rgb[name]
            if any(s["name"] == name for s in swatches):
                continue
            if any(sum((a - b) ** 2 for a, b in zip(rgb, s["rgb"])) < 30 ** 2 for s in swatches):
                continue
            swatches.append({"name": name, "rgb": list(rgb), "hex": rgb_hex(rgb), "source": src})
            if len(swatches) >= limit:
                break
        return swatches


_interpreter: Interpreter | None = None


def get_interpreter() -> Interpreter:
    global _interpreter
    if _interpreter is None:
        _interpreter = Interpreter()
    return _interpreter


def read_prompt(text, counter: TokenCounter | None = None, tokenizer=None, semantic: bool | str = "auto",
                diagnose: bool = True) -> dict:
    """Read ``text`` and return the reading dict (see module docstring for the schema)."""
    if counter is None and tokenizer is not None:
        counter = get_counter(tokenizer)
    return get_interpreter().read(text, counter=counter, semantic=semantic, diagnose=diagnose)
