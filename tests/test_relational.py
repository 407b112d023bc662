"""The relational model: shipped, coding a fresh project, never an interviewer's turn, adapting."""

from __future__ import annotations

import csv
import hashlib
import itertools
import json
from pathlib import Path

import numpy as np
import pytest
from conftest import SHARED

from reltext import Project
from reltext.coding.coders.relational import DEFAULT_FOLDER, RelationalModel

INTERVIEW = """\
Interviewer: How have things been with the services since we last spoke?
Participant: I don't trust the services. They lost my notes twice and nobody called me back. But I trust Sam, my peer worker. And I'm starting to trust myself.
Interviewer: What would you like to do next?
Participant: I've decided to go back to the group on Tuesdays. My sister has been brilliant, she keeps me going.
Interviewer: It's your decision, you know yourself best.
Participant: The GP receptionist talks to me like I'm a child. I'm a bit mad, a bit broken, that's what they think.
"""


def gold_subset(folder: Path, keep) -> tuple[Path, Path]:
    """The dev gold's turns that ``keep`` keeps, and their codes, as two CSVs in ``folder``."""
    turns_out, codes_out = folder / "turns.csv", folder / "codes.csv"
    kept = set()
    for source, target, chosen in ((SHARED / "gold" / "dev-turns.csv", turns_out, keep),
                                   (SHARED / "gold" / "dev-codes.csv", codes_out,
                                    lambda row: (row["transcript_id"], row["turn_id"]) in kept)):
        with source.open(newline="", encoding="utf-8") as handle, \
                target.open("w", newline="", encoding="utf-8") as out:
            reader = csv.DictReader(handle)
            writer = csv.DictWriter(out, fieldnames=reader.fieldnames)
            writer.writeheader()
            for row in reader:
                if chosen(row):
                    kept.add((row["transcript_id"], row["turn_id"]))
                    writer.writerow(row)
    return turns_out, codes_out


@pytest.fixture(scope="module")
def model() -> RelationalModel:
    return RelationalModel.load()


def test_the_shipped_model_is_small_and_describes_itself(model):
    size = sum(p.stat().st_size for p in DEFAULT_FOLDER.iterdir())
    assert size < 50 * 1024 * 1024
    manifest = json.loads((DEFAULT_FOLDER / "manifest.json").read_text())
    assert manifest["codes"] == model.codes and len(model.codes) == 14
    assert {f["name"] for f in manifest["data"]} >= {"gold"}
    assert all(len(f["turns_sha256"]) == 64 for f in manifest["data"])
    assert set(manifest["libraries"]) >= {"torch", "transformers", "scikit-learn", "reltext"}
    assert manifest["cross_validation"]["gold"]["macro"]["kappa"] > 0.3
    assert model.coder_id == "model:relational@" + manifest["version"]


def test_a_fresh_project_is_coded_by_the_model_with_no_training(tmp_path, run_cli):
    interview = tmp_path / "str04.txt"
    interview.write_text(INTERVIEW, encoding="utf-8")
    assert run_cli("ingest", str(interview)).exit_code == 0
    result = run_cli("code", "--silent")
    assert result.exit_code == 0, result.output
    out = tmp_path / "codings.csv"
    assert run_cli("export", "codings", "--format", "csv", "--out", str(out)).exit_code == 0
    with out.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert rows and {r["coder"] for r in rows} == {"model:relational@1.0"}
    assert {r["speaker"] for r in rows} == {"Participant"}  # the interviewer is never coded
    codes = {r["code"] for r in rows}
    assert "mistrust" in codes and "connection" in codes
    for row in rows:
        # The span is a whole sentence (or clause) of the turn, never a keyword.
        assert row["text"][-1] in ".!?;" and len(row["text"].split()) >= 3
        assert row["evidence"] and "like " in row["evidence"]
        assert 0 < float(row["confidence"]) <= 1


def test_an_adaptation_learns_from_a_rejected_code_and_forgets_an_undone_one(tmp_path):
    from reltext.review import decisions as review

    project = Project(tmp_path / "p.db")
    small_turns, small_gold = gold_subset(tmp_path, lambda row: row["transcript_id"] in
                                          {"95", "26", "118"})
    project.ingest([small_turns])
    project.code(coder="model")
    first = project.adapt(gold=small_gold)
    codings = project.codings(coder="model:relational@1.0")
    target = codings[codings["code"] == codings["code"].value_counts().index[0]].iloc[0]
    assert first.manifest["adaptation"]["codes"][target["code"]]["adapted"]
    before = _probability(project, first, target)
    for coding_id in codings.loc[codings["code"] == target["code"], "coding_id"]:
        review.decide(project.store, "alice", coding_id, "reject")
    second = project.adapt(gold=None)
    assert second.coder_id != first.coder_id
    assert second.manifest["adaptation"]["training"]["decisions"] > 0
    assert _probability(project, second, target) < before
    # Undone, the rejections are no longer labels: the next adaptation is the first again.
    for _ in range(second.manifest["adaptation"]["training"]["decisions"]):
        review.undo_last(project.store, "alice")
    third = project.adapt(gold=None)
    assert third.manifest["adaptation"]["training"]["decisions"] == 0
    assert _probability(project, third, target) == pytest.approx(before, abs=1e-4)
    project.close()


def _probability(project, adapted, coding) -> float:
    from reltext.coding.coders.relational import score_project_turns

    with project.store.read() as conn:
        pk = project.store.turn_pk(conn, coding["transcript_id"], coding["turn_id"])[0]
        turn = project.store.turns_by_pk(conn, [pk])[pk]
    scored = score_project_turns(project.store, adapted, [turn])
    return float(adapted.probabilities(scored.raw, scored.pooled)[0,
                                                                  adapted.codes.index(coding["code"])])


def test_the_training_path_works_on_a_few_dozen_turns(tmp_path, run_cli):
    first_forty = itertools.count()
    small_turns, small_codes = gold_subset(tmp_path, lambda row: next(first_forty) < 40)
    out = tmp_path / "model"
    assert len(small_turns.read_text().splitlines()) == 41
    result = run_cli("train", "--base", "--clean-corpus", str(small_turns), str(small_codes),
                     "--out", str(out))
    assert result.exit_code == 0, result.output
    trained = RelationalModel.load(out)
    assert trained.manifest["turns"] == 40
    assert trained.manifest["data"][0]["turns_sha256"] == \
        hashlib.sha256(small_turns.read_bytes()).hexdigest()
    again = tmp_path / "again"
    assert run_cli("train", "--base", "--clean-corpus", str(small_turns), str(small_codes),
                   "--out", str(again)).exit_code == 0
    retrained = RelationalModel.load(again)  # the same seed gives the same model
    for first, second in zip(trained.heads, retrained.heads, strict=True):
        params = getattr(first, "parameters", None) or {"w": first.weights}
        params2 = getattr(second, "parameters", None) or {"w": second.weights}
        assert all(np.array_equal(params[k], params2[k]) for k in params)
