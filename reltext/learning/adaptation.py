"""Adapting the relational model to a project: ``reltext train``.

The shipped model is the starting point and stays the prior. For each code, the project's
labels (human codings, review decisions by their latest state, and answers to the queue's
questions: an accepted code is a positive, a rejected one a negative) fit a correction to the
shipped model's calibrated log-odds: a scale, a shift and a small weight vector over the same
features, pulled towards zero (a Gaussian prior) so that a handful of labels moves the model a
little and thousands move it far. Where a code has fewer than ``MIN_LABELS`` positive or
negative labels, the shipped model stands for it unchanged.

The result is a small file beside the project (``<db>.models/relational/<model_id>/``) and a
row of the ``models`` table; its codings are made by ``learned:<model_id>``, so the shipped
model's codings and older adaptations stay.

Example:
    >>> adapted = adapt(store)
    >>> adapted.coder_id, adapted.manifest["adaptation"]["codes"]["trust"]
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..coding.coders.relational import (ADAPTATION_KIND as KIND, Correction, RelationalModel,
                                score_project_turns, sigmoid)
from ..store.database import Store
from ..store.sql import now_iso

#: Fewest positive and negative labels a code needs before the project changes it.
MIN_LABELS = 3
#: Strength of the prior (the inverse of scikit-learn's C): how hard the shipped model pulls.
PRIOR = 1.0


def _fit_correction(z: np.ndarray, x: np.ndarray, y: np.ndarray) -> tuple[float, float, np.ndarray]:
    """MAP fit of ``(scale, shift, delta)`` on labels ``y`` with a Gaussian prior at (1, 0, 0)."""
    from scipy.optimize import minimize

    d = x.shape[1]

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        scale, shift, delta = theta[0], theta[1], theta[2:]
        logit = z * scale + shift + x @ delta
        p = sigmoid(logit)
        nll = np.sum(np.logaddexp(0, logit) - y * logit)
        residual = p - y
        grad = np.concatenate([[residual @ z, residual.sum()], x.T @ residual])
        penalty = np.concatenate([[theta[0] - 1.0, theta[1]], delta])
        return float(nll + 0.5 * PRIOR * penalty @ penalty), grad + PRIOR * penalty

    start = np.zeros(d + 2)
    start[0] = 1.0
    result = minimize(loss, start, jac=True, method="L-BFGS-B", options={"maxiter": 500})
    theta = result.x
    return float(theta[0]), float(theta[1]), theta[2:].astype(np.float32)


def adapt(store: Store, *, codes: Sequence[str] | None = None,
          coders: Sequence[str] | None = None) -> RelationalModel:
    """Adapt the shipped model to the project's labels; save it and record it.

    Returns the adapted model (its ``correction`` set, its coder ``learned:<model_id>``).

    Raises:
        ReltextError: there is nothing to learn from.
    """
    from .training import collect_training_data, new_model_id

    started = time.perf_counter()
    base = RelationalModel.load()
    data = collect_training_data(store, codes=codes or base.codes, coders=coders)
    scored = score_project_turns(store, base, data.turns)
    z_all = scored.raw * base.calibration[:, 0] + base.calibration[:, 1]
    n = len(base.codes)
    scale, shift = np.ones(n), np.zeros(n)
    delta = np.zeros((n, scored.pooled.shape[1]), np.float32)
    per_code: dict[str, Any] = {}
    for j, code in enumerate(base.codes):
        if code not in data.codes:
            continue
        labels = data.labels[:, data.codes.index(code)]
        known = labels >= 0
        positives, negatives = int((labels == 1).sum()), int((labels == 0).sum())
        entry: dict[str, Any] = {"positives": positives, "negatives": negatives}
        if positives >= MIN_LABELS and negatives >= MIN_LABELS:
            scale[j], shift[j], delta[j] = _fit_correction(z_all[known, j], scored.pooled[known],
                                                           labels[known].astype(float))
            entry.update(adapted=True, scale=round(float(scale[j]), 4),
                         shift=round(float(shift[j]), 4),
                         change=round(float(np.linalg.norm(delta[j])), 4))
        else:
            entry.update(adapted=False,
                         note=f"fewer than {MIN_LABELS} positive or negative labels")
        per_code[code] = entry
    model_id = new_model_id()
    manifest = {
        "model_id": model_id, "kind": KIND, "coder": f"learned:{model_id}",
        "created_at": now_iso(), "base": base.coder_id, "prior": PRIOR,
        "min_labels": MIN_LABELS,
        "training": {"coders": data.coders, "turns": len(data.turns),
                     "transcripts": len(set(data.groups)), "decisions": len(data.decision_ids),
                     "answers": len(data.answer_ids), "decision_ids": data.decision_ids,
                     "answer_ids": data.answer_ids},
        "codes": per_code,
        "seconds": round(time.perf_counter() - started, 2),
    }
    correction = Correction(model_id, scale, shift, delta)
    _save(store, correction, manifest)
    return base.adapted(correction, manifest)


def models_folder(store: Store) -> Path:
    return store.path.with_name(store.path.name + ".models") / KIND


def _save(store: Store, correction: Correction, manifest: dict[str, Any]) -> None:
    """Files first, into a folder that appears whole; then the row that points at them."""
    from ..files import write_text

    folder = models_folder(store)
    folder.mkdir(parents=True, exist_ok=True)
    staging = folder / f".{correction.model_id}.partial"
    staging.mkdir()
    with open(staging / "adaptation.npz", "wb") as handle:
        np.savez_compressed(handle, scale=correction.scale, shift=correction.shift,
                            delta=correction.delta.astype(np.float32))
    write_text(staging / "manifest.json", json.dumps(manifest, indent=1))
    staging.rename(folder / correction.model_id)
    relative = (folder / correction.model_id).relative_to(store.path.parent)
    with store.write() as conn:
        store.add_model(conn, model_id=correction.model_id, kind=KIND,
                        coder=f"learned:{correction.model_id}", path=str(relative),
                        manifest=manifest)
