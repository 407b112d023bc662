"""Project text on the page as text: HTML for turns, Markdown for messages, links encoded.

Transcripts, ids, names, memos and codebooks are research data typed by anyone, often in
another team. In HTML they reach the page only through :func:`html.escape`, so
``<script>`` or ``<img onerror=...>`` in a turn shows as text; in Streamlit's Markdown
(messages, captions, labels) through :func:`md`, so ``![x](http://host/x.png)`` in a
transcript id shows as those characters and fetches nothing. Names sit in a bidi isolate,
so a right-to-left override in one cannot reverse the text beside it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from html import escape
from itertools import pairwise
from typing import Any
from urllib.parse import quote

from ..bidi import isolated

# What Markdown (CommonMark and GitHub's), Streamlit's :directives: and $math$ read as
# syntax: always; at the start of a line (lists, rules); "_" at a word's edge (inside a
# word it is a letter); "." or ")" after a digit (numbered lists); "." after "www" and "@"
# (links made from bare text).
_MARKDOWN = re.compile(r"[\\`*\[\]<>!~|$:#&{}^@]|(?<![0-9A-Za-z])_|_(?![0-9A-Za-z])"
                       r"|^[ \t]*[-+=]|(?<=\d)[.)]|(?<=www)\.", re.IGNORECASE | re.MULTILINE)


def md(value: Any) -> str:
    """``value`` as Markdown that shows exactly its characters: no link, image, emphasis,
    heading, math or directive, and no reordering of the text beside it."""
    text = _MARKDOWN.sub(lambda match: match.group().replace(match.group().strip(),
                                                             "\\" + match.group().strip()),
                         str(value))
    return isolated(text)


def name_html(value: Any) -> str:
    """A name, id or role as HTML: escaped, and isolated as :func:`~reltext.bidi.isolated`
    says."""
    return isolated(escape(str(value)))


def transcript_link(transcript_id: str) -> str:
    """The viewer's address of a transcript: ``?transcript=`` with the id URL-encoded."""
    return "?transcript=" + quote(str(transcript_id), safe="")


_HEX_COLOUR = re.compile(r"#(?:[0-9A-Fa-f]{3}){1,2}")
STATUS_MARKS = {"accepted": "✓", "rejected": "✗", "corrected": "✎", "pending": "·", "absent": "–"}


def _colour(colours: Mapping[str, str], code: str) -> str:
    """The code's colour if it is a plain ``#rrggbb`` or ``#rgb`` (a style attribute can fetch
    anything else, e.g. ``url(...)``), else grey."""
    colour = colours.get(code) or ""
    return colour if _HEX_COLOUR.fullmatch(colour) else "#dddddd"


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
        # data-at: the piece's offset in the turn, for selecting words to code (manual.js).
        if not covering:
            pieces.append(f'<span data-at="{start}">{piece}</span>')
            continue
        colour = _colour(colours, covering[-1]["code"])
        title = escape(" | ".join(coding_title(c) for c in covering), quote=True)
        pieces.append(
            f'<mark data-at="{start}" style="background:{colour};color:{_text_colour(colour)};'
            f'padding:0 2px;border-radius:3px" title="{title}">{piece}</mark>'
        )
    return "".join(pieces)


def code_chip(code: str, colours: Mapping[str, str], *, suffix: str = "", title: str = "",
              coding: Mapping[str, Any] | None = None) -> str:
    """A code's name on its colour; with ``coding``, marked as that coding's chip (its id,
    coder and words) so that its author can change or remove it (manual.js)."""
    colour = _colour(colours, code)
    marks = ""
    if coding is not None:
        marks = (f' class="reltext-chip" data-coding-id="{escape(str(coding["coding_id"]))}"'
                 f' data-coder="{escape(coding["coder"], quote=True)}"'
                 f' data-code="{escape(code, quote=True)}"'
                 f' data-words="{escape(coding.get("words", ""), quote=True)}"')
    return (
        f'<span{marks} style="background:{colour};color:{_text_colour(colour)};'
        f'padding:1px 6px;border-radius:8px;font-size:0.8em;margin-right:4px;white-space:nowrap"'
        f' title="{escape(title, quote=True)}">{escape(code)}{escape(suffix)}</span>'
    )


def turn_block(turn: Mapping[str, Any], colours: Mapping[str, str]) -> str:
    """One turn: speaker and role, the highlighted text, and a chip per coding beside it."""
    speaker = name_html(turn["speaker"])
    role = (f' <span style="color:#666">({name_html(turn["role"])})</span>'
            if turn["role"] else "")
    chips = "".join(
        code_chip(
            coding["code"], colours,
            suffix=" " + "".join(STATUS_MARKS.get(d["status"], "") for d in coding["decisions"])
            if coding["decisions"] else "",
            title=coding_title(coding),
            coding={**coding, "words": turn["text"][coding["start_char"]:coding["end_char"]]},
        )
        for coding in turn["codings"]
    )
    # The classes and data-turn-id are what manual coding (manual.js) finds the turns by.
    return (
        f'<div class="reltext-turn" data-turn-id="{escape(str(turn["turn_id"]), quote=True)}" '
        'style="display:flex;gap:12px;padding:6px 0;border-bottom:1px solid #eee">'
        f'<div class="reltext-who" title="Click to code the whole turn" '
        f'style="flex:0 0 150px;font-weight:600">{speaker}{role}'
        f'<div style="color:#999;font-weight:400;font-size:0.8em">turn '
        f'{name_html(turn["turn_id"])}</div></div>'
        f'<div class="reltext-text" style="flex:1 1 auto;line-height:1.6">'
        f'{highlighted(turn["text"], turn["codings"], colours)}</div>'
        f'<div style="flex:0 0 220px">{chips}</div></div>'
    )


def previous_turn(turn: Mapping[str, Any]) -> str:
    """The turn before the one under review, small and grey: speaker and text."""
    return (f'<div style="color:#777;font-size:0.9em;margin-bottom:6px">'
            f'{name_html(turn["speaker"])}: {escape(turn["text"])}</div>')


def turn_blocks(turns: Sequence[Mapping[str, Any]], colours: Mapping[str, str]) -> str:
    return "".join(turn_block(turn, colours) for turn in turns)
