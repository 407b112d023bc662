"""Features of a turn for the learned coder: what it says, who says it, and what the rules saw.

A turn becomes one sparse row: its sentence embedding (all-MiniLM-L6-v2) and, weighted
down, the embedding of the turn before it (codes are read in context); for each code, the
highest cosine similarity between any sentence of the turn and any of the code's codebook
examples (a code is often carried by one sentence of a long turn, and the codebook's
examples say what it looks like); one column per code and per rule the rules coder matched
on it; and one column per speaker role. When the embedding extra is not installed, TF-IDF
word and bigram weights fitted on the training turns stand in for the embeddings and the
similarities are left out.

Example:
    >>> featurizer = TurnFeaturizer(embedding="tfidf").fit(examples)
    >>> matrix = featurizer.transform(examples)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.utils.validation import check_is_fitted

EMBEDDINGS = ("minilm", "tfidf")


@dataclass(slots=True)
class TurnExamples:
    """Turns (or codebook seed texts) as parallel columns, ready to become features.

    ``embeddings``/``previous_embeddings`` are unit vectors, one row per turn (zeros for a
    turn with no turn before it); None on the TF-IDF path.
    """

    texts: list[str]
    previous_texts: list[str]
    roles: list[str]
    rule_keys: list[frozenset[str]]
    embeddings: np.ndarray | None = None
    previous_embeddings: np.ndarray | None = None
    labels: list[str] = field(default_factory=list)
    sentence_embeddings: list[np.ndarray] | None = None
    seed_rows: list[int] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.texts)

    def take(self, rows: Sequence[int] | np.ndarray) -> TurnExamples:
        """The examples at ``rows``, in that order."""
        rows = list(rows)
        pick = (lambda values: [values[i] for i in rows])
        return TurnExamples(
            texts=pick(self.texts), previous_texts=pick(self.previous_texts),
            roles=pick(self.roles), rule_keys=pick(self.rule_keys),
            embeddings=None if self.embeddings is None else self.embeddings[rows],
            previous_embeddings=(None if self.previous_embeddings is None
                                 else self.previous_embeddings[rows]),
            labels=pick(self.labels) if self.labels else [],
            sentence_embeddings=(None if self.sentence_embeddings is None
                                 else pick(self.sentence_embeddings)),
            seed_rows=pick(self.seed_rows) if self.seed_rows else [],
        )

    @staticmethod
    def concat(parts: Sequence[TurnExamples]) -> TurnExamples:
        parts = [part for part in parts if len(part)] or list(parts[:1])
        with_vectors = all(part.embeddings is not None for part in parts)
        return TurnExamples(
            texts=[t for part in parts for t in part.texts],
            previous_texts=[t for part in parts for t in part.previous_texts],
            roles=[r for part in parts for r in part.roles],
            rule_keys=[k for part in parts for k in part.rule_keys],
            embeddings=np.vstack([p.embeddings for p in parts]) if with_vectors else None,
            previous_embeddings=(np.vstack([p.previous_embeddings for p in parts])
                                 if with_vectors else None),
            labels=[label for part in parts for label in part.labels],
            sentence_embeddings=([v for p in parts for v in p.sentence_embeddings]
                                 if all(p.sentence_embeddings is not None for p in parts)
                                 else None),
            seed_rows=[r for part in parts for r in (part.seed_rows or [-1] * len(part))],
        )


class TurnFeaturizer(BaseEstimator):
    """Turns :class:`TurnExamples` into a sparse feature matrix.

    Args:
        embedding: ``"minilm"`` (the examples carry sentence embeddings) or ``"tfidf"``.
        context_weight: Weight of the previous turn's embedding (or TF-IDF row) beside the
            turn's own; 0 leaves context out.
        rule_weight: Weight of the rules coder's one-hot columns.
        similarity_weight: Weight of the per-code example similarities.
    """

    def __init__(self, *, embedding: str = "minilm", context_weight: float = 0.5,
                 rule_weight: float = 1.0, similarity_weight: float = 1.0) -> None:
        self.embedding = embedding
        self.context_weight = context_weight
        self.rule_weight = rule_weight
        self.similarity_weight = similarity_weight

    def fit(self, examples: TurnExamples, *, prototypes: np.ndarray | None = None,
            prototype_codes: Sequence[str] = ()) -> TurnFeaturizer:
        """Learn the vocabularies; ``prototypes`` are unit embeddings of codebook examples.

        Args:
            examples: The training examples.
            prototypes: ``(n, dims)`` embeddings of the codebook's positive seed texts, in
                the order the seed examples come in ``examples`` (``seed_rows`` index them).
            prototype_codes: The code of each prototype.
        """
        if self.embedding not in EMBEDDINGS:
            raise ValueError(f"embedding must be one of {EMBEDDINGS}, got {self.embedding!r}")
        self.rule_vocabulary_ = sorted({key for keys in examples.rule_keys for key in keys})
        self.roles_ = sorted({role for role in examples.roles if role})
        if self.embedding == "tfidf":
            self.tfidf_ = TfidfVectorizer(ngram_range=(1, 2), min_df=1, sublinear_tf=True,
                                          max_features=50_000).fit(examples.texts)
            self.n_text_features_ = len(self.tfidf_.vocabulary_)
        else:
            if examples.embeddings is None:
                raise ValueError("the minilm featurizer needs examples with embeddings")
            self.n_text_features_ = examples.embeddings.shape[1]
        has_prototypes = (self.embedding == "minilm" and prototypes is not None
                          and len(prototype_codes) > 0)
        self.prototypes_ = prototypes if has_prototypes else None
        self.prototype_codes_ = sorted(set(prototype_codes)) if has_prototypes else []
        self.prototype_index_ = [self.prototype_codes_.index(c) for c in prototype_codes] \
            if has_prototypes else []
        return self

    def similarities(self, examples: TurnExamples) -> sparse.csr_matrix:
        """Per code, the best cosine between a sentence of the turn and one of its examples.

        A seed example is not compared with itself.
        """
        check_is_fitted(self, "n_text_features_")
        n_codes = len(self.prototype_codes_)
        if self.prototypes_ is None or examples.sentence_embeddings is None:
            return sparse.csr_matrix((len(examples), n_codes))
        code_of = np.asarray(self.prototype_index_)
        result = np.zeros((len(examples), n_codes))
        seed_rows = examples.seed_rows or [-1] * len(examples)
        for row, sentences in enumerate(examples.sentence_embeddings):
            if not len(sentences):
                continue
            best = (sentences @ self.prototypes_.T).max(axis=0)
            if seed_rows[row] >= 0:
                best[seed_rows[row]] = -1.0
            per_code = np.full(n_codes, -1.0)
            np.maximum.at(per_code, code_of, best)
            result[row] = np.clip(per_code, 0.0, None)
        return sparse.csr_matrix(result * self.similarity_weight)

    def text_block(self, examples: TurnExamples) -> sparse.csr_matrix:
        """The part of the features that stands for the turn's own words (for similarity)."""
        check_is_fitted(self, "n_text_features_")
        if self.embedding == "tfidf":
            return self.tfidf_.transform(examples.texts).tocsr()
        return sparse.csr_matrix(examples.embeddings)

    def transform(self, examples: TurnExamples) -> sparse.csr_matrix:
        check_is_fitted(self, "n_text_features_")
        own = self.text_block(examples)
        if self.embedding == "tfidf":
            previous = self.tfidf_.transform(examples.previous_texts)
        else:
            previous = sparse.csr_matrix(examples.previous_embeddings)
        rule_index = {key: i for i, key in enumerate(self.rule_vocabulary_)}
        rows, cols = [], []
        for row, keys in enumerate(examples.rule_keys):
            for key in keys:
                if key in rule_index:
                    rows.append(row)
                    cols.append(rule_index[key])
        rules = sparse.csr_matrix(
            (np.full(len(rows), self.rule_weight), (rows, cols)),
            shape=(len(examples), len(self.rule_vocabulary_)),
        )
        role_index = {role: i for i, role in enumerate(self.roles_)}
        role_rows = [(row, role_index[role]) for row, role in enumerate(examples.roles)
                     if role in role_index]
        roles = sparse.csr_matrix(
            (np.ones(len(role_rows)), ([r for r, _ in role_rows], [c for _, c in role_rows])),
            shape=(len(examples), len(self.roles_)),
        )
        blocks = [own, previous * self.context_weight, self.similarities(examples), rules, roles]
        return sparse.hstack(blocks, format="csr")
