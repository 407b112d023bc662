"""Time the learned coder: training on 5,000 coded turns and coding 10,000 turns.

Usage:
    python benchmarks/bench_learned.py [--turns 10000] [--train 5000] [--work DIR]

The turns are AnnoMI utterances (``../shared/data/annomi/AnnoMI-simple.csv``, repeated under
new transcript ids up to ``--turns``); their gold-like labels are the rules coder's codes,
which is enough for timing. Embeddings are computed once and cached before the timed steps,
as they are in a project that has been coded or topic-modelled before. Run it with
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
from reltext.batch import run_coding  # noqa: E402
from reltext.codebook import load_codebook  # noqa: E402
from reltext.coders.rules import RulesCoder  # noqa: E402
from reltext.project import Project  # noqa: E402
from reltext.training import LearnedTurnCoder, coder_name, rules_function  # noqa: E402

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
        rows = list(project.store.iter_turns(conn))
    started = time.perf_counter()
    embeddings.embed_turns(project.store, [(r["turn_pk"], r["text"]) for r in rows])
    print(f"embeddings, once per turn (cached): {time.perf_counter() - started:.1f} s")

    codebook = load_codebook()
    rules = rules_function(RulesCoder(codebook))
    training_rows = rows[: args.train]
    started = time.perf_counter()
    found = defaultdict(set)
    for coding in rules(training_rows):
        found[coding["turn_pk"]].add(coding["code"])
    print(f"gold-like labels from the rules on {len(training_rows)} turns: "
          f"{time.perf_counter() - started:.1f} s")
    labels = work / "labels.csv"
    with labels.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["transcript_id", "turn_id", "codes"])
        for row in training_rows:
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
