"""Speaker-labelled transcripts: ``Name: text`` paragraphs, as typists and services write them.

Recognised labels include ``Sam:``, ``SAM:``, ``Participant 3:``, ``P01:``, ``Q:``/``A:``,
``Interviewer:``/``Respondent:``, optionally after a ``[hh:mm:ss]``, ``(hh:mm:ss)`` or bare
``hh:mm:ss`` timestamp. Lines without a label continue the turn above; lines before the
first label are the transcript's preamble (metadata, not a turn). So is a header block of
``Key: value`` lines at the top (``Interviewer: RH``, ``Participant: STR04``, ``Date: ...``),
even where its keys look like speaker labels: see :func:`header_lines`.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, replace
from typing import Any

from ...errors import TranscriptFormatError
from ...model import Transcript, Turn

_TIME = r"\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d{1,3})?"
_LABEL_LINE = re.compile(  # used with .match(text, pos, endpos), so no "^"
    r"[ \t]*"
    rf"(?:(?:\[(?P<t1>{_TIME})\]|\((?P<t2>{_TIME})\)|(?P<t3>\d{{1,2}}:\d{{2}}:\d{{2}}(?:[.,]\d{{1,3}})?))"
    r"[ \t]*[-–]?[ \t]*)?"
    r"(?P<label>[A-Za-z][\w.'’\-]*(?:[ \t]+(?:[A-Za-z][\w.'’\-]*|\d+)){0,3})"
    r"[ \t]*(?:\((?P<t4>" + _TIME + r")\)[ \t]*)?:(?=[ \t]|$)[ \t]*"
)
# Speaker labels that are speakers even when they occur only once.
_KNOWN_SPEAKER = re.compile(
    r"^(?:q|a|i|r|int|resp|interviewer|interviewee|respondent|participant(?:[ \t]*\d+)?|"
    r"p[ \t]*\d+|speaker(?:[ \t]*\d+)?|therapist|client|counsell?or|facilitator|moderator|"
    r"worker|researcher|patient|service user|carer|clinician|nurse|doctor|dr\.? \w+)$",
    re.IGNORECASE,
)
# Preamble keys ("Date: 12 May") that look like labels but never speak.
_METADATA_KEYS = {
    "title", "date", "time", "location", "place", "site", "duration", "length", "project",
    "study", "file", "filename", "recording", "audio", "transcriber", "transcribed by",
    "transcription", "note", "notes", "id", "participant id", "interview id", "wave",
    "format", "language", "topic", "consent", "source", "subject", "version", "session",
}
_ROLE_BY_LABEL = [
    (re.compile(r"^(?:q|i|int|interviewer|researcher|moderator|facilitator)$", re.I),
     "interviewer"),
    (re.compile(r"^(?:a|r|resp|respondent|interviewee|participant(?:[ \t]*\d+)?|p[ \t]*\d+)$",
                re.I), "participant"),
    (re.compile(r"^(?:therapist|counsell?or|client|patient|carer|nurse|clinician|worker|"
                r"peer worker|str worker|service user|doctor|gp)$", re.I), None),
]


@dataclass(frozen=True, slots=True)
class Line:
    """A line (or a Word paragraph) of the stored text, by its offsets."""

    start: int
    end: int
    heading: bool = False  # a heading is never a turn and ends the turn above
    bold_label: str | None = None  # a label set in bold: a speaker however rare


def split_lines(text: str) -> list[Line]:
    lines, start = [], 0
    for piece in text.split("\n"):
        lines.append(Line(start, start + len(piece)))
        start += len(piece) + 1
    return lines


def role_for_label(label: str) -> str:
    """The role a conventional label implies (``Q`` asks, ``A`` answers), else ``''``."""
    for pattern, role in _ROLE_BY_LABEL:
        if pattern.match(label):
            return role or label.lower()
    return ""


def parse_labelled(
    transcript_id: str,
    text: str,
    *,
    source: str,
    format: str = "text",
    lines: list[Line] | None = None,
) -> Transcript:
    """Split speaker-labelled ``text`` into turns; offsets point into ``text`` itself.

    Raises:
        TranscriptFormatError: no line of the text starts with a speaker label.
    """
    lines = lines if lines is not None else split_lines(text)
    matches: list[re.Match[str] | None] = []
    for line in lines:
        match = None if line.heading else _LABEL_LINE.match(text, line.start, line.end)
        if match and match.group("label").strip().lower() in _METADATA_KEYS:
            match = None
        matches.append(match)
    header = header_lines(text, lines, matches)
    matches[:header] = [None] * header
    counts = Counter(_label(m) for m in matches if m)
    strong = [
        line.bold_label is not None or (m is not None and _is_recurring_or_known(m, counts))
        for m, line in zip(matches, lines)
    ]
    if not any(strong):  # a one-turn file: its first name-like label is the speaker
        strong = [m is not None and _is_name(m) for m in matches]
        strong = [flag and i == strong.index(True) for i, flag in enumerate(strong)]
    first_strong = strong.index(True) if any(strong) else len(lines)
    # Before the first recurring or conventional label, "Recorded: 12 May" is preamble;
    # after it, a label seen once is a speaker when it reads like a name ("Dr Patel").
    speaker_at = [
        strong[i] or (i > first_strong and matches[i] is not None and _is_name(matches[i]))
        for i in range(len(lines))
    ]
    if not any(speaker_at):
        raise TranscriptFormatError(
            "found no speaker label: no line starts like 'Name: ...'",
            path=source,
            line=1,
            fix="Label each turn with its speaker ('Interviewer: ...', 'P01: ...'), "
            "or give the format with --format.",
        )
    first = speaker_at.index(True)
    turns: list[Turn] = []
    current: dict[str, Any] | None = None

    def close(end_line: int) -> None:
        # The turn runs to the end of its last non-blank line.
        nonlocal current
        if current is None:
            return
        last = end_line
        while last > current["line"] and not text[lines[last].start:lines[last].end].strip():
            last -= 1
        end = lines[last].end
        start = current["start"]
        while start < end and text[start] in " \t\n":
            start += 1
        while end > start and text[end - 1] in " \t\n":
            end -= 1
        if end > start:
            index = len(turns)
            turns.append(
                Turn(
                    turn_id=str(index),
                    index=index,
                    speaker=current["speaker"],
                    text=text[start:end],
                    start_char=start,
                    end_char=end,
                    role=role_for_label(current["speaker"]),
                    timestamp=current["timestamp"],
                )
            )
        current = None

    for number in range(first, len(lines)):
        line, match = lines[number], matches[number]
        if line.heading:
            close(number - 1)
            continue
        if not speaker_at[number]:
            continue
        close(number - 1)
        if match is not None:
            speaker = _label(match)
            timestamp = next((match.group(g) for g in ("t1", "t2", "t3", "t4")
                              if match.group(g)), None)
            start = match.end()
        else:
            speaker = line.bold_label or ""
            timestamp = None
            colon = text.find(":", line.start, line.end)
            start = colon + 1 if colon >= 0 else line.start + len(speaker)
        current = {"speaker": speaker, "timestamp": timestamp, "start": start, "line": number}
    close(len(lines) - 1)

    preamble = text[: lines[first].start].strip()
    meta: dict[str, Any] = {}
    if preamble:
        meta["preamble"] = preamble
        for line in lines[:header]:  # every key of a header block
            key, _, value = text[line.start:line.end].partition(":")
            if key.strip():
                meta.setdefault(_key(key).replace(" ", "_"), value.strip())
        for raw in preamble.split("\n"):
            key, sep, value = raw.partition(":")
            if sep and _key(key) in _METADATA_KEYS and value.strip():
                meta.setdefault(_key(key), value.strip())
    turns = _roles_from_header(turns, text, lines[:header])
    return Transcript(
        transcript_id=transcript_id,
        text=text,
        turns=tuple(turns),
        format=format,
        source=source,
        meta=meta,
    )


def header_lines(text: str, lines: list[Line], matches: list[re.Match[str] | None]) -> int:
    """How many lines at the top are a header block of ``Key: value`` lines, 0 if none.

    The block runs from the top to a blank line or the first timestamped line. It is a
    header when labelled lines follow it, its lines all read ``Key: value``, no key repeats,
    none has a timestamp, and a key is a metadata key (``Date``, ``Location``, ``Study``...) or the turns below
    are timestamped. ``Interviewer: RH`` there names the interviewer; it is not a turn.
    """
    top = 0
    while top < len(lines) and not _line(text, lines[top]).strip():
        top += 1
    end, keys = top, []
    while end < len(lines) and _line(text, lines[end]).strip() \
            and not _TIMESTAMPED.match(text, lines[end].start, lines[end].end):
        key, sep, value = _line(text, lines[end]).partition(":")
        if not sep or not value.strip() or not key.strip() or len(key) > 30:
            return 0
        keys.append(_key(key))
        end += 1
    if not keys or end == len(lines) or len(set(keys)) < len(keys):
        return 0
    below = [m for m in matches[end:] if m is not None]
    if not below:  # a block with no labelled line under it is the turns themselves
        return 0
    timed_below = all(
        any(m.group(g) for g in ("t1", "t2", "t3", "t4")) for m in below)
    return end if timed_below or any(key in _METADATA_KEYS for key in keys) else 0


def _line(text: str, line: Line) -> str:
    return text[line.start:line.end]


_TIMESTAMPED = re.compile(rf"[ \t]*(?:\[{_TIME}\]|\({_TIME}\)|\d{{1,2}}:\d{{2}}:\d{{2}})")


def _roles_from_header(turns: list[Turn], text: str, header: list[Line]) -> list[Turn]:
    """Turns of a speaker the header names by role (``Interviewer: RH``) get that role."""
    roles = {}
    for line in header:
        key, _, value = text[line.start:line.end].partition(":")
        words = value.split()
        role = role_for_label(key.strip())
        if role and words:
            roles.setdefault(words[0].strip(",;()"), role)
    return [replace(turn, role=roles[turn.speaker]) if not turn.role and turn.speaker in roles
            else turn for turn in turns]


def _key(key: str) -> str:
    return re.sub(r"[ \t]+", " ", key.strip()).lower()


def _label(match: re.Match[str]) -> str:
    return re.sub(r"[ \t]+", " ", match.group("label").strip())


def _is_recurring_or_known(match: re.Match[str], counts: Counter[str]) -> bool:
    label = _label(match)
    return counts[label] >= 2 or _KNOWN_SPEAKER.match(label) is not None


def _is_name(match: re.Match[str]) -> bool:
    return all(word[0].isupper() or word.isdigit() for word in _label(match).split())
