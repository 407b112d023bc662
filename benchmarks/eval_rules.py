"""Score the rules coder on a gold turn table, per code, beside the gold's inter-coder kappas.

Usage:
    python benchmarks/eval_rules.py [--turns FILE] [--gold FILE] [--codebook FILE]
                                    [--show CODE] [--json OUT]

``--show CODE`` lists the false positives and false negatives of one code, with the evidence,
to look for general rules (never to copy sentences into the codebook).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from reltext.review.agreement import evaluate, json_safe  # noqa: E402
from reltext.coding.codebook import load_codebook  # noqa: E402
from reltext.coding.coders import TurnInput  # noqa: E402
from reltext.coding.coders.rules import RulesCoder  # noqa: E402

GOLD = ROOT.parent / "shared" / "gold"
# Cohen's kappa between the two independent human coders (gold README).
HUMAN_KAPPA = {"trust": 0.87, "mistrust": 0.91, "hope": 0.95, "hopelessness": 0.93,
               "stigma": 0.86, "connection": 0.92, "isolation": 0.66, "agency": 0.89,
               "empowerment": 0.81, "disempowerment": 0.90, "reflexivity": 0.91,
               "locus_self": 0.91, "locus_other": 0.77, "locus_situation": 0.92}


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=Path, default=GOLD / "dev-turns.csv")
    parser.add_argument("--gold", type=Path, default=GOLD / "dev-codes.csv")
    parser.add_argument("--codebook", type=Path, default=ROOT / "codebooks" / "relational.yaml")
    parser.add_argument("--show", action="append", default=[])
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    codebook = load_codebook(args.codebook)
    turns = read_rows(args.turns)
    gold = {(r["transcript_id"], r["turn_id"]): {c for c in r["codes"].split(";") if c}
            for r in read_rows(args.gold)}
    by_key = {f"{r['transcript_id']}/{r['turn_id']}": r for r in turns}
    coder = RulesCoder(codebook)
    started = time.perf_counter()
    predicted: dict[tuple[str, str], set[str]] = {k: set() for k in gold}
    evidence: dict[tuple[str, str], list[str]] = {}
    items = [TurnInput(key, r["text"], r.get("role") or r["speaker"]) for key, r in by_key.items()]
    for match in coder.code(items):
        unit = tuple(match.key.split("/", 1))
        predicted.setdefault(unit, set()).add(match.code)
        evidence.setdefault(unit, []).append(f"{match.code} <- {match.evidence}")
    seconds = time.perf_counter() - started
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = evaluate(gold, predicted, codebook.keys, coder=codebook.coder_id)

    print(f"{codebook.coder_id} on {args.gold.name}: {result['units']} turns, "
          f"{seconds:.1f} s\n")
    print(f"{'code':<16}{'support':>8}{'pred':>6}{'prec':>7}{'rec':>7}{'f1':>7}"
          f"{'kappa':>7}{'human':>7}")
    for code, row in result["codes"].items():
        print(f"{code:<16}{row['support']:>8}{row['predicted']:>6}{row['precision']:>7.2f}"
              f"{row['recall']:>7.2f}{row['f1']:>7.2f}{row['kappa']:>7.2f}"
              f"{HUMAN_KAPPA.get(code, float('nan')):>7.2f}")
    macro = result["macro"]
    human_macro = sum(HUMAN_KAPPA.values()) / len(HUMAN_KAPPA)
    print(f"{'macro':<16}{'':>8}{'':>6}{macro['precision']:>7.2f}{macro['recall']:>7.2f}"
          f"{macro['f1']:>7.2f}{macro['kappa']:>7.2f}{human_macro:>7.2f}")
    if result["undefined"]:
        print(f"undefined (left out of macro): {result['undefined']}")

    for code in args.show:
        print(f"\n== {code}")
        for unit, truth in gold.items():
            guess = predicted.get(unit, set())
            if (code in truth) == (code in guess):
                continue
            kind = "FN" if code in truth else "FP"
            row = by_key["/".join(unit)]
            why = [e for e in evidence.get(unit, []) if e.startswith(code + " ")]
            print(f"{kind} {row['speaker'][:2]} {row['text'][:160]!r} {why}")
    if args.json:
        args.json.write_text(json.dumps(json_safe(result), indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
