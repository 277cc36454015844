"""Deterministic randomness for inspiration mode.

Reproducibility across restarts and releases is a feature users ask for (the same seed must give the same
prompt next month). So:

- Every stream is seeded from a *string* key (``"lantern-inspiration/v1:<seed>:<theme>:..."``). CPython seeds
  ``random.Random`` from a str through SHA-512 (seed version 2), independent of ``PYTHONHASHSEED``; Python's
  salted ``hash()`` is never used.
- Only ``Random.random()`` (the Mersenne Twister's documented, stable output) is consumed; index selection,
  weighted choice and shuffling are done here, so changes to ``choice``/``sample``/``shuffle`` internals in a
  future Python cannot change our prompts.
- Per-image seeds come from SHA-256 of a string key.

``ALGORITHM`` is part of every key: a deliberate change to the generator bumps it (and the stored expected
outputs in tests/unit/inspiration/test_golden.py).
"""
from __future__ import annotations

import hashlib
import random
from typing import Sequence, TypeVar

T = TypeVar("T")

ALGORITHM = "lantern-inspiration/v1"
SEED_MAX = 0xFFFF_FFFF_FFFF_FFFF  # ComfyUI's seed widget range
IMAGE_SEED_BITS = 53  # exact in JSON / JavaScript numbers


class Stream:
    """A reproducible random stream keyed by a string."""

    __slots__ = ("_r", "key")

    def __init__(self, *parts: object) -> None:
        self.key = ":".join([ALGORITHM, *(str(p) for p in parts)])
        self._r = random.Random(self.key)

    def random(self) -> float:
        return self._r.random()

    def below(self, n: int) -> int:
        """Uniform integer in [0, n)."""
        if n <= 0:
            raise ValueError("below() needs n > 0")
        return min(int(self._r.random() * n), n - 1)

    def chance(self, p: float) -> bool:
        return self._r.random() < p

    def choice(self, seq: Sequence[T]) -> T:
        if not seq:
            raise ValueError("choice() from an empty sequence")
        return seq[self.below(len(seq))]

    def weighted(self, seq: Sequence[T], weights: Sequence[float]) -> T:
        total = float(sum(weights))
        if not seq or total <= 0:
            raise ValueError("weighted() needs items with positive total weight")
        x = self._r.random() * total
        acc = 0.0
        for item, w in zip(seq, weights):
            acc += w
            if x < acc:
                return item
        return seq[-1]

    def permutation(self, n: int) -> list[int]:
        """Fisher-Yates permutation of range(n) driven only by random()."""
        idx = list(range(n))
        for i in range(n - 1, 0, -1):
            j = self.below(i + 1)
            idx[i], idx[j] = idx[j], idx[i]
        return idx

    def sample(self, seq: Sequence[T], k: int) -> list[T]:
        """k distinct items (by position), in draw order."""
        pool = list(seq)
        out: list[T] = []
        for _ in range(min(k, len(pool))):
            out.append(pool.pop(self.below(len(pool))))
        return out


def image_seed(seed: int, index: int) -> int:
    """The sampler seed for image ``index`` of a batch made with ``seed`` (stable, < 2**53)."""
    digest = hashlib.sha256(f"{ALGORITHM}:image:{int(seed)}:{int(index)}".encode()).digest()
    return int.from_bytes(digest[:8], "big") & ((1 << IMAGE_SEED_BITS) - 1)
