"""The Python API does what the command line does: same project, same codings, same figures."""

from __future__ import annotations

import json

import pytest

from reltext import Project

from conftest import DATA


@pytest.mark.filterwarnings("ignore:undefined")
def test_project_api_and_cli_agree(tmp_path, run_cli, fresh_db):
    api = Project(tmp_path / "api.db")
    api.ingest([DATA / "three_speakers.txt", DATA / "turns.csv", DATA / "qa.txt"])
    last = api.code(coder="rules", batch_size=4)
    assert last is not None and last.turns_done == last.turns_total
    assert api.code(coder="rules") is None  # nothing new to code

    for path in ("three_speakers.txt", "turns.csv", "qa.txt"):
        run_cli("ingest", str(DATA / path))
    assert run_cli("code", "--coder", "rules", "--silent").exit_code == 0
    cli = Project(fresh_db)
    columns = ["transcript_id", "turn_id", "code", "start_char", "end_char", "coder", "evidence"]
    assert api.codings()[columns].values.tolist() == cli.codings()[columns].values.tolist()

    coder = api.coders().coder.iloc[0]
    gold = tmp_path / "gold.csv"
    rows = ["transcript_id,turn_id,codes"] + [
        f"{t},{u},{'agency' if i % 3 == 0 else ''}"
        for i, (t, u) in enumerate(zip(api.turns().transcript_id, api.turns().turn_id))]
    gold.write_text("\n".join(rows) + "\n", encoding="utf-8")
    figures = api.evaluate(gold, coder=coder)
    out = tmp_path / "eval.json"
    run_cli("evaluate", "--gold", str(gold), "--coder", coder, "--json", str(out))
    from_cli = json.loads(out.read_text())
    # A research interviewer's turns (qa.txt's Q:) are context, not data (spec v1.1).
    turns = api.turns()
    assert from_cli["units"] == figures["units"] == (turns["role"] != "interviewer").sum() < len(turns)
    assert from_cli["codes"]["agency"]["support"] == figures["codes"]["agency"]["support"]
