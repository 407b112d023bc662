"""The learned coder: fitting, saving, retraining on decisions, coding, the queue, the CLI."""

from __future__ import annotations

import csv
import functools
import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import sparse
from sqlalchemy import text

from reltext.coding.batch import run_coding
from reltext.coding.coders.learned import IDENTITY, LearnedCoder, calibrated, platt_scaling
from reltext.errors import NotFittedError, ReltextError
from reltext.project import Project
from reltext.learning.training import LearnedTurnCoder, coder_name, load_model

TRANSCRIPTS = 4  # in the small_gold fixture


@pytest.fixture
def project(fresh_db, small_gold):
    turns, _ = small_gold
    project = Project(fresh_db)
    project.ingest([turns])
    yield project
    project.close()


def test_learned_coder_not_fitted_message():
    with pytest.raises(NotFittedError, match="This LearnedCoder instance is not fitted yet"):
        LearnedCoder().predict_proba(sparse.csr_matrix(np.zeros((1, 3))))


def test_learned_coder_skips_rare_codes_and_never_splits_a_group():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 4))
    common = (X[:, 0] > 0).astype(int)
    rare = np.zeros(60, dtype=int)
    rare[:3] = 1
    groups = [f"t{i // 10}" for i in range(60)]
    coder = LearnedCoder(random_state=0).fit(
        sparse.csr_matrix(X), np.c_[common, rare], groups, codes=["common", "rare"])
    assert coder.fitted_codes == ["common"]
    assert "3 positive turn(s), fewer than 5" in coder.skipped_["rare"]
    assert coder.cv_scores_["common"]["kappa"] > 0.6
    assert np.isnan(coder.predict_proba(sparse.csr_matrix(X))[:, 1]).all()


def test_threshold_marks_as_many_turns_as_people_coded():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(200, 5))
    y = (X[:, 0] + 0.5 * rng.normal(size=200) > 1.0).astype(int)
    groups = [f"t{i // 20}" for i in range(200)]
    coder = LearnedCoder(random_state=0).fit(sparse.csr_matrix(X), y[:, None], groups,
                                             codes=["c"])
    marked = coder.predict_proba(sparse.csr_matrix(X))[:, 0] >= coder.thresholds_["c"]
    # In sample the classifier is surer than out of fold, so allow a margin.
    assert abs(int(marked.sum()) - int(y.sum())) <= 0.35 * y.sum()


def test_auto_keeps_rules_less_vetoes_and_adds_the_surest_misses():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(300, 4))
    y = (X[:, 0] > 0.8).astype(int)
    # The rules find half the positives and one sure negative.
    ruled = (y == 1) & (np.arange(300) % 2 == 0)
    ruled[np.argmin(X[:, 0])] = True
    groups = [f"t{i // 30}" for i in range(300)]
    coder = LearnedCoder(random_state=0).fit(
        sparse.csr_matrix(X), y[:, None], groups, codes=["c"], rule_predictions=ruled[:, None])
    assert coder.modes_["c"] == "combined"
    assert coder.auto_thresholds_["c"] is not None
    p = coder.predict_proba(sparse.csr_matrix(X))
    rule_codes = [{"c"} if r else set() for r in ruled]
    auto = coder.decide(p, rule_codes, combine=True)[:, 0]
    assert not auto[np.argmin(X[:, 0])]  # vetoed
    assert auto[ruled & (y == 1)].all()  # kept
    assert auto[~ruled].sum() > 0 and y[~ruled & auto].mean() > 0.8  # added, mostly right
    assert (coder.decide(p, rule_codes, combine=False)[:, 0]
            == (p[:, 0] >= coder.thresholds_["c"])).all()


def _rare_code(seed: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Turn features and a code on about 6% of turns that the features predict only in part."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 6))
    y = (X[:, 0] + X[:, 1] + rng.normal(scale=1.2, size=n) > 2.6).astype(int)
    return X, y


def test_probabilities_are_calibrated_on_turns_never_trained_on():
    X, y = _rare_code(4, 600)
    coder = LearnedCoder(random_state=0).fit(sparse.csr_matrix(X), y[:, None],
                                             [f"t{i // 30}" for i in range(600)], codes=["c"])
    new_X, new_y = _rare_code(5, 4000)
    p = coder.predict_proba(sparse.csr_matrix(new_X))[:, 0]
    raw = coder.estimators_["c"].predict_proba(new_X)[:, 1]
    # Class balance overstates a rare code several times over; calibration brings the mean
    # probability to the code's rate, and each band of probabilities near its own rate.
    assert raw.mean() > 3 * new_y.mean()
    assert abs(p.mean() - new_y.mean()) < 0.02
    for low, high in ((0.0, 0.1), (0.1, 0.3), (0.3, 1.0)):
        band = (p >= low) & (p < high)
        assert band.sum() >= 50 and low - 0.08 <= new_y[band].mean() <= high + 0.08
    # The ranking, and so what the threshold marks, is the classifier's own.
    assert (np.argsort(p, kind="stable") == np.argsort(raw, kind="stable")).all()


@given(raw=st.lists(st.floats(0, 1), min_size=2, max_size=40),
       truth=st.lists(st.booleans(), min_size=2, max_size=40))
@settings(max_examples=60, deadline=None)
def test_platt_scaling_never_reorders_probabilities(raw, truth):
    n = min(len(raw), len(truth))
    raw, truth = np.array(raw[:n]), np.array(truth[:n], dtype=int)
    fit = platt_scaling(raw, truth)
    p = calibrated(raw, fit)
    assert ((p >= 0) & (p <= 1)).all()
    order = np.argsort(raw)
    assert (np.diff(p[order]) >= -1e-12).all()
    if truth.min() == truth.max():
        assert fit == IDENTITY


def test_a_model_saved_before_calibration_keeps_its_raw_probabilities():
    X, y = _rare_code(6, 300)
    coder = LearnedCoder(random_state=0).fit(sparse.csr_matrix(X), y[:, None],
                                             [f"t{i // 30}" for i in range(300)], codes=["c"])
    del coder.calibration_
    assert np.allclose(coder.predict_proba(sparse.csr_matrix(X))[:, 0],
                       coder.estimators_["c"].predict_proba(X)[:, 1])


def test_auto_keeps_the_rules_alone_for_a_code_with_few_positives():
    X = np.random.default_rng(3).normal(size=(80, 3))
    y = np.zeros(80, dtype=int)
    y[np.argsort(X[:, 0])[-7:]] = 1
    coder = LearnedCoder(random_state=0).fit(sparse.csr_matrix(X), y[:, None],
                                             [f"t{i // 10}" for i in range(80)], codes=["c"])
    assert coder.modes_["c"] == "rules"
    p = coder.predict_proba(sparse.csr_matrix(X))
    rule_codes = [{"c"} if i < 3 else set() for i in range(80)]
    assert coder.decide(p, rule_codes, combine=True)[:, 0].tolist() == [i < 3 for i in range(80)]


def test_train_saves_model_manifest_and_row_and_keeps_older(project, small_gold):
    _, codes = small_gold
    first = project.train(gold=codes, embedding="tfidf")
    manifest = first.manifest
    assert manifest["training"]["coders"] == ["human:gold"]
    assert manifest["training"]["transcripts"] == TRANSCRIPTS
    assert manifest["features"]["embedding"] == "tfidf"
    assert manifest["features"]["rules"] == "rules:relational@1.0"
    assert "scikit-learn" in manifest["libraries"]
    assert sum(manifest["training"]["seed_examples"].values()) > 14
    for code, reason in manifest["fallback_to_rules"].items():
        assert manifest["training"]["positives"][code] < 5, reason
    folder = project.path.parent / (project.path.name + ".models") / "learned" / first.model_id
    assert (folder / "model.joblib").exists()
    assert json.loads((folder / "manifest.json").read_text())["model_id"] == first.model_id
    second = project.train(embedding="tfidf")
    assert second.model_id != first.model_id
    assert (folder / "model.joblib").exists()
    assert list(project.models()["model_id"]) == [first.model_id, second.model_id]
    assert load_model(project.store).model_id == second.model_id


def _reject(project: Project, coding_pk: int) -> str:
    with project.store.write() as conn:
        conn.execute(text(
            "INSERT INTO decisions (decision_id, coding_pk, reviewer, verdict, code, start_char, "
            "end_char, previous, decided_at) VALUES ('d-reject-1', :pk, 'alice', 'reject', "
            "NULL, 0, 1, '{}', '2026-01-01T00:00:00+00:00')"), {"pk": coding_pk})
    return "d-reject-1"


def test_a_rejected_auto_code_changes_the_next_training(project, small_gold):
    _, codes = small_gold
    before = project.train(gold=codes, embedding="tfidf")
    code = max(before.manifest["training"]["positives"],
               key=before.manifest["training"]["positives"].get)
    gold = project.turn_codes("human:gold")
    turn_keys = project.store.turn_keys(project.store.engine.connect())
    target = next(key for key, found in sorted(gold.items()) if code in found)
    turn_pk = turn_keys[target][0]
    with project.store.write() as conn:
        project.store.add_codings(conn, [{"turn_pk": turn_pk, "code": code, "start_char": 0,
                                          "end_char": 1, "coder": "rules:relational@1.0",
                                          "origin": "rule", "evidence": "test"}])
        coding_pk = conn.execute(text("SELECT MAX(pk) FROM codings")).scalar_one()
    decision_id = _reject(project, coding_pk)
    after = project.train(embedding="tfidf")
    assert after.manifest["training"]["decision_ids"] == [decision_id]
    assert (after.manifest["training"]["positives"][code]
            == before.manifest["training"]["positives"][code] - 1)
    assert after.manifest["training"]["negatives"][code] \
        == before.manifest["training"]["negatives"][code] + 1


def test_learned_and_auto_coders_code_turns_with_confidence_and_evidence(project, small_gold):
    _, codes = small_gold
    model = project.train(gold=codes, embedding="tfidf")
    for combine in (False, True):
        name = coder_name(model.model_id, combine=combine)
        factory = functools.partial(LearnedTurnCoder, str(project.path), combine=combine)
        progress = list(run_coding(project.store, factory, coder_id=name))
        assert progress[-1].turns_done == progress[-1].turns_total
        frame = project.codings(name)
        assert len(frame) > 0
        learned = frame[frame["origin"] == "classifier"]
        assert learned["confidence"].between(0, 1).all()
        assert learned["evidence"].str.startswith("like ").all()

    assert set(project.codings()["coder"]) >= {"human:gold", f"learned:{model.model_id}",
                                               f"auto:{model.model_id}"}


def test_every_code_the_model_decides_is_coded(project, small_gold):
    from reltext.learning.training import predict_codings

    _, codes = small_gold
    model = project.train(gold=codes, embedding="tfidf")
    coder = LearnedTurnCoder(project.path, combine=True)
    with project.store.read() as conn:
        turns = list(project.store.turns_by_pk(
            conn, [t["turn_pk"] for t in project.store.iter_turns(conn)]).values())
    code = next(c for c, mode in model.coder.modes_.items() if mode == "combined")
    # Additions from a lower probability than the learned threshold: each must be coded.
    coder.model.coder.thresholds_[code] = 0.9
    coder.model.coder.auto_thresholds_[code] = 0.2
    for combine in (False, True):
        codings = predict_codings(project.store, coder.model, turns,
                                  rule_coder=coder.rule_coder, combine=combine)
        coded = {c["turn_pk"] for c in codings if c["code"] == code}
        rules = {c["turn_pk"] for c in coder.rule_coder(turns) if c["code"] == code}
        p = dict(zip([t["turn_pk"] for t in turns], _probabilities(coder, turns, code)))
        if combine:
            veto = coder.model.coder.veto_below
            expected = {pk for pk in p if p[pk] >= 0.2 or (pk in rules and p[pk] >= veto)}
        else:
            expected = {pk for pk in p if p[pk] >= 0.9}
        assert coded == expected, combine


def _probabilities(coder, turns, code):
    from reltext.learning.training import _replay, build_examples

    rule_codings = {}
    for coding in coder.rule_coder(turns):
        rule_codings.setdefault(coding["turn_pk"], []).append(coding)
    examples, _ = build_examples(coder.store, turns, embedding=coder.model.featurizer.embedding,
                                 rule_coder=_replay(rule_codings))
    probabilities = coder.model.coder.predict_proba(coder.model.featurizer.transform(examples))
    return probabilities[:, coder.model.coder.codes_.index(code)]


def test_cross_validation_scores_three_coders_on_unseen_transcripts(project, small_gold):
    _, codes = small_gold
    project.import_codings(codes, coder="human:gold")
    report = project.cross_validate(embedding="tfidf", n_splits=2)
    assert report["transcripts"] == TRANSCRIPTS and report["folds"] == 2
    assert set(report["macro"]) == {"rules", "learned", "auto"}
    assert -1 <= report["macro"]["auto"]["kappa"] <= 1
    fit = report["calibration"]
    assert fit["probabilities"] == sum(b["n"] for b in fit["bins"]) > 0
    assert 0 <= fit["ece"] <= 1 and 0 <= fit["brier"] <= 1
    assert report["codes"]["agency"]["support"] > 0


def test_queue_lists_disagreements_first_then_uncertain_turns(project, partial_gold,
                                                              tmp_path):
    # One transcript is left uncoded, for the model to be unsure about.
    coded = list(csv.DictReader(open(partial_gold, newline="", encoding="utf-8")))
    changed = next(r for r in coded if "agency" in r["codes"].split(";"))
    project.import_codings(partial_gold, coder="human:gold")
    sam = tmp_path / "sam.csv"
    with open(sam, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=["transcript_id", "turn_id", "codes"])
        writer.writeheader()
        writer.writerow({**changed, "codes": ""})
    project.import_codings(sam, coder="human:sam")
    project.train(embedding="tfidf")
    queue = project.review_queue(n=5, code="agency")
    assert len(queue) == 5
    assert list(queue.loc[0, ["transcript_id", "turn_id"]]) == [changed["transcript_id"],
                                                               changed["turn_id"]]
    assert queue.loc[0, "reason"].startswith("coders disagree")
    assert queue["score"].is_monotonic_decreasing
    assert (queue["code"] == "agency").all()
    asked = queue[queue["reason"].str.startswith("uncertain")]
    assert len(asked) and (asked["text"].str.split().str.len() >= 4).all()


@pytest.fixture
def unsure_project(project, partial_gold):
    """Gold codes on all transcripts but the last, which the model is left to be unsure of."""
    project.import_codings(partial_gold, coder="human:gold")
    project.train(embedding="tfidf")
    return project


def test_answers_leave_the_queue_label_the_next_training_and_undo(unsure_project):
    from reltext.learning import questions as active_learning, training
    from reltext.review import decisions as review

    project = unsure_project
    queue = project.review_queue(n=4, code="agency")
    first, second = queue.iloc[0], queue.iloc[1]
    assert first.reason.startswith("uncertain")
    no = project.answer("alice", first.transcript_id, first.turn_id, "agency", applies=False)
    project.answer("bob", second.transcript_id, second.turn_id, "agency", applies=True,
                   answer_id="fixed")
    project.answer("bob", second.transcript_id, second.turn_id, "agency", applies=True,
                   answer_id="fixed")  # the same form sent twice counts once
    after = project.review_queue(n=4, code="agency")
    assert not {first.turn_pk, second.turn_pk} & set(after["turn_pk"])

    model = project.train(embedding="tfidf")
    assert model.manifest["training"]["answers"] == 2
    assert model.manifest["training"]["answer_ids"] == [no.answer_id, "fixed"]
    data = training.collect_training_data(project.store, codes=["agency"])
    label = dict(zip([t["turn_pk"] for t in data.turns], data.labels[:, 0], strict=True))
    assert label[first.turn_pk] == 0 and label[second.turn_pk] == 1

    withdrawn = review.undo_last(project.store, "bob", undo_id="undo")
    assert withdrawn.turn_pk == second.turn_pk
    # An undo sent again withdraws nothing more, even with an answer left to withdraw.
    assert review.undo_last(project.store, "alice", undo_id="undo") is None
    assert review.last_undoable(project.store, "bob") is None
    assert review.last_undoable(project.store, "alice").turn_pk == first.turn_pk
    data = training.collect_training_data(project.store, codes=["agency"])
    assert second.turn_pk not in {t["turn_pk"] for t in data.turns}
    history = active_learning.answers_frame(project.store)
    assert history[["reviewer", "answer"]].values.tolist() == [
        ["alice", "does not apply"], ["bob", "applies"], ["bob", "withdrawn"]]
    assert history.loc[0, "turn_id"] == first.turn_id
    with pytest.raises(ReltextError, match="unknown code 'hopefulness'"):
        project.answer("alice", first.transcript_id, first.turn_id, "hopefulness", applies=True)
    with pytest.raises(ReltextError, match="no turn '9999'"):
        project.answer("alice", first.transcript_id, "9999", "agency", applies=True)


def test_cli_answers_a_question_of_the_queue(run_cli, small_gold, unsure_project):
    queue = unsure_project.review_queue(n=1, code="hope")
    item = queue.iloc[0]
    db = str(unsure_project.path)
    result = run_cli("answer", item.transcript_id, item.turn_id, "hope", "--no",
                     "--reviewer", "alice", "--db", db)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("alice: hope does not apply to ")
    result = run_cli("answer", item.transcript_id, item.turn_id, "hope", "--reviewer",
                     "alice", "--db", db)
    assert result.exit_code == 2 and "--yes or --no" in result.output
    result = run_cli("answer", item.transcript_id, "nope", "hope", "--yes", "--reviewer",
                     "alice", "--db", db)
    assert result.exit_code == 1 and result.output.startswith("Error: no turn 'nope'")
    out = Path(db).with_name("answers.csv")
    result = run_cli("export", "answers", "--out", str(out), "--db", db)
    assert result.exit_code == 0 and result.output.startswith("Wrote 1 answers")
    rows = list(csv.DictReader(open(out, newline="", encoding="utf-8")))
    assert [(r["turn_id"], r["code"], r["reviewer"], r["answer"]) for r in rows] == [
        (item.turn_id, "hope", "alice", "does not apply")]


def test_cli_train_models_queue(run_cli, small_gold):
    turns, codes = small_gold
    assert run_cli("ingest", str(turns)).exit_code == 0
    result = run_cli("models")
    assert "No models yet" in result.output
    result = run_cli("train", "--gold", str(codes), "--embedding", "tfidf")
    assert result.exit_code == 0, result.output
    assert "Trained model" in result.output and "agency" in result.output
    result = run_cli("models")
    assert result.exit_code == 0 and "tfidf" in result.output
    model_id = result.output.splitlines()[2].split()[0]
    result = run_cli("code", "--coder", "auto")
    assert result.exit_code == 0, result.output
    result = run_cli("code", "--coder", "learned")
    assert result.exit_code == 0, result.output
    result = run_cli("coders")
    assert f"auto:{model_id}" in result.output and f"learned:{model_id}" in result.output
    report = Path(codes).with_name("report.json")
    result = run_cli("evaluate", "--gold", str(codes), "--coder", f"learned:{model_id}",
                     "--json", str(report))
    assert result.exit_code == 0, result.output
    assert json.loads(report.read_text())["coder"] == f"learned:{model_id}"
    result = run_cli("queue", "--n", "3")
    assert result.exit_code == 0 and "Nothing to review" in result.output
    result = run_cli("queue", "--code", "nonsense")
    assert result.exit_code == 1
    assert result.output.startswith("Error: unknown code 'nonsense'.")


def test_cli_train_cross_validates_with_report_and_reliability_diagram(run_cli, small_gold):
    turns, codes = small_gold
    run_cli("ingest", str(turns))
    folder = Path(codes).parent
    result = run_cli("train", "--gold", str(codes), "--embedding", "tfidf", "--cv",
                     "--plot", str(folder / "fit.gif"))
    assert result.exit_code == 1
    assert result.output.startswith("Error: ") and "fit.gif: cannot draw" in result.output
    result = run_cli("train", "--gold", str(codes), "--plot", str(folder / "fit.png"))
    assert result.exit_code == 2 and "add --cv" in result.output
    result = run_cli("train", "--gold", str(codes), "--embedding", "tfidf", "--cv",
                     "--json", str(folder / "cv.json"), "--plot", str(folder / "fit.png"))
    assert result.exit_code == 0, result.output
    assert "Grouped cross-validation" in result.output
    assert "expected calibration error" in result.output
    report = json.loads((folder / "cv.json").read_text())
    assert report["calibration"]["probabilities"] > 0
    assert (folder / "fit.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_train_without_codings_is_one_error_line(run_cli, small_gold):
    turns, _ = small_gold
    run_cli("ingest", str(turns))
    result = run_cli("train", "--embedding", "tfidf")
    assert result.exit_code == 1
    assert result.output.startswith("Error: there are no human codings, review decisions or "
                                    "answers to learn from")
    result = run_cli("train", "--coder-from", "human:nobody", "--embedding", "tfidf")
    assert result.exit_code == 1 and "no human coder 'human:nobody'" in result.output


def test_features_similarity_takes_the_best_sentence_and_never_a_seed_itself():
    from reltext.coding.coders.features import TurnExamples, TurnFeaturizer

    axes = np.eye(3, dtype=np.float32)
    prototypes = axes[[0, 1]]                      # one example of "a", one of "b"
    turns = TurnExamples(
        texts=["x", "y"], previous_texts=["", ""], roles=["client", ""],
        rule_keys=[frozenset({"code:a"}), frozenset()],
        embeddings=axes[[2, 0]], previous_embeddings=np.zeros((2, 3), np.float32),
        sentence_embeddings=[axes[[2, 1]], axes[[2]]],
    )
    seeds = TurnExamples(
        texts=["seed a", "seed b"], previous_texts=["", ""], roles=["", ""],
        rule_keys=[frozenset(), frozenset()], embeddings=prototypes,
        previous_embeddings=np.zeros((2, 3), np.float32),
        sentence_embeddings=[prototypes[[0]], prototypes[[1]]], seed_rows=[0, 1],
    )
    everything = TurnExamples.concat([turns, seeds])
    featurizer = TurnFeaturizer().fit(everything, prototypes=prototypes,
                                      prototype_codes=["a", "b"])
    similarity = featurizer.similarities(everything).toarray()
    # The first turn's second sentence is the "b" example; the second turn matches nothing.
    np.testing.assert_allclose(similarity[:2], [[0, 1], [0, 0]])
    # A seed is not compared with itself, so its own code scores 0 here.
    np.testing.assert_allclose(similarity[2:], [[0, 0], [0, 0]])
    matrix = featurizer.transform(everything)
    assert matrix.shape == (4, 3 + 3 + 2 + 1 + 1)
