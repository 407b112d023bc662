"""Word ``.docx`` transcripts: one labelled paragraph per turn, labels often in bold."""

from __future__ import annotations

import io
import zipfile

from ...errors import TranscriptFormatError
from ...model import Transcript
from .archive import check_members
from .labelled import Line, parse_labelled


def parse_docx(transcript_id: str, data: bytes, *, source: str) -> Transcript:
    """Read the paragraphs of a Word file as speaker-labelled text.

    Headings are never turns. A paragraph whose first bold run ends with ``:`` starts a
    turn by that speaker even if the label occurs only once. The stored text is the
    paragraphs joined by newlines.

    Raises:
        TranscriptFormatError: the file is not a Word document.
    """
    from docx import Document  # python-docx; imported here, as only .docx files need it

    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise _not_word(source)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        check_members(archive, source)
    try:
        document = Document(io.BytesIO(data))
    except Exception as error:  # python-docx raises several unrelated types here
        raise _not_word(source) from error
    texts: list[str] = []
    lines: list[Line] = []
    position = 0
    for paragraph in document.paragraphs:
        text = paragraph.text.replace("\r", "")
        style = (paragraph.style.name if paragraph.style is not None else "") or ""
        heading = style.lower().startswith(("heading", "title", "subtitle"))
        lines.append(Line(position, position + len(text), heading=heading,
                          bold_label=_bold_label(paragraph)))
        texts.append(text)
        position += len(text) + 1
    text = "\n".join(texts)
    if not text.strip():
        raise TranscriptFormatError("the Word document has no text", path=source,
                                    fix="Check that it is the transcript you meant.")
    return parse_labelled(transcript_id, text, source=source, format="docx", lines=lines)


def _bold_label(paragraph) -> str | None:
    """``Sam`` for a paragraph starting with a bold ``Sam:`` (the colon bold or not)."""
    bold = ""
    for run in paragraph.runs:
        if run.bold and not bold.endswith(":"):
            bold += run.text
            continue
        if bold and not bold.rstrip().endswith(":") and run.text.lstrip().startswith(":"):
            bold += ":"
        break
    label = bold.strip()
    if label.endswith(":") and 0 < len(label) - 1 <= 40 and "\n" not in label:
        return label[:-1].strip() or None
    return None


def _not_word(source: str) -> TranscriptFormatError:
    return TranscriptFormatError(
        "not a Word .docx document (it may be an old .doc, a PDF or a renamed file)",
        path=source,
        fix="Open it in Word or LibreOffice and save it as .docx, or as plain text.",
    )
