"""CLIP token counting and the 77-token window map.

ComfyUI encodes a prompt in windows of 77 tokens (start + 75 + end); each window is encoded
separately and the results are concatenated. The chunking here follows ComfyUI's
``SDTokenizer.tokenize_with_weights``: text is split into weighted segments (and at
``embedding:`` names); a segment shorter than 8 tokens that does not fit in the current window
moves whole to the next one, a longer one is cut at the window edge.

``TokenCounter(tokenizer)`` accepts any Hugging Face CLIP tokenizer (the node passes the one of the
CLIP it is given). ``get_counter()`` finds the CLIP-L tokenizer ComfyUI ships
(``comfy/sd1_tokenizer``) or falls back to an estimate, and says which in ``method``.
"""
from __future__ import annotations

import math
import os
import re
import threading
from pathlib import Path

from .syntax import escape_important, token_weights, unescape_important

WINDOW = 77
CONTENT = 75  # tokens per window for text (start and end tokens take the other two)
MAX_WORD_LENGTH = 8  # ComfyUI keeps a segment shorter than this in one window
EMBEDDING_ID = "embedding:"
ENV_TOKENIZER = "LANTERN_CLIP_TOKENIZER"


def _candidate_tokenizer_dirs() -> list[Path]:
    here = Path(__file__).resolve()
    pack = here.parents[2]  # repository root = custom_nodes/<pack>
    out = []
    env = os.environ.get(ENV_TOKENIZER)
    if env:
        out.append(Path(env))
    out.append(pack.parent.parent / "comfy" / "sd1_tokenizer")  # ComfyUI/custom_nodes/<pack>
    out.append(pack / ".host" / "ComfyUI" / "comfy" / "sd1_tokenizer")  # development checkout
    try:  # a ComfyUI importable in this process
        import importlib.util

        spec = importlib.util.find_spec("comfy")
        if spec and spec.submodule_search_locations:
            for loc in spec.submodule_search_locations:
                out.append(Path(loc) / "sd1_tokenizer")
    except (ImportError, ValueError):
        pass
    return out


_tok_lock = threading.Lock()
_tok_cache: dict[str, object] = {}


def load_clip_tokenizer(path: str | os.PathLike | None = None):
    """Load an HF CLIPTokenizer from ``path`` (or the first known ComfyUI location); None if none."""
    dirs = [Path(path)] if path else _candidate_tokenizer_dirs()
    for d in dirs:
        if not (d / "vocab.json").is_file():
            continue
        key = str(d.resolve())
        with _tok_lock:
            if key in _tok_cache:
                return _tok_cache[key]
            try:
                from transformers import CLIPTokenizer

                tok = CLIPTokenizer.from_pretrained(key, local_files_only=True)
            except Exception:
                continue
            _tok_cache[key] = tok
            return tok
    return None


_EST_RE = re.compile(r"[a-z]+|\d|[^\sa-z\d]", re.IGNORECASE)


def estimate_word_tokens(word: str) -> int:
    """Rough CLIP-BPE token count for one whitespace-free word when no tokenizer is at hand."""
    n = 0
    for piece in _EST_RE.findall(word):
        if piece.isascii() and piece.isalpha():
            n += 1 if len(piece) <= 8 else math.ceil(len(piece) / 5)
        elif piece.isascii():
            n += 1
        else:  # non-Latin: CLIP falls back to byte-level pieces
            n += max(1, len(piece.encode("utf-8")) // 2)
    return n


class TokenCounter:
    """Counts CLIP tokens and maps words to 77-token windows."""

    def __init__(self, tokenizer=None, name: str | None = None):
        self.tokenizer = tokenizer
        self.method = "clip" if tokenizer is not None else "estimate"
        self.name = name or (type(tokenizer).__name__ if tokenizer is not None else "estimate")
        self._lock = threading.Lock()
        self._word_cache: dict[str, int] = {}

    # --- counting -------------------------------------------------------------------------
    def word_tokens(self, word: str) -> int:
        n = self._word_cache.get(word)
        if n is not None:
            return n
        if self.tokenizer is None:
            n = estimate_word_tokens(word)
        else:
            with self._lock:
                n = len(self.tokenizer(word, add_special_tokens=False)["input_ids"])
        if len(self._word_cache) < 50000:
            self._word_cache[word] = n
        return n

    def count(self, text: str) -> int:
        """Content tokens (without start/end tokens) of ``text`` read with ComfyUI's weighting rules."""
        return sum(n for _, n in self._words(text))

    def phrase_tokens(self, phrase: str) -> int:
        """Tokens of literal text (no weighting syntax), e.g. a phrase the expander may append."""
        return sum(self.word_tokens(w) for w in phrase.split())

    def _segments(self, text: str) -> list[tuple[str, float]]:
        """Weighted segments, further split at embedding names (ComfyUI's token groups)."""
        out = []
        for seg, w in token_weights(escape_important(text), 1.0):
            seg = unescape_important(seg)
            parts = re.split(" {0}|\n{0}".format(EMBEDDING_ID), seg)
            groups = [parts[0]] + [EMBEDDING_ID + p for p in parts[1:]]
            out += [(g, w) for g in groups if g != ""]
        return out

    def _words(self, text: str):
        for seg, _w in self._segments(text):
            for word in seg.split():
                if word.startswith(EMBEDDING_ID):
                    yield word, 1  # the vector count of an embedding is not known here
                else:
                    yield word, self.word_tokens(word)

    # --- window map -----------------------------------------------------------------------
    def window_map(self, text: str) -> dict:
        """Which words fall in which 77-token window, following ComfyUI's chunking."""
        groups = []  # per segment: list of (word, n_tokens)
        for seg, w in self._segments(text):
            words = []
            for word in seg.split():
                n = 1 if word.startswith(EMBEDDING_ID) else self.word_tokens(word)
                words.append((word, n, w))
            if words:
                groups.append(words)
        windows: list[list] = [[]]  # each: list of (word_index, n_tokens_in_this_window)
        used = 0
        word_list: list[tuple[str, int, float]] = []
        for g in groups:
            total = sum(n for _, n, _ in g)
            is_large = total >= MAX_WORD_LENGTH
            start_index = len(word_list)
            word_list.extend(g)
            if total + used > CONTENT and not is_large:
                windows.append([])
                used = 0
            for k, (word, n, _w) in enumerate(g):
                idx = start_index + k
                remaining = n
                while remaining > 0:
                    room = CONTENT - used
                    if room <= 0:
                        windows.append([])
                        used = 0
                        room = CONTENT
                    take = min(room, remaining)
                    windows[-1].append((idx, take))
                    used += take
                    remaining -= take
        total_tokens = sum(n for _, n, _ in word_list)
        out_windows = []
        where: dict[int, list[int]] = {}
        for wi, win in enumerate(windows):
            idxs = []
            for idx, take in win:
                where.setdefault(idx, []).append(wi)
                if not idxs or idxs[-1] != idx:
                    idxs.append(idx)
            out_windows.append(
                {
                    "index": wi,
                    "tokens": sum(t for _, t in win),
                    "words": [word_list[i][0] for i in idxs],
                    "text": " ".join(word_list[i][0] for i in idxs),
                }
            )
        if out_windows and len(out_windows) > 1 and out_windows[-1]["tokens"] == 0:
            out_windows.pop()
        split = [
            {"word": word_list[i][0], "windows": sorted(set(ws))}
            for i, ws in sorted(where.items())
            if len(set(ws)) > 1
        ]
        return {
            "tokens": total_tokens,
            "windows_used": len(out_windows) if total_tokens else 0,
            "window_size": WINDOW,
            "tokens_per_window": CONTENT,
            "left_in_window": (CONTENT - used) if total_tokens else CONTENT,
            "windows": out_windows if total_tokens else [],
            "split_words": split,
            "method": self.method,
            "tokenizer": self.name,
        }


_default_counter: TokenCounter | None = None
_default_lock = threading.Lock()


def get_counter(tokenizer=None, path: str | None = None) -> TokenCounter:
    """A counter for ``tokenizer`` (an HF tokenizer), the tokenizer at ``path``, or the default one."""
    global _default_counter
    if tokenizer is not None:
        return _counter_for(tokenizer)
    if path:
        tok = load_clip_tokenizer(path)
        return _counter_for(tok) if tok is not None else TokenCounter(None)
    with _default_lock:
        if _default_counter is None:
            tok = load_clip_tokenizer()
            _default_counter = TokenCounter(tok, "CLIP-L (ComfyUI sd1_tokenizer)" if tok is not None else None)
        return _default_counter


_counters: dict[int, TokenCounter] = {}


def _counter_for(tokenizer) -> TokenCounter:
    key = id(tokenizer)
    c = _counters.get(key)
    if c is None or c.tokenizer is not tokenizer:
        c = TokenCounter(tokenizer)
        _counters[key] = c
    return c


def budget_fill_window(tokens: int) -> int:
    """Default token budget: fill the window the prompt currently ends in (a multiple of 75)."""
    if tokens <= 0:
        return CONTENT
    return int(math.ceil(tokens / CONTENT) * CONTENT)
