"""Style presets and the style stack.

A preset is a JSON object ``{"name", "prompt" (with a "{prompt}" placeholder), "negative_prompt", "tags"}``;
a file holds one preset or a list of them. Lantern ships its presets in ``lantern/data/styles/``; users add
files to ``<ComfyUI user dir>/lantern/styles/`` (the node passes that folder). A malformed file or preset
is reported by file name and skipped; the others still load. A user preset with the same name as a shipped
one replaces it.

Stacking: each preset's template is split at ``{prompt}`` into what goes before and after the user's text;
the pieces of all presets are joined around the user's (verbatim) prompt, in the given order. A weight other
than 1 wraps that preset's words in ComfyUI's weighting syntax ``(words:w)``; weight 0 leaves it out.
Suggestion by meaning uses the shared MiniLM embedder, with a lexical fallback (tag and word overlap with
the prompt's reading) that says so.
"""
from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import semantic as _semantic
from .syntax import escape_for_prompt
from .vocab import STOPWORDS, split_words

SHIPPED_DIR = Path(__file__).resolve().parents[1] / "data" / "styles"
PLACEHOLDER = "{prompt}"
MAX_FILE_BYTES = 2_000_000


@dataclass
class StylePreset:
    name: str
    prompt: str
    negative_prompt: str = ""
    tags: list[str] = field(default_factory=list)
    source: str = ""

    @property
    def before(self) -> str:
        return self.prompt.split(PLACEHOLDER, 1)[0]

    @property
    def after(self) -> str:
        parts = self.prompt.split(PLACEHOLDER, 1)
        return parts[1] if len(parts) > 1 else ""

    def describe(self) -> str:
        words = self.prompt.replace(PLACEHOLDER, " ").strip(" ,")
        return f"{self.name}: {', '.join(self.tags)}. {words}"

    def to_dict(self) -> dict:
        return {"name": self.name, "prompt": self.prompt, "negative_prompt": self.negative_prompt,
                "tags": list(self.tags), "source": self.source}


def validate_preset(obj, where: str) -> StylePreset:
    if not isinstance(obj, dict):
        raise ValueError(f"{where}: a preset must be a JSON object, got {type(obj).__name__}")
    name = obj.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"{where}: 'name' must be a non-empty string")
    prompt = obj.get("prompt")
    if not isinstance(prompt, str):
        raise ValueError(f"{where} ({name}): 'prompt' must be a string containing {PLACEHOLDER}")
    if prompt.count(PLACEHOLDER) != 1:
        raise ValueError(f"{where} ({name}): 'prompt' must contain {PLACEHOLDER} exactly once")
    neg = obj.get("negative_prompt", "")
    if neg is None:
        neg = ""
    if not isinstance(neg, str):
        raise ValueError(f"{where} ({name}): 'negative_prompt' must be a string")
    tags = obj.get("tags", [])
    if tags is None:
        tags = []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise ValueError(f"{where} ({name}): 'tags' must be a list of strings")
    return StylePreset(name.strip(), prompt, neg, [t.strip() for t in tags if t.strip()])


def load_file(path: Path) -> tuple[list[StylePreset], list[dict]]:
    """Presets of one file and the errors (each {file, error}); never raises for bad content."""
    errors: list[dict] = []
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            return [], [{"file": path.name, "error": f"file larger than {MAX_FILE_BYTES} bytes"}]
        data = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        return [], [{"file": path.name, "error": f"not UTF-8 text ({exc.reason})"}]
    except json.JSONDecodeError as exc:
        return [], [{"file": path.name, "error": f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"}]
    except OSError as exc:
        return [], [{"file": path.name, "error": f"cannot read: {exc.strerror or exc}"}]
    items = data if isinstance(data, list) else [data]
    presets = []
    for i, item in enumerate(items):
        where = path.name if len(items) == 1 else f"{path.name}[{i}]"
        try:
            p = validate_preset(item, where)
        except ValueError as exc:
            errors.append({"file": path.name, "error": str(exc)})
            continue
        p.source = str(path)
        presets.append(p)
    return presets, errors


class StyleLibrary:
    """Shipped presets plus the user's, by name (case-insensitive lookup)."""

    def __init__(self, user_dirs: list[Path | str] | None = None, shipped_dir: Path | None = SHIPPED_DIR):
        self.presets: dict[str, StylePreset] = {}
        self.errors: list[dict] = []
        dirs = ([Path(shipped_dir)] if shipped_dir else []) + [Path(d) for d in (user_dirs or [])]
        for d in dirs:
            if not d.is_dir():
                continue
            for path in sorted(d.glob("*.json")):
                presets, errors = load_file(path)
                self.errors += errors
                for p in presets:
                    self.presets[p.name] = p
        self._lower = {k.lower(): k for k in self.presets}
        self._emb: tuple[list[str], np.ndarray] | None = None
        self._lock = threading.Lock()

    def names(self) -> list[str]:
        return sorted(self.presets)

    def get(self, name: str) -> StylePreset:
        key = self._lower.get(str(name).strip().lower())
        if key is None:
            close = [n for n in self.names() if str(name).strip().lower() in n.lower()][:3]
            hint = f" Similar: {', '.join(close)}." if close else ""
            raise ValueError(f"style '{name}' is not a known preset.{hint} See the list of presets in the node.")
        return self.presets[key]

    # ----------------------------------------------------------------------------------------
    def suggest(self, text: str, k: int = 5, reading: dict | None = None, semantic: bool | str = "auto") -> dict:
        """Presets ranked by meaning for ``text``: {"method": "minilm"|"lexical", "note", "styles": [{name, score}]}."""
        names = self.names()
        if not names:
            return {"method": "lexical", "note": "no presets loaded", "styles": []}
        use_sem = semantic is True or (semantic == "auto" and _semantic.available())
        note = ""
        if use_sem and str(text).strip():
            try:
                with self._lock:
                    if self._emb is None or self._emb[0] != names:
                        self._emb = (names, _semantic.embed([self.presets[n].describe() for n in names]))
                    mat = self._emb[1]
                q = _semantic.embed([str(text)[:1000]])[0]
                sims = mat @ q
                order = np.argsort(-sims, kind="stable")[:k]
                return {"method": "minilm", "note": "", "styles": [{"name": names[i], "score": round(float(sims[i]), 4)} for i in order]}
            except Exception as exc:
                note = f"MiniLM failed ({exc}); lexical matching used"
        elif not use_sem:
            note = ("semantic matching switched off" if semantic is False else
                    f"MiniLM unavailable ({_semantic.unavailable_reason()}); lexical matching used")
        return {"method": "lexical", "note": note, "styles": self._lexical(text, k, reading)}

    def _lexical(self, text: str, k: int, reading: dict | None) -> list[dict]:
        words = {w for w, _, _ in split_words(str(text)) if w not in STOPWORDS}
        named = set()
        if reading is not None:
            named = {x.lower() for x in reading.get("style", []) + reading.get("medium", []) + reading.get("mood", [])}
            named |= {x.lower() for x in reading.get("subject", []) + reading.get("scene", [])}
        scores = []
        for n in self.names():
            p = self.presets[n]
            tags = {t.lower() for t in p.tags}
            tag_words = {w for t in tags for w, _, _ in split_words(t)}
            pwords = {w for w, _, _ in split_words(p.prompt.replace(PLACEHOLDER, " ") + " " + p.name)} - STOPWORDS
            score = 3.0 * len(tags & named) + 1.5 * len(words & tag_words) + 0.5 * len(words & pwords)
            scores.append((score, n))
        scores.sort(key=lambda x: (-x[0], x[1]))
        return [{"name": n, "score": round(s, 4)} for s, n in scores[:k] if s > 0] or [
            {"name": n, "score": 0.0} for _, n in scores[:k]]


def _weighted(words: str, weight: float) -> tuple[str, str, str]:
    """(lead, words-with-weight, trail): separators stay outside the weighting parentheses."""
    m = re.match(r"^([\s,]*)(.*?)([\s,]*)$", words, re.S)
    lead, core, trail = m.group(1), m.group(2), m.group(3)
    if not core:
        return lead, "", trail
    if abs(weight - 1.0) < 1e-6:
        return lead, core, trail
    return lead, f"({escape_for_prompt(core)}:{weight:.2f})", trail


def _wrap(preset: "StylePreset", inner: str, weight: float) -> str:
    _l, b, btrail = _weighted(preset.before, weight)
    alead, a, _t = _weighted(preset.after, weight)
    out = inner
    if b:
        sep = (btrail.strip() + " ") if btrail.strip() else " "
        out = b + sep + out if out else b
    if a:
        sep = (alead.strip() + " ") if alead.strip() else " "
        out = out + sep + a if out else a
    return out


def parse_stack(spec) -> list[tuple[str, float]]:
    """``"Name:1.2, Other"`` / list of names / list of (name, weight) -> [(name, weight)]."""
    if spec is None:
        return []
    items = spec if isinstance(spec, (list, tuple)) else re.split(r"[\n;,]", str(spec))
    out = []
    for it in items:
        if isinstance(it, (list, tuple)):
            name, w = it[0], float(it[1])
        else:
            s = str(it).strip()
            if not s:
                continue
            m = re.match(r"^(.*?):\s*([-+]?\d*\.?\d+)\s*$", s)
            name, w = (m.group(1).strip(), float(m.group(2))) if m else (s, 1.0)
        if not 0.0 <= w <= 2.0:
            raise ValueError(f"style weight for '{name}' must be between 0 and 2, got {w}")
        out.append((str(name).strip(), w))
    return out


def apply_stack(text: str, stack: list[tuple[StylePreset, float]], negative: str = "") -> dict:
    """Wrap the user's prompt with several presets (first = outermost). Returns {positive, negative, names}.

    The user's text is kept verbatim (only surrounding whitespace is trimmed).
    """
    text = "" if text is None else str(text)
    active = [(p, w) for p, w in stack if w > 0]
    positive = text.strip()
    for preset, w in reversed(active):
        positive = _wrap(preset, positive, w)
    positive = re.sub(r"(\s*,\s*){2,}", ", ", positive).strip(" ,")
    names = [p.name if abs(w - 1.0) < 1e-6 else f"{p.name}:{w:.2f}" for p, w in active]
    neg_parts = ([negative.strip()] if negative and negative.strip() else [])
    for p, w in active:
        _l, n, _t = _weighted(p.negative_prompt, w)
        if n:
            neg_parts.append(n)
    seen, terms = set(), []
    for part in neg_parts:
        for t in [x.strip() for x in re.split(r",(?![^()]*\))", part)]:
            if t and t.lower() not in seen:
                seen.add(t.lower())
                terms.append(t)
    return {"positive": positive, "negative": ", ".join(terms), "names": names}


_library: dict[tuple, tuple[tuple, StyleLibrary]] = {}
_library_lock = threading.Lock()


def _signature(dirs) -> tuple:
    sig = []
    for d in dirs:
        p = Path(d)
        if p.is_dir():
            for f in sorted(p.glob("*.json")):
                try:
                    st = f.stat()
                    sig.append((str(f), st.st_mtime_ns, st.st_size))
                except OSError:
                    pass
    return tuple(sig)


def get_library(user_dirs: list | None = None, reload: bool = False) -> StyleLibrary:
    """The presets (shipped + user folders), reloaded when a user file is added, changed or removed."""
    key = tuple(str(d) for d in (user_dirs or []))
    sig = _signature(key)
    with _library_lock:
        cached = _library.get(key)
        if reload or cached is None or cached[0] != sig:
            _library[key] = (sig, StyleLibrary(list(key)))
        return _library[key][1]
