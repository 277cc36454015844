"""Optional generative expansion with a local causal language model (GPT-2 family).

The user puts a model folder (``config.json``, weights, tokenizer files) in ``models/prompt_expansion/``;
Lantern never downloads one. Generation is:

- **constrained**: only tokens that spell words of an allowed vocabulary (Lantern's vocabularies and the
  expander's pools for the prompt's look, plus a theme) or a comma can be produced; every other logit is
  masked. Words are tracked with a token trie, so multi-token words are produced whole;
- **without repeats**: a word already in the prompt or already generated is removed from the trie;
- **seeded**: sampling uses a ``torch.Generator`` seeded from the seed, on CPU, so the same inputs and seed
  give the same words;
- **budgeted**: it stops before the CLIP token budget (default: fill the current 75-token window) would be
  passed;
- **cached**: one loaded model per folder per process.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

from .expander import _looks, pools, parse_theme
from .reading import get_interpreter
from .tokens import TokenCounter, budget_fill_window, get_counter
from .vocab import STOPWORDS, split_words

_models: dict[str, "GenerativeExpander"] = {}
_models_lock = threading.Lock()


def find_models(folders) -> list[str]:
    """Names of model folders (those with a config.json) in the given folders."""
    names = []
    for d in folders or []:
        d = Path(d)
        if d.is_dir():
            for sub in sorted(d.iterdir()):
                if sub.is_dir() and (sub / "config.json").is_file():
                    names.append(sub.name)
    return names


def allowed_words_for(reading: dict, theme=None) -> list[str]:
    """Single words the model may add: Lantern's vocabularies and detail pools that fit the prompt's look."""
    interp = get_interpreter()
    vocab = interp.vocab
    looks = _looks(interp, reading)
    banned = set()
    for s in reading["style"]:
        for n in vocab.tables["style"][s].get("negative", []):
            banned |= {w for w, _, _ in split_words(n)}
    for m in reading["medium"]:
        for n in vocab.tables["medium"][m].get("negative", []):
            banned |= {w for w, _, _ in split_words(n)}
    phrases: list[str] = []
    P = pools()
    for l in ["any"] + looks:
        phrases += P["detail"].get(l, [])
    for cat in ("lighting", "mood", "colour", "time_of_day"):
        phrases += list(vocab.tables[cat])
    for s in reading["style"]:
        phrases += vocab.tables["style"][s].get("reinforce", [])
    for m in reading["medium"]:
        phrases += vocab.tables["medium"][m].get("reinforce", [])
    _n, tw, _neg = parse_theme(theme)
    phrases += tw
    words = []
    seen = set()
    for p in phrases:
        for w, _, _ in split_words(p):
            if w.isalpha() and len(w) > 2 and w not in STOPWORDS and w not in banned and w not in seen:
                seen.add(w)
                words.append(w)
    return words


@dataclass
class _Node:
    children: dict = field(default_factory=dict)
    word: str | None = None  # set when a word ends here
    live: int = 0  # unused words in this subtree


class _Trie:
    def __init__(self):
        self.root = _Node()

    def add(self, ids: list[int], word: str):
        node = self.root
        node.live += 1
        for t in ids:
            node = node.children.setdefault(t, _Node())
            node.live += 1
        if node.word is not None:  # two words with one spelling: keep the first
            n = self.root
            n.live -= 1
            for t in ids:
                n = n.children[t]
                n.live -= 1
            return
        node.word = word

    def remove(self, ids: list[int]):
        node = self.root
        path = [node]
        for t in ids:
            node = node.children.get(t)
            if node is None:
                return
            path.append(node)
        if node.word is None:
            return
        node.word = None
        for n in path:
            n.live -= 1

    @staticmethod
    def allowed(node: _Node) -> list[int]:
        return [t for t, c in node.children.items() if c.live > 0]


class GenerativeExpander:
    def __init__(self, model, tokenizer, name: str = "model"):
        self.model = model
        self.tokenizer = tokenizer
        self.name = name
        self._lock = threading.Lock()
        self._word_ids: dict[str, list[int]] = {}
        comma = tokenizer(",", add_special_tokens=False)["input_ids"]
        self.comma_id = comma[0] if len(comma) == 1 else None

    @classmethod
    def from_dir(cls, path) -> "GenerativeExpander":
        """Load (once per folder) a causal LM and its tokenizer from a local folder; no network."""
        p = Path(path)
        if not (p / "config.json").is_file():
            raise ValueError(f"model folder '{p}' has no config.json: put a GPT-2-style model (config.json, "
                             "weights, tokenizer files) in models/prompt_expansion/<name>/")
        key = str(p.resolve())
        with _models_lock:
            if key in _models:
                return _models[key]
            from transformers import AutoModelForCausalLM, AutoTokenizer

            try:
                tok = AutoTokenizer.from_pretrained(key, local_files_only=True)
                model = AutoModelForCausalLM.from_pretrained(key, local_files_only=True)
            except Exception as exc:
                raise ValueError(f"could not load the model in '{p.name}': {exc}") from exc
            model.eval()
            inst = cls(model, tok, p.name)
            _models[key] = inst
            return inst

    def _ids(self, word: str) -> list[int]:
        ids = self._word_ids.get(word)
        if ids is None:
            ids = self.tokenizer(" " + word, add_special_tokens=False)["input_ids"]
            self._word_ids[word] = ids
        return ids

    def generate(self, text: str, seed: int = 0, budget: int | None = None, theme=None,
                 counter: TokenCounter | None = None, top_k: int = 40, temperature: float = 0.9,
                 max_new_tokens: int = 96, reading: dict | None = None) -> dict:
        import torch

        if not isinstance(seed, int):
            raise ValueError(f"seed must be an integer, got {seed!r}")
        text = "" if text is None else str(text)
        counter = counter or get_counter()
        reading = reading or get_interpreter().read(text, counter=counter, semantic=False, diagnose=False)
        prefix = text.rstrip().rstrip(",").rstrip()
        current = counter.count(prefix) if prefix else 0
        if budget is None or budget <= 0:
            budget = budget_fill_window(current)
        present = {w for w, _, _ in split_words(prefix)}
        words = [w for w in allowed_words_for(reading, theme) if w not in present]
        trie = _Trie()
        for w in words:
            ids = self._ids(w)
            if ids:
                trie.add(ids, w)
        context = prefix if prefix else "a picture"
        input_ids = self.tokenizer(context + ",", add_special_tokens=False, return_tensors="pt")["input_ids"]
        n_pos = getattr(self.model.config, "n_positions", None) or getattr(self.model.config, "max_position_embeddings", 1024)
        input_ids = input_ids[:, -max(1, n_pos - max_new_tokens - 1):]
        gen = torch.Generator(device="cpu").manual_seed(int(seed) % (2**63))
        vocab_size = self.model.get_output_embeddings().weight.shape[0]
        added: list[str] = []
        groups: list[list[str]] = [[]]

        def render(gs):
            body = ", ".join(" ".join(g) for g in gs if g)
            return ", ".join(x for x in (prefix, body) if x)

        def try_add(word) -> bool:
            trial = [g[:] for g in groups]
            trial[-1].append(word)
            if counter.count(render(trial)) > budget:
                return False
            groups[-1].append(word)
            added.append(word)
            return True
        node = trie.root
        partial: list[int] = []
        past = None
        ids = input_ids
        import inspect

        cache_kw = "cache" if "cache" in inspect.signature(self.model.forward).parameters else "past_key_values"
        with self._lock, torch.inference_mode():
            for _step in range(max_new_tokens):
                out = self.model(input_ids=ids, use_cache=True, **({cache_kw: past} if past is not None else {}))
                past = getattr(out, "cache", None) if cache_kw == "cache" else getattr(out, "past_key_values", None)
                logits = out.logits[0, -1].float()
                allowed = list(_Trie.allowed(node))
                if node is not trie.root and node.word is not None:
                    # a word can end here: the next token may start another word or be a comma
                    allowed += _Trie.allowed(trie.root)
                    if self.comma_id is not None:
                        allowed.append(self.comma_id)
                allowed = sorted({a for a in allowed if 0 <= a < vocab_size})
                if not allowed:
                    break
                mask = torch.full_like(logits, float("-inf"))
                mask[allowed] = 0.0
                scores = (logits / max(temperature, 1e-4)) + mask
                k = min(top_k, len(allowed))
                top_vals, top_idx = torch.topk(scores, k)
                probs = torch.softmax(top_vals, dim=-1)
                choice = int(top_idx[torch.multinomial(probs, 1, generator=gen)])
                if node is not trie.root and choice not in node.children:
                    # the current word is complete
                    if not try_add(node.word):
                        break
                    trie.remove(partial)
                    node, partial = trie.root, []
                    if choice == self.comma_id:
                        if groups[-1]:
                            groups.append([])
                        ids = torch.tensor([[choice]])
                        continue
                if choice in node.children:
                    node = node.children[choice]
                    partial.append(choice)
                ids = torch.tensor([[choice]])
            else:
                if node is not trie.root and node.word is not None:
                    try_add(node.word)
        positive = render(groups)
        return {"positive": positive, "added": added, "tokens": counter.count(positive) if positive else 0,
                "budget": budget, "seed": seed, "model": self.name, "allowed_words": len(words)}
