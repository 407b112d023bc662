"""Decoding transcript files whatever encoding and line endings their authors' tools used."""

from __future__ import annotations

import codecs
import warnings
from pathlib import Path

from ...errors import TranscriptFormatError


# The bytes Windows-1252 leaves undefined (Python's codec refuses them).
_CP1252_UNDEFINED = (b"\x81", b"\x8d", b"\x8f", b"\x90", b"\x9d")


class EncodingWarning(UserWarning):
    """A file was not UTF-8 and was decoded with a fallback encoding."""


def decode_text(data: bytes, path: str | Path) -> str:
    """Decode ``data`` to ``str`` with ``\\n`` line endings and no byte-order mark.

    UTF-8 (with or without BOM) and UTF-16 with a BOM are read as such; anything else that
    is not valid UTF-8 is read as Windows-1252, with an :class:`EncodingWarning` (the few
    bytes Windows-1252 does not define become U+FFFD, and the warning says so).

    Raises:
        TranscriptFormatError: the file is empty or is binary rather than text.
    """
    if not data.strip():
        raise TranscriptFormatError(
            "the file is empty", path=path, fix="Check that it is the transcript you meant."
        )
    if data.startswith(codecs.BOM_UTF8):
        text = _strict(data[len(codecs.BOM_UTF8):], "utf-8", path)
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        # A lone surrogate is kept here and replaced, with a warning, at ingest.
        text = _strict(data, "utf-16", path, errors="surrogatepass")
    elif b"\x00" in data:
        raise _binary(path)
    else:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = data.decode("cp1252", errors="replace")
            # The five bytes cp1252 leaves undefined became U+FFFD: a few are a stray byte,
            # many mean the file is not text at all.
            undefined = text.count("\ufffd")
            if undefined > max(3, len(data) // 100):
                raise _binary(path)
            unknown = ""
            if undefined:
                first = min(i for i in map(data.find, _CP1252_UNDEFINED) if i >= 0)
                unknown = (f", where {undefined} byte(s) it does not define became U+FFFD "
                           f"(the first 0x{data[first]:02X}, at byte {first})")
            warnings.warn(
                EncodingWarning(f"{path}: not UTF-8; read as Windows-1252 (cp1252){unknown}. "
                                "Save it as UTF-8 to be sure of its characters."),
                stacklevel=2,
            )
    if _looks_binary(text):
        raise _binary(path)
    return normalise_newlines(text)


def normalise_newlines(text: str) -> str:
    """CRLF (Windows) and lone CR (old Mac) line endings become ``\\n``."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _strict(data: bytes, encoding: str, path: str | Path, errors: str = "strict") -> str:
    try:
        return data.decode(encoding, errors)
    except UnicodeDecodeError as error:
        raise TranscriptFormatError(
            f"the file starts with a {encoding.upper()} byte-order mark but is not valid "
            f"{encoding.upper()} at byte {error.start}",
            path=path,
            fix="Re-save it from its editor as UTF-8.",
        ) from error


def _looks_binary(text: str) -> bool:
    controls = sum(1 for char in text[:4096] if ord(char) < 32 and char not in "\t\n\r\f\v")
    return "\x00" in text or controls > max(3, len(text[:4096]) // 100)


def _binary(path: str | Path) -> TranscriptFormatError:
    return TranscriptFormatError(
        "the file is binary, not a text transcript",
        path=path,
        fix="Give a .txt, .vtt, .srt, .docx, .csv, .tsv or .xlsx transcript, "
        "or name its format with --format.",
    )
