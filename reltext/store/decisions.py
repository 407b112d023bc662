"""Review: the ``decisions`` table (appended, never updated; its notes ride on it), the
``answers`` to the learned coder's questions, the review log that orders both (the
``review_entries`` sequence and ``review_log`` view of migration m0007), and the review queue.

A coding's review state is read from the m0006 views (``decision_log``, ``reviewer_states``,
``coding_states``), never worked out again here.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, text

from .sql import dicts, in_batches, now_iso

_ANSWER_COLUMNS = (
    "a.answer_id, a.turn_pk, t.transcript_id, u.turn_id, a.code, a.reviewer, a.applies, "
    "a.model_id, a.probability, a.answered_at, a.undoes"
)
_ANSWER_TURN = "JOIN turns u ON u.pk = a.turn_pk JOIN transcripts t ON t.pk = u.transcript_pk"


class DecisionQueries:
    """Queries on decisions, answers, review states and the review queue."""

    def add_decision(self, conn: Connection, decision: Mapping[str, Any]) -> bool:
        """Append a decision; False when one with its ``decision_id`` is there already.

        The id is made when the reviewer's form is drawn, so a form sent twice (a double
        click, a retried request) records one decision.
        """
        inserted = conn.execute(
            text(
                "INSERT INTO decisions (decision_id, coding_pk, reviewer, verdict, code, "
                "start_char, end_char, note, previous, decided_at, status, undoes) VALUES "
                "(:decision_id, :coding_pk, :reviewer, :verdict, :code, :start_char, :end_char, "
                ":note, :previous, :decided_at, :status, :undoes) "
                "ON CONFLICT (decision_id) DO NOTHING"
            ),
            {"note": None, "undoes": None, "decided_at": now_iso(), **decision,
             "previous": json.dumps(decision.get("previous"), sort_keys=True)},
        ).rowcount
        return inserted == 1

    def decision(self, conn: Connection, decision_id: str) -> dict[str, Any] | None:
        row = conn.execute(
            text(
                f"SELECT {_DECISION_COLUMNS} FROM decisions d JOIN codings c ON c.pk = d.coding_pk "
                "WHERE d.decision_id = :id"
            ),
            {"id": decision_id},
        ).mappings().one_or_none()
        return _decision(row) if row else None

    def all_decisions(self, conn: Connection, *, reviewer: str | None = None) -> list[dict]:
        """Every decision (one reviewer's, if given) with its coding and turn ids, in order."""
        only = "WHERE d.reviewer = :reviewer" if reviewer is not None else ""
        rows = conn.execute(
            text(
                f"SELECT {_DECISION_COLUMNS}, t.transcript_id, u.turn_id, c.coder "
                "FROM decisions d JOIN codings c ON c.pk = d.coding_pk "
                "JOIN turns u ON u.pk = c.turn_pk JOIN transcripts t ON t.pk = u.transcript_pk "
                f"{only} ORDER BY d.pk"
            ),
            {"reviewer": reviewer} if reviewer is not None else {},
        ).mappings()
        return [_decision(row) for row in rows]

    def latest_decision(
        self, conn: Connection, coding_pk: int, reviewer: str
    ) -> dict[str, Any] | None:
        """The reviewer's standing decision on a coding, or None."""
        row = conn.execute(
            text(
                f"SELECT {_STATE_COLUMNS} FROM reviewer_states d "
                "JOIN codings c ON c.pk = d.coding_pk "
                "WHERE d.coding_pk = :pk AND d.reviewer = :reviewer"
            ),
            {"pk": coding_pk, "reviewer": reviewer},
        ).mappings().one_or_none()
        return _decision(row) if row else None

    def latest_states(
        self, conn: Connection, coding_pks: Sequence[int], *, reviewer: str | None = None
    ) -> list[dict[str, Any]]:
        """Each reviewer's standing decision on these codings (one reviewer's, if given)."""
        rows = _per_coding_batch(
            conn, coding_pks, reviewer, "d.",
            f"SELECT {_STATE_COLUMNS} FROM reviewer_states d "
            "JOIN codings c ON c.pk = d.coding_pk WHERE d.coding_pk IN ({names}) {only}")
        return [_decision(row) for row in rows]

    def reviewer_states(self, conn: Connection, reviewer: str) -> list[dict[str, Any]]:
        """The reviewer's standing decision on every coding they decided, with its turn and
        coder."""
        rows = conn.execute(
            text(
                f"SELECT {_STATE_COLUMNS}, c.turn_pk, c.coder AS coding_coder, c.origin, "
                "c.code AS coding_code FROM reviewer_states d CROSS JOIN codings c "
                "ON c.pk = d.coding_pk CROSS JOIN turns u ON u.pk = c.turn_pk "
                "CROSS JOIN transcripts t ON t.pk = u.transcript_pk "
                "WHERE d.reviewer = :reviewer AND t.is_current = 1"
            ),
            {"reviewer": reviewer},
        ).mappings()
        return [{**_decision(row), "turn_pk": row["turn_pk"], "coding_coder": row["coding_coder"],
                 "origin": row["origin"], "coding_code": row["coding_code"]} for row in rows]

    def latest_decisions(self, conn: Connection) -> dict[int, dict[str, Any]]:
        """``coding_pk -> its standing decision`` (the ``coding_states`` view).

        A memo or an undo is reported by the verdict of the state it leaves (``undo`` when
        an undo leaves the coding pending or absent); a memo on an undecided coding is none.
        """
        rows = conn.execute(
            text("SELECT d.coding_pk, d.decision_id, d.reviewer, CASE WHEN d.verdict IN "
                 "('undo', 'memo') THEN CASE d.state WHEN 'accepted' THEN 'accept' "
                 "WHEN 'corrected' THEN 'correct' WHEN 'rejected' THEN 'reject' ELSE 'undo' END "
                 "ELSE d.verdict END AS verdict, d.code, d.start_char, d.end_char, d.note, "
                 "d.decided_at FROM coding_states d "
                 "WHERE NOT (d.verdict = 'memo' AND d.state IN ('pending', 'absent'))")
        )
        return {row["coding_pk"]: dict(row) for row in rows.mappings()}

    def review_states(self, conn: Connection) -> list[dict[str, Any]]:
        """Each reviewed coding's standing decision (the ``coding_states`` view).

        ``status`` is the state the decision leaves the coding in (``accepted``,
        ``rejected``, ``corrected``, ``pending``, ``absent``).
        """
        return dicts(
            conn,
            "SELECT c.coding_id, d.reviewer, d.verdict, d.state AS status, d.code, "
            "d.start_char, d.end_char, d.decided_at "
            "FROM coding_states d JOIN codings c ON c.pk = d.coding_pk",
        )

    def training_decisions(self, conn: Connection) -> list[dict[str, Any]]:
        """Each judged coding on a current turn with its standing verdict, in decision order.

        The ``coding_states`` view holds, as its state says: ``accept``, ``reject`` or
        ``correct`` (an undo counts as the verdict it restores); a coding it leaves pending
        or absent (an undone accept, an undone or removed added code) is not judged.

        Rows hold ``decision_id, verdict, decided_code`` (the code the reviewer settled on),
        ``turn_pk, code`` (the coding's own code), ``coder``, ``origin`` and ``evidence``.
        """
        return dicts(
            conn,
            "SELECT d.decision_id, CASE d.state WHEN 'accepted' THEN 'accept' "
            "WHEN 'rejected' THEN 'reject' WHEN 'corrected' THEN 'correct' END AS verdict, "
            "d.code AS decided_code, d.reviewer, "
            "c.pk AS coding_pk, c.turn_pk, c.code, c.coder, c.origin, c.evidence "
            "FROM coding_states d JOIN codings c ON c.pk = d.coding_pk "
            "JOIN turns u ON u.pk = c.turn_pk JOIN transcripts t ON t.pk = u.transcript_pk "
            "WHERE t.is_current = 1 AND d.state IN ('accepted', 'rejected', 'corrected') "
            "ORDER BY d.pk",
        )

    def decisions_after(self, conn: Connection, pk: int) -> tuple[int, list[tuple]]:
        """For readers that keep up with the decisions: how many decisions there are up to
        key ``pk``, and every later one in order as ``(pk, coding_pk, status, code)``.

        ``status`` is the state the decision leaves its coding in (``decision_log``), None
        for one that leaves no state; the last one with a state holds, as in ``coding_states``.
        """
        before = conn.execute(
            text("SELECT COUNT(*) FROM decisions WHERE pk <= :pk"), {"pk": pk}).scalar_one()
        rows = conn.execute(
            text("SELECT d.pk, d.coding_pk, d.state, d.code FROM decision_log d "
                 "WHERE d.pk > :pk ORDER BY d.pk"),
            {"pk": pk},
        ).all()
        return before, [tuple(row) for row in rows]

    def decision_counts(self, conn: Connection) -> list[dict[str, Any]]:
        """Every reviewer with the number of decisions they made."""
        return dicts(conn, "SELECT reviewer, COUNT(*) AS decisions FROM decisions "
                           "GROUP BY reviewer ORDER BY reviewer")

    def reviewers(self, conn: Connection) -> list[str]:
        return list(
            conn.execute(text("SELECT DISTINCT reviewer FROM decisions ORDER BY reviewer")).scalars()
        )

    def notes(
        self, conn: Connection, coding_pks: Sequence[int], *, reviewer: str | None = None
    ) -> list[dict[str, Any]]:
        """The notes on these codings (one reviewer's, if given), oldest first."""
        rows = _per_coding_batch(
            conn, coding_pks, reviewer, "",
            "SELECT coding_pk, reviewer, note, decided_at FROM decisions "
            "WHERE coding_pk IN ({names}) {only} AND note IS NOT NULL ORDER BY pk")
        return [dict(row) for row in rows]

    def coding_version(self, conn: Connection) -> tuple[int, int]:
        """The newest coding and decision keys: they change whenever either table does."""
        row = conn.execute(text(
            "SELECT (SELECT COALESCE(MAX(pk), 0) FROM codings), "
            "(SELECT COALESCE(MAX(pk), 0) FROM decisions)")).one()
        return row[0], row[1]

    def review_queue(
        self, conn: Connection, reviewer: str, *, limit: int, offset: int = 0,
        code: str | None = None, transcript_id: str | None = None,
        uncertain_first: bool = False,
    ) -> list[dict[str, Any]]:
        """Auto-codings still pending for ``reviewer``, least confident first (unknown first).

        With ``uncertain_first`` the learned coder's codings (``learned:`` and ``auto:``,
        whose confidence is a calibrated probability) come first, nearest 0.5 first, then
        the others as before.

        Over the whole corpus the codings are walked in confidence order (CROSS JOIN keeps
        SQLite on the confidence index), so the next item costs a few index probes; one
        transcript's codings, or the uncertainty order, are sorted.
        """
        where, params = _queue_filters(reviewer, code=code, transcript_id=transcript_id)
        walk = transcript_id is None and not uncertain_first
        join = "CROSS JOIN" if walk else "JOIN"
        order = "c.confidence, c.pk"
        if uncertain_first:
            learned = (f"(({_LEARNED_CODER}) AND c.confidence IS NOT NULL)")
            order = (f"CASE WHEN {learned} THEN 0 ELSE 1 END, CASE WHEN {learned} "
                     "THEN abs(2 * c.confidence - 1) ELSE c.confidence END, c.pk")
        return dicts(
            conn,
            f"SELECT {_REVIEW_COLUMNS} FROM codings c {join} turns u ON u.pk = c.turn_pk "
            f"{join} transcripts t ON t.pk = u.transcript_pk "
            f"WHERE {where} ORDER BY {order} LIMIT :limit OFFSET :offset",
            {**params, "limit": limit, "offset": offset},
        )

    def count_review_queue(
        self, conn: Connection, reviewer: str, *, code: str | None = None,
        transcript_id: str | None = None,
    ) -> int:
        """How many auto-codings are pending for ``reviewer``: all of them less those decided."""
        where, params = _auto_coding_filters(code=code, transcript_id=transcript_id)
        params["reviewer"] = reviewer
        joins = ("FROM codings c JOIN turns u ON u.pk = c.turn_pk "
                 "JOIN transcripts t ON t.pk = u.transcript_pk")
        if transcript_id is not None:
            total = conn.execute(
                text(f"SELECT COUNT(*) {joins} WHERE {' AND '.join(where)}"), params
            ).scalar_one()
        else:
            # Every auto-coding, less the few on retired versions: no join per coding.
            plain = " AND ".join(clause for clause in where if "t." not in clause)
            total = conn.execute(
                text(f"SELECT COUNT(*) FROM codings c WHERE {plain}"), params
            ).scalar_one() - conn.execute(
                text("SELECT COUNT(*) FROM transcripts t JOIN turns u ON u.transcript_pk = t.pk "
                     f"JOIN codings c ON c.turn_pk = u.pk WHERE t.is_current = 0 AND {plain}"),
                params,
            ).scalar_one()
        decided = conn.execute(
            text(
                f"SELECT COUNT(*) {joins} JOIN reviewer_states d ON d.coding_pk = c.pk "
                f"WHERE {' AND '.join(where)} AND d.reviewer = :reviewer "
                "AND d.state != 'pending'"
            ),
            params,
        ).scalar_one()
        return total - decided

    def codings_for_review(self, conn: Connection, coding_ids: Sequence[str]) -> list[dict[str, Any]]:
        """Codings by id with their turn (text included), in the order of ``coding_ids``."""
        found: dict[str, dict[str, Any]] = {}
        for names, params in in_batches(coding_ids):
            rows = conn.execute(
                text(
                    f"SELECT {_REVIEW_COLUMNS} FROM codings c JOIN turns u ON u.pk = c.turn_pk "
                    f"JOIN transcripts t ON t.pk = u.transcript_pk WHERE c.coding_id IN ({names})"
                ),
                params,
            )
            found.update((row["coding_id"], dict(row)) for row in rows.mappings())
        return [found[coding_id] for coding_id in coding_ids if coding_id in found]

    def review_entry_kind(self, conn: Connection, entry_id: str) -> str | None:
        """``decision`` or ``answer`` when an entry with this id is recorded, else None."""
        return conn.execute(
            text("SELECT 'decision' FROM decisions WHERE decision_id = :id "
                 "UNION ALL SELECT 'answer' FROM answers WHERE answer_id = :id"),
            {"id": entry_id},
        ).scalar()

    def last_standing_entry(self, conn: Connection, reviewer: str) -> tuple[str, str] | None:
        """``(kind, id)`` of the reviewer's latest entry that is not an undo and has not been
        undone: a decision, or an answer on a current turn (as the answer queue shows).

        Each table's newest such row comes from its reviewer index (the sequence follows
        each table's keys); the later of the two in the sequence is the one.
        """
        row = conn.execute(
            text(
                "SELECT l.kind, l.entry_id FROM ("
                "SELECT * FROM (SELECT 'decision' AS kind, d.decision_id AS entry_id, d.pk "
                "FROM decisions d WHERE d.reviewer = :reviewer AND d.verdict != 'undo' "
                "AND NOT EXISTS (SELECT 1 FROM decisions w WHERE w.undoes = d.decision_id) "
                "ORDER BY d.pk DESC LIMIT 1) "
                "UNION ALL SELECT * FROM (SELECT 'answer', a.answer_id, a.pk FROM answers a "
                f"{_ANSWER_TURN} WHERE a.reviewer = :reviewer AND a.undoes IS NULL "
                "AND t.is_current = 1 "
                "AND NOT EXISTS (SELECT 1 FROM answers w WHERE w.undoes = a.answer_id) "
                "ORDER BY a.pk DESC LIMIT 1)) l "
                "JOIN review_entries e ON e.kind = l.kind AND e.entry_pk = l.pk "
                "ORDER BY e.seq DESC LIMIT 1"
            ),
            {"reviewer": reviewer},
        ).one_or_none()
        return (row[0], row[1]) if row else None

    def answer_entry(self, conn: Connection, answer_id: str) -> dict[str, Any] | None:
        """One answer row with its turn's ids, or None."""
        row = conn.execute(
            text(f"SELECT {_ANSWER_COLUMNS} FROM answers a {_ANSWER_TURN} "
                 "WHERE a.answer_id = :id"),
            {"id": answer_id},
        ).mappings().one_or_none()
        return dict(row) if row else None

    def answer_before(self, conn: Connection, answer_id: str) -> dict[str, Any] | None:
        """The reviewer's answer row on the same turn and code just before this one, or None:
        what that answer changed, and so what undoing it restores."""
        row = conn.execute(
            text(
                f"SELECT {_ANSWER_COLUMNS} FROM answers b "
                "JOIN answers a ON a.turn_pk = b.turn_pk AND a.code = b.code "
                f"AND a.reviewer = b.reviewer AND a.pk < b.pk {_ANSWER_TURN} "
                "WHERE b.answer_id = :id ORDER BY a.pk DESC LIMIT 1"
            ),
            {"id": answer_id},
        ).mappings().one_or_none()
        return dict(row) if row else None

    def record_answer(self, conn: Connection, answer: Mapping[str, Any]) -> bool:
        """Append an answer (``answer_id, turn_pk, code, reviewer, applies``, optionally
        ``model_id, probability, undoes``); False when its ``answer_id`` is there already."""
        return conn.execute(
            text(
                "INSERT INTO answers (answer_id, turn_pk, code, reviewer, applies, model_id, "
                "probability, answered_at, undoes) VALUES (:answer_id, :turn_pk, :code, "
                ":reviewer, :applies, :model_id, :probability, :answered_at, :undoes) "
                "ON CONFLICT (answer_id) DO NOTHING"
            ),
            {"model_id": None, "probability": None, "undoes": None,
             "answered_at": now_iso(), **answer},
        ).rowcount == 1

    def answers(self, conn: Connection, *, reviewer: str | None = None) -> list[dict[str, Any]]:
        """Standing answers on current turns: each reviewer's latest per turn and code, less
        withdrawn ones, in the order they were given."""
        only = "AND a.reviewer = :reviewer" if reviewer is not None else ""
        return dicts(
            conn,
            "SELECT a.answer_id, a.turn_pk, a.code, a.reviewer, a.applies, a.model_id, "
            "a.probability, a.answered_at, t.transcript_id, u.turn_id FROM answers a "
            "JOIN turns u ON u.pk = a.turn_pk JOIN transcripts t ON t.pk = u.transcript_pk "
            f"WHERE t.is_current = 1 AND a.applies IS NOT NULL {only} AND a.pk = "
            "(SELECT MAX(b.pk) FROM answers b WHERE b.turn_pk = a.turn_pk "
            "AND b.code = a.code AND b.reviewer = a.reviewer) ORDER BY a.pk",
            {"reviewer": reviewer} if reviewer is not None else {},
        )

    def answer_history(self, conn: Connection, *, reviewer: str | None = None
                       ) -> list[dict[str, Any]]:
        """Every answer row (withdrawals too: ``applies`` NULL), oldest first, with its turn."""
        only = "WHERE a.reviewer = :reviewer" if reviewer is not None else ""
        return dicts(
            conn,
            "SELECT a.answer_id, t.transcript_id, u.turn_id, a.code, a.reviewer, a.applies, "
            "a.model_id, a.probability, a.answered_at FROM answers a "
            "JOIN turns u ON u.pk = a.turn_pk JOIN transcripts t ON t.pk = u.transcript_pk "
            f"{only} ORDER BY a.pk",
            {"reviewer": reviewer} if reviewer is not None else {},
        )


_LEARNED_CODER = "c.coder LIKE 'learned:%' OR c.coder LIKE 'auto:%'"
_REVIEW_COLUMNS = (
    "c.coding_id, c.pk AS coding_pk, u.pk AS turn_pk, t.transcript_id, u.turn_id, u.position, "
    "u.speaker, u.role, u.text AS turn_text, c.code, c.start_char, c.end_char, c.confidence, "
    "c.coder, c.origin, c.evidence"
)
_DECISION_COLUMNS = (
    "d.decision_id, d.coding_pk, c.coding_id, d.reviewer, d.verdict, d.code, d.start_char, "
    "d.end_char, d.note, d.previous, d.decided_at, d.status, d.undoes"
)
# A standing decision (the m0006 views): its status is the state it leaves, recorded or implied.
_STATE_COLUMNS = _DECISION_COLUMNS.replace("d.status", "d.state AS status")


def _auto_coding_filters(
    *, code: str | None, transcript_id: str | None
) -> tuple[list[str], dict[str, Any]]:
    """WHERE clauses for the auto-codings on current turns (of ``code``, in ``transcript_id``)."""
    where, params = ["c.origin != 'human'", "t.is_current = 1"], {}
    if code is not None:
        where.append("c.code = :code")
        params["code"] = code
    if transcript_id is not None:
        where.append("t.transcript_id = :tid")
        params["tid"] = transcript_id
    return where, params


def _queue_filters(
    reviewer: str, *, code: str | None, transcript_id: str | None
) -> tuple[str, dict[str, Any]]:
    """WHERE clause of the review queue: current auto-codings the reviewer has not decided."""
    where, params = _auto_coding_filters(code=code, transcript_id=transcript_id)
    where.append("NOT EXISTS (SELECT 1 FROM reviewer_states s WHERE s.coding_pk = c.pk "
                 "AND s.reviewer = :reviewer AND s.state != 'pending')")
    return " AND ".join(where), params | {"reviewer": reviewer}


def _decision(row: Any) -> dict[str, Any]:
    return {**row, "previous": json.loads(row["previous"]) if row["previous"] else None}


def _per_coding_batch(conn: Connection, coding_pks: Sequence[int], reviewer: str | None,
                      alias: str, sql: str) -> Iterator[Any]:
    """Rows of ``sql`` for the codings, a batch of bound keys at a time.


    ``sql`` names ``{names}`` (the bound coding keys) and ``{only}`` (the reviewer filter,
    on ``<alias>reviewer``, or nothing).
    """
    for names, params in in_batches(coding_pks):
        only = ""
        if reviewer is not None:
            only = f"AND {alias}reviewer = :reviewer"
            params["reviewer"] = reviewer
        yield from conn.execute(text(sql.format(names=names, only=only)), params).mappings()
