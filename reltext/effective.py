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
with no codings is a real zero, a turn the coder never saw is not counted at all.

Example:
    >>> from reltext.effective import coded_turns, default_coder
    >>> coder = default_coder(project.store)
    >>> turns = coded_turns(project.store, coder)
    >>> turns[["transcript_id", "turn_id", "codes"]].head()
"""

from __future__ import annotations

import pandas as pd

from .errors import ReltextError
from .export import codings_frame, turns_frame
from .store import Store

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


def effective_codings(store: Store, coder: str | None = None) -> pd.DataFrame:
    """A coder's codings with the latest review decision applied to each.

    Args:
        store: The project database.
        coder: The coder; the :func:`default_coder` when None.

    Returns:
        The codings export's columns plus ``role``, ``coding_id``, ``turn_pk``, ``status``
        (``unreviewed``, ``accepted`` or ``corrected``) and ``reviewer``; rejected codings
        are absent, corrected ones carry the corrected code, span and span text.
    """
    coder = check_coder(store, coder)
    frame = codings_frame(store, coder=coder)
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
    coder = check_coder(store, coder)
    codings = effective_codings(store, coder)
    with store.read() as conn:
        coded_keys = set(store.coded_turn_codes(conn, coder))
    turns = turns_frame(store)
    turns["position"] = turns.groupby("transcript_id", sort=False).cumcount()
    # Plain lists and dicts here: per-group pandas calls cost seconds on 50,000 turns.
    keys = list(zip(turns["transcript_id"].tolist(), turns["turn_id"].tolist()))
    turns = turns[[key in coded_keys for key in keys]].copy()
    code_sets: dict[tuple[str, str], set[str]] = {}
    coding_counts: dict[tuple[str, str], int] = {}
    for key in zip(codings["transcript_id"].tolist(), codings["turn_id"].tolist(),
                   codings["code"].tolist()):
        code_sets.setdefault(key[:2], set()).add(key[2])
        coding_counts[key[:2]] = coding_counts.get(key[:2], 0) + 1
    keys = list(zip(turns["transcript_id"].tolist(), turns["turn_id"].tolist()))
    turns["codes"] = [tuple(sorted(code_sets.get(key, ()))) for key in keys]
    turns["codings"] = [coding_counts.get(key, 0) for key in keys]
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
    return turns.reset_index(drop=True)
