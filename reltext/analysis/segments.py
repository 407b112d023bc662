"""Coded segments: every quote of a code across the cases, as a researcher retrieves them.

A segment is a coding's span as review left it: the code it ends as (a corrected coding
under its new code and span, a rejected one nowhere unless asked for), with its turn's
speaker, role and the transcript's attributes (participant, wave, site, any manifest
column), so the quotes of ``connection`` can be read by case, filtered and pasted into a
paper. ``reltext segments`` and the viewer's Codes page are this module.

Example:
    >>> frame = segments(store, "connection", where={"role": ["STR worker"]})
    >>> by_case(frame)
    >>> write_segments(frame, "connection.docx", code="connection")
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from pathlib import Path
from urllib.parse import urlencode

import pandas as pd

from ..bidi import isolated
from ..errors import ReltextError
from ..exchange.tables import write_table
from ..files import atomic_path
from ..model import ReviewStatus
from ..review.effective import codings_with_review, read_turns
from ..store.database import Store

SEGMENT_COLUMNS = ["code", "quote", "context", "transcript_id", "turn_id", "speaker", "role",
                   "participant", "wave", "site", "coder", "status", "reviewer", "start_char",
                   "end_char", "link"]
STATES = tuple(status.value for status in ReviewStatus if status is not ReviewStatus.ABSENT)
SEGMENT_FORMATS = (".csv", ".docx")
# Columns of the turns and codings that are no attribute of a segment's case.
_INTERNAL = {"confidence", "origin", "evidence", "created_at", "final_code", "coding_id",
             "turn_pk", "position", "text", "is_participant", "timestamp", "end_timestamp",
             "transcript_role"}


def segments(
    store: Store,
    code: str,
    *,
    where: Mapping[str, Collection[str]] | None = None,
    coders: Collection[str] | None = None,
    states: Collection[str] | None = None,
) -> pd.DataFrame:
    """Every segment coded ``code``, in corpus order.

    Args:
        store: The project.
        code: The code key. A coding counts under the code it ends as after review; a
            rejected coding only when ``states`` asks for ``rejected``.
        where: Turn or transcript attributes and the values to keep, e.g.
            ``{"role": ["client"], "wave": ["2"], "site": ["North"]}``.
        coders: Only these coders' codings (``rules:relational@1.0``, ``human:alice``).
        states: Only codings in these review states (``pending``, ``accepted``,
            ``rejected``, ``corrected``).

    Returns:
        :data:`SEGMENT_COLUMNS`, then every other attribute of the turn and transcript.
        ``quote`` is the coded words, ``link`` the turn's address in the viewer.

    Raises:
        ReltextError: an unknown state, or an attribute the project does not have.
    """
    unknown = sorted(set(states or ()) - set(STATES))
    if unknown:
        raise ReltextError(f"unknown review state {unknown[0]!r}",
                           fix=f"Use one of: {', '.join(STATES)}.")
    codings = codings_with_review(store)
    if coders:
        codings = codings[codings["coder"].isin(list(coders))]
    if states:
        codings = codings[codings["status"].isin(list(states))]
    rejected_asked = ReviewStatus.REJECTED.value in (states or ())
    rejected = codings["status"].eq("rejected") & codings["code"].eq(code)
    codings = codings[codings["final_code"].eq(code) | (rejected_asked & rejected)]
    turns, turn_pks = read_turns(store)
    turns = turns.assign(turn_pk=turn_pks.to_numpy()).drop(
        columns=["transcript_id", "turn_id", "speaker", "start_char", "end_char"])
    for column in ("site",):
        if column not in turns:
            turns[column] = ""
    frame = codings.drop(columns=["role", "text", "code", "start_char", "end_char"]).merge(
        _spans(store, codings), on="coding_id").merge(turns, on="turn_pk", how="left")
    for column, values in (where or {}).items():
        if column not in frame.columns:
            choices = sorted(c for c in turns.columns if c not in _INTERNAL)
            raise ReltextError(f"no attribute {column!r} to filter segments by",
                               fix=f"Filter by one of: {', '.join(choices)}.")
        frame = frame[frame[column].astype(str).isin([str(v) for v in values])]
    frame = frame.assign(code=code, link=[
        "?" + urlencode({"transcript": t, "turn": u})
        for t, u in zip(frame["transcript_id"], frame["turn_id"])])
    frame = frame.sort_values(["transcript_id", "position", "start_char"], kind="stable")
    rest = [c for c in frame.columns if c not in SEGMENT_COLUMNS and c not in _INTERNAL]
    return frame[SEGMENT_COLUMNS + rest].fillna("").reset_index(drop=True)


def _spans(store: Store, codings: pd.DataFrame) -> pd.DataFrame:
    """Each coding's span as review left it (a correction may move it), and its words."""
    with store.read() as conn:
        latest = {row["coding_id"]: row for row in store.review_states(conn)}
        texts = {pk: text for pk, text in store.turn_keys(conn).values()}
    rows = []
    for coding_id, turn_pk, start, end in zip(codings["coding_id"], codings["turn_pk"],
                                              codings["start_char"], codings["end_char"]):
        state = latest.get(coding_id)
        if state is not None and state["status"] == "corrected" \
                and state["start_char"] is not None:
            start, end = state["start_char"], state["end_char"]
        text = texts.get(turn_pk, "")
        rows.append({"coding_id": coding_id, "start_char": int(start), "end_char": int(end),
                     "quote": text[int(start):int(end)],
                     "context": context(text, int(start), int(end))})
    return pd.DataFrame(rows, columns=["coding_id", "start_char", "end_char", "quote",
                                       "context"])


_SENTENCE_END = re.compile(r"[.!?…]+[\"'’”)]*(?:\s+|$)|\n+")


def sentence_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    """The offsets of the sentence(s) of ``text`` that hold the span ``start:end``."""
    before = 0
    for match in _SENTENCE_END.finditer(text, 0, start):
        before = match.end()
    after = _SENTENCE_END.search(text, max(end - 1, before))
    return before, after.end() if after else len(text)


def context(text: str, start: int, end: int) -> str:
    """The sentence(s) of ``text`` that hold the span ``start:end``: a quote that reads on
    its own where the coded words are a phrase ("rely on")."""
    before, after = sentence_bounds(text, start, end)
    return text[before:after].strip()


def by_case(frame: pd.DataFrame) -> pd.DataFrame:
    """Segments and turns per case (participant), most segments first."""
    if frame.empty:
        return pd.DataFrame(columns=["participant", "segments", "turns", "transcripts"])
    counts = frame.groupby("participant").agg(
        segments=("quote", "size"),
        turns=("turn_id", lambda s: len(set(zip(frame.loc[s.index, "transcript_id"], s)))),
        transcripts=("transcript_id", "nunique"))
    return counts.reset_index().sort_values(["segments", "participant"],
                                            ascending=[False, True], kind="stable")


def marked(row: Mapping[str, object]) -> tuple[str, str, str]:
    """A segment's sentence cut round its coded words: ``(before, words, after)``."""
    sentence, words = str(row["context"]), str(row["quote"])
    at = sentence.find(words) if words else -1
    if at < 0:
        return "", sentence or words, ""
    return sentence[:at], words, sentence[at + len(words):]


def attribution(row: Mapping[str, object]) -> str:
    """``STR04 (STR worker), str04 turn 5, wave 1, Westbrook``: who said it, and where.

    Each value sits in a bidi isolate where it needs one (:func:`~reltext.bidi.isolated`),
    so an override in a speaker's name cannot reverse the role beside it.
    """
    def value(key: str) -> str:
        return isolated(str(row[key]))

    speaker = value("speaker") + (f" ({value('role')})" if row.get("role") else "")
    parts = [speaker, f"{value('transcript_id')} turn {value('turn_id')}"]
    if row.get("wave"):
        parts.append(f"wave {value('wave')}")
    if row.get("site"):
        parts.append(value("site"))
    return ", ".join(parts)


def segments_docx(frame: pd.DataFrame, *, code: str, filters: str = "") -> bytes:
    """A Word document of the quotes, by case, each with its attribution: for a paper."""
    import io

    from docx import Document
    from docx.shared import Pt

    document = Document()
    document.add_heading(f"Coded segments: {code}", level=1)
    summary = f"{len(frame)} segment(s) from {frame['participant'].nunique()} case(s)"
    document.add_paragraph(summary + (f"; {filters}" if filters else "") + ".")
    for participant, group in frame.groupby("participant", sort=True):
        document.add_heading(str(participant), level=2)
        for row in group.to_dict("records"):
            quote = document.add_paragraph()
            # The sentence in italics, the coded words in bold within it.
            before, words, after = marked(row)
            for index, (piece, bold) in enumerate(((before, False), (words, True),
                                                   (after, False))):
                run = quote.add_run(("\u201c" if index == 0 else "") + piece
                                    + ("\u201d" if index == 2 else ""))
                run.italic, run.bold = True, bold and bool(before or after)
            source = document.add_paragraph(f"\u2014 {attribution(row)}")
            source.runs[0].font.size = Pt(9)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def write_segments(frame: pd.DataFrame, out: str | Path, *, code: str,
                   filters: str = "") -> Path:
    """Write the segments to ``.csv`` (one row each) or ``.docx`` (the quotes), atomically.

    Raises:
        ReltextError: another file type.
    """
    out = Path(out)
    if out.suffix.lower() not in SEGMENT_FORMATS:
        raise ReltextError(f"cannot write segments to a {out.suffix or 'suffix-less'} file",
                           path=out, fix="Name the file .csv or .docx.")
    if out.suffix.lower() == ".csv":
        return write_table(frame, out, "csv")  # as every export: spreadsheet-safe
    with atomic_path(out) as temporary:
        temporary.write_bytes(segments_docx(frame, code=code, filters=filters))
    return out
