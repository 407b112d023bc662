"""Agreement and evaluation statistics over turn-level codings. Pure functions, no I/O.

Codings are given as ``{unit_key: set_of_codes}`` mappings, one per coder; a unit (a turn)
that a coder coded with nothing applies maps to an empty set. Per code, each unit is a yes/no
decision, so every statistic is over binary labels.

Undefined values: Cohen's kappa and Krippendorff's alpha are undefined when there is no
variation to agree on (the code is absent from every unit for both coders, or present in
every unit); precision is undefined when nothing was predicted, recall when the gold has no
instance, F1 when both are. Such values are ``nan`` (with one warning per call naming the
codes), never 0 or 1: two coders who both never use a code have shown nothing about it.
Macro averages skip ``nan`` values and average over the codes where the value is defined;
the codes left out are listed under ``"undefined"``.

Example:
    >>> gold = {"t1": {"trust"}, "t2": set(), "t3": {"hope"}}
    >>> predicted = {"t1": {"trust"}, "t2": {"hope"}, "t3": set()}
    >>> evaluate(gold, predicted, ["trust", "hope"])["codes"]["trust"]["kappa"]
    1.0
"""

from __future__ import annotations

import math
import warnings
from collections import Counter
from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import Any

Codings = Mapping[Hashable, "set[str] | frozenset[str] | Iterable[str]"]
NAN = float("nan")


def cohen_kappa(first: Sequence[Hashable], second: Sequence[Hashable]) -> float:
    """Cohen's kappa between two coders' labels of the same units (``nan`` if undefined)."""
    if len(first) != len(second):
        raise ValueError(f"the two label sequences differ in length: {len(first)} and "
                         f"{len(second)}")
    n = len(first)
    if n == 0:
        return NAN
    observed = sum(a == b for a, b in zip(first, second)) / n
    count_a, count_b = Counter(first), Counter(second)
    expected = sum(count_a[label] * count_b.get(label, 0) for label in count_a) / (n * n)
    if math.isclose(expected, 1.0):
        return NAN
    return (observed - expected) / (1 - expected)


def krippendorff_alpha_nominal(units: Iterable[Sequence[Hashable | None]]) -> float:
    """Krippendorff's alpha for nominal data.

    Args:
        units: For each unit, the values the coders gave it (``None`` for a coder who did not
            code it). Units with fewer than two values are not pairable and are skipped.

    Returns:
        Alpha, or ``nan`` when the data show no variation (expected disagreement is 0).
    """
    coincidence: Counter[tuple[Hashable, Hashable]] = Counter()
    for values in units:
        present = [v for v in values if v is not None]
        m = len(present)
        if m < 2:
            continue
        counts = Counter(present)
        for c, n_c in counts.items():
            for k, n_k in counts.items():
                pairs = n_c * (n_k - 1) if c == k else n_c * n_k
                if pairs:
                    coincidence[(c, k)] += pairs / (m - 1)
    totals: Counter[Hashable] = Counter()
    for (c, _k), value in coincidence.items():
        totals[c] += value
    n = sum(totals.values())
    if n <= 1:
        return NAN
    observed = sum(v for (c, k), v in coincidence.items() if c != k)
    expected = sum(totals[c] * totals[k] for c in totals for k in totals if c != k) / (n - 1)
    if expected == 0:
        return NAN
    return 1 - observed / expected


def _sets(codings: Codings) -> dict[Hashable, frozenset[str]]:
    return {unit: frozenset(codes) for unit, codes in codings.items()}


def _warn_undefined(undefined: Mapping[str, list[str]]) -> None:
    parts = [f"{metric} for {', '.join(codes)}" for metric, codes in undefined.items() if codes]
    if parts:
        warnings.warn("undefined (nan, left out of the macro average): " + "; ".join(parts),
                      RuntimeWarning, stacklevel=3)


def _macro(rows: Mapping[str, Mapping[str, float]], metrics: Sequence[str]
           ) -> tuple[dict[str, float], dict[str, list[str]]]:
    macro, undefined = {}, {}
    for metric in metrics:
        values = [row[metric] for row in rows.values() if not math.isnan(row[metric])]
        undefined[metric] = [code for code, row in rows.items() if math.isnan(row[metric])]
        macro[metric] = sum(values) / len(values) if values else NAN
    return macro, undefined


def evaluate(gold: Codings, predicted: Codings, codes: Sequence[str], *,
             coder: str = "") -> dict[str, Any]:
    """Score a coder against gold, per code and macro, with the turn as the unit.

    Every gold unit counts; a unit the coder has no codings for counts as "no code". The
    result has the shape of ``reltext evaluate --json``.

    Args:
        gold: The gold codes per unit.
        predicted: The coder's codes per unit.
        codes: The codebook's code keys (macro averages are over these).
        coder: The coder's name, recorded in the result.
    """
    gold_sets, predicted_sets = _sets(gold), _sets(predicted)
    units = list(gold_sets)
    rows: dict[str, dict[str, Any]] = {}
    for code in codes:
        truth = [code in gold_sets[u] for u in units]
        guess = [code in predicted_sets.get(u, frozenset()) for u in units]
        tp = sum(t and g for t, g in zip(truth, guess))
        support, n_predicted = sum(truth), sum(guess)
        rows[code] = {
            "support": support,
            "predicted": n_predicted,
            "precision": tp / n_predicted if n_predicted else NAN,
            "recall": tp / support if support else NAN,
            "f1": 2 * tp / (support + n_predicted) if support + n_predicted else NAN,
            "kappa": cohen_kappa(truth, guess),
        }
    macro, undefined = _macro(rows, ("precision", "recall", "f1", "kappa"))
    _warn_undefined(undefined)
    return {"units": len(units), "coder": coder, "codes": rows, "macro": macro,
            "undefined": {k: v for k, v in undefined.items() if v}}


def agreement(first: Codings, second: Codings, codes: Sequence[str]) -> dict[str, Any]:
    """Cohen's kappa and Krippendorff's alpha per code between two coders.

    Only units both coders coded count. Per code: the units where each coder used it, kappa,
    alpha and the share of units where they agree.
    """
    first_sets, second_sets = _sets(first), _sets(second)
    units = [u for u in first_sets if u in second_sets]
    rows: dict[str, dict[str, Any]] = {}
    for code in codes:
        a = [code in first_sets[u] for u in units]
        b = [code in second_sets[u] for u in units]
        rows[code] = {
            "first": sum(a),
            "second": sum(b),
            "agreement": sum(x == y for x, y in zip(a, b)) / len(units) if units else NAN,
            "kappa": cohen_kappa(a, b),
            "alpha": krippendorff_alpha_nominal(zip(a, b)),
        }
    macro, undefined = _macro(rows, ("agreement", "kappa", "alpha"))
    _warn_undefined(undefined)
    return {"units": len(units), "codes": rows, "macro": macro,
            "undefined": {k: v for k, v in undefined.items() if v}}


def json_safe(value: Any) -> Any:
    """``value`` with every ``nan`` replaced by ``None``, so it can be written as JSON."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value
