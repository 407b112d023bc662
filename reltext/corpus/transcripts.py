"""The stored corpus as its readers see it: transcript ids, speakers, a turn and the one
before it."""

from __future__ import annotations

from typing import Any

from ..store.database import Store


def transcript_ids(store: Store) -> list[str]:
    """The ids of the current transcripts, in order."""
    with store.read() as conn:
        return store.transcript_ids(conn)


def speakers(store: Store, transcript_id: str) -> dict[str, int]:
    """``speaker -> turns`` of a current transcript."""
    with store.read() as conn:
        return store.transcript_speakers(conn, transcript_id)


def turn_position(store: Store, transcript_id: str, turn_id: str) -> int | None:
    """Where a turn of a current transcript stands in it (from 0); None if it has no such turn."""
    with store.read() as conn:
        found = store.turn_pk(conn, transcript_id, turn_id)
        row = store.turns_by_pk(conn, [found[0]]).get(found[0]) if found else None
    return None if row is None else row["position"]


def turn(store: Store, turn_pk: int) -> dict[str, Any]:
    """A turn with its transcript id and the text of the turn before (``""`` if first)."""
    with store.read() as conn:
        return store.turns_by_pk(conn, [turn_pk])[turn_pk]


def turn_before(store: Store, transcript_id: str, position: int) -> dict[str, Any] | None:
    """The turn before the one at ``position`` in a current transcript; None for the first."""
    if position <= 0:
        return None
    with store.read() as conn:
        previous = store.turn_page(conn, transcript_id, offset=position - 1, limit=1)
    return previous[0] if previous else None
