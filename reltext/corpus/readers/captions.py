"""WebVTT and SubRip captions, as Zoom, Teams and transcription services write them.

A cue is a fragment of speech: consecutive cues by one speaker are joined into one turn,
which keeps the first cue's start time and the last cue's end time.
"""

from __future__ import annotations

import html
import re

from ...errors import TranscriptFormatError
from ...model import Transcript
from .compose import RawTurn, compose_transcript

_VTT_TIME = r"(?:\d+:)?\d{2}:\d{2}\.\d{3}"
_SRT_TIME = r"\d+:\d{2}:\d{2}[,.]\d{3}"
_VTT_TIMING = re.compile(rf"^\s*({_VTT_TIME})\s+-->\s+({_VTT_TIME})(?:\s+.*)?$")
_SRT_TIMING = re.compile(rf"^\s*({_SRT_TIME})\s+-->\s+({_SRT_TIME})(?:\s+.*)?$")
_VOICE = re.compile(r"<v(?:\.[\w.-]+)?\s+([^>]+)>(.*?)(?:</v>|$)", re.DOTALL)
_TAG = re.compile(r"</?[a-zA-Z][^>]*>|<\d{2}:[^>]*>")
_PREFIX = re.compile(
    r"^\s*(?:\[(?P<bracket>[^\]\n]{1,40})\]|(?P<label>[A-Za-z][\w.'’\-]*(?:[ \t]+[\w.'’\-]+){0,3}))"
    r"\s*:\s+"
)
_BRACKET_ONLY = re.compile(r"^\s*\[(?P<bracket>[^\]\n]{1,40})\]\s+")
UNKNOWN_SPEAKER = "Unknown"


def parse_vtt(transcript_id: str, text: str, *, source: str) -> Transcript:
    """Parse WebVTT ``text`` (voice tags, ``Name:`` prefixes, cue ids, NOTE blocks)."""
    lines = text.split("\n")
    if not lines[0].lstrip("\ufeff").startswith("WEBVTT"):
        raise TranscriptFormatError(
            "a WebVTT file must start with the line 'WEBVTT'",
            path=source, line=1,
            fix="Check that this is a .vtt caption file, or give the format with --format.",
        )
    fragments = []
    for block_start, block in _blocks(lines, first=1):
        head = block[0].strip()
        if head.startswith(("NOTE", "STYLE", "REGION")):
            continue
        timing_at = next((i for i, line in enumerate(block[:2]) if "-->" in line), None)
        if timing_at is None:
            raise TranscriptFormatError(
                f"cue has no timing line (got {head[:40]!r})",
                path=source, line=block_start + 1,
                fix="Each cue needs a line like '00:01:02.000 --> 00:01:05.000'.",
            )
        match = _VTT_TIMING.match(block[timing_at])
        if not match:
            raise _bad_timing(source, block_start + timing_at + 1, block[timing_at],
                              "00:01:02.000 --> 00:01:05.000")
        start, end = match.group(1), match.group(2)
        payload = "\n".join(block[timing_at + 1:])
        voices = list(_VOICE.finditer(payload))
        if voices:
            for voice in voices:
                fragments.append((voice.group(1).strip(), _clean(voice.group(2)), start, end))
        else:
            fragments.append((*_split_prefix(_clean(payload)), start, end))
    return _join(transcript_id, fragments, source=source, format="vtt")


def parse_srt(transcript_id: str, text: str, *, source: str) -> Transcript:
    """Parse SubRip ``text``: numbered cues with ``00:01:02,000 --> 00:01:05,000`` timings."""
    lines = text.split("\n")
    fragments = []
    for block_start, block in _blocks(lines, first=0):
        timing_at = next((i for i, line in enumerate(block[:2]) if "-->" in line), None)
        if timing_at is None:
            raise TranscriptFormatError(
                f"subtitle has no timing line (got {block[0].strip()[:40]!r})",
                path=source, line=block_start + 1,
                fix="Each subtitle needs a number, then a line like "
                "'00:01:02,000 --> 00:01:05,000', then its text.",
            )
        match = _SRT_TIMING.match(block[timing_at])
        if not match:
            raise _bad_timing(source, block_start + timing_at + 1, block[timing_at],
                              "00:01:02,000 --> 00:01:05,000")
        payload = _clean("\n".join(block[timing_at + 1:]))
        start, end = match.group(1).replace(",", "."), match.group(2).replace(",", ".")
        fragments.append((*_split_prefix(payload), start, end))
    if not fragments:
        raise TranscriptFormatError("the file has no subtitles", path=source, line=1,
                                    fix="Check that this is an .srt caption file.")
    return _join(transcript_id, fragments, source=source, format="srt")


def looks_like_srt(text: str) -> bool:
    lines = [line for line in text.split("\n")[:6] if line.strip()]
    return len(lines) >= 2 and lines[0].strip().isdigit() and "-->" in lines[1]


def _blocks(lines: list[str], *, first: int):
    """Blank-line separated blocks as ``(0-based index of first line, lines)``."""
    block: list[str] = []
    start = first
    for index in range(first, len(lines)):
        if lines[index].strip():
            if not block:
                start = index
            block.append(lines[index])
        elif block:
            yield start, block
            block = []
    if block:
        yield start, block


def _clean(payload: str) -> str:
    return " ".join(html.unescape(_TAG.sub("", payload)).split())


def _split_prefix(payload: str) -> tuple[str | None, str]:
    match = _PREFIX.match(payload) or _BRACKET_ONLY.match(payload)
    if not match:
        return None, payload
    speaker = match.groupdict().get("bracket") or match.groupdict().get("label")
    return speaker.strip(), payload[match.end():]


def _join(transcript_id, fragments, *, source: str, format: str) -> Transcript:
    raw_turns: list[RawTurn] = []
    speaker = UNKNOWN_SPEAKER
    for named, text, start, end in fragments:
        speaker = named or speaker  # an unlabelled cue goes on with the last speaker
        if not text:
            continue
        if raw_turns and raw_turns[-1].speaker == speaker:
            raw_turns[-1].text = f"{raw_turns[-1].text} {text}"
            raw_turns[-1].end_timestamp = end
        else:
            raw_turns.append(RawTurn(speaker=speaker, text=text, timestamp=start,
                                     end_timestamp=end))
    return compose_transcript(transcript_id, raw_turns, format=format, source=source)


def _bad_timing(source: str, line: int, got: str, example: str) -> TranscriptFormatError:
    return TranscriptFormatError(
        f"broken cue timing {got.strip()[:60]!r}",
        path=source, line=line,
        fix=f"Write it as '{example}' (hours:minutes:seconds and milliseconds).",
    )
