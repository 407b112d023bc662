"""Turn tables: one row per speaker turn in CSV, TSV or Excel, as in the contract.

Required columns ``transcript_id, turn_id, speaker, text``; optional ``role, timestamp``;
every other column is kept as turn metadata. One file may hold many transcripts.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime, time

from ...errors import TranscriptFormatError
from ...exchange.spreadsheet import restored
from ...model import Transcript
from .archive import check_members
from .compose import RawTurn, compose_transcript

REQUIRED = ("transcript_id", "turn_id", "speaker", "text")
OPTIONAL = ("role", "timestamp")


def parse_delimited(text: str, *, source: str, delimiter: str) -> list[Transcript]:
    """Parse CSV (``delimiter=","``) or TSV (``"\\t"``) text of a turn table."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        rows = list(_numbered(reader))
    except csv.Error as error:
        raise TranscriptFormatError(
            f"not a readable table ({error})", path=source, line=reader.line_num,
            fix="Check the quoting of that row.",
        ) from error
    return _build(rows, source=source, format="tsv" if delimiter == "\t" else "csv")


def parse_xlsx(data: bytes, *, source: str) -> list[Transcript]:
    """Parse the first worksheet of an Excel workbook holding a turn table."""
    import zipfile

    from openpyxl import load_workbook

    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise TranscriptFormatError(
            "not an Excel .xlsx workbook", path=source,
            fix="Save it from Excel or LibreOffice as .xlsx, or export it as CSV.",
        )
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        check_members(archive, source)
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises several unrelated types here
        raise TranscriptFormatError(
            f"not a readable Excel workbook ({error.__class__.__name__})", path=source,
            fix="Save it from Excel or LibreOffice as .xlsx, or export it as CSV.",
        ) from error
    sheet = workbook.worksheets[0]
    rows = [
        (number, [_cell(value) for value in row])
        for number, row in enumerate(sheet.iter_rows(values_only=True), start=1)
    ]
    workbook.close()
    return _build(rows, source=source, format="xlsx")


def _numbered(reader) -> Iterator[tuple[int, list[str]]]:
    # A cell reltext's own CSV export made inert ('=...) reads back as it was written.
    for row in reader:
        yield reader.line_num, [restored(cell) for cell in row]


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, time):
        return value.isoformat()
    return str(value)


def _build(rows: list[tuple[int, list[str]]], *, source: str, format: str) -> list[Transcript]:
    rows = [(number, row) for number, row in rows if any(cell.strip() for cell in row)]
    if not rows:
        raise TranscriptFormatError("the table is empty", path=source,
                                    fix="Add a header row and one row per turn.")
    header_line, header = rows[0]
    header = [name.strip().lstrip("\ufeff") for name in header]
    missing = [name for name in REQUIRED if name not in header]
    if missing:
        raise TranscriptFormatError(
            f"the turn table has no {', '.join(repr(m) for m in missing)} column "
            f"(its columns are {', '.join(repr(h) for h in header if h)})",
            path=source, line=header_line,
            fix="Name the columns transcript_id, turn_id, speaker and text "
            "(role, timestamp and any others are optional).",
        )
    column = {name: header.index(name) for name in header if name}
    extra = [name for name in header if name and name not in REQUIRED + OPTIONAL]
    by_transcript: dict[str, list[RawTurn]] = {}
    seen: set[tuple[str, str]] = set()
    for number, row in rows[1:]:
        row = row + [""] * (len(header) - len(row))
        values = {name: row[index] for name, index in column.items()}
        for name in ("transcript_id", "turn_id", "speaker"):
            if not values[name].strip():
                raise TranscriptFormatError(
                    f"the {name!r} column must be non-empty, got ''", path=source, line=number,
                    fix=f"Fill in the {name} of that row, or delete the row.",
                )
        transcript_id = values["transcript_id"].strip()
        turn_id = values["turn_id"].strip()
        if (transcript_id, turn_id) in seen:
            raise TranscriptFormatError(
                f"turn_id {turn_id!r} appears twice in transcript {transcript_id!r}",
                path=source, line=number, fix="Give every turn of a transcript its own turn_id.",
            )
        seen.add((transcript_id, turn_id))
        by_transcript.setdefault(transcript_id, []).append(
            RawTurn(
                speaker=values["speaker"].strip(),
                text=values["text"].strip(),
                turn_id=turn_id,
                role=values.get("role", "").strip(),
                timestamp=values.get("timestamp", "").strip() or None,
                meta={name: values[name] for name in extra if values[name] != ""},
            )
        )
    return [
        compose_transcript(transcript_id, turns, format=format, source=source)
        for transcript_id, turns in by_transcript.items()
    ]
