"""Active learning: the turns whose review would teach the learned coder most.

Two kinds of turn come first:

- turns where people disagree: two human coders coded the turn and only one applied the
  code (score 1), the disagreement a team most needs to settle;
- turns no one has labelled for a code (of ``MIN_WORDS`` words or more) whose probability
  under the newest model lies near the code's threshold: score
  ``1 - |p - threshold| / max(threshold, 1 - threshold)``, 1 at the threshold and 0 at
  certainty either way.

Probabilities are computed from cached embeddings and the rules coder's stored codings, so
listing the queue never runs the spaCy pipeline.

A reviewer answers a pair with :func:`answer`: the code applies to the turn or it does not.
Answers are labels for the next training (like an accepted or rejected auto-code) and take
the pair out of the queue. Answers and review decisions are one log:
:func:`reltext.review.decisions.undo_last` takes back the reviewer's latest of either.

Example:
    >>> queue = review_queue(store, n=20, code="trust")
    >>> queue[["transcript_id", "turn_id", "code", "probability", "score", "reason"]]
    >>> first = queue.iloc[0]
    >>> answer(store, "alice", first.transcript_id, first.turn_id, first.code, applies=False)
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ReltextError
from ..model import Answer, is_interviewer
from ..review.decisions import as_answer, check_reviewer, code_keys, new_decision_id
from ..store.database import Store
from .training import MODEL_KIND, build_examples, load_model

# Shorter turns ("Okay.", "I'm good, thanks.") are not asked about: 2% of the dev gold's
# turns of 3 words or fewer carry any code, and leaving them out of the simulated queue
# (benchmarks/sim_queue.py) teaches the coder as much per answer.
MIN_WORDS = 4
ANSWER_COLUMNS = ["answer_id", "transcript_id", "turn_id", "code", "reviewer", "applies",
                  "model_id", "probability", "answered_at"]
QUEUE_COLUMNS = ["transcript_id", "turn_id", "speaker", "code", "probability", "threshold",
                 "score", "reason", "text", "turn_pk"]


def review_queue(store: Store, *, n: int = 20, code: str | None = None,
                 model_id: str | None = None) -> pd.DataFrame:
    """The ``n`` (turn, code) pairs whose review would teach most, best first.

    Args:
        store: The project.
        n: How many rows.
        code: Only this code.
        model_id: The model whose uncertainty counts; the newest when None.

    Raises:
        ReltextError: ``n`` is not positive, no model is trained, or ``code`` is not one of
            the model's codes.
    """
    if n < 1:
        raise ReltextError(f"--n must be at least 1, got {n}", fix="Ask for 1 or more turns.")
    scorer = _scorer(store, model_id)
    codes = scorer.codes
    if code is not None and code not in codes:
        raise ReltextError(f"unknown code {code!r}", fix=f"Use one of: {', '.join(codes)}.")
    wanted = [code] if code else codes
    rows: list[dict[str, Any]] = []
    with store.read() as conn:
        human: dict[int, dict[str, set[str]]] = defaultdict(dict)
        for coder in store.human_coders(conn):
            for turn_pk, turn_codes in store.coded_turn_codes(conn, coder, by_pk=True).items():
                human[turn_pk][coder] = turn_codes
        decisions = store.training_decisions(conn)
        decided = {(d["turn_pk"], d["code"]) for d in decisions} | {
            (d["turn_pk"], d["decided_code"]) for d in decisions} | {
            (a["turn_pk"], a["code"]) for a in store.answers(conn)}
        all_pks = [turn["turn_pk"] for turn in store.iter_turns(conn)]
        turns = store.turns_by_pk(conn, all_pks)
    for turn_pk, by_coder in human.items():
        if len(by_coder) < 2 or turn_pk not in turns:
            continue
        for key in wanted:
            having = sorted(c for c, codes_of in by_coder.items() if key in codes_of)
            if having and len(having) < len(by_coder) and (turn_pk, key) not in decided:
                lacking = sorted(set(by_coder) - set(having))
                rows.append(_row(turns[turn_pk], key, None, None, 1.0,
                                 f"coders disagree: {', '.join(having)} applied it, "
                                 f"{', '.join(lacking)} did not"))
    unlabelled = [turns[pk] for pk in all_pks
                  if pk not in human and len(turns[pk]["text"].split()) >= MIN_WORDS
                  and not is_interviewer(turns[pk]["role"] or turns[pk]["speaker"])]
    if unlabelled:
        probabilities = scorer.probabilities(unlabelled)
        for key in wanted:
            if key not in scorer.thresholds:
                continue
            column = codes.index(key)
            threshold = scorer.thresholds[key]
            p = probabilities[:, column]
            scores = uncertainty(p, threshold)
            for row in np.argsort(-scores)[: n]:
                turn = unlabelled[row]
                if (turn["turn_pk"], key) in decided:
                    continue
                rows.append(_row(turn, key, float(p[row]), threshold, float(scores[row]),
                                 "uncertain: probability near the threshold"))
    frame = pd.DataFrame(rows, columns=QUEUE_COLUMNS)
    frame = frame.sort_values(["score", "transcript_id", "turn_id"], ascending=[False, True, True],
                              kind="stable")
    return frame.head(n).reset_index(drop=True)


@dataclass(slots=True)
class Scorer:
    """The model a queue ranks by: its codes, its thresholds, its probabilities of turns."""

    model_id: str
    codes: list[str]
    thresholds: dict[str, float]
    probabilities: Callable[[Sequence[dict[str, Any]]], np.ndarray]


def _scorer(store: Store, model_id: str | None) -> Scorer:
    """The named model, else the project's newest: the relational model adapted to the
    project, a classic learned coder, or (nothing trained yet) the shipped relational model."""
    with store.read() as conn:
        models = store.list_models(conn)
    if model_id is not None:
        models = [m for m in models if m["model_id"] == model_id]
        if not models:
            raise ReltextError(f"no model {model_id!r} in this project", path=store.path,
                               fix="List the models with: reltext models.")
    newest = models[-1] if models else None
    if newest is not None and newest["kind"] == MODEL_KIND:
        return _classic_scorer(store, newest["model_id"])
    from ..coding.coders.relational import RelationalModel, score_project_turns

    if newest is not None:
        from ..coding.coders.relational import load_adaptation

        model = load_adaptation(store, newest["model_id"])
    else:
        model = RelationalModel.load()

    def probabilities(turns: Sequence[dict[str, Any]]) -> np.ndarray:
        scored = score_project_turns(store, model, turns)
        return model.probabilities(scored.raw, scored.pooled)

    thresholds = {code: float(t) for code, t in zip(model.codes, model.thresholds, strict=True)
                  if t <= 1}
    return Scorer(model.coder_id, list(model.codes), thresholds, probabilities)


def _classic_scorer(store: Store, model_id: str) -> Scorer:
    model = load_model(store, model_id)
    rules_name = model.manifest.get("features", {}).get("rules")
    stored_rules: dict[int, list[dict[str, Any]]] = defaultdict(list)
    if rules_name:
        with store.read() as conn:
            for coding in store.iter_codings(conn, coder=rules_name):
                stored_rules[coding["turn_pk"]].append(coding)

    def probabilities(turns: Sequence[dict[str, Any]]) -> np.ndarray:
        examples, _ = build_examples(
            store, turns, embedding=model.featurizer.embedding,
            rule_coder=lambda ts: [c for t in ts for c in stored_rules.get(t["turn_pk"], [])])
        return model.coder.predict_proba(model.featurizer.transform(examples))

    thresholds = {code: model.coder.thresholds_[code] for code in model.coder.estimators_}
    return Scorer(model_id, list(model.coder.codes_), thresholds, probabilities)


def uncertainty(probabilities: np.ndarray, threshold: float) -> np.ndarray:
    """How unsure a classifier is of each turn: 1 at its threshold, 0 at certainty."""
    return 1 - np.abs(np.asarray(probabilities) - threshold) / max(threshold, 1 - threshold)


def answer(store: Store, reviewer: str, transcript_id: str, turn_id: str, code: str, *,
           applies: bool, model_id: str | None = None, probability: float | None = None,
           answer_id: str | None = None, known_codes: Sequence[str] | None = None
           ) -> Answer:
    """Record the reviewer's answer: does ``code`` apply to the turn?

    ``answer_id`` (made when the question is drawn) makes a resent answer count once (the
    answer recorded first is returned); ``known_codes`` default to the project's codebook and
    the newest model's codes.

    Raises:
        ReltextError: an unusable reviewer name, an unknown code or turn.
    """
    reviewer = check_reviewer(reviewer)
    if known_codes is None:
        known_codes = _known_codes(store)
    if code not in known_codes:
        raise ReltextError(f"unknown code {code!r}", fix=f"Use one of: {', '.join(known_codes)}.")
    answer_id = answer_id or new_decision_id()
    with store.write() as conn:
        turn = store.turn_pk(conn, transcript_id, turn_id)
        if turn is None:
            raise ReltextError(f"no turn {turn_id!r} in transcript {transcript_id!r}",
                               fix="Pick a turn of a transcript in the project.")
        store.record_answer(conn, {
            "answer_id": answer_id, "turn_pk": turn[0], "code": code, "reviewer": reviewer,
            "applies": int(bool(applies)), "model_id": model_id, "probability": probability})
        return as_answer(store.answer_entry(conn, answer_id))


def answers_frame(store: Store, *, reviewer: str | None = None) -> pd.DataFrame:
    """Every answer given (one reviewer's, if named), oldest first: ``answer_id,
    transcript_id, turn_id, code, reviewer, answer`` (``applies``, ``does not apply`` or
    ``withdrawn``; an undo is a row too), ``model_id, probability, answered_at``."""
    with store.read() as conn:
        rows = store.answer_history(conn, reviewer=reviewer)
    frame = pd.DataFrame(rows, columns=ANSWER_COLUMNS)
    frame["applies"] = frame["applies"].map(
        lambda value: "withdrawn" if pd.isna(value) else
        ("applies" if value else "does not apply"))
    return frame.rename(columns={"applies": "answer"})


def _known_codes(store: Store) -> list[str]:
    with store.read() as conn:
        models = store.list_models(conn, kind=MODEL_KIND)
    learned = models[-1]["manifest"].get("training", {}).get("positives", {}) if models else {}
    return sorted(set(code_keys(store)) | set(learned))


def _row(turn: dict[str, Any], code: str, probability: float | None, threshold: float | None,
         score: float, reason: str) -> dict[str, Any]:
    return {"transcript_id": turn["transcript_id"], "turn_id": turn["turn_id"],
            "speaker": turn["speaker"], "code": code,
            "probability": None if probability is None else round(probability, 4),
            "threshold": None if threshold is None else round(threshold, 4),
            "score": round(score, 4), "reason": reason,
            "text": turn["text"], "turn_pk": turn["turn_pk"]}


def answered(store: Store) -> set[tuple[int, str]]:
    """The ``(turn_pk, code)`` pairs someone's standing answer settles."""
    with store.read() as conn:
        return {(a["turn_pk"], a["code"]) for a in store.answers(conn)}
