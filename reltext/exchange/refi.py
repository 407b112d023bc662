"""REFI-QDA projects out: the ``.qdpx`` export, and the format both directions share.

A ``.qdpx`` is a ZIP holding ``project.qde`` (XML in the ``urn:QDA-XML:project:1.0``
namespace, valid against ``data/Project.xsd``) and a flat ``sources/`` folder. Text
selections are Unicode code-point offsets into the source's plain text, end exclusive, which
are exactly Python ``str`` offsets. Writing is strict: the export is validated against the
schema before it is moved into place.

Round trips are exact because reltext adds, as notes, what REFI-QDA has no place for: the
turns of each source, the codebook's keys and polarities, and each coding's origin,
confidence and evidence. Other tools show these as ordinary memos; the reader
(:mod:`reltext.corpus.readers.refi`) takes them back.

Example:
    >>> write_qdpx(store, "study.qdpx", accepted_only=True)
"""

from __future__ import annotations

import json
import re
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from lxml import etree

from ..errors import ReltextError
from ..files import atomic_path, check_folder
from .guids import code_guid, guid

NAMESPACE = "urn:QDA-XML:project:1.0"
TOOL_USER = "reltext"
TURNS_NOTE = "reltext: turns"
CODEBOOK_NOTE = "reltext: codebook"
CODING_NOTES = ("origin", "confidence", "evidence", "review")
NOTE_PREFIX = "reltext: "
RGB_COLOUR = re.compile(r"#(?:[0-9A-Fa-f]{6}|[0-9A-Fa-f]{3})")


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
        store: The project's :class:`~reltext.store.database.Store`.
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
                        creationDateTime=utc_timestamp(at))
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
                    creatingUserGUID=user_guid(TOOL_USER), creationDateTime=utc_timestamp(now))
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
                      creationDateTime=utc_timestamp(transcript["ingested_at"]))
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
        if code.get("colour") and RGB_COLOUR.fullmatch(code["colour"]):
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
    at = utc_timestamp(coding["created_at"])
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
            note = notes.add(f"{key}:{what}", NOTE_PREFIX + what, str(values[what]),
                             user=coder, at=coding["created_at"])
            _sub(selection, "NoteRef", targetGUID=note)
    if decision is not None:
        words = f"{decision['verdict']} by {decision['reviewer']} on {decision['decided_at']}"
        if decision["verdict"] == "correct":
            words += (f" (to {decision['code'] or coding['code']} "
                      f"[{decision['start_char']}:{decision['end_char']}])")
        if decision.get("note"):
            words += f": {decision['note']}"
        note = notes.add(f"{key}:review:{decision['decision_id']}", NOTE_PREFIX + "review",
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


def utc_timestamp(value: str | None) -> str:
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


def _element(tag: str, **attributes: str) -> Any:
    return etree.Element(f"{{{NAMESPACE}}}{tag}", nsmap={None: NAMESPACE}, **attributes)


def _sub(parent: Any, tag: str, **attributes: str) -> Any:
    return etree.SubElement(parent, f"{{{NAMESPACE}}}{tag}", **attributes)
