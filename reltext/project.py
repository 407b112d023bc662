"""The Python API: a project database and what can be done with it.

Example:
    >>> from reltext import Project
    >>> project = Project("study.db")
    >>> results = project.ingest(["interviews/"], manifest="interviews/manifest.yaml")
    >>> project.turns().groupby("role").size()
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from . import training
from .active_learning import review_queue
from .export import codings_frame, transcripts_frame, turns_frame
from .gold import import_codings
from .ingest import IngestResult, find_files, ingest_files
from .manifest import Manifest, load_manifest
from .pseudonymise import (
    PseudonymiseSummary,
    Pseudonymiser,
    default_key_path,
    pseudonymise_project,
)
from .refi import ExportSummary, write_qdpx
from .store import Store
from .training import TrainedModel


class Project:
    """A reltext project: one database file holding transcripts, codings and decisions.

    Args:
        db: The project file; ``$RELTEXT_DB`` or ``reltext.db`` when None. Created if missing.
    """

    def __init__(self, db: str | os.PathLike[str] | None = None, *, create: bool = True) -> None:
        self.store = Store.open(db, create=create)

    @property
    def path(self) -> Path:
        return self.store.path

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Project:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- ingest -------------------------------------------------------------------------

    def iter_ingest(
        self,
        paths: Sequence[str | os.PathLike[str]],
        *,
        format: str | None = None,
        manifest: str | os.PathLike[str] | Manifest | None = None,
        pseudonymiser: Pseudonymiser | None = None,
        key_out: str | os.PathLike[str] | None = None,
    ) -> Iterator[IngestResult]:
        """Ingest files and folders, yielding one :class:`IngestResult` per file as it ends.

        With a ``pseudonymiser``, every file is pseudonymised before it is stored and the
        key saved to ``key_out`` (``<db>.pseudonym-key.csv`` when None, with a warning).
        """
        skip = []
        if manifest is not None and not isinstance(manifest, Manifest):
            skip.append(Path(manifest))
            manifest = load_manifest(manifest)
        files = find_files([Path(p) for p in paths], skip=skip)
        transform = None
        if pseudonymiser is not None:
            key_path = Path(key_out) if key_out else default_key_path(self.path)
            transform = functools.partial(pseudonymiser.ingest_step, key_out=key_path)
        yield from ingest_files(self.store, files, format=format, manifest=manifest,
                                transform=transform)

    def ingest(self, paths, *, format=None, manifest=None) -> list[IngestResult]:
        """Ingest files and folders; see :meth:`iter_ingest`."""
        return list(self.iter_ingest(paths, format=format, manifest=manifest))

    def count_files(self, paths: Sequence[str | os.PathLike[str]], *, manifest=None) -> int:
        skip = [Path(manifest)] if manifest is not None and not isinstance(manifest, Manifest) \
            else []
        return len(find_files([Path(p) for p in paths], skip=skip))

    # -- reading ------------------------------------------------------------------------

    def transcripts(self) -> pd.DataFrame:
        """One row per current transcript: turns, words, speakers with roles, attributes."""
        return transcripts_frame(self.store)

    def turns(self, transcript_ids: list[str] | None = None) -> pd.DataFrame:
        """One row per turn, with the contract's columns and the metadata columns."""
        return turns_frame(self.store, transcript_ids=transcript_ids)

    def codings(self, coder: str | None = None) -> pd.DataFrame:
        """One row per coding (all coders, or one), with the contract's columns."""
        return codings_frame(self.store, coder=coder)

    def coders(self) -> pd.DataFrame:
        """Every coder in the project with the turns it coded and the codings it made."""
        with self.store.read() as conn:
            return pd.DataFrame(self.store.coders(conn), columns=["coder", "turns", "codings"])

    def turn_codes(self, coder: str) -> dict[tuple[str, str], set[str]]:
        """``(transcript_id, turn_id) -> codes`` over the turns ``coder`` has coded."""
        with self.store.read() as conn:
            return self.store.coded_turn_codes(conn, coder)

    # -- the learned coder -----------------------------------------------------------------

    def train(self, *, gold: str | os.PathLike[str] | None = None,
              coders: Sequence[str] | None = None,
              codebook: str | os.PathLike[str] | None = None, embedding: str | None = None,
              random_state: int | None = 0) -> TrainedModel:
        """Fit, save and record a learned coder (see :mod:`reltext.training`).

        Args:
            gold: A codings CSV imported first as ``human:gold`` and trained on.
            coders: The human coders to learn from (with ``gold``: in addition to it);
                every human coder when None. Review decisions always count.
            codebook: The codebook YAML (codes, seed examples, rules); the bundled one when None.
            embedding: ``"minilm"`` or ``"tfidf"``; MiniLM when installed when None.
        """
        return training.train_model(self.store, random_state=random_state,
                                    **self._training_inputs(gold, coders, codebook, embedding))

    def cross_validate(self, *, gold=None, coders=None, codebook=None, embedding=None,
                       n_splits: int = 5, random_state: int | None = 0) -> dict[str, Any]:
        """Rules, learned and auto scored on transcripts each model never saw (grouped CV)."""
        inputs = self._training_inputs(gold, coders, codebook, embedding)
        inputs.pop("rules_name")
        inputs.pop("codebook")
        return training.cross_validate(self.store, n_splits=n_splits, random_state=random_state,
                                       **inputs)

    def _training_inputs(self, gold, coders, codebook, embedding) -> dict[str, Any]:
        from .codebook import load_codebook
        from .coders.rules import RulesCoder

        book = load_codebook(codebook)
        chosen = list(coders or [])
        if gold is not None:
            self.import_codings(gold, coder=training.GOLD_CODER, known_codes=book.keys)
            chosen.insert(0, training.GOLD_CODER)
        return {
            "codes": list(book.keys), "seeds": training.codebook_seeds(book),
            "coders": chosen or None, "embedding": embedding,
            "rule_coder": training.rules_function(RulesCoder(book), self.store),
            "rules_name": book.coder_id,
            "codebook": {"name": book.name, "version": book.version, "sha256": book.sha256,
                         "path": str(book.path)},
        }

    def models(self) -> pd.DataFrame:
        """The learned models, oldest first: id, when, training size, macro CV kappa."""
        rows = []
        for model in training.list_models(self.store):
            manifest = model["manifest"]
            kappas = [s["kappa"] for s in manifest.get("cv", {}).values() if "kappa" in s]
            rows.append({
                "model_id": model["model_id"], "created_at": model["created_at"],
                "turns": manifest.get("training", {}).get("turns"),
                "decisions": manifest.get("training", {}).get("decisions"),
                "embedding": manifest.get("features", {}).get("embedding"),
                "codes_learned": len(manifest.get("thresholds", {})),
                "codes_to_rules": len(manifest.get("fallback_to_rules", {})),
                "cv_kappa": round(sum(kappas) / len(kappas), 3) if kappas else None,
                "path": model["path"],
            })
        return pd.DataFrame(rows, columns=["model_id", "created_at", "turns", "decisions",
                                           "embedding", "codes_learned", "codes_to_rules",
                                           "cv_kappa", "path"])

    def review_queue(self, *, n: int = 20, code: str | None = None,
                     model_id: str | None = None) -> pd.DataFrame:
        """The turns whose review would teach the learned coder most (see
        :func:`reltext.active_learning.review_queue`)."""
        return review_queue(self.store, n=n, code=code, model_id=model_id)

    def import_codings(self, path, *, coder: str, known_codes=None) -> dict[str, int]:
        """Add a human coder's codings from a contract codings CSV (see :mod:`reltext.gold`)."""
        return import_codings(self.store, path, coder=coder, known_codes=known_codes)

    # -- exchange -----------------------------------------------------------------------

    def export_qdpx(
        self,
        out: str | os.PathLike[str],
        *,
        accepted_only: bool = False,
        coders: Sequence[str] | None = None,
        transcript_ids: Sequence[str] | None = None,
    ) -> ExportSummary:
        """Write the project as a REFI-QDA ``.qdpx`` for NVivo, ATLAS.ti, MAXQDA, QualCoder.

        See :func:`reltext.refi.write_qdpx`.
        """
        return write_qdpx(self.store, out, accepted_only=accepted_only, coders=coders,
                          transcript_ids=transcript_ids)

    # -- privacy ------------------------------------------------------------------------

    def pseudonymise(
        self,
        pseudonymiser: Pseudonymiser,
        *,
        key_out: str | os.PathLike[str] | None = None,
        report: str | os.PathLike[str] | None = None,
    ) -> PseudonymiseSummary:
        """Pseudonymise every transcript in place; see :func:`reltext.pseudonymise.pseudonymise_project`.

        The key goes to ``key_out`` (``<db>.pseudonym-key.csv`` when None, with a warning).
        """
        key_path = Path(key_out) if key_out else default_key_path(self.path)
        return pseudonymise_project(self.store, pseudonymiser, key_out=key_path, report=report)
