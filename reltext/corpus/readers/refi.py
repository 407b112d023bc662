"""REFI-QDA projects in: ``.qdpx``/``.qde`` projects from NVivo, ATLAS.ti, MAXQDA, QualCoder
or reltext, read into transcripts, a codebook and codings.

Reading is tolerant of what other tools write (``Sources/``, a ``.qde`` with another name,
byte-order marks, CRLF, braced GUIDs) and says what it dropped. A project reltext wrote
carries its turns, codebook and codings' origins as notes (:mod:`reltext.exchange.refi`), which are
taken back so the round trip is exact.

Example:
    >>> project = read_qdpx("from-nvivo.qdpx")
    >>> len(project.transcripts), len(project.codings)
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
import zipfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any, NamedTuple

from lxml import etree

from ...errors import ReltextError, TranscriptFormatError
from ...exchange.guids import RELTEXT_NS
from ...exchange.refi import (CODEBOOK_NOTE, CODING_NOTES, NOTE_PREFIX, RGB_COLOUR, TURNS_NOTE,
                    utc_timestamp)
from ...model import Coding, Origin, Transcript, Turn
from .archive import external_file, read_file, read_member, refuse_external, safe_name
from .characters import has_unsafe_characters
from .qdpx import source_transcript

_ORIGIN_OF_PREFIX = {"rules": Origin.RULE, "learned": Origin.CLASSIFIER,
                     "topics": Origin.TOPIC, "human": Origin.HUMAN}
_ORIGINS = {origin.value for origin in Origin}
# Deeper than any real codebook, and well inside Python's recursion limit.
MAX_CODE_DEPTH = 64
_SOURCE_SUFFIX = re.compile(r"\.(?:txt|text|docx?|rtf|pdf|odt)$", re.IGNORECASE)


# -- the project as read ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class QdaCode:
    """A code of the project's codebook; ``key`` is reltext's key for it."""

    guid: str
    key: str
    name: str
    codable: bool
    colour: str | None
    description: str
    parent: str | None  # the key of the codable code it sits under
    family: str | None  # the name of the top-level group it sits in
    polarity: str = "neutral"


@dataclass(frozen=True, slots=True)
class QdpxProject:
    """What a REFI-QDA project holds that reltext can store.

    ``transcripts`` come from the text sources, ``codes`` from the codebook (groups that
    cannot be coded included), ``codings`` from the coded text selections, and ``dropped``
    says in words what was left out (pictures, audio, memos, selections outside any turn).
    """

    path: str
    name: str
    transcripts: tuple[Transcript, ...]
    codes: tuple[QdaCode, ...]
    codings: tuple[Coding, ...]  # coding_id: the GUID of its <Coding>
    codebook_name: str
    codebook_version: str
    dropped: tuple[str, ...] = field(default_factory=tuple)


def read_qdpx(path: str | Path, *, external_sources: str | Path | None = None) -> QdpxProject:
    """Read a ``.qdpx`` archive or a bare ``.qde`` file (sources in a folder beside it).

    Only the project's own files are read: the archive's members (within size and
    compression limits) or, for a bare ``.qde``, its ``sources/`` folder. See
    :mod:`reltext.corpus.readers.archive`.

    Args:
        path: The project file.
        external_sources: The folder to read external sources (``relative://``,
            ``absolute://``, ``file://``) from; without it they are refused.

    Raises:
        ReltextError: the file is not a REFI-QDA project, a source it names is missing,
            unreadable or outside the project, or a note or value is malformed; the
            message names the file, the place and the fix.
    """
    path = Path(path)
    folder = Path(external_sources) if external_sources is not None else None
    with _Archive.open(path) as archive:
        try:
            root = etree.fromstring(archive.project_xml, parser=etree.XMLParser(
                resolve_entities=False, no_network=True, huge_tree=True))
        except etree.XMLSyntaxError as error:
            raise ReltextError(f"the project XML is not well-formed ({error})",
                               path=archive.project_name,
                               fix="Export the project again from its QDA program.") from error
        _refuse_entities(root, archive.project_name)
        if _local(root) != "Project":
            raise ReltextError(
                f"the root element is <{_local(root)}>, not <Project>",
                path=archive.project_name,
                fix="Give a REFI-QDA project (.qdpx or .qde), not a codebook (.qdc).")
        return _Reader(path, archive, root, folder).project()


def _refuse_entities(root: Any, where: str) -> None:
    """Entities are never expanded, and one left unexpanded would cut its text short."""
    declared = root.getroottree().docinfo.internalDTD
    names = [entity.name for entity in declared.iterentities()] if declared else []
    for node in root.iter(etree.Entity):
        raise ReltextError(
            f"line {node.sourceline}: <{_local(node.getparent())}> holds the entity "
            f"{node.text}, which reltext does not expand", path=where,
            fix="Export the project again from its QDA program, without a DTD or entities.")
    if names:
        raise ReltextError(
            f"the project XML declares the entities {', '.join(sorted(names))}, which "
            "reltext does not expand", path=where,
            fix="Export the project again from its QDA program, without a DTD or entities.")


class _Archive:
    """The project XML and the files inside the project that its sources name.

    Members of a ``.qdpx`` are found by name (any case, in ``sources/`` or not) and read
    one at a time when a source asks for them, never all at once.
    """

    def __init__(self, path: Path, project_name: str, project_xml: bytes,
                 archive: zipfile.ZipFile | None = None) -> None:
        self.path = path
        self.project_name = project_name
        self.project_xml = project_xml
        self._zip = archive
        self._members: dict[str, zipfile.ZipInfo] = {}
        for info in archive.infolist() if archive is not None else ():
            name = safe_name(info.filename)
            if name is not None and not info.is_dir():
                self._members.setdefault(name.lower(), info)
                self._members.setdefault(PurePosixPath(name).name.lower(), info)

    @classmethod
    @contextmanager
    def open(cls, path: Path) -> Iterator[_Archive]:
        try:
            is_zip = zipfile.is_zipfile(path)
        except OSError as error:
            raise ReltextError(f"cannot read the project ({error.strerror})", path=path,
                               fix="Check the path.") from error
        if not is_zip:
            yield cls(path, str(path), read_file(path, path))
            return
        try:
            archive = zipfile.ZipFile(path)
        except zipfile.BadZipFile as error:
            raise ReltextError(f"the archive is damaged ({error})", path=path,
                               fix="Export the project again as a REFI-QDA .qdpx.") from error
        with archive:
            projects = [info for info in archive.infolist() if not info.is_dir()
                        and info.filename.lower().endswith(".qde")
                        and "/" not in info.filename.strip("/")]
            preferred = [info for info in projects if info.filename.lower() == "project.qde"]
            if not projects:
                raise ReltextError("the archive holds no .qde project file at its top level",
                                   path=path,
                                   fix="Export the project again as a REFI-QDA .qdpx.")
            if len(projects) > 1 and not preferred:
                raise ReltextError(
                    f"the archive holds several project files "
                    f"{sorted(info.filename for info in projects)}",
                    path=path, fix="Keep one .qde in the archive.")
            project = (preferred or projects)[0]
            yield cls(path, f"{path}!{project.filename}",
                      read_member(archive, project, path), archive)

    def internal(self, name: str, location: str, source: str) -> bytes:
        """The file ``internal://name``: an archive member, or in ``sources/`` beside a
        bare ``.qde``.

        Raises:
            ReltextError: the name leaves the project, or no such file is in it.
        """
        relative = safe_name(name)
        data = None
        if relative is not None:
            data = self._member(relative) if self._zip is not None else self._beside(relative)
        if data is None:
            raise ReltextError(
                f"source {source!r} names {location}, which is not in the project",
                path=self.project_name,
                fix="Export the project again with its sources included.")
        return data

    def _member(self, name: str) -> bytes | None:
        for candidate in (f"sources/{name}".lower(), name.lower()):
            if candidate in self._members:
                return read_member(self._zip, self._members[candidate], self.path)
        return None

    def _beside(self, name: str) -> bytes | None:
        folder = self.path.parent
        for child in folder.iterdir() if folder.is_dir() else ():
            if child.is_dir() and child.name.lower() == "sources":
                for candidate in child.iterdir():
                    # A link out of the folder is not one of the project's files.
                    if (candidate.name.lower() == name.lower()
                            and candidate.resolve().is_relative_to(child.resolve())):
                        return read_file(candidate, self.path)
        return None


def _local(element: Any) -> str:
    return etree.QName(element).localname if isinstance(element.tag, str) else ""


def _children(element: Any, name: str) -> list[Any]:
    return [child for child in element if _local(child) == name]


def _child(element: Any, name: str) -> Any | None:
    found = _children(element, name)
    return found[0] if found else None


def _text_of(element: Any, name: str) -> str:
    child = _child(element, name)
    return (child.text or "") if child is not None else ""


def _guid_of(value: str | None) -> str:
    return (value or "").strip().strip("{}").lower()


class _Note(NamedTuple):
    name: str
    content: str
    line: int | None


_NO_NOTE = _Note("", "", None)
_FIX_NOTE = "Export the project again from reltext, or delete that note in the QDA program."


class _Reader:
    """One pass over a project's XML, collecting what reltext keeps and what it drops."""

    def __init__(self, path: Path, archive: _Archive, root: Any,
                 external_sources: Path | None) -> None:
        self.path = path
        self.archive = archive
        self.root = root
        self.external_sources = external_sources
        self.dropped: list[str] = []
        self.notes_used = 0

    def project(self) -> QdpxProject:
        root = self.root
        users = {_guid_of(u.get("guid")): (u.get("name") or u.get("id") or "").strip()
                 for users in _children(root, "Users") for u in _children(users, "User")}
        notes = {_guid_of(n.get("guid")): _Note((n.get("name") or "").strip(),
                                                _text_of(n, "PlainTextContent"), n.sourceline)
                 for block in _children(root, "Notes") for n in _children(block, "Note")}
        codebook = self._reltext_note(notes, _children(root, "NoteRef"), CODEBOOK_NOTE)
        codes = self._codes(codebook.get("codes", {}))
        variables = {
            _guid_of(v.get("guid")): (v.get("name") or "").strip()
            for block in _children(root, "Variables") for v in _children(block, "Variable")
        }
        case_meta = self._case_meta(variables)
        transcripts, codings = [], []
        used_ids: set[str] = set()
        code_keys = {code.guid: code.key for code in codes}
        for block in _children(root, "Sources"):
            for source in block:
                if not isinstance(source.tag, str):
                    continue
                if _local(source) != "TextSource":
                    self.dropped.append(f"{_local(source)} {source.get('name')!r} (only text "
                                        "sources are imported)")
                    continue
                transcript = self._transcript(source, notes, variables, case_meta, used_ids)
                if transcript is None:
                    continue
                transcripts.append(transcript)
                codings.extend(self._codings(source, transcript, users, notes, code_keys))
        unreferenced = len(notes) - self.notes_used
        if unreferenced > 0:
            self.dropped.append(f"{unreferenced} memo(s) and review note(s)")
        return QdpxProject(
            path=str(self.path), name=root.get("name") or self.path.stem,
            transcripts=tuple(transcripts), codes=tuple(codes), codings=tuple(codings),
            codebook_name=str(codebook.get("name") or f"qdpx:{self.path.stem}"),
            codebook_version=str(codebook.get("version") or "1"),
            dropped=tuple(self.dropped),
        )

    def _reltext_note(self, notes: Mapping[str, _Note], refs: Iterable[Any],
                      name: str) -> dict[str, Any]:
        """The JSON of the reltext note of this name among ``refs``, or ``{}``.

        Raises:
            ReltextError: the note nests too deeply to read, or holds characters that
                cannot be stored (a lone surrogate, a control character).
        """
        for ref in refs:
            note = notes.get(_guid_of(ref.get("targetGUID")))
            if note and note.name == name:
                self.notes_used += 1
                where = f"line {note.line}: the <Note> {name!r}"
                try:
                    value = json.loads(note.content)
                except json.JSONDecodeError:
                    self.dropped.append(f"the note {name!r}, which is not valid JSON")
                    return {}
                except RecursionError as error:
                    raise ReltextError(f"{where} nests its JSON too deeply to be read",
                                       path=self.archive.project_name,
                                       fix=_FIX_NOTE) from error
                if has_unsafe_characters(json.dumps(value, ensure_ascii=False)):
                    raise ReltextError(
                        f"{where} holds characters that cannot be stored (a lone surrogate "
                        "or a control character)", path=self.archive.project_name,
                        fix=_FIX_NOTE)
                return value if isinstance(value, dict) else {}
        return {}

    def _codes(self, known: Mapping[str, Mapping[str, Any]]) -> list[QdaCode]:
        codes: list[QdaCode] = []
        keys: set[str] = set()

        def walk(element: Any, parent: str | None, family: str | None, depth: int) -> None:
            if depth > MAX_CODE_DEPTH:
                raise ReltextError(
                    f"line {element.sourceline}: the codebook nests <Code> elements more than "
                    f"{MAX_CODE_DEPTH} deep", path=self.archive.project_name,
                    fix="Flatten the code hierarchy in the QDA program and export again.")
            element_guid = _guid_of(element.get("guid"))
            name = (element.get("name") or "").strip()
            codable = (element.get("isCodable") or "true").strip().lower() in ("true", "1")
            saved = known.get(element_guid) if isinstance(known, Mapping) else None
            saved = saved if isinstance(saved, Mapping) else {}
            key = str(saved.get("key") or name)
            if key in keys:  # two codes of one name in different branches stay apart
                key = f"{parent or family}/{name}"
            keys.add(key)
            colour = (element.get("color") or "").strip() or None
            code = QdaCode(
                guid=element_guid, key=key, name=str(saved.get("name") or name), codable=codable,
                colour=colour if colour and RGB_COLOUR.fullmatch(colour) else None,
                description=_text_of(element, "Description"),
                parent=_text_or_none(saved.get("parent", parent)) if saved else parent,
                family=_text_or_none(saved.get("family", family)) if saved else family,
                polarity=str(saved.get("polarity") or "neutral"),
            )
            codes.append(code)
            for child in _children(element, "Code"):
                if codable:
                    walk(child, key, family, depth + 1)
                else:  # a group: its name is the family of everything under it
                    walk(child, parent, family or name, depth + 1)

        for book in _children(self.root, "CodeBook"):
            for block in _children(book, "Codes"):
                for element in _children(block, "Code"):
                    walk(element, None, None, 1)
        return codes

    def _case_meta(self, variables: Mapping[str, str]) -> dict[str, dict[str, Any]]:
        """``source guid -> attributes`` from the cases that refer to the source."""
        result: dict[str, dict[str, Any]] = {}
        for block in _children(self.root, "Cases"):
            for case in _children(block, "Case"):
                values = {"participant_id": (case.get("name") or "").strip()}
                values.update(_variable_values(case, variables, self.archive.project_name))
                for ref in _children(case, "SourceRef"):
                    result.setdefault(_guid_of(ref.get("targetGUID")), {}).update(values)
        return result

    def _transcript(self, source: Any, notes: Mapping[str, _Note],
                    variables: Mapping[str, str], case_meta: Mapping[str, dict[str, Any]],
                    used_ids: set[str]) -> Transcript | None:
        source_guid = _guid_of(source.get("guid"))
        name = (source.get("name") or source_guid).strip()
        text = self._source_text(source, name)
        if text is None:
            return None
        transcript_id = _SOURCE_SUFFIX.sub("", name) or source_guid
        number = 2
        base = transcript_id
        while transcript_id in used_ids:
            transcript_id = f"{base}-{number}"
            number += 1
        used_ids.add(transcript_id)
        meta = {**case_meta.get(source_guid, {}),
                **_variable_values(source, variables, self.archive.project_name)}
        saved = self._reltext_note(notes, _children(source, "NoteRef"), TURNS_NOTE)
        turns = _saved_turns(saved.get("turns"), text)
        if saved and turns is None:
            self.dropped.append(f"the saved turns of source {name!r}, which no longer fit its "
                                "text (it was re-cut into turns)")
        try:
            return source_transcript(transcript_id, text, source=str(self.path), meta=meta,
                                     turns=turns)
        except TranscriptFormatError:
            self.dropped.append(f"source {name!r}, which holds no text")
            return None

    def _source_text(self, source: Any, name: str) -> str | None:
        location = (source.get("plainTextPath") or "").strip()
        if not location:
            content = _child(source, "PlainTextContent")
            if content is not None:
                return content.text or ""
            self.dropped.append(f"source {name!r}, which has no plain-text copy")
            return None
        scheme, _, rest = location.partition("://")
        scheme = scheme.lower()
        where = self.archive.project_name
        if scheme == "internal":
            data = self.archive.internal(rest, location, name)
        elif scheme in ("relative", "absolute", "file"):
            if self.external_sources is None:
                raise refuse_external(location, source=name, path=where)
            data = external_file(location, scheme, rest, self.external_sources, source=name,
                                 path=where)
        else:
            raise ReltextError(f"source {name!r} has a plainTextPath {location!r} of an unknown "
                               "kind", path=where,
                               fix="Use internal://, relative:// or absolute:// paths.")
        if data.startswith(b"\xef\xbb\xbf"):  # QualCoder writes utf-8-sig; offsets skip it
            data = data[3:]
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as error:
            raise ReltextError(
                f"source {name!r} ({location}) is not UTF-8 text (byte {error.start})",
                path=where,
                fix="REFI-QDA text sources must be UTF-8; export the project again.",
            ) from error

    def _codings(self, source: Any, transcript: Transcript, users: Mapping[str, str],
                 notes: Mapping[str, _Note],
                 code_keys: Mapping[str, str]) -> list[Coding]:
        result: list[Coding] = []
        outside = 0
        length = len(transcript.text)
        for selection in _children(source, "PlainTextSelection"):
            try:
                start = int(selection.get("startPosition"))
                end = int(selection.get("endPosition"))
            except (TypeError, ValueError):
                self.dropped.append(f"a selection of {transcript.transcript_id!r} without "
                                    "numeric positions")
                continue
            start, end = max(0, min(start, end)), min(length, max(start, end))
            extra = self._coding_notes(selection, notes)
            for coding in _children(selection, "Coding"):
                ref = _child(coding, "CodeRef")
                code = code_keys.get(_guid_of(ref.get("targetGUID") if ref is not None else ""))
                if code is None:
                    self.dropped.append(f"a coding in {transcript.transcript_id!r} whose code is "
                                        "not in the codebook")
                    continue
                user = users.get(_guid_of(coding.get("creatingUser") or
                                          selection.get("creatingUser")), "") or "unknown"
                coder = user if _is_reltext_coder(user) else f"human:{user}"
                origin = extra.get("origin")
                pieces = _split_over_turns(transcript.turns, start, end)
                if not pieces:
                    outside += 1
                for turn, turn_start, turn_end in pieces:
                    result.append(Coding(
                        coding_id=_guid_of(coding.get("guid")),
                        transcript_id=transcript.transcript_id, turn_id=turn.turn_id,
                        code=code, start_char=turn_start, end_char=turn_end, coder=coder,
                        origin=Origin(origin) if origin in _ORIGINS else _ORIGIN_OF_PREFIX.get(coder.partition(":")[0], Origin.HUMAN),
                        created_at=datetime.fromisoformat(utc_timestamp(
                            coding.get("creationDateTime") or selection.get("creationDateTime"))),
                        confidence=_float_or_none(extra.get("confidence")),
                        evidence=extra.get("evidence"),
                    ))
        if outside:
            self.dropped.append(f"{outside} coding(s) of {transcript.transcript_id!r} outside "
                                "every turn (on speaker labels or the preamble)")
        return result

    def _coding_notes(self, selection: Any, notes: Mapping[str, _Note]) -> dict[str, str]:
        extra = {}
        for ref in _children(selection, "NoteRef"):
            name, content, _ = notes.get(_guid_of(ref.get("targetGUID")), _NO_NOTE)
            what = name.removeprefix(NOTE_PREFIX)
            if name.startswith(NOTE_PREFIX) and what in CODING_NOTES:
                extra[what] = content
                # Review decisions are the project's own; they are not imported.
                self.notes_used += what != "review"
        return extra


def _variable_values(element: Any, variables: Mapping[str, str], where: str) -> dict[str, Any]:
    """The variable values an element holds, by variable name.

    Raises:
        ReltextError: an integer or float value is not a number.
    """
    values: dict[str, Any] = {}
    for item in _children(element, "VariableValue"):
        ref = _child(item, "VariableRef")
        name = variables.get(_guid_of(ref.get("targetGUID") if ref is not None else ""))
        if not name:
            continue
        for child in item:
            kind = _local(child)
            raw = (child.text or "").strip()
            if kind == "TextValue":
                values[name] = child.text or ""
            elif kind == "BooleanValue":
                values[name] = raw.lower() in ("true", "1")
            elif kind in ("IntegerValue", "FloatValue") and raw:
                values[name] = _number(raw, kind, name, child.sourceline, where)
            elif kind in ("DateValue", "DateTimeValue"):
                values[name] = raw
    return values


def _number(raw: str, kind: str, variable: str, line: int | None, where: str) -> int | float:
    try:
        value = int(raw) if kind == "IntegerValue" else float(raw)
    except ValueError:
        value = None
    if value is None or value != value or value in (float("inf"), float("-inf")):
        raise ReltextError(
            f"line {line}: the <{kind}> of variable {variable!r} is {raw[:40]!r}, not a "
            f"{'whole number' if kind == 'IntegerValue' else 'number'}", path=where,
            fix="Correct the value in the QDA program and export the project again.")
    return value


def _saved_turns(saved: Any, text: str) -> list[Turn] | None:
    """The turns reltext saved with a source, if they still fit its text."""
    if not isinstance(saved, list) or not saved:
        return None
    turns = []
    previous_end = 0
    for index, item in enumerate(saved):
        try:
            turn_id, speaker, role, start, end, timestamp, end_timestamp, meta = item
        except (TypeError, ValueError):
            return None
        if not (isinstance(start, int) and isinstance(end, int)
                and previous_end <= start <= end <= len(text)):
            return None
        previous_end = end
        turns.append(Turn(turn_id=str(turn_id), index=index, speaker=str(speaker),
                          text=text[start:end], start_char=start, end_char=end, role=str(role),
                          timestamp=_text_or_none(timestamp),
                          end_timestamp=_text_or_none(end_timestamp),
                          meta=meta if isinstance(meta, dict) else {}))
    return turns


def _split_over_turns(turns: Sequence[Turn], start: int, end: int) -> list[tuple[Turn, int, int]]:
    """The part of ``[start, end)`` in each turn it touches, as offsets into the turn."""
    pieces = []
    for turn in turns:
        low, high = max(start, turn.start_char), min(end, turn.end_char)
        if low < high or (start == end and turn.start_char <= start <= turn.end_char):
            pieces.append((turn, low - turn.start_char, high - turn.start_char))
    return pieces


def _text_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def _is_reltext_coder(name: str) -> bool:
    prefix, sep, rest = name.partition(":")
    return bool(sep and rest) and prefix in _ORIGIN_OF_PREFIX


def _float_or_none(value: str | None) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except ValueError:
        return None



def store_codebook_and_codings(store: Any, conn: Any, project: QdpxProject,
                               transcript_ids: Mapping[str, str]) -> dict[str, int]:
    """Store the codes and codings of ``project`` inside the caller's transaction.

    ``transcript_ids`` maps each transcript id of the project to the id it was stored
    under. Each coder's codings on these turns replace what that coder had there before,
    so importing the same project twice changes nothing.

    Returns:
        ``{"codes": ..., "codings": ..., "coders": ...}`` counts.
    """
    counts = {"codes": 0, "codings": 0, "coders": 0}
    if project.codes:
        rows = [{"key": c.key, "name": c.name, "parent": c.parent, "family": c.family,
                 "polarity": c.polarity, "colour": c.colour, "definition": c.description}
                for c in project.codes if c.codable]
        content = json.dumps(rows, ensure_ascii=False, sort_keys=True)
        store.add_codebook(conn, name=project.codebook_name, version=project.codebook_version,
                           content_hash=hashlib.sha256(content.encode("utf-8")).hexdigest(),
                           source=project.path, content=content, codes=rows)
        counts["codes"] = len(rows)
    turns = store.turn_keys(conn)
    by_coder: dict[str, list[dict[str, Any]]] = {}
    touched: dict[str, set[str]] = {}
    for coding in project.codings:
        transcript_id = transcript_ids.get(coding.transcript_id, coding.transcript_id)
        turn_pk = turns[(transcript_id, coding.turn_id)][0]
        by_coder.setdefault(coding.coder, []).append({
            "coding_id": uuid.uuid5(RELTEXT_NS, f"import:{coding.coding_id}:{turn_pk}").hex,
            "turn_pk": turn_pk, "code": coding.code, "start_char": coding.start_char,
            "end_char": coding.end_char, "confidence": coding.confidence,
            "coder": coding.coder, "origin": coding.origin.value, "evidence": coding.evidence,
            "created_at": coding.created_at.isoformat(),
        })
        touched.setdefault(coding.coder, set()).add(transcript_id)
    for coder, codings in by_coder.items():
        # A coder who coded in a source has been through it: its other turns are coded too.
        turn_pks = [pk for (tid, _), (pk, _) in turns.items() if tid in touched[coder]]
        store.delete_codings_by(conn, coder=coder, turn_pks=turn_pks)
        store.add_codings(conn, codings)
        store.mark_coded(conn, turn_pks, coder=coder)
        counts["codings"] += len(codings)
    counts["coders"] = len(by_coder)
    return counts
