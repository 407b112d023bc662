"""Reading transcripts from the formats researchers have, detected by extension and content.

Example:
    >>> transcripts = read_transcripts("interviews/p01.vtt")
    >>> transcripts[0].turns[0].speaker
    'Interviewer'
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from ...errors import TranscriptFormatError
from ...files import read_input
from ...model import Transcript
from .captions import looks_like_srt, parse_srt, parse_vtt
from .docx import parse_docx
from .encoding import EncodingWarning, decode_text
from .labelled import parse_labelled
from .pdf import parse_pdf
from .table import parse_delimited, parse_xlsx

__all__ = ["FORMATS", "EncodingWarning", "detect_format", "read_transcripts", "SUFFIXES"]

FORMATS = ("text", "vtt", "srt", "docx", "pdf", "csv", "tsv", "xlsx", "qdpx")
SUFFIXES = {
    ".txt": "text", ".text": "text", ".vtt": "vtt", ".srt": "srt", ".docx": "docx",
    ".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".xlsx": "xlsx",
    ".qdpx": "qdpx", ".qde": "qdpx", ".pdf": "pdf",
}


def detect_format(path: Path, data: bytes) -> str:
    """The format of a file, from its extension, checked against its first bytes."""
    if data.lstrip()[:5] == b"%PDF-":
        return "pdf"
    if data.startswith(b"PK"):
        if path.suffix.lower() == ".xlsx":
            return SUFFIXES[path.suffix.lower()]
        try:
            names = zipfile.ZipFile(path).namelist()
        except zipfile.BadZipFile:
            names = []
        if "word/document.xml" in names:
            return "docx"
        if any(name.lower().endswith(".qde") for name in names):
            return "qdpx"
        if any(name.startswith("xl/") for name in names):
            return "xlsx"
    suffix = SUFFIXES.get(path.suffix.lower())
    if suffix in ("docx", "pdf", "xlsx", "csv", "tsv", "qdpx"):
        return suffix
    head = data[:4096].lstrip(b"\xef\xbb\xbf")
    if head.startswith(b"WEBVTT"):
        return "vtt"
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        head = head.decode("utf-16", errors="ignore").encode("utf-8")
        if head.lstrip(b"\xef\xbb\xbf").startswith(b"WEBVTT"):
            return "vtt"
    try:
        if looks_like_srt(head.decode("utf-8", errors="ignore").replace("\r", "")):
            return "srt"
    except UnicodeDecodeError:
        pass
    return suffix or "text"


def read_transcripts(
    path: str | Path, *, format: str | None = None, transcript_id: str | None = None
) -> list[Transcript]:
    """Read the transcript(s) in ``path``: one for most formats, several for a turn table.

    Args:
        path: The file to read.
        format: One of :data:`FORMATS`; detected from the extension and content when None.
        transcript_id: The id of a single-transcript file; its name without extension
            when None.

    Raises:
        TranscriptFormatError: the file cannot be read as that format; the message names
            the file, the line and the fix.
    """
    path = Path(path)
    source = str(path)
    data = read_input(path, "file", fix="Check the path and its permissions.",
                      error=TranscriptFormatError)
    if not data.strip():
        raise TranscriptFormatError("the file is empty", path=path,
                                    fix="Check that it is the transcript you meant.")
    format = format or detect_format(path, data)
    if format not in FORMATS:
        raise TranscriptFormatError(f"unknown format {format!r}", path=path,
                                    fix=f"Use one of: {', '.join(FORMATS)}.")
    transcript_id = transcript_id or path.stem
    if format == "qdpx":
        from .refi import read_qdpx  # the project reader builds on this package

        transcripts = list(read_qdpx(path).transcripts)
    elif format == "docx":
        transcripts = [parse_docx(transcript_id, data, source=source)]
    elif format == "pdf":
        transcripts = [parse_pdf(transcript_id, data, source=source)]
    elif format == "xlsx":
        transcripts = parse_xlsx(data, source=source)
    else:
        text = decode_text(data, path)
        if format == "vtt":
            transcripts = [parse_vtt(transcript_id, text, source=source)]
        elif format == "srt":
            transcripts = [parse_srt(transcript_id, text, source=source)]
        elif format in ("csv", "tsv"):
            transcripts = parse_delimited(text, source=source,
                                          delimiter="\t" if format == "tsv" else ",")
        else:
            transcripts = [parse_labelled(transcript_id, text, source=source)]
    for transcript in transcripts:
        if not transcript.turns:
            raise TranscriptFormatError("found no speaker turns", path=path,
                                        fix="Check that the file holds a transcript.")
    return transcripts
