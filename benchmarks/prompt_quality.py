"""Quality of the prompt interpreter on the labelled set (tests/data/prompts_labelled.jsonl).

Per field (style, medium, colours, lighting, time_of_day, subject): micro precision / recall / F1 over
canonical names, plus the share of prompts whose field is exactly right. Labels are canonicalised through the
vocabularies (so "watercolour" and "watercolor" are the same label).

    .venv/bin/python -m benchmarks.prompt_quality [--semantic]

Writes benchmarks/results/prompt_quality.json and .md.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from lantern.prompting.reading import get_interpreter  # noqa: E402
from lantern.prompting.tokens import get_counter  # noqa: E402

DATA = ROOT / "tests" / "data" / "prompts_labelled.jsonl"
HELDOUT = ROOT / "tests" / "data" / "prompts_heldout.jsonl"  # written after tuning; never used to change code
OUT = ROOT / "benchmarks" / "results"
FIELDS = {  # label field -> (reading field, vocabulary category, target F1)
    "style": ("style", "style", 0.85),
    "medium": ("medium", "medium", 0.75),
    "colours": ("colours", "colour", 0.85),
    "lighting": ("lighting", "lighting", 0.75),
    "time_of_day": ("time_of_day", "time_of_day", 0.75),
    "subject": ("subject", "subject", 0.75),
}


def load(path=DATA):
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def canon(interp, category, name):
    if category == "subject":
        c = interp.vocab.canonicalise("subject", name) or interp.vocab.canonicalise("scene", name)
        return c or name
    return interp.vocab.canonicalise(category, name) or name


def predicted(reading, field):
    v = reading[field]
    return {x["name"] if isinstance(x, dict) else x for x in v}


def evaluate(records, semantic=False):
    interp = get_interpreter()
    counter = get_counter()
    stats = {f: {"tp": 0, "fp": 0, "fn": 0, "exact": 0} for f in FIELDS}
    errors = []
    for rec in records:
        reading = interp.read(rec["prompt"], counter=counter, semantic=semantic)
        for f, (rf, cat, _t) in FIELDS.items():
            gold = {canon(interp, cat, x) for x in rec[f]}
            pred = predicted(reading, rf)
            if f == "subject":
                pred = {canon(interp, cat, x) for x in pred}
            s = stats[f]
            s["tp"] += len(gold & pred)
            s["fp"] += len(pred - gold)
            s["fn"] += len(gold - pred)
            s["exact"] += int(gold == pred)
            if gold != pred:
                errors.append({"id": rec["id"], "field": f, "prompt": rec["prompt"], "gold": sorted(gold), "pred": sorted(pred)})
    results = {}
    for f, s in stats.items():
        p = s["tp"] / (s["tp"] + s["fp"]) if s["tp"] + s["fp"] else 1.0
        r = s["tp"] / (s["tp"] + s["fn"]) if s["tp"] + s["fn"] else 1.0
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        results[f] = {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f1, 4),
                      "exact": round(s["exact"] / len(records), 4), "target_f1": FIELDS[f][2],
                      "meets_target": f1 >= FIELDS[f][2], **{k: s[k] for k in ("tp", "fp", "fn")}}
    return results, errors


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--semantic", action="store_true", help="let MiniLM rank suggestions too (fields are lexical)")
    ap.add_argument("--errors", type=int, default=0, help="print the first N disagreements")
    args = ap.parse_args(argv)
    records = load()
    t0 = time.perf_counter()
    results, errors = evaluate(records, semantic=args.semantic)
    elapsed = time.perf_counter() - t0
    held = load(HELDOUT) if HELDOUT.exists() else []
    held_results, held_errors = evaluate(held, semantic=args.semantic) if held else ({}, [])
    OUT.mkdir(parents=True, exist_ok=True)
    payload = {"benchmark": "prompt_quality", "prompts": len(records), "dataset": str(DATA.relative_to(ROOT)),
               "fields": results, "seconds": round(elapsed, 2), "disagreements": errors,
               "heldout": {"prompts": len(held), "dataset": str(HELDOUT.relative_to(ROOT)), "fields": held_results,
                           "disagreements": held_errors}}
    (OUT / "prompt_quality.json").write_text(json.dumps(payload, indent=1, ensure_ascii=False) + "\n")
    lines = ["# prompt_quality", "", f"{len(records)} labelled prompts (`{payload['dataset']}`); "
             "micro precision/recall/F1 over canonical names; exact = field fully right.", "",
             "| field | precision | recall | F1 | target F1 | exact | met |", "|---|---|---|---|---|---|---|"]
    for f, r in results.items():
        lines.append(f"| {f} | {r['precision']:.3f} | {r['recall']:.3f} | {r['f1']:.3f} | {r['target_f1']:.2f} | "
                     f"{r['exact']:.3f} | {'yes' if r['meets_target'] else 'no'} |")
    if held:
        lines += ["", f"Held-out set: {len(held)} prompts (`{payload['heldout']['dataset']}`), written after the "
                  "vocabularies and rules were tuned on the main set and not used to change them.", "",
                  "| field | precision | recall | F1 | exact |", "|---|---|---|---|---|"]
        for f, r in held_results.items():
            lines.append(f"| {f} | {r['precision']:.3f} | {r['recall']:.3f} | {r['f1']:.3f} | {r['exact']:.3f} |")
    lines += ["", "Command: `.venv/bin/python -m benchmarks.prompt_quality`", ""]
    (OUT / "prompt_quality.md").write_text("\n".join(lines))
    print("\n".join(lines))
    for e in (errors + held_errors)[: args.errors]:
        print(e)
    return 0 if all(r["meets_target"] for r in results.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
