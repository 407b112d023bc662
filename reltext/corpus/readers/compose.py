"""Building a transcript's stored text from turns read out of a structured format."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ...model import Transcript, Turn
from .labelled import role_for_label


@dataclass(slots=True)
class RawTurn:
    """A turn as a reader found it, before it has a place in the stored text."""

    speaker: str
    text: str
    turn_id: str | None = None
    role: str = ""
    timestamp: str | None = None
    end_timestamp: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)


def compose_transcript(
    transcript_id: str,
    raw_turns: list[RawTurn],
    *,
    format: str,
    source: str,
    meta: dict[str, Any] | None = None,
    header: str = "",
) -> Transcript:
    """Lay the turns out as readable text, one ``[time] Speaker: text`` paragraph each.

    Formats that have no running text of their own (captions, tables, Word paragraphs) are
    stored this way, and each turn's offsets point at its text inside it.
    """
    parts: list[str] = []
    position = 0
    if header:
        parts.append(header + "\n\n")
        position = len(parts[0])
    turns = []
    for index, raw in enumerate(raw_turns):
        stamp = f"[{raw.timestamp}] " if raw.timestamp else ""
        prefix = f"{stamp}{raw.speaker}: "
        start = position + len(prefix)
        end = start + len(raw.text)
        parts.append(f"{prefix}{raw.text}\n")
        position = end + 1
        turns.append(
            Turn(
                turn_id=raw.turn_id if raw.turn_id is not None else str(index),
                index=index,
                speaker=raw.speaker,
                text=raw.text,
                start_char=start,
                end_char=end,
                role=raw.role or role_for_label(raw.speaker),
                timestamp=raw.timestamp,
                end_timestamp=raw.end_timestamp,
                meta=raw.meta,
            )
        )
    return Transcript(
        transcript_id=transcript_id,
        text="".join(parts),
        turns=tuple(turns),
        format=format,
        source=source,
        meta=dict(meta or {}),
    )
