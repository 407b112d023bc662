"""REFI-QDA project exchange: ``.qdpx``/``.qde`` projects in and out.

A ``.qdpx`` is a ZIP holding ``project.qde`` (XML in the ``urn:QDA-XML:project:1.0``
namespace, valid against ``data/Project.xsd``) and a flat ``sources/`` folder. Text
selections are Unicode code-point offsets into the source's plain text, end exclusive, which
are exactly Python ``str`` offsets.

Reading is tolerant of what NVivo, ATLAS.ti, MAXQDA and QualCoder write (``Sources/``, a
``.qde`` with another name, byte-order marks, CRLF, braced GUIDs) and says what it dropped.
Writing is strict: the export is validated against the schema before it is moved into place.

Round trips are exact because reltext adds, as notes, what REFI-QDA has no place for: the
turns of each source, the codebook's keys and polarities, and each coding's origin,
confidence and evidence. Other tools show these as ordinary memos.

Example:
    >>> write_qdpx(store, "study.qdpx", accepted_only=True)
    >>> project = read_qdpx("from-nvivo.qdpx")
    >>> len(project.transcripts), len(project.codings)
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from functools import lru_cache
from importlib import resources
from pathlib import Path, PurePosixPath
from typing import Any, NamedTuple

from lxml import etree

from .errors import ReltextError, TranscriptFormatError
from .files import atomic_path, check_folder
from .guids import RELTEXT_NS, code_guid, guid
from .model import Origin, Transcript, Turn
from .readers.archive import (external_file, read_file, read_member, refuse_external,
                              safe_name)
from .readers.characters import has_unsafe_characters
from .readers.qdpx import source_transcript

NAMESPACE = "urn:QDA-XML:project:1.0"
TOOL_USER = "reltext"
TURNS_NOTE = "reltext: turns"
CODEBOOK_NOTE = "reltext: codebook"
CODING_NOTES = ("origin", "confidence", "evidence", "review")
_NOTE_PREFIX = "reltext: "
_ORIGIN_OF_PREFIX = {"rules": Origin.RULE, "learned": Origin.CLASSIFIER,
                     "topics": Origin.TOPIC, "human": Origin.HUMAN}
_ORIGINS = {origin.value for origin in Origin}
_RGB = re.compile(r"#(?:[0-9A-Fa-f]{6}|[0-9A-Fa-f]{3})")
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
class QdaCoding:
    """A code applied to a selection, mapped onto one turn of a transcript."""

    coding_guid: str
    transcript_id: str
    turn_id: str
    code: str
    start_char: int  # into the turn's text
    end_char: int
    coder: str
    origin: Origin
    created_at: str
    confidence: float | None = None
    evidence: str | None = None


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
    codings: tuple[QdaCoding, ...]
    codebook_name: str
    codebook_version: str
    dropped: tuple[str, ...] = field(default_factory=tuple)


def read_qdpx(path: str | Path, *, external_sources: str | Path | None = None) -> QdpxProject:
    """Read a ``.qdpx`` archive or a bare ``.qde`` file (sources in a folder beside it).

    Only the project's own files are read: the archive's members (within size and
    compression limits) or, for a bare ``.qde``, its ``sources/`` folder. See
    :mod:`reltext.readers.archive`.

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
                colour=colour if colour and _RGB.fullmatch(colour) else None,
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
                 code_keys: Mapping[str, str]) -> list[QdaCoding]:
        result: list[QdaCoding] = []
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
                    result.append(QdaCoding(
                        coding_guid=_guid_of(coding.get("guid")),
                        transcript_id=transcript.transcript_id, turn_id=turn.turn_id,
                        code=code, start_char=turn_start, end_char=turn_end, coder=coder,
                        origin=Origin(origin) if origin in _ORIGINS else _ORIGIN_OF_PREFIX.get(coder.partition(":")[0], Origin.HUMAN),
                        created_at=_iso(coding.get("creationDateTime")
                                        or selection.get("creationDateTime")),
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
            what = name.removeprefix(_NOTE_PREFIX)
            if name.startswith(_NOTE_PREFIX) and what in CODING_NOTES:
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


def _iso(value: str | None) -> str:
    """A stored timestamp: ISO-8601 in UTC to the second; now when the project gives none."""
    if value:
        try:
            moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            moment = None
        if moment is not None:
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=timezone.utc)
            return moment.astimezone(timezone.utc).replace(microsecond=0).isoformat()
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


# -- storing an imported project ------------------------------------------------------------


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
            "coding_id": uuid.uuid5(RELTEXT_NS, f"import:{coding.coding_guid}:{turn_pk}").hex,
            "turn_pk": turn_pk, "code": coding.code, "start_char": coding.start_char,
            "end_char": coding.end_char, "confidence": coding.confidence,
            "coder": coding.coder, "origin": coding.origin.value, "evidence": coding.evidence,
            "created_at": coding.created_at,
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


# -- writing a project ----------------------------------------------------------------------


@lru_cache(maxsize=1)
def project_schema() -> etree.XMLSchema:
    """The REFI-QDA project schema (``Project.xsd``) shipped with reltext."""
    source = resources.files("reltext") / "data" / "Project.xsd"
    return etree.XMLSchema(etree.fromstring(source.read_bytes()))


def schema_errors(xml: bytes) -> list[str]:
    """What makes ``xml`` invalid against the project schema, one line each; empty if valid."""
    schema = project_schema()
    if schema.validate(etree.fromstring(xml)):
        return []
    return [f"line {e.line}: {e.message}" for e in schema.error_log]


@dataclass(frozen=True, slots=True)
class ExportSummary:
    path: Path
    sources: int
    codes: int
    codings: int
    users: int
    cases: int


def write_qdpx(
    store: Any,
    out: str | Path,
    *,
    accepted_only: bool = False,
    coders: Sequence[str] | None = None,
    transcript_ids: Sequence[str] | None = None,
    project_name: str | None = None,
) -> ExportSummary:
    """Write the project (or a part of it) as a REFI-QDA ``.qdpx``, atomically.

    Args:
        store: The project's :class:`~reltext.store.Store`.
        out: The file to write.
        accepted_only: Only codings whose latest review decision accepts (or corrects)
            them; a corrected coding is written as corrected.
        coders: Only these coders' codings (all when None).
        transcript_ids: Only these transcripts (all current ones when None).
        project_name: The project's name in the file (the database's name when None).

    Raises:
        ReltextError: a named transcript is not in the project, or the folder is missing.
    """
    out = Path(out)
    check_folder(out)
    with store.read() as conn:
        transcripts = store.current_transcripts(conn, transcript_ids=transcript_ids)
        if transcript_ids is not None:
            missing = sorted(set(transcript_ids) - {t["transcript_id"] for t in transcripts})
            if missing:
                raise ReltextError(f"no transcript {missing[0]!r} in the project",
                                   path=store.path,
                                   fix="List the transcripts with 'reltext transcripts'.")
        ids = [t["transcript_id"] for t in transcripts]
        turns: dict[str, list[dict[str, Any]]] = {}
        for turn in store.iter_turns(conn, transcript_ids=ids):
            turns.setdefault(turn["transcript_id"], []).append(turn)
        codings = list(store.iter_codings(conn, transcript_ids=ids))
        decisions = store.latest_decisions(conn)
        codes = store.latest_codes(conn)
    if coders is not None:
        codings = [c for c in codings if c["coder"] in set(coders)]
    if accepted_only:
        codings = [_corrected(c, decisions[c["coding_pk"]]) for c in codings
                   if decisions.get(c["coding_pk"], {}).get("verdict") in ("accept", "correct")]
    xml, sources, summary = _build(
        project_name or store.path.stem, transcripts, turns, codings, decisions, codes)
    errors = schema_errors(xml)
    if errors:  # reltext's own fault, never the user's: refuse to write an invalid file
        raise RuntimeError(f"the REFI-QDA export does not validate: {errors[0]}")
    with atomic_path(out) as temporary:
        with zipfile.ZipFile(temporary, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("project.qde", xml)
            for name, text in sources:
                archive.writestr(f"sources/{name}", text.encode("utf-8"))
    return ExportSummary(out, **summary)


def _corrected(coding: dict[str, Any], decision: Mapping[str, Any]) -> dict[str, Any]:
    if decision["verdict"] != "correct":
        return coding
    corrected = dict(coding)
    for column in ("code", "start_char", "end_char"):
        if decision.get(column) is not None:
            corrected[column] = decision[column]
    return corrected


class _Notes:
    """The project's ``<Notes>``, each made once and referred to by GUID."""

    def __init__(self, user_guid: Callable[[str], str]) -> None:
        self.elements: list[Any] = []
        self.user_guid = user_guid

    def add(self, key: str, name: str, content: str, *, user: str, at: str | None) -> str:
        note_guid = guid("note", key)
        note = _element("Note", guid=note_guid, name=name, creatingUser=self.user_guid(user),
                        creationDateTime=_xml_time(at))
        _sub(note, "PlainTextContent").text = content
        self.elements.append(note)
        return note_guid


def _build(
    name: str,
    transcripts: Sequence[dict[str, Any]],
    turns: Mapping[str, list[dict[str, Any]]],
    codings: Sequence[dict[str, Any]],
    decisions: Mapping[int, Mapping[str, Any]],
    codes: Sequence[dict[str, Any]],
) -> tuple[bytes, list[tuple[str, str]], dict[str, int]]:
    users: dict[str, str] = {}

    def user_guid(user: str) -> str:
        return users.setdefault(user, guid("user", user))

    user_guid(TOOL_USER)
    notes = _Notes(user_guid)
    now = datetime.now(timezone.utc).replace(microsecond=0).isoformat()
    root = _element("Project", name=name, origin="reltext",
                    creatingUserGUID=user_guid(TOOL_USER), creationDateTime=_xml_time(now))
    users_element = _sub(root, "Users")

    # The codebook: project codes, then any code used by a coding that the codebook lacks.
    known = {code["key"] for code in codes}
    codebook_name = codes[0]["codebook"] if codes else ""
    codes = [*codes, *({"key": key, "name": key, "parent": None, "family": None,
                        "polarity": "neutral", "colour": None, "definition": ""}
                       for key in sorted({c["code"] for c in codings} - known))]
    # A code's GUID is the one `reltext codebook export-qdc` gives it.
    guid_of_code = {code["key"]: code_guid(codebook_name, code["key"]) for code in codes}
    if codes:
        codes_element = _sub(_sub(root, "CodeBook"), "Codes")
        _code_tree(codes_element, codes, guid_of_code, codebook_name)

    # Variables: every transcript attribute, typed by the values it takes.
    attributes: dict[str, list[Any]] = {}
    for transcript in transcripts:
        for key, value in transcript["meta"].items():
            if value is not None:
                attributes.setdefault(key, []).append(value)
    variable_types = {key: _variable_type(values) for key, values in attributes.items()}
    variable_guid = {key: guid("variable", key) for key in attributes}
    if attributes:
        variables_element = _sub(root, "Variables")
        for key in attributes:
            _sub(variables_element, "Variable", guid=variable_guid[key], name=key,
                 typeOfVariable=variable_types[key])

    # Cases: one per participant, with the attributes all its transcripts share.
    participants: dict[str, list[dict[str, Any]]] = {}
    for transcript in transcripts:
        participant = transcript["meta"].get("participant_id")
        if participant not in (None, ""):
            participants.setdefault(str(participant), []).append(transcript)
    if participants:
        cases_element = _sub(root, "Cases")
        for participant, members in participants.items():
            case = _sub(cases_element, "Case", guid=guid("case", participant), name=participant)
            shared = {key: value for key, value in members[0]["meta"].items()
                      if value is not None and key != "participant_id"
                      and all(m["meta"].get(key) == value for m in members)}
            for key, value in shared.items():
                _variable_value(case, variable_guid[key], variable_types[key], value)
            for member in members:
                _sub(case, "SourceRef", targetGUID=guid("source", member["transcript_id"]))

    # Sources, each with its selections, codings and notes.
    by_transcript: dict[str, list[dict[str, Any]]] = {}
    for coding in codings:
        by_transcript.setdefault(coding["transcript_id"], []).append(coding)
    sources_element = _sub(root, "Sources") if transcripts else None
    files = []
    for transcript in transcripts:
        transcript_id = transcript["transcript_id"]
        source_guid = guid("source", transcript_id)
        source = _sub(sources_element, "TextSource", guid=source_guid, name=transcript_id,
                      plainTextPath=f"internal://{source_guid}.txt",
                      creatingUser=user_guid(TOOL_USER),
                      creationDateTime=_xml_time(transcript["ingested_at"]))
        files.append((f"{source_guid}.txt", transcript["text"]))
        turn_rows = turns.get(transcript_id, [])
        turn_start = {(t["turn_id"]): t["start_char"] for t in turn_rows}
        for coding in by_transcript.get(transcript_id, []):
            _selection(source, coding, turn_start[coding["turn_id"]], transcript["text"],
                       guid_of_code, user_guid, notes, decisions.get(coding["coding_pk"]))
        saved = [[t["turn_id"], t["speaker"], t["role"], t["start_char"], t["end_char"],
                  t["timestamp"], t["end_timestamp"], t["turn_meta"]] for t in turn_rows]
        turns_note = notes.add(
            f"turns:{transcript_id}", TURNS_NOTE,
            json.dumps({"format": transcript["format"], "turns": saved}, ensure_ascii=False),
            user=TOOL_USER, at=transcript["ingested_at"])
        _sub(source, "NoteRef", targetGUID=turns_note)
        for key, value in transcript["meta"].items():
            if value is not None:
                _variable_value(source, variable_guid[key], variable_types[key], value)

    codebook = {"name": codes[0].get("codebook") if codes else None,
                "version": codes[0].get("codebook_version") if codes else None,
                "codes": {guid_of_code[c["key"]]: {k: c.get(k) for k in
                                                ("key", "name", "polarity", "parent", "family")}
                          for c in codes}}
    codebook_note = notes.add("codebook", CODEBOOK_NOTE,
                              json.dumps(codebook, ensure_ascii=False, sort_keys=True),
                              user=TOOL_USER, at=now) if codes else None
    if notes.elements:
        _sub(root, "Notes").extend(notes.elements)
    if codebook_note:
        _sub(root, "NoteRef", targetGUID=codebook_note)
    for user, user_id in users.items():
        _sub(users_element, "User", guid=user_id, name=user, id=user)
    xml = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    summary = {"sources": len(transcripts), "codes": len(codes), "codings": len(codings),
               "users": len(users), "cases": len(participants)}
    return xml, files, summary


def _code_tree(parent_element: Any, codes: Sequence[dict[str, Any]],
               guid_of_code: Mapping[str, str], codebook_name: str) -> None:
    """Families become groups that cannot be coded; a code's parent code holds it."""
    children: dict[str | None, list[dict[str, Any]]] = {}
    keys = {code["key"] for code in codes}
    families: dict[str, Any] = {}
    for code in codes:
        parent = code.get("parent") if code.get("parent") in keys else None
        children.setdefault(parent, []).append(code)

    def add(container: Any, code: dict[str, Any]) -> None:
        attributes = {"guid": guid_of_code[code["key"]], "name": code.get("name") or code["key"],
                      "isCodable": "true"}
        if code.get("colour") and _RGB.fullmatch(code["colour"]):
            attributes["color"] = code["colour"]
        element = _sub(container, "Code", **attributes)
        if code.get("definition"):
            _sub(element, "Description").text = code["definition"]
        for child in children.get(code["key"], []):
            add(element, child)

    for code in children.get(None, []):
        family = code.get("family")
        container = parent_element
        if family:
            if family not in families:
                families[family] = _sub(parent_element, "Code",
                                        guid=code_guid(codebook_name, f"family:{family}"),
                                        name=family, isCodable="false")
            container = families[family]
        add(container, code)


def _selection(source: Any, coding: Mapping[str, Any], turn_start: int, text: str,
               guid_of_code: Mapping[str, str], user_guid: Callable[[str], str], notes: _Notes,
               decision: Mapping[str, Any] | None) -> None:
    start = turn_start + coding["start_char"]
    end = turn_start + coding["end_char"]
    coder = coding["coder"]
    key = coding["coding_id"]
    at = _xml_time(coding["created_at"])
    covered = text[start:end]
    selection = _sub(source, "PlainTextSelection", guid=guid("selection", key),
                     name=covered if len(covered) <= 80 else covered[:79] + "…",
                     startPosition=str(start), endPosition=str(end),
                     creatingUser=user_guid(coder), creationDateTime=at)
    coding_element = _sub(selection, "Coding", guid=guid("coding", key),
                          creatingUser=user_guid(coder), creationDateTime=at)
    _sub(coding_element, "CodeRef", targetGUID=guid_of_code[coding["code"]])
    values = {"origin": coding["origin"], "confidence": coding["confidence"],
              "evidence": coding["evidence"]}
    for what in ("origin", "confidence", "evidence"):
        if values[what] is not None:
            note = notes.add(f"{key}:{what}", _NOTE_PREFIX + what, str(values[what]),
                             user=coder, at=coding["created_at"])
            _sub(selection, "NoteRef", targetGUID=note)
    if decision is not None:
        words = f"{decision['verdict']} by {decision['reviewer']} on {decision['decided_at']}"
        if decision["verdict"] == "correct":
            words += (f" (to {decision['code'] or coding['code']} "
                      f"[{decision['start_char']}:{decision['end_char']}])")
        if decision.get("note"):
            words += f": {decision['note']}"
        note = notes.add(f"{key}:review:{decision['decision_id']}", _NOTE_PREFIX + "review",
                         words, user=decision["reviewer"], at=decision["decided_at"])
        _sub(selection, "NoteRef", targetGUID=note)


def _variable_type(values: Sequence[Any]) -> str:
    if all(isinstance(v, bool) for v in values):
        return "Boolean"
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return "Integer"
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return "Float"
    return "Text"


def _variable_value(parent: Any, variable_guid: str, kind: str, value: Any) -> None:
    item = _sub(parent, "VariableValue")
    _sub(item, "VariableRef", targetGUID=variable_guid)
    if kind == "Boolean":
        _sub(item, "BooleanValue").text = "true" if value else "false"
    elif kind == "Integer":
        _sub(item, "IntegerValue").text = str(value)
    elif kind == "Float":
        _sub(item, "FloatValue").text = format(Decimal(repr(float(value))), "f")
    else:
        _sub(item, "TextValue").text = value if isinstance(value, str) else json.dumps(
            value, ensure_ascii=False, default=str)


def _xml_time(value: str | None) -> str:
    return _iso(value)


def _element(tag: str, **attributes: str) -> Any:
    return etree.Element(f"{{{NAMESPACE}}}{tag}", nsmap={None: NAMESPACE}, **attributes)


def _sub(parent: Any, tag: str, **attributes: str) -> Any:
    return etree.SubElement(parent, f"{{{NAMESPACE}}}{tag}", **attributes)
