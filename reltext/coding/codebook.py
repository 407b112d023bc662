"""Codebooks: the codes, their meaning and the patterns that detect them.

A codebook is one YAML file. Loading it validates every part and fails with one line that
names the file, the code, the pattern and the fix. A codebook can also be written to and read
from a REFI-QDA ``.qdc`` file, so that one made in NVivo, ATLAS.ti, MAXQDA or QualCoder can be
brought in and given patterns.

Example:
    >>> codebook = load_codebook("codebooks/relational.yaml")
    >>> codebook.code("trust").flip_to
    'mistrust'
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from ..errors import CodebookError
from ..exchange.guids import code_guid

QDC_NS = "urn:QDA-XML:codebook:1.0"
DEFAULT_CODEBOOK = Path(__file__).resolve().parents[2] / "codebooks" / "relational.yaml"

POLARITIES = ("good", "evil", "neutral")
NEGATION_ACTIONS = ("drop", "flip", "keep")
QUESTION_ACTIONS = ("drop", "keep")
_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
_KEY = re.compile(r"^[a-z][a-z0-9_]*$")
# Token attributes that only a trained pipeline sets (spaCy E155 otherwise).
TRAINED_ATTRS = {"LEMMA": "lemmatizer", "POS": "tagger", "TAG": "tagger", "MORPH": "tagger",
                 "DEP": "parser"}

_TOP_REQUIRED = ("name", "version", "codes")
_TOP_OPTIONAL = ("description", "role_groups", "contexts")
_CODE_REQUIRED = ("key", "name", "family", "definition", "polarity", "colour")
_CODE_OPTIONAL = ("parent", "include", "exclude", "examples", "counter_examples", "phrases",
                  "token_patterns", "roles", "negation", "flip_to", "hypothetical",
                  "hypothetical_to", "question", "requires_context", "confidence")
_RULE_KEYS = ("roles", "question", "negation", "hypothetical", "confidence")


@dataclass(frozen=True, slots=True)
class Rule:
    """One detector of a code: a lemma phrase or a spaCy token pattern.

    ``rule_id`` (``trust/phrase/3``) is what a coding's evidence names. Settings left as
    ``None`` fall back to the code's own.
    """

    rule_id: str
    kind: str  # "phrase" | "pattern"
    index: int
    phrase: str | None = None
    pattern: tuple[Mapping[str, Any], ...] | None = None
    roles: tuple[str, ...] = ()
    question: str | None = None
    negation: str | None = None
    hypothetical: str | None = None
    confidence: float | None = None


@dataclass(frozen=True, slots=True)
class CodeDef:
    """One code of a codebook: its meaning (for people) and its detectors (for the coder)."""

    key: str
    name: str
    family: str
    definition: str
    polarity: str
    colour: str
    parent: str | None = None
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    examples: tuple[str, ...] = ()
    counter_examples: tuple[str, ...] = ()
    phrases: tuple[Rule, ...] = ()
    token_patterns: tuple[Rule, ...] = ()
    roles: tuple[str, ...] = ()
    negation: str = "drop"
    flip_to: str | None = None
    hypothetical: str = "keep"
    hypothetical_to: str | None = None
    question: str = "keep"
    requires_context: str | None = None
    confidence: float = 0.8

    @property
    def rules(self) -> tuple[Rule, ...]:
        return self.phrases + self.token_patterns


@dataclass(frozen=True, slots=True)
class Codebook:
    """A loaded, validated codebook. Build it with :func:`load_codebook`."""

    name: str
    version: str
    description: str
    codes: tuple[CodeDef, ...]
    path: str = ""
    sha256: str = ""
    role_groups: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    contexts: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(code.key for code in self.codes)

    @property
    def coder_id(self) -> str:
        """The name its rules coder records on codings: ``rules:relational@1.0``."""
        return f"rules:{self.name}@{self.version}"

    def code(self, key: str) -> CodeDef:
        for code in self.codes:
            if code.key == key:
                return code
        raise KeyError(key)

    def role_matches(self, wanted: Sequence[str], role: str) -> bool:
        """Whether a turn's free-text ``role`` is one of ``wanted`` (roles or role groups)."""
        if not wanted:
            return True
        role = normalise_role(role)
        if not role:
            return False
        for name in wanted:
            members = self.role_groups.get(name, (name,))
            if role == name or role in members:
                return True
        return False


def normalise_role(role: str) -> str:
    return " ".join(role.casefold().replace("_", " ").replace("-", " ").split())


# -- loading --------------------------------------------------------------------------------


def load_codebook(path: str | Path | None = None) -> Codebook:
    """Read and validate a YAML codebook.

    Args:
        path: The YAML file; the bundled relational codebook when None.

    Raises:
        CodebookError: the file is missing, is not YAML, or any part of it is invalid. The
            message names the file, the code and the pattern, and says how to fix it.
    """
    path = Path(path) if path is not None else DEFAULT_CODEBOOK
    if not path.is_file():
        raise CodebookError("the codebook file does not exist", path=path,
                            fix="Give the path of a codebook YAML file, e.g. "
                                "codebooks/relational.yaml.")
    return codebook_from_bytes(path.read_bytes(), path=path)


def codebook_from_bytes(raw: bytes, *, path: str | Path = "<codebook>") -> Codebook:
    """Validate a codebook from the bytes of its YAML file (``path`` names it in errors)."""
    try:
        data = yaml.safe_load(raw.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise CodebookError("the codebook is not UTF-8 text", path=path,
                            fix="Save the file as UTF-8.") from error
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        problem = getattr(error, "problem", None) or "invalid YAML"
        raise CodebookError(f"the codebook is not valid YAML ({problem})", path=path,
                            line=mark.line + 1 if mark is not None else None,
                            fix="Correct the YAML syntax there (indentation, quotes, colons)."
                            ) from error
    return parse_codebook(data, path=path, sha256=hashlib.sha256(raw).hexdigest())


def parse_codebook(data: Any, *, path: str | Path = "<codebook>", sha256: str = "") -> Codebook:
    """Validate a codebook given as the mapping its YAML file holds."""
    if not isinstance(data, dict):
        raise CodebookError("the codebook must be a mapping with name, version and codes",
                            path=path, fix="Start the file with 'name:', 'version:' and 'codes:'.")
    _check_keys(data, _TOP_REQUIRED, _TOP_OPTIONAL, path=path, what="the codebook")
    name = _text(data["name"], path=path, what="'name'")
    if not _KEY.match(name):
        raise CodebookError(f"the codebook name must be a lower-case identifier, got {name!r}",
                            path=path, fix="Use letters, digits and underscores, e.g. "
                                           "'relational'.")
    version = data["version"]
    if not isinstance(version, (str, int, float)) or isinstance(version, bool) or \
            not str(version).strip():
        raise CodebookError(f"'version' must be a string, got {version!r}", path=path,
                            fix='Quote it, e.g. version: "1.0".')
    role_groups = _role_groups(data.get("role_groups") or {}, path=path)
    contexts = _contexts(data.get("contexts") or {}, path=path)
    codes_data = data["codes"]
    if not isinstance(codes_data, list) or not codes_data:
        raise CodebookError("'codes' must be a non-empty list of codes", path=path,
                            fix="List each code under 'codes:' as '- key: ...'.")
    codes = []
    seen: set[str] = set()
    for index, code_data in enumerate(codes_data):
        code = _code(code_data, index, path=path, role_groups=role_groups, contexts=contexts)
        if code.key in seen:
            raise CodebookError("the key is used by two codes", path=path, code_key=code.key,
                                fix="Give each code its own key.")
        seen.add(code.key)
        codes.append(code)
    for code in codes:
        for attr in ("flip_to", "hypothetical_to", "parent"):
            target = getattr(code, attr)
            if target is not None and target not in seen and attr != "parent":
                raise CodebookError(f"'{attr}' names the code {target!r}, which is not in the "
                                    "codebook", path=path, code_key=code.key,
                                    fix=f"Use one of: {', '.join(sorted(seen))}.")
    _validate_token_patterns(codes, path=path)
    return Codebook(name=name, version=str(version),
                    description=str(data.get("description") or "").strip(),
                    codes=tuple(codes), path=str(path), sha256=sha256,
                    role_groups=MappingProxyType(role_groups),
                    contexts=MappingProxyType(contexts))


def _code(data: Any, index: int, *, path: str | Path, role_groups: dict[str, tuple[str, ...]],
          contexts: dict[str, tuple[str, ...]]) -> CodeDef:
    if not isinstance(data, dict):
        raise CodebookError(f"code number {index + 1} must be a mapping, got {data!r}",
                            path=path, fix="Write each code as '- key: ...' with its fields.")
    key = data.get("key")
    if not isinstance(key, str) or not _KEY.match(key):
        raise CodebookError(f"code number {index + 1} has no valid 'key' (got {key!r})",
                            path=path, fix="Give it a lower-case key such as 'trust'.")
    _check_keys(data, _CODE_REQUIRED, _CODE_OPTIONAL, path=path, what="the code", code_key=key)

    def fail(message: str, fix: str, pattern_index: int | None = None) -> CodebookError:
        return CodebookError(message, path=path, code_key=key, pattern_index=pattern_index,
                             fix=fix)

    polarity = data["polarity"]
    if polarity not in POLARITIES:
        raise fail(f"'polarity' must be one of {', '.join(POLARITIES)}, got {polarity!r}",
                   "Use 'good' for a relational good, 'evil' for an evil, else 'neutral'.")
    colour = data["colour"]
    if not isinstance(colour, str) or not _COLOUR.match(colour):
        raise fail(f"'colour' must be a hex colour like '#2e8b57', got {colour!r}",
                   "Write six hex digits after '#', quoted.")
    negation = data.get("negation", "drop")
    hypothetical = data.get("hypothetical", "keep")
    question = data.get("question", "keep")
    _choice(negation, NEGATION_ACTIONS, "negation", fail)
    _choice(hypothetical, NEGATION_ACTIONS, "hypothetical", fail)
    _choice(question, QUESTION_ACTIONS, "question", fail)
    flip_to = data.get("flip_to")
    if negation == "flip" and not flip_to:
        raise fail("'negation' is 'flip' but no 'flip_to' code is given",
                   "Add 'flip_to: <paired code>' or set 'negation: drop'.")
    hypothetical_to = data.get("hypothetical_to")
    if hypothetical == "flip" and not (hypothetical_to or flip_to):
        raise fail("'hypothetical' is 'flip' but no code to flip to is given",
                   "Add 'flip_to: <paired code>' or set 'hypothetical: drop'.")
    for attr in ("flip_to", "hypothetical_to", "parent", "requires_context"):
        if data.get(attr) is not None and not isinstance(data[attr], str):
            raise fail(f"'{attr}' must be a code key, got {data[attr]!r}", "Write one key.")
    requires_context = data.get("requires_context")
    if requires_context is not None and requires_context not in contexts:
        raise fail(f"'requires_context' names {requires_context!r}, which is not under "
                   "'contexts'", f"Use one of: {', '.join(sorted(contexts)) or '(none defined)'}.")
    confidence = _confidence(data.get("confidence", 0.8), fail, None)
    roles = _roles(data.get("roles"), role_groups, fail, None)
    phrases = tuple(_rule(item, i, "phrase", key, fail, role_groups)
                    for i, item in enumerate(_list(data.get("phrases"), "phrases", fail)))
    patterns = tuple(_rule(item, i, "pattern", key, fail, role_groups)
                     for i, item in enumerate(_list(data.get("token_patterns"),
                                                    "token_patterns", fail)))
    texts = {}
    for attr in ("include", "exclude", "examples", "counter_examples"):
        texts[attr] = tuple(_text(item, path=path, what=f"an item of '{attr}'", code_key=key)
                            for item in _list(data.get(attr), attr, fail))
    return CodeDef(
        key=key, name=_text(data["name"], path=path, what="'name'", code_key=key),
        family=_text(data["family"], path=path, what="'family'", code_key=key),
        definition=_text(data["definition"], path=path, what="'definition'", code_key=key),
        polarity=polarity, colour=colour.lower(), parent=data.get("parent"),
        phrases=phrases, token_patterns=patterns, roles=roles, negation=negation,
        flip_to=flip_to, hypothetical=hypothetical, hypothetical_to=hypothetical_to,
        question=question, requires_context=requires_context, confidence=confidence, **texts,
    )


def _rule(item: Any, index: int, kind: str, key: str, fail, role_groups) -> Rule:
    rule_id = f"{key}/{kind}/{index}"
    field_name = "phrase" if kind == "phrase" else "pattern"
    if kind == "phrase" and isinstance(item, str):
        item = {"phrase": item}
    if kind == "pattern" and isinstance(item, list):
        item = {"pattern": item}
    if not isinstance(item, dict) or field_name not in item:
        raise fail(f"each {kind} must be a {'string' if kind == 'phrase' else 'list of tokens'}"
                   f" or a mapping with '{field_name}', got {item!r}",
                   f"Write it as '- {field_name}: ...' with optional "
                   f"{', '.join(_RULE_KEYS)}.", index)
    unknown = sorted(set(item) - {field_name, *_RULE_KEYS})
    if unknown:
        raise fail(f"unknown field {unknown[0]!r} in a {kind}",
                   f"Use only {field_name}, {', '.join(_RULE_KEYS)}.", index)
    for attr, choices in (("question", QUESTION_ACTIONS), ("negation", NEGATION_ACTIONS),
                          ("hypothetical", NEGATION_ACTIONS)):
        if item.get(attr) is not None:
            _choice(item[attr], choices, attr, lambda m, f: fail(m, f, index))
    roles = _roles(item.get("roles"), role_groups, fail, index)
    confidence = (_confidence(item["confidence"], fail, index)
                  if item.get("confidence") is not None else None)
    common = dict(rule_id=rule_id, kind=kind, index=index, roles=roles,
                  question=item.get("question"), negation=item.get("negation"),
                  hypothetical=item.get("hypothetical"), confidence=confidence)
    if kind == "phrase":
        phrase = item["phrase"]
        if not isinstance(phrase, str) or not phrase.strip():
            raise fail(f"a phrase must be non-empty text, got {phrase!r}",
                       "Write the phrase in lemma form, e.g. 'rely on'.", index)
        return Rule(phrase=" ".join(phrase.split()), **common)
    pattern = item["pattern"]
    if not isinstance(pattern, list) or not pattern or \
            not all(isinstance(token, dict) for token in pattern):
        raise fail(f"a token pattern must be a non-empty list of token mappings, got {pattern!r}",
                   "Write it like [{LEMMA: trust}, {POS: PRON}] as in spaCy's Matcher.", index)
    return Rule(pattern=tuple(pattern), **common)


def _validate_token_patterns(codes: Sequence[CodeDef], *, path: str | Path) -> None:
    patterns = [(code, rule) for code in codes for rule in code.token_patterns]
    if not patterns:
        return
    from spacy.errors import MatchPatternError
    from spacy.matcher import Matcher
    from spacy.vocab import Vocab

    matcher = Matcher(Vocab(), validate=True)
    for code, rule in patterns:
        try:
            matcher.add(rule.rule_id, [list(rule.pattern or ())])
        except MatchPatternError as error:
            problems = [line.strip()[2:] for line in str(error).splitlines()
                        if line.strip().startswith("- [")]
            detail = "; ".join(problems) or " ".join(str(error).split())
            raise CodebookError(f"invalid token pattern ({detail})", path=path,
                                code_key=code.key, pattern_index=rule.index,
                                fix="Use spaCy Matcher token attributes such as LEMMA, LOWER, "
                                    "POS, DEP, OP, with IN/NOT_IN lists.") from error


# -- small validators -----------------------------------------------------------------------


def _check_keys(data: dict, required: Sequence[str], optional: Sequence[str], *,
                path: str | Path, what: str, code_key: str | None = None) -> None:
    for name in required:
        if name not in data or data[name] is None:
            raise CodebookError(f"{what} has no '{name}'", path=path, code_key=code_key,
                                fix=f"Add '{name}:' to {what}.")
    unknown = sorted(set(data) - set(required) - set(optional))
    if unknown:
        raise CodebookError(f"unknown field {unknown[0]!r} in {what}", path=path,
                            code_key=code_key,
                            fix=f"Remove it or use one of: "
                                f"{', '.join(sorted((*required, *optional)))}.")


def _text(value: Any, *, path: str | Path, what: str, code_key: str | None = None) -> str:
    if not isinstance(value, (str, int, float)) or isinstance(value, bool) or \
            not str(value).strip():
        raise CodebookError(f"{what} must be non-empty text, got {value!r}", path=path,
                            code_key=code_key, fix="Write it as text (quote it if in doubt).")
    return " ".join(str(value).split())


def _list(value: Any, name: str, fail) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        raise fail(f"'{name}' must be a list, got {type(value).__name__}",
                   f"Write each item of '{name}' on its own line starting with '- '.")
    return value


def _choice(value: Any, choices: Sequence[str], name: str, fail) -> None:
    if value not in choices:
        raise fail(f"'{name}' must be one of {', '.join(choices)}, got {value!r}",
                   f"Set '{name}' to {' or '.join(repr(c) for c in choices)}.")


def _confidence(value: Any, fail, index: int | None) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 1:
        raise fail(f"'confidence' must be a number in (0, 1], got {value!r}",
                   "Use a value such as 0.8.", index)
    return float(value)


def _roles(value: Any, role_groups: Mapping[str, tuple[str, ...]], fail,
           index: int | None) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise fail(f"'roles' must be a list of role names, got {value!r}",
                   "Write roles such as [worker] or [client, participant].", index)
    return tuple(normalise_role(v) for v in value)


def _role_groups(value: Any, *, path: str | Path) -> dict[str, tuple[str, ...]]:
    if not isinstance(value, dict):
        raise CodebookError("'role_groups' must map a group name to a list of roles", path=path,
                            fix="Write e.g. 'worker: [therapist, nurse]'.")
    groups = {}
    for name, members in value.items():
        if not isinstance(members, list) or not all(isinstance(m, str) for m in members):
            raise CodebookError(f"role group {name!r} must be a list of roles", path=path,
                                fix="Write e.g. 'worker: [therapist, nurse]'.")
        groups[normalise_role(str(name))] = tuple(normalise_role(m) for m in members)
    return groups


def _contexts(value: Any, *, path: str | Path) -> dict[str, tuple[str, ...]]:
    if not isinstance(value, dict):
        raise CodebookError("'contexts' must map a context name to a list of lemma phrases",
                            path=path, fix="Write e.g. 'problem: [problem, struggle, help]'.")
    contexts = {}
    for name, phrases in value.items():
        if not isinstance(phrases, list) or not phrases or \
                not all(isinstance(p, str) and p.strip() for p in phrases):
            raise CodebookError(f"context {name!r} must be a non-empty list of phrases",
                                path=path, fix="Write e.g. 'problem: [problem, struggle]'.")
        contexts[str(name)] = tuple(" ".join(p.split()) for p in phrases)
    return contexts


# -- REFI-QDA codebook exchange -------------------------------------------------------------


def codebook_to_qdc(codebook: Codebook) -> bytes:
    """The codebook as a REFI-QDA ``.qdc`` document (valid against ``Codebook.xsd``).

    Codes are grouped under one non-codable code per family; a ``Set`` per polarity lists the
    relational goods and evils. GUIDs are stable across exports.
    """
    from lxml import etree

    ns = f"{{{QDC_NS}}}"
    root = etree.Element(f"{ns}CodeBook", nsmap={None: QDC_NS})
    root.set("origin", f"reltext {codebook.name}@{codebook.version}")
    codes_el = etree.SubElement(root, f"{ns}Codes")
    families: dict[str, Any] = {}
    for code in codebook.codes:
        family = code.family
        if family not in families:
            family_el = etree.SubElement(codes_el, f"{ns}Code")
            family_el.set("guid", code_guid(codebook.name, f"family:{family}"))
            family_el.set("name", family)
            family_el.set("isCodable", "false")
            families[family] = family_el
        code_el = etree.SubElement(families[family], f"{ns}Code")
        code_el.set("guid", code_guid(codebook.name, code.key))
        code_el.set("name", code.key)
        code_el.set("isCodable", "true")
        code_el.set("color", code.colour.upper())
        description = etree.SubElement(code_el, f"{ns}Description")
        description.text = _qdc_description(code)
    sets = [(label, [c for c in codebook.codes if c.polarity == polarity])
            for label, polarity in (("Relational goods", "good"), ("Relational evils", "evil"))]
    sets = [(label, members) for label, members in sets if members]
    if sets:  # an empty <Sets/> is invalid
        sets_el = etree.SubElement(root, f"{ns}Sets")
        for label, members in sets:
            set_el = etree.SubElement(sets_el, f"{ns}Set")
            set_el.set("guid", code_guid(codebook.name, f"set:{label}"))
            set_el.set("name", label)
            for member in members:
                etree.SubElement(set_el, f"{ns}MemberCode").set(
                    "guid", code_guid(codebook.name, member.key))
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _qdc_description(code: CodeDef) -> str:
    parts = [f"{code.name}. {code.definition}"]
    if code.include:
        parts.append("Include: " + "; ".join(code.include))
    if code.exclude:
        parts.append("Exclude: " + "; ".join(code.exclude))
    return "\n".join(parts)


_PALETTE = ("#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d",
            "#666666", "#1f78b4", "#b2df8a", "#fb9a99", "#fdbf6f", "#cab2d6", "#ffff99")


def validate_qdc(content: bytes, *, path: str | Path = "<qdc>") -> None:
    """Raise :class:`CodebookError` unless ``content`` is valid against REFI-QDA Codebook.xsd."""
    from lxml import etree

    schema = etree.XMLSchema(etree.parse(str(Path(__file__).resolve().parents[1] / "data" / "Codebook.xsd")))
    try:
        document = etree.fromstring(content)
    except etree.XMLSyntaxError as error:
        raise CodebookError(f"not well-formed XML ({error})", path=path,
                            fix="Export the codebook again as a REFI-QDA .qdc file.") from error
    if not schema.validate(document):
        first = schema.error_log[0]
        raise CodebookError(f"not a valid REFI-QDA codebook ({first.message})", path=path,
                            line=first.line, fix="Export it again as a REFI-QDA .qdc file.")


def codebook_from_qdc(path: str | Path, *, name: str | None = None,
                      version: str = "1.0") -> Codebook:
    """Read a REFI-QDA ``.qdc`` codebook: every codable code becomes a code without patterns.

    Non-codable codes become families of the codes under them. Code names that are not
    identifiers are turned into keys (lower case, underscores). Add patterns to the YAML
    written from it to let the rules coder use it.
    """
    from lxml import etree

    path = Path(path)
    if not path.is_file():
        raise CodebookError("the .qdc file does not exist", path=path,
                            fix="Give the path of a REFI-QDA codebook (.qdc) file.")
    content = path.read_bytes()
    validate_qdc(content, path=path)
    root = etree.fromstring(content)
    ns = f"{{{QDC_NS}}}"
    codes: list[dict[str, Any]] = []

    def walk(element: Any, family: str, parent: str | None) -> None:
        for code_el in element.findall(f"{ns}Code"):
            label = code_el.get("name")
            key = _as_key(label)
            description_el = code_el.find(f"{ns}Description")
            description = (description_el.text or "").strip() if description_el is not None \
                else ""
            codable = code_el.get("isCodable") in ("true", "1")
            if codable:
                colour = code_el.get("color") or _PALETTE[len(codes) % len(_PALETTE)]
                if len(colour) == 4:
                    colour = "#" + "".join(c * 2 for c in colour[1:])
                codes.append({"key": key, "name": label, "family": family,
                              "definition": description.split("\n")[0] or label,
                              "polarity": "neutral", "colour": colour.lower(),
                              **({"parent": parent} if parent else {})})
            walk(code_el, key if not codable else family, key if codable else parent)

    walk(root.find(f"{ns}Codes"), "uncategorised", None)
    polarity_of = {}
    for set_el in root.iter(f"{ns}Set"):
        label = (set_el.get("name") or "").lower()
        polarity = "good" if "good" in label else "evil" if "evil" in label else None
        if polarity:
            for member in set_el.findall(f"{ns}MemberCode"):
                polarity_of[member.get("guid").strip("{}").lower()] = polarity
    guids = {_as_key(el.get("name")): el.get("guid").strip("{}").lower()
             for el in root.iter(f"{ns}Code")}
    for code in codes:
        code["polarity"] = polarity_of.get(guids.get(code["key"], ""), "neutral")
        if code.get("parent") and code["parent"] not in {c["key"] for c in codes}:
            del code["parent"]
    origin = root.get("origin") or ""
    match = re.match(r"reltext (\w+)@(\S+)", origin)
    if match and name is None:
        name, version = match.group(1), match.group(2)
    data = {"name": name or _as_key(path.stem), "version": version,
            "description": f"Imported from {path.name}" + (f" ({origin})" if origin else ""),
            "codes": codes}
    return parse_codebook(data, path=path, sha256=hashlib.sha256(content).hexdigest())


def _as_key(label: str | None) -> str:
    key = re.sub(r"[^a-z0-9]+", "_", (label or "").casefold()).strip("_")
    if not key or not key[0].isalpha():
        key = f"code_{key}" if key else "code"
    return key


def codebook_to_yaml(codebook: Codebook) -> str:
    """The codebook as YAML text that :func:`load_codebook` reads back (patterns included)."""
    codes = []
    for code in codebook.codes:
        entry: dict[str, Any] = {"key": code.key, "name": code.name, "family": code.family}
        if code.parent:
            entry["parent"] = code.parent
        entry.update(definition=code.definition, polarity=code.polarity, colour=code.colour)
        for attr in ("include", "exclude", "examples", "counter_examples"):
            if getattr(code, attr):
                entry[attr] = list(getattr(code, attr))
        defaults = CodeDef(key="", name="", family="", definition="", polarity="neutral",
                           colour="#000000")
        for attr in ("roles", "negation", "flip_to", "hypothetical", "hypothetical_to",
                     "question", "requires_context", "confidence"):
            value = getattr(code, attr)
            if value != getattr(defaults, attr):
                entry[attr] = list(value) if isinstance(value, tuple) else value
        if code.phrases:
            entry["phrases"] = [_rule_data(r) for r in code.phrases]
        if code.token_patterns:
            entry["token_patterns"] = [_rule_data(r) for r in code.token_patterns]
        codes.append(entry)
    data: dict[str, Any] = {"name": codebook.name, "version": codebook.version}
    if codebook.description:
        data["description"] = codebook.description
    if codebook.role_groups:
        data["role_groups"] = {k: list(v) for k, v in codebook.role_groups.items()}
    if codebook.contexts:
        data["contexts"] = {k: list(v) for k, v in codebook.contexts.items()}
    data["codes"] = codes
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def _rule_data(rule: Rule) -> Any:
    main = rule.phrase if rule.kind == "phrase" else [dict(t) for t in rule.pattern or ()]
    extras = {k: getattr(rule, k) for k in _RULE_KEYS if getattr(rule, k) not in (None, ())}
    if not extras:
        return main
    if "roles" in extras:
        extras["roles"] = list(extras["roles"])
    return {("phrase" if rule.kind == "phrase" else "pattern"): main, **extras}
