"""The domain objects of reltext: transcripts, turns, codes and codings. No I/O here."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import StrEnum
from typing import Any


def utc_now() -> datetime:
    """The current time in UTC, to the second, as every stored timestamp is."""
    return datetime.now(timezone.utc).replace(microsecond=0)


#: Roles of a research interviewer: by codebook spec v1.1 their turns are context, never data.
INTERVIEWER_ROLES = frozenset({"interviewer", "researcher", "research interviewer"})


def is_interviewer(role: str | None) -> bool:
    """A research interviewer's turn (by its role, or its speaker label when it has none)."""
    return (role or "").strip().lower() in INTERVIEWER_ROLES


@dataclass(frozen=True, slots=True)
class Turn:
    """One speaker turn of a transcript.

    ``start_char``/``end_char`` are half-open Python ``str`` offsets into the
    transcript's stored text, so ``transcript.text[turn.start_char:turn.end_char] == turn.text``.

    Example:
        >>> Turn(turn_id="0", index=0, speaker="Sam", text="Hi.", start_char=5, end_char=8)
        Turn(turn_id='0', index=0, speaker='Sam', text='Hi.', start_char=5, end_char=8, ...)
    """

    turn_id: str
    index: int
    speaker: str
    text: str
    start_char: int
    end_char: int
    role: str = ""
    timestamp: str | None = None
    end_timestamp: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Transcript:
    """A transcript as read from one source: its stored text, its turns and its metadata.

    ``meta`` holds the transcript's attributes (participant id, role, wave, site, date, the
    preamble of a text file, ...). ``source`` is the file it came from.
    """

    transcript_id: str
    text: str
    turns: tuple[Turn, ...]
    format: str
    source: str = ""
    meta: dict[str, Any] = field(default_factory=dict)

    def check_offsets(self) -> None:
        """Raise ``ValueError`` unless every turn's offsets select exactly its text."""
        for turn in self.turns:
            if self.text[turn.start_char : turn.end_char] != turn.text:
                raise ValueError(
                    f"turn {turn.turn_id} of {self.transcript_id} has offsets "
                    f"{turn.start_char}:{turn.end_char} that do not select its text"
                )


class Origin(StrEnum):
    """What kind of coder made a coding."""

    RULE = "rule"
    CLASSIFIER = "classifier"
    TOPIC = "topic"
    HUMAN = "human"


class Verdict(StrEnum):
    """A reviewer's decision on a coding.

    ``accept``, ``reject`` and ``correct`` (a new code and/or span) judge a coding; a code a
    reviewer adds is a new ``human:<reviewer>`` coding with an ``accept``, and ``remove``
    takes such a code of one's own away again (it is then ``absent``). ``memo`` attaches a
    note and leaves the coding's state as it was; ``undo`` takes back the reviewer's last
    decision still standing and restores the state recorded before it.
    """

    ACCEPT = "accept"
    REJECT = "reject"
    CORRECT = "correct"
    MEMO = "memo"
    UNDO = "undo"
    REMOVE = "remove"


class ReviewStatus(StrEnum):
    """The state a reviewer's decisions leave a coding in (``absent``: an added code undone
    or removed)."""

    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    CORRECTED = "corrected"
    ABSENT = "absent"


@dataclass(frozen=True, slots=True)
class Decision:
    """A reviewer's decision on a coding, as appended to the review log.

    ``status``, ``code`` and the span are the coding's state for the reviewer after the
    decision (``status`` None: an old memo that left no state); ``previous`` is the state
    before it (``status, code, start_char, end_char, decision_id``), which an undo restores;
    ``undoes`` is the decision an ``undo`` takes back. ``decided_at`` is ISO 8601 UTC.
    """

    decision_id: str
    coding_pk: int
    coding_id: str
    reviewer: str
    verdict: Verdict
    code: str | None
    start_char: int | None
    end_char: int | None
    status: ReviewStatus | None
    previous: dict[str, Any] | None
    decided_at: str
    note: str | None = None
    undoes: str | None = None


@dataclass(frozen=True, slots=True)
class Answer:
    """A reviewer's answer to the learned coder's question: does ``code`` apply to the turn?

    ``applies`` None withdraws the reviewer's answer on the pair; ``undoes`` is the answer an
    undo takes back (the undo restores the reviewer's answer before it, or withdraws it).
    ``model_id`` and ``probability`` record what asked and how sure it was.
    """

    answer_id: str
    turn_pk: int
    transcript_id: str
    turn_id: str
    code: str
    reviewer: str
    applies: bool | None
    answered_at: str
    model_id: str | None = None
    probability: float | None = None
    undoes: str | None = None

    @property
    def says(self) -> str:
        """``applies``, ``does not apply`` or ``withdrawn``."""
        if self.applies is None:
            return "withdrawn"
        return "applies" if self.applies else "does not apply"


#: One entry of the review log: a decision on a coding or an answer to a question.
ReviewEntry = Decision | Answer


@dataclass(frozen=True, slots=True)
class Coding:
    """One code applied to a span of a turn.

    ``start_char``/``end_char`` are half-open offsets into the *turn's* text.
    ``coder`` names who or what made it: ``"rules:relational@1.0"``, ``"human:alice"``.
    """

    coding_id: str
    transcript_id: str
    turn_id: str
    code: str
    start_char: int
    end_char: int
    coder: str
    origin: Origin
    confidence: float | None = None
    evidence: str | None = None
    created_at: datetime = field(default_factory=utc_now)
