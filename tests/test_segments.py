"""Coded segments: the quotes of a code across cases, filtered, counted and exported."""

from __future__ import annotations

import pandas as pd
import pytest
from docx import Document
from viewer_support import AUTO_CODER, build_project

from reltext import Project
from reltext.review import decisions as review
from reltext.model import Verdict
from reltext.analysis.segments import by_case, context


@pytest.fixture
def project(tmp_path):
    project = Project(build_project(tmp_path))
    store = project.store
    queue = {item["code"]: item for item in review.review_queue(store, "alice", limit=9)}
    # alice codes a turn the auto-coder left uncoded, corrects one code and rejects another.
    text = "Nobody there listened, they decided everything for me."
    review.add_code(store, "alice", "int02", "2", "isolation", start_char=0,
                    end_char=text.index(","))
    review.decide(store, "alice", queue["hope"]["coding_id"], Verdict.CORRECT,
                  code="isolation")
    review.decide(store, "alice", queue["isolation"]["coding_id"], Verdict.REJECT)
    yield project
    project.close()


def test_segments_of_a_code_as_review_left_it(project):
    frame = project.segments("isolation")
    assert frame[["transcript_id", "turn_id", "quote", "coder", "status"]].values.tolist() == [
        ["int01", "3", "things could get better", AUTO_CODER, "corrected"],
        ["int02", "2", "Nobody there listened", "human:alice", "accepted"],
    ]
    assert frame.loc[1, "context"] == "Nobody there listened, they decided everything for me."
    assert frame.loc[1, "role"] == "client" and frame.loc[1, "wave"] == "2"
    assert frame.loc[1, "site"] == "South" and frame.loc[1, "participant"] == "int02"
    assert frame.loc[1, "link"] == "?transcript=int02&turn=2"
    rejected = project.segments("isolation", states=["rejected"])
    assert rejected["quote"].tolist() == ["on my own"]
    assert project.segments("isolation", coders=["human:alice"])["turn_id"].tolist() == ["2"]
    assert project.segments("isolation", where={"site": ["North"]})["turn_id"].tolist() == ["3"]
    assert by_case(frame)[["participant", "segments", "turns"]].values.tolist() == [
        ["int01", 1, 1], ["int02", 1, 1]]


def test_segments_cli_prints_quotes_counts_and_writes_csv_and_word(project, run_cli,
                                                                  tmp_path):
    db = project.path
    result = run_cli("segments", "--code", "isolation", "--wave", "2", db=db)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[:5] == [
        "isolation: 1 segment(s) in 1 transcript(s) (wave 2)",
        "",
        "Lee (client), int02 turn 2, wave 2, South · human:alice, accepted",
        "  \u201cNobody there listened, they decided everything for me.\u201d",
        "  (coded: \u201cNobody there listened\u201d)",
    ]
    assert "By case:" in result.output and "int02" in result.output.split("By case:")[1]
    out = tmp_path / "isolation.csv"
    assert run_cli("segments", "--code", "isolation", "--out", str(out), db=db).exit_code == 0
    assert pd.read_csv(out)["quote"].tolist() == ["things could get better",
                                                 "Nobody there listened"]
    word = tmp_path / "isolation.docx"
    assert run_cli("segments", "--code", "isolation", "--out", str(word), db=db).exit_code == 0
    paragraphs = [p.text for p in Document(str(word)).paragraphs]
    assert paragraphs[0] == "Coded segments: isolation"
    assert "\u201cNobody there listened, they decided everything for me.\u201d" in paragraphs
    assert "\u2014 Lee (client), int02 turn 2, wave 2, South" in paragraphs
    bad = run_cli("segments", "--code", "isolation", "--where", "colour=red", db=db)
    assert bad.exit_code == 1
    assert bad.output.startswith("Error: no attribute 'colour' to filter segments by. Filter "
                                 "by one of: ")


def test_segments_context_is_the_sentence_holding_the_span():
    text = "It was hard. I rely on Sam, he turns up. Then it got better!"
    start = text.index("rely on")
    assert context(text, start, start + 7) == "I rely on Sam, he turns up."
    assert context(text, 0, len(text)) == text
