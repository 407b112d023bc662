"""Characters a transcript cannot keep: replaced one for one at ingest, and said so.

XML 1.0 (and so every REFI-QDA export) cannot carry NUL, the C0 control characters other
than tab, newline and carriage return, lone surrogates or U+FFFE/U+FFFF; SQLite's UTF-8
cannot store a lone surrogate. A transcript may hold them all the same (a form feed at a
page break, a vertical tab for Word's manual line break, a NUL from a damaged file), so
ingest replaces each by one character: a line break for a form feed or vertical tab,
U+FFFD for the others. One for one, so every offset stays where it was.

Example:
    >>> clean_text("Page one.\\fPage two.")
    ('Page one.\\nPage two.', Counter({'\\x0c': 1}))
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import replace
from typing import Any

from ...model import Transcript

UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
REPLACEMENT = "\ufffd"
_LINE_BREAKS = {"\x0b": "\n", "\x0c": "\n"}
_NAMES = {"\x00": "NUL", "\x0b": "vertical tab", "\x0c": "form feed"}


def has_unsafe_characters(text: str) -> bool:
    return UNSAFE.search(text) is not None


def clean_text(text: str) -> tuple[str, Counter[str]]:
    """``text`` with every unsafe character replaced, and how many of each there were."""
    found = Counter(UNSAFE.findall(text))
    if not found:
        return text, found
    return UNSAFE.sub(lambda m: _LINE_BREAKS.get(m.group(), REPLACEMENT), text), found


def clean_transcript(transcript: Transcript) -> tuple[Transcript, Counter[str]]:
    """The transcript with its text, ids, speakers, roles and metadata cleaned.

    A turn's text is a slice of the transcript's text, so it is cleaned as that slice is
    and counted once.
    """
    found: Counter[str] = Counter()

    def clean(value: Any) -> Any:
        if isinstance(value, str):
            value, counts = clean_text(value)
            found.update(counts)
        elif isinstance(value, dict):
            value = {clean(key): clean(item) for key, item in value.items()}
        elif isinstance(value, (list, tuple)):
            value = type(value)(clean(item) for item in value)
        return value

    turns = tuple(
        replace(turn, turn_id=clean(turn.turn_id), speaker=clean(turn.speaker),
                role=clean(turn.role), timestamp=clean(turn.timestamp),
                end_timestamp=clean(turn.end_timestamp), meta=clean(turn.meta),
                text=clean_text(turn.text)[0])
        for turn in transcript.turns)
    cleaned = replace(transcript, transcript_id=clean(transcript.transcript_id),
                      text=clean(transcript.text), meta=clean(transcript.meta), turns=turns)
    return (cleaned if found else transcript), found


def describe(found: Counter[str]) -> str:
    """``3 × form feed (U+000C) by a line break, 1 × NUL (U+0000) by U+FFFD``."""
    parts = []
    for char, count in sorted(found.items(), key=lambda item: (-item[1], item[0])):
        name = _NAMES.get(char) or ("lone surrogate" if "\ud800" <= char <= "\udfff" else
                                    "noncharacter" if char >= "\ufffe" else "control character")
        into = "a line break" if char in _LINE_BREAKS else "U+FFFD"
        parts.append(f"{count} × {name} (U+{ord(char):04X}) by {into}")
    return ", ".join(parts)
