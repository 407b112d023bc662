"""Tables out of the project as pandas DataFrames, and written to CSV, Parquet or JSON lines."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import ReltextError
from ..files import atomic_path
from ..store.database import Store
from ..store.sql import from_json
from .spreadsheet import csv_bytes

CODING_COLUMNS = ["transcript_id", "turn_id", "speaker", "code", "start_char", "end_char", "text",
                  "confidence", "coder", "origin", "evidence", "created_at"]
TURN_COLUMNS = ["transcript_id", "turn_id", "speaker", "role", "start_char", "end_char", "text"]
TABLE_FORMATS = ("csv", "parquet", "jsonl")
# Transcript attributes too long or too internal for a column of the turns table.
_HIDDEN_META = {"preamble"}


def turns_frame(store: Store, *, transcript_ids: list[str] | None = None,
                turn_pk: bool = False) -> pd.DataFrame:
    """All turns of the current transcripts, one row each, with their metadata columns.

    Columns: the contract's ``transcript_id, turn_id, speaker, role, start_char, end_char,
    text``, then ``timestamp``/``end_timestamp`` and the turn's and transcript's metadata;
    with ``turn_pk``, last, the turn's key in the project database.
    """
    with store.read() as conn:
        rows = store.turn_table(conn, transcript_ids=transcript_ids)
        transcript_meta = store.transcript_meta(conn)
    columns = TURN_COLUMNS + ["timestamp", "end_timestamp"]
    if not rows:
        return pd.DataFrame(columns=columns + (["turn_pk"] if turn_pk else []))
    # Built column by column: a dict per turn costs a second on 50,000 turns. Metadata is
    # parsed once per distinct JSON text, since most turns share theirs ("{}").
    turn_pks, transcript_pks, *values, turn_json = zip(*rows)
    data = dict(zip(columns, values))
    parsed = {raw: from_json(raw) for raw in dict.fromkeys(turn_json)}
    turn_keys = dict.fromkeys(key for meta in parsed.values() for key in meta)
    transcript_keys = dict.fromkeys(
        key for pk in dict.fromkeys(transcript_pks) for key in transcript_meta[pk]
        if key not in _HIDDEN_META)
    for key in turn_keys:
        value = {raw: _meta_value(meta, key) for raw, meta in parsed.items()}
        data[f"turn:{key}"] = [value[raw] for raw in turn_json]
    for key in transcript_keys:
        value = {pk: _meta_value(meta, key) for pk, meta in transcript_meta.items()}
        data[f"transcript:{key}"] = [value[pk] for pk in transcript_pks]
    rename = {}
    for prefix, keys in (("turn:", turn_keys), ("transcript:", transcript_keys)):
        for key in keys:
            # A metadata key that clashes with a column keeps its prefix.
            rename[prefix + key] = key if key not in columns and key not in rename.values() \
                else prefix.rstrip(":") + "_" + key
    frame = pd.DataFrame(data, columns=columns + list(rename)).rename(columns=rename)
    if turn_pk:
        frame["turn_pk"] = pd.Series(turn_pks, dtype=int)
    return frame


def _meta_value(meta: dict, key: str) -> object:
    # As a table built from one dict per turn has it: NaN where the turn lacks the key.
    return _text(meta[key]) if key in meta else np.nan


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


def write_table(frame: pd.DataFrame, out: str | Path, format: str, *,
                keep_formulas: bool = False) -> Path:
    """Write ``frame`` to ``out`` atomically: a killed write never leaves half a file.

    In CSV, text cells a spreadsheet would run as a formula get a leading ``'`` (see
    :mod:`reltext.exchange.spreadsheet`) unless ``keep_formulas``; Parquet and JSON lines keep
    every cell as it is.

    Raises:
        ReltextError: unknown format, or the folder cannot be written.
    """
    if format not in TABLE_FORMATS:
        raise ReltextError(f"unknown table format {format!r}",
                           fix=f"Use one of: {', '.join(TABLE_FORMATS)}.")
    with atomic_path(out) as temporary:
        if format == "csv":
            temporary.write_bytes(csv_bytes(frame, keep_formulas=keep_formulas))
        elif format == "parquet":
            frame.to_parquet(temporary, index=False)
        else:
            frame.to_json(temporary, orient="records", lines=True, force_ascii=False)
    return Path(out)


def count_codings(store: Store) -> tuple[int, int]:
    """``(codings, coders)`` on current turns."""
    with store.read() as conn:
        return store.count_codings(conn)
