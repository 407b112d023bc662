"""Code co-occurrence and code-by-group matrices on the hand-checked tiny project."""

from __future__ import annotations

import math

import pytest

from reltext.analysis.cooccurrence import code_by_group, code_cooccurrence, code_frequencies
from reltext.errors import ReltextError


def test_cooccurrence_counts(tiny_project):
    matrix = tiny_project.cooccurrence()
    assert matrix.loc["trust", "trust"] == 2
    assert matrix.loc["trust", "disempowerment"] == matrix.loc["disempowerment", "trust"] == 1
    assert matrix.loc["trust", "locus_other"] == 2
    assert matrix.loc["hope", "stigma"] == 0
    assert (matrix.to_numpy() == matrix.to_numpy().T).all()


def test_cooccurrence_normalised(tiny_project):
    jaccard = tiny_project.cooccurrence(normalise="jaccard")
    assert jaccard.loc["trust", "locus_other"] == 1.0
    assert jaccard.loc["trust", "disempowerment"] == pytest.approx(1 / 3)
    share = tiny_project.cooccurrence(normalise="turns")
    assert share.loc["trust", "trust"] == pytest.approx(2 / 9)
    with pytest.raises(ReltextError, match="unknown normalisation 'cosine'"):
        tiny_project.cooccurrence(normalise="cosine")


def test_code_by_transcript_and_role(tiny_project):
    counts = tiny_project.code_matrix("transcript")
    assert counts.loc["disempowerment"].tolist() == [1, 1, 0]
    rates = tiny_project.code_matrix("transcript", normalise="turns")
    assert rates.loc["disempowerment", "p1_w2"] == pytest.approx(1 / 3)
    by_role = tiny_project.code_matrix("role", normalise="turns")
    assert by_role.loc["empowerment", "interviewer"] == pytest.approx(1 / 4)
    assert by_role.loc["locus_self", "client"] == pytest.approx(2 / 5)


def test_code_frequencies_count_codings_and_turns(tiny_project):
    turns = tiny_project.coded_turns()
    frame = code_frequencies(turns, tiny_project.effective_codings()).set_index("code")
    assert frame.loc["trust", ["codings", "turns"]].tolist() == [2, 2]
    assert frame.loc["trust", "share"] == pytest.approx(2 / 9)


def test_cooccurrence_empty_codes_gives_nan_jaccard(tiny_project):
    turns = tiny_project.coded_turns()
    matrix = code_cooccurrence(turns, codes=["trust", "agency"], normalise="jaccard")
    assert math.isnan(matrix.loc["agency", "agency"])
    with pytest.raises(ReltextError, match="'count' or 'turns'"):
        code_by_group(turns, "role", normalise="jaccard")
