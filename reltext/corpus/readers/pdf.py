"""PDF transcripts with a text layer, as transcription services and archives deliver them.

The text of each page (pypdf's extraction) is read as speaker-labelled text; page numbers
on a line of their own ("Page 2 of 9", "- 3 -") at the top or bottom of a page are left out,
so they never join a turn. A scanned PDF has no text to read: it needs OCR first.
"""

from __future__ import annotations

import io
import logging
import re

from ...errors import TranscriptFormatError
from ...model import Transcript
from .labelled import parse_labelled

_PAGE_NUMBER = re.compile(r"^[ \t]*[-–]?[ \t]*(?:page[ \t]*)?\d+(?:[ \t]*(?:of|/)[ \t]*\d+)?"
                          r"[ \t]*[-–]?[ \t]*$", re.IGNORECASE)


def parse_pdf(transcript_id: str, data: bytes, *, source: str) -> Transcript:
    """Read a PDF's text layer as a speaker-labelled transcript.

    The stored text is the pages' text joined by newlines, without page-number lines;
    turn offsets point into it as for a text file.

    Raises:
        TranscriptFormatError: the file is not a readable PDF, or has no text layer.
    """
    from pypdf import PdfReader  # imported here, as only PDF files need it
    from pypdf.errors import PdfReadError

    logging.getLogger("pypdf").setLevel(logging.ERROR)  # its notes on odd files are not ours
    try:
        pages = [page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages]
    except (PdfReadError, ValueError, KeyError, OSError) as error:
        raise TranscriptFormatError(
            "not a readable PDF (it may be damaged, encrypted or a renamed file)", path=source,
            fix="Open it in a PDF reader and save or export it again, or as plain text.",
        ) from error
    text = "\n".join(_without_page_numbers(page) for page in pages).strip("\n")
    if not text.strip():
        raise TranscriptFormatError(
            "the PDF has no text layer (it is probably a scan)", path=source,
            fix="Run OCR on it (e.g. ocrmypdf) or export the transcript as text or Word.",
        )
    return parse_labelled(transcript_id, text, source=source, format="pdf")


def _without_page_numbers(page: str) -> str:
    lines = page.replace("\r\n", "\n").replace("\r", "\n").rstrip("\n").split("\n")
    while lines and (not lines[-1].strip() or _PAGE_NUMBER.match(lines[-1])):
        lines.pop()
    while lines and (not lines[0].strip() or _PAGE_NUMBER.match(lines[0])):
        lines.pop(0)
    return "\n".join(lines)
