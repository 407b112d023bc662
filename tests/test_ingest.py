"""Ingesting through the command line, end to end, into a real project file."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from reltext import Project
from reltext.cli import main

INTERVIEW = (
    "Interviewer: How did you find the group?\n"
    "Sam: Good. People there get it.\n"
    "Interviewer: Mm-hmm.\n"
    "Sam: I felt less on my own.\n"
)
MANIFEST = """\
speakers:
  Interviewer: interviewer
transcripts:
  sam_w1:
    participant_id: P07
    role: client
    wave: 1
    site: North
    speakers: {Sam: client}
"""


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "sam_w1.txt").write_text(INTERVIEW, encoding="utf-8")
    (folder / "manifest.yaml").write_text(MANIFEST, encoding="utf-8")
    (folder / "nested").mkdir()
    (folder / "nested" / "kim.vtt").write_text(
        "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n<v Kim>Hello.</v>\n", encoding="utf-8"
    )
    return folder


def test_ingest_folder_with_manifest(run_cli, corpus, fresh_db):
    result = run_cli("ingest", str(corpus), "--manifest", str(corpus / "manifest.yaml"))
    assert result.exit_code == 0, result.output
    assert "2 transcript(s) added" in result.output
    turns = Project(fresh_db).turns()
    sam = turns[turns.transcript_id == "sam_w1"]
    assert list(sam.role) == ["interviewer", "client", "interviewer", "client"]
    assert set(sam.wave) == {"1"} and set(sam.participant_id) == {"P07"}
    listing = run_cli("transcripts")
    assert "sam_w1" in listing.output and "kim" in listing.output


def test_ingest_unchanged_is_a_no_op_and_changed_is_a_new_version(run_cli, corpus, fresh_db):
    run_cli("ingest", str(corpus / "sam_w1.txt"))
    again = run_cli("ingest", str(corpus / "sam_w1.txt"))
    assert "0 transcript(s) added, 0 new version(s), 1 unchanged" in again.output
    (corpus / "sam_w1.txt").write_text(INTERVIEW + "Interviewer: Thanks.\n", encoding="utf-8")
    changed = run_cli("ingest", str(corpus / "sam_w1.txt"))
    assert "1 new version(s)" in changed.output
    project = Project(fresh_db)
    assert project.transcripts().loc[0, "version"] == 2
    assert len(project.turns()) == 5


def test_ingest_same_name_from_another_folder_gets_its_own_id(run_cli, tmp_path, corpus):
    other = tmp_path / "other"
    other.mkdir()
    (other / "sam_w1.txt").write_text("Jo: A different interview.\nAl: Yes.\n", encoding="utf-8")
    run_cli("ingest", str(corpus / "sam_w1.txt"))
    run_cli("ingest", str(other / "sam_w1.txt"))
    result = run_cli("transcripts", "--json")
    ids = [json.loads(line)["transcript_id"] for line in result.output.splitlines()]
    assert ids == ["sam_w1", "sam_w1-2"]


def test_ingest_bad_file_among_good_ones(run_cli, corpus, fresh_db):
    bad = corpus / "broken.vtt"
    bad.write_text("WEBVTT\n\n1\n00:00:01 --> nonsense\nHi\n", encoding="utf-8")
    result = run_cli("ingest", str(corpus))
    assert result.exit_code == 1
    assert f"Error: {bad}, line 4: broken cue timing" in result.output
    assert "Traceback" not in result.output
    assert set(Project(fresh_db).transcripts().transcript_id) == {"sam_w1", "kim"}


def test_ingest_folder_lists_what_it_skipped_and_why(run_cli, corpus, fresh_db):
    (corpus / "sam_w1.mp3").write_bytes(b"ID3\x03")
    (corpus / "notes.doc").write_bytes(b"\xd0\xcf\x11\xe0")
    (corpus / "README.md").write_text("About this study.\n", encoding="utf-8")
    result = run_cli("ingest", str(corpus), "--manifest", str(corpus / "manifest.yaml"))
    assert result.exit_code == 0, result.output
    skipped = sorted(line for line in result.output.splitlines() if line.startswith("Skipped:"))
    assert skipped == [
        f"Skipped: {corpus / 'README.md'}: a readme file, not a transcript.",
        f"Skipped: {corpus / 'manifest.yaml'}: the manifest.",
        f"Skipped: {corpus / 'notes.doc'}: an old Word .doc: save it as .docx to ingest it.",
        f"Skipped: {corpus / 'sam_w1.mp3'}: not a transcript format (.mp3); reltext reads "
        ".csv, .docx, .pdf, .qde, .qdpx, .srt, .tab, .text, .tsv, .txt, .vtt, .xlsx.",
    ]
    assert "2 transcript(s) added" in result.output and "4 other file(s) skipped" in result.output


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("empty.txt", b"", "empty.txt: the file is empty. Check that it is the transcript you meant."),
        ("blob.txt", b"\x00\x01\x02binary\xff" * 20, "blob.txt: the file is binary"),
        ("turns.csv", b"transcript_id,turn_id,text\nx,1,Hi\n",
         "turns.csv, line 1: the turn table has no 'speaker' column"),
        ("fake.docx", b"Interviewer: hi\n", "fake.docx: not a Word .docx document"),
        ("cues.srt", b"1\n00:00:01,000 --> 00:00:0x,000\nJo: hi\n",
         "cues.srt, line 2: broken cue timing"),
    ],
)
def test_ingest_bad_input_exits_1_with_one_error_line(run_cli, tmp_path, fresh_db, name,
                                                      content, expected):
    path = tmp_path / name
    path.write_bytes(content)
    result = run_cli("ingest", str(path))
    assert result.exit_code == 1
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and errors[0].startswith(f"Error: {path.parent}")
    assert expected in errors[0]
    assert Project(fresh_db).transcripts().empty


def test_ingest_missing_path_is_a_user_error(run_cli, tmp_path):
    result = run_cli("ingest", str(tmp_path / "nope"))
    assert result.exit_code == 1
    assert result.output.strip() == f"Error: {tmp_path / 'nope'}: no such file or folder. " \
        "Check the path; folders are searched recursively."


@pytest.mark.parametrize("format", ["csv", "parquet", "jsonl"])
def test_ingest_export_turns_round_trip(run_cli, corpus, tmp_path, format):
    run_cli("ingest", str(corpus), "--manifest", str(corpus / "manifest.yaml"))
    out = tmp_path / f"turns.{format}"
    result = run_cli("export", "turns", "--format", format, "--out", str(out))
    assert result.exit_code == 0, result.output
    if format == "csv":
        frame = pd.read_csv(out, dtype=str, keep_default_na=False)
    elif format == "parquet":
        frame = pd.read_parquet(out)
    else:
        frame = pd.read_json(out, lines=True, dtype=False)
    assert list(frame.columns[:7]) == ["transcript_id", "turn_id", "speaker", "role",
                                       "start_char", "end_char", "text"]
    assert list(frame.speaker) == ["Kim", "Interviewer", "Sam", "Interviewer", "Sam"]
    assert list(frame.turn_id.astype(str)) == ["0", "0", "1", "2", "3"]
    # The contract's turn table is itself an ingest format: the export reads back the same.
    if format == "csv":
        again = tmp_path / "again.db"
        run_cli("ingest", str(out), db=again)
        back = Project(again).turns()
        assert list(back.text) == list(frame.text)
        assert list(back.speaker) == list(frame.speaker)


def test_ingest_every_command_has_help():
    from click.testing import CliRunner

    runner = CliRunner()
    def walk(group, path):
        for name, command in group.commands.items():
            yield [*path, name], command
            if hasattr(command, "commands"):
                yield from walk(command, [*path, name])
    listing = runner.invoke(main, ["--help"]).output
    for path, command in walk(main, []):
        result = runner.invoke(main, [*path, "--help"])
        assert result.exit_code == 0
        assert command.get_short_help_str() and "Usage:" in result.output
        if len(path) == 1:
            assert path[0] in listing


def test_ingest_import_and_export_codings(run_cli, tmp_path, fresh_db):
    table = tmp_path / "turns.csv"
    table.write_text("transcript_id,turn_id,speaker,text\n"
                     "t,a1,Sam,I trust her with anything.\nt,a2,Jo,Mm-hmm.\n", encoding="utf-8")
    run_cli("ingest", str(table))
    codes = tmp_path / "codes.csv"
    codes.write_text("transcript_id,turn_id,codes\nt,a1,trust;connection\nt,a2,\n",
                     encoding="utf-8")
    result = run_cli("import-codings", str(codes), "--coder", "human:ann")
    assert result.exit_code == 0, result.output
    assert Project(fresh_db).turn_codes("human:ann") == {("t", "a1"): {"trust", "connection"},
                                                        ("t", "a2"): set()}
    out = tmp_path / "codings.csv"
    run_cli("export", "codings", "--out", str(out))
    frame = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert list(frame.columns) == ["transcript_id", "turn_id", "speaker", "code", "start_char",
                                   "end_char", "text", "confidence", "coder", "origin",
                                   "evidence", "created_at", "status", "reviewer",
                                   "final_code"]
    assert list(frame.code) == ["connection", "trust"]
    assert set(frame.text) == {"I trust her with anything."}
    # Importing again replaces, never duplicates.
    run_cli("import-codings", str(codes), "--coder", "human:ann")
    assert len(Project(fresh_db).codings()) == 2
    bad = tmp_path / "bad.csv"
    bad.write_text("transcript_id,turn_id,codes\nt,zz,trust\n", encoding="utf-8")
    result = run_cli("import-codings", str(bad), "--coder", "human:ann")
    assert result.exit_code == 1
    assert "1 row(s) name turns not in the project, the first being turn 'zz'" in result.output


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("conection", "line 3: unknown code 'conection' (did you mean 'connection'?). Use the "
                      "codebook's keys, joined by ';': agency, connection, disempowerment, "
                      "empowerment, hope, hopelessness, isolation, locus_other, locus_self, "
                      "locus_situation, mistrust, reflexivity, stigma, trust. Nothing was "
                      "imported."),
        ('"connection, trust"', "line 3: the codes 'connection, trust' are not code keys "
                                "joined by ';'. Write them as connection;trust, with the "
                                "codebook's keys: agency, connection,"),
    ],
)
def test_ingest_import_codings_refuses_unknown_and_malformed_codes(run_cli, tmp_path, fresh_db,
                                                                   cell, expected):
    table = tmp_path / "turns.csv"
    table.write_text("transcript_id,turn_id,speaker,text\n"
                     "t,a1,Sam,I trust her.\nt,a2,Sam,My mates stuck by me.\n", encoding="utf-8")
    run_cli("ingest", str(table))
    codes = tmp_path / "codes.csv"
    codes.write_text(f"transcript_id,turn_id,codes\nt,a1,trust\nt,a2,{cell}\n", encoding="utf-8")
    result = run_cli("import-codings", str(codes), "--coder", "human:ann")
    assert result.exit_code == 1
    errors = result.output.strip().splitlines()
    assert len(errors) == 1 and errors[0].startswith(f"Error: {codes}, {expected}")
    assert Project(fresh_db).codings().empty  # not even the good first row
