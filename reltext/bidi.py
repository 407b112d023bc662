"""Names and ids from the project shown beside other text, kept from reordering it.

A speaker's name may hold right-to-left letters or a bidi control (a right-to-left override
left open, by accident or not); set beside a role or an id, it would reverse them on the
screen, in the terminal and in a Word document alike. Each such value goes inside a Unicode
bidi isolate (U+2068 ... U+2069), which closes whatever it opened.

Example:
    >>> isolated("Bob\\u202eevil") + " (client)"
    '\\u2068Bob\\u202eevil\\u2069 (client)'
"""

from __future__ import annotations

import unicodedata

# Bidi classes that can reorder the text around a value: right-to-left letters and the
# explicit embeddings, overrides and isolates.
_BIDI = frozenset({"R", "AL", "LRE", "RLE", "LRO", "RLO", "PDF", "LRI", "RLI", "FSI", "PDI"})


def isolated(text: str) -> str:
    """``text`` in a bidi isolate when it holds right-to-left letters or bidi controls, so
    it cannot reorder what surrounds it; else as it is."""
    if any(unicodedata.bidirectional(char) in _BIDI for char in text):
        return f"\u2068{text}\u2069"
    return text
