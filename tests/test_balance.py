"""Balance, SOS profiles and change between waves on the hand-checked tiny project."""

from __future__ import annotations

import math

import pytest

from reltext.analysis.balance import relational_balance, sos_profile, wave_change
from reltext.errors import ReltextError


def test_balance_by_role(tiny_project):
    frame = tiny_project.balance("role").set_index("role")
    # client turns: trust; stigma; hopelessness+disempowerment; hope+trust; isolation;
    # and disempowerment on the first.
    assert frame.loc["client", ["turns", "goods", "evils"]].tolist() == [5, 3, 5]
    assert frame.loc["client", "balance"] == pytest.approx(-0.25)
    assert frame.loc["client", "goods_share"] == pytest.approx(3 / 8)
    # A research interviewer's turns are context, not data (codebook spec v1.1) ...
    assert "interviewer" not in frame.index
    # ... counted only when asked.
    asked = tiny_project.balance("role", interviewers=True).set_index("role")
    assert asked.loc["interviewer", ["turns", "goods", "evils", "balance"]].tolist() \
        == [4, 1, 0, 1.0]
    assert asked.loc["client"].tolist() == frame.loc["client"].tolist()


def test_balance_by_transcript_leaves_the_interviewer_out(tiny_project):
    frame = tiny_project.balance("transcript").set_index("transcript_id")
    asked = tiny_project.balance("transcript", interviewers=True).set_index("transcript_id")
    assert (asked["turns"] - frame["turns"]).sum() == 4  # the interviewer's four turns


def test_balance_by_speaker_is_per_transcript(tiny_project):
    assert list(zip(*tiny_project.balance()[["transcript_id", "speaker"]].T.values)) == [
        ("p1_w1", "Dee"), ("p1_w2", "Dee"), ("p2_w1", "Raj")]
    frame = tiny_project.balance(interviewers=True)
    assert list(zip(frame["transcript_id"], frame["speaker"], strict=True)) == [
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
    assert "interviewer" not in frame.index
    asked = tiny_project.sos_profiles("role", interviewers=True).set_index("role")
    assert math.isnan(asked.loc["interviewer", "individualisation"])


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
    # By participant: their own turns only, the interviewer's left out.
    assert relational_balance(turns, ["participant", "wave"])["turns"].tolist() == [2, 2, 1]
    assert sos_profile(turns, "transcript")["locus_turns"].tolist() == [2, 2, 1]


def test_balance_by_participant_is_their_own_turns_in_the_cli_viewer_and_report(
        tiny_project, run_cli, tmp_path, monkeypatch):
    import pandas as pd
    from streamlit.testing.v1 import AppTest

    from conftest import ROOT
    from reltext.analysis.report import build_report

    # The interviewer's turns with P1 carry a good ("It's your decision"): never P1's.
    turns = tiny_project.coded_turns()
    assert turns[~turns["is_participant"]]["codes"].map(len).sum() > 0
    expected = {"P1": (4, 3, 4), "P2": (1, 0, 1)}  # own turns, goods, evils
    out = tmp_path / "balance.csv"
    assert run_cli("balance", "--by", "participant", "--out", str(out)).exit_code == 0
    cli = pd.read_csv(out, dtype={"participant": str}).set_index("participant")
    report = build_report(tiny_project)
    block = next(block for section in report.sections for block in section.blocks
                 if block.title == "Balance by participant")
    in_report = block.table.set_index("participant")
    monkeypatch.setenv("RELTEXT_DB", str(tiny_project.path))
    monkeypatch.setenv("RELTEXT_REVIEWER", "alice")
    app = AppTest.from_file(str(ROOT / "app" / "streamlit_app.py"), default_timeout=30).run()
    app.sidebar.radio(key="page").set_value("Analysis").run()
    app.selectbox(key="analysis_balance_by").set_value("participant").run()
    viewer = app.dataframe[0].value.set_index("participant")
    for table in (cli, in_report, viewer):
        assert {p: tuple(int(table.loc[p, c]) for c in ("turns", "goods", "evils"))
                for p in expected} == expected
    for table in (cli, in_report, viewer):
        assert table.loc["P1", "balance"] == pytest.approx(-1 / 7, abs=5e-4)
