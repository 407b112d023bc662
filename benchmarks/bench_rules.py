"""Speed of the rules coder against spaCy's full en_core_web_sm pipeline, on the same texts.

Codes every utterance of the AnnoMI corpus with the relational codebook and, in the same run,
runs the full pipeline (all components, NER included) over the same texts; prints words per
second for both and the ratio.

Usage:
    python benchmarks/bench_rules.py [--csv FILE] [--n-process N] [--limit N]
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import spacy  # noqa: E402

from reltext.coding.codebook import load_codebook  # noqa: E402
from reltext.coding.coders import TurnInput  # noqa: E402
from reltext.coding.coders.rules import RulesCoder  # noqa: E402
from reltext.coding.nlp import DEFAULT_PIPELINE  # noqa: E402

ANNOMI = ROOT.parent / "shared" / "data" / "annomi" / "AnnoMI-simple.csv"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv", type=Path, default=ANNOMI)
    parser.add_argument("--n-process", type=int, default=1)
    parser.add_argument("--limit", type=int, default=0)
    args = parser.parse_args()

    with args.csv.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    if args.limit:
        rows = rows[: args.limit]
    items = [TurnInput(f"{r['transcript_id']}/{r['utterance_id']}", r["utterance_text"],
                       r["interlocutor"]) for r in rows]
    words = sum(len(item.text.split()) for item in items)
    print(f"machine: {os.cpu_count()} cores, {cpu_model()}; Python "
          f"{platform.python_version()}, spaCy {spacy.__version__}")
    print(f"corpus: {len(items)} utterances, {words} words")

    started = time.perf_counter()
    coder = RulesCoder(load_codebook(), n_process=args.n_process, batch_size=256)
    load_s = time.perf_counter() - started
    started = time.perf_counter()
    codings = sum(1 for _ in coder.code(items))
    rules_s = time.perf_counter() - started
    print(f"rules coder ({', '.join(coder.nlp.pipe_names)}; n_process={args.n_process}): "
          f"{codings} codings in {rules_s:.1f} s (+{load_s:.1f} s loading) = "
          f"{words / rules_s:,.0f} words/s")

    full = spacy.load(DEFAULT_PIPELINE)
    started = time.perf_counter()
    for _ in full.pipe((item.text for item in items), batch_size=256):
        pass
    full_s = time.perf_counter() - started
    print(f"full pipeline ({', '.join(full.pipe_names)}; one process): {full_s:.1f} s = "
          f"{words / full_s:,.0f} words/s")
    print(f"ratio rules/full: {full_s / rules_s:.2f}x")


if __name__ == "__main__":
    main()
