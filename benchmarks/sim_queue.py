"""Does answering the review queue teach the learned coder more than labelling at random?

Usage:
    python benchmarks/sim_queue.py [--start 2] [--rounds 8] [--batch 30] [--seeds 2]
                                   [--work DIR]

A simulated team on the dev gold (``../shared/gold``): in each of five folds by transcript,
two transcripts are kept aside for scoring; of the other eight, ``--start`` are coded in full
and the rest are unlabelled. Each round the learned coder is trained on what is known, then
``--batch`` (turn, code) pairs of the unlabelled transcripts are answered from the gold, chosen
by one of these strategies:

- ``queue``: the review queue's order (:func:`reltext.learning.questions.uncertainty`, the
  probability's distance from the code's threshold), for codes that have a classifier and
  turns of ``MIN_WORDS`` words or more;
- ``random``: pairs at random;
- ``turns``: whole turns at random, every code answered (a coder coding by hand).

After each round the kept-aside transcripts are coded (``learned`` and ``auto``) and scored
(macro Cohen's kappa, turn as the unit, pooled over the folds), as is the classifiers' mean
average precision (a code with no classifier yet scores every turn 0). The embeddings are the
project's MiniLM ones, computed once.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
from sklearn.metrics import average_precision_score
from sklearn.model_selection import GroupKFold

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from reltext import training  # noqa: E402
from reltext.learning.questions import MIN_WORDS, uncertainty  # noqa: E402
from reltext.coding.codebook import load_codebook  # noqa: E402
from reltext.coding.coders.rules import RulesCoder  # noqa: E402
from reltext.project import Project  # noqa: E402

GOLD = ROOT.parent / "shared" / "gold"
UNKNOWN = training.UNKNOWN
STRATEGIES = ("queue", "random", "turns")


class Simulation:
    """The dev gold in a project, its features built once, and the folds."""

    def __init__(self, work: Path) -> None:
        project = Project(work / "sim.db", create=True)
        project.ingest([GOLD / "dev-turns.csv"])
        project.import_codings(GOLD / "dev-codes.csv", coder=training.GOLD_CODER)
        book = load_codebook(None)
        self.codes = list(book.keys)
        self.seeds = training.codebook_seeds(book)
        self.data = training.collect_training_data(project.store, codes=self.codes)
        self.groups = np.asarray(self.data.groups)
        by_turn = defaultdict(list)
        rules = training.rules_function(RulesCoder(book), project.store)
        for coding in rules(self.data.turns):
            by_turn[coding["turn_pk"]].append(coding)
        self.examples, self.ruled = training.build_examples(
            project.store, self.data.turns, embedding="minilm",
            rule_coder=training._replay(by_turn))
        self.truth = self.data.labels

    def fit(self, rows: np.ndarray, labels: np.ndarray):
        known = rows[(labels[rows] != UNKNOWN).any(axis=1)]
        return training._fit_on(
            self.examples.take(known), labels[known], list(self.groups[known]), self.codes,
            ruled=[self.ruled[i] for i in known], seeds=self.seeds, embedding="minilm",
            random_state=0)

    def choose(self, strategy: str, model, pool: np.ndarray, labels: np.ndarray, batch: int,
               rng: np.random.Generator) -> list[tuple[int, int]]:
        unknown = [(i, j) for i in pool for j in range(len(self.codes))
                   if labels[i, j] == UNKNOWN]
        if strategy == "random":
            picked = rng.choice(len(unknown), min(batch, len(unknown)), replace=False)
            return [unknown[k] for k in picked]
        if strategy == "turns":
            rows = sorted({i for i, _ in unknown})
            rng.shuffle(rows)
            return [(i, j) for i in rows[:max(1, batch // len(self.codes))]
                    for j in range(len(self.codes))]
        featurizer, coder = model
        unknown = [(i, j) for i, j in unknown
                   if len(self.examples.texts[i].split()) >= MIN_WORDS]
        rows = sorted({i for i, _ in unknown})
        at = {row: k for k, row in enumerate(rows)}
        probabilities = coder.predict_proba(featurizer.transform(self.examples.take(rows)))
        scored = []
        for i, j in unknown:
            code = self.codes[j]
            if code in coder.estimators_:
                score = float(uncertainty(probabilities[at[i], j], coder.thresholds_[code]))
                scored.append((score, rng.random(), i, j))
        scored.sort(reverse=True)
        return [(i, j) for _, _, i, j in scored[:batch]]

    def run(self, strategy: str, *, start: int, rounds: int, batch: int, seed: int
            ) -> list[dict[str, float]]:
        rng = np.random.default_rng(seed)
        shape = self.truth.shape
        learned = [np.zeros(shape, bool) for _ in range(rounds + 1)]
        auto = [np.zeros(shape, bool) for _ in range(rounds + 1)]
        scores = [np.zeros(shape) for _ in range(rounds + 1)]
        for train, test in GroupKFold(5).split(self.truth, groups=self.groups):
            first = np.random.default_rng(seed + 100).choice(
                sorted(set(self.groups[train])), start, replace=False)
            labels = np.full(shape, UNKNOWN)
            coded = train[np.isin(self.groups[train], first)]
            labels[coded] = self.truth[coded]
            pool = train[~np.isin(self.groups[train], first)]
            for round_ in range(rounds + 1):
                featurizer, coder = model = self.fit(train, labels)
                p = coder.predict_proba(featurizer.transform(self.examples.take(test)))
                scores[round_][test] = np.nan_to_num(p)
                ruled = [self.ruled[i] for i in test]
                learned[round_][test] = coder.decide(p, ruled, combine=False)
                auto[round_][test] = coder.decide(p, ruled, combine=True)
                if round_ < rounds:
                    for i, j in self.choose(strategy, model, pool, labels, batch, rng):
                        labels[i, j] = self.truth[i, j]
        return [{"answered": round_ * batch,
                 "learned": self.macro_kappa(learned[round_]),
                 "auto": self.macro_kappa(auto[round_]),
                 "ap": float(np.mean([average_precision_score(self.truth[:, j],
                                                               scores[round_][:, j])
                                      for j in range(len(self.codes))]))}
                for round_ in range(rounds + 1)]

    def macro_kappa(self, predicted: np.ndarray) -> float:
        return float(np.nanmean([training.score(self.truth[:, j], predicted[:, j])["kappa"]
                                 for j in range(len(self.codes))]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--start", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--batch", type=int, default=30)
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--work", type=Path, default=None, help="Keep the project here.")
    parser.add_argument("--json", type=Path, default=None, help="Write the curves here.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        work = args.work or Path(scratch)
        work.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        simulation = Simulation(work)
        print(f"{len(simulation.data.turns)} dev turns, features in "
              f"{time.perf_counter() - started:.0f} s; {platform.processor() or platform.machine()}")
        print("strategy  answered  learned  auto   AP")
        results = {}
        for strategy in STRATEGIES:
            runs = [simulation.run(strategy, start=args.start, rounds=args.rounds,
                                   batch=args.batch, seed=seed) for seed in range(args.seeds)]
            mean = [{key: float(np.mean([run[r][key] for run in runs])) for key in runs[0][r]}
                    for r in range(args.rounds + 1)]
            results[strategy] = mean
            for row in mean:
                print(f"{strategy:8}  {row['answered']:8.0f}  {row['learned']:.3f}    "
                      f"{row['auto']:.3f}  {row['ap']:.3f}")
        if args.json:
            args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
