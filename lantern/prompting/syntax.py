"""Prompt syntax that ComfyUI (and users) write into a prompt, read without changing it.

- weighting: ``(word)`` = x1.1 per nesting level, ``(word:1.3)`` sets the weight, ``\\(`` / ``\\)`` are literal;
- ``embedding:name`` textual-inversion references;
- ``<lora:name:0.8>``-style tags (A1111 syntax that users paste; ComfyUI passes them to CLIP as text);
- control characters (removed for reading, reported).

The rules follow ComfyUI's ``comfy/sd1_clip.py`` (``token_weights``), reimplemented here so the
reading, the token map and the expander agree with what CLIPTextEncode will do.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

EMBEDDING_RE = re.compile(r"embedding:([^\s,()]+)", re.IGNORECASE)
TAG_RE = re.compile(r"<\s*(lora|lyco|hypernet|lycoris)\s*:[^<>]*>", re.IGNORECASE)
WEIGHT_RE = re.compile(r"\(([^()]*?):\s*([-+]?\d*\.?\d+)\s*\)")

_ESC_OPEN, _ESC_CLOSE = "\0\2", "\0\1"


@dataclass
class Segment:
    text: str
    weight: float


@dataclass
class ParsedPrompt:
    original: str
    clean: str  # control characters replaced by spaces
    segments: list[Segment]  # ComfyUI weighted segments of ``clean``
    plain: str  # text with weighting syntax, embeddings and tags removed (for reading)
    embeddings: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    weighted: list[dict] = field(default_factory=list)  # [{"text":..., "weight":...}] for weights != 1
    control_chars: int = 0
    unbalanced: bool = False


def strip_control(text: str) -> tuple[str, int]:
    """Replace control/format characters (except newline and tab) by spaces; count them."""
    out, n = [], 0
    for ch in text:
        cat = unicodedata.category(ch)
        if ch in "\n\t":
            out.append(ch)
        elif cat in ("Cc", "Cf", "Cs", "Co") and ch not in "\u200d\ufe0f":  # keep emoji joiners
            out.append(" ")
            n += 1
        else:
            out.append(ch)
    return "".join(out), n


def _parse_parentheses(s: str) -> list[str]:
    result, cur, depth = [], "", 0
    for ch in s:
        if ch == "(":
            if depth == 0:
                if cur:
                    result.append(cur)
                cur = "("
            else:
                cur += ch
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                result.append(cur + ")")
                cur = ""
            else:
                cur += ch
        else:
            cur += ch
    if cur:
        result.append(cur)
    return result


def token_weights(s: str, weight: float = 1.0) -> list[tuple[str, float]]:
    """ComfyUI's weighting rules: list of (text, weight) segments."""
    out: list[tuple[str, float]] = []
    for part in _parse_parentheses(s):
        w = weight
        if len(part) >= 2 and part[0] == "(" and part[-1] == ")":
            inner = part[1:-1]
            colon = inner.rfind(":")
            w = weight * 1.1
            if colon > 0:
                try:
                    w = float(inner[colon + 1 :])
                    inner = inner[:colon]
                except ValueError:
                    pass
            out += token_weights(inner, w)
        else:
            out.append((part, weight))
    return out


def escape_important(text: str) -> str:
    return text.replace("\\)", _ESC_CLOSE).replace("\\(", _ESC_OPEN)


def unescape_important(text: str) -> str:
    return text.replace(_ESC_CLOSE, ")").replace(_ESC_OPEN, "(")


def weighted_segments(text: str) -> list[Segment]:
    return [Segment(unescape_important(t), w) for t, w in token_weights(escape_important(text), 1.0)]


def is_balanced(text: str) -> bool:
    depth = 0
    for ch in escape_important(text):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                return False
    return depth == 0


def parse(text: str | None) -> ParsedPrompt:
    original = "" if text is None else str(text)
    clean, n_ctrl = strip_control(original)
    segments = weighted_segments(clean)
    embeddings = [m.group(1) for m in EMBEDDING_RE.finditer(clean)]
    tags = [m.group(0) for m in TAG_RE.finditer(clean)]
    weighted = []
    for seg in segments:
        if abs(seg.weight - 1.0) > 1e-6 and seg.text.strip():
            weighted.append({"text": seg.text.strip(), "weight": round(seg.weight, 4)})
    plain_parts = []
    for seg in segments:
        t = TAG_RE.sub(" ", seg.text)
        t = EMBEDDING_RE.sub(" ", t)
        plain_parts.append(t)
    plain = "".join(plain_parts)
    plain = plain.replace("\\", " ")
    return ParsedPrompt(
        original=original,
        clean=clean,
        segments=segments,
        plain=plain,
        embeddings=embeddings,
        tags=tags,
        weighted=weighted,
        control_chars=n_ctrl,
        unbalanced=not is_balanced(clean),
    )


def escape_for_prompt(text: str) -> str:
    """Escape parentheses so text is read literally by ComfyUI's weighting parser."""
    return text.replace("(", "\\(").replace(")", "\\)")
