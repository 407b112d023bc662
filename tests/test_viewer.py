"""The viewer's pages and review actions through Streamlit's AppTest, against a real project."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import text
from streamlit.testing.v1 import AppTest
from viewer_support import AUTO_CODER, HOSTILE, build_project

from reltext.cli.view import app_script, streamlit_command
from reltext.store.database import Store
from reltext.viewer.markup import highlighted

APP = Path(__file__).resolve().parent.parent / "app" / "streamlit_app.py"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    db = build_project(tmp_path)
    monkeypatch.setenv("RELTEXT_DB", str(db))
    monkeypatch.setenv("RELTEXT_REVIEWER", "alice")
    monkeypatch.delenv("RELTEXT_BLIND", raising=False)
    return db


def _app(page: str | None = None, **query: str) -> AppTest:
    app = AppTest.from_file(str(APP), default_timeout=30)
    app.query_params.update(query)
    app.run()
    if page is not None:
        app.sidebar.radio(key="page").set_value(page).run()
    assert not app.exception, app.exception
    return app


def _rows(db: Path, sql: str) -> list[dict]:
    store = Store.open(db)
    with store.read() as conn:
        rows = [dict(row) for row in conn.execute(text(sql)).mappings()]
    store.close()
    return rows


def _item_widget(widgets, key: str):
    """The Review page's widget for the item shown: its key is ``key`` and the coding id."""
    return next(widget for widget in widgets
                if widget.key == key or widget.key.startswith(key + "_"))


def _html(app: AppTest) -> str:
    return "".join(element.proto.body for element in app.get("html"))


def _shown(element) -> str:
    """A Markdown element's text as the page shows it: without the escapes that keep
    project text from being read as Markdown."""
    return re.sub(r"\\(.)", r"\1", element.value)


def test_viewer_asks_for_a_reviewer_name(project, monkeypatch):
    monkeypatch.delenv("RELTEXT_REVIEWER")
    app = AppTest.from_file(str(APP), default_timeout=30).run()
    assert not app.sidebar.radio
    app.text_input[0].input("bad:name")
    app.button[0].click().run()
    assert "reviewer name 'bad:name' is not usable" in _shown(app.error[0])
    app.text_input[0].input("zoe")
    app.button[0].click().run()
    assert app.session_state["reviewer"] == "zoe"
    assert app.sidebar.radio(key="page").value == "Corpus"


def test_viewer_corpus_lists_transcripts_with_progress_and_filters(project):
    app = _app("Corpus")
    frame = app.dataframe[0].value
    assert list(frame["transcript_id"]) == ["int01", "int02"]
    assert list(frame["turns"]) == [5, 3] and list(frame["auto-codes"]) == [3, 2]
    assert {"role", "wave", "site"} <= set(frame.columns)
    app.multiselect(key="corpus_site").set_value(["South"]).run()
    assert list(app.dataframe[0].value["transcript_id"]) == ["int02"]


def test_viewer_transcript_from_the_url_escapes_hostile_text(project):
    app = _app(transcript="int02")
    assert app.sidebar.radio(key="page").value == "Transcript"
    assert app.selectbox(key="reader_transcript").value == "int02"
    body = _html(app)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "&lt;img src=x onerror=alert(1)&gt;" in body
    assert "<script" not in body and "<img" not in body
    assert "stigma" in body and "confidence 0.30" in body and "stigma.test" in body
    assert "background:#e7298a" in body  # the codebook's colour for stigma
    definitions = [element.proto.body for element in app.get("html")]
    assert any("Being labelled or treated as less." in body for body in definitions)


def test_viewer_transcript_filters_by_code_and_speaker(project):
    app = _app(transcript="int01")
    app.multiselect(key="reader_codes").set_value(["hope"]).run()
    body = _html(app)
    assert "things could get better" in body and "title=\"hope" in body
    assert "title=\"trust" not in body
    app.selectbox(key="reader_speaker").set_value("Interviewer").run()
    assert "Pat" not in _html(app) and "support team" in _html(app)


def test_viewer_review_accept_reject_correct_add_memo_undo(project):
    app = _app("Review")
    assert "5 auto-code(s) waiting for alice" in app.caption[0].value
    shown = _html(app)  # the least confident first, after the turn before it
    assert "Interviewer: Tell me about the ward." in shown
    assert "&lt;img src=x onerror=alert(1)&gt;" in shown and "<img" not in shown
    _item_widget(app.button, "review_accept").click().run()  # stigma, the least confident
    assert "Accepted stigma on int02/1" in app.success[0].value
    _item_widget(app.button, "review_reject").click().run()  # isolation
    app.selectbox(key="review_code").set_value("hope").run()
    form = app.get("form")  # correct the hope coding to agency with a shorter span
    _item_widget(app.selectbox, "correct_code").set_value("agency")
    _item_widget(app.text_input, "correct_span").input("things could get better")
    _item_widget(app.button, "correct_send").click().run()
    assert "Corrected to agency" in app.success[0].value, [e.value for e in app.error]
    app.selectbox(key="review_code").set_value("all codes").run()
    _item_widget(app.text_input, "add_span").input("they decided")  # a missed code on a span
    _item_widget(app.selectbox, "add_code").set_value("hope")
    _item_widget(app.button, "add_send").click().run()
    assert "Added hope" in app.success[0].value, [e.value for e in app.error]
    app.text_input(key="memo_note").input("Check <b>this</b> with the team")
    app.button(key="memo_send").click().run()
    assert "Memo saved" in app.success[0].value
    memo = _html(app)  # the memo shows on the coding, as text
    assert "memo</b> by alice: Check &lt;b&gt;this&lt;/b&gt; with the team" in memo
    assert "<b>this</b>" not in memo
    rows = _rows(project, "SELECT d.verdict, d.status, d.code, d.reviewer, d.note, c.coder "
                          "FROM decisions d JOIN codings c ON c.pk = d.coding_pk ORDER BY d.pk")
    assert [(r["verdict"], r["status"], r["code"]) for r in rows] == [
        ("accept", "accepted", "stigma"), ("reject", "rejected", "isolation"),
        ("correct", "corrected", "agency"), ("accept", "accepted", "hope"),
        ("memo", "pending", "disempowerment")]
    assert {r["reviewer"] for r in rows} == {"alice"} and rows[3]["coder"] == "human:alice"
    assert rows[4]["note"] == "Check <b>this</b> with the team"
    assert len(form) == 3
    app.button(key="review_undo").click().run()
    assert "Undone: memo" in app.success[0].value
    app.button(key="review_undo").click().run()
    last = _rows(project, "SELECT verdict, status, undoes FROM decisions ORDER BY pk")[-2:]
    assert [(r["verdict"], r["status"]) for r in last] == [("undo", "pending"),
                                                           ("undo", "absent")]


def test_viewer_agreement_shows_pairs_and_disagreements(project):
    app = _app("Review")
    _item_widget(app.button, "review_accept").click().run()
    _item_widget(app.button, "review_reject").click().run()
    app.sidebar.radio(key="page").set_value("Agreement").run()
    assert not app.exception
    assert app.selectbox(key="agreement_pair").value == \
        "rules:relational@1.0 vs alice (review)"
    table = app.dataframe[0].value
    isolation = table[table["code"] == "isolation"].iloc[0]
    assert isolation["turns"] == 2 and isolation["only rules:relational@1.0"] == 1
    assert app.selectbox(key="agreement_code").value == "isolation"
    disputed = app.dataframe[1].value
    assert list(disputed["turn_id"]) == ["4"] and list(disputed["transcript_id"]) == ["int01"]


def test_viewer_agreement_shows_the_learned_coders_evaluation(small_gold, tmp_path,
                                                              monkeypatch):
    from reltext.model import Origin
    from reltext.project import Project

    turns, gold = small_gold
    db = tmp_path / "learned.db"
    with Project(db) as project:
        project.ingest([turns])
        model = project.train(gold=gold, embedding="tfidf")
        store = project.store
        # A few codings of the model's two coders, stored as 'reltext code' stores them.
        with store.write() as conn:
            turn_pks = [pk for pk, _ in store.turn_keys(conn).values()][:30]
            for coder in (f"learned:{model.model_id}", f"auto:{model.model_id}"):
                store.add_codings(conn, [
                    {"turn_pk": pk, "code": "agency", "start_char": 0, "end_char": 5,
                     "confidence": 0.6, "coder": coder, "origin": Origin.CLASSIFIER.value}
                    for pk in turn_pks[::3]])
                store.mark_coded(conn, turn_pks, coder=coder)
    monkeypatch.setenv("RELTEXT_DB", str(db))
    monkeypatch.setenv("RELTEXT_REVIEWER", "alice")
    app = _app("Agreement")
    pairs = app.selectbox(key="agreement_pair").options
    assert {f"learned:{model.model_id} vs human:gold", f"auto:{model.model_id} vs human:gold"} \
        <= set(pairs)
    assert model.model_id in app.selectbox(key="agreement_model").value
    table = app.dataframe[-1].value.set_index("code")
    manifest = model.manifest
    assert set(table.index[:-1]) == set(manifest["training"]["positives"])
    assert table.index[-1] == "macro"
    scored = manifest["cv"]
    code = next(iter(scored))
    assert table.loc[code, ["kappa", "precision", "recall", "f1"]].tolist() == \
        [scored[code][m] for m in ("kappa", "precision", "recall", "f1")]
    assert table.loc[code, "threshold"] == manifest["thresholds"][code]
    assert table.loc[code, "auto"].startswith("rules")
    assert table.loc[code, "auto_kappa"] == scored[code]["kappa_combined"]
    assert table.loc[code, "positives"] == manifest["training"]["positives"][code]
    left_to_rules = next(iter(manifest["fallback_to_rules"]))
    assert table.loc[left_to_rules, "auto"] == "rules"
    assert table.loc["macro", "kappa"] == pytest.approx(
        sum(s["kappa"] for s in scored.values()) / len(scored))


def test_viewer_blind_mode_hides_other_reviewers(project, monkeypatch):
    from reltext.review import decisions as review

    store = Store.open(project)
    review.add_code(store, "bob", "int01", "0", "connection")
    store.close()
    monkeypatch.setenv("RELTEXT_BLIND", "1")
    app = _app(transcript="int01")
    assert "human:bob" not in _html(app) and "connection" not in _html(app)
    app.sidebar.radio(key="page").set_value("Agreement").run()
    assert "bob" not in str([e.value for e in app.selectbox])


def test_viewer_export_offers_codings_and_decisions(project):
    app = _app("Export")
    assert not app.exception
    labels = [element.proto.label for element in app.get("download_button")]
    assert labels == ["Download codings CSV", "Download decisions CSV",
                      "Download answers CSV", "Download REFI-QDA project (.qdpx)"]


def test_viewer_markup_escapes_text_and_titles():
    codings = [{"code": "x\"><script>", "start_char": 2, "end_char": 9, "coder": "c",
                "confidence": 0.5, "evidence": "<img src=x onerror=alert(1)>",
                "decisions": [], "notes": [{"reviewer": "bob", "note": "<b>memo</b>"}]}]
    html = highlighted(HOSTILE, codings, {})
    assert "<script" not in html and "<img" not in html and "<b>" not in html
    assert "memo by bob: &lt;b&gt;memo&lt;/b&gt;" in html
    assert "&lt;script&gt;" in html and 'title="x&quot;&gt;&lt;script&gt;' in html


def test_viewer_command_serves_locally_headless():
    command = streamlit_command(app_script(), host="127.0.0.1", port=8600)
    assert app_script() == APP
    assert command[1:4] == ["-m", "reltext.viewer.serve", str(APP)]
    assert command[command.index("--server.address") + 1] == "127.0.0.1"
    assert command[command.index("--server.headless") + 1] == "true"
    assert command[command.index("--browser.gatherUsageStats") + 1] == "false"


def test_viewer_command_without_project_is_one_error_line(tmp_path, run_cli):
    from click.testing import CliRunner

    from reltext.cli import main

    result = CliRunner().invoke(main, ["--db", str(tmp_path / "none.db"), "view"])
    assert result.exit_code == 1
    assert result.output.startswith("Error: ") and "no project database here" in result.output
    assert not (tmp_path / "none.db").exists()


def test_viewer_export_writes_a_refi_qda_project(project):
    import io
    import zipfile

    from reltext.viewer.pages import _qdpx_bytes

    store = Store.open(project)
    data = _qdpx_bytes(store, accepted_only=False)
    store.close()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert "project.qde" in archive.namelist()
        assert b"stigma" in archive.read("project.qde")


def test_viewer_every_page_of_an_empty_project(tmp_path, monkeypatch):
    Store.open(tmp_path / "empty.db").close()
    monkeypatch.setenv("RELTEXT_DB", str(tmp_path / "empty.db"))
    monkeypatch.setenv("RELTEXT_REVIEWER", "alice")
    app = _app()
    assert "no transcripts yet" in app.info[0].value
    for page in ["Transcript", "Review", "Agreement", "Export"]:
        app.sidebar.radio(key="page").set_value(page).run()
        assert not app.exception, (page, app.exception)
    assert "two coders on the same turns" in _app("Agreement").info[0].value


def test_viewer_analysis_plots_with_decisions_applied(project):
    from reltext.review import decisions as review

    app = _app("Analysis")
    assert len(app.get("plotly_chart")) == 1  # only the open tab is drawn: the balance
    balance = app.dataframe[0].value.set_index("role")
    assert balance.loc["client", "evils"] == 3  # isolation, stigma, disempowerment
    store = Store.open(project)
    isolation = next(item for item in review.review_queue(store, "alice", limit=10)
                     if item["code"] == "isolation")
    review.decide(store, "alice", isolation["coding_id"], "reject")
    store.close()
    app.run()
    assert app.dataframe[0].value.set_index("role").loc["client", "evils"] == 2
    app.selectbox(key="analysis_balance_by").set_value("wave").run()
    for view in ["SOS profiles", "Co-occurrence"]:
        app.session_state["analysis_view"] = view
        app.run()
        assert not app.exception and len(app.get("plotly_chart")) == 1, view
    app.radio(key="analysis_normalise").set_value("jaccard").run()
    # Back to a tab: its choices are as they were left.
    app.session_state["analysis_view"] = "Goods and evils"
    app.run()
    assert app.selectbox(key="analysis_balance_by").value == "wave"
    assert "wave" in app.dataframe[0].value.columns
    app.session_state["analysis_view"] = "Co-occurrence"
    app.run()
    assert app.radio(key="analysis_normalise").value == "jaccard"


def test_viewer_relational_web_tab_draws_the_chosen_participants_web(project):
    import json

    def labels(app: AppTest) -> set[str]:
        charts = app.get("plotly_chart")
        assert not app.exception and len(charts) == 1, app.exception
        figure = json.loads(charts[0].proto.spec)
        return {label for trace in figure["data"] for label in trace.get("text") or []}

    app = _app("Analysis")
    app.session_state["analysis_view"] = "Relational web"
    app.run()
    assert app.selectbox(key="analysis_participant").options == ["int01", "int02"]
    assert labels(app) == {"int01", "Sam", "home"}
    app.selectbox(key="analysis_participant").set_value("int02").run()
    assert labels(app) == {"int02"}  # the ward is the interviewer's, not Lee's


def test_viewer_reads_the_coded_turns_in_the_background_once_a_page_is_drawn(project):
    from reltext.review.effective import CodedTurns, default_coder
    from reltext.viewer import analysis

    _app("Corpus")  # the first page starts the reading
    store = Store.open(project)
    coder = default_coder(store)
    version = analysis._turns_version(store, coder)[:2]
    started = analysis._readings[(version, coder)]
    assert analysis._reading(version, coder, store) is started.result()  # no second read
    pd.testing.assert_frame_equal(started.result().table(),
                                  CodedTurns.read(store, coder).table())
    store.close()


def test_viewer_reads_a_coding_runs_codings_before_anyone_clicks(project, monkeypatch):
    import time

    from reltext.review.effective import default_coder
    from reltext.model import Origin
    from reltext.viewer import analysis

    monkeypatch.setattr(analysis, "WATCH_SECONDS", 0.1)
    _app("Corpus")  # the viewer is open on the project
    store = Store.open(project)
    with store.write() as conn:  # a coding run adds a code
        turn_pk, _ = store.turn_keys(conn)[("int01", "2")]
        store.add_codings(conn, [{"turn_pk": turn_pk, "code": "hope", "start_char": 0,
                                  "end_char": 4, "confidence": 0.6, "coder": AUTO_CODER,
                                  "origin": Origin.RULE.value, "evidence": "hope.test"}])
    coder = default_coder(store)
    key = (analysis._turns_version(store, coder)[:2], coder)
    store.close()
    deadline = time.monotonic() + 20
    while key not in analysis._readings:
        assert time.monotonic() < deadline, "the new codings were not read"
        time.sleep(0.05)
    turns = analysis._readings[key].result().table().set_index(["transcript_id", "turn_id"])
    assert turns.loc[("int01", "2"), "codes"] == ("hope",)


def test_viewer_server_reads_the_coded_turns_before_it_serves(project):
    from reltext.review.effective import default_coder
    from reltext.viewer import analysis, serve, web_worker

    analysis.forget_readings()
    serve.prepare()
    store = Store.open(project)
    coder = default_coder(store)
    version = analysis._turns_version(store, coder)[:2]
    store.close()
    assert analysis._readings[(version, coder)].done()
    assert web_worker.wait_ready()  # the web workers have loaded spaCy meanwhile


def test_viewer_server_leaves_a_missing_project_to_the_first_page(tmp_path, monkeypatch):
    from reltext.viewer import serve

    monkeypatch.setenv("RELTEXT_DB", str(tmp_path / "missing.db"))
    serve.prepare()  # no traceback at start: the page says what is wrong
    app = AppTest.from_file(str(APP), default_timeout=30).run()
    assert "missing.db" in app.error[0].value


@pytest.mark.slow  # fits a (fast, TF-IDF + k-means) topic model: about ten seconds
def test_viewer_topics_page_once_a_model_is_fitted(tmp_path, monkeypatch):
    from reltext.project import Project
    from reltext.topics.fitting import TopicSettings, fit_topics

    db = tmp_path / "topics.db"
    with Project(db) as project:
        project.ingest([Path(__file__).resolve().parent / "data" / "topic-turns.csv"])
        monkeypatch.setenv("RELTEXT_DB", str(db))
        monkeypatch.setenv("RELTEXT_REVIEWER", "alice")
        assert "Topics" not in _app().sidebar.radio(key="page").options
        fit_topics(project.store, TopicSettings(seed=5, fast=True, embedding="tfidf", topics=4))
    app = _app("Topics")
    assert len(app.dataframe[0].value) == 4 and len(app.get("plotly_chart")) == 1
    examples = app.dataframe[1].value
    assert len(examples) == 5 and set(examples["open"].str.startswith("?transcript=")) == {True}


def test_viewer_a_new_reviewer_reviews_twenty_codes_sees_agreement_change_and_exports(
        tmp_path, monkeypatch, run_cli):
    """The bundled corpus as `make run` prepares it, reviewed through the pages alone."""
    import io
    import zipfile

    from reltext.viewer.pages import _qdpx_bytes

    corpora = APP.parent.parent / "corpora"
    db = tmp_path / "study.db"
    assert run_cli("ingest", str(corpora), "--manifest", str(corpora / "manifest.yaml"),
                   db=db).exit_code == 0
    assert run_cli("code", "--coder", "rules", "--silent", db=db).exit_code == 0
    monkeypatch.setenv("RELTEXT_DB", str(db))
    monkeypatch.setenv("RELTEXT_REVIEWER", "dana")
    app = _app("Agreement")
    assert "review some auto-codes first" in app.info[0].value
    decided, seen = [], []
    app.sidebar.radio(key="page").set_value("Review").run()
    for number in range(20):
        seen.append(_html(app))
        verdict = "review_reject" if number % 4 == 3 else "review_accept"
        _item_widget(app.button, verdict).click().run()
        assert not app.exception and app.success, number
        decided.append(app.success[0].value.split()[0])
        if number == 9:  # halfway: what agreement says now
            app.sidebar.radio(key="page").set_value("Agreement").run()
            halfway = (app.metric[0].value, app.dataframe[0].value)
            app.sidebar.radio(key="page").set_value("Review").run()
    assert decided.count("Accepted") == 15 and decided.count("Rejected") == 5
    assert len(set(seen)) == 20  # a new coding each time
    app.sidebar.radio(key="page").set_value("Agreement").run()
    assert app.selectbox(key="agreement_pair").value.endswith("vs dana (review)")
    turns, table = app.metric[0].value, app.dataframe[0].value
    assert int(turns) > int(halfway[0])
    # The rejected codes are the auto-coder's alone and dana added none; a turn counts for
    # a code once (several spans may carry it), and only where dana decided all of them.
    auto_only, both = table["only rules:relational@1.0"].sum(), table["both"].sum()
    assert 0 < auto_only <= 5 and 0 < both <= 15 and table["only dana (review)"].sum() == 0
    assert not table.equals(halfway[1])
    app.sidebar.radio(key="page").set_value("Export").run()
    assert not app.exception and len(app.get("download_button")) == 4
    rows = _rows(db, "SELECT verdict, reviewer FROM decisions")
    assert len(rows) == 20 and {r["reviewer"] for r in rows} == {"dana"}
    store = Store.open(db)
    data = _qdpx_bytes(store, accepted_only=True)
    store.close()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.read("project.qde").count(b"<Coding ") == 15


def test_viewer_review_asks_the_learned_coders_questions(small_gold, partial_gold, tmp_path,
                                                         monkeypatch):
    from reltext.project import Project
    from reltext.viewer.pages import ASK_MODEL, QUESTIONS

    turns, _ = small_gold
    db = tmp_path / "asked.db"
    with Project(db) as project:
        project.ingest([turns])
        project.import_codings(partial_gold, coder="human:gold")
        model = project.train(embedding="tfidf")
        first = project.review_queue(n=QUESTIONS).iloc[0]
    monkeypatch.setenv("RELTEXT_DB", str(db))
    monkeypatch.setenv("RELTEXT_REVIEWER", "alice")
    app = _app("Review")
    app.radio(key="review_mode").set_value(ASK_MODEL).run()
    assert not app.exception, app.exception
    page = _html(app)
    assert first.text[:40].replace("'", "&#x27;") in page and "apply to this turn?" in page
    assert f"from model {model.model_id}" in app.caption[0].value
    asked = int(app.caption[0].value.split()[0])
    app.button(key="question_no").click().run()
    assert app.success[0].value.startswith(f"{first.code} does not apply to ")
    answers = _rows(db, "SELECT turn_pk, code, reviewer, applies, model_id FROM answers")
    assert answers == [{"turn_pk": int(first.turn_pk), "code": first.code, "reviewer": "alice",
                        "applies": 0, "model_id": model.model_id}]
    # The next question is drawn, and the answered one is not asked again.
    assert int(app.caption[0].value.split()[0]) == asked - 1
    app.button(key="review_undo").click().run()
    assert app.success[0].value.startswith("Withdrawn: ")
    assert _rows(db, "SELECT applies FROM answers ORDER BY pk")[-1]["applies"] is None
    assert int(app.caption[0].value.split()[0]) == asked
    app.sidebar.radio(key="page").set_value("Export").run()
    answers = app.get("download_button")
    assert any(button.proto.label == "Download answers CSV" for button in answers)
    app.sidebar.radio(key="page").set_value("Review").run()
    rare = next(iter(model.manifest["fallback_to_rules"]))
    app.selectbox(key="review_code").set_value(rare).run()
    assert app.info[0].value.startswith(f"Model {model.model_id} has no classifier for {rare}")
    app.radio(key="review_mode").set_value("Auto-codes to check").run()
    assert not app.exception, app.exception


def test_viewer_correction_form_shows_the_current_items_code_and_span(project):
    app = _app("Review")
    assert _item_widget(app.selectbox, "correct_code").value == "stigma"
    _item_widget(app.button, "review_accept").click().run()  # the next: isolation
    assert _item_widget(app.selectbox, "correct_code").value == "isolation"
    assert _item_widget(app.text_input, "correct_span").value == "on my own"
    _item_widget(app.text_input, "correct_span").input("at home on my own")
    _item_widget(app.button, "correct_send").click().run()
    assert not app.error, [e.value for e in app.error]
    row = _rows(project, "SELECT d.code, d.start_char, d.end_char FROM decisions d "
                         "ORDER BY d.pk DESC LIMIT 1")[0]
    assert (row["code"], row["end_char"] - row["start_char"]) == ("isolation", 17)


def test_viewer_reviewer_name_survives_a_reload_in_the_address(project, monkeypatch):
    monkeypatch.delenv("RELTEXT_REVIEWER")
    app = AppTest.from_file(str(APP), default_timeout=30).run()
    app.text_input[0].input("zoe")
    app.button[0].click().run()
    assert app.query_params["reviewer"] in ("zoe", ["zoe"])
    reloaded = _app(reviewer="zoe")  # a new session on the same address
    assert reloaded.session_state["reviewer"] == "zoe"
    assert "zoe" in reloaded.sidebar.markdown[0].value
    bad = AppTest.from_file(str(APP), default_timeout=30)
    bad.query_params["reviewer"] = "no:good"
    bad.run()
    assert "is not usable" in bad.error[0].value
    assert not bad.sidebar.radio  # asked for a name instead
