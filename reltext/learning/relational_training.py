"""Training the relational model from a coded corpus (``reltext train --base``).

The corpus is turn tables (``transcript_id, turn_id, speaker, text``) with their codes
(``transcript_id, turn_id, codes``): the training corpus, coded once per turn, and the dev gold,
coded twice and adjudicated, which weighs double as the clean set. Every turn is read with the
two turns before it.

Scores are out of fold, with five folds grouped by transcript (no transcript is split; the gold
transcripts are spread two to a fold): each fold's turns are scored by classifiers that never
saw its transcripts. Those scores give each code's Platt calibration and its threshold (the one
with the best Cohen's kappa), and, with each fold's threshold chosen on the other folds only,
the cross-validated kappas the manifest reports. The shipped classifiers are then fitted on
every turn. The same corpus, settings and seed give the same model.

Example:
    >>> corpus = read_corpus([("silver", "train-turns.csv", "train-codes.csv")])
    >>> model = train_base(corpus, seed=0)
"""

from __future__ import annotations

import hashlib
import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..coding.coders.heads import (
    AttentionHead,
    LinearHead,
    attention_module,
    batch_tensors,
    pooled_features,
    unit,
)
from ..coding.coders.reader import TurnReader, TurnText, role_label
from ..coding.coders.relational import EXAMPLES_PER_CODE, Examples, RelationalModel, sigmoid
from ..errors import ReltextError
from ..review.gold import read_codings_csv

FOLDS = 5
#: The encoder layers whose token states the attention heads read, and the layer whose pooled
#: states the logistic regression reads (see the README's "relational model" for the choice).
ATTENTION_LAYERS = (7, 10)
POOLED_LAYER = 12
LAYERS = (*ATTENTION_LAYERS, POOLED_LAYER)
CONTEXT_TURNS = 2
#: Weight of a dev-gold turn beside a training-corpus turn.
GOLD_WEIGHT = 2.0
C = 1.0
EPOCHS = 4
LEARNING_RATE = 2e-3
BATCH_TOKENS = 2048
#: The threshold of a code the corpus never gives.
NEVER = 1.01


@dataclass(slots=True)
class Corpus:
    """Coded turns in transcript order: ``labels[i, j]`` is 1 when turn i has ``codes[j]``."""

    turns: pd.DataFrame  # source, transcript_id, turn_id, speaker, text, group, weight
    labels: np.ndarray
    codes: list[str]
    files: list[dict[str, Any]]

    def texts(self) -> list[TurnText]:
        """Each turn with its role label and the turns before it, most recent first."""
        items = []
        for _, turns in self.turns.groupby("group", sort=False):
            rows = turns.to_dict("records")
            for position, row in enumerate(rows):
                before = rows[max(0, position - CONTEXT_TURNS):position][::-1]
                items.append(TurnText(row["text"], role_label(row["speaker"]),
                                      tuple((role_label(b["speaker"]), b["text"])
                                            for b in before)))
        return items


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_corpus(sources: Sequence[tuple[str, str | Path, str | Path]], codes: Sequence[str]
                ) -> Corpus:
    """Read ``(name, turns_csv, codes_csv)`` sources; a source named ``gold`` weighs double.

    Raises:
        ReltextError: a file is missing, lacks a column, codes a turn it does not hold, or
            uses a code outside ``codes``.
    """
    frames, label_rows, files = [], [], []
    for name, turns_path, codes_path in sources:
        turns_path, codes_path = Path(turns_path), Path(codes_path)
        for path in (turns_path, codes_path):
            if not path.is_file():
                raise ReltextError("the file does not exist", path=path,
                                   fix="Give the corpus's turn table and its codes file.")
        turns = pd.read_csv(turns_path, dtype={"transcript_id": str, "turn_id": str},
                            keep_default_na=False)
        missing = {"transcript_id", "turn_id", "speaker", "text"} - set(turns.columns)
        if missing:
            raise ReltextError(f"no column {', '.join(sorted(missing))}", path=turns_path,
                               fix="A turn table has transcript_id, turn_id, speaker, text.")
        coded = read_codings_csv(codes_path)
        unknown = sorted({c for values in coded.values() for c in values} - set(codes))
        if unknown:
            raise ReltextError(f"codes outside the codebook: {', '.join(unknown)}",
                               path=codes_path, fix=f"Use the codebook's keys: {', '.join(codes)}.")
        keys = list(zip(turns.transcript_id, turns.turn_id))
        absent = [key for key in coded if key not in set(keys)]
        if absent:
            raise ReltextError(f"{len(absent)} coded turn(s) are not in {turns_path.name}, the "
                               f"first {absent[0][0]}/{absent[0][1]}", path=codes_path,
                               fix="Give the codes file of that turn table.")
        turns = turns[[key in coded for key in keys]].copy()
        turns["source"] = name
        turns["group"] = name + ":" + turns.transcript_id
        turns["weight"] = GOLD_WEIGHT if name == "gold" else 1.0
        turns["order"] = pd.to_numeric(turns.turn_id, errors="coerce")
        turns = turns.sort_values(["transcript_id", "order"], kind="stable",
                                  key=lambda s: s if s.name == "order" else s.astype(str))
        frames.append(turns)
        label_rows.extend(coded[key] for key in zip(turns.transcript_id, turns.turn_id))
        files.append({"name": name, "turns": str(turns_path), "codes": str(codes_path),
                      "turns_sha256": _sha256(turns_path), "codes_sha256": _sha256(codes_path),
                      "turn_count": len(turns),
                      "transcripts": int(turns.transcript_id.nunique())})
    table = pd.concat(frames, ignore_index=True).drop(columns="order")
    labels = np.array([[code in row for code in codes] for row in label_rows], np.int8)
    return Corpus(table, labels.reshape(len(table), len(codes)), list(codes), files)


def assign_folds(corpus: Corpus, seed: int = 0, folds: int = FOLDS) -> np.ndarray:
    """A fold per turn, by transcript: each source's transcripts spread by size over the folds."""
    rng = np.random.default_rng(seed)
    fold_of: dict[str, int] = {}
    for _, turns in corpus.turns.groupby("source", sort=True):
        sizes = turns.groupby("group").size()
        groups = list(sizes.index)
        rng.shuffle(groups)
        groups.sort(key=lambda g: -sizes[g])
        load, count = [0] * folds, [0] * folds
        for group in groups:
            fold = min(range(folds), key=lambda f: (count[f], load[f], f)) \
                if len(groups) <= 2 * folds else min(range(folds), key=lambda f: (load[f], f))
            fold_of[group] = fold
            load[fold] += sizes[group]
            count[fold] += 1
    return corpus.turns.group.map(fold_of).to_numpy()


@dataclass(slots=True)
class Readings:
    """The corpus read: per layer, each turn's token states (float16) and pooled features."""

    tokens: dict[int, list[np.ndarray]]
    pooled: dict[int, np.ndarray]
    texts: list[str]
    means: np.ndarray  # unit mean of each turn's tokens at the first layer


def read_turns(corpus: Corpus, reader: TurnReader, *,
               progress: Callable[[int], None] | None = None, batch: int = 128) -> Readings:
    """Every corpus turn through the reader, ``batch`` turns at a time."""
    items = corpus.texts()
    tokens: dict[int, list[np.ndarray]] = {layer: [] for layer in reader.layers}
    means: dict[int, list[np.ndarray]] = {layer: [] for layer in reader.layers}
    contexts: dict[int, list[np.ndarray]] = {layer: [] for layer in reader.layers}
    for start in range(0, len(items), batch):
        for reading in reader.read(items[start:start + batch]):
            for layer in reader.layers:
                tokens[layer].append(reading.tokens[layer].astype(np.float16))
                means[layer].append(reading.mean(layer))
                contexts[layer].append(reading.context[layer])
        if progress is not None:
            progress(min(batch, len(items) - start))
    worker = np.array([item.role == "Therapist" for item in items], np.float32)
    pooled = {layer: pooled_features(np.stack(means[layer]), np.stack(contexts[layer]), worker)
              for layer in reader.layers}
    first = reader.layers[0]
    return Readings(tokens, pooled, [f"{item.role}: {item.text}" for item in items],
                    unit(np.stack(means[first])))


def _fit_linear(matrix: np.ndarray, y: np.ndarray, weight: np.ndarray, seed: int
                ) -> tuple[np.ndarray, float]:
    from sklearn.linear_model import LogisticRegression

    if y.min() == y.max():
        return np.zeros(matrix.shape[1], np.float32), (10.0 if y[0] else -10.0)
    classifier = LogisticRegression(C=C, class_weight="balanced", max_iter=3000,
                                    random_state=seed)
    classifier.fit(matrix, y, sample_weight=weight)
    return classifier.coef_[0].astype(np.float32), float(classifier.intercept_[0])


def fit_linear(matrix: np.ndarray, labels: np.ndarray, weight: np.ndarray, seed: int,
               layer: int) -> LinearHead:
    """A :class:`LinearHead`: one class-balanced logistic regression per code."""
    fitted = [_fit_linear(matrix, labels[:, j], weight, seed) for j in range(labels.shape[1])]
    return LinearHead(layer, np.stack([w for w, _ in fitted]), np.array([b for _, b in fitted]))


def fit_attention(tokens: Sequence[np.ndarray], labels: np.ndarray, weight: np.ndarray,
                  seed: int, layer: int) -> AttentionHead:
    """An :class:`AttentionHead` trained on the turns' token states at ``layer``.

    AdamW for ``EPOCHS`` epochs over batches of about ``BATCH_TOKENS`` tokens (turns of like
    length together), binary cross-entropy per code with positives weighted by the square
    root of the code's rarity (at most 10), the dev gold's turns weighing ``GOLD_WEIGHT``.
    """
    import torch

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    module = attention_module(tokens[0].shape[1], labels.shape[1])
    positives = labels.sum(0)
    pos_weight = torch.tensor(np.minimum((len(labels) - positives) / np.maximum(positives, 1),
                                         100) ** 0.5, dtype=torch.float32)
    loss_of = torch.nn.BCEWithLogitsLoss(pos_weight=pos_weight, reduction="none")
    optimiser = torch.optim.AdamW(module.parameters(), lr=LEARNING_RATE, weight_decay=0.01)
    lengths = np.array([len(t) for t in tokens])
    steps_per_epoch = len(_batches(lengths, BATCH_TOKENS, np.random.default_rng(0)))
    total = steps_per_epoch * EPOCHS
    warm = max(1, total // 10)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: min(1.0, (s + 1) / warm) * max(0.0, (total - s) / (total - warm)))
    y = torch.from_numpy(labels.astype(np.float32))
    w = torch.from_numpy(weight.astype(np.float32))
    module.train()
    for _ in range(EPOCHS):
        for batch in _batches(lengths, BATCH_TOKENS, rng):
            tensors = batch_tensors([tokens[i] for i in batch],
                                    [_own_tokens(len(tokens[i])) for i in batch])
            logits, _ = module(*tensors)
            loss = (loss_of(logits, y[batch]).mean(1) * w[batch]).mean()
            optimiser.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(module.parameters(), 1.0)
            optimiser.step()
            schedule.step()
    return AttentionHead(layer, {name: value.detach().numpy().copy()
                                 for name, value in module.state_dict().items()})


def _own_tokens(n: int) -> np.ndarray:
    own = np.ones(n, bool)
    own[0] = False
    return own


def _batches(lengths: np.ndarray, budget: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Shuffled batches of turns of like length, about ``budget`` tokens each."""
    index = rng.permutation(len(lengths))
    chunks = [index[i:i + 512] for i in range(0, len(index), 512)]
    index = np.concatenate([c[np.argsort(lengths[c], kind="stable")] for c in chunks])
    batches, current, width = [], [], 0
    for i in index:
        wider = max(width, lengths[i])
        if current and wider * (len(current) + 1) > budget:
            batches.append(np.array(current))
            current, wider = [], lengths[i]
        current.append(i)
        width = wider
    if current:
        batches.append(np.array(current))
    return [batches[i] for i in rng.permutation(len(batches))]


def attention_scores(head: AttentionHead, tokens: Sequence[np.ndarray]) -> np.ndarray:
    """An attention head's scores of turns given their token states."""
    import torch

    module = head.module()
    out = []
    with torch.inference_mode():
        for start in range(0, len(tokens), 256):
            part = tokens[start:start + 256]
            logits, _ = module(*batch_tensors(part, [_own_tokens(len(t)) for t in part]))
            out.append(logits.numpy())
    return np.vstack(out)


def fit_heads(readings: Readings, rows: np.ndarray, labels: np.ndarray, weight: np.ndarray,
              seed: int, layers: Sequence[int]) -> list[Any]:
    """Every head of the model, fitted on the turns ``rows``: an attention head on each layer
    but the last, a logistic regression on the last layer's pooled states."""
    heads: list[Any] = []
    for layer in layers[:-1]:
        heads.append(fit_attention([readings.tokens[layer][i] for i in rows], labels[rows],
                                   weight[rows], seed, layer))
    heads.append(fit_linear(readings.pooled[layers[-1]][rows], labels[rows], weight[rows], seed,
                            layers[-1]))
    return heads


def head_scores(head: Any, readings: Readings, rows: np.ndarray) -> np.ndarray:
    """A fitted head's scores of the turns ``rows``."""
    if isinstance(head, AttentionHead):
        return attention_scores(head, [readings.tokens[head.layer][i] for i in rows])
    return readings.pooled[head.layer][rows] @ head.weights.T + head.bias


def out_of_fold(readings: Readings, labels: np.ndarray, weight: np.ndarray, folds: np.ndarray,
                seed: int, layers: Sequence[int],
                progress: Callable[[int], None] | None = None) -> list[np.ndarray]:
    """Each head's scores of every turn, from heads that never saw its fold."""
    scores: list[np.ndarray] = []
    for fold in np.unique(folds):
        train, test = np.flatnonzero(folds != fold), np.flatnonzero(folds == fold)
        for k, head in enumerate(fit_heads(readings, train, labels, weight, seed + int(fold),
                                           layers)):
            if len(scores) <= k:
                scores.append(np.zeros(labels.shape, np.float32))
            scores[k][test] = head_scores(head, readings, test)
        if progress is not None:
            progress(1)
    return scores


def platt(scores: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    """Slope and intercept of the sigmoid that maps ``scores`` to how often the code applies."""
    from ..coding.coders.learned import platt_scaling

    return platt_scaling(sigmoid(scores), truth)


def kappa(truth: np.ndarray, predicted: np.ndarray) -> float:
    from sklearn.metrics import cohen_kappa_score

    if not truth.any() and not predicted.any():
        return float("nan")
    return float(cohen_kappa_score(truth, predicted))


def best_threshold(probabilities: np.ndarray, truth: np.ndarray) -> float:
    """The probability from which giving the code agrees best with people (Cohen's kappa).

    A code nobody gave is never given (the threshold is above every probability).
    """
    if not truth.any():
        return NEVER
    candidates = np.unique(np.quantile(probabilities, np.linspace(0.5, 0.999, 200)))
    scored = [(kappa(truth, probabilities >= t), t) for t in candidates
              if (probabilities >= t).any()]
    scored = [(k, t) for k, t in scored if not np.isnan(k)]
    return float(max(scored)[1]) if scored else NEVER


def cross_validated(probabilities: np.ndarray, labels: np.ndarray, folds: np.ndarray
                    ) -> np.ndarray:
    """Decisions per turn with each fold's thresholds chosen on the other folds alone."""
    decided = np.zeros(labels.shape, bool)
    for fold in np.unique(folds):
        rest, here = folds != fold, folds == fold
        for column in range(labels.shape[1]):
            threshold = best_threshold(probabilities[rest, column], labels[rest, column])
            decided[here, column] = probabilities[here, column] >= threshold
    return decided


def figures(truth: np.ndarray, decided: np.ndarray, codes: Sequence[str]) -> dict[str, Any]:
    """Per code support, predicted, precision, recall, F1 and kappa; macro kappa and F1."""
    from sklearn.metrics import f1_score, precision_score, recall_score

    result: dict[str, Any] = {"turns": len(truth), "codes": {}}
    for column, code in enumerate(codes):
        t, p = truth[:, column].astype(bool), decided[:, column]
        result["codes"][code] = {
            "support": int(t.sum()), "predicted": int(p.sum()),
            "precision": round(float(precision_score(t, p, zero_division=0)), 4),
            "recall": round(float(recall_score(t, p, zero_division=0)), 4),
            "f1": round(float(f1_score(t, p, zero_division=0)), 4),
            "kappa": round(kappa(t, p), 4)}
    kappas = [row["kappa"] for row in result["codes"].values() if row["kappa"] == row["kappa"]]
    result["macro"] = {"kappa": round(float(np.mean(kappas)), 4),
                       "f1": round(float(np.mean([r["f1"] for r in result["codes"].values()])),
                                   4)}
    return result


def library_versions() -> dict[str, str]:
    import scipy
    import sklearn
    import torch
    import transformers

    from .. import __version__

    return {"reltext": __version__, "python": platform.python_version(),
            "numpy": np.__version__, "scipy": scipy.__version__,
            "scikit-learn": sklearn.__version__, "torch": torch.__version__,
            "transformers": transformers.__version__}


def train_base(corpus: Corpus, reader: TurnReader, *, seed: int = 0, version: str = "1.0",
               progress: Callable[[str, int, int], None] | None = None) -> RelationalModel:
    """Read the corpus, score it out of fold, calibrate, choose thresholds, fit, describe.

    Args:
        corpus: The coded turns.
        reader: The encoder's reader; its layers are the layers the heads read.
        seed: Seeds the folds and the classifiers.
        version: The model's version (its coder is ``model:relational@<version>``).
        progress: Called as ``progress(stage, done, total)`` while it works.
    """
    started = time.perf_counter()
    n, codes, layers = len(corpus.turns), corpus.codes, list(reader.layers)

    def step(stage: str, total: int) -> Callable[[int], None]:
        done = [0]

        def advance(k: int) -> None:
            done[0] += k
            if progress is not None:
                progress(stage, done[0], total)
        return advance

    readings = read_turns(corpus, reader, progress=step("read", n))
    read_seconds = time.perf_counter() - started
    weight = corpus.turns.weight.to_numpy(np.float64)
    folds = assign_folds(corpus, seed)
    per_head = out_of_fold(readings, corpus.labels, weight, folds, seed, layers,
                           progress=step("cross-validate", len(np.unique(folds))))
    scores = np.mean(per_head, axis=0)
    calibration = np.array([platt(scores[:, j], corpus.labels[:, j]) for j in range(len(codes))],
                           np.float64)
    probabilities = sigmoid(scores * calibration[:, 0] + calibration[:, 1])
    thresholds = np.array([best_threshold(probabilities[:, j], corpus.labels[:, j])
                           for j in range(len(codes))])
    sources = corpus.turns.source.to_numpy()
    decided = cross_validated(probabilities, corpus.labels, folds)
    cv = {source: figures(corpus.labels[sources == source], decided[sources == source], codes)
          for source in sorted(set(sources))}
    heads_cv = {}
    for k, head_oof in enumerate(per_head):
        alone = cross_validated(sigmoid(head_oof), corpus.labels, folds)
        heads_cv[k] = {source: figures(corpus.labels[sources == source],
                                       alone[sources == source], codes)["macro"]
                       for source in sorted(set(sources))}
    fit = step("fit", 1)
    heads = fit_heads(readings, np.arange(n), corpus.labels, weight, seed, layers)
    fit(1)
    examples = _examples(corpus, readings.means, probabilities)
    manifest = {
        "trained_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "seconds": round(time.perf_counter() - started, 1),
        "read_seconds": round(read_seconds, 1),
        "seed": seed,
        "data": corpus.files,
        "turns": n,
        "code_counts": {code: int(corpus.labels[:, j].sum()) for j, code in enumerate(codes)},
        "settings": {"heads": "attention over the token states of each layer but the last; "
                              "logistic regression on the last layer's pooled states; "
                              "scores averaged",
                     "layers": layers, "epochs": EPOCHS, "learning_rate": LEARNING_RATE,
                     "batch_tokens": BATCH_TOKENS, "C": C,
                     "gold_weight": GOLD_WEIGHT, "context_turns": CONTEXT_TURNS,
                     "folds": FOLDS, "threshold": "best out-of-fold kappa",
                     "calibration": "Platt sigmoid on out-of-fold scores"},
        "cross_validation": cv,
        "heads_cross_validation": heads_cv,
        "calibration_error": _calibration_error(probabilities, corpus.labels),
        "libraries": library_versions(),
        "encoder": {"name": reader.encoder, "package_version": reader.version(),
                    "layers": layers, "bfloat16": reader.bfloat16},
    }
    return RelationalModel(
        codes=list(codes), heads=heads, calibration=calibration, thresholds=thresholds,
        reader={"encoder": reader.encoder, "layers": layers, "turn_tokens": reader.turn_tokens,
                "context_tokens": reader.context_tokens},
        version=version, manifest=manifest, examples=examples)


def _examples(corpus: Corpus, means: np.ndarray, probabilities: np.ndarray) -> Examples:
    """Per code, the coded turns the out-of-fold model found clearest, as evidence to cite."""
    examples = Examples()
    rows = corpus.turns.reset_index(drop=True)
    for j, code in enumerate(corpus.codes):
        positive = np.flatnonzero(corpus.labels[:, j] == 1)
        best = positive[np.argsort(-probabilities[positive, j], kind="stable")][:EXAMPLES_PER_CODE]
        examples.vectors[code] = means[best].astype(np.float16)
        examples.labels[code] = [
            f"{rows.source[i]} {rows.transcript_id[i]}/{rows.turn_id[i]}: "
            f"'{_snippet(rows.text[i])}'" for i in best]
    return examples


def _snippet(text: str, length: int = 70) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= length else text[: length - 1] + "…"


def _calibration_error(probabilities: np.ndarray, labels: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error of the out-of-fold probabilities, all codes pooled."""
    p, y = probabilities.ravel(), labels.ravel()
    edges = np.linspace(0, 1, bins + 1)
    index = np.clip(np.digitize(p, edges) - 1, 0, bins - 1)
    error = sum(abs(p[index == b].mean() - y[index == b].mean()) * (index == b).sum()
                for b in range(bins) if (index == b).any())
    return round(float(error / len(p)), 4)
