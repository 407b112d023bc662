"""The relational model's cross-validated kappas beside the rules coder's and the human coders'.

Reads the shipped model's manifest (its grouped 5-fold cross-validation: every turn scored by
heads that never saw its transcript, each fold's thresholds chosen on the other folds), runs
the rules coder over the same turns (the dev gold and the training corpus) and prints one
Markdown table: per code the dev gold's support, the two human coders' kappa, and the rules'
and the model's kappa on the dev gold and on the training corpus.

Usage:
    python benchmarks/eval_relational.py [--model FOLDER]
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np

from benchmarks.eval_rules import HUMAN_KAPPA
from reltext.coding.codebook import load_codebook
from reltext.coding.coders import TurnInput
from reltext.coding.coders.relational import RelationalModel
from reltext.coding.coders.rules import RulesCoder
from reltext.learning.relational_training import kappa

SHARED = ROOT.parent / "shared"
SOURCES = {"gold": SHARED / "gold" / "dev", "corpus": SHARED / "silver" / "train"}


def rules_kappas(codes: list[str]) -> dict[str, dict[str, float]]:
    """Per source, per code, the rules coder's kappa against the people's codes."""
    rules = RulesCoder(load_codebook())
    result = {}
    for name, prefix in SOURCES.items():
        with open(f"{prefix}-turns.csv", newline="", encoding="utf-8") as handle:
            turns = list(csv.DictReader(handle))
        with open(f"{prefix}-codes.csv", newline="", encoding="utf-8") as handle:
            truth = {(r["transcript_id"], r["turn_id"]): set(filter(None, r["codes"].split(";")))
                     for r in csv.DictReader(handle)}
        keys = [(t["transcript_id"], t["turn_id"]) for t in turns]
        found: dict[tuple[str, str], set[str]] = {key: set() for key in keys}
        items = [TurnInput(str(i), t["text"], t["speaker"]) for i, t in enumerate(turns)]
        for match in rules.code(items):
            found[keys[int(match.key)]].add(match.code)
        result[name] = {code: kappa(np.array([code in truth[k] for k in keys]),
                                    np.array([code in found[k] for k in keys]))
                        for code in codes}
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=None)
    args = parser.parse_args()
    model = RelationalModel.load(args.model)
    cv = model.manifest["cross_validation"]
    rules = rules_kappas(model.codes)
    print("| code | support | human | rules (dev gold) | model (dev gold) | rules (corpus) "
          "| model (corpus) |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    rows = []
    for code in model.codes:
        row = [HUMAN_KAPPA[code], rules["gold"][code], cv["gold"]["codes"][code]["kappa"],
               rules["corpus"][code], cv["corpus"]["codes"][code]["kappa"]]
        rows.append(row)
        print(f"| `{code}` | {cv['gold']['codes'][code]['support']} | "
              + " | ".join(f"{value:.2f}" for value in row) + " |")
    means = np.nanmean(np.array(rows, float), axis=0)
    print("| **macro** | | " + " | ".join(f"**{value:.3f}**" for value in means) + " |")


if __name__ == "__main__":
    main()
