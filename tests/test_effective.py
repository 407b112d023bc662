"""Effective codings: review decisions applied to a coder's codings."""

from __future__ import annotations

import pandas as pd
import pytest
from sqlalchemy import text

from reltext.review.effective import (
    CodedTurns,
    coded_turns,
    default_coder,
    effective_codings,
    read_turns,
)
from reltext.errors import ReltextError


def _decide(project, transcript_id, turn_id, code, verdict, *, new_code=None, span=None):
    """Append a review decision the way the viewer records one (tests only)."""
    with project.store.write() as conn:
        coding_pk = conn.execute(text(
            "SELECT c.pk FROM codings c JOIN turns u ON u.pk = c.turn_pk JOIN transcripts t "
            "ON t.pk = u.transcript_pk WHERE t.transcript_id = :t AND u.turn_id = :u "
            "AND c.code = :c"), {"t": transcript_id, "u": turn_id, "c": code}).scalar_one()
        count = conn.execute(text("SELECT COUNT(*) FROM decisions")).scalar_one()
        conn.execute(text(
            "INSERT INTO decisions (decision_id, coding_pk, reviewer, verdict, code, start_char, "
            "end_char, decided_at) VALUES (:id, :pk, 'human:rev', :v, :code, :s, :e, :at)"),
            {"id": f"d{count}", "pk": coding_pk, "v": verdict, "code": new_code,
             "s": span[0] if span else None, "e": span[1] if span else None,
             "at": f"2026-01-01T00:00:{count:02d}+00:00"})


def test_effective_default_coder_prefers_automatic(tiny_project):
    assert default_coder(tiny_project.store) == "human:gold"
    with tiny_project.store.write() as conn:
        tiny_project.store.add_codings(conn, [{"turn_pk": 1, "code": "hope", "start_char": 0,
                                               "end_char": 3, "coder": "rules:relational@1.0",
                                               "origin": "rule"}])
        tiny_project.store.mark_coded(conn, [1], coder="rules:relational@1.0")
    assert default_coder(tiny_project.store) == "rules:relational@1.0"


def test_effective_without_decisions_is_the_export(tiny_project):
    frame = effective_codings(tiny_project.store, "human:gold")
    exported = tiny_project.codings("human:gold")
    assert list(frame["coding_id"]) == list(exported["coding_id"])
    assert set(frame["status"]) == {"unreviewed"}


def test_effective_rejected_left_out_corrected_recoded(tiny_project):
    _decide(tiny_project, "p1_w1", "2", "stigma", "reject")
    _decide(tiny_project, "p1_w2", "1", "hopelessness", "correct", new_code="hope", span=(4, 14))
    _decide(tiny_project, "p1_w1", "1", "trust", "reject")
    _decide(tiny_project, "p1_w1", "1", "trust", "accept")  # the latest decision holds
    _decide(tiny_project, "p1_w1", "2", "stigma", "memo")  # a memo leaves the state as it was
    frame = effective_codings(tiny_project.store, "human:gold")
    assert len(frame) == 14 - 1  # 14 codings, one rejected
    assert "stigma" not in set(frame["code"])
    corrected = frame[frame["status"] == "corrected"].iloc[0]
    assert (corrected["code"], corrected["start_char"], corrected["end_char"]) == ("hope", 4, 14)
    assert corrected["text"] == "job centre"
    assert frame.loc[frame["code"].eq("trust") & frame["turn_id"].eq("1"), "status"].item() \
        == "accepted"
    turns = coded_turns(tiny_project.store, "human:gold").set_index(["transcript_id", "turn_id"])
    assert turns.loc[("p1_w1", "2"), "codes"] == ("locus_self",)
    assert turns.loc[("p1_w2", "1"), "codes"] == ("disempowerment", "hope", "locus_situation")


def test_effective_coded_turns_kept_current_as_decisions_come_in(tiny_project):
    store = tiny_project.store
    live = CodedTurns.read(store, "human:gold")
    first = live.table()
    _decide(tiny_project, "p1_w1", "2", "stigma", "reject")
    _decide(tiny_project, "p1_w2", "1", "hopelessness", "correct", new_code="hope")
    _decide(tiny_project, "p1_w2", "2", "trust", "reject")
    _decide(tiny_project, "p1_w2", "2", "trust", "accept")
    _decide(tiny_project, "p1_w1", "2", "stigma", "memo")
    updated = live.update(store).table()
    pd.testing.assert_frame_equal(updated, coded_turns(store, "human:gold"))
    codes = updated.set_index(["transcript_id", "turn_id"])["codes"]
    assert codes[("p1_w1", "2")] == ("locus_self",)
    assert first.set_index(["transcript_id", "turn_id"])["codes"][("p1_w1", "2")] \
        == ("locus_self", "stigma")  # an earlier table stays as it was
    # The same codes as the effective codings, turn by turn.
    effective = effective_codings(store, "human:gold").groupby(["transcript_id", "turn_id"])
    assert codes[codes.map(len) > 0].to_dict() == \
        effective["code"].agg(lambda turn: tuple(sorted(set(turn)))).to_dict()
    # A decision taken away (as when its coding is imported again): everything is read again.
    with store.write() as conn:
        conn.execute(text("DELETE FROM decisions WHERE decision_id = 'd0'"))
    pd.testing.assert_frame_equal(live.update(store).table(), coded_turns(store, "human:gold"))
    assert live.table().set_index(["transcript_id", "turn_id"])["codes"][("p1_w1", "2")] \
        == ("locus_self", "stigma")


def test_effective_coded_turns_from_turns_read_before_a_coding_run(tiny_project):
    store = tiny_project.store
    turns = read_turns(store)  # as a viewer keeps them
    coder = "rules:relational@1.0"
    with store.write() as conn:
        store.add_codings(conn, [{"turn_pk": 2, "code": "hope", "start_char": 0,
                                  "end_char": 3, "coder": coder, "origin": "rule"}])
        store.mark_coded(conn, [1, 2, 3], coder=coder)
    again = CodedTurns.read(store, coder, turns).table()
    pd.testing.assert_frame_equal(again, coded_turns(store, coder))
    assert again["codes"].tolist() == [(), ("hope",), ()]
    # The kept turns serve every coder, and are not changed by serving one.
    pd.testing.assert_frame_equal(CodedTurns.read(store, "human:gold", turns).table(),
                                  coded_turns(store, "human:gold"))


def test_effective_coded_turns_columns(tiny_project):
    turns = coded_turns(tiny_project.store, "human:gold")
    assert len(turns) == 9
    assert list(turns["participant"].unique()) == ["P1", "P2"]
    assert list(turns["wave"]) == ["1"] * 4 + ["2"] * 3 + ["1"] * 2
    assert turns["is_participant"].tolist() == [False, True, True, False, False, True, True,
                                                False, True]
    assert turns.loc[0, "codes"] == () and turns.loc[0, "codings"] == 0


def test_effective_unknown_coder_is_a_user_error(tiny_project):
    with pytest.raises(ReltextError, match="no coder 'human:nobody'.*human:gold"):
        coded_turns(tiny_project.store, "human:nobody")


def test_effective_empty_project_says_what_to_do(fresh_db):
    from reltext import Project

    with pytest.raises(ReltextError, match="no codings yet.*reltext code"):
        Project(fresh_db).coded_turns()
