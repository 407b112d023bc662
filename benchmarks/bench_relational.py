"""Speed of the relational model beside spaCy's full en_core_web_sm pipeline, on the same turns.

Reads AnnoMI utterances with their two previous turns as context and, in one run, times:
loading the model, the model coding the turns (reading them with the encoder, then the
classifiers, spans and evidence), spaCy's full pipeline over the same texts, and the rules
coder; prints turns per second, the time for 10,000 turns, and the peak memory.

Usage:
    python benchmarks/bench_relational.py [--limit N] [--threads N]
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.bench_rules import cpu_model
from reltext.coding.coders.reader import TurnText, role_label

ANNOMI = ROOT.parent / "shared" / "data" / "annomi" / "AnnoMI-simple.csv"


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def turns(limit: int) -> list[TurnText]:
    with ANNOMI.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    items, previous = [], {}
    for row in rows:
        before = previous.setdefault(row["transcript_id"], [])
        items.append(TurnText(row["utterance_text"], role_label(row["interlocutor"]),
                              tuple(before[::-1][:2])))
        before.append((role_label(row["interlocutor"]), row["utterance_text"]))
    step = max(1, len(items) // limit)
    return items[::step][:limit]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    items = turns(args.limit)
    words = sum(len(item.text.split()) for item in items)
    print(f"machine: {os.cpu_count()} cores, {cpu_model()}, load average "
          f"{os.getloadavg()[0]:.2f}; Python {platform.python_version()}")
    print(f"turns: {len(items)} AnnoMI utterances ({words} words), each with its two previous "
          "turns as context")

    started = time.perf_counter()
    from reltext.coding.coders.relational import RelationalModel

    model = RelationalModel.load()
    reader = model.make_reader()
    if args.threads:
        import torch
        torch.set_num_threads(args.threads)
    load = time.perf_counter() - started
    print(f"load: {load:.2f} s (model {model.coder_id}, encoder {reader.name})")

    started = time.perf_counter()
    codings = 0
    for start in range(0, len(items), 256):
        batch = items[start:start + 256]
        codings += sum(map(len, model.codings(model.score(reader.read(batch), batch))))
    model_seconds = time.perf_counter() - started
    rate = len(items) / model_seconds
    print(f"relational model: {rate:.1f} turns/s, {words / model_seconds:,.0f} words/s "
          f"({codings} codings); 10,000 turns in {10000 / rate / 60:.1f} min")
    print(f"peak memory after the model: {peak_mb():.0f} MB")

    import spacy

    from reltext.coding.codebook import DEFAULT_CODEBOOK, load_codebook
    from reltext.coding.coders import TurnInput
    from reltext.coding.coders.rules import RulesCoder
    from reltext.coding.nlp import DEFAULT_PIPELINE

    nlp = spacy.load(DEFAULT_PIPELINE)
    texts = [item.text for item in items]
    started = time.perf_counter()
    for _ in nlp.pipe(texts, batch_size=128):
        pass
    spacy_seconds = time.perf_counter() - started
    print(f"spaCy {DEFAULT_PIPELINE} (full pipeline): {len(items) / spacy_seconds:.1f} turns/s, "
          f"{words / spacy_seconds:,.0f} words/s")
    rules = RulesCoder(load_codebook(DEFAULT_CODEBOOK))
    started = time.perf_counter()
    list(rules.code(TurnInput(str(i), t.text, t.role) for i, t in enumerate(items)))
    rules_seconds = time.perf_counter() - started
    print(f"rules coder: {len(items) / rules_seconds:.1f} turns/s")
    print(f"ratio: the model takes {model_seconds / spacy_seconds:.1f}x the full spaCy "
          f"pipeline's time and {model_seconds / rules_seconds:.1f}x the rules coder's")
    print(f"peak memory with spaCy and the rules loaded too: {peak_mb():.0f} MB")


if __name__ == "__main__":
    main()
