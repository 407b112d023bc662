"""Manifests: who each transcript is with, in which role, wave and site.

A manifest is YAML or CSV. YAML::

    speakers:                 # corpus-wide speaker label -> role
      Interviewer: interviewer
    transcripts:
      p01_wave1:
        participant_id: P01
        role: STR worker
        wave: 1
        site: North
        speakers: {Dee: STR worker}

CSV has a ``transcript`` (or ``transcript_id`` or ``file``) column, then any attribute
columns; a ``speakers`` column holds ``Label=role;Label=role``.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..errors import ManifestError
from ..files import read_input
from .readers.encoding import decode_text

KEY_COLUMNS = ("transcript", "transcript_id", "file")


@dataclass(frozen=True, slots=True)
class Manifest:
    """Attributes and speaker roles per transcript, plus corpus-wide speaker roles."""

    path: str = ""
    speakers: dict[str, str] = field(default_factory=dict)
    transcripts: dict[str, dict[str, Any]] = field(default_factory=dict)

    def entry_for(self, transcript_id: str, source: str = "") -> dict[str, Any] | None:
        """The entry for a transcript, by its id, its file's name or its file's stem."""
        for key in (transcript_id, Path(source).name, Path(source).stem):
            if key and key in self.transcripts:
                return self.transcripts[key]
        return None

    def attributes(self, transcript_id: str, source: str = "") -> dict[str, Any]:
        entry = self.entry_for(transcript_id, source) or {}
        return {key: value for key, value in entry.items() if key != "speakers"}

    def role_of(self, speaker: str, transcript_id: str, source: str = "") -> str | None:
        """The role of ``speaker`` in a transcript: its own map first, then the corpus map."""
        entry = self.entry_for(transcript_id, source) or {}
        for mapping in (entry.get("speakers") or {}, self.speakers):
            for label, role in mapping.items():
                if label.casefold() == speaker.casefold():
                    return role
        return None


def load_manifest(path: str | Path) -> Manifest:
    """Read a YAML (``.yaml``/``.yml``) or CSV manifest.

    Raises:
        ManifestError: the file is unreadable or malformed; the message names the place.
    """
    path = Path(path)
    data = read_input(path, "manifest", fix="Check the path given to --manifest.",
                      error=ManifestError)
    text = decode_text(data, path)
    if path.suffix.lower() in (".yaml", ".yml"):
        return _from_yaml(text, path)
    if path.suffix.lower() in (".csv", ".tsv"):
        return _from_csv(text, path, delimiter="\t" if path.suffix.lower() == ".tsv" else ",")
    raise ManifestError(f"unknown manifest type {path.suffix!r}", path=path,
                        fix="Give a .yaml or .csv manifest.")


def _from_yaml(text: str, path: Path) -> Manifest:
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as error:
        line = getattr(getattr(error, "problem_mark", None), "line", None)
        raise ManifestError(f"not valid YAML ({getattr(error, 'problem', error)})", path=path,
                            line=None if line is None else line + 1,
                            fix="Check the indentation and colons on that line.") from error
    if not isinstance(data, dict):
        raise ManifestError("the manifest must be a mapping with 'transcripts' and 'speakers'",
                            path=path, fix="See the manifest example in the README.")
    unknown = set(data) - {"speakers", "transcripts"}
    if unknown:
        raise ManifestError(f"unknown top-level key(s) {sorted(unknown)}", path=path,
                            fix="Use only 'speakers' and 'transcripts' at the top level.")
    speakers = _speaker_map(data.get("speakers") or {}, path, "speakers")
    raw = data.get("transcripts") or {}
    if isinstance(raw, list):
        entries = {}
        for index, item in enumerate(raw):
            key = next((item.get(k) for k in KEY_COLUMNS if isinstance(item, dict) and k in item),
                       None)
            if key is None:
                raise ManifestError(f"transcripts entry {index} has no 'transcript' key",
                                    path=path, fix="Name each entry's transcript.")
            entries[str(key)] = {k: v for k, v in item.items() if k not in KEY_COLUMNS}
        raw = entries
    if not isinstance(raw, dict):
        raise ManifestError("'transcripts' must map transcript ids to attributes", path=path,
                            fix="See the manifest example in the README.")
    transcripts = {}
    for key, entry in raw.items():
        entry = dict(entry or {})
        if "speakers" in entry:
            entry["speakers"] = _speaker_map(entry["speakers"] or {}, path,
                                             f"transcripts.{key}.speakers")
        transcripts[str(key)] = entry
    return Manifest(str(path), speakers, transcripts)


def _from_csv(text: str, path: Path, *, delimiter: str) -> Manifest:
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    fields = [name.strip() for name in (reader.fieldnames or [])]
    key_column = next((name for name in KEY_COLUMNS if name in fields), None)
    if key_column is None:
        raise ManifestError(
            f"the manifest has no 'transcript' column (its columns are {fields})",
            path=path, line=1, fix="Add a 'transcript' column naming each transcript.",
        )
    transcripts = {}
    for row in reader:
        row = {(k or "").strip(): (v or "").strip() for k, v in row.items()}
        key = row.pop(key_column)
        if not key:
            raise ManifestError("the 'transcript' column must be non-empty", path=path,
                                line=reader.line_num, fix="Fill it in or delete the row.")
        entry: dict[str, Any] = {k: v for k, v in row.items() if v != "" and k != "speakers"}
        if row.get("speakers"):
            pairs = {}
            for pair in row["speakers"].split(";"):
                label, sep, role = pair.partition("=")
                if not sep or not label.strip():
                    raise ManifestError(
                        f"bad speakers entry {pair!r}", path=path, line=reader.line_num,
                        fix="Write speakers as 'Label=role;Label=role'.",
                    )
                pairs[label.strip()] = role.strip()
            entry["speakers"] = pairs
        transcripts[key] = entry
    return Manifest(str(path), {}, transcripts)


def _speaker_map(value: Any, path: Path, where: str) -> dict[str, str]:
    if not isinstance(value, dict):
        raise ManifestError(f"'{where}' must map speaker labels to roles", path=path,
                            fix="Write it as 'Label: role' lines.")
    return {str(label): str(role) for label, role in value.items()}
