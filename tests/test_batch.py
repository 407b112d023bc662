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
from reltext.coding.batch import run_coding
from reltext.errors import ReltextError

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
    from reltext.coding.codebook import DEFAULT_CODEBOOK
    from reltext.autocode import RulesCoderFactory

    factory = RulesCoderFactory.for_codebook(DEFAULT_CODEBOOK)
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
        from reltext.store.database import Store
        from reltext.coding.batch import run_coding
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


def test_batch_a_turn_the_coder_fails_on_is_skipped_and_never_blocks(fresh_db, tmp_path):
    from batch_coders import FragileCoder

    project = make_project(fresh_db, tmp_path, transcripts=2)
    with project.store.write() as conn:  # one turn the coder cannot code
        conn.execute(text("UPDATE turns SET text = 'BOOM' WHERE turn_id = '3' AND pk < 40"))
    with pytest.warns(UserWarning, match=r"1 turn\(s\) could not be coded and were left for "
                                         r"the next run: t0/3: ValueError: \[E088\]"):
        progress = list(run_coding(project.store, FragileCoder, coder_id=CODER, batch_size=25))
    assert progress[-1].turns_done == 79 and progress[-1].skipped == (
        "t0/3: ValueError: [E088] Text of length 1000001 exceeds maximum of 1000000.",)
    assert len(codings_by_turn(project)) == 60
    with pytest.warns(UserWarning, match="t0/3"):  # the next run tries that turn alone
        again = list(run_coding(project.store, FragileCoder, coder_id=CODER, batch_size=25))
    assert again[-1].turns_total == 1 and again[-1].turns_done == 0
    with project.store.read() as conn:
        runs = project.store.list_runs(conn, kind="code")
    assert [r["status"] for r in runs] == ["done", "done"]
    assert runs[0]["manifest"]["turns_skipped"] == list(progress[-1].skipped)


def test_batch_a_coder_failing_on_every_turn_fails_the_run(fresh_db, tmp_path):
    import functools

    from batch_coders import FragileCoder

    project = make_project(fresh_db, tmp_path, transcripts=1)
    with pytest.raises(ValueError, match="E088"):
        list(run_coding(project.store, functools.partial(FragileCoder, always=True),
                        coder_id=CODER, batch_size=25))
    list(run_coding(project.store, make_coder, coder_id=CODER, batch_size=25))
    with project.store.read() as conn:
        statuses = [r["status"] for r in project.store.list_runs(conn, kind="code")]
    assert statuses == ["failed", "done"] and len(project.turn_codes(CODER)) == 40


def _start_run(db: Path, factory: str, *, workers: int = 1):
    """A coding run in another process, with the coder ``factory`` (source text), that has
    committed its first batch."""
    script = textwrap.dedent(f"""
        import functools, sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from batch_coders import GatedCoder, PidCoder
        from reltext.store.database import Store
        from reltext.coding.batch import run_coding
        store = Store.open({str(db)!r})
        for progress in run_coding(store, {factory}, coder_id={CODER!r}, batch_size=20,
                                   workers={workers}):
            print(progress.turns_done, flush=True)
    """)
    process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                               text=True, env={**os.environ, "PYTHONPATH": os.getcwd()})
    assert process.stdout.readline().strip()
    return process


def test_batch_second_run_at_once_says_a_run_is_in_progress(fresh_db, tmp_path, run_cli):
    project = make_project(fresh_db, tmp_path)
    gate = tmp_path / "gate"  # the run waits at its second batch until the gate opens
    process = _start_run(fresh_db, f"functools.partial(GatedCoder, {str(gate)!r})")
    try:
        result = run_cli("code", "--coder", "rules")
        assert result.exit_code == 1 and "Traceback" not in result.output
        (line,) = [line for line in result.output.splitlines() if line.startswith("Error:")]
        assert line.startswith(f"Error: {fresh_db}: another coding run is in progress in this "
                               "project (run ")
        assert f"of {CODER}, started " in line and line.endswith(
            "Wait for it to end, then run this again: it codes only the turns still left.")
        with pytest.raises(ReltextError, match="another coding run is in progress"):
            list(run_coding(project.store, make_coder, coder_id=CODER, batch_size=20))
    finally:
        gate.touch()
        assert process.wait(60) == 0
    clean = make_project(tmp_path / "clean.db", tmp_path)
    list(run_coding(clean.store, make_coder, coder_id=CODER, batch_size=20))
    assert codings_by_turn(project) == codings_by_turn(clean) and len(codings_by_turn(clean))
    with project.store.read() as conn:
        statuses = [r["status"] for r in project.store.list_runs(conn, kind="code")]
    assert statuses == ["done"]  # the refused run left nothing behind


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc (Linux)")
def test_batch_workers_end_with_a_killed_run(fresh_db, tmp_path):
    make_project(fresh_db, tmp_path)
    pids = tmp_path / "pids"
    pids.mkdir()
    process = _start_run(fresh_db, f"functools.partial(PidCoder, {str(pids)!r}, 1.0)",
                         workers=2)
    deadline = time.monotonic() + 30
    while len(list(pids.iterdir())) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    workers = [int(path.name) for path in pids.iterdir()]
    assert len(workers) == 2
    process.send_signal(signal.SIGKILL)
    process.wait()
    deadline = time.monotonic() + 5
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    alive = [pid for pid in workers if _alive(pid)]
    for pid in alive:  # not to leave them behind when the test fails
        os.kill(pid, signal.SIGKILL)
    assert alive == []


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"
