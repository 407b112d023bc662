"""Turning the plain-text sources of a REFI-QDA project into transcripts.

A source's text is kept exactly as written (CRLF line endings included), because the
project's selections are code-point offsets into it. A source with speaker labels is cut
into turns like any labelled transcript; one without is cut into paragraphs spoken by
``Unknown``. A source exported by reltext carries its own turns, which are used as they are.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from ...errors import TranscriptFormatError
from ...model import Transcript, Turn
from .labelled import Line, parse_labelled

UNKNOWN_SPEAKER = "Unknown"
_PARAGRAPH_BREAK = re.compile(r"(?:\r?\n|\r)[ \t]*(?:\r?\n|\r)\s*")


def source_transcript(
    transcript_id: str,
    text: str,
    *,
    source: str,
    meta: dict[str, Any] | None = None,
    turns: Sequence[Turn] | None = None,
) -> Transcript:
    """The transcript of one plain-text source; ``turns`` when the project gives them.

    Raises:
        TranscriptFormatError: the source holds no text.
    """
    if turns is None:
        turns = _labelled_turns(transcript_id, text, source) or _paragraph_turns(text)
    if not turns:
        raise TranscriptFormatError(f"source {transcript_id!r} holds no text", path=source,
                                    fix="Remove the empty source from the project.")
    return Transcript(transcript_id=transcript_id, text=text, turns=tuple(turns),
                      format="qdpx", source=source, meta=dict(meta or {}))


def _labelled_turns(transcript_id: str, text: str, source: str) -> list[Turn]:
    try:
        transcript = parse_labelled(transcript_id, text, source=source, lines=_lines(text))
    except TranscriptFormatError:
        return []
    return list(transcript.turns)


def _lines(text: str) -> list[Line]:
    """Lines split at ``\\n`` whose ends leave out a ``\\r``, so CRLF text parses as LF."""
    lines, start = [], 0
    for piece in text.split("\n"):
        end = start + len(piece)
        lines.append(Line(start, end - 1 if piece.endswith("\r") else end))
        start = end + 1
    return lines


def _paragraph_turns(text: str) -> list[Turn]:
    turns: list[Turn] = []
    position = 0
    for separator in [*_PARAGRAPH_BREAK.finditer(text), None]:
        end = separator.start() if separator else len(text)
        start = position
        while start < end and text[start].isspace():
            start += 1
        stop = end
        while stop > start and text[stop - 1].isspace():
            stop -= 1
        if stop > start:
            index = len(turns)
            turns.append(Turn(turn_id=str(index), index=index, speaker=UNKNOWN_SPEAKER,
                              text=text[start:stop], start_char=start, end_char=stop))
        position = separator.end() if separator else len(text)
    return turns
