"""Effective codings: what a coder's codings say once the team's review decisions apply.

Every analysis reads codings through this module, so that the viewer, the report and the
notebook functions agree on one rule:

- A coding's status is its **latest** decision (decisions are append-only), whoever the
  reviewer; decisions that leave no state (a memo) are passed over, and where the schema
  records the state a decision leaves (``status``, so that an undo restores the state
  before), that state is used.
- rejected (``reject``): the coding is left out, as is one whose state is ``absent``.
- corrected (``correct``): the coding counts with the decision's ``code`` (and span, when
  the decision gives one) instead of its own.
- accepted (``accept``), pending, or no decision: the coding counts as it is.

The unit of every analysis is the turn a coder has *coded* (``coded_turns``): a coded turn
with no codings is a real zero, a turn the coder never saw is not counted at all. The viewer
keeps that table as a :class:`CodedTurns` and applies each new decision to it.

Example:
    >>> from reltext.review.effective import coded_turns, default_coder
    >>> coder = default_coder(project.store)
    >>> turns = coded_turns(project.store, coder)
    >>> turns[["transcript_id", "turn_id", "codes"]].head()
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pandas as pd

from ..errors import ReltextError
from ..exchange.tables import codings_frame, turns_frame
from ..store.database import Store

# Speaker roles that mark the person an interview is about (rather than the interviewer).
PARTICIPANT_ROLES = frozenset(
    {"client", "participant", "service user", "service_user", "patient", "respondent",
     "interviewee", "person", "carer"}
)


def default_coder(store: Store) -> str:
    """The coder analyses use when none is named.

    The automatic coder (rules or learned) with the most codings, else the human coder with
    the most codings.

    Raises:
        ReltextError: the project has no codings yet.
    """
    with store.read() as conn:
        coders = store.coders(conn)
    if not coders:
        raise ReltextError(
            "the project has no codings yet",
            path=store.path,
            fix="Run 'reltext code', or 'reltext import-codings FILE --coder human:NAME'.",
        )
    automatic = [row for row in coders if not row["coder"].startswith("human:")]
    pool = automatic or coders
    return max(pool, key=lambda row: (row["codings"], row["turns"]))["coder"]


def check_coder(store: Store, coder: str | None) -> str:
    """``coder`` when the project has it, the default coder when None.

    Raises:
        ReltextError: the project has no coder of that name.
    """
    if coder is None:
        return default_coder(store)
    with store.read() as conn:
        known = [row["coder"] for row in store.coders(conn)]
    if coder not in known:
        raise ReltextError(
            f"no coder {coder!r} in this project",
            path=store.path,
            fix=f"Use one of: {', '.join(known) or '(none yet)'} (see 'reltext coders').",
        )
    return coder


def effective_codings(store: Store, coder: str | None = None, *,
                      transcript_ids: list[str] | None = None) -> pd.DataFrame:
    """A coder's codings with the latest review decision applied to each.

    Args:
        store: The project database.
        coder: The coder; the :func:`default_coder` when None.
        transcript_ids: Only the codings of these transcripts (all when None).

    Returns:
        The codings export's columns plus ``role``, ``coding_id``, ``turn_pk``, ``status``
        (``unreviewed``, ``accepted`` or ``corrected``) and ``reviewer``; rejected codings
        are absent, corrected ones carry the corrected code, span and span text.
    """
    coder = check_coder(store, coder)
    frame = codings_frame(store, coder=coder, transcript_ids=transcript_ids)
    with store.read() as conn:
        decisions = pd.DataFrame(
            store.review_states(conn),
            columns=["coding_id", "reviewer", "verdict", "status", "code", "start_char",
                     "end_char", "decided_at"],
        )
        turn_text = {pk: text for pk, text in store.turn_keys(conn).values()}
    frame = frame.merge(
        decisions.add_prefix("decision_"), how="left", left_on="coding_id",
        right_on="decision_coding_id",
    )
    frame = frame[~frame["decision_status"].isin(["rejected", "absent"])].copy()
    corrected = frame["decision_status"].eq("corrected")
    for column in ("code", "start_char", "end_char"):
        replacement = frame[f"decision_{column}"]
        use = corrected & replacement.notna()
        frame[column] = replacement.where(use, frame[column])
    respanned = corrected & (frame["decision_start_char"].notna() | frame["decision_end_char"].notna())
    for index in frame.index[respanned]:
        text = turn_text.get(frame.at[index, "turn_pk"], "")
        frame.at[index, "text"] = text[int(frame.at[index, "start_char"]):
                                        int(frame.at[index, "end_char"])]
    frame["status"] = frame["decision_status"].where(
        frame["decision_status"].isin(["accepted", "corrected"]), "unreviewed")
    frame["reviewer"] = frame["decision_reviewer"]
    frame = frame.drop(columns=[c for c in frame.columns if c.startswith("decision_")])
    frame[["start_char", "end_char"]] = frame[["start_char", "end_char"]].astype(int)
    return frame.reset_index(drop=True)


# The codings export's review columns (the contract's, after its first twelve).
REVIEW_COLUMNS = ["status", "reviewer", "final_code"]


def codings_with_review(store: Store, coder: str | None = None) -> pd.DataFrame:
    """Every coding (one coder's, if given) with its review state, as the export has it.

    ``status`` is the coding's latest decision by anyone (``pending`` without one),
    ``reviewer`` who made it, and ``final_code`` the code the coding ends as: the corrected
    code, none when rejected, else its own. A code a reviewer added and then removed or
    undid is withdrawn: it is not a coding any more, and is left out.
    """
    frame = codings_frame(store, coder=coder)
    with store.read() as conn:
        latest = {row["coding_id"]: row for row in store.review_states(conn)}
    states = [latest.get(coding_id) for coding_id in frame["coding_id"]]
    frame["status"] = [state["status"] if state else "pending" for state in states]
    frame["reviewer"] = [state["reviewer"] if state else "" for state in states]
    frame["final_code"] = [
        "" if status == "rejected" else state["code"] if status == "corrected" and state["code"]
        else code for code, status, state in zip(frame["code"], frame["status"], states)]
    return frame[frame["status"].ne("absent")].reset_index(drop=True)


def coded_turns(store: Store, coder: str | None = None) -> pd.DataFrame:
    """One row per turn ``coder`` has coded, with its effective codes: the analyses' unit.

    Columns: the turns export's columns, then ``position`` (order in the transcript),
    ``codes`` (a sorted tuple of distinct code keys, empty when nothing applies),
    ``codings`` (number of effective codings), ``role`` (the speaker label in lower case
    where no role was given), ``participant`` (the transcript's ``participant_id``, else its
    id), ``wave`` (the transcript's ``wave``, else empty) and ``is_participant`` (the turn is
    the interviewed person's own: its role is the transcript's ``role`` or a participant role
    such as ``client``).
    """
    return CodedTurns.read(store, check_coder(store, coder)).table()


class CodedTurns:
    """The table of :func:`coded_turns`, kept current as review decisions come in.

    The turns and their metadata do not change with a decision, and decisions are only ever
    appended: :meth:`update` reads just those made since the last read and recounts the
    codes of their turns, so a viewer pays for the new decisions, not for the whole table.
    The rule is :func:`effective_codings`'s: a rejected coding (or one left ``absent``) is
    left out, a corrected one counts with its new code, any other as it is.

    Example:
        >>> live = CodedTurns.read(store, coder)
        >>> live.table()  # later, after more decisions: live.update(store).table()
    """

    def __init__(self, turns: pd.DataFrame, turn_pks: list[int],
                 codings: list[tuple[int, int, str]]) -> None:
        self._turns = turns
        row_of = {turn_pk: row for row, turn_pk in enumerate(turn_pks)}
        # Codings on turns that are not in the table (not current, not marked coded) do
        # not count.
        self._codings = {pk: (row_of[turn_pk], code) for pk, turn_pk, code in codings
                         if turn_pk in row_of}
        self._on_row: dict[int, list[int]] = {}
        for pk, (row, _) in self._codings.items():
            self._on_row.setdefault(row, []).append(pk)
        self._states: dict[int, tuple[str, str | None]] = {}  # coding pk -> status, code
        self._codes: list[tuple[str, ...]] = [()] * len(turns)
        self._counts = [0] * len(turns)
        self._recount(set(self._on_row))
        self._last_pk = 0  # the newest decision read
        self._read = 0  # how many decisions there were up to it
        self._lock = threading.Lock()  # the viewer's sessions share one

    @classmethod
    def read(cls, store: Store, coder: str, turns: TurnTable | None = None) -> CodedTurns:
        """``coder``'s coded turns, with every decision so far applied.

        ``turns``, the project's :func:`read_turns` when its transcripts have not changed
        since, saves reading them again (half the time): a coding run changes only codings.
        """
        with _without_gc():
            table, turn_pks = turns if turns is not None else read_turns(store)
            with store.read() as conn:
                coded = store.turns_marked_coded(conn, coder)
                codings = store.coder_codings(conn, coder)
            keep = turn_pks.isin(coded)
            if not keep.all():
                table, turn_pks = table[keep].reset_index(drop=True), turn_pks[keep]
            return cls(table, turn_pks.tolist(), codings).update(store)

    def update(self, store: Store) -> CodedTurns:
        """Apply the decisions made since the last read; returns itself."""
        with self._lock, store.read() as conn:
            before, rows = store.decisions_after(conn, self._last_pk)
            touched = set()
            if before != self._read:
                # A decision was removed, or one committed out of key order (possible on a
                # database server): read them all again.
                self._states.clear()
                self._last_pk = 0
                before, rows = store.decisions_after(conn, 0)
                touched = set(self._on_row)
            for _, coding_pk, status, code in rows:
                if status is not None and coding_pk in self._codings:
                    self._states[coding_pk] = (status, code)
                    touched.add(self._codings[coding_pk][0])
            self._last_pk = rows[-1][0] if rows else self._last_pk
            self._read = before + len(rows)
            self._recount(touched)
        return self

    def table(self) -> pd.DataFrame:
        """The coded turns as they stand: a new table each call."""
        with self._lock:
            codes, counts = list(self._codes), list(self._counts)
        frame = self._turns.copy(deep=False)
        at = frame.columns.get_loc("position") + 1
        frame.insert(at, "codes", codes)
        frame.insert(at + 1, "codings", counts)
        return frame

    def _recount(self, rows: set[int]) -> None:
        for row in rows:
            codes = [code for code in map(self._effective, self._on_row[row])
                     if code is not None]
            self._codes[row] = tuple(sorted(set(codes)))
            self._counts[row] = len(codes)

    def _effective(self, coding_pk: int) -> str | None:
        """The code a coding counts with, None when it is left out."""
        own = self._codings[coding_pk][1]
        status, code = self._states.get(coding_pk, (None, None))
        if status in ("rejected", "absent"):
            return None
        return code if status == "corrected" and code is not None else own


@contextmanager
def _without_gc() -> Iterator[None]:
    """The cyclic garbage collector paused: reading some 100,000 rows sets it off again and
    again over the whole heap (40% of the time), and these rows make no cycles."""
    paused = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


# Every current turn with its metadata described (see _describe_turns), and its key.
TurnTable = tuple[pd.DataFrame, pd.Series]


def read_turns(store: Store) -> TurnTable:
    """Every current turn, described as :func:`coded_turns` describes it, with its key:
    what any coder's coded turns are made from."""
    with _without_gc():
        turns = turns_frame(store, turn_pk=True)
        turns["position"] = turns.groupby("transcript_id", sort=False).cumcount()
        turn_pks = turns.pop("turn_pk")
        return _describe_turns(turns), turn_pks


def _describe_turns(turns: pd.DataFrame) -> pd.DataFrame:
    """The turns' ``role`` filled in, and their ``participant``, ``wave`` and
    ``is_participant``."""
    # Plain lists here: per-row pandas calls cost seconds on 50,000 turns.
    turns["role"] = [
        role if isinstance(role, str) and role else str(speaker).strip().lower()
        for role, speaker in zip(turns["role"].tolist(), turns["speaker"].tolist())
    ]
    turns["participant"] = (
        turns["participant_id"].where(turns["participant_id"].notna() & turns["participant_id"].ne(""),
                                      turns["transcript_id"])
        if "participant_id" in turns else turns["transcript_id"]
    ).astype(str)
    turns["wave"] = turns["wave"].fillna("").astype(str) if "wave" in turns else ""
    transcript_role = turns.get("transcript_role", None)
    own_roles = transcript_role.tolist() if transcript_role is not None else [None] * len(turns)
    turns["is_participant"] = [
        role in PARTICIPANT_ROLES or role == own
        for role, own in zip(turns["role"].tolist(), own_roles)
    ]
    return turns


def coders(store: Store) -> list[str]:
    """Every coder that has coded turns, by name."""
    with store.read() as conn:
        return [row["coder"] for row in store.coders(conn)]


def coded_turns_version(store: Store, coder: str) -> tuple[str, tuple, int]:
    """What a coder's coded turns depend on: the project, the transcripts with the coder's
    turns and codings, and the newest decision."""
    with store.read() as conn:
        return str(store.path), store.coder_version(conn, coder), store.coding_version(conn)[1]
