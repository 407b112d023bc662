"""Queries of the one review log: decisions on codings and answers to the learned coder's
questions, in the order they were made (the ``review_log`` view of migration m0007)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, text

from ..model import utc_now

_ANSWER_COLUMNS = (
    "a.answer_id, a.turn_pk, t.transcript_id, u.turn_id, a.code, a.reviewer, a.applies, "
    "a.model_id, a.probability, a.answered_at, a.undoes"
)
_ANSWER_TURN = "JOIN turns u ON u.pk = a.turn_pk JOIN transcripts t ON t.pk = u.transcript_pk"


class ReviewLogQueries:
    """The review log's queries, part of :class:`~reltext.store.database.Store`."""

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
             "answered_at": utc_now().isoformat(), **answer},
        ).rowcount == 1
