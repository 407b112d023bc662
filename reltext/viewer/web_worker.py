"""Worker processes that find interactants for the viewer's relational webs.

A web runs spaCy over one participant's turns. Importing and loading spaCy takes seconds
(torch comes with it, unless kept out as these workers do); done in the viewer's process, it
would hold up every page shown meanwhile, since pages and a loading thread share one
interpreter. The viewer starts these workers when it opens a project instead: separate
processes that load the pipeline on other cores at once, say ``ready`` on a line of its own,
and then answer requests, one JSON line of texts in, one JSON line of interactants out. If a
worker is gone, the viewer finds the interactants itself.

Run as ``python -m reltext.viewer.web_worker``; the viewer does that.
"""

from __future__ import annotations

import atexit
import json
import os
import subprocess
import sys
import threading
from dataclasses import asdict
from typing import IO

from ..analysis.interactants import Interactant, cached_extractor

_lock = threading.Lock()  # one request at a time on the pipes
_processes: list[subprocess.Popen[str]] = []
_ready: set[int] = set()  # pids of the workers that have said they are ready
# Two workers split each request: the viewer waits idle meanwhile, so on two cores a web
# takes half the time. Each holds a pipeline (about 0.2 GB resident).
WORKERS = min(2, os.cpu_count() or 1)


def start() -> None:
    """Start the workers, unless they are running."""
    with _lock:
        if len(_processes) == WORKERS and all(p.poll() is None for p in _processes):
            return
        _stop()
        _processes.extend(
            subprocess.Popen([sys.executable, "-m", __name__], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                             encoding="utf-8", bufsize=1)
            for _ in range(WORKERS))


def wait_ready() -> bool:
    """Wait until every worker has loaded its pipeline; False when one has failed."""
    with _lock:
        return bool(_processes) and _await_ready()


def _await_ready() -> bool:
    for process in _processes:
        if process.pid not in _ready:
            if process.stdout.readline().strip() != "ready":
                return False
            _ready.add(process.pid)
    return True


def extract(texts: list[str]) -> list[list[Interactant]]:
    """The interactants of each text, from the workers (or from this process without them)."""
    with _lock:
        answers = _ask(texts) if _processes else None
        if answers is None:
            _stop()  # none, or one died: no more requests to them
    if answers is None:
        return list(cached_extractor().iter_extract(texts))
    return [[Interactant(**item) for item in found] for found in answers]


def _ask(texts: list[str]) -> list[list[dict]] | None:
    """Send each worker its share of ``texts`` (in order), then collect the answers."""
    size = -(-len(texts) // len(_processes))  # ceiling division
    shares = [texts[i * size:(i + 1) * size] for i in range(len(_processes))]
    answers: list[list[dict]] = []
    try:
        if not _await_ready():
            return None
        for process, share in zip(_processes, shares, strict=True):
            process.stdin.write(json.dumps(share) + "\n")
            process.stdin.flush()
        for process in _processes:
            line = process.stdout.readline()
            if not line:
                return None
            answers.extend(json.loads(line))
    except OSError:
        return None
    return answers


def _stop() -> None:
    for process in _processes:
        process.kill()
        process.wait()
    _processes.clear()
    _ready.clear()


# Stopped with the viewer, rather than left loading a pipeline for nobody.
atexit.register(_stop)


def serve(requests: IO[str], answers: IO[str]) -> None:
    """Load the extractor (and run it once: the first text is slow too), say ``ready``,
    then answer each line of ``requests`` until it closes."""
    extractor = cached_extractor()
    extractor.extract("My sister came to the day centre.")
    answers.write("ready\n")
    answers.flush()
    for line in requests:
        found = extractor.iter_extract(json.loads(line))
        answers.write(json.dumps([[asdict(item) for item in items] for items in found]) + "\n")
        answers.flush()


if __name__ == "__main__":
    # Behind the viewer for the processor: it waits idle while a web is found, and loading
    # the pipeline should not slow the pages shown meanwhile.
    if hasattr(os, "nice"):
        os.nice(10)
    # spaCy's thinc imports torch whenever it is installed (2 s and 180 MB here), and the
    # small English pipeline the extractor runs never uses it.
    sys.modules.setdefault("torch", None)
    # Answers go to the real stdout; anything a library prints goes to stderr instead.
    answers, sys.stdout = sys.stdout, sys.stderr
    serve(sys.stdin, answers)
