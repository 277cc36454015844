"""Diagnosis of a reading: warnings with fixes, misspellings, suggestions and improved variants.

Called by ``Interpreter.read``; fills ``warnings``, ``misspellings``, ``suggestions``, ``variants``
and ``semantic`` of the reading in place.
"""
from __future__ import annotations

import difflib
import re
import threading

import numpy as np

from .. import semantic as _semantic
from .vocab import STOPWORDS, MODIFIERS

_spell_lock = threading.Lock()
_spell = {"loaded": False, "checker": None}
_sem_lock = threading.Lock()
_sem_cache: dict[str, tuple[list[str], np.ndarray]] = {}

MAX_SPELL_WORDS = 60
MAX_WEIGHT = 1.6
SEMANTIC_MIN = 0.30  # cosine similarity below which a MiniLM match is too weak to suggest


def _warn(reading, code, severity, message, fix):
    reading["warnings"].append({"code": code, "severity": severity, "message": message, "fix": fix})


def _spellchecker(known_words):
    with _spell_lock:
        if not _spell["loaded"]:
            _spell["loaded"] = True
            try:
                from spellchecker import SpellChecker

                sc = SpellChecker(distance=1)
                sc.word_frequency.load_words([w for w in known_words if w.isalpha()])
                _spell["checker"] = sc
            except Exception:  # pyspellchecker is optional
                _spell["checker"] = None
        return _spell["checker"]


def find_misspellings(words: list[str], interp, matched: set[int]) -> list[dict]:
    """Words that look like typos: unknown to the vocabularies and to the English dictionary."""
    vocab_words = interp.vocab.known_words
    sc = _spellchecker(vocab_words)
    candidates = []
    seen = set()
    for i, w in enumerate(words):
        if i in matched or w in seen or w in STOPWORDS or w in MODIFIERS or w in vocab_words:
            continue
        seen.add(w)
        if len(w) < 4 or not w.isascii() or not w.isalpha():
            continue
        candidates.append(w)
        if len(candidates) >= MAX_SPELL_WORDS:
            break
    if not candidates:
        return []
    unknown = sc.unknown(candidates) if sc is not None else set(candidates)
    out = []
    vocab_list = sorted(w for w in vocab_words if w.isalpha() and len(w) >= 4)
    for w in candidates:
        if w not in unknown:
            continue
        close = difflib.get_close_matches(w, vocab_list, n=3, cutoff=0.84)
        if sc is None:  # no English dictionary: only typo shapes that real words rarely have
            close = [c for c in close if _typo_shape(w, c)]
        suggestion = close[0] if close else None
        if suggestion is None and sc is not None:
            c = sc.correction(w)
            suggestion = c if c and c != w else None
        if suggestion:
            out.append({"word": w, "suggestion": suggestion})
    return out


def _typo_shape(word: str, target: str) -> bool:
    """Two adjacent letters swapped, or one inner letter left out, of a word of 6+ letters."""
    if len(target) < 6:
        return False
    if len(word) == len(target):
        diff = [i for i in range(len(word)) if word[i] != target[i]]
        return len(diff) == 2 and diff[1] == diff[0] + 1 and word[diff[0]] == target[diff[1]] and word[diff[1]] == target[diff[0]]
    if len(word) == len(target) - 1:
        for i in range(1, len(target) - 1):  # not the first or last letter (earth/hearth, hill/hills)
            if target[:i] + target[i + 1 :] == word:
                return True
    return False


# --------------------------------------------------------------------------------------------
def _descriptors(interp, category: str) -> tuple[list[str], np.ndarray]:
    """Embeddings of one vocabulary's entries (name + reinforcing words), computed once."""
    with _sem_lock:
        if category in _sem_cache:
            return _sem_cache[category]
    table = interp.vocab.tables[category]
    names = list(table)
    texts = []
    for n in names:
        extra = ", ".join(table[n].get("reinforce", [])[:3])
        texts.append(f"{n}, {extra}" if extra else n)
    mat = _semantic.embed(texts)
    with _sem_lock:
        _sem_cache[category] = (names, mat)
    return names, mat


def _cached_matrix(key: str, names: list[str], texts: list[str]) -> tuple[list[str], np.ndarray]:
    with _sem_lock:
        if key in _sem_cache:
            return _sem_cache[key]
    mat = _semantic.embed(texts)
    with _sem_lock:
        _sem_cache[key] = (names, mat)
    return names, mat


def _themes():
    from .expander import pools

    themes = pools()["themes"]
    names = sorted(themes)
    return names, [f"{n}: " + ", ".join(themes[n]["words"][:6]) for n in names]


def _lexical_themes(reading) -> list[str]:
    from .vocab import split_words as _sw

    names, texts = _themes()
    words = {w for w, _, _ in _sw(reading["text"]) if w not in STOPWORDS}
    words |= set(reading["mood"]) | set(reading["style"])
    scored = []
    for n, t in zip(names, texts):
        tw = {w for w, _, _ in _sw(t)} - STOPWORDS
        score = len(words & tw) + (2 if n in words or n in reading["style"] or n in reading["mood"] else 0)
        if score:
            scored.append((-score, n))
    return [n for _, n in sorted(scored)[:2]]


def _looks(interp, reading) -> set[str]:
    looks = set()
    for s in reading["style"]:
        looks.add(interp.vocab.tables["style"][s].get("look", "any"))
    for m in reading["medium"]:
        looks.add(interp.vocab.tables["medium"][m].get("look", "any"))
    looks.discard("any")
    return looks


def _conflicting_looks(interp) -> set[frozenset]:
    return {frozenset(p) for p in interp.suggest_table.get("look_conflicts", [])}


def _compatible(interp, looks: set[str], look: str) -> bool:
    if look == "any" or not looks:
        return True
    pairs = _conflicting_looks(interp)
    return all(frozenset((look, l)) not in pairs for l in looks if l != look)


def suggestions(reading, interp, semantic="auto") -> dict:
    """What to add: styles/mediums/lighting/composition ranked for this prompt."""
    table = interp.suggest_table
    vocab = interp.vocab
    keys = []
    for s in reading["subject"]:
        cat = vocab.tables["subject"].get(s, {}).get("category")
        if cat and cat in table["subject_category"]:
            keys.append(table["subject_category"][cat])
    for s in reading["scene"]:
        kind = vocab.tables["scene"][s].get("kind")
        if kind in table["scene_kind"]:
            keys.append(table["scene_kind"][kind])
    keys.append(table["default"])
    out = {"style": [], "medium": [], "lighting": [], "composition": []}
    for md in reading["mood"]:
        out["lighting"] += table["mood"].get(md, {}).get("lighting", [])
    for t in reading["time_of_day"]:
        light = vocab.tables["time_of_day"][t].get("light")
        if light:
            out["lighting"].insert(0, light)
    for k in keys:
        for field in out:
            out[field] += k.get(field, [])
    out["theme"] = _lexical_themes(reading)
    out["palette"] = []
    method = "lexical"
    note = ""
    use_sem = semantic is True or (semantic == "auto" and _semantic.available())
    if semantic is True and not _semantic.available():
        note = "MiniLM unavailable (" + _semantic.unavailable_reason() + "); lexical matching used"
    elif semantic is False:
        note = "semantic matching switched off"
    elif not use_sem:
        note = "MiniLM unavailable (" + _semantic.unavailable_reason() + "); lexical matching used"
    if use_sem and not reading["empty"]:
        try:
            q = _semantic.embed([reading["text"][:1000]])[0]
            for field, cat in (("style", "style"), ("medium", "medium"), ("lighting", "lighting")):
                names, mat = _descriptors(interp, cat)
                sims = mat @ q
                order = np.argsort(-sims, kind="stable")[:4]
                # close matches by meaning first, then the lexical defaults
                ranked = [names[i] for i in order if sims[i] >= SEMANTIC_MIN]
                out[field] = ranked[:2] + out[field]
            tnames, tmat = _cached_matrix("themes", *_themes())
            order = np.argsort(-(tmat @ q), kind="stable")[:2]
            out["theme"] = [tnames[i] for i in order]
            cnames = [c for c in vocab.tables["colour"] if vocab.tables["colour"][c].get("family") != "palette"]
            cn, cmat = _cached_matrix("colours", cnames, [f"the colour {c}" for c in cnames])
            order = np.argsort(-(cmat @ q), kind="stable")[:4]
            out["palette"] = [cn[i] for i in order]
            method = "minilm"
        except Exception as exc:  # keep the reading even when the model fails
            note = f"MiniLM failed ({exc}); lexical matching used"
    looks = _looks(interp, reading)
    present = {"style": set(reading["style"]), "medium": set(reading["medium"]),
               "lighting": set(reading["lighting"]), "composition": {c["name"] for c in reading["composition"]}}
    final = {}
    for field in ("style", "medium", "lighting", "composition"):
        names = out[field]
        seen, res = set(), []
        for n in names:
            if n in seen or n in present[field]:
                continue
            seen.add(n)
            if field in ("style", "medium"):
                look = vocab.tables[field][n].get("look", "any")
                if not _compatible(interp, looks, look):
                    continue
            res.append(n)
        final[field] = res[:3]
    final["theme"] = out["theme"]
    final["palette"] = out["palette"]
    final["method"] = method
    reading["semantic"] = {"method": method, "note": note}
    return final


# --------------------------------------------------------------------------------------------
def _conflicts(reading, interp) -> list[tuple[str, str]]:
    vocab = interp.vocab
    items = [("style", s) for s in reading["style"]] + [("medium", m) for m in reading["medium"]]
    pairs = _conflicting_looks(interp)
    found = []
    for i, (ca, a) in enumerate(items):
        da = vocab.tables[ca][a]
        for cb, b in items[i + 1 :]:
            db = vocab.tables[cb][b]
            la, lb = da.get("look", "any"), db.get("look", "any")
            neg_a = {x.lower() for x in da.get("negative", [])}
            neg_b = {x.lower() for x in db.get("negative", [])}
            names_b = {b} | {x.lower() for x in db.get("aliases", [])}
            names_a = {a} | {x.lower() for x in da.get("aliases", [])}
            if frozenset((la, lb)) in pairs or neg_a & names_b or neg_b & names_a:
                found.append((a, b))
    if "monochrome" in reading["style"]:
        chromatic = [c["name"] for c in reading["colours"] if c.get("family") not in ("neutral",)]
        if chromatic:
            found.append(("monochrome", chromatic[0]))
    return found


def _replace_words(text: str, fixes: list[dict]) -> str:
    for f in fixes:
        text = re.sub(r"(?<![\w:])" + re.escape(f["word"]) + r"(?!\w)", f["suggestion"], text, flags=re.IGNORECASE)
    return text


def _join(base: str, additions: list[str]) -> str:
    base = base.rstrip().rstrip(",").rstrip()
    adds = [a for a in additions if a]
    if not adds:
        return base
    return (base + ", " if base else "") + ", ".join(adds)


def diagnose(reading, interp, counter, semantic="auto", words=None, matched=None) -> dict:
    words = words or []
    matched = matched or set()
    text = reading["text"]
    if reading["empty"]:
        if text.strip():
            _warn(reading, "no_words", "error", "The prompt has no readable words (only symbols, emoji or syntax).",
                  "Describe the image in words, e.g. 'a red kite over a green field, watercolor'.")
        else:
            _warn(reading, "empty", "error", "The prompt is empty.",
                  "Type what the image should show, e.g. 'a red kite over a green field, watercolor'.")
    syn = reading["syntax"]
    if syn["control_chars"]:
        _warn(reading, "control_characters", "warn", f"{syn['control_chars']} control character(s) found; they were read as spaces.",
              "Remove invisible characters (often pasted from other programs).")
    if syn["unbalanced"]:
        _warn(reading, "unbalanced_parentheses", "warn", "Parentheses are not balanced, so ComfyUI's weighting reads part of the prompt differently than intended.",
              "Close every '(' with ')' or write literal parentheses as \\( and \\).")
    for wt in syn["weighted"]:
        if wt["weight"] > MAX_WEIGHT or wt["weight"] < 0:
            _warn(reading, "extreme_weight", "warn", f"'{wt['text']}' has weight {wt['weight']}; weights above {MAX_WEIGHT} or below 0 usually distort the image.",
                  f"Use a weight between 0.5 and 1.5, e.g. ({wt['text']}:1.3).")
    lang = reading["language"]
    if lang["non_latin_words"]:
        _warn(reading, "non_english", "info",
              f"{lang['non_latin_words']} word(s) are not in Latin script; Lantern's vocabularies are English and CLIP was trained mostly on English captions.",
              "Write the key words (subject, style, light) in English.")
    if lang["emoji"]:
        _warn(reading, "emoji", "info", f"{lang['emoji']} emoji found; CLIP reads them as rare byte pieces with little meaning.",
              "Describe what the emoji means in words.")
    if not reading["empty"]:
        if reading["subject_source"] == "none":
            _warn(reading, "no_subject", "warn", "No clear subject: the image may be an unfocused scene.",
                  "Start with what the image is of, e.g. 'a lighthouse', 'an old fisherman'.")
        elif reading["subject_source"] == "guess":
            _warn(reading, "unclear_subject", "info", f"The subject is not a known noun; Lantern guessed '{reading['subject'][0]}'.",
                  "Name the subject plainly near the start of the prompt.")
    misspell = find_misspellings(words, interp, matched) if words else []
    reading["misspellings"] = misspell
    for f in misspell:
        _warn(reading, "misspelling", "warn", f"'{f['word']}' looks misspelled.", f"Did you mean '{f['suggestion']}'?")
    sugg = suggestions(reading, interp, semantic=semantic) if not reading["empty"] else {
        "style": [], "medium": [], "lighting": [], "composition": [], "theme": [], "palette": [], "method": "lexical"}
    if reading["empty"]:
        reading["semantic"] = {"method": "lexical", "note": "empty prompt"}
    reading["suggestions"] = sugg
    if sugg.get("palette") and any(p["source"] == "default" for p in reading["palette"]):
        # fill the swatches nothing named or implied with the colours closest in meaning to the prompt
        rgb = interp.vocab.colour_rgb
        from .reading import rgb_hex

        kept = [p for p in reading["palette"] if p["source"] != "default"]
        for c in sugg["palette"]:
            if len(kept) >= max(3, len(reading["palette"])):
                break
            if all(k["name"] != c for k in kept):
                kept.append({"name": c, "rgb": list(rgb[c]), "hex": rgb_hex(rgb[c]), "source": "meaning"})
        reading["palette"] = kept
    if not reading["empty"]:
        if not reading["style"] and not reading["medium"]:
            opts = (sugg["medium"][:1] + sugg["style"][:2]) or ["photograph"]
            _warn(reading, "no_style_or_medium", "warn", "No medium or style: the model will pick one at random from seed to seed.",
                  "Add a medium or style, e.g. " + ", ".join(f"'{o}'" for o in opts) + ".")
        if not reading["lighting"]:
            if reading["time_of_day"]:
                _warn(reading, "no_lighting", "info", f"No light named; '{reading['time_of_day'][0]}' implies some.",
                      "Name the light for control, e.g. " + ", ".join(f"'{o}'" for o in sugg["lighting"][:2]) + ".")
            else:
                _warn(reading, "no_lighting", "warn", "No lighting or time of day: light sets the mood more than any other word.",
                      "Add light, e.g. " + ", ".join(f"'{o}'" for o in sugg["lighting"][:3]) + ".")
        for a, b in _conflicts(reading, interp):
            _warn(reading, "style_conflict", "warn", f"'{a}' and '{b}' contradict each other; the model will blend or pick one unpredictably.",
                  f"Keep one of '{a}' or '{b}'.")
    tok = reading["tokens"]
    if tok["tokens"] > tok["tokens_per_window"]:
        sev = "warn"
        _warn(reading, "over_window", sev,
              f"{tok['tokens']} tokens: the prompt fills {tok['windows_used']} CLIP windows of {tok['tokens_per_window']}; each window is encoded on its own, so later words blend in weakly.",
              "Put subject, style and light in the first 75 tokens, or shorten the prompt.")
    for sw in tok["split_words"][:5]:
        _warn(reading, "split_word", "warn", f"'{sw['word']}' is cut across windows {sw['windows']}; its meaning is split.",
              "Move the word, or add/remove a few words before it.")
    if tok["windows_used"] > 3:
        _warn(reading, "too_long", "warn", f"{tok['windows_used']} windows: very long prompts dilute every word.",
              "Keep prompts within 1-2 windows (75-150 tokens).")
    counts = {}
    for w in words:
        if w not in STOPWORDS and len(w) > 3:
            counts[w] = counts.get(w, 0) + 1
    reps = [w for w, n in counts.items() if n >= 3]
    if reps and len(words) < 400:
        _warn(reading, "repeated_words", "info", "Repeated: " + ", ".join(reps[:5]) + ".",
              "Use weighting like (word:1.2) instead of repeating a word.")
    reading["variants"] = variants(reading, counter) if not reading["empty"] else []
    return reading


def variants(reading, counter, n: int = 3) -> list[str]:
    """Up to three improved prompts: typos fixed, missing style/light/framing added (user text kept)."""
    base = _replace_words(reading["text"], reading["misspellings"]).strip()
    s = reading["suggestions"]
    need_style = not reading["style"] and not reading["medium"]
    need_light = not reading["lighting"]
    need_comp = not reading["composition"]
    out = []
    for k in range(n):
        adds = []
        if need_style:
            pool = s["medium"] if k == 1 else s["style"]
            pool = pool or s["style"] or s["medium"]
            if pool:
                adds.append(pool[min(k if k != 1 else 0, len(pool) - 1)])
        if need_light and s["lighting"]:
            adds.append(s["lighting"][min(k, len(s["lighting"]) - 1)])
        if need_comp and s["composition"] and k != 2:
            adds.append(s["composition"][min(k, len(s["composition"]) - 1)])
        v = _join(base, adds)
        if reading["tokens"]["tokens"] > reading["tokens"]["tokens_per_window"] and k == 2 and not reading["syntax"]["weighted"]:
            first = reading["tokens"]["windows"][0]["text"] if reading["tokens"]["windows"] else base
            v = _join(first, adds[:1])
        if v and v != reading["text"].strip() and v not in out:
            out.append(v)
    return out[:3]
