"""Coders: anything that reads turns and says which codes apply where.

A coder is passed in, not subclassed: any object with a ``code`` method of this shape will do.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class TurnInput:
    """A turn to code: a key the caller knows it by, its text and its speaker's role."""

    key: str
    text: str
    role: str = ""


@dataclass(frozen=True, slots=True)
class CodeMatch:
    """One code found on a span of a turn.

    ``start_char``/``end_char`` are half-open offsets into the turn's text; ``evidence`` names
    the rule and the matched text, e.g. ``trust/phrase/3: 'rely on'``.
    """

    key: str
    code: str
    start_char: int
    end_char: int
    confidence: float
    evidence: str


class Coder(Protocol):
    """What reltext needs of a coder."""

    def code(self, items: Iterable[TurnInput]) -> Iterator[CodeMatch]:
        """The codes found in ``items``, turn by turn, in input order."""
        ...


__all__ = ["CodeMatch", "Coder", "TurnInput"]
