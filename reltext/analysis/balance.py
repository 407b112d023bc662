"""Relational balance and SOS profiles over coded turns, by any grouping, and their change.

All functions take the coded-turns table of :func:`reltext.review.effective.coded_turns` (one row
per coded turn, its distinct codes in ``codes``) and count **turns**: a turn that carries
``trust`` counts once for trust however many spans were coded.

- Balance: goods (:data:`GOODS`) set against evils (:data:`EVILS`);
  ``balance = (goods - evils) / (goods + evils)``, from -1 (only evils) to +1 (only goods),
  empty when neither occurs.
- SOS profile: the share of each locus among the locus codes of a group's turns, and the
  individualisation index: the share of locus-coded turns that carry ``locus_self``.

A participant's balance and profile count their own turns only (:func:`own_turns`): an
interviewer's turns are context, never counted as the participant's. By codebook spec v1.1 a
research interviewer's turns are context, not data, so every grouping leaves them out unless
asked (``interviewers=True``). The command line, the
viewer and the report all group through these functions, so they agree.
"""

from __future__ import annotations

from itertools import chain

import numpy as np
import pandas as pd

from ..errors import ReltextError
from ..model import is_interviewer

GOODS = ("trust", "hope", "connection", "empowerment")
EVILS = ("mistrust", "hopelessness", "isolation", "disempowerment", "stigma")
LOCI = ("locus_self", "locus_other", "locus_situation")
# Friendly grouping names; any other column of the coded-turns table works as it is.
GROUPINGS = {"speaker": ["transcript_id", "speaker"], "transcript": ["transcript_id"],
             "role": ["role"], "wave": ["wave"], "participant": ["participant"]}

_NOT_GROUPS = {"codes", "codings", "text", "start_char", "end_char", "timestamp", "end_timestamp",
               "position", "turn_id", "is_participant", "transcript_id"}


def grouping_columns(turns: pd.DataFrame, by: str | list[str]) -> list[str]:
    """The columns a grouping names: ``speaker`` is a speaker within a transcript.

    Raises:
        ReltextError: a named column is not in the table.
    """
    names = [by] if isinstance(by, str) else list(by)
    columns: list[str] = []
    for name in names:
        for column in GROUPINGS.get(name, [name]):
            if column not in turns.columns:
                choices = sorted(set(GROUPINGS) | set(turns.columns) - _NOT_GROUPS)
                raise ReltextError(f"cannot group by {name!r}: no such column",
                                   fix=f"Group by one of: {', '.join(choices)}.")
            if column not in columns:
                columns.append(column)
    return columns


def own_turns(turns: pd.DataFrame) -> pd.DataFrame:
    """The interviewed people's own turns (``is_participant``): never the interviewer's."""
    return turns[turns["is_participant"]]


def _counted(turns: pd.DataFrame, columns: list[str], interviewers: bool) -> pd.DataFrame:
    """The turns a grouping counts: by participant, only the participants' own; research
    interviewers' turns only when asked."""
    if "participant" in columns:
        return own_turns(turns)
    if interviewers or turns.empty:
        return turns
    roles = turns["role"].fillna("") if "role" in turns.columns else pd.Series("", turns.index)
    speakers = turns["speaker"].fillna("") if "speaker" in turns.columns else roles
    asked = [is_interviewer(role or speaker) for role, speaker in zip(roles, speakers, strict=True)]
    return turns[~np.array(asked, dtype=bool)]


def code_indicators(turns: pd.DataFrame, codes: tuple[str, ...] | list[str]) -> pd.DataFrame:
    """A 0/1 column per code: whether each turn carries it."""
    # One numpy assignment for all turns and codes, not a Python pass per code.
    column = {code: j for j, code in enumerate(dict.fromkeys(codes))}
    turn_codes = turns["codes"].tolist()
    rows = np.repeat(np.arange(len(turn_codes)), [len(each) for each in turn_codes])
    columns = np.array([column.get(code, -1) for code in chain.from_iterable(turn_codes)],
                       dtype=int)
    known = columns >= 0
    matrix = np.zeros((len(turn_codes), len(column)), dtype=int)
    matrix[rows[known], columns[known]] = 1
    return pd.DataFrame({code: matrix[:, j] for code, j in column.items()}, index=turns.index,
                        dtype=int)


def relational_balance(turns: pd.DataFrame, by: str | list[str] = "speaker", *,
                       interviewers: bool = False) -> pd.DataFrame:
    """Relational goods against evils per group.

    Args:
        turns: The coded-turns table.
        by: ``speaker``, ``transcript``, ``role``, ``wave``, ``participant`` (their own
            turns only) or any column(s).
        interviewers: Also count research interviewers' turns (left out by default).

    Returns:
        One row per group: the grouping columns, ``turns`` (coded turns), a column per good
        and per evil (turns carrying it), ``goods``, ``evils`` (their sums), ``balance`` and
        ``goods_share`` (goods / (goods + evils)); NaN where there are neither.
    """
    columns = grouping_columns(turns, by)
    turns = _counted(turns, columns, interviewers)
    indicators = code_indicators(turns, GOODS + EVILS)
    frame = pd.concat([turns[columns], indicators], axis=1)
    frame["turns"] = 1
    result = frame.groupby(columns, sort=True, dropna=False)[
        ["turns", *GOODS, *EVILS]].sum().reset_index()
    result["goods"] = result[list(GOODS)].sum(axis=1)
    result["evils"] = result[list(EVILS)].sum(axis=1)
    total = (result["goods"] + result["evils"]).replace(0, np.nan)
    result["balance"] = (result["goods"] - result["evils"]) / total
    result["goods_share"] = result["goods"] / total
    return result


def sos_profile(turns: pd.DataFrame, by: str | list[str] = "speaker", *,
                interviewers: bool = False) -> pd.DataFrame:
    """Where each group's account locates difficulty and change (Self, Other, Situation).

    Returns:
        One row per group: the grouping columns, ``turns``, ``locus_turns`` (turns with any
        locus code), a count per locus code, ``share_self``/``share_other``/
        ``share_situation`` (each locus's share of the group's locus codes; they sum to 1)
        and ``individualisation`` (the share of locus-coded turns carrying ``locus_self``);
        NaN where the group has no locus-coded turn.
    """
    columns = grouping_columns(turns, by)
    turns = _counted(turns, columns, interviewers)
    indicators = code_indicators(turns, LOCI)
    frame = pd.concat([turns[columns], indicators], axis=1)
    frame["turns"] = 1
    frame["locus_turns"] = (indicators.sum(axis=1) > 0).astype(int)
    result = frame.groupby(columns, sort=True, dropna=False)[
        ["turns", "locus_turns", *LOCI]].sum().reset_index()
    locus_codes = result[list(LOCI)].sum(axis=1).replace(0, np.nan)
    for code in LOCI:
        result["share_" + code.removeprefix("locus_")] = result[code] / locus_codes
    result["individualisation"] = result["locus_self"] / result["locus_turns"].replace(0, np.nan)
    return result


def wave_change(turns: pd.DataFrame) -> pd.DataFrame:
    """Change in balance and individualisation between a participant's first and last wave.

    Counts the participants' own turns, as every grouping by participant does.

    Args:
        turns: The coded-turns table, with ``participant`` and ``wave``.

    Returns:
        One row per participant seen in two or more waves: ``participant``, ``first_wave``,
        ``last_wave``, ``waves``, then ``balance_first``, ``balance_last``, ``balance_change``
        and the same for ``individualisation``. Empty when no participant has two waves.
    """
    columns = ["participant", "first_wave", "last_wave", "waves",
               "balance_first", "balance_last", "balance_change",
               "individualisation_first", "individualisation_last", "individualisation_change"]
    turns = turns[turns["wave"].astype(str).ne("")]
    if turns.empty:
        return pd.DataFrame(columns=columns)
    balance = relational_balance(turns, ["participant", "wave"])
    profile = sos_profile(turns, ["participant", "wave"])
    merged = balance.merge(profile[["participant", "wave", "individualisation"]],
                           on=["participant", "wave"])
    order = {wave: rank for rank, wave in enumerate(sorted(set(merged["wave"]), key=_wave_sort_key))}
    merged["wave_order"] = merged["wave"].map(order)
    rows = []
    for participant, group in merged.sort_values("wave_order").groupby("participant", sort=True):
        if len(group) < 2:
            continue
        first, last = group.iloc[0], group.iloc[-1]
        rows.append({
            "participant": participant, "first_wave": first["wave"], "last_wave": last["wave"],
            "waves": len(group),
            "balance_first": first["balance"], "balance_last": last["balance"],
            "balance_change": last["balance"] - first["balance"],
            "individualisation_first": first["individualisation"],
            "individualisation_last": last["individualisation"],
            "individualisation_change": last["individualisation"] - first["individualisation"],
        })
    return pd.DataFrame(rows, columns=columns)


def _wave_sort_key(wave: object) -> tuple[int, float, str]:
    # Waves are "1", "2", "10" or "baseline", "follow-up": numbers in numeric order first.
    try:
        return (0, float(str(wave)), "")
    except ValueError:
        return (1, 0.0, str(wave))
