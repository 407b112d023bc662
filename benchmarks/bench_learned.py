"""Time the learned coder: training on 5,000 coded turns and coding 10,000 turns.

Usage:
    python benchmarks/bench_learned.py [--turns 10000] [--train 5000] [--work DIR]

The turns are AnnoMI utterances (``../shared/data/annomi/AnnoMI-simple.csv``, repeated under
new transcript ids up to ``--turns``); their gold-like labels are the rules coder's codes on
the first ``--train`` turns, which is enough for timing. As in a project that has been coded
before, the embeddings (turns and sentences) are cached and the rules coder's codings stored
before the timed steps; those one-off costs are printed too. Run it with
``OMP_NUM_THREADS=2`` and ``taskset -c 0,1`` to measure on 2 cores.
"""

from __future__ import annotations

import argparse
import csv
import functools
import os
import platform
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from reltext import embeddings  # noqa: E402
from reltext.coding.batch import run_coding  # noqa: E402
from reltext.coding.codebook import load_codebook  # noqa: E402
from reltext.coding.coders.rules import RulesCoder  # noqa: E402
from reltext.project import Project  # noqa: E402
from reltext.learning.training import (  # noqa: E402
    LearnedTurnCoder, coder_name, rules_function, sentence_vectors)

ANNOMI = ROOT.parent / "shared" / "data" / "annomi" / "AnnoMI-simple.csv"


def write_turns(path: Path, n_turns: int) -> None:
    with ANNOMI.open(newline="", encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if r["utterance_text"].strip()]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["transcript_id", "turn_id", "speaker", "text"])
        for i in range(n_turns):
            row = rows[i % len(rows)]
            copy = i // len(rows)
            writer.writerow([f"{row['transcript_id']}-{copy}", row["utterance_id"],
                             row["interlocutor"], row["utterance_text"]])


class RulesTurnCoder:
    """The rules coder in the shape batch runs take."""

    def __init__(self, codebook) -> None:
        self.code = rules_function(RulesCoder(codebook))

    def code_turns(self, turns):
        return self.code(turns)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--turns", type=int, default=10_000)
    parser.add_argument("--train", type=int, default=5_000)
    parser.add_argument("--work", type=Path, default=None)
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="bench-learned-"))
    work.mkdir(parents=True, exist_ok=True)
    turns_csv, db = work / "turns.csv", work / "bench.db"
    write_turns(turns_csv, args.turns)
    project = Project(db)
    project.ingest([turns_csv])
    turns = project.turns()
    print(f"{len(turns)} turns in {turns['transcript_id'].nunique()} transcripts; "
          f"{os.cpu_count()} CPUs visible, {platform.processor() or platform.machine()}")

    with project.store.read() as conn:
        rows = list(project.store.turns_by_pk(
            conn, [t["turn_pk"] for t in project.store.iter_turns(conn)]).values())
    started = time.perf_counter()
    embeddings.embed_turns(project.store, [(r["turn_pk"], r["text"]) for r in rows])
    sentence_vectors(project.store, rows)
    print(f"embeddings of turns and sentences, once (cached): "
          f"{time.perf_counter() - started:.1f} s")

    codebook = load_codebook()
    rules = RulesTurnCoder(codebook)
    started = time.perf_counter()
    for _ in run_coding(project.store, lambda: rules, coder_id=codebook.coder_id,
                        batch_size=1000):
        pass
    print(f"rules coder on {len(rows)} turns (stored, as 'reltext code' leaves them): "
          f"{time.perf_counter() - started:.1f} s")
    # Gold-like labels: the rules' codes on the first turns, as a person's coding.
    found = defaultdict(set)
    with project.store.read() as conn:
        for coding in project.store.iter_codings(conn, coder=codebook.coder_id):
            found[coding["turn_pk"]].add(coding["code"])
    labels = work / "labels.csv"
    with labels.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["transcript_id", "turn_id", "codes"])
        for row in rows[: args.train]:
            writer.writerow([row["transcript_id"], row["turn_id"],
                             ";".join(sorted(found[row["turn_pk"]]))])
    project.import_codings(labels, coder="human:bench")

    started = time.perf_counter()
    model = project.train(coders=["human:bench"])
    train_seconds = time.perf_counter() - started
    print(f"train on {model.manifest['training']['turns']} coded turns "
          f"({len(model.coder.estimators_)} classifiers, rules features included): "
          f"{train_seconds:.1f} s")

    for combine in (False, True):
        name = coder_name(model.model_id, combine=combine)
        factory = functools.partial(LearnedTurnCoder, str(db), combine=combine)
        started = time.perf_counter()
        last = None
        for last in run_coding(project.store, factory, coder_id=name, batch_size=1000):
            pass
        print(f"code {last.turns_done} turns as {name.split(':')[0]}: "
              f"{time.perf_counter() - started:.1f} s ({last.codings} codings)")


if __name__ == "__main__":
    main()
