"""Manual coding in the transcript reader: what the palette sends becomes decisions."""

from __future__ import annotations

import pytest
from viewer_support import build_project

from reltext.review import decisions as review
from reltext.errors import ReltextError
from reltext.store.database import Store
from reltext.viewer.manual import apply

CODES = ["trust", "hope", "isolation", "stigma", "disempowerment", "agency"]


@pytest.fixture
def store(tmp_path):
    opened = Store.open(build_project(tmp_path))
    yield opened
    opened.close()


def _mine(store: Store) -> list[tuple]:
    page = review.transcript_page(store, "int01", reviewer="alice")
    return [(turn["turn_id"], coding["code"], turn["text"][coding["start_char"]:coding["end_char"]])
            for turn in page for coding in turn["codings"] if coding["coder"] == "human:alice"]


def test_manual_coding_add_edit_memo_remove_and_a_resent_act(store):
    add = {"action": "add", "id": "a1", "turn_id": "2", "start": 0, "end": 15, "code": "hope",
           "note": "the question, marked for the team"}
    assert apply(store, "alice", "int01", add, known=CODES) == "Added hope to int01/2."
    apply(store, "alice", "int01", add, known=CODES)  # resent: recorded once
    assert _mine(store) == [("2", "hope", "What difference")]
    coding_id = review.decisions_frame(store)["coding_id"].iloc[0]
    edit = {"action": "edit", "id": "e1", "coding_id": coding_id, "code": "agency", "note": ""}
    assert apply(store, "alice", "int01", edit, known=CODES) == "Changed your code to agency."
    assert _mine(store) == [("2", "agency", "What difference")]  # shown as alice left it
    memo = {"action": "edit", "id": "e2", "coding_id": coding_id, "code": "agency",
            "note": "agency, on reflection"}
    assert apply(store, "alice", "int01", memo, known=CODES) == "Memo saved."
    with pytest.raises(ReltextError, match="is human:alice's, not bob's"):
        apply(store, "bob", "int01", {"action": "remove", "id": "r0", "coding_id": coding_id},
              known=CODES)
    remove = {"action": "remove", "id": "r1", "coding_id": coding_id}
    assert apply(store, "alice", "int01", remove, known=CODES) == "Removed your code."
    assert _mine(store) == []
    assert review.decisions_frame(store)["verdict"].tolist() == ["accept", "correct", "memo",
                                                                 "remove"]
    with pytest.raises(ReltextError, match="unknown code 'trsut'"):
        apply(store, "alice", "int01", {**add, "id": "a2", "code": "trsut"}, known=CODES)
    with pytest.raises(ReltextError, match="not inside the turn"):
        apply(store, "alice", "int01", {**add, "id": "a3", "end": 999}, known=CODES)
