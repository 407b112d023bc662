"""Reviewing auto-codes: the queue, the decisions, the one undo, each reviewer's view, and
agreement.

Decisions are appended, never written over: each records its reviewer, time, the state the
coding was in before (``previous``) and the state it leaves it in (``status``, ``code`` and
span), so a coding's status for a reviewer is their latest decision on it. A code a reviewer
adds is a new ``human:<reviewer>`` coding with an ``accept``. Each decision id is made before
it is sent, so a form sent twice records one decision.

Decisions and the answers to the learned coder's questions (:mod:`reltext.learning.questions`)
are one review log, in the order they were made. :func:`undo_last` takes back the reviewer's
latest entry of either kind still standing: it appends an ``undo`` decision restoring the
state recorded before the decision, or an answer restoring the reviewer's answer on that turn
and code before (withdrawn when there was none).

Example:
    >>> store = Store.open("study.db")
    >>> item = review_queue(store, "alice", limit=1)[0]
    >>> decide(store, "alice", item["coding_id"], Verdict.ACCEPT)
    >>> agreement(store)            # auto vs alice, per code
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any
from uuid import NAMESPACE_URL, uuid4, uuid5

import pandas as pd
from sqlalchemy import Connection

from ..errors import ReltextError
from ..model import Answer, Decision, Origin, ReviewEntry, ReviewStatus, Verdict
from ..store.database import Store
from .agreement import cohen_kappa, krippendorff_alpha_nominal

# Decisions that leave a coding judged; ``pending`` and ``absent`` count as not reviewed.
DECIDED = {ReviewStatus.ACCEPTED, ReviewStatus.REJECTED, ReviewStatus.CORRECTED}
DECISION_COLUMNS = ["decision_id", "transcript_id", "turn_id", "coding_id", "coder",
                    "reviewer", "verdict", "status", "code", "start_char", "end_char", "note",
                    "previous", "undoes", "decided_at"]
REVIEW_NAMESPACE = uuid5(NAMESPACE_URL, "https://reltext/review")


def new_decision_id() -> str:
    """A fresh decision id; make it when drawing the form that will send the decision."""
    return uuid4().hex


def reviewer_coder(reviewer: str) -> str:
    """The coder name of the codes a reviewer adds: ``human:<reviewer>``."""
    return f"human:{reviewer}"


def check_reviewer(reviewer: str) -> str:
    """The reviewer's name, stripped; raises when it is empty or not a plain name."""
    name = (reviewer or "").strip()
    if not name or ":" in name or len(name) > 64:
        raise ReltextError(f"reviewer name {reviewer!r} is not usable",
                           fix="Give a short name without ':' (for example alice).")
    return name


# -- the queue ---------------------------------------------------------------------------


def review_queue(
    store: Store,
    reviewer: str,
    *,
    limit: int = 20,
    offset: int = 0,
    code: str | None = None,
    transcript_id: str | None = None,
    uncertain_first: bool | None = None,
) -> list[dict[str, Any]]:
    """The auto-codings still pending for ``reviewer``, most in need of a look first.

    The least confident come first (codings without a confidence before all others). With
    ``uncertain_first`` (by default, when the project holds the learned coder's codings) the
    learned coder's codings come first, most uncertain first: their confidence is a
    calibrated probability, so a coding at 0.5 is as likely wrong as right (uncertainty
    ``1 - |2p - 1|``); the others follow in confidence order.

    Returns:
        Dicts with the coding (``coding_id``, ``code``, span, ``confidence``, ``coder``,
        ``origin``, ``evidence``) and its turn (``transcript_id``, ``turn_id``, ``speaker``,
        ``role``, ``turn_text``).
    """
    with store.read() as conn:
        if uncertain_first is None:
            uncertain_first = store.has_learned_codings(conn)
        return store.review_queue(conn, reviewer, limit=limit, offset=offset, code=code,
                                  transcript_id=transcript_id, uncertain_first=uncertain_first)


def queue_size(
    store: Store, reviewer: str, *, code: str | None = None, transcript_id: str | None = None
) -> int:
    """How many auto-codings are still pending for ``reviewer``."""
    with store.read() as conn:
        return store.count_review_queue(conn, reviewer, code=code, transcript_id=transcript_id)


# -- decisions ---------------------------------------------------------------------------


def as_decision(row: Mapping[str, Any]) -> Decision:
    """A decision row of the store as a :class:`~reltext.model.Decision`."""
    return Decision(
        decision_id=row["decision_id"], coding_pk=row["coding_pk"], coding_id=row["coding_id"],
        reviewer=row["reviewer"], verdict=Verdict(row["verdict"]), code=row["code"],
        start_char=row["start_char"], end_char=row["end_char"],
        status=None if row["status"] is None else ReviewStatus(row["status"]),
        previous=row["previous"], decided_at=row["decided_at"], note=row["note"],
        undoes=row["undoes"])


def as_answer(row: Mapping[str, Any]) -> Answer:
    """An answer row of the store as an :class:`~reltext.model.Answer`."""
    return Answer(
        answer_id=row["answer_id"], turn_pk=row["turn_pk"], transcript_id=row["transcript_id"],
        turn_id=row["turn_id"], code=row["code"], reviewer=row["reviewer"],
        applies=None if row["applies"] is None else bool(row["applies"]),
        answered_at=row["answered_at"], model_id=row["model_id"],
        probability=row["probability"], undoes=row["undoes"])


def _decision(store: Store, conn: Connection, decision_id: str) -> Decision | None:
    row = store.decision(conn, decision_id)
    return None if row is None else as_decision(row)


def _latest_decision(store: Store, conn: Connection, coding_pk: int,
                     reviewer: str) -> Decision | None:
    """The reviewer's standing decision on a coding, or None."""
    row = store.latest_decision(conn, coding_pk, reviewer)
    return None if row is None else as_decision(row)


def _state_of(latest: Decision | None, coding: Mapping[str, Any]) -> dict[str, Any]:
    """The coding's state for a reviewer: from their latest decision, else pending as made."""
    if latest is None:
        return {"status": ReviewStatus.PENDING.value, "code": coding["code"],
                "start_char": coding["start_char"], "end_char": coding["end_char"],
                "decision_id": None}
    return {"status": latest.status, "code": latest.code, "start_char": latest.start_char,
            "end_char": latest.end_char, "decision_id": latest.decision_id}


def _check_span(start_char: int, end_char: int, turn_text: str) -> None:
    if not 0 <= start_char < end_char <= len(turn_text):
        raise ReltextError(
            f"span {start_char}:{end_char} is not inside the turn (0:{len(turn_text)})",
            fix="Choose a start before the end, both within the turn's text.",
        )


def _check_code(code: str, known_codes: Collection[str] | None) -> None:
    if known_codes and code not in known_codes:
        raise ReltextError(f"unknown code {code!r}",
                           fix=f"Use one of the codebook's codes: {', '.join(sorted(known_codes))}.")


def decide(
    store: Store,
    reviewer: str,
    coding_id: str,
    verdict: Verdict | str,
    *,
    code: str | None = None,
    start_char: int | None = None,
    end_char: int | None = None,
    note: str | None = None,
    decision_id: str | None = None,
    known_codes: Collection[str] | None = None,
) -> Decision:
    """Append a reviewer's ``accept``, ``reject``, ``correct``, ``memo`` or ``remove``.

    ``correct`` takes a new ``code`` and/or span (``start_char``/``end_char`` into the turn);
    ``memo`` takes a ``note`` and keeps the coding's state; ``remove`` takes away a code the
    reviewer added themself. Any verdict may carry a note.

    Returns:
        The decision as stored (the earlier one when ``decision_id`` was already recorded).

    Raises:
        ReltextError: unknown coding, unknown code, a span outside the turn, a correction
            that changes nothing, an empty memo, or removing someone else's code.
    """
    reviewer = check_reviewer(reviewer)
    verdict = Verdict(verdict)
    if verdict is Verdict.UNDO:
        raise ReltextError("undo is not a verdict on a coding", fix="Call undo_last instead.")
    decision_id = decision_id or new_decision_id()
    with store.write() as conn:
        done = _decision(store, conn, decision_id)
        if done is not None:
            return done
        found = store.codings_for_review(conn, [coding_id])
        if not found:
            raise ReltextError(f"no coding {coding_id!r} in the project",
                               fix="Reload the page: the coding list has changed.")
        coding = found[0]
        state = _state_of(_latest_decision(store, conn, coding["coding_pk"], reviewer), coding)
        new = dict(state)
        if verdict is Verdict.ACCEPT:
            new["status"] = ReviewStatus.ACCEPTED.value
        elif verdict is Verdict.REJECT:
            new["status"] = ReviewStatus.REJECTED.value
        elif verdict is Verdict.CORRECT:
            new["code"] = code if code is not None else state["code"]
            new["start_char"] = state["start_char"] if start_char is None else start_char
            new["end_char"] = state["end_char"] if end_char is None else end_char
            _check_code(new["code"], known_codes)
            _check_span(new["start_char"], new["end_char"], coding["turn_text"])
            if all(new[key] == state[key] for key in ("code", "start_char", "end_char")):
                raise ReltextError("the correction changes neither the code nor the span",
                                   fix="Pick another code or move the span, or accept it.")
            new["status"] = ReviewStatus.CORRECTED.value
        elif verdict is Verdict.REMOVE:
            if coding["coder"] != reviewer_coder(reviewer):
                raise ReltextError(f"this code is {coding['coder']}'s, not {reviewer}'s",
                                   fix="Remove only codes you added; reject an auto-code.")
            new["status"] = ReviewStatus.ABSENT.value
        elif not (note or "").strip():
            raise ReltextError("a memo needs some text", fix="Write the memo, then save it.")
        if state["status"] == ReviewStatus.ABSENT.value and verdict is not Verdict.MEMO:
            raise ReltextError("this code was withdrawn (undone or removed)",
                               fix="Add the code again instead.")
        previous = {key: state[key] for key in ("status", "code", "start_char", "end_char",
                                                "decision_id")}
        store.add_decision(conn, {
            "decision_id": decision_id, "coding_pk": coding["coding_pk"], "reviewer": reviewer,
            "verdict": verdict.value, "code": new["code"], "start_char": new["start_char"],
            "end_char": new["end_char"], "note": (note or "").strip() or None,
            "previous": previous, "status": new["status"],
        })
        return _decision(store, conn, decision_id)


def add_code(
    store: Store,
    reviewer: str,
    transcript_id: str,
    turn_id: str,
    code: str,
    *,
    start_char: int | None = None,
    end_char: int | None = None,
    note: str | None = None,
    decision_id: str | None = None,
    known_codes: Collection[str] | None = None,
) -> Decision:
    """Add a code the auto-coder missed, to a whole turn or to a span of it.

    Stores a ``human:<reviewer>`` coding (origin ``human``) and the reviewer's ``accept`` of
    it, whose ``previous`` state is ``absent``.

    Raises:
        ReltextError: unknown turn or code, or a span outside the turn.
    """
    reviewer = check_reviewer(reviewer)
    _check_code(code, known_codes)
    decision_id = decision_id or new_decision_id()
    with store.write() as conn:
        done = _decision(store, conn, decision_id)
        if done is not None:
            return done
        turn = store.turn_pk(conn, transcript_id, turn_id)
        if turn is None:
            raise ReltextError(f"no turn {turn_id!r} in transcript {transcript_id!r}",
                               fix="Pick a turn of a transcript in the project.")
        turn_pk, turn_text = turn
        start = 0 if start_char is None else start_char
        end = len(turn_text) if end_char is None else end_char
        _check_span(start, end, turn_text)
        # The coding id follows from the decision id, so a resent form adds one coding.
        coding_id = uuid5(REVIEW_NAMESPACE, decision_id).hex
        coding_pk = store.add_coding(conn, {
            "coding_id": coding_id, "turn_pk": turn_pk, "code": code, "start_char": start,
            "end_char": end, "coder": reviewer_coder(reviewer), "origin": Origin.HUMAN.value,
            "evidence": "review",
        })
        store.add_decision(conn, {
            "decision_id": decision_id, "coding_pk": coding_pk, "reviewer": reviewer,
            "verdict": Verdict.ACCEPT.value, "code": code, "start_char": start, "end_char": end,
            "note": (note or "").strip() or None, "status": ReviewStatus.ACCEPTED.value,
            "previous": {"status": ReviewStatus.ABSENT.value, "code": code, "start_char": start,
                         "end_char": end, "decision_id": None},
        })
        return _decision(store, conn, decision_id)


def last_undoable(store: Store, reviewer: str) -> ReviewEntry | None:
    """The decision or answer :func:`undo_last` would take back now, or None."""
    with store.read() as conn:
        return _last_standing(store, conn, reviewer)


def _last_standing(store: Store, conn: Connection, reviewer: str) -> ReviewEntry | None:
    found = store.last_standing_entry(conn, reviewer)
    if found is None:
        return None
    kind, entry_id = found
    if kind == "answer":
        return as_answer(store.answer_entry(conn, entry_id))
    return _decision(store, conn, entry_id)


def undo_last(store: Store, reviewer: str, *, undo_id: str | None = None) -> ReviewEntry | None:
    """Take back the reviewer's latest decision or answer still standing.

    A decision is taken back by an ``undo`` decision whose state is the one recorded before
    it; an answer by an answer that restores the reviewer's answer on that turn and code
    before it (withdrawn when there was none). Undoing again takes back the entry before,
    and so on.

    Returns:
        The entry appended, or None when there is nothing to take back or this ``undo_id``
        (made when the undo button is drawn) was sent before: a resent undo takes back
        nothing more.
    """
    reviewer = check_reviewer(reviewer)
    undo_id = undo_id or new_decision_id()
    with store.write() as conn:
        if store.review_entry_kind(conn, undo_id) is not None:
            return None
        target = _last_standing(store, conn, reviewer)
        if target is None:
            return None
        if isinstance(target, Answer):
            before = store.answer_before(conn, target.answer_id)
            store.record_answer(conn, {
                "answer_id": undo_id, "turn_pk": target.turn_pk, "code": target.code,
                "reviewer": reviewer, "applies": before["applies"] if before else None,
                "undoes": target.answer_id})
            return as_answer(store.answer_entry(conn, undo_id))
        restored = target.previous
        current = _latest_decision(store, conn, target.coding_pk, reviewer)
        store.add_decision(conn, {
            "decision_id": undo_id, "coding_pk": target.coding_pk, "reviewer": reviewer,
            "verdict": Verdict.UNDO.value, "code": restored["code"],
            "start_char": restored["start_char"], "end_char": restored["end_char"],
            "status": restored["status"], "undoes": target.decision_id,
            "previous": _state_of(current, {}),
        })
        return _decision(store, conn, undo_id)


# -- views of a turn ---------------------------------------------------------------------


def reviewer_view(store: Store, reviewer: str) -> dict[int, set[str]]:
    """``turn_pk -> codes`` as the reviewer sees each turn they reviewed.

    A reviewer's view of a turn is the auto-codes they accepted or corrected (with the
    corrected code) and the codes they added, without those they rejected; the turns they
    reviewed are those where at least one of their decisions stands as accepted, corrected
    or rejected.
    """
    return _reviewed(store, reviewer)[0]


def _reviewed(store: Store, reviewer: str) -> tuple[dict[int, set[str]], dict[int, set[str]]]:
    """The reviewer's view (see reviewer_view), and ``turn_pk -> codes`` of the auto-codes
    still waiting for their decision on the turns they reviewed."""
    with store.read() as conn:
        states = store.reviewer_states(conn, reviewer)
        view: dict[int, set[str]] = {}
        decided: set[int] = set()
        own = reviewer_coder(reviewer)
        for state in states:
            if state["status"] not in DECIDED:
                continue
            if state["origin"] == Origin.HUMAN.value and state["coding_coder"] != own:
                continue  # another person's code: theirs to count, not this reviewer's
            decided.add(state["coding_pk"])
            codes = view.setdefault(state["turn_pk"], set())
            if state["status"] != ReviewStatus.REJECTED.value:
                codes.add(state["code"])
        waiting: dict[int, set[str]] = {}
        for turn_pk, pk, code in store.auto_codings_on(conn, sorted(view)):
            if pk not in decided:
                waiting.setdefault(turn_pk, set()).add(code)
    return view, waiting


@dataclass(frozen=True, slots=True)
class Rater:
    """One side of a comparison: an auto-coder, a reviewer, or an imported human coder."""

    name: str
    kind: str  # "auto" | "reviewer" | "human"

    @property
    def label(self) -> str:
        return f"{self.name} (review)" if self.kind == "reviewer" else self.name


def raters(store: Store, *, blind_reviewer: str | None = None) -> list[Rater]:
    """Everyone whose codes can be compared; in blind mode the auto-coders and that reviewer."""
    with store.read() as conn:
        autos = [Rater(name, "auto") for name in store.auto_coders(conn)]
        reviewers = [Rater(name, "reviewer") for name in store.reviewers(conn)]
        humans = [Rater(name, "human") for name in store.human_coders(conn)]
    if blind_reviewer is not None:
        return autos + [r for r in reviewers if r.name == blind_reviewer]
    return autos + reviewers + humans


def _rater_view(store: Store, rater: Rater,
                units: set[int] | None) -> tuple[set[int], dict, dict]:
    """The turns a rater coded, ``turn_pk -> codes`` on them (limited to ``units``), and
    ``turn_pk -> codes`` whose presence the rater has not decided yet on those turns."""
    if rater.kind == "reviewer":
        view, waiting = _reviewed(store, rater.name)
        return set(view), view, waiting
    with store.read() as conn:
        coded = store.turns_coded_by(conn, rater.name,
                                     among=None if units is None else sorted(units))
        return coded, store.turn_codes(conn, rater.name, sorted(coded)), {}


@dataclass(frozen=True, slots=True)
class PairAgreement:
    """Per-code agreement between two raters over the turns both coded."""

    first: Rater
    second: Rater
    units: tuple[int, ...]
    first_codes: dict[int, set[str]]
    second_codes: dict[int, set[str]]
    # turn_pk -> codes either rater has yet to decide there: a reviewer who has reviewed
    # one auto-code of a turn has not yet said whether its other auto-codes hold.
    undecided: dict[int, set[str]] = field(default_factory=dict)

    def units_for(self, code: str) -> list[int]:
        """The turns where both raters have said whether ``code`` applies."""
        return [u for u in self.units if code not in self.undecided.get(u, ())]

    def per_code(self, codes: list[str]) -> list[dict[str, Any]]:
        """One row per code: counts, Cohen's kappa and Krippendorff's alpha (nan: undefined)."""
        rows = []
        for code in codes:
            units = self.units_for(code)
            a = [int(code in self.first_codes.get(u, ())) for u in units]
            b = [int(code in self.second_codes.get(u, ())) for u in units]
            both = sum(x and y for x, y in zip(a, b))
            rows.append({
                "code": code, "turns": len(units), "both": both,
                "first_only": sum(a) - both, "second_only": sum(b) - both,
                "neither": len(units) - sum(a) - sum(b) + both,
                "kappa": cohen_kappa(a, b),
                "alpha": krippendorff_alpha_nominal(zip(a, b, strict=True)),
            })
        return rows

    def disagreements(self, code: str) -> list[int]:
        """The turns where exactly one of the two put ``code``."""
        return [u for u in self.units_for(code)
                if (code in self.first_codes.get(u, ())) != (code in self.second_codes.get(u, ()))]


def compare(store: Store, first: Rater, second: Rater) -> PairAgreement:
    """Compare two raters over the turns both of them coded."""
    # Start from the rater with the fewest turns (a reviewer, then an imported coder) and
    # look up the other's codes on those turns only: an auto-coder has coded every turn.
    rank = {"reviewer": 0, "human": 1, "auto": 2}
    if rank[first.kind] <= rank[second.kind]:
        units_a, view_a, waiting_a = _rater_view(store, first, None)
        units_b, view_b, waiting_b = _rater_view(store, second, units_a)
    else:
        units_b, view_b, waiting_b = _rater_view(store, second, None)
        units_a, view_a, waiting_a = _rater_view(store, first, units_b)
    units = tuple(sorted(units_a & units_b))
    undecided = {u: waiting_a.get(u, set()) | waiting_b.get(u, set()) for u in units
                 if u in waiting_a or u in waiting_b}
    return PairAgreement(first, second, units, view_a, view_b, undecided)


def agreement(
    store: Store, *, codes: list[str] | None = None, blind_reviewer: str | None = None
) -> list[dict[str, Any]]:
    """Per-code agreement of every pair of raters that share turns.

    Pairs: each auto-coder with each reviewer and imported human coder, and the people
    with each other. ``codes`` defaults to the codebook's (else every code used).

    Returns:
        Rows ``first, second, code, turns, both, first_only, second_only, neither, kappa,
        alpha``; kappa and alpha are nan where undefined (a warning says how many).
    """
    everyone = raters(store, blind_reviewer=blind_reviewer)
    codes = codes or code_keys(store)
    rows = []
    for i, first in enumerate(everyone):
        for second in everyone[i + 1 :]:
            if first.kind == "auto" and second.kind == "auto":
                continue
            pair = compare(store, first, second)
            if not pair.units:
                continue
            for row in pair.per_code(codes):
                rows.append({"first": first.label, "second": second.label, **row})
    undefined = sum(math.isnan(row["kappa"]) for row in rows)
    if undefined:
        warnings.warn(f"kappa is undefined for {undefined} of {len(rows)} code comparisons "
                      "(a code absent, or present throughout, for both raters)", stacklevel=2)
    return rows


def disagreeing_turns(store: Store, pair: PairAgreement, code: str) -> list[dict[str, Any]]:
    """The turns where the pair disagree on ``code``: ids, speaker, text, who had it."""
    turn_pks = pair.disagreements(code)
    with store.read() as conn:
        turns = store.turns_by_pk(conn, turn_pks)
    rows = []
    for pk in turn_pks:
        turn = turns[pk]
        has_first = code in pair.first_codes.get(pk, ())
        rows.append({
            "transcript_id": turn["transcript_id"], "turn_id": turn["turn_id"],
            "speaker": turn["speaker"], "text": turn["text"],
            "coded_by": pair.first.label if has_first else pair.second.label,
        })
    return rows


# -- codebook and reading ----------------------------------------------------------------

# Colours for codes the codebook gives none (colour-blind-safe, Okabe-Ito then Tol).
FALLBACK_PALETTE = ["#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00",
                    "#CC79A7", "#88CCEE", "#44AA99", "#117733", "#DDCC77", "#CC6677",
                    "#AA4499", "#999933"]


def codebook(store: Store) -> dict[str, dict[str, Any]]:
    """``code -> {name, colour, definition, family, polarity}`` for every code in use.

    Codes come from the project's latest codebook, then any other code found in codings;
    a code without a colour gets one from :data:`FALLBACK_PALETTE`.
    """
    with store.read() as conn:
        listed = store.latest_codes(conn)
        used = store.codes_in_use(conn)
    result: dict[str, dict[str, Any]] = {}
    for code in listed:
        result[code["key"]] = {key: code[key] for key in ("name", "colour", "definition",
                                                          "family", "polarity")}
    for key in used:
        result.setdefault(key, {"name": key, "colour": None, "definition": "", "family": None,
                                "polarity": None})
    for index, (key, info) in enumerate(result.items()):
        if not info["colour"]:
            info["colour"] = FALLBACK_PALETTE[index % len(FALLBACK_PALETTE)]
    return result


def code_keys(store: Store) -> list[str]:
    return list(codebook(store))


def visible(coding: Mapping[str, Any], *, reviewer: str, blind: bool) -> bool:
    """Blind mode shows the auto-codes and the reviewer's own added codes only."""
    return not blind or coding["origin"] != Origin.HUMAN.value \
        or coding["coder"] == reviewer_coder(reviewer)


def decisions_frame(store: Store, *, reviewer: str | None = None) -> pd.DataFrame:
    """Every review decision (one reviewer's, if given) with its coding's turn, oldest first."""
    with store.read() as conn:
        rows = store.all_decisions(conn, reviewer=reviewer)
    frame = pd.DataFrame(rows, columns=DECISION_COLUMNS)
    frame["previous"] = [json.dumps(value, sort_keys=True) for value in frame["previous"]]
    return frame


def transcript_page(
    store: Store,
    transcript_id: str,
    *,
    reviewer: str,
    blind: bool = False,
    page: int = 0,
    page_size: int = 50,
    speaker: str | None = None,
    codes: Collection[str] | None = None,
    coders: Collection[str] | None = None,
) -> list[dict[str, Any]]:
    """One page of a transcript's turns, each with its visible codings and their decisions.

    Each turn dict has ``codings``: the codings passing the ``codes``/``coders`` filters,
    each with ``decisions`` (latest per reviewer) and ``notes`` (the memos), only the
    reviewer's own in blind mode.
    """
    with store.read() as conn:
        turns = store.turn_page(conn, transcript_id, offset=page * page_size, limit=page_size,
                                speaker=speaker)
        codings = [c for c in store.codings_on_turns(conn, [t["turn_pk"] for t in turns])
                   if visible(c, reviewer=reviewer, blind=blind)
                   and (codes is None or c["code"] in codes)
                   and (coders is None or c["coder"] in coders)]
        states = store.latest_states(conn, [c["coding_pk"] for c in codings],
                                     reviewer=reviewer if blind else None)
        notes = store.notes(conn, [c["coding_pk"] for c in codings],
                            reviewer=reviewer if blind else None)
    by_coding: dict[int, list[dict[str, Any]]] = {}
    for state in states:
        by_coding.setdefault(state["coding_pk"], []).append(state)
    notes_by_coding: dict[int, list[dict[str, Any]]] = {}
    for note in notes:
        notes_by_coding.setdefault(note["coding_pk"], []).append(note)
    by_turn: dict[int, list[dict[str, Any]]] = {}
    for coding in codings:
        coding["notes"] = notes_by_coding.get(coding["coding_pk"], [])
        coding["decisions"] = sorted(by_coding.get(coding["coding_pk"], []),
                                     key=lambda d: d["reviewer"])
        if coding["origin"] == Origin.HUMAN.value and not _as_its_author_left_it(coding):
            continue  # a code its author removed or undid
        by_turn.setdefault(coding["turn_pk"], []).append(coding)
    for turn in turns:
        turn["codings"] = by_turn.get(turn["turn_pk"], [])
    return turns


def _as_its_author_left_it(coding: dict[str, Any]) -> bool:
    """A reviewer's own code shows as their latest decision left it (a changed code under
    its new code and span); False when they removed or undid it."""
    author = next((d for d in coding["decisions"]
                   if reviewer_coder(d["reviewer"]) == coding["coder"]), None)
    if author is None:
        return True
    if author["status"] == ReviewStatus.ABSENT.value:
        return False
    if author["status"] == ReviewStatus.CORRECTED.value:
        coding.update(code=author["code"], start_char=author["start_char"],
                      end_char=author["end_char"])
    return True


def turn_count(store: Store, transcript_id: str, *, speaker: str | None = None) -> int:
    with store.read() as conn:
        speakers = store.transcript_speakers(conn, transcript_id)
    return speakers.get(speaker, 0) if speaker is not None else sum(speakers.values())


def corpus_overview(store: Store, *, reviewer: str | None) -> list[dict[str, Any]]:
    """Per transcript: its metadata, turns, auto-codings and how many are reviewed.

    ``reviewer`` None counts a coding reviewed when anyone decided it.
    """
    with store.read() as conn:
        return store.corpus_overview(conn, reviewer=reviewer)


def project_version(store: Store) -> tuple[str, int, int]:
    """The project and its newest coding and decision keys: what a view of the codings and
    their review depends on."""
    with store.read() as conn:
        return (str(store.path), *store.coding_version(conn))


def coder_names(store: Store, *, people: bool = True) -> list[str]:
    """The auto-coders, then (with ``people``) the imported human coders, by name."""
    with store.read() as conn:
        return store.auto_coders(conn) + (store.human_coders(conn) if people else [])


def standing_decisions(store: Store, coding_pk: int, *, reviewer: str | None
                       ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """A coding's standing decisions (one reviewer's, if given) and its notes, oldest first."""
    with store.read() as conn:
        return (store.latest_states(conn, [coding_pk], reviewer=reviewer),
                store.notes(conn, [coding_pk], reviewer=reviewer))


def code_as_left(store: Store, reviewer: str, coding_id: str) -> str | None:
    """The code a coding has as the reviewer left it (their correction, else its own); None
    for an unknown coding."""
    with store.read() as conn:
        found = store.codings_for_review(conn, [coding_id])
        latest = _latest_decision(store, conn, found[0]["coding_pk"], reviewer) if found \
            else None
    return (latest and latest.code) or (found[0]["code"] if found else None)
