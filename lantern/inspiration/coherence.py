"""Theme check with MiniLM (optional): keep prompts recognisably on their theme.

A prompt passes when its MiniLM embedding is closer (cosine) to its own theme's description than to every other
theme's description. The generator redraws a failing prompt (all parts but the subject) up to ``attempts`` times
and otherwise keeps the candidate with the best margin. Margins are rounded to 4 decimals before comparing, so
tiny float differences between machines almost never change a choice; a prompt batch made with the check can
still differ from one made without it (``Batch.theme_check`` says which was used).
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from .themes import THEME_ORDER, builtin_themes

ROUND = 4


class ThemeGuard:
    def __init__(self, embed: Callable[[Sequence[str]], np.ndarray] | None = None) -> None:
        if embed is None:
            from .. import semantic

            embed = semantic.embed
        self._embed = embed
        themes = builtin_themes()
        self.names = THEME_ORDER
        self.desc = np.asarray(embed([themes[n].description for n in self.names]), dtype=np.float32)

    @classmethod
    def create(cls) -> "ThemeGuard | None":
        """A guard backed by lantern.semantic's MiniLM, or None when the model is not installed."""
        from .. import semantic

        return cls() if semantic.available() else None

    def prefetch(self, prompts: Sequence[str]) -> None:
        """Embed many prompts in one batch (the embedder caches them for margin())."""
        if prompts:
            self._embed(list(prompts))

    def margins(self, prompts: Sequence[str], themes: Sequence[str]) -> list[float]:
        emb = np.asarray(self._embed(list(prompts)), dtype=np.float32)
        sims = emb @ self.desc.T
        out = []
        for row, theme in zip(sims, themes):
            k = self.names.index(theme)
            other = np.max(np.delete(row, k))
            out.append(round(float(row[k] - other), ROUND))
        return out

    def margin(self, prompt: str, theme: str) -> float:
        return self.margins([prompt], [theme])[0]
