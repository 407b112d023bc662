"""HTML for turns with their coded spans: every piece of text escaped, nothing fetched.

Transcripts and memos are research data typed by anyone; they reach the page only through
:func:`html.escape`, so ``<script>`` or ``<img onerror=...>`` in a turn shows as text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from itertools import pairwise
from typing import Any

STATUS_MARKS = {"accepted": "✓", "rejected": "✗", "corrected": "✎", "pending": "·", "absent": "–"}


def _text_colour(background: str) -> str:
    """Black or white, whichever reads better on ``background`` (#rrggbb)."""
    value = background.lstrip("#")
    if len(value) != 6:
        return "#000"
    red, green, blue = (int(value[i : i + 2], 16) for i in (0, 2, 4))
    return "#000" if 0.299 * red + 0.587 * green + 0.114 * blue > 150 else "#fff"


def coding_title(coding: Mapping[str, Any]) -> str:
    """The hover text of a coded span: code, confidence, coder, evidence, decisions, memos.

    Plain text: the caller escapes it into the attribute.
    """
    parts = [coding["code"]]
    if coding.get("confidence") is not None:
        parts.append(f"confidence {coding['confidence']:.2f}")
    parts.append(coding["coder"])
    if coding.get("evidence"):
        parts.append(f"evidence {coding['evidence']}")
    for decision in coding.get("decisions", []):
        parts.append(f"{decision['reviewer']}: {decision['status']}")
    for note in coding.get("notes", []):
        parts.append(f"memo by {note['reviewer']}: {note['note']}")
    return " · ".join(parts)


def highlighted(
    text: str, codings: Sequence[Mapping[str, Any]], colours: Mapping[str, str]
) -> str:
    """``text`` as HTML with each coding's span in its code's colour (escaped throughout).

    Overlapping spans are split at every boundary; a piece covered by several codings takes
    the colour of the innermost (last started) and lists them all on hover.
    """
    bounds = {0, len(text)}
    for coding in codings:
        bounds.update((max(0, coding["start_char"]), min(len(text), coding["end_char"])))
    edges = sorted(bounds)
    pieces = []
    for start, end in pairwise(edges):
        covering = [c for c in codings if c["start_char"] <= start and end <= c["end_char"]]
        piece = escape(text[start:end])
        if not covering:
            pieces.append(piece)
            continue
        colour = colours.get(covering[-1]["code"], "#dddddd")
        title = escape(" | ".join(coding_title(c) for c in covering), quote=True)
        pieces.append(
            f'<mark style="background:{escape(colour)};color:{_text_colour(colour)};'
            f'padding:0 2px;border-radius:3px" title="{title}">{piece}</mark>'
        )
    return "".join(pieces)


def code_chip(code: str, colours: Mapping[str, str], *, suffix: str = "", title: str = "") -> str:
    colour = colours.get(code, "#dddddd")
    return (
        f'<span style="background:{escape(colour)};color:{_text_colour(colour)};'
        f'padding:1px 6px;border-radius:8px;font-size:0.8em;margin-right:4px;white-space:nowrap"'
        f' title="{escape(title, quote=True)}">{escape(code)}{escape(suffix)}</span>'
    )


def turn_block(turn: Mapping[str, Any], colours: Mapping[str, str]) -> str:
    """One turn: speaker and role, the highlighted text, and a chip per coding beside it."""
    speaker = escape(turn["speaker"])
    role = f' <span style="color:#666">({escape(turn["role"])})</span>' if turn["role"] else ""
    chips = "".join(
        code_chip(
            coding["code"], colours,
            suffix=" " + "".join(STATUS_MARKS.get(d["status"], "") for d in coding["decisions"])
            if coding["decisions"] else "",
            title=coding_title(coding),
        )
        for coding in turn["codings"]
    )
    return (
        '<div style="display:flex;gap:12px;padding:6px 0;border-bottom:1px solid #eee">'
        f'<div style="flex:0 0 150px;font-weight:600">{speaker}{role}'
        f'<div style="color:#999;font-weight:400;font-size:0.8em">turn {escape(turn["turn_id"])}'
        '</div></div>'
        f'<div style="flex:1 1 auto;line-height:1.6">'
        f'{highlighted(turn["text"], turn["codings"], colours)}</div>'
        f'<div style="flex:0 0 220px">{chips}</div></div>'
    )


def turn_blocks(turns: Sequence[Mapping[str, Any]], colours: Mapping[str, str]) -> str:
    return "".join(turn_block(turn, colours) for turn in turns)
