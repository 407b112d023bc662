"""Time `reltext topics` on the whole AnnoMI corpus from cold processes, and check that two
runs with the same seed give identical topics and assignments.

Each run is a fresh ``reltext topics --seed N`` process on a fresh project (so MiniLM
embeds every turn, UMAP compiles, HDBSCAN clusters), timed from process start to exit.
A last run repeats the first project's fit with its embeddings cached.

Usage:
    PYTHONPATH=. python benchmarks/bench_topics.py [--seed 42] [--runs 2] [--json OUT]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from annomi import ANNOMI, write_turn_table

COMMAND = [sys.executable, "-c", "from reltext.cli import main; main()"]


def reltext(*args: str) -> tuple[float, float, str]:
    """Run reltext in a new process: (wall seconds, CPU seconds, stdout)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run([*COMMAND, *args], capture_output=True, text=True, env=os.environ,
                          check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"reltext {' '.join(args)} failed:\n{done.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, done.stdout


def exported(db: Path, folder: Path, name: str) -> tuple[list[dict], list[dict]]:
    """The run's topics (without run_id) and turn topics, as exported by the command line."""
    topics, turns = folder / f"{name}-topics.csv", folder / f"{name}-turn-topics.csv"
    reltext("--db", str(db), "export", "topics", "--out", str(topics))
    reltext("--db", str(db), "export", "turn-topics", "--out", str(turns))
    with topics.open(newline="") as file:
        topic_rows = [{k: v for k, v in row.items() if k != "run_id"}
                      for row in csv.DictReader(file)]
    with turns.open(newline="") as file:
        turn_rows = list(csv.DictReader(file))
    return topic_rows, turn_rows


def machine() -> dict[str, object]:
    model = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {"cpu": model or platform.processor(), "cores": os.cpu_count(),
            "python": platform.python_version(), "system": platform.platform()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--runs", type=int, default=2, help="cold runs on fresh projects")
    parser.add_argument("--json", type=Path, default=None, help="write the figures here")
    args = parser.parse_args()
    os.environ.pop("HF_HUB_OFFLINE", None)  # reltext must stay offline without it
    with tempfile.TemporaryDirectory(prefix="bench-topics-") as temporary:
        folder = Path(temporary)
        table = folder / "annomi-turns.csv"
        turns = write_turn_table(table, ANNOMI)
        results, outputs = [], []
        for index in range(args.runs):
            db = folder / f"run{index}.db"
            reltext("--db", str(db), "ingest", str(table))
            load = os.getloadavg()[0]
            wall, cpu, stdout = reltext("--db", str(db), "topics", "--seed", str(args.seed),
                                        "--silent")
            results.append({"run": f"cold {index + 1}", "wall_s": round(wall, 1),
                            "cpu_s": round(cpu, 1), "load_before": round(load, 2)})
            outputs.append(exported(db, folder, f"run{index}"))
            print(f"cold run {index + 1}: {wall:.1f} s wall, {cpu:.1f} s CPU "
                  f"(load average {load:.2f} before)", flush=True)
        load = os.getloadavg()[0]
        wall, cpu, stdout = reltext("--db", str(folder / "run0.db"), "topics", "--seed",
                                    str(args.seed), "--silent")
        results.append({"run": "cached embeddings", "wall_s": round(wall, 1),
                        "cpu_s": round(cpu, 1), "load_before": round(load, 2)})
        print(f"cached run: {wall:.1f} s wall, {cpu:.1f} s CPU (load average {load:.2f})")
        identical = all(output == outputs[0] for output in outputs[1:])
        print(stdout)
        print(f"{args.runs} cold runs with seed {args.seed}: topics and turn assignments "
              f"{'IDENTICAL' if identical else 'DIFFERENT'}")
        summary = {"corpus": "AnnoMI-simple", "turns": turns, "seed": args.seed,
                   "runs": results, "identical": identical, "machine": machine(),
                   "topics": outputs[0][0]}
        if args.json:
            args.json.write_text(json.dumps(summary, indent=2), encoding="utf-8")
        if not identical:
            raise SystemExit(1)


if __name__ == "__main__":
    main()
