"""Code co-occurrence and code-by-group matrices, in counts and normalised rates.

The unit is the coded turn (see :mod:`reltext.review.effective`): two codes co-occur when one turn
carries both.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import ReltextError
from .balance import code_indicators, grouping_columns

NORMALISATIONS = ("count", "turns", "jaccard")


def present_codes(turns: pd.DataFrame, codebook: list[str] | None = None) -> list[str]:
    """The codes to show: the codebook's order first, then any others found, alphabetically."""
    found = sorted({code for codes in turns["codes"] for code in codes})
    ordered = [code for code in (codebook or []) if code in found]
    return ordered + [code for code in found if code not in ordered]


def code_cooccurrence(turns: pd.DataFrame, *, codes: list[str] | None = None,
                      normalise: str = "count") -> pd.DataFrame:
    """A code-by-code matrix over turns.

    Args:
        turns: The coded-turns table.
        codes: Row and column order; the codes present when None.
        normalise: ``count``: turns carrying both codes (the diagonal: turns carrying the
            code); ``turns``: that count divided by the number of coded turns;
            ``jaccard``: turns with both / turns with either (1 on the diagonal).

    Raises:
        ReltextError: an unknown ``normalise``.
    """
    _check_normalise(normalise)
    codes = codes if codes is not None else present_codes(turns)
    indicators = code_indicators(turns, codes).to_numpy()
    both = indicators.T @ indicators
    matrix = pd.DataFrame(both, index=codes, columns=codes)
    if normalise == "turns":
        matrix = matrix / max(len(turns), 1)
    elif normalise == "jaccard":
        singles = np.diag(both)
        either = singles[:, None] + singles[None, :] - both
        with np.errstate(invalid="ignore", divide="ignore"):
            matrix = pd.DataFrame(np.where(either > 0, both / either, np.nan),
                                  index=codes, columns=codes)
    matrix.index.name = "code"
    return matrix


def code_by_group(turns: pd.DataFrame, by: str | list[str] = "role", *,
                  codes: list[str] | None = None, normalise: str = "count") -> pd.DataFrame:
    """A code-by-group matrix: rows codes, columns the groups (transcripts, roles, waves...).

    Args:
        turns: The coded-turns table.
        by: ``transcript``, ``role``, ``wave``, ``participant``, ``speaker`` or a column.
        codes: Row order; the codes present when None.
        normalise: ``count``: turns in the group carrying the code; ``turns``: that count
            divided by the group's coded turns (a rate per turn). ``jaccard`` is not defined
            here.
    """
    if normalise not in ("count", "turns"):
        raise ReltextError(f"unknown normalisation {normalise!r} for a code-by-group matrix",
                           fix="Use 'count' or 'turns'.")
    columns = grouping_columns(turns, by)
    codes = codes if codes is not None else present_codes(turns)
    indicators = code_indicators(turns, codes)
    keys = turns[columns].astype(str).agg(" / ".join, axis=1)
    counts = indicators.groupby(keys, sort=True).sum().T
    if normalise == "turns":
        counts = counts / keys.value_counts().reindex(counts.columns)
    counts.index.name = "code"
    counts.columns.name = " / ".join(columns)
    return counts


def code_frequencies(turns: pd.DataFrame, codings: pd.DataFrame, *,
                     codes: list[str] | None = None) -> pd.DataFrame:
    """Per code: ``codings`` (rows of the codings export), ``turns`` carrying it, ``share``
    of coded turns.

    Args:
        turns: The coded-turns table.
        codings: The effective codings (:func:`reltext.review.effective.effective_codings`).
        codes: Row order; the codes present when None.
    """
    codes = codes if codes is not None else present_codes(turns)
    turn_counts = code_indicators(turns, codes).sum()
    coding_counts = codings["code"].value_counts().reindex(codes).fillna(0).astype(int)
    frame = pd.DataFrame({"code": codes, "codings": coding_counts.to_numpy(),
                          "turns": turn_counts.to_numpy()})
    frame["share"] = frame["turns"] / max(len(turns), 1)
    return frame


def _check_normalise(normalise: str) -> None:
    if normalise not in NORMALISATIONS:
        raise ReltextError(f"unknown normalisation {normalise!r}",
                           fix=f"Use one of: {', '.join(NORMALISATIONS)}.")
