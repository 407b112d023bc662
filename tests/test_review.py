"""The review queue, decisions, undo, blind mode, agreement, and concurrent reviewers."""

from __future__ import annotations

import functools
import math
import multiprocessing
import warnings
from itertools import pairwise
from pathlib import Path

import krippendorff
import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score
from sqlalchemy import text
from viewer_support import AUTO_CODER, build_project

from reltext.review import decisions as review
from reltext.errors import ReltextError
from reltext.model import Verdict
from reltext.store.database import Store


@pytest.fixture
def store(tmp_path: Path):
    opened = Store.open(build_project(tmp_path))
    yield opened
    opened.close()


def _decisions(store: Store) -> list[dict]:
    with store.read() as conn:
        return [dict(row) for row in conn.execute(
            text("SELECT * FROM decisions ORDER BY pk")).mappings()]


def _item(store: Store, code: str) -> dict:
    return next(item for item in review.review_queue(store, "alice", limit=50)
                if item["code"] == code)


def test_review_queue_orders_least_confident_first(store):
    queue = review.review_queue(store, "alice", limit=10)
    assert [item["confidence"] for item in queue] == [0.30, 0.42, 0.55, 0.75, 0.91]
    assert review.queue_size(store, "alice") == 5
    assert [i["code"] for i in review.review_queue(store, "alice", limit=2, offset=1)] == \
        ["isolation", "hope"]
    only = review.review_queue(store, "alice", transcript_id="int02")
    assert {item["transcript_id"] for item in only} == {"int02"}


def test_review_decisions_record_reviewer_time_and_previous_state(store):
    trust = _item(store, "trust")
    accepted = review.decide(store, "alice", trust["coding_id"], Verdict.ACCEPT)
    assert accepted.status == "accepted" and accepted.reviewer == "alice"
    assert accepted.previous["status"] == "pending"
    assert accepted.decided_at.endswith("+00:00")
    isolation = _item(store, "isolation")
    corrected = review.decide(store, "alice", isolation["coding_id"], "correct",
                              code="hopelessness", known_codes=["hopelessness", "isolation"])
    assert (corrected.code, corrected.status) == ("hopelessness", "corrected")
    assert corrected.previous["code"] == "isolation"
    again = review.decide(store, "alice", isolation["coding_id"], "correct",
                          start_char=0, end_char=8)
    assert again.previous["code"] == "hopelessness" and again.code == "hopelessness"
    rejected = review.decide(store, "alice", _item(store, "hope")["coding_id"], "reject")
    assert rejected.status == "rejected"
    memo = review.decide(store, "alice", trust["coding_id"], "memo", note="<b>check</b>")
    assert memo.status == "accepted" and memo.note == "<b>check</b>"
    assert review.queue_size(store, "alice") == 2
    assert review.queue_size(store, "bob") == 5
    rows = _decisions(store)
    assert [row["verdict"] for row in rows] == ["accept", "correct", "correct", "reject", "memo"]


def test_review_mistakes_are_errors_and_leave_nothing(store):
    item = _item(store, "trust")
    with pytest.raises(ReltextError, match="unknown code 'nonsense'"):
        review.decide(store, "alice", item["coding_id"], "correct", code="nonsense",
                      known_codes=["trust"])
    with pytest.raises(ReltextError, match="not inside the turn"):
        review.decide(store, "alice", item["coding_id"], "correct", start_char=5, end_char=999)
    with pytest.raises(ReltextError, match="changes neither"):
        review.decide(store, "alice", item["coding_id"], "correct", code="trust")
    with pytest.raises(ReltextError, match="memo needs some text"):
        review.decide(store, "alice", item["coding_id"], "memo", note="  ")
    with pytest.raises(ReltextError, match="reviewer name"):
        review.decide(store, "human:alice", item["coding_id"], "accept")
    with pytest.raises(ReltextError, match="no turn '99'"):
        review.add_code(store, "alice", "int01", "99", "hope")
    assert _decisions(store) == []


def test_review_add_code_makes_a_human_coding_with_an_accept(store):
    decision = review.add_code(store, "alice", "int01", "2", "connection",
                               start_char=0, end_char=4)
    with store.read() as conn:
        coding = conn.execute(text("SELECT * FROM codings WHERE coder = 'human:alice'")) \
            .mappings().one()
    assert (coding["code"], coding["origin"], coding["start_char"], coding["end_char"]) == \
        ("connection", "human", 0, 4)
    assert decision.verdict == "accept" and decision.previous["status"] == "absent"
    whole = review.add_code(store, "alice", "int01", "3", "agency")
    assert (whole.start_char, whole.end_char) == (0, len(
        "I feel like things could get better this year, bit by bit."))


def test_review_same_decision_id_records_once(store):
    item = _item(store, "trust")
    first = review.decide(store, "alice", item["coding_id"], "accept", decision_id="d-1")
    second = review.decide(store, "alice", item["coding_id"], "accept", decision_id="d-1")
    added = [review.add_code(store, "alice", "int01", "2", "hope", decision_id="d-2")
             for _ in range(2)]
    assert first == second and added[0] == added[1]
    assert len(_decisions(store)) == 2
    with store.read() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM codings WHERE coder = 'human:alice'")) \
            .scalar_one() == 1


def test_review_undo_restores_previous_states_in_reverse_order(store):
    trust, hope = _item(store, "trust"), _item(store, "hope")
    review.decide(store, "alice", trust["coding_id"], "accept")
    review.decide(store, "alice", trust["coding_id"], "correct", code="connection")
    review.decide(store, "bob", hope["coding_id"], "reject")
    added = review.add_code(store, "alice", "int01", "2", "agency")
    before = _decisions(store)
    assert review.last_undoable(store, "alice").decision_id == added.decision_id
    undone = review.undo_last(store, "alice")
    assert (undone.verdict, undone.status, undone.undoes) == \
        ("undo", "absent", added.decision_id)
    assert review.reviewer_view(store, "alice") == {trust["turn_pk"]: {"connection"}}
    assert review.undo_last(store, "alice").code == "trust"
    assert review.reviewer_view(store, "alice") == {trust["turn_pk"]: {"trust"}}
    assert review.undo_last(store, "alice").status == "pending"
    assert review.undo_last(store, "alice") is None
    assert review.reviewer_view(store, "alice") == {}
    assert review.reviewer_view(store, "bob") == {hope["turn_pk"]: set()}
    # Append-only: the earlier rows are untouched, three undos were added.
    after = _decisions(store)
    assert after[: len(before)] == before and len(after) == len(before) + 3
    with pytest.raises(ReltextError, match="withdrawn"):
        review.decide(store, "alice", added.coding_id, "accept")


def _log(store: Store) -> list[tuple[str, str, str]]:
    with store.read() as conn:
        return [tuple(row) for row in conn.execute(
            text("SELECT kind, action, leaves FROM review_log ORDER BY seq"))]


def test_review_one_undo_takes_back_decisions_and_answers_in_the_order_made(store):
    from reltext.learning.questions import answer, answered

    trust = _item(store, "trust")
    ask = functools.partial(answer, store, "alice", "int01", "3", "agency",
                            known_codes=["agency"])
    review.decide(store, "alice", trust["coding_id"], "accept")
    first = ask(applies=True)
    ask(applies=False)  # the same pair again, in the same second
    assert review.last_undoable(store, "alice").applies is False
    back = review.undo_last(store, "alice", undo_id="u-1")
    assert (back.applies, back.code, back.transcript_id, back.turn_id) == \
        (True, "agency", "int01", "3")  # the answer before it, restored
    assert review.undo_last(store, "alice", undo_id="u-1") is None  # sent again: nothing
    assert review.undo_last(store, "alice").undoes == first.answer_id
    assert (first.turn_pk, "agency") not in answered(store)  # back in the queue
    assert review.undo_last(store, "alice").status == "pending"
    assert review.undo_last(store, "alice") is None
    assert _log(store) == [
        ("decision", "accept", "accepted"), ("answer", "answer", "applies"),
        ("answer", "answer", "does not apply"), ("answer", "undo", "applies"),
        ("answer", "undo", "withdrawn"), ("decision", "undo", "pending")]


def test_review_log_orders_a_project_made_before_it_and_undoes_there(tmp_path, monkeypatch):
    from reltext.learning.questions import answered
    from reltext.store import migrations

    every = migrations.available()
    monkeypatch.setattr(migrations, "available",
                        lambda: [(name, up) for name, up in every if name < "m0007"])
    store = Store.open(build_project(tmp_path))
    assert "m0007_review_log" not in store.schema_version()
    accept = review.decide(store, "alice", _item(store, "trust")["coding_id"], "accept")
    reject = review.decide(store, "alice", _item(store, "isolation")["coding_id"], "reject")
    with store.write() as conn:
        keys = store.turn_keys(conn)
        hope, agency = keys[("int01", "3")][0], keys[("int02", "2")][0]
        answers = [("a1", hope, "hope", 1, "10:00:02"), ("a2", hope, "hope", 0, "10:00:02"),
                   ("a3", agency, "agency", 1, "10:00:03"),
                   ("a4", agency, "agency", None, "10:00:04")]  # the undo of its time
        for answer_id, turn_pk, code, applies, at in answers:
            conn.execute(text(
                "INSERT INTO answers (answer_id, turn_pk, code, reviewer, applies, answered_at) "
                "VALUES (:id, :turn, :code, 'alice', :applies, :at)"),
                {"id": answer_id, "turn": turn_pk, "code": code, "applies": applies,
                 "at": f"2024-05-01T{at}+00:00"})
        for decision, at in ((accept, "10:00:01"), (reject, "10:00:03")):
            conn.execute(text("UPDATE decisions SET decided_at = :at WHERE decision_id = :id"),
                         {"at": f"2024-05-01T{at}+00:00", "id": decision.decision_id})
    store.close()
    monkeypatch.undo()

    store = Store.open(store.path)
    try:
        assert _log(store) == [
            ("decision", "accept", "accepted"), ("answer", "answer", "applies"),
            ("answer", "answer", "does not apply"), ("decision", "reject", "rejected"),
            ("answer", "answer", "applies"), ("answer", "undo", "withdrawn")]
        assert review.last_undoable(store, "alice").decision_id == reject.decision_id
        assert review.undo_last(store, "alice").undoes == reject.decision_id
        assert review.undo_last(store, "alice").applies is True  # a2 undone: a1 again
        assert (hope, "hope") in answered(store)
        assert review.undo_last(store, "alice").applies is None  # a1 undone
        assert (hope, "hope") not in answered(store)
        assert review.undo_last(store, "alice").status == "pending"
        assert review.undo_last(store, "alice") is None  # a3 was undone before
    finally:
        store.close()


def test_review_blind_mode_hides_other_reviewers(store):
    review.add_code(store, "bob", "int01", "0", "trust")
    review.decide(store, "bob", _item(store, "hope")["coding_id"], "accept")
    turns = review.transcript_page(store, "int01", reviewer="alice", blind=True)
    codings = [c for turn in turns for c in turn["codings"]]
    assert {c["coder"] for c in codings} == {AUTO_CODER}
    assert all(c["decisions"] == [] for c in codings)
    seen = review.transcript_page(store, "int01", reviewer="alice", blind=False)
    codings = [c for turn in seen for c in turn["codings"]]
    assert "human:bob" in {c["coder"] for c in codings}
    assert any(d["reviewer"] == "bob" for c in codings for d in c["decisions"])
    assert [r.name for r in review.raters(store, blind_reviewer="alice")] == [AUTO_CODER]


def test_review_agreement_matches_sklearn_and_krippendorff(store):
    queue = {item["code"]: item for item in review.review_queue(store, "alice", limit=10)}
    for reviewer, verdicts in {"alice": {"trust": "accept", "hope": "reject",
                                         "isolation": "accept", "stigma": "reject"},
                               "bob": {"trust": "accept", "hope": "accept",
                                       "isolation": "reject", "stigma": "reject"}}.items():
        for code, verdict in verdicts.items():
            review.decide(store, reviewer, queue[code]["coding_id"], verdict)
    review.add_code(store, "bob", "int01", "1", "hope")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rows = review.agreement(store, codes=["hope", "trust", "isolation", "stigma"])
    pair = {row["code"]: row for row in rows
            if (row["first"], row["second"]) == ("alice (review)", "bob (review)")}
    # Turns: int01/1 (trust; bob adds hope), int01/3 (hope), int01/4 (isolation), int02/1.
    alice_hope, bob_hope = [0, 0, 0, 0], [1, 1, 0, 0]
    assert pair["hope"]["turns"] == 4
    assert pair["hope"]["second_only"] == 2 and pair["hope"]["both"] == 0
    assert math.isclose(pair["hope"]["kappa"], cohen_kappa_score(alice_hope, bob_hope))
    alice_isolation, bob_isolation = [0, 0, 1, 0], [0, 0, 0, 0]
    assert math.isclose(pair["isolation"]["kappa"],
                        cohen_kappa_score(alice_isolation, bob_isolation))
    assert math.isclose(pair["isolation"]["alpha"], krippendorff.alpha(
        reliability_data=np.array([alice_isolation, bob_isolation], dtype=float),
        level_of_measurement="nominal"))
    assert pair["trust"]["kappa"] == 1.0 and pair["trust"]["both"] == 1
    assert math.isnan(pair["stigma"]["kappa"])  # both rejected it: no variation, undefined
    auto = {row["code"]: row for row in rows
            if (row["first"], row["second"]) == (AUTO_CODER, "alice (review)")}
    assert (auto["hope"]["first_only"], auto["hope"]["both"]) == (1, 0)
    rater = {r.label: r for r in review.raters(store)}
    compared = review.compare(store, rater["alice (review)"], rater["bob (review)"])
    disputed = review.disagreeing_turns(store, compared, "hope")
    assert {(row["transcript_id"], row["turn_id"], row["coded_by"]) for row in disputed} == \
        {("int01", "1", "bob (review)"), ("int01", "3", "bob (review)")}


def _review_many(db: str, reviewer: str, coding_ids: list[str], rounds: int) -> None:
    store = Store.open(db)
    for round_index in range(rounds):
        for coding_id in coding_ids:
            verdict = "accept" if (round_index + len(reviewer)) % 2 else "reject"
            # Each decision sent twice, as a double click would.
            for _ in range(2):
                review.decide(store, reviewer, coding_id, verdict,
                              decision_id=f"{reviewer}-{coding_id}-{round_index}")
    store.close()


def test_review_concurrent_reviewers_never_lose_or_duplicate(store):
    coding_ids = [item["coding_id"] for item in review.review_queue(store, "x", limit=10)]
    reviewers, rounds = ["alice", "bob", "carol", "dan"], 6
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_review_many,
                               args=(str(store.path), name, coding_ids, rounds))
               for name in reviewers]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
        assert worker.exitcode == 0
    rows = _decisions(store)
    assert len(rows) == len(reviewers) * rounds * len(coding_ids)
    assert len({row["decision_id"] for row in rows}) == len(rows)
    # Each reviewer's decisions on a coding chain: each previous is the one before it.
    for name in reviewers:
        for coding_pk in {row["coding_pk"] for row in rows}:
            chain = [row for row in rows if row["reviewer"] == name
                     and row["coding_pk"] == coding_pk]
            assert len(chain) == rounds
            for before, after in pairwise(chain):
                assert f'"decision_id": "{before["decision_id"]}"' in after["previous"]


def test_review_learned_coder_uncertainty_orders_the_queue(store):
    def order(**options):
        queue = review.review_queue(store, "alice", limit=10, **options)
        return [(item["coder"], item["code"], item["confidence"]) for item in queue]

    by_confidence = order()
    assert [row[2] for row in by_confidence] == sorted(row[2] for row in by_confidence)
    with store.write() as conn:
        keys = store.turn_keys(conn)
        turn_pk, text_ = keys[("int01", "2")]
        store.add_codings(conn, [
            {"turn_pk": turn_pk, "code": code, "start_char": 0, "end_char": len(text_),
             "confidence": probability, "coder": "learned:m1", "origin": "classifier"}
            for code, probability in (("hope", 0.97), ("trust", 0.52), ("agency", 0.30))])
        # auto: the same model beside the rules; a rule match it kept has its probability.
        store.add_codings(conn, [
            {"turn_pk": turn_pk, "code": "reflexivity", "start_char": 0, "end_char": 5,
             "confidence": 0.40, "coder": "auto:m1", "origin": "rule"}])
    queue = order()
    assert queue[:4] == [("learned:m1", "trust", 0.52), ("auto:m1", "reflexivity", 0.40),
                         ("learned:m1", "agency", 0.30), ("learned:m1", "hope", 0.97)]
    assert queue[4:] == by_confidence[:6]  # then the others, least confident first
    assert order(uncertain_first=False)[0][2] == 0.30


def test_review_agreement_with_an_imported_human_coder(store, tmp_path):
    from reltext.review.gold import import_codings

    table = tmp_path / "ann.csv"
    table.write_text("transcript_id,turn_id,codes\nint01,1,trust\nint01,3,\nint01,4,isolation\n",
                     encoding="utf-8")
    import_codings(store, table, coder="human:ann")
    rater = {r.label: r for r in review.raters(store)}
    assert rater["human:ann"].kind == "human"
    pair = review.compare(store, rater[AUTO_CODER], rater["human:ann"])
    assert len(pair.units) == 3  # the turns ann coded, all of which the auto-coder coded
    rows = {row["code"]: row for row in pair.per_code(["trust", "hope", "isolation"])}
    assert (rows["trust"]["both"], rows["hope"]["first_only"], rows["isolation"]["both"]) == \
        (1, 1, 1)
    assert math.isclose(rows["hope"]["kappa"], cohen_kappa_score([0, 1, 0], [0, 0, 0]))


def test_review_agreement_leaves_out_the_auto_codes_a_reviewer_has_yet_to_decide(store):
    with store.write() as conn:  # a second auto-code on the turn coded trust
        turn_pk, _ = store.turn_keys(conn)[("int01", "1")]
        store.add_codings(conn, [{"turn_pk": turn_pk, "code": "agency", "start_char": 0,
                                  "end_char": 8, "confidence": 0.6, "coder": AUTO_CODER,
                                  "origin": "rule"}])
    review.decide(store, "alice", _item(store, "trust")["coding_id"], "accept")
    review.decide(store, "alice", _item(store, "isolation")["coding_id"], "reject")
    rater = {r.label: r for r in review.raters(store)}
    pair = review.compare(store, rater[AUTO_CODER], rater["alice (review)"])
    assert len(pair.units) == 2
    rows = {row["code"]: row for row in pair.per_code(["trust", "agency", "isolation"])}
    # alice has not said whether agency holds on int01/1: that turn is not counted for it.
    assert (rows["agency"]["turns"], rows["agency"]["first_only"]) == (1, 0)
    assert (rows["trust"]["turns"], rows["trust"]["both"]) == (2, 1)
    assert (rows["isolation"]["turns"], rows["isolation"]["first_only"]) == (2, 1)
    assert pair.disagreements("agency") == []
    review.decide(store, "alice", _item(store, "agency")["coding_id"], "reject")
    pair = review.compare(store, rater[AUTO_CODER], rater["alice (review)"])
    agency = pair.per_code(["agency"])[0]
    assert (agency["turns"], agency["first_only"]) == (2, 1)
    assert pair.disagreements("agency") == [turn_pk]


def test_review_decisions_reach_the_analyses_undo_included(store):
    from reltext.review.effective import effective_codings

    def codes() -> list[str]:
        return sorted(effective_codings(store, AUTO_CODER)["code"])

    stigma = _item(store, "stigma")
    review.decide(store, "alice", stigma["coding_id"], "reject")
    review.decide(store, "alice", stigma["coding_id"], "memo", note="checked twice")
    assert "stigma" not in codes()
    review.undo_last(store, "alice")  # the memo
    review.undo_last(store, "alice")  # the rejection
    assert "stigma" in codes()
    review.decide(store, "alice", _item(store, "hope")["coding_id"], "correct", code="agency")
    assert "agency" in codes() and "hope" not in codes()


def test_review_an_undone_accept_is_pending_everywhere(store):
    """One rule for a coding's state: review, training, exports, analyses and the report."""
    from reltext import Project
    from reltext.review.effective import codings_with_review, effective_codings
    from reltext.learning.training import collect_training_data

    trust, hope = _item(store, "trust"), _item(store, "hope")
    kept = review.decide(store, "alice", trust["coding_id"], Verdict.ACCEPT)
    review.decide(store, "alice", hope["coding_id"], Verdict.ACCEPT)
    review.undo_last(store, "alice")

    queue = review.review_queue(store, "alice", limit=50)
    assert hope["coding_id"] in {item["coding_id"] for item in queue}
    assert review.queue_size(store, "alice") == len(queue) == 4
    with store.read() as conn:
        assert [row["coding_pk"] for row in store.training_decisions(conn)] == \
            [trust["coding_pk"]]
    assert collect_training_data(store, codes=["trust", "hope"]).decision_ids == \
        [kept.decision_id]
    exported = codings_with_review(store).set_index("coding_id")["status"]
    assert (exported[hope["coding_id"]], exported[trust["coding_id"]]) == ("pending", "accepted")
    effective = effective_codings(store, AUTO_CODER).set_index("coding_id")["status"]
    assert (effective[hope["coding_id"]], effective[trust["coding_id"]]) == \
        ("unreviewed", "accepted")
    assert sum(row["reviewed"] for row in review.corpus_overview(store, reviewer=None)) == 1
    with Project(store.path) as project:
        counts = project.reviewers().set_index("reviewer")
    assert counts.loc["alice", "accepted"] == 1 and counts.loc["alice", "decisions"] == 3


def test_review_own_codes_are_edited_removed_and_undone_as_decisions(store):
    """Manual coding: a reviewer's own codes, every act appended and undoable, seen by the
    agreement, the training data and the export."""
    from reltext.review.effective import codings_with_review

    start = "How have things been with the support team lately?".index("the support team")
    added = review.add_code(store, "alice", "int01", "0", "trust", start_char=start,
                            end_char=start + 16, note="asks about the team")
    coding_id = added.coding_id
    review.decide(store, "alice", coding_id, Verdict.CORRECT, code="hope")
    with pytest.raises(ReltextError, match="is human:alice's, not bob's"):
        review.decide(store, "bob", coding_id, Verdict.REMOVE)
    with pytest.raises(ReltextError, match="Remove only codes you added"):
        review.decide(store, "alice", _item(store, "trust")["coding_id"], Verdict.REMOVE)
    review.decide(store, "alice", coding_id, Verdict.REMOVE)

    def state() -> tuple:
        with store.read() as conn:
            trained = {row["coding_pk"]: row["verdict"] for row in store.training_decisions(conn)}
        exported = codings_with_review(store)
        mine = exported[exported["coder"] == "human:alice"]
        return (review.reviewer_view(store, "alice"), trained.get(added.coding_pk),
                mine[["code", "status", "reviewer", "final_code"]].values.tolist())

    view, trained, exported = state()
    assert view == {} and trained is None and exported == []  # removed: withdrawn everywhere
    review.undo_last(store, "alice")  # brings the corrected code back
    view, trained, exported = state()
    assert list(view.values()) == [{"hope"}] and trained == "correct"
    assert exported == [["trust", "corrected", "alice", "hope"]]
    review.undo_last(store, "alice")
    review.undo_last(store, "alice")  # the code was never added
    view, trained, exported = state()
    assert view == {} and trained is None and exported == []
    assert [d["verdict"] for d in _decisions(store)] == ["accept", "correct", "remove", "undo",
                                                          "undo", "undo"]


def test_review_codings_export_carries_status_reviewer_and_final_code(store, run_cli, tmp_path):
    import pandas as pd

    review.decide(store, "alice", _item(store, "trust")["coding_id"], Verdict.ACCEPT)
    review.decide(store, "alice", _item(store, "stigma")["coding_id"], Verdict.REJECT)
    review.decide(store, "bob", _item(store, "hope")["coding_id"], Verdict.CORRECT,
                  code="agency")
    out = tmp_path / "codings.csv"
    assert run_cli("export", "codings", "--out", str(out), db=store.path).exit_code == 0
    frame = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert list(frame.columns)[-3:] == ["status", "reviewer", "final_code"]
    assert list(frame.columns)[:12] == ["transcript_id", "turn_id", "speaker", "code",
                                        "start_char", "end_char", "text", "confidence", "coder",
                                        "origin", "evidence", "created_at"]
    rows = {row.code: (row.status, row.reviewer, row.final_code)
            for row in frame.itertuples()}
    assert rows == {"trust": ("accepted", "alice", "trust"),
                    "stigma": ("rejected", "alice", ""),
                    "hope": ("corrected", "bob", "agency"),
                    "isolation": ("pending", "", "isolation"),
                    "disempowerment": ("pending", "", "disempowerment")}
