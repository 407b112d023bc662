"""Agreement statistics, checked against scikit-learn and the krippendorff package."""

from __future__ import annotations

import math
import random

import krippendorff
import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score

from reltext.review.agreement import agreement, cohen_kappa, evaluate, krippendorff_alpha_nominal

CODES = ["trust", "hope", "stigma"]


def random_codings(seed: int, units: int = 60) -> tuple[dict, dict]:
    rng = random.Random(seed)
    first, second = {}, {}
    for unit in range(units):
        a = {c for c in CODES[:2] if rng.random() < 0.3}
        b = {c for c in a if rng.random() < 0.8} | {c for c in CODES[:2] if rng.random() < 0.1}
        first[f"u{unit}"], second[f"u{unit}"] = a, b
    return first, second


@pytest.mark.parametrize("seed", range(5))
def test_agreement_kappa_matches_sklearn(seed):
    first, second = random_codings(seed)
    with pytest.warns(RuntimeWarning, match="stigma"):
        result = agreement(first, second, CODES)
    for code in CODES[:2]:
        a = [code in first[u] for u in first]
        b = [code in second[u] for u in first]
        assert result["codes"][code]["kappa"] == pytest.approx(cohen_kappa_score(a, b))


@pytest.mark.parametrize("seed", range(5))
def test_agreement_alpha_matches_krippendorff(seed):
    first, second = random_codings(seed)
    with pytest.warns(RuntimeWarning):
        result = agreement(first, second, CODES)
    for code in CODES[:2]:
        data = np.array([[int(code in first[u]) for u in first],
                         [int(code in second[u]) for u in first]], dtype=float)
        expected = krippendorff.alpha(reliability_data=data, level_of_measurement="nominal")
        assert result["codes"][code]["alpha"] == pytest.approx(expected)


def test_agreement_alpha_with_missing_values_matches_krippendorff():
    rng = random.Random(3)
    data = [[rng.choice([0, 1, 2, None]) for _ in range(40)] for _ in range(3)]
    ours = krippendorff_alpha_nominal(zip(*data))
    theirs = krippendorff.alpha(
        reliability_data=np.array([[np.nan if v is None else v for v in row] for row in data]),
        level_of_measurement="nominal")
    assert ours == pytest.approx(theirs)


def test_agreement_cohen_kappa_multiclass_matches_sklearn():
    rng = random.Random(1)
    a = [rng.choice("xyz") for _ in range(50)]
    b = [v if rng.random() < 0.7 else rng.choice("xyz") for v in a]
    assert cohen_kappa(a, b) == pytest.approx(cohen_kappa_score(a, b))


def test_agreement_undefined_kappa_is_nan_with_one_warning():
    gold = {"u1": {"trust"}, "u2": set(), "u3": set()}
    with pytest.warns(RuntimeWarning) as caught:
        result = evaluate(gold, gold, CODES, coder="rules:x@1")
    assert len(caught) == 1
    assert "kappa for hope, stigma" in str(caught[0].message)
    assert math.isnan(result["codes"]["stigma"]["kappa"])
    assert result["macro"]["kappa"] == 1.0  # nan codes are left out, not counted as 1 or 0
    assert result["undefined"]["kappa"] == ["hope", "stigma"]


def test_agreement_evaluate_has_the_contract_shape():
    gold = {"u1": {"trust"}, "u2": {"trust", "hope"}, "u3": set(), "u4": {"hope"}}
    predicted = {"u1": {"trust"}, "u2": {"trust"}, "u3": {"hope"}}  # u4 not coded: no codes
    with pytest.warns(RuntimeWarning):
        result = evaluate(gold, predicted, CODES, coder="rules:relational@1.0")
    assert result["units"] == 4 and result["coder"] == "rules:relational@1.0"
    trust = result["codes"]["trust"]
    assert {k: trust[k] for k in ("support", "predicted", "precision", "recall", "f1")} == {
        "support": 2, "predicted": 2, "precision": 1.0, "recall": 1.0, "f1": 1.0}
    hope = result["codes"]["hope"]
    assert (hope["support"], hope["predicted"], hope["precision"], hope["recall"]) == (
        2, 1, 0.0, 0.0)
    assert set(result["macro"]) == {"precision", "recall", "f1", "kappa"}
    assert result["macro"]["f1"] == pytest.approx((1.0 + 0.0) / 2)


def test_agreement_reproduces_the_gold_inter_coder_kappas():
    from pathlib import Path

    from reltext.review.gold import read_codings_csv

    gold = Path(__file__).resolve().parent.parent.parent / "shared" / "gold"
    if not (gold / "dev-coder-A.csv").exists():
        pytest.skip("the shared gold files are not here")
    first = read_codings_csv(gold / "dev-coder-A.csv")
    second = read_codings_csv(gold / "dev-coder-B.csv")
    result = agreement(first, second, list(README_KAPPA))
    assert result["units"] == 491
    for code, kappa in README_KAPPA.items():
        assert round(result["codes"][code]["kappa"], 2) == kappa, code
    assert round(result["macro"]["kappa"], 2) == 0.87


README_KAPPA = {"trust": 0.87, "mistrust": 0.91, "hope": 0.95, "hopelessness": 0.93,
                "stigma": 0.86, "connection": 0.92, "isolation": 0.66, "agency": 0.89,
                "empowerment": 0.81, "disempowerment": 0.90, "reflexivity": 0.91,
                "locus_self": 0.91, "locus_other": 0.77, "locus_situation": 0.92}
