"""Adding transcript files to a project: each file in its own transaction, all or nothing.

Re-ingesting an unchanged file changes nothing; a changed file becomes a new version of its
transcript, and the codings of the old version stay in the project.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from sqlalchemy import Connection

from ..errors import ReltextError
from ..model import Transcript
from ..store.database import Store
from .manifest import Manifest, load_manifest
from .readers import SUFFIXES, detect_format, read_transcripts
from .readers.characters import clean_transcript, describe
from .readers.refi import QdpxProject, read_qdpx, store_codebook_and_codings

# Files in a folder that are not transcripts even though their extension could be.
_NOT_TRANSCRIPTS = {"manifest", "readme", "license", "licence", "changelog"}


@dataclass(frozen=True, slots=True)
class IngestedTranscript:
    transcript_id: str
    version: int
    turns: int
    status: str  # "added" | "new version" | "unchanged"
    source_id: str = ""  # the transcript's id in its file, before it was made unique


@dataclass(frozen=True, slots=True)
class IngestResult:
    """What happened to one file."""

    path: str
    transcripts: tuple[IngestedTranscript, ...] = ()
    error: str | None = None
    warnings: tuple[str, ...] = field(default_factory=tuple)
    codings: int = 0  # codings a REFI-QDA project brought with it
    codes: int = 0

    @property
    def ok(self) -> bool:
        return self.error is None


def find_files(paths: Sequence[str | Path], *, skip: Sequence[Path] = ()) -> list[Path]:
    """The transcript files named by ``paths``: files as given, folders searched recursively.

    Raises:
        ReltextError: a path does not exist.
    """
    return scan_paths(paths, skip=skip)[0]


def scan_paths(paths: Sequence[str | Path], *, skip: Sequence[Path] = ()
               ) -> tuple[list[Path], list[tuple[Path, str]]]:
    """The transcript files named by ``paths``, and what a folder held that is left out, why.

    Raises:
        ReltextError: a path does not exist.
    """
    skipped_paths = {p.resolve() for p in skip}
    files: list[Path] = []
    skipped: list[tuple[Path, str]] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for candidate in sorted(path.rglob("*")):
                parts = candidate.relative_to(path).parts
                if any(part.startswith(".") for part in parts[:-1]) or not candidate.is_file():
                    continue  # inside a hidden folder (.git), or a folder itself
                reason = _skip_reason(candidate, skipped_paths)
                if reason is None:
                    files.append(candidate)
                else:
                    skipped.append((candidate, reason))
        elif path.is_file():
            files.append(path)
        else:
            raise ReltextError("no such file or folder", path=path,
                               fix="Check the path; folders are searched recursively.")
    return files, skipped


def _skip_reason(path: Path, manifests: set[Path]) -> str | None:
    """Why a file found in a folder is not read as a transcript, or None when it is."""
    suffix = path.suffix.lower()
    if path.name.startswith("."):
        return "a hidden file"
    if path.resolve() in manifests:
        return "the manifest"
    if path.stem.lower() in _NOT_TRANSCRIPTS:
        return f"a {path.stem.lower()} file, not a transcript"
    if suffix == ".doc":
        return "an old Word .doc: save it as .docx to ingest it"
    if suffix not in SUFFIXES:
        return (f"not a transcript format ({suffix or 'no extension'}); reltext reads "
                f"{', '.join(sorted(SUFFIXES))}")
    return None


def content_hash(transcript: Transcript) -> str:
    """A fingerprint of what a transcript says and how it is cut into turns."""
    payload = json.dumps(
        [
            transcript.text,
            [
                [t.turn_id, t.speaker, t.role, t.start_char, t.end_char, t.timestamp,
                 t.end_timestamp, t.meta]
                for t in transcript.turns
            ],
        ],
        ensure_ascii=False, sort_keys=True, default=str,
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def ingest_files(
    store: Store,
    files: Sequence[Path],
    *,
    format: str | None = None,
    manifest: Manifest | str | Path | None = None,
    transform: Callable[[list[Transcript], QdpxProject | None],
                        tuple[list[Transcript], QdpxProject | None]] | None = None,
    external_sources: str | Path | None = None,
) -> Iterator[IngestResult]:
    """Ingest ``files`` one by one, yielding what happened to each as it is done.

    A file that cannot be read yields a result with ``error`` set and leaves nothing in
    the project; the others go on. A REFI-QDA project (``.qdpx``/``.qde``) also brings its
    codes and codings, stored in the same transaction as its transcripts.

    Args:
        transform: Applied to each file's transcripts and project before they are stored
            (pseudonymisation); gets and returns ``(transcripts, qdpx project or None)``.
        external_sources: The only folder a REFI-QDA project's external sources are read
            from; without it they are refused (see :func:`reltext.corpus.readers.refi.read_qdpx`).
    """
    if manifest is not None and not isinstance(manifest, Manifest):
        manifest = load_manifest(manifest)
    for path in files:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                project = _qdpx_project(path, format, external_sources)
                transcripts = (list(project.transcripts) if project is not None
                               else read_transcripts(path, format=format))
                if transform is not None:
                    transcripts, project = transform(transcripts, project)
                replaced: Counter[str] = Counter()
                with store.write() as conn:
                    done = tuple(
                        _store_transcript(store, conn, transcript, manifest, replaced)
                        for transcript in transcripts
                    )
                    if replaced:
                        warnings.warn(f"{path}: {sum(replaced.values())} character(s) that "
                                      f"cannot be stored or exported were replaced: "
                                      f"{describe(replaced)}; every offset is unchanged",
                                      stacklevel=2)
                    counts = {"codings": 0, "codes": 0}
                    if project is not None:
                        stored_ids = {item.source_id: item.transcript_id for item in done}
                        counts = store_codebook_and_codings(store, conn, project, stored_ids)
                        if project.dropped:
                            warnings.warn(f"{path}: not imported: {'; '.join(project.dropped)}",
                                          stacklevel=2)
            except ReltextError as error:
                yield IngestResult(str(path), error=str(error),
                                   warnings=tuple(str(w.message) for w in caught))
                continue
        yield IngestResult(str(path), done, warnings=tuple(str(w.message) for w in caught),
                           codings=counts["codings"], codes=counts["codes"])


def _qdpx_project(path: Path, format: str | None,
                  external_sources: str | Path | None) -> QdpxProject | None:
    """The REFI-QDA project in ``path``, or None when it is another format."""
    if format not in (None, "qdpx"):
        return None
    if format is None:
        try:
            with path.open("rb") as handle:
                head = handle.read(4096)
        except OSError:
            return None  # the reader reports it
        if detect_format(path, head) != "qdpx":
            return None
    return read_qdpx(path, external_sources=external_sources)


def _store_transcript(
    store: Store, conn: Connection, transcript: Transcript, manifest: Manifest | None,
    replaced: Counter[str],
) -> IngestedTranscript:
    """Store one transcript, its unsafe characters (``replaced`` counts them) replaced."""
    transcript, found = clean_transcript(transcript)
    replaced.update(found)
    single_file = transcript.format not in ("csv", "tsv", "xlsx", "qdpx")
    transcript_id = source_id = transcript.transcript_id
    digest = content_hash(transcript)
    existing = store.current_transcript(conn, transcript_id)
    if single_file and existing is not None and existing.content_hash != digest:
        # The same name from another file is another transcript, not a new version.
        if _source_key(existing.source) != _source_key(transcript.source):
            transcript_id = _unique_id(store, conn, transcript_id, transcript.source, digest)
            existing = store.current_transcript(conn, transcript_id)
    transcript, found = clean_transcript(_with_manifest(
        replace(transcript, transcript_id=transcript_id, source=_source_key(transcript.source)),
        manifest,
    ))
    replaced.update(found)
    if existing is not None and existing.content_hash == digest:
        roles = {turn.speaker: turn.role for turn in transcript.turns}
        store.update_transcript_meta(conn, existing.pk, transcript.meta, roles)
        return IngestedTranscript(transcript_id, existing.version, len(transcript.turns),
                                  "unchanged", source_id)
    stored = store.add_transcript(conn, transcript, content_hash=digest)
    return IngestedTranscript(
        transcript_id, stored.version, len(transcript.turns),
        "added" if stored.version == 1 else "new version", source_id,
    )


def _unique_id(store: Store, conn: Connection, base: str, source: str, digest: str) -> str:
    """``base-2``, ``base-3``...: the first that is free or already holds this file."""
    number = 2
    while True:
        candidate = f"{base}-{number}"
        existing = store.current_transcript(conn, candidate)
        if existing is None and not store.transcript_id_taken(conn, candidate):
            return candidate
        if existing is not None and (
            existing.content_hash == digest
            or _source_key(existing.source) == _source_key(source)
        ):
            return candidate
        number += 1


def _source_key(source: str) -> str:
    return str(Path(source).resolve()) if source else ""


def _with_manifest(transcript: Transcript, manifest: Manifest | None) -> Transcript:
    if manifest is None:
        return transcript
    meta = {**transcript.meta, **manifest.attributes(transcript.transcript_id, transcript.source)}
    turns = tuple(
        replace(turn, role=manifest.role_of(turn.speaker, transcript.transcript_id,
                                            transcript.source) or turn.role)
        for turn in transcript.turns
    )
    return replace(transcript, meta=meta, turns=turns)
