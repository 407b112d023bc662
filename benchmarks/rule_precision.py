"""Measure how often each rule of the rules coder is right, and how calibrated that is.

Runs ``rules:relational`` over the dev gold (``../shared/gold``) and the training corpus
(``../shared/silver``), counts per rule and code given the turns it fired on and those where
people coded that code, and writes the table the rules coder ships
(``reltext/data/rule_precision.json``). Then scores calibration out of sample: five folds by
transcript, each fold's confidences from the counts of the other four, against the
codebook's own confidences, as expected calibration error (ECE, 10 equal bins) and Brier
score, pooled and on the dev gold alone, for several prior weights.

Usage:
    PYTHONPATH=. python benchmarks/rule_precision.py [--write]
"""

from __future__ import annotations

import argparse
import csv
from collections import Counter
from pathlib import Path

import numpy as np
from sklearn.model_selection import GroupKFold

from reltext.coding.codebook import load_codebook
from reltext.coding.coders import TurnInput
from reltext.coding.coders.confidence import PRIOR_WEIGHT, RuleConfidence, rule_of, write_table
from reltext.coding.coders.rules import RulesCoder

SHARED = Path(__file__).resolve().parent.parent.parent / "shared"
SOURCES = {"gold": SHARED / "gold" / "dev", "silver": SHARED / "silver" / "train"}


def read(prefix: Path, name: str) -> tuple[list[dict], dict[tuple, set[str]]]:
    with open(f"{prefix}-turns.csv", newline="", encoding="utf-8") as handle:
        turns = [{**row, "source": name} for row in csv.DictReader(handle)]
    with open(f"{prefix}-codes.csv", newline="", encoding="utf-8") as handle:
        codes = {(name, row["transcript_id"], row["turn_id"]):
                 {c for c in row["codes"].split(";") if c} for row in csv.DictReader(handle)}
    return turns, codes


def ece(confidence: np.ndarray, right: np.ndarray, bins: int = 10) -> float:
    edges = np.linspace(0, 1, bins + 1)
    index = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    total = 0.0
    for b in range(bins):
        chosen = index == b
        if chosen.any():
            total += chosen.sum() / len(confidence) * abs(confidence[chosen].mean()
                                                          - right[chosen].mean())
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="Write the shipped table.")
    args = parser.parse_args()
    codebook = load_codebook()
    turns, truth = [], {}
    for name, prefix in SOURCES.items():
        read_turns, read_codes = read(prefix, name)
        turns += read_turns
        truth.update(read_codes)
    coder = RulesCoder(codebook, confidences=RuleConfidence({}))  # the codebook's figures
    items = [TurnInput(f"{i}", t["text"], t["speaker"].strip().lower())
             for i, t in enumerate(turns)]
    seen: set[tuple[int, str, str]] = set()
    rows = []  # one per (turn, rule, code): a coding's turn-level outcome
    for match in coder.code(items):
        turn = turns[int(match.key)]
        rule = rule_of(match.evidence)
        if (int(match.key), rule, match.code) in seen:
            continue
        seen.add((int(match.key), rule, match.code))
        key = (turn["source"], turn["transcript_id"], turn["turn_id"])
        rows.append({"group": f"{turn['source']}:{turn['transcript_id']}", "rule": rule,
                     "code": match.code, "before": match.confidence,
                     "right": match.code in truth.get(key, set()),
                     "gold": turn["source"] == "gold"})
    print(f"{len(turns)} turns, {len(rows)} rule matches on {len({r['group'] for r in rows})} "
          f"transcripts; {sum(r['right'] for r in rows) / len(rows):.3f} right overall")
    print(f"distinct codebook confidences: {Counter(r['before'] for r in rows).most_common(4)}")
    right = np.array([r["right"] for r in rows], dtype=float)
    before = np.array([r["before"] for r in rows])
    gold = np.array([r["gold"] for r in rows])
    groups = [r["group"] for r in rows]
    print("\n| confidences | prior weight | ECE (all) | Brier (all) | ECE (dev gold) | "
          "Brier (dev gold) | mean |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    print(f"| codebook's | | {ece(before, right):.3f} | {np.mean((before - right) ** 2):.4f} | "
          f"{ece(before[gold], right[gold]):.3f} | "
          f"{np.mean((before[gold] - right[gold]) ** 2):.4f} | {before.mean():.3f} |")
    for weight in (1.0, 2.0, 5.0, 10.0, 20.0):
        after = np.zeros(len(rows))
        for train, test in GroupKFold(n_splits=5).split(rows, groups=groups):
            counts: dict[tuple[str, str], tuple[float, float]] = {}
            for i in train:
                m, r = counts.get((rows[i]["rule"], rows[i]["code"]), (0.0, 0.0))
                counts[(rows[i]["rule"], rows[i]["code"])] = (m + 1, r + rows[i]["right"])
            table = RuleConfidence(counts, weight)
            for i in test:
                after[i] = table.of(rows[i]["rule"], rows[i]["code"], default=rows[i]["before"])
        print(f"| measured, out of fold | {weight:g} | {ece(after, right):.3f} | "
              f"{np.mean((after - right) ** 2):.4f} | {ece(after[gold], right[gold]):.3f} | "
              f"{np.mean((after[gold] - right[gold]) ** 2):.4f} | {after.mean():.3f} |")
    if args.write:
        counts = {}
        for row in rows:
            m, r = counts.get((row["rule"], row["code"]), (0, 0))
            counts[(row["rule"], row["code"])] = (m + 1, r + int(row["right"]))
        write_table(counts, codebook=codebook, prior_weight=PRIOR_WEIGHT,
                    measured_on="shared/gold/dev-codes.csv + shared/silver/train-codes.csv")
        print(f"\nWrote {len(counts)} (rule, code) counts.")


if __name__ == "__main__":
    main()
