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

import pandas as pd

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
