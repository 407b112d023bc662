"""Balance, SOS profiles and change between waves on the hand-checked tiny project."""

from __future__ import annotations

import math

import pytest

from reltext.balance import relational_balance, sos_profile, wave_change
from reltext.errors import ReltextError


def test_balance_by_role(tiny_project):
    frame = tiny_project.balance("role").set_index("role")
    # client turns: trust; stigma; hopelessness+disempowerment; hope+trust; isolation;
    # and disempowerment on the first.
    assert frame.loc["client", ["turns", "goods", "evils"]].tolist() == [5, 3, 5]
    assert frame.loc["client", "balance"] == pytest.approx(-0.25)
    assert frame.loc["client", "goods_share"] == pytest.approx(3 / 8)
    assert frame.loc["interviewer", ["turns", "goods", "evils", "balance"]].tolist() == [4, 1, 0, 1.0]


def test_balance_by_speaker_is_per_transcript(tiny_project):
    frame = tiny_project.balance()
    assert list(zip(frame["transcript_id"], frame["speaker"])) == [
        ("p1_w1", "Ann<script>alert(1)</script>"), ("p1_w1", "Dee"), ("p1_w2", "Ann"),
        ("p1_w2", "Dee"), ("p2_w1", "Ann"), ("p2_w1", "Raj")]
    assert math.isnan(frame.loc[0, "balance"])  # neither goods nor evils


def test_balance_unknown_grouping(tiny_project):
    with pytest.raises(ReltextError, match="cannot group by 'colour'.*participant"):
        tiny_project.balance("colour")


def test_sos_profile_by_role(tiny_project):
    frame = tiny_project.sos_profiles("role").set_index("role")
    client = frame.loc["client"]
    assert client[["locus_turns", "locus_self", "locus_other", "locus_situation"]].tolist() \
        == [5, 2, 2, 1]
    assert client[["share_self", "share_other", "share_situation"]].tolist() \
        == pytest.approx([0.4, 0.4, 0.2])
    assert client["individualisation"] == pytest.approx(0.4)
    assert math.isnan(frame.loc["interviewer", "individualisation"])


def test_sos_profile_by_site_column(tiny_project):
    frame = tiny_project.sos_profiles("site").set_index("site")
    assert frame.loc["South", "individualisation"] == 1.0
    assert frame.loc["North", "individualisation"] == pytest.approx(1 / 4)


def test_wave_change_for_the_same_participant(tiny_project):
    frame = tiny_project.wave_change()
    assert frame["participant"].tolist() == ["P1"]  # P2 has one wave only
    row = frame.iloc[0]
    assert (row["first_wave"], row["last_wave"], row["waves"]) == ("1", "2", 2)
    assert row["balance_first"] == pytest.approx(-1 / 3)
    assert row["balance_last"] == pytest.approx(0.0)
    assert row["balance_change"] == pytest.approx(1 / 3)
    assert row["individualisation_first"] == pytest.approx(0.5)
    assert row["individualisation_change"] == pytest.approx(-0.5)


def test_wave_change_orders_waves_numerically(tiny_project):
    turns = tiny_project.coded_turns()
    turns["wave"] = turns["wave"].map({"1": "10", "2": "9"})
    row = wave_change(turns).iloc[0]
    assert (row["first_wave"], row["last_wave"]) == ("9", "10")


def test_balance_functions_take_any_grouping(tiny_project):
    turns = tiny_project.coded_turns()
    assert relational_balance(turns, ["participant", "wave"])["turns"].tolist() == [4, 3, 2]
    assert sos_profile(turns, "transcript")["locus_turns"].tolist() == [2, 2, 1]
