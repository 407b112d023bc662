"""The report: self-contained, escaped, and its numbers are the codings export's."""

from __future__ import annotations

import csv
import math
import re
import shutil
from collections import Counter
from pathlib import Path

import pytest
from conftest import ANALYTICS
from sqlalchemy import text

from reltext.analysis.report import build_report, write_report


def _block(report, title):
    return next(block for section in report.sections for block in section.blocks
                if block.title == title)


def test_report_frequencies_match_the_codings_export(tiny_project, run_cli, fresh_db, tmp_path):
    out = tmp_path / "codings.csv"
    assert run_cli("export", "codings", "--format", "csv", "--out", str(out)).exit_code == 0
    with out.open(newline="") as handle:
        exported = Counter(row["code"] for row in csv.DictReader(handle))
    report = build_report(tiny_project)
    table = _block(report, "Code frequencies").table.set_index("code")
    assert table["codings"].to_dict() == dict(exported)
    page = (write_report(tiny_project, tmp_path / "report.html")).read_text()
    for code, count in exported.items():
        assert f'<td>{code}</td><td class="num">{count}</td>' in page


def test_report_html_is_self_contained_and_escaped(tiny_project, tmp_path):
    page = write_report(tiny_project, tmp_path / "report.html").read_text()
    assert "<script" not in page.lower()
    assert "Ann&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", page)
    assert "@import" not in page and not re.search(r"url\((?!#)", page)
    assert page.count("<svg") >= 8
    for title in ("Corpus overview", "Code frequencies", "Co-occurrence", "Relational balance",
                  "SOS profiles", "Relational webs", "Codebook", "Change between waves"):
        assert title in page
    assert "Topics" not in page and "Agreement" not in page


def test_report_markdown_with_pngs(tiny_project, tmp_path):
    out = write_report(tiny_project, tmp_path / "report.md")
    markdown = out.read_text()
    images = re.findall(r"!\[[^\]]*\]\((report_files/figure-\d+\.png)\)", markdown)
    assert len(images) >= 8
    for image in images:
        assert (tmp_path / image).read_bytes()[:4] == b"\x89PNG"
    assert "<script>" not in markdown and "&lt;script&gt;" in markdown
    assert not list(tmp_path.glob(".*"))  # no temporary files left behind


def test_report_agreement_topics_and_reviews_when_present(tiny_project, tmp_path):
    from sklearn.metrics import cohen_kappa_score

    tiny_project.import_codings(ANALYTICS / "codes-second.csv", coder="human:second")
    store = tiny_project.store
    with store.write() as conn:
        fits = ([{"topic_id": 0, "size": 9, "label": "an older fit", "words": []}],
                [{"topic_id": -1, "size": 50, "label": "outliers", "words": []},
                 {"topic_id": 0, "size": 7, "label": "0_work_job",
                  "words": [["work", 0.5], ["job", 0.4]]},
                 {"topic_id": 1, "size": 3, "label": "1_mum_home",
                  "words": [["mum", 0.5], ["home", 0.3]]}])
        for topics in fits:
            run_pk, _ = store.start_run(conn, kind="topics")
            store.add_topics(conn, run_pk, topics)
            store.finish_run(conn, run_pk)
        conn.execute(text("INSERT INTO decisions (decision_id, coding_pk, reviewer, verdict, "
                          "decided_at) VALUES ('d1', 1, 'human:rev', 'accept', '2026-01-01')"))
    report = build_report(tiny_project, coder="human:gold")
    kappas = _block(report, "Agreement between coders").table.set_index("code")
    assert list(kappas.columns) == ["human:gold vs human:second (9 turns)"]
    kappas = kappas.iloc[:, 0]
    gold = [0, 1, 0, 0, 0, 1, 0, 0, 0]   # disempowerment per turn, in corpus order
    second = [0] * 9
    assert math_equal(kappas.loc["disempowerment"], cohen_kappa_score(gold, second))
    assert kappas.loc["trust"] == pytest.approx(abs=1e-3, expected=cohen_kappa_score(
        [0, 1, 0, 0, 0, 0, 1, 0, 0], [0, 1, 0, 0, 0, 0, 0, 0, 0]))
    topics = _block(report, "Top topics").table
    assert topics["label"].tolist() == ["0_work_job", "1_mum_home"]  # the latest fit only
    assert topics["words"].tolist() == ["work, job", "mum, home"]
    reviews = _block(report, "Review decisions").table
    assert reviews[["reviewer", "decisions", "accepted"]].values.tolist() == [["human:rev", 1, 1]]


def test_report_agreement_scores_the_coders_own_codes_and_counts_reviews_as_the_viewer(
        tmp_path, monkeypatch):
    """Review decisions are the humans' side: applied to the auto-coder they would make it
    look better the more a team reviews."""
    from streamlit.testing.v1 import AppTest
    from viewer_support import AUTO_CODER, build_project

    from conftest import ROOT
    from reltext import Project
    from reltext.review import decisions as review
    from reltext.model import Verdict

    db = build_project(tmp_path)
    ann = tmp_path / "ann.csv"  # ann agrees with the rules except for stigma on int02/1
    ann.write_text("transcript_id,turn_id,codes\nint01,0,\nint01,1,trust\nint01,2,\n"
                   "int01,3,hope\nint01,4,isolation\nint02,0,\nint02,1,\n"
                   "int02,2,disempowerment\n", encoding="utf-8")
    project = Project(db)
    project.import_codings(ann, coder="human:ann")
    queue = {item["code"]: item for item in review.review_queue(project.store, "alice", limit=9)}
    review.decide(project.store, "alice", queue["stigma"]["coding_id"], Verdict.REJECT)
    review.decide(project.store, "alice", queue["hope"]["coding_id"], Verdict.ACCEPT)
    review.decide(project.store, "alice", queue["isolation"]["coding_id"], Verdict.ACCEPT)
    report = build_report(project, coder=AUTO_CODER)
    kappas = _block(report, "Agreement between coders").table.set_index("code")
    raw = project.agreement(AUTO_CODER, "human:ann")  # what 'reltext agreement' says
    column = f"{AUTO_CODER} vs human:ann (8 turns)"
    assert kappas.loc["stigma", column] == pytest.approx(raw["codes"]["stigma"]["kappa"],
                                                         abs=1e-3)
    assert kappas.loc["stigma", column] < 0.7  # not 1.0: alice's reject is not the coder's
    assert f"{AUTO_CODER} vs alice (review) (3 turns)" in kappas.columns
    overview = _block(report, "").table.set_index("")
    assert overview.loc["auto-codes reviewed", "value"] == "3 of 5"
    project.close()
    monkeypatch.setenv("RELTEXT_DB", str(db))
    monkeypatch.setenv("RELTEXT_REVIEWER", "alice")
    app = AppTest.from_file(str(ROOT / "app" / "streamlit_app.py"), default_timeout=30).run()
    assert app.metric[2].value == "3 of 5"


def math_equal(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b)


def test_report_cli(tiny_project, run_cli, tmp_path):
    result = run_cli("report", "--out", str(tmp_path / "r.html"))
    assert result.exit_code == 0, result.output
    assert f"Wrote the report to {tmp_path / 'r.html'}." in result.output
    result = run_cli("report", "--out", str(tmp_path / "missing" / "r.html"))
    assert result.exit_code == 1
    assert result.output.strip().splitlines()[-1] == (
        f"Error: {tmp_path / 'missing'}: the folder does not exist. Create it first, or write "
        "the report elsewhere.")


def test_analysis_cli_commands(tiny_project, run_cli, tmp_path):
    result = run_cli("balance", "--by", "role")
    assert result.exit_code == 0
    assert re.search(r"client\s+5\s+3\s+5\s+-0.25", result.output)
    result = run_cli("profiles", "--by", "participant,wave")
    assert re.search(r"P1\s+1\s+2\s+2\s+1\s+1\s+0\s", result.output)  # own turns only
    result = run_cli("cooccurrence", "--out", str(tmp_path / "co.csv"),
                     "--plot", str(tmp_path / "co.svg"))
    assert result.exit_code == 0
    assert (tmp_path / "co.svg").read_text().count("<svg") == 1
    rows = list(csv.DictReader((tmp_path / "co.csv").open()))
    assert next(r for r in rows if r["code"] == "trust")["locus_other"] == "2"
    result = run_cli("web", "--participant", "P1", "--out", str(tmp_path / "p1.graphml"))
    assert "Wrote the web of participant P1 (3 interactants)" in result.output
    result = run_cli("web", "--group", "site=South", "--out", str(tmp_path / "s.json"))
    assert result.exit_code == 0
    result = run_cli("wave-change")
    assert re.search(r"P1\s+1\s+2\s+2\s+-0.333\s+0.0\s+0.333", result.output)
    result = run_cli("interactants", "--out", str(tmp_path / "i.csv"))
    assert "Wrote 5 rows" in result.output  # worker twice, mum, job centre, home
    result = run_cli("web", "--participant", "P1", "--role", "client", "--out", "x.json")
    assert result.exit_code == 2
    result = run_cli("balance", "--coder", "human:nobody")
    assert result.exit_code == 1 and "Error: " in result.output


@pytest.mark.slow
def test_report_renders_offline_in_chromium(tiny_project, tmp_path):
    """The report opens in a real browser with no network request and no script error."""
    playwright = pytest.importorskip("playwright.sync_api")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("no chromium on this machine")
    page_path = write_report(tiny_project, tmp_path / "report.html")
    requests, errors = [], []
    with playwright.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.on("request", lambda request: requests.append(request.url))
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("dialog", lambda dialog: errors.append(f"dialog {dialog.message}"))
        page.goto(Path(page_path).as_uri())
        shown = page.evaluate("[...document.querySelectorAll('svg')].filter("
                              "s => s.getBoundingClientRect().width > 100).length")
        width = page.evaluate("document.documentElement.scrollWidth")
        browser.close()
    assert requests == [Path(page_path).as_uri()]
    assert errors == []
    assert shown >= 8
    assert width <= 1200  # nothing wider than the window


@pytest.mark.parametrize("command", ["report", "web", "balance", "profiles", "wave-change",
                                     "cooccurrence", "interactants"])
def test_analysis_commands_have_help_with_an_example(run_cli, command):
    result = run_cli(command, "--help")
    assert result.exit_code == 0
    assert "Example:" in result.output and f"reltext {command}" in result.output
