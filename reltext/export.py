"""Tables out of the project as pandas DataFrames, and written to CSV, Parquet or JSON lines."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .errors import ReltextError
from .files import atomic_path
from .store import Store

CODING_COLUMNS = ["transcript_id", "turn_id", "speaker", "code", "start_char", "end_char", "text",
                  "confidence", "coder", "origin", "evidence", "created_at"]
TURN_COLUMNS = ["transcript_id", "turn_id", "speaker", "role", "start_char", "end_char", "text"]
TABLE_FORMATS = ("csv", "parquet", "jsonl")
# Transcript attributes too long or too internal for a column of the turns table.
_HIDDEN_META = {"preamble"}


def turns_frame(store: Store, *, transcript_ids: list[str] | None = None) -> pd.DataFrame:
    """All turns of the current transcripts, one row each, with their metadata columns.

    Columns: the contract's ``transcript_id, turn_id, speaker, role, start_char, end_char,
    text``, then ``timestamp``/``end_timestamp`` and the turn's and transcript's metadata.
    """
    rows = []
    turn_keys: dict[str, None] = {}
    transcript_keys: dict[str, None] = {}
    with store.read() as conn:
        for turn in store.iter_turns(conn, transcript_ids=transcript_ids):
            row = {column: turn[column] for column in TURN_COLUMNS}
            row["timestamp"] = turn["timestamp"]
            row["end_timestamp"] = turn["end_timestamp"]
            for key, value in turn["turn_meta"].items():
                turn_keys.setdefault(key)
                row[f"turn:{key}"] = _text(value)
            for key, value in turn["transcript_meta"].items():
                if key not in _HIDDEN_META:
                    transcript_keys.setdefault(key)
                    row[f"transcript:{key}"] = _text(value)
            rows.append(row)
    columns = TURN_COLUMNS + ["timestamp", "end_timestamp"]
    rename = {}
    for prefix, keys in (("turn:", turn_keys), ("transcript:", transcript_keys)):
        for key in keys:
            # A metadata key that clashes with a column keeps its prefix.
            rename[prefix + key] = key if key not in columns and key not in rename.values() \
                else prefix.rstrip(":") + "_" + key
    frame = pd.DataFrame(rows, columns=columns + list(rename))
    return frame.rename(columns=rename)


def _text(value: object) -> str | None:
    """Metadata as text, so a column holds one type whatever the manifest said."""
    return None if value is None else str(value)


def codings_frame(
    store: Store, *, coder: str | None = None, transcript_ids: list[str] | None = None
) -> pd.DataFrame:
    """All codings on current turns, one row each, with the contract's columns.

    ``start_char``/``end_char`` are half-open offsets into the turn's text, and ``text``
    is the coded span. Also has ``role``, ``coding_id`` and ``turn_pk`` after them.
    """
    with store.read() as conn:
        rows = list(store.iter_codings(conn, coder=coder, transcript_ids=transcript_ids))
    extra = ["role", "coding_id", "turn_pk"]
    return pd.DataFrame(rows, columns=CODING_COLUMNS + extra)


def transcripts_frame(store: Store) -> pd.DataFrame:
    """The current transcripts with their turn counts, speakers, roles and attributes."""
    with store.read() as conn:
        listing = store.list_transcripts(conn)
    rows = []
    for item in listing:
        row = {key: item[key] for key in ("transcript_id", "version", "format", "turns", "words")}
        row["speakers"] = "; ".join(
            f"{speaker} ({role})" if role else speaker for speaker, role in item["speakers"].items()
        )
        row.update({k: v for k, v in item["meta"].items() if k not in _HIDDEN_META})
        row["source"] = item["source"]
        rows.append(row)
    return pd.DataFrame(rows)


def write_table(frame: pd.DataFrame, out: str | Path, format: str) -> Path:
    """Write ``frame`` to ``out`` atomically: a killed write never leaves half a file.

    Raises:
        ReltextError: unknown format, or the folder cannot be written.
    """
    if format not in TABLE_FORMATS:
        raise ReltextError(f"unknown table format {format!r}",
                           fix=f"Use one of: {', '.join(TABLE_FORMATS)}.")
    with atomic_path(out) as temporary:
        if format == "csv":
            frame.to_csv(temporary, index=False)
        elif format == "parquet":
            frame.to_parquet(temporary, index=False)
        else:
            frame.to_json(temporary, orient="records", lines=True, force_ascii=False)
    return Path(out)
