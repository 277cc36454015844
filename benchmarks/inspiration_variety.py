"""Inspiration mode: variety, theme adherence and speed (issue 4).

    .venv/bin/python -m benchmarks.inspiration_variety [--n 100] [--seed 2026] [--varieties 0,5,10]

For each theme and N prompts (default 100, seed 2026, variety 5):

- distinct subjects: share of distinct subject entries (the noun phrase drawn from the theme's list, before any
  adjective) among the N prompts; target >= 0.9;
- mean pairwise MiniLM cosine similarity of the N prompts (lower = more varied) next to a word-salad baseline:
  for each prompt, the same number of words drawn uniformly at random from all of inspiration's vocabulary;
- theme adherence: share of prompts whose MiniLM similarity to their own theme's description is higher than to
  every other theme's description (theme "any": the theme drawn for that prompt); target >= 0.9;
- speed: prompts per second for generate("any", 1000) (best of 3, MiniLM not involved).

Also the same aggregate numbers at other variety levels. Writes benchmarks/results/inspiration_variety.json and .md.
"""
from __future__ import annotations

import argparse
import json
import platform
import random
import time
from pathlib import Path

import numpy as np

from lantern import semantic
from lantern.inspiration import THEME_CHOICES, THEME_ORDER, builtin_themes, generate
from lantern.inspiration.coherence import ThemeGuard
from lantern.inspiration.vocab import general_vocab

RESULTS = Path(__file__).resolve().parent / "results"


def _vocab_words() -> list[str]:
    words: set[str] = set()
    v = general_vocab()
    phrases = list(v.styles) + list(v.mediums) + list(v.lighting) + list(v.colours) + list(v.palettes) + \
        list(v.compositions) + list(v.moods)
    for t in builtin_themes().values():
        phrases += [s.text for s in t.subjects] + list(t.adjectives) + list(t.settings) + list(t.details)
    for p in phrases:
        for w in p.replace(",", " ").split():
            words.add(w.lower())
    return sorted(words)


def _mean_pairwise(emb: np.ndarray) -> float:
    sim = emb @ emb.T
    n = len(emb)
    return float((sim.sum() - np.trace(sim)) / (n * (n - 1)))


def _salad(prompts: list[str], words: list[str], key: str) -> list[str]:
    r = random.Random(key)
    return [" ".join(words[int(r.random() * len(words))] for _ in p.split()) for p in prompts]


def run(n: int, seed: int, varieties: list[int]) -> dict:
    if not semantic.available():
        raise SystemExit(f"MiniLM unavailable: {semantic.unavailable_reason()}")
    words = _vocab_words()
    themes = builtin_themes()
    desc = semantic.embed([themes[t].description for t in THEME_ORDER])
    out: dict = {"n": n, "seed": seed, "vocab_source": general_vocab().source, "machine": platform.machine(),
                 "python": platform.python_version(), "per_theme": {}, "by_variety": {}}

    guard = ThemeGuard()

    def measure(theme: str, variety: int, with_salad: bool, check: bool = False) -> dict:
        t_gen = time.perf_counter()
        b = generate(theme, n, seed=seed, variety=variety, guard=guard if check else None)
        gen_s = time.perf_counter() - t_gen
        emb = semantic.embed(b.prompts)
        sims = emb @ desc.T  # (n, themes)
        own = np.array([THEME_ORDER.index(i.theme) for i in b.items])
        best = sims.argmax(axis=1)
        margin = sims[np.arange(n), own] - np.where(np.eye(len(THEME_ORDER), dtype=bool)[own], -np.inf, sims).max(axis=1)
        row = {
            "distinct_subject_share": len({i.parts["subject"].lower() for i in b.items}) / n,
            "distinct_prompt_share": len(set(b.prompts)) / n,
            "mean_pairwise_cosine": round(_mean_pairwise(emb), 4),
            "theme_adherence": float((best == own).mean()),
            "mean_adherence_margin": round(float(margin.mean()), 4),
            "mean_words": round(float(np.mean([len(p.split()) for p in b.prompts])), 1),
            "generate_seconds": round(gen_s, 2),
        }
        if with_salad:
            row["word_salad_mean_pairwise_cosine"] = round(_mean_pairwise(semantic.embed(_salad(b.prompts, words, f"{theme}:{seed}"))), 4)
        misses = [(b.items[k].theme, THEME_ORDER[best[k]], b.items[k].prompt) for k in range(n) if best[k] != own[k]]
        row["misses_sample"] = misses[:3]
        return row

    t0 = time.perf_counter()
    for theme in THEME_CHOICES:  # variety 5, theme check off (the plain generator) and on (the nodes' default)
        row = measure(theme, 5, with_salad=True)
        checked = measure(theme, 5, with_salad=False, check=True)
        row["checked"] = {k: checked[k] for k in ("distinct_subject_share", "mean_pairwise_cosine", "theme_adherence",
                                                   "mean_adherence_margin", "generate_seconds", "misses_sample")}
        out["per_theme"][theme] = row
        print(theme, {k: v for k, v in row.items() if k not in ("misses_sample", "checked")},
              {k: v for k, v in row["checked"].items() if k != "misses_sample"}, flush=True)
    for v in varieties:
        rows = out["per_theme"] if v == 5 else {t: measure(t, v, with_salad=False) for t in THEME_CHOICES}
        out["by_variety"][str(v)] = {
            "min_distinct_subject_share": min(r["distinct_subject_share"] for r in rows.values()),
            "mean_pairwise_cosine": round(float(np.mean([r["mean_pairwise_cosine"] for r in rows.values()])), 4),
            "min_theme_adherence": min(r["theme_adherence"] for r in rows.values()),
            "mean_theme_adherence": round(float(np.mean([r["theme_adherence"] for r in rows.values()])), 4),
            "mean_words": round(float(np.mean([r["mean_words"] for r in rows.values()])), 1),
        }
        print("variety", v, out["by_variety"][str(v)], flush=True)
    out["embedding_seconds"] = round(time.perf_counter() - t0, 1)

    best = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        generate("any", 1000, seed=seed)
        best = min(best, time.perf_counter() - t)
    out["prompts_per_second"] = round(1000 / best, 1)
    t = time.perf_counter()
    generate("any", 100, seed=seed + 1, guard=guard)
    out["prompts_per_second_with_theme_check"] = round(100 / (time.perf_counter() - t), 1)
    summary = out["per_theme"]
    out["pass"] = {
        "distinct_subjects>=0.9": all(r["distinct_subject_share"] >= 0.9 for r in summary.values()),
        "theme_adherence>=0.9 (theme check on, node default)": all(r["checked"]["theme_adherence"] >= 0.9
                                                                 for r in summary.values()),
        "theme_adherence>=0.9 (theme check off)": all(r["theme_adherence"] >= 0.9 for r in summary.values()),
    }
    return out


def write(out: dict) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "inspiration_variety.json").write_text(json.dumps(out, indent=1) + "\n")
    lines = [
        f"# Inspiration variety (N={out['n']} per theme, seed {out['seed']}, variety 5, vocab {out['vocab_source']})",
        "",
        "| theme | distinct subjects | mean pairwise cosine | word-salad cosine | adherence, check off | "
        "adherence, check on | cosine, check on | mean words |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for t, r in out["per_theme"].items():
        c = r["checked"]
        lines.append(f"| {t} | {r['distinct_subject_share']:.2f} | {r['mean_pairwise_cosine']:.3f} | "
                     f"{r['word_salad_mean_pairwise_cosine']:.3f} | {r['theme_adherence']:.2f} | "
                     f"{c['theme_adherence']:.2f} | {c['mean_pairwise_cosine']:.3f} | {r['mean_words']} |")
    lines += ["", "Theme check off at every variety level:", "",
              "| variety | min distinct subjects | mean pairwise cosine | min adherence | mean adherence | mean words |",
              "|---|---|---|---|---|---|"]
    for v, r in out["by_variety"].items():
        lines.append(f"| {v} | {r['min_distinct_subject_share']:.2f} | {r['mean_pairwise_cosine']:.3f} | "
                     f"{r['min_theme_adherence']:.2f} | {r['mean_theme_adherence']:.3f} | {r['mean_words']} |")
    lines += ["", f"Generation speed: {out['prompts_per_second']} prompts/s (generate('any', 1000), best of 3, no "
              f"MiniLM); with the theme check {out['prompts_per_second_with_theme_check']} prompts/s "
              f"(generate('any', 100), MiniLM on this CPU).",
              f"Targets met: {out['pass']}", ""]
    (RESULTS / "inspiration_variety.md").write_text("\n".join(lines))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--varieties", default="0,5,10")
    args = ap.parse_args(argv)
    out = run(args.n, args.seed, [int(v) for v in args.varieties.split(",")])
    write(out)
    print((RESULTS / "inspiration_variety.md").read_text())


if __name__ == "__main__":
    main()
