"""The learned coder: one calibrated classifier per code, trained on the team's own coding.

Each code gets a class-balanced logistic regression over the turn features of
:mod:`reltext.coding.coders.features`. Class balance lets a rare code be learned at all but
overstates its probability, so a Platt sigmoid fitted on the out-of-fold probabilities maps
them back to how often the code applies: a probability of 0.3 means about 3 turns in 10.
Its decision threshold is set on out-of-fold probabilities
from cross-validation grouped by transcript (no transcript is ever split between a training
and a validation fold) so that the classifier marks as many turns as people coded: with a
few dozen positives, matching the team's frequency is far steadier than picking the
threshold with the best out-of-fold kappa, which chases a handful of turns. A code with fewer
than ``min_positives`` positive turns gets no classifier: it is listed in ``skipped_`` with
the reason and coded by the rules.

Combining with the rules (``auto``), per code with a classifier:

- a rule match stands unless the classifier is confident it is wrong (``p < veto_below``);
- the classifier adds the turns it ranks highest among those the rules missed, down to an
  ``add`` threshold set out of fold so that rules and additions together mark as many turns
  as people coded (none when the rules already mark that many);
- a code with fewer than ``min_auto_positives`` positive turns keeps the rules alone: a
  few transcripts' worth of examples are too few to judge the rules by.

Codes without a classifier keep the rules' matches.

Example:
    >>> coder = LearnedCoder(random_state=0).fit(matrix, labels, groups, codes=codes)
    >>> probabilities = coder.predict_proba(new_matrix)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import cohen_kappa_score, f1_score, precision_score, recall_score
from sklearn.model_selection import GroupKFold
from sklearn.preprocessing import normalize

from ...errors import NotFittedError

UNKNOWN = -1
THRESHOLDS = np.round(np.arange(0.05, 0.96, 0.025), 3)
IDENTITY = (1.0, 0.0)
MIN_SLOPE = 1e-3
# From this many labelled turns on, "auto" cross-validation uses three folds.
LARGE = 2000


class LearnedCoder(BaseEstimator):
    """Per-code classifiers with thresholds chosen by transcript-grouped cross-validation.

    Args:
        min_positives: Fewest positive turns (seed examples not counted) a code needs.
        C: Inverse regularisation strength of each logistic regression.
        n_splits: Folds of the grouped cross-validation (fewer when there are fewer groups);
            ``"auto"``: 5, or 3 from ``LARGE`` labelled turns on, where three folds hold
            plenty and training stays fast.
        veto_below: In ``auto``, a rule match is vetoed when the classifier's (calibrated)
            probability is below this.
        min_auto_positives: Fewest positive turns for ``auto`` to let a classifier change the
            rules' codes; below it ``auto`` keeps the rules.
        random_state: Seed for the solver and the fold assignment.
    """

    def __init__(self, *, min_positives: int = 5, C: float = 1.0, n_splits: int | str = "auto",
                 veto_below: float = 0.02, min_auto_positives: int = 10,
                 random_state: int | None = 0) -> None:
        self.min_positives = min_positives
        self.C = C
        self.n_splits = n_splits
        self.veto_below = veto_below
        self.min_auto_positives = min_auto_positives
        self.random_state = random_state

    # -- fitting --------------------------------------------------------------------------

    def fit(self, X: sparse.spmatrix, Y: np.ndarray, groups: Sequence[str], *,
            codes: Sequence[str], seed: np.ndarray | None = None,
            example_labels: Sequence[str] | None = None,
            similarity_block: sparse.spmatrix | None = None,
            rule_predictions: np.ndarray | None = None) -> LearnedCoder:
        """Fit one classifier per code.

        Args:
            X: Features, one row per example.
            Y: ``(n_examples, n_codes)`` labels: 1 applies, 0 does not, -1 unknown.
            groups: The transcript of each example; folds never split one.
            codes: The code key of each column of ``Y``.
            seed: True for codebook seed examples: always trained on, never validated on,
                not counted towards ``min_positives``.
            example_labels: How evidence names each example (``"95/1: Um, okay…"``).
            similarity_block: The features nearest examples are found by (default ``X``).
            rule_predictions: ``(n_examples, n_codes)`` booleans, the rules coder's codes;
                cross-validation sets ``auto``'s add threshold against them.
        """
        X = sparse.csr_matrix(X)
        Y = np.asarray(Y, dtype=int)
        groups = np.asarray(groups)
        seed = np.zeros(len(groups), dtype=bool) if seed is None else np.asarray(seed, bool)
        labels = list(example_labels) if example_labels is not None else [
            str(i) for i in range(X.shape[0])]
        similar = normalize(sparse.csr_matrix(X if similarity_block is None
                                              else similarity_block))
        self.codes_ = list(codes)
        self.n_features_in_ = X.shape[1]
        self.estimators_: dict[str, LogisticRegression] = {}
        self.calibration_: dict[str, tuple[float, float]] = {}
        self.thresholds_: dict[str, float] = {}
        self.auto_thresholds_: dict[str, float] = {}
        self.modes_: dict[str, str] = {}
        self.cv_scores_: dict[str, dict[str, float]] = {}
        self.skipped_: dict[str, str] = {}
        self.n_positives_: dict[str, int] = {}
        self.n_negatives_: dict[str, int] = {}
        self.examples_: dict[str, tuple[sparse.csr_matrix, list[str]]] = {}
        if rule_predictions is None:
            rule_predictions = np.zeros(Y.shape, dtype=bool)
        for column, code in enumerate(self.codes_):
            known = Y[:, column] != UNKNOWN
            positives = int(((Y[:, column] == 1) & ~seed).sum())
            self.n_positives_[code] = positives
            self.n_negatives_[code] = int(((Y[:, column] == 0) & ~seed).sum())
            if positives < self.min_positives:
                self.skipped_[code] = (f"{positives} positive turn(s), fewer than "
                                       f"{self.min_positives}: coded by the rules")
                continue
            if self.n_negatives_[code] == 0:
                self.skipped_[code] = "no negative turns: coded by the rules"
                continue
            rows = np.flatnonzero(known)
            scores = self._choose_threshold(X[rows], Y[rows, column], groups[rows], seed[rows],
                                            np.asarray(rule_predictions[rows, column], bool))
            self.calibration_[code] = scores.pop("calibration")
            self.thresholds_[code] = scores.pop("threshold")
            self.auto_thresholds_[code] = scores.pop("auto_threshold")
            self.modes_[code] = ("rules" if positives < self.min_auto_positives
                                 else "combined")
            if self.modes_[code] == "rules":  # auto scores what auto does
                scores["kappa_combined"] = scores.get("kappa_rules")
            self.cv_scores_[code] = scores
            self.estimators_[code] = self._classifier().fit(X[rows], Y[rows, column])
            positive_rows = rows[Y[rows, column] == 1]
            self.examples_[code] = (similar[positive_rows], [labels[i] for i in positive_rows])
        return self

    def _classifier(self) -> LogisticRegression:
        # lbfgs to a loose tolerance: probabilities settle to 3 decimals in a few dozen
        # iterations, several times faster than liblinear on thousands of dense rows.
        return LogisticRegression(C=self.C, class_weight="balanced", max_iter=1000, tol=1e-3,
                                  solver="lbfgs", random_state=self.random_state)

    def _choose_threshold(self, X: sparse.csr_matrix, y: np.ndarray, groups: np.ndarray,
                          seed: np.ndarray, ruled: np.ndarray) -> dict[str, Any]:
        """Out-of-fold probabilities, grouped by transcript, and the thresholds set on them.

        ``threshold`` makes the classifier mark as many validated turns as people coded;
        ``auto_threshold`` makes the rules' matches (less vetoed ones) and the classifier's
        additions together mark that many, or is None when the rules already do. The scores
        are the out-of-fold scores of the learned and the combined decisions.
        """
        validated = ~seed
        n_groups = len(set(groups[validated]))
        if n_groups < 2:
            return {"folds": 0, "threshold": 0.5, "auto_threshold": None,
                    "calibration": IDENTITY}
        wanted = self.n_splits if self.n_splits != "auto" else (3 if len(y) >= LARGE else 5)
        splitter = GroupKFold(n_splits=min(int(wanted), n_groups))
        out_of_fold = np.full(len(y), np.nan)
        inner = np.flatnonzero(validated)
        for train, test in splitter.split(inner, y[inner], groups[inner]):
            train_rows = np.concatenate([inner[train], np.flatnonzero(seed)])
            if len(set(y[train_rows])) < 2:
                out_of_fold[inner[test]] = float(y[train_rows][0]) if len(train_rows) else 0.0
                continue
            model = self._classifier().fit(X[train_rows], y[train_rows])
            out_of_fold[inner[test]] = model.predict_proba(X[inner[test]])[:, 1]
        truth = y[inner]
        raw = out_of_fold[inner]
        calibration = platt_scaling(raw, truth)
        p = calibrated(raw, calibration)
        kept = ruled[inner] & (p >= self.veto_below)
        coded = int(truth.sum())
        # Thresholds come from the raw scale, which THRESHOLDS spans evenly; the sigmoid
        # then carries them over, marking the same turns.
        threshold = _matching_threshold(lambda t: int((raw >= t).sum()), coded)
        auto_threshold = (None if kept.sum() >= coded else
                          _matching_threshold(lambda t: int((kept | (raw >= t)).sum()), coded))
        threshold = float(calibrated(threshold, calibration))
        if auto_threshold is not None:
            auto_threshold = float(calibrated(auto_threshold, calibration))
        predicted = p >= threshold
        combined = kept | (p >= auto_threshold) if auto_threshold is not None else kept
        return {
            "folds": splitter.n_splits,
            "calibration": calibration,
            "threshold": threshold,
            "auto_threshold": auto_threshold,
            "kappa": round(_kappa(truth, predicted), 4),
            "precision": round(float(precision_score(truth, predicted, zero_division=0)), 4),
            "recall": round(float(recall_score(truth, predicted, zero_division=0)), 4),
            "f1": round(float(f1_score(truth, predicted, zero_division=0)), 4),
            "kappa_rules": round(_kappa(truth, ruled[inner]), 4),
            "kappa_combined": round(_kappa(truth, combined), 4),
        }

    # -- predicting -----------------------------------------------------------------------

    def _check_fitted(self) -> None:
        if not hasattr(self, "estimators_"):
            raise NotFittedError(
                "This LearnedCoder instance is not fitted yet. Call 'fit' with appropriate "
                "arguments before using this estimator.",
                fix="Train a model first: reltext train --gold FILE.",
            )

    @property
    def fitted_codes(self) -> list[str]:
        """The codes that have a classifier (the others are left to the rules)."""
        self._check_fitted()
        return [code for code in self.codes_ if code in self.estimators_]

    def predict_proba(self, X: sparse.spmatrix) -> np.ndarray:
        """``(n, n_codes)`` probability that each code applies; NaN where a code has no model."""
        self._check_fitted()
        X = sparse.csr_matrix(X)
        result = np.full((X.shape[0], len(self.codes_)), np.nan)
        for column, code in enumerate(self.codes_):
            if code in self.estimators_ and X.shape[0]:
                raw = self.estimators_[code].predict_proba(X)[:, 1]
                # Models saved before calibration have none: their thresholds are raw.
                result[:, column] = calibrated(raw, getattr(self, "calibration_", {}).get(
                    code, IDENTITY))
        return result

    def decide(self, probabilities: np.ndarray, rule_codes: Sequence[set[str]], *,
               combine: bool) -> np.ndarray:
        """Which codes apply, as a boolean ``(n, n_codes)`` array.

        Args:
            probabilities: From :meth:`predict_proba`.
            rule_codes: The codes the rules coder put on each turn.
            combine: False: a code with a classifier follows the classifier alone
                (``learned``); True: the rules' matches less the vetoed ones, plus the
                classifier's additions (``auto``). Codes without a classifier follow the
                rules either way.
        """
        self._check_fitted()
        result = np.zeros(probabilities.shape, dtype=bool)
        for column, code in enumerate(self.codes_):
            ruled = np.array([code in codes for codes in rule_codes], dtype=bool)
            mode = self.modes_.get(code, "rules") if combine else "learned"
            if code not in self.estimators_ or mode == "rules":
                result[:, column] = ruled
                continue
            p = probabilities[:, column]
            if mode == "learned":
                result[:, column] = p >= self.thresholds_[code]
                continue
            result[:, column] = ruled & (p >= self.veto_below)
            if self.auto_thresholds_[code] is not None:
                result[:, column] |= p >= self.auto_thresholds_[code]
        return result

    def nearest_examples(self, similarity_rows: sparse.spmatrix, code: str) -> list[str]:
        """For each row, the label of the most similar positive training example of ``code``."""
        self._check_fitted()
        vectors, labels = self.examples_[code]
        if not labels:
            return [""] * similarity_rows.shape[0]
        similarity = normalize(sparse.csr_matrix(similarity_rows)) @ vectors.T
        best = np.asarray(similarity.argmax(axis=1)).ravel()
        return [labels[i] for i in best]


def platt_scaling(raw: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    """Platt's sigmoid, fitted on out-of-fold probabilities: ``(slope, intercept)`` on logits.

    The class-balanced classifiers rank well but overstate how likely a rare code is; this
    maps their probabilities to the share of turns that have the code. Platt's smoothed
    targets keep a handful of positives from pushing the sigmoid to 0 and 1, and a slope
    kept above zero keeps the classifier's ranking (and so its thresholds) intact.
    """
    raw, truth = np.asarray(raw, float), np.asarray(truth, int)
    positives = int(truth.sum())
    if positives == 0 or positives == len(truth):
        return IDENTITY
    target = np.where(truth == 1, (positives + 1) / (positives + 2),
                      1 / (len(truth) - positives + 2))
    z = _logit(raw)[:, None]
    model = LogisticRegression(C=1e4, max_iter=1000).fit(
        np.vstack([z, z]), np.r_[np.ones(len(z)), np.zeros(len(z))],
        sample_weight=np.r_[target, 1 - target])
    return max(float(model.coef_[0, 0]), MIN_SLOPE), float(model.intercept_[0])


def calibrated(raw: np.ndarray | float, calibration: tuple[float, float]) -> np.ndarray:
    """Probabilities through a Platt sigmoid (the identity for ``IDENTITY``)."""
    slope, intercept = calibration
    if (slope, intercept) == IDENTITY:
        return np.asarray(raw, float)
    return 1 / (1 + np.exp(-(slope * _logit(raw) + intercept)))


def _logit(p: np.ndarray | float) -> np.ndarray:
    p = np.clip(np.asarray(p, float), 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def _matching_threshold(marked: Callable[[float], int], coded: int) -> float:
    """The threshold whose marked count (``marked(t)``) comes nearest ``coded``.

    Ties go to the higher threshold: fewer, surer codings.
    """
    gaps = [abs(marked(t) - coded) for t in THRESHOLDS]
    best = min(gaps)
    return float(max(t for t, gap in zip(THRESHOLDS, gaps, strict=True) if gap == best))


def _kappa(truth: np.ndarray, predicted: np.ndarray) -> float:
    """Cohen's kappa, NaN when it is undefined (one class only on both sides)."""
    if len(set(truth)) < 2 and len(set(np.asarray(predicted, bool))) < 2:
        return float("nan")
    return float(cohen_kappa_score(truth, np.asarray(predicted, bool)))
