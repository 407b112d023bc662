"""Batch coding runs: exactly once, resumable after kill -9, same results on every engine."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from reltext import Project
from reltext.batch import run_coding

sys.path.insert(0, str(Path(__file__).parent))
from batch_coders import make_coder  # noqa: E402
from conftest import ROOT  # noqa: E402

CODER = "rules:keywords@1"


def make_project(db: Path, tmp_path: Path, transcripts: int = 6, turns: int = 40) -> Project:
    rows = ["transcript_id,turn_id,speaker,text"]
    for t in range(transcripts):
        for u in range(turns):
            words = ["I trust her", "no hope left", "all alone again", "we talked"][u % 4]
            rows.append(f"t{t},{u},{'AB'[u % 2]},\"{words} on day {u}\"")
    table = tmp_path / "turns.csv"
    table.write_text("\n".join(rows) + "\n", encoding="utf-8")
    project = Project(db)
    project.ingest([table])
    return project


def codings_by_turn(project: Project) -> list[tuple]:
    frame = project.codings(CODER)
    return sorted(zip(frame.transcript_id, frame.turn_id, frame.code, frame.start_char))


def test_batch_codes_every_turn_once_and_only_new_turns_later(fresh_db, tmp_path):
    project = make_project(fresh_db, tmp_path)
    progress = list(run_coding(project.store, make_coder, coder_id=CODER, batch_size=50))
    assert progress[-1].turns_done == progress[-1].turns_total == 240
    assert len(codings_by_turn(project)) == 180
    again = list(run_coding(project.store, make_coder, coder_id=CODER, batch_size=50))
    assert again == []
    with project.store.read() as conn:
        runs = project.store.list_runs(conn, kind="code")
    assert [r["status"] for r in runs] == ["done", "done"]
    assert runs[0]["manifest"]["turns_coded"] == 240


@pytest.mark.slow
def test_batch_process_pool_and_dask_agree_with_local(tmp_path):
    from reltext.codebook import DEFAULT_CODEBOOK
    from reltext.coding import RulesCoderFactory

    factory = RulesCoderFactory(str(DEFAULT_CODEBOOK))
    interviews = ROOT / "corpora" / "interviews"
    found = {}
    for name, options in [("local", {}), ("pool", {"workers": 2}),
                          ("dask", {"workers": 2, "engine": "dask"})]:
        project = Project(tmp_path / f"{name}.db")
        project.ingest([interviews])
        list(run_coding(project.store, factory, coder_id="rules:test", batch_size=40, **options))
        frame = project.codings("rules:test")
        found[name] = sorted(zip(frame.transcript_id, frame.turn_id, frame.code,
                                 frame.start_char, frame.end_char, frame.evidence))
    assert len(found["local"]) > 50
    assert found["local"] == found["pool"] == found["dask"]


def test_batch_killed_run_resumes_exactly(fresh_db, tmp_path):
    project = make_project(fresh_db, tmp_path, transcripts=10)
    script = textwrap.dedent(f"""
        import functools, sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from batch_coders import make_coder
        from reltext.store import Store
        from reltext.batch import run_coding
        store = Store.open({str(fresh_db)!r})
        for progress in run_coding(store, functools.partial(make_coder, 0.3),
                                   coder_id={CODER!r}, batch_size=20):
            print(progress.turns_done, flush=True)
    """)
    process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                               text=True, env={**os.environ, "PYTHONPATH": os.getcwd()})
    for _ in range(3):  # let it commit a few batches, then kill it mid-batch
        process.stdout.readline()
    time.sleep(0.15)
    process.send_signal(signal.SIGKILL)
    process.wait()
    partial = len(project.turn_codes(CODER))
    assert 0 < partial < 400
    list(run_coding(project.store, make_coder, coder_id=CODER, batch_size=20))
    with project.store.read() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM coded_turns")).scalar() == 400
        duplicates = conn.execute(text(
            "SELECT COUNT(*) FROM (SELECT turn_pk, code, start_char FROM codings "
            "GROUP BY turn_pk, code, start_char HAVING COUNT(*) > 1)")).scalar()
        statuses = [r["status"] for r in project.store.list_runs(conn, kind="code")]
    assert duplicates == 0
    assert len(codings_by_turn(project)) == 300
    assert statuses == ["interrupted", "done"]
