"""Server time of the review viewer on a project of 500 transcripts and 50,000 turns.

Builds the project once (AnnoMI utterances repeated into 500 transcripts of 100 turns, a
manifest giving role, wave and site, about 0.8 synthetic auto-codings per turn from a seeded
random generator, and two reviewers' decisions on 1,500 codings each, 750 of them shared),
then times the review queue, transcript page, corpus and agreement queries, one decision,
and a Streamlit AppTest run of every page, of an accept click, and of the Analysis page
when first opened in the server process, first after a decision, and cached.

Usage:
    PYTHONPATH=. python benchmarks/bench_viewer.py [--db /tmp/bench-viewer.db] [--repeat 5]
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import warnings
from pathlib import Path

from sqlalchemy import text

from reltext.review import decisions as review
from reltext.model import Origin
from reltext.project import Project
from reltext.store.database import Store
from reltext.viewer import serve, web_worker

ROOT = Path(__file__).resolve().parent.parent
ANNOMI = ROOT.parent / "shared" / "data" / "annomi" / "AnnoMI-simple.csv"
CODES = ["trust", "mistrust", "hope", "hopelessness", "stigma", "connection", "isolation",
         "agency", "empowerment", "disempowerment", "reflexivity", "locus_self", "locus_other",
         "locus_situation"]
CODER = "rules:relational@1.0"


def build(db: Path, annomi: Path, *, transcripts: int, turns_per: int, seed: int) -> None:
    """Write the synthetic project into ``db``."""
    with annomi.open(newline="", encoding="utf-8") as handle:
        utterances = [(row["interlocutor"], row["utterance_text"]) for row in
                      csv.DictReader(handle) if row["utterance_text"].strip()]
    generator = random.Random(seed)
    with tempfile.TemporaryDirectory() as folder:
        table, manifest = Path(folder) / "turns.csv", Path(folder) / "manifest.csv"
        with table.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["transcript_id", "turn_id", "speaker", "role", "text"])
            index = 0
            for number in range(transcripts):
                for turn in range(turns_per):
                    speaker, text = utterances[index % len(utterances)]
                    index += 1
                    writer.writerow([f"t{number:03d}", turn, speaker.upper(), speaker, text])
        with manifest.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["transcript", "role", "wave", "site"])
            for number in range(transcripts):
                writer.writerow([f"t{number:03d}", generator.choice(["client", "worker"]),
                                 1 + number % 3, generator.choice(["North", "South", "East"])])
        with Project(db) as project:
            results = project.ingest([table], manifest=manifest)
            assert all(result.ok for result in results), [r.error for r in results]
    store = Store.open(db)
    with store.write() as conn:
        keys = store.turn_keys(conn)
        codings = []
        for turn_pk, text in keys.values():
            for _ in range(generator.choice([0, 0, 1, 1, 1, 2])):
                start = generator.randrange(0, max(1, len(text) - 10))
                codings.append({"turn_pk": turn_pk, "code": generator.choice(CODES),
                                "start_char": start, "end_char": min(len(text), start + 20),
                                "confidence": round(generator.random(), 3), "coder": CODER,
                                "origin": Origin.RULE.value, "evidence": "bench.synthetic"})
        store.add_codings(conn, codings)
        store.mark_coded(conn, [pk for pk, _ in keys.values()], coder=CODER)
    queue = review.review_queue(store, "alice", limit=2250)
    shared, alice_only, bob_only = queue[:750], queue[750:1500], queue[1500:2250]
    for reviewer, items in (("alice", shared + alice_only), ("bob", shared + bob_only)):
        for item in items:
            verdict = "accept" if generator.random() < 0.7 else "reject"
            review.decide(store, reviewer, item["coding_id"], verdict)
    store.close()


def cpu_name() -> str:
    """The processor's model name where Linux tells it, else the architecture."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.machine()


def timed(function, repeat: int) -> float:
    """Median wall time of ``function()`` in milliseconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, default=Path(tempfile.gettempdir()) / "bench-viewer.db")
    parser.add_argument("--annomi", type=Path, default=ANNOMI)
    parser.add_argument("--transcripts", type=int, default=500)
    parser.add_argument("--turns-per", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    if not args.db.exists():
        start = time.perf_counter()
        build(args.db, args.annomi, transcripts=args.transcripts, turns_per=args.turns_per,
              seed=7)
        print(f"built {args.db} in {time.perf_counter() - start:.0f} s")
    store = Store.open(args.db)
    with store.read() as conn:
        counts = {name: conn.execute(text(f"SELECT COUNT(*) FROM {name}")).scalar_one()
            for name in ("transcripts", "turns", "codings", "decisions")}
    print(f"project: {counts}")
    print(f"machine: {cpu_name()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    rater = {r.label: r for r in review.raters(store)}
    warnings.simplefilter("ignore")
    results = {
        "review queue, next item (carol, nothing reviewed)":
            lambda: review.review_queue(store, "carol", limit=1),
        "review queue, next item (alice, 1,500 reviewed)":
            lambda: review.review_queue(store, "alice", limit=1),
        "review queue, pending count": lambda: review.queue_size(store, "alice"),
        "review queue, filtered by code and transcript":
            lambda: review.review_queue(store, "alice", limit=1, code="hope",
                                        transcript_id="t250"),
        "transcript page (50 turns with codings and decisions)":
            lambda: review.transcript_page(store, "t250", reviewer="alice", page=1),
        "corpus overview (500 transcripts, progress)":
            lambda: review.corpus_overview(store, reviewer="alice"),
        "agreement: auto vs alice, 14 codes":
            lambda: review.compare(store, rater[CODER], rater["alice (review)"]).per_code(CODES),
        "agreement: alice vs bob, 14 codes":
            lambda: review.compare(store, rater["alice (review)"],
                                   rater["bob (review)"]).per_code(CODES),
        "one decision (accept, then undo)":
            lambda: (review.decide(store, "dora", review.review_queue(
                store, "dora", limit=1)[0]["coding_id"], "accept"),
                review.undo_last(store, "dora")),
    }
    print("\n| query | median ms |\n|---|---|")
    for name, function in results.items():
        print(f"| {name} | {timed(function, args.repeat):.1f} |")
    store.close()
    server_start(args.db)
    app_timings(args.db, args.repeat)


def server_start(db: Path) -> None:
    """Seconds from `reltext view` to its first health check answered, and for the web
    workers to load their pipeline on an idle machine."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    environment = dict(os.environ, PYTHONPATH=str(ROOT))
    start = time.perf_counter()
    server = subprocess.Popen(
        [sys.executable, "-m", "reltext.cli", "--db", str(db), "view", "--port", str(port)],
        env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1):
                    break
            except OSError:
                if server.poll() is not None or time.perf_counter() - start > 120:
                    raise SystemExit("reltext view did not start") from None
                time.sleep(0.05)
        healthy = time.perf_counter() - start
    finally:
        server.terminate()
        server.wait(30)
    workers = subprocess.run(
        [sys.executable, "-c", "import time; t = time.perf_counter(); "
         "from reltext.viewer import web_worker; web_worker.start(); "
         "assert web_worker.wait_ready(); print(time.perf_counter() - t)"],
        env=environment, capture_output=True, text=True, check=True)
    print(f"\nserver start: `reltext view` answers its health check {healthy:.2f} s after the "
          f"command; web workers ready {float(workers.stdout):.2f} s after starting (idle)")


def app_timings(db: Path, repeat: int) -> None:
    """Server time of each page and of an accept click, through Streamlit's AppTest."""
    from streamlit.testing.v1 import AppTest

    os.environ["RELTEXT_DB"] = str(db)
    os.environ["RELTEXT_REVIEWER"] = "erin"
    # Each AppTest's first run scans the installed packages for Streamlit components (0.4 s),
    # which a real server does once as it starts: done here on an empty script, and its
    # result handed to the app's AppTest.
    harness = AppTest.from_string("import streamlit as st")
    harness.run()
    # `reltext view` loads the app and starts reading the coded turns and the web workers
    # before it serves (reltext.viewer.serve); Streamlit's own start-up follows.
    started = start = time.perf_counter()
    serve.prepare()
    prepared = (time.perf_counter() - start) * 1000
    ready: list[float] = []  # when the web workers said they were ready, beside the pages
    threading.Thread(target=lambda: web_worker.wait_ready() and ready.append(
        time.perf_counter() - started), daemon=True).start()
    app = AppTest.from_file(str(ROOT / "app" / "streamlit_app.py"), default_timeout=60)
    app._bidi_component_manager = harness._bidi_component_manager
    start = time.perf_counter()
    app.run()
    first = (time.perf_counter() - start) * 1000
    print("\n| AppTest interaction | median ms |\n|---|---|")
    print(f"| server start, before it serves: load the app, start reading the coded turns and "
          f"the web workers | {prepared:.1f} |")
    print(f"| first page in the server process (Corpus) | {first:.1f} |")
    for page in ["Corpus", "Transcript", "Review", "Agreement", "Export"]:
        def show(page: str = page) -> None:
            app.sidebar.radio(key="page").set_value(page).run()
            assert not app.exception, app.exception
        print(f"| open {page} | {timed(show, repeat):.1f} |")
    app.sidebar.radio(key="page").set_value("Transcript").run()
    next_page = timed(lambda: app.number_input(key="reader_page_t000").increment().run(), repeat)
    print(f"| transcript: next page | {next_page:.1f} |")
    app.sidebar.radio(key="page").set_value("Review").run()

    def accept() -> None:  # the Accept button of the item shown (its key holds the coding)
        next(b for b in app.button if b.key.startswith("review_accept_")).click().run()

    print(f"| review: accept | {timed(accept, repeat):.1f} |")
    # The analyses read every coded turn with its metadata once per server process (and
    # per change of transcripts or codings); a decision after that only updates the codes.
    def open_analysis(*, after_decision: bool) -> float:
        """Milliseconds to open Analysis from another page, after an accept or not."""
        app.sidebar.radio(key="page").set_value("Review" if after_decision else "Corpus").run()
        if after_decision:
            accept()
        start = time.perf_counter()
        app.sidebar.radio(key="page").set_value("Analysis").run()
        assert not app.exception, app.exception
        return (time.perf_counter() - start) * 1000

    print(f"| open Analysis, first in the server process (the reading started with the "
          f"server) | {open_analysis(after_decision=False):.1f} |")
    after = statistics.median(open_analysis(after_decision=True) for _ in range(repeat))
    print(f"| open Analysis, first after a decision | {after:.1f} |")
    cached = statistics.median(open_analysis(after_decision=False) for _ in range(repeat))
    print(f"| open Analysis, cached | {cached:.1f} |")

    def open_analysis_after_coding_run() -> float:
        """Analysis opened right after a coding run wrote new codings (before the viewer's
        watcher has read them): the turns are kept, the codings read again."""
        app.sidebar.radio(key="page").set_value("Corpus").run()
        store = Store.open(db)
        with store.write() as conn:
            turn_pk = next(iter(store.turn_keys(conn).values()))[0]
            store.add_codings(conn, [{"turn_pk": turn_pk, "code": "hope", "start_char": 0,
                                      "end_char": 4, "coder": CODER, "origin": Origin.RULE.value,
                                      "evidence": "bench.coding-run"}])
        store.close()
        return open_analysis(after_decision=False)

    def open_analysis_unread() -> float:
        """Analysis in a server that has read nothing (as one started without `reltext
        view`'s preparation): every turn with its metadata is read."""
        import streamlit as st

        from reltext.viewer import analysis

        app.sidebar.radio(key="page").set_value("Corpus").run()
        analysis.forget_readings()
        st.cache_resource.clear()
        st.cache_data.clear()
        return open_analysis(after_decision=False)

    try:
        after_run = statistics.median(open_analysis_after_coding_run() for _ in range(repeat))
    finally:
        store = Store.open(db)
        with store.write() as conn:
            conn.execute(text("DELETE FROM codings WHERE evidence = 'bench.coding-run'"))
        store.close()
    print(f"| open Analysis right after a coding run (its codings not read yet) | "
          f"{after_run:.1f} |")
    unread = statistics.median(open_analysis_unread() for _ in range(repeat))
    print(f"| open Analysis with nothing read (a server started without reading: 50,000 "
          f"turns) | {unread:.1f} |")

    # A relational web runs spaCy (in the web workers) over one participant's turns when its
    # tab is opened; the workers load the pipeline as the server starts, beside the pages.
    assert web_worker.wait_ready()
    print(f"| (the web workers were ready {ready[0]:.1f} s after the server started, loading "
          f"beside the pages above) | |")
    start = time.perf_counter()
    app.session_state["analysis_view"] = "Relational web"
    app.run()
    assert not app.exception, app.exception
    print(f"| open the Relational web tab: the first web in the server process | "
          f"{(time.perf_counter() - start) * 1000:.1f} |")
    participants = app.selectbox(key="analysis_participant").options

    def draw(participant: str) -> float:
        start = time.perf_counter()
        app.selectbox(key="analysis_participant").set_value(participant).run()
        assert not app.exception, app.exception
        return (time.perf_counter() - start) * 1000

    first = statistics.median(draw(name) for name in participants[1:1 + repeat])
    again = statistics.median(draw(name) for name in participants[1:1 + repeat])
    print(f"| draw another participant's relational web (100 turns) | {first:.1f} |")
    print(f"| draw a participant's relational web again | {again:.1f} |")


if __name__ == "__main__":
    main()
