"""Topic models: offline, reproducible, stored, exported, linked to codes and promoted."""

from __future__ import annotations

import csv
import socket
from pathlib import Path

import numpy as np
import pytest
import yaml
from sqlalchemy import text

from reltext.errors import CodebookError, ReltextError
from reltext.project import Project
from reltext.topics.codes import candidate_codes, promote_topic, topic_code_table
from reltext.topics.views import (
    plot_topic_distribution,
    topic_distribution,
    topics_frame,
    turn_topics_frame,
)
from reltext.topics.fitting import (
    TopicSettings,
    assign_topics,
    content_words,
    fit_topics,
    select_units,
    strip_fillers,
    topic_stop_words,
)

DATA = Path(__file__).resolve().parent / "data"
TURNS = DATA / "topic-turns.csv"
FAST = TopicSettings(seed=5, fast=True, embedding="tfidf", topics=4)
THEMES = {"flat": "housing", "tablets": "medication", "sister": "family", "job": "work"}


@pytest.fixture
def project(fresh_db):
    project = Project(fresh_db)
    project.ingest([TURNS])
    yield project
    project.close()


def theme_of(topic_words: str) -> str | None:
    found = {theme for word, theme in THEMES.items() if word in topic_words.split(", ")}
    return found.pop() if len(found) == 1 else None


def test_topics_fillers_and_stop_words_never_become_topic_words():
    stop_words = set(topic_stop_words())
    assert {"um", "uh", "yeah", "like", "mm", "hmm", "okay", "the", "and", "don"} <= stop_words
    assert strip_fillers("Well, you know, I mean the rent, sort of").split() == \
        ["well,", ",", "the", "rent,"]
    assert content_words("Mm-hmm. Yeah, okay, you know.") == []
    assert content_words("I know the landlord won't fix it") == ["know", "landlord", "fix"]


def test_topics_back_channel_and_role_and_where_select_units(project):
    units, left_out = select_units(project.store, TopicSettings())
    assert len(units) == 48 and left_out == 28
    assert all(len(content_words(unit.text)) >= 3 for unit in units)
    units, _ = select_units(project.store, TopicSettings(speaker_role="client",
                                                          where=(("site", "South"),)))
    assert len(units) == 24
    with pytest.raises(ReltextError, match="no turn or transcript has the attribute 'wav'"):
        select_units(project.store, TopicSettings(where=(("wav", "1"),)))
    with pytest.raises(ReltextError, match="no turn has the role 'patient'.*client, worker"):
        select_units(project.store, TopicSettings(speaker_role="patient"))


def test_topics_sentence_units_have_offsets_into_their_turn(project):
    units, _ = select_units(project.store, TopicSettings(unit="sentence", min_words=1))
    with project.store.read() as conn:
        texts = {pk: turn_text for pk, turn_text in project.store.turn_keys(conn).values()}
    assert units and all(texts[u.turn_pk][u.start_char:u.end_char] == u.text for u in units)
    fit_topics(project.store, TopicSettings(seed=5, fast=True, embedding="tfidf", topics=4,
                                            unit="sentence", min_words=1))
    turns = turn_topics_frame(project.store)
    assert len(turns) == len(units)
    assert all(texts[row.turn_pk][row.start_char:row.end_char] == row.text
               for row in turns.itertuples())


def test_topics_fast_fit_finds_the_themes_and_stores_everything(project):
    result = fit_topics(project.store, FAST)
    topics = topics_frame(project.store)
    assert list(topics.columns[:4]) == ["topic_id", "size", "label", "words"]
    assert sorted(theme_of(words) for words in topics["words"]) == \
        ["family", "housing", "medication", "work"]
    assert topics["size"].sum() == result.units == 48
    assert not set(" ".join(topics["words"]).replace(",", " ").split()) & {"um", "yeah", "like"}
    turns = turn_topics_frame(project.store)
    assert len(turns) == 48 and turns["probability"].between(0, 1).all()
    assert (turns.groupby("topic_id")["representative"].count() == 5).all()
    manifest = result.manifest
    assert manifest["seed"] == 5 and manifest["parameters"]["method"] == "pca+kmeans"
    assert {"bertopic", "scikit-learn", "reltext"} <= set(manifest["versions"])
    assert (result.model_path / "model.pickle").is_file()
    assert (result.model_path / "embedder.joblib").is_file()


def test_topics_same_data_and_seed_give_identical_topics_and_assignments(project, tmp_path):
    first = fit_topics(project.store, FAST)
    second = fit_topics(project.store, FAST)
    assert first.run_id != second.run_id
    a, b = topics_frame(project.store, first.run_id), topics_frame(project.store, second.run_id)
    assert a.drop(columns="run_id").equals(b.drop(columns="run_id"))
    assert turn_topics_frame(project.store, first.run_id).equals(
        turn_topics_frame(project.store, second.run_id))
    other = Project(tmp_path / "other.db")
    other.ingest([TURNS])
    third = fit_topics(other.store, FAST)
    assert topics_frame(other.store, third.run_id).drop(columns="run_id").equals(
        a.drop(columns="run_id"))


def test_topics_minilm_fit_attempts_no_network_access(project, monkeypatch):
    attempts = []

    def refuse(self, address, *args):
        attempts.append(address)
        raise OSError(f"network access attempted: {address}")

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    result = fit_topics(project.store, TopicSettings(seed=1, fast=True, topics=4))
    assert attempts == []
    assert result.manifest["embedding_model"].startswith("all-MiniLM-L6-v2")
    with project.store.read() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM embeddings")).scalar() == 48
    words = topics_frame(project.store)["words"]
    assert sorted(theme_of(w) for w in words) == ["family", "housing", "medication", "work"]


def test_topics_assign_gives_new_turns_topics_without_refitting(project, tmp_path):
    result = fit_topics(project.store, FAST)
    new = tmp_path / "later.csv"
    with new.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["transcript_id", "turn_id", "speaker", "role", "text", "site", "wave"])
        writer.writerow(["t9", "0", "Client", "client",
                         "The landlord put the rent up and the flat tenancy ends soon.",
                         "North", "3"])
        writer.writerow(["t9", "1", "Worker", "worker", "Okay, yeah.", "North", "3"])
        writer.writerow(["t9", "2", "Client", "client",
                         "The psychiatrist changed the dose of my tablets again.", "North", "3"])
    project.ingest([new])
    before = topics_frame(project.store)
    assert assign_topics(project.store) == {"units": 2, "left_out": 1}
    assert assign_topics(project.store) == {"units": 0, "left_out": 0}
    turns = turn_topics_frame(project.store, result.run_id)
    added = turns[turns["transcript_id"] == "t9"].set_index("turn_id")
    labels = before.set_index("topic_id")["words"]
    assert theme_of(labels[added.at["0", "topic_id"]]) == "housing"
    assert theme_of(labels[added.at["2", "topic_id"]]) == "medication"
    assert topics_frame(project.store).equals(before)


def test_topics_by_group_and_over_time(project):
    fit_topics(project.store, FAST)
    by_wave = topic_distribution(project.store, "wave")
    assert list(by_wave.index) == ["1", "2"] and by_wave["units"].sum() == 48
    shares = by_wave.drop(columns="units")
    assert np.allclose(shares.sum(axis=1), 1.0)
    by_role = topic_distribution(project.store, "role", share=False)
    assert list(by_role.index) == ["client"] and by_role["units"].iloc[0] == 48
    figure = plot_topic_distribution(by_wave, title="Topics by wave")
    assert figure.axes[0].get_title() == "Topics by wave"
    with pytest.raises(ReltextError, match="no modelled turn has the attribute 'colour'"):
        topic_distribution(project.store, "colour")


def add_codings(project, tmp_path, theme_codes: dict[str, str], *, uncoded: str = ""):
    """Code each client turn by its theme; the turns of the ``uncoded`` theme are not coded."""
    turns = turn_topics_frame(project.store)
    topics = topics_frame(project.store).set_index("topic_id")["words"]
    path = tmp_path / "codes.csv"
    with path.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["transcript_id", "turn_id", "codes"])
        for row in turns.itertuples():
            if theme_of(topics[row.topic_id]) == uncoded:
                continue
            writer.writerow([row.transcript_id, row.turn_id,
                             theme_codes.get(theme_of(topics[row.topic_id]), "")])
    project.import_codings(path, coder="human:alice")


def test_topics_code_table_and_candidate_codes(project, tmp_path):
    fit_topics(project.store, FAST)
    add_codings(project, tmp_path, {"family": "connection", "work": "agency",
                                    "medication": "disempowerment"}, uncoded="work")
    table = topic_code_table(project.store)
    assert table.attrs["coder"] == "human:alice"
    words = topics_frame(project.store).set_index("topic_id")["words"]
    by_theme = {theme_of(words[topic]): row for topic, row in table.iterrows()}
    assert by_theme["family"]["connection"] == 1.0
    assert by_theme["family"]["disempowerment"] == 0.0 and "agency" not in table.columns
    assert by_theme["housing"]["any_code"] == 0.0 and by_theme["housing"]["coded"] == 12
    assert by_theme["work"]["coded"] == 0 and np.isnan(by_theme["work"]["connection"])
    assert by_theme["work"].isna()["top_code"]
    assert by_theme["medication"]["top_code"] == "disempowerment"
    candidates = candidate_codes(project.store, min_size=5)
    assert [theme_of(w) for w in candidates["words"]] == ["housing"]
    assert len(candidates["examples"].iloc[0]) == 5


def test_topics_promote_adds_a_valid_draft_code_keeping_the_file(project, tmp_path):
    fit_topics(project.store, FAST)
    words = topics_frame(project.store).set_index("topic_id")["words"]
    housing = next(t for t, w in words.items() if theme_of(w) == "housing")
    codebook = tmp_path / "mine.yaml"
    codebook.write_text(
        "# Our codebook.\nname: mine\nversion: '1.0'\ncodes:\n"
        "- key: trust  # kept\n  name: Trust\n  family: goods\n  definition: Trust.\n"
        "  polarity: good\n  colour: '#2e8b57'\n  phrases: [trust]\n", encoding="utf-8")
    code = promote_topic(project.store, housing, key="housing", codebook=codebook)
    content = codebook.read_text(encoding="utf-8")
    assert content.startswith("# Our codebook.") and "# kept" in content
    data = yaml.safe_load(content)
    assert [c["key"] for c in data["codes"]] == ["trust", "housing"]
    draft = data["codes"][1]
    assert draft == code
    assert set(draft) == {"key", "name", "family", "definition", "include", "exclude",
                          "examples", "polarity", "colour", "phrases"}
    assert "flat" in draft["phrases"] and draft["polarity"] == "neutral"
    assert len(draft["examples"]) == 5 and all("flat" in e or "rent" in e or "hous" in e
                                               or "landlord" in e or "tenanc" in e
                                               for e in draft["examples"])
    with pytest.raises(CodebookError, match="already has this code"):
        promote_topic(project.store, housing, key="housing", codebook=codebook)
    with pytest.raises(ReltextError, match="has no topic 99"):
        promote_topic(project.store, 99, key="other", codebook=codebook)
    assert codebook.read_text(encoding="utf-8") == content


def test_topics_promote_creates_a_codebook_the_loader_accepts(project, tmp_path):
    codebook_module = pytest.importorskip("reltext.coding.codebook")
    fit_topics(project.store, FAST)
    path = tmp_path / "emergent.yaml"
    promote_topic(project.store, 0, key="theme_zero", codebook=path)
    loaded = codebook_module.load_codebook(path)
    assert loaded.keys == ("theme_zero",)


def test_topics_cli_fits_exports_and_reports_errors(run_cli, fresh_db, tmp_path):
    assert run_cli("ingest", str(TURNS)).exit_code == 0
    result = run_cli("topics", "--fast", "--embedding", "tfidf", "--topics", "4", "--seed", "2",
                     "--silent")
    assert result.exit_code == 0, result.output
    assert "4 topics over 48 turns (28 back-channel turns left out)" in result.output
    out = tmp_path / "topics.csv"
    assert run_cli("export", "topics", "--format", "csv", "--out", str(out)).exit_code == 0
    with out.open(newline="") as file:
        rows = list(csv.DictReader(file))
    assert list(rows[0])[:4] == ["topic_id", "size", "label", "words"] and len(rows) == 4
    out = tmp_path / "turn-topics.csv"
    assert run_cli("export", "turn-topics", "--format", "csv", "--out", str(out)).exit_code == 0
    with out.open(newline="") as file:
        rows = list(csv.DictReader(file))
    assert list(rows[0])[:4] == ["transcript_id", "turn_id", "topic_id", "probability"]
    assert len(rows) == 48
    plot = tmp_path / "by-site.svg"
    result = run_cli("topics", "groups", "--by", "site", "--plot", str(plot))
    assert result.exit_code == 0 and plot.read_text().lstrip().startswith("<?xml")
    result = cli_error(fresh_db)
    assert result("topics", "--where", "wave") == \
        "Error: --where needs KEY=VALUE, got 'wave'. Write it like --where wave=2.\n"
    assert result("topics", "promote", "0", "--code", "Bad Key", "--codebook",
                  str(tmp_path / "x.yaml")) == (
        "Error: the code key 'Bad Key' is not valid. Use a lower-case key of letters, digits "
        "and '_', e.g. housing.\n")


def test_topics_cli_before_any_run_says_what_to_do(run_cli, fresh_db):
    run_cli("ingest", str(TURNS))
    assert cli_error(fresh_db)("topics", "list") == (
        f"Error: {fresh_db}: no topic model in this project yet. Fit one with "
        "'reltext topics'.\n")


def cli_error(db):
    """Run the CLI expecting a user error: checks exit status 1, returns stderr."""
    from click.testing import CliRunner

    from reltext.cli import main

    def run(*args: str) -> str:
        result = CliRunner().invoke(main, ["--db", str(db), *args])
        assert result.exit_code == 1, result.output
        assert "Traceback" not in result.output
        return result.stderr

    return run


@pytest.mark.slow
def test_topics_umap_and_hdbscan_runs_are_reproducible(project):
    settings = TopicSettings(seed=11, embedding="tfidf", min_topic_size=5)
    first = fit_topics(project.store, settings)
    second = fit_topics(project.store, settings)
    assert first.manifest["parameters"]["method"] == "umap+hdbscan"
    assert first.manifest["parameters"]["hdbscan_min_cluster_size"] == 5
    a, b = turn_topics_frame(project.store, first.run_id), turn_topics_frame(
        project.store, second.run_id)
    assert a.equals(b) and a["topic_id"].nunique() >= 2
    assert topics_frame(project.store, first.run_id).drop(columns="run_id").equals(
        topics_frame(project.store, second.run_id).drop(columns="run_id"))


def test_topics_without_the_topics_extra_say_how_to_install_it(project, monkeypatch):
    import sys

    from reltext.errors import MissingExtraError

    monkeypatch.setitem(sys.modules, "bertopic", None)  # as if it were not installed
    with pytest.raises(MissingExtraError, match=r"'bertopic'.*pip install 'reltext\[topics\]'"):
        fit_topics(project.store, FAST)
    with project.store.read() as conn:
        assert project.store.list_runs(conn, kind="topics") == []
