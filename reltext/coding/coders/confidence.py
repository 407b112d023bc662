"""How often each rule is right: the rules coder's confidences, measured and kept up to date.

A rule's confidence is the share of turns where it fired on which people coded the code it
gave (its turn-level precision), measured on the dev gold and the training corpus
(``benchmarks/rule_precision.py`` writes ``reltext/data/rule_precision.json``) and updated
with the team's decisions on the rule's codings: an accept (or a correction that keeps the
code) counts as right, a reject or a correction to another code as wrong.

Counts are few for most rules, so each estimate is shrunk toward its code's precision, and
the code's toward all rules' (a Beta prior worth :data:`PRIOR_WEIGHT` matches): a rule seen
twice, right both times, gets its code's precision raised a little, not 1.0. Measured
out of sample, these confidences are calibrated (see the README's figures); the codebook's
own numbers (0.8 for most rules) were not.

Example:
    >>> table = RuleConfidence.shipped(codebook).with_decisions(store)
    >>> table.of("trust/phrase/3", "trust")
    0.71
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

SHIPPED = Path(__file__).resolve().parents[2] / "data" / "rule_precision.json"
# How many matches' worth of belief the prior carries (chosen out of sample, see the script).
PRIOR_WEIGHT = 10.0
_RULE_ID = re.compile(r"[^\s:]+")


def rule_of(evidence: str | None) -> str | None:
    """The rule id a rules coding's evidence names (``trust/phrase/3 (negated...): '...'``)."""
    match = _RULE_ID.match(evidence or "")
    return match.group() if match else None


@dataclass(frozen=True)
class RuleConfidence:
    """Matches and right answers per (rule, code given), with the estimates made from them.

    ``counts`` maps ``(rule_id, code)`` to ``(matches, right)``; the code is the one the rule
    gave after context (a negated ``trust`` rule that gave ``mistrust`` counts for that).
    """

    counts: Mapping[tuple[str, str], tuple[float, float]] = field(default_factory=dict)
    prior_weight: float = PRIOR_WEIGHT

    @classmethod
    def shipped(cls, codebook: Any = None) -> RuleConfidence:
        """The measured table; only its per-code figures when ``codebook`` is another one
        than it was measured on (its rule ids may name other rules there)."""
        data = json.loads(SHIPPED.read_text(encoding="utf-8"))
        counts = {tuple(key.split(" ", 1)): tuple(value)
                  for key, value in data["counts"].items()}
        if codebook is not None and getattr(codebook, "sha256", None) != data["codebook_sha256"]:
            counts = {("", code): tuple(total) for code, total in _by_code(counts).items()}
        return cls(counts, data.get("prior_weight", PRIOR_WEIGHT))

    def with_outcomes(self, outcomes: Iterable[tuple[str, str, bool]]) -> RuleConfidence:
        """The table with more ``(rule_id, code, right)`` outcomes added."""
        counts = dict(self.counts)
        for rule_id, code, right in outcomes:
            matches, hits = counts.get((rule_id, code), (0.0, 0.0))
            counts[(rule_id, code)] = (matches + 1, hits + float(right))
        return RuleConfidence(counts, self.prior_weight)

    def with_decisions(self, store: Any) -> RuleConfidence:
        """The table with the project's review decisions on rules codings added."""
        return self.with_outcomes(decision_outcomes(store))

    def of(self, rule_id: str, code: str, default: float | None = None) -> float:
        """The rule's calibrated confidence for the code it gave; for a code never
        measured, ``default`` (the codebook's figure) or all rules' precision."""
        estimate = self._rules.get((rule_id, code)) or self._codes.get(code)
        if estimate is None:
            estimate = default if default is not None else self._overall
        return round(estimate, 3)

    @cached_property
    def _overall(self) -> float:
        matches = sum(m for m, _ in self.counts.values())
        right = sum(r for _, r in self.counts.values())
        return (right + 1) / (matches + 2)

    @cached_property
    def _codes(self) -> dict[str, float]:
        return {code: (right + self.prior_weight * self._overall) / (matches + self.prior_weight)
                for code, (matches, right) in _by_code(self.counts).items()}

    @cached_property
    def _rules(self) -> dict[tuple[str, str], float]:
        return {(rule_id, code): (right + self.prior_weight * self._codes[code])
                / (matches + self.prior_weight)
                for (rule_id, code), (matches, right) in self.counts.items() if rule_id}


def decision_outcomes(store: Any) -> list[tuple[str, str, bool]]:
    """``(rule_id, code, right)`` of every rules coding the team has judged (its latest
    decision counts): accepted, or corrected keeping the code, is right."""
    with store.read() as conn:
        decided = store.training_decisions(conn)
    outcomes = []
    for row in decided:
        rule_id = rule_of(row.get("evidence")) if row["origin"] == "rule" else None
        if rule_id:
            right = row["verdict"] == "accept" or (row["verdict"] == "correct"
                                                   and row["decided_code"] == row["code"])
            outcomes.append((rule_id, row["code"], right))
    return outcomes


def _by_code(counts: Mapping[tuple[str, str], tuple[float, float]]
             ) -> dict[str, tuple[float, float]]:
    matches: Counter[str] = Counter()
    right: Counter[str] = Counter()
    for (_, code), (m, r) in counts.items():
        matches[code] += m
        right[code] += r
    return {code: (matches[code], right[code]) for code in matches}


def write_table(counts: Mapping[tuple[str, str], tuple[float, float]], *, codebook: Any,
                measured_on: str, path: Path = SHIPPED,
                prior_weight: float = PRIOR_WEIGHT) -> None:
    """Write a measured table (what ``benchmarks/rule_precision.py`` ships)."""
    head = {"codebook": codebook.name, "codebook_version": codebook.version,
            "codebook_sha256": codebook.sha256, "measured_on": measured_on,
            "prior_weight": prior_weight}
    # One (rule, code) a line, [matches, right]: a new measurement reads as a small diff.
    lines = [f"  {json.dumps(key)}: {json.dumps(value)}," for key, value in head.items()]
    entries = [f"    {json.dumps(f'{rule} {code}')}: [{int(m)}, {int(r)}]"
               for (rule, code), (m, r) in sorted(counts.items())]
    path.write_text("{\n" + "\n".join(lines) + '\n  "counts": {\n' + ",\n".join(entries)
                    + "\n  }\n}\n", encoding="utf-8")
