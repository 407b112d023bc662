"""What every query module shares: JSON columns, timestamps, rows as dicts and bound lists."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, text

from ..model import utc_now

# SQLite before 3.32 binds at most 999 values in one statement: stay well below.
BATCH_SIZE = 500


def to_json(value: Mapping[str, Any] | None) -> str:
    """Serialise metadata the same way everywhere (stable key order, real Unicode)."""
    return json.dumps(dict(value or {}), ensure_ascii=False, sort_keys=True, default=str)


def from_json(value: str | None) -> dict[str, Any]:
    return json.loads(value) if value else {}


def now_iso() -> str:
    return utc_now().isoformat()


def dicts(conn: Connection, sql: str, params: Mapping[str, Any] | None = None
          ) -> list[dict[str, Any]]:
    """The rows of a query, each as a dict."""
    return [dict(row) for row in conn.execute(text(sql), params or {}).mappings()]


def with_metadata(row: Mapping[str, Any]) -> dict[str, Any]:
    """A row of a turn as a dict, its ``turn_meta`` and ``transcript_meta`` read from JSON."""
    return {**row, "turn_meta": from_json(row["turn_meta"]),
            "transcript_meta": from_json(row["transcript_meta"])}


def in_list(values: Sequence[Any], prefix: str = "p") -> tuple[str, dict[str, Any]]:
    """``(":p0, :p1", {"p0": ..., "p1": ...})``: the bound parameters of an ``IN (...)``."""
    names = [f"{prefix}{index}" for index in range(len(values))]
    return ", ".join(f":{name}" for name in names), dict(zip(names, values))


def in_batches(values: Iterable[Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """:func:`in_list` of ``values``, :data:`BATCH_SIZE` at a time."""
    for batch in chunked(values, BATCH_SIZE):
        yield in_list(batch)


def chunked(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    """Split ``items`` into lists of at most ``size``."""
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
