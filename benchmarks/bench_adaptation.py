"""How long ``reltext train`` takes to adapt the relational model to a team's decisions.

Builds a project from the training corpus's first transcripts (about ``--turns`` turns), codes
it with the shipped model (timed: this is when each turn is read by the encoder, once), then
plays a team's review from the corpus's codes: every model coding accepted where the corpus
has its code on that turn and rejected where it has not, until ``--decisions`` decisions, and
times the adaptation that learns from them.

Usage:
    python benchmarks/bench_adaptation.py [--turns 7500] [--decisions 5000]
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.bench_rules import cpu_model
from reltext import Project
from reltext.review import decisions as review

SILVER = ROOT.parent / "shared" / "silver"


def first_turns(folder: Path, wanted: int) -> tuple[Path, dict[tuple[str, str], set[str]]]:
    """The corpus's first whole transcripts holding at least ``wanted`` turns, as a CSV."""
    with (SILVER / "train-turns.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    kept, transcripts = [], set()
    for row in rows:
        if len(kept) >= wanted and row["transcript_id"] not in transcripts:
            break
        transcripts.add(row["transcript_id"])
        kept.append(row)
    path = folder / "turns.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(kept)
    with (SILVER / "train-codes.csv").open(newline="", encoding="utf-8") as handle:
        codes = {(r["transcript_id"], r["turn_id"]): set(filter(None, r["codes"].split(";")))
                 for r in csv.DictReader(handle)}
    return path, codes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=7500)
    parser.add_argument("--decisions", type=int, default=5000)
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, {cpu_model()}; Python {platform.python_version()}")
    with tempfile.TemporaryDirectory() as folder:
        turns, truth = first_turns(Path(folder), args.turns)
        project = Project(Path(folder) / "bench.db")
        project.ingest([turns])
        started = time.perf_counter()
        progress = project.code(coder="model")
        coded = time.perf_counter() - started
        codings = project.codings(coder="model:relational@1.0")
        print(f"coded {progress.turns_done} turns with the shipped model in "
              f"{coded:.0f} s ({len(codings)} codings)")
        started = time.perf_counter()
        accepted = 0
        for row in codings.head(args.decisions).itertuples():
            right = row.code in truth.get((row.transcript_id, row.turn_id), set())
            review.decide(project.store, "alice", row.coding_id, "accept" if right else "reject")
            accepted += right
        decided = min(len(codings), args.decisions)
        print(f"recorded {decided} decisions ({accepted} accepted) in "
              f"{time.perf_counter() - started:.0f} s")
        started = time.perf_counter()
        adapted = project.adapt()
        seconds = time.perf_counter() - started
        training = adapted.manifest["adaptation"]["training"]
        print(f"adapted as {adapted.coder_id} from {training['decisions']} decisions in "
              f"{seconds:.1f} s")
        project.close()


if __name__ == "__main__":
    main()
