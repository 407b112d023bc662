"""Render twelve AnnoMI transcripts into the file formats researchers actually hold.

Reads ``AnnoMI-simple.csv`` (uccollab/AnnoMI, public domain; see corpora/README.md) and writes
``corpora/annomi/``: speaker-labelled text in four encodings and layouts, Zoom and Teams WebVTT,
SubRip, Word, and turn tables as CSV, TSV and Excel. Utterance text is copied unchanged; only
timestamps are repaired (see ``fix_times``). The output is byte-for-byte reproducible::

    python corpora/render_annomi.py [--source path/to/AnnoMI-simple.csv] [--out corpora/annomi]

Needs pandas, python-docx and openpyxl.
"""

from __future__ import annotations

import argparse
import csv
import io
import re
import textwrap
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from docx import Document
from docx.shared import Pt

HERE = Path(__file__).resolve().parent
DEFAULT_SOURCE = HERE.parent.parent / "shared" / "data" / "annomi" / "AnnoMI-simple.csv"
ANNOMI_COMMIT = "42936645ec3857a9c84ab296a36a3c34b779ef49"
LABELS = {"therapist": "Therapist", "client": "Client"}
# Fixed so that .docx and .xlsx files (which are zip archives with timestamps) are reproducible.
FIXED_ZIP_TIME = (2024, 1, 1, 0, 0, 0)
TEAMS_NS = uuid.UUID("6f1c2a43-5d0e-4b8e-9a57-2c1e0d6b7a10")

# (AnnoMI transcript_id, short topic for the file name, how it is rendered)
SELECTION: list[tuple[int, str, str]] = [
    (23, "anxiety", "txt_bracket_bom"),       # [hh:mm:ss] Label:, blank lines, hard-wrapped
    (55, "drugs", "txt_paren_crlf"),          # (hh:mm:ss) LABEL:, no blank lines, CRLF
    (107, "self_harm", "txt_bare_utf16"),     # hh:mm:ss Label:, UTF-16 with BOM
    (57, "medication", "txt_cp1252"),         # Label: only, cp1252 (em dashes as 0x97)
    (38, "alcohol", "vtt_zoom"),
    (131, "smoking", "vtt_teams"),
    (8, "smoking", "srt_every_cue"),          # label on every cue
    (40, "drugs", "srt_on_change"),           # label only where the speaker changes
    (114, "alcohol", "docx"),
    (126, "medication", "csv"),
    (53, "alcohol", "tsv"),
    (11, "recidivism", "xlsx"),
]

EXTENSION = {
    "txt_bracket_bom": ".txt", "txt_paren_crlf": ".txt", "txt_bare_utf16": ".txt",
    "txt_cp1252": ".txt", "vtt_zoom": ".vtt", "vtt_teams": ".vtt", "srt_every_cue": ".srt",
    "srt_on_change": ".srt", "docx": ".docx", "csv": ".csv", "tsv": ".tsv", "xlsx": ".xlsx",
}


@dataclass
class Utterance:
    utterance_id: int
    speaker: str  # Therapist | Client
    role: str  # therapist | client
    text: str
    raw_time: str  # as in AnnoMI
    time: str  # repaired hh:mm:ss
    start: float  # seconds, strictly increasing (captions)
    end: float
    behaviour: str
    talk_type: str


@dataclass
class Rendered:
    transcript_id: str
    annomi_id: int
    file: str
    style: str
    topic: str
    mi_quality: str
    title: str
    url: str
    utterances: list[Utterance]
    fixes: list[str]


def transcript_name(annomi_id: int, topic: str) -> str:
    return f"annomi_{annomi_id:03d}_{topic}"


def seconds(stamp: str) -> int:
    h, m, s = (int(part) for part in stamp.split(":"))
    return h * 3600 + m * 60 + s


def hms(total: float) -> str:
    total = int(total)
    return f"{total // 3600:02d}:{total % 3600 // 60:02d}:{total % 60:02d}"


def fix_times(raw: list[str]) -> tuple[list[str], list[float], list[str]]:
    """Repair AnnoMI's timestamps; return (hh:mm:ss per utterance, caption start seconds, notes).

    - A malformed stamp with a three-digit seconds field (``00:09:025``) loses the stray
      zero (``00:09:25``).
    - A stamp earlier than the one before it is clamped up to the one before it.
    - For captions, starts must strictly increase: utterances sharing a second are spread
      0.5 s apart (and any later one that this pushes past is pushed along too).
    """
    notes, fixed = [], []
    previous = 0
    for index, stamp in enumerate(raw):
        match = re.fullmatch(r"(\d\d):(\d\d):(\d\d)", stamp)
        if not match:
            repaired = re.fullmatch(r"(\d\d):(\d\d):0(\d\d)", stamp)
            if not repaired:
                raise ValueError(f"cannot repair timestamp {stamp!r}")
            new = ":".join(repaired.groups())
            notes.append(f"utterance {index}: malformed timestamp {stamp} read as {new}")
            stamp = new
        value = seconds(stamp)
        if value < previous:
            notes.append(f"utterance {index}: timestamp {stamp} is earlier than the one before "
                         f"it ({hms(previous)}); clamped to {hms(previous)}")
            value = previous
        fixed.append(hms(value))
        previous = value
    starts: list[float] = []
    for value in (seconds(s) for s in fixed):
        starts.append(max(float(value), starts[-1] + 0.5) if starts else float(value))
    return fixed, starts, notes


def load(source: Path) -> list[Rendered]:
    data = pd.read_csv(source, dtype=str, keep_default_na=False)
    out = []
    for annomi_id, topic_slug, style in SELECTION:
        rows = data[data.transcript_id == str(annomi_id)].copy()
        rows["order"] = rows.utterance_id.astype(int)
        rows = rows.sort_values("order")
        if rows.empty:
            raise SystemExit(f"AnnoMI transcript {annomi_id} not found in {source}")
        times, starts, notes = fix_times(rows.timestamp.tolist())
        utterances = []
        for i, (row, time, start) in enumerate(zip(rows.itertuples(), times, starts)):
            end = starts[i + 1] if i + 1 < len(starts) else start + 5.0
            utterances.append(Utterance(
                utterance_id=int(row.utterance_id), speaker=LABELS[row.interlocutor],
                role=row.interlocutor, text=row.utterance_text, raw_time=row.timestamp,
                time=time, start=start, end=end, behaviour=row.main_therapist_behaviour,
                talk_type=row.client_talk_type))
        first = rows.iloc[0]
        name = transcript_name(annomi_id, topic_slug)
        out.append(Rendered(
            transcript_id=name, annomi_id=annomi_id, file=name + EXTENSION[style], style=style,
            topic=first.topic.strip(), mi_quality=first.mi_quality, title=first.video_title.strip(),
            url=first.video_url.strip(), utterances=utterances, fixes=notes))
    return out


# ---------------------------------------------------------------- speaker-labelled text

def preamble(r: Rendered) -> list[str]:
    return [
        f"Title: {r.title}",
        f"Topic: {r.topic}",
        f"Source: AnnoMI transcript {r.annomi_id} ({r.mi_quality}-quality MI), "
        f"uccollab/AnnoMI, public domain. Video: {r.url}",
        "Recording date: not known (a demonstration video published before 2022)",
    ]


def render_text(r: Rendered) -> bytes:
    lines = preamble(r)
    if r.style == "txt_bracket_bom":
        # [hh:mm:ss] Label: text; a blank line between turns; long turns hard-wrapped at 78
        # columns as a typist's word processor would save them.
        lines.append("")
        for u in r.utterances:
            paragraph = f"[{u.time}] {u.speaker}: {u.text}"
            if len(paragraph) > 300:
                lines.extend(textwrap.wrap(paragraph, width=78, break_long_words=False,
                                           break_on_hyphens=False))
            else:
                lines.append(paragraph)
            lines.append("")
        return ("\n".join(lines)).encode("utf-8-sig")
    if r.style == "txt_paren_crlf":
        # (hh:mm:ss) LABEL: text; no blank lines between turns; Windows line endings.
        lines.append("")
        lines.extend(f"({u.time}) {u.speaker.upper()}: {u.text}" for u in r.utterances)
        return ("\r\n".join(lines) + "\r\n").encode("utf-8")
    if r.style == "txt_bare_utf16":
        lines.append("")
        for u in r.utterances:
            lines += [f"{u.time} {u.speaker}: {u.text}", ""]
        return "\n".join(lines).encode("utf-16")  # Python writes the BOM (little-endian)
    if r.style == "txt_cp1252":
        lines.append("Transcribed from the video; no timestamps.")
        lines.append("")
        for u in r.utterances:
            lines += [f"{u.speaker}: {u.text}", ""]
        return "\n".join(lines).encode("cp1252")
    raise ValueError(r.style)


# ---------------------------------------------------------------- captions

def split_text(text: str, limit: int) -> list[str]:
    """Split at single spaces into pieces of at most ``limit`` characters (a longer word
    stays whole), so that joining the pieces with one space gives ``text`` back."""
    if len(text) <= limit or "\n" in text:
        return [text]
    pieces, current = [], ""
    for word in text.split(" "):
        if current and len(current) + 1 + len(word) > limit:
            pieces.append(current)
            current = word
        else:
            current = f"{current} {word}" if current else word
    pieces.append(current)
    assert " ".join(pieces) == text
    return pieces


def cue_times(u: Utterance, pieces: list[str]) -> list[tuple[float, float]]:
    """Share the utterance's time between its cues in proportion to their length."""
    total = sum(len(p) for p in pieces)
    times, at = [], u.start
    for i, piece in enumerate(pieces):
        end = u.end if i == len(pieces) - 1 else at + (u.end - u.start) * len(piece) / total
        end = round(end, 3)
        times.append((at, end))
        at = end
    return times


def stamp(value: float, comma: bool = False) -> str:
    millis = int(round(value * 1000))
    h, rest = divmod(millis, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{',' if comma else '.'}{ms:03d}"


def render_vtt(r: Rendered) -> bytes:
    out = ["WEBVTT", ""]
    if r.style == "vtt_zoom":
        # Zoom: numbered cues, "Name: " prefix on every cue, long speech over several cues.
        number = 0
        for u in r.utterances:
            pieces = split_text(u.text, 120)
            for piece, (start, end) in zip(pieces, cue_times(u, pieces)):
                number += 1
                out += [str(number), f"{stamp(start)} --> {stamp(end)}", f"{u.speaker}: {piece}",
                        ""]
        return "\n".join(out).encode("utf-8")
    # Teams: a NOTE block, GUID/n-m cue ids, <v Name> voice tags.
    out += ["NOTE", f"Transcript of {r.title}.",
            f"Rendered from AnnoMI transcript {r.annomi_id} (public domain); timestamps repaired, "
            "see corpora/README.md.", ""]
    for u in r.utterances:
        guid = uuid.uuid5(TEAMS_NS, f"{r.annomi_id}/{u.utterance_id}")
        pieces = split_text(u.text, 160)
        for part, (piece, (start, end)) in enumerate(zip(pieces, cue_times(u, pieces))):
            out += [f"{guid}/{u.utterance_id + 10}-{part}", f"{stamp(start)} --> {stamp(end)}",
                    f"<v {u.speaker}>{piece}</v>", ""]
    return "\n".join(out).encode("utf-8")


def render_srt(r: Rendered) -> bytes:
    # Cues of at most two lines of about 42 characters, as subtitle tools lay them out.
    out, number, previous = [], 0, None
    for u in r.utterances:
        pieces = split_text(u.text, 84)
        for piece, (start, end) in zip(pieces, cue_times(u, pieces)):
            number += 1
            label = r.style == "srt_every_cue" or u.speaker != previous
            body = f"{u.speaker}: {piece}" if label else piece
            previous = u.speaker
            out += [str(number), f"{stamp(start, True)} --> {stamp(end, True)}",
                    *textwrap.wrap(body, width=46, break_long_words=False,
                                   break_on_hyphens=False), ""]
    return "\n".join(out).encode("utf-8")


# ---------------------------------------------------------------- Word

def fixed_zip(data: bytes) -> bytes:
    """Rewrite a zip archive with fixed member timestamps so reruns give identical bytes."""
    source = zipfile.ZipFile(io.BytesIO(data))
    target_buffer = io.BytesIO()
    with zipfile.ZipFile(target_buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            info = zipfile.ZipInfo(item.filename, date_time=FIXED_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = item.external_attr
            content = source.read(item.filename)
            if item.filename == "docProps/core.xml":  # openpyxl stamps the save time here
                content = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>2024-01-01T00:00:00Z",
                                 content)
            target.writestr(info, content)
    return target_buffer.getvalue()


def render_docx(r: Rendered) -> bytes:
    document = Document()
    document.core_properties.author = "reltext"
    document.core_properties.title = r.title
    from datetime import datetime
    document.core_properties.created = datetime(2024, 1, 1)
    document.core_properties.modified = datetime(2024, 1, 1)
    document.core_properties.last_modified_by = "reltext"
    document.core_properties.revision = 1
    document.add_heading(r.title, level=1)
    meta = document.add_paragraph()
    run = meta.add_run(f"AnnoMI transcript {r.annomi_id} \u00b7 topic: {r.topic} \u00b7 "
                       f"{r.mi_quality}-quality MI \u00b7 public domain \u00b7 {r.url}")
    run.italic = True
    run.font.size = Pt(9)
    # Continue the longest utterance in a second, unlabelled paragraph (split at a sentence).
    longest = max(r.utterances, key=lambda u: len(u.text) if ". " in u.text else 0)
    for u in r.utterances:
        text, continuation = u.text, None
        if u is longest:
            cut = u.text.find(". ", len(u.text) // 2) + 1 or u.text.rfind(". ") + 1
            text, continuation = u.text[:cut], u.text[cut + 1:]
        paragraph = document.add_paragraph()
        paragraph.add_run(u.speaker).bold = True
        paragraph.add_run(": " + text)  # a "\n" in the text becomes a line break
        if continuation:
            document.add_paragraph(continuation)
    buffer = io.BytesIO()
    document.save(buffer)
    return fixed_zip(buffer.getvalue())


# ---------------------------------------------------------------- turn tables

TABLE_COLUMNS = ["transcript_id", "turn_id", "speaker", "text", "role", "timestamp",
                 "main_therapist_behaviour", "client_talk_type"]


def table_rows(r: Rendered) -> list[list[str]]:
    return [[r.transcript_id, str(u.utterance_id), u.speaker, u.text, u.role, u.time,
             u.behaviour, u.talk_type] for u in r.utterances]


def render_table(r: Rendered) -> bytes:
    if r.style in ("csv", "tsv"):
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter="," if r.style == "csv" else "\t",
                            lineterminator="\n")
        writer.writerow(TABLE_COLUMNS)
        writer.writerows(table_rows(r))
        return buffer.getvalue().encode("utf-8")
    from openpyxl import Workbook
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "turns"
    sheet.append(TABLE_COLUMNS)
    for row in table_rows(r):
        sheet.append(row)
    from datetime import datetime
    workbook.properties.creator = "reltext"
    workbook.properties.created = datetime(2024, 1, 1)
    workbook.properties.modified = datetime(2024, 1, 1)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return fixed_zip(buffer.getvalue())


RENDERERS = {
    "txt_bracket_bom": render_text, "txt_paren_crlf": render_text,
    "txt_bare_utf16": render_text, "txt_cp1252": render_text, "vtt_zoom": render_vtt,
    "vtt_teams": render_vtt, "srt_every_cue": render_srt, "srt_on_change": render_srt,
    "docx": render_docx, "csv": render_table, "tsv": render_table, "xlsx": render_table,
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--out", type=Path, default=HERE / "annomi")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for r in load(args.source):
        (args.out / r.file).write_bytes(RENDERERS[r.style](r))
        speakers = sorted({u.speaker for u in r.utterances})
        print(f"{r.file}: {len(r.utterances)} utterances, speakers {speakers}, "
              f"{r.topic}, {r.mi_quality} MI")
        for note in r.fixes:
            print(f"  fixed {note}")


if __name__ == "__main__":
    main()
