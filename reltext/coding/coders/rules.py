"""The rules coder: a codebook's lemma phrases and token patterns, read in context.

Each match of a code's phrase or token pattern becomes a coding unless the context changes
what it says: a negated match is dropped or flipped to the paired code ("I don't trust them"
is mistrust), a hypothetical one ("if I could trust someone") is dropped, kept or flipped as
the codebook says, a match inside a question is dropped for codes that a question does not
assert, and a speaker-role condition limits a phrase to, say, a worker's turns. Back-channel
turns ("Mm-hmm.", "Okay, yeah.") are never coded. Codes that need a context (the SOS locus
codes need a turn about a problem, a cause or help) are only given when the turn has one.

Example:
    >>> coder = RulesCoder(load_codebook())
    >>> [m.code for m in coder.code([TurnInput("1", "I don't trust doctors.", "client")])]
    ['mistrust']
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

from ...errors import CodebookError
from ...model import is_interviewer
from ..codebook import TRAINED_ATTRS, Codebook, CodeDef, Rule
from ..nlp import DEFAULT_PIPELINE, load_pipeline, text_pieces
from . import CodeMatch, TurnInput
from .confidence import RuleConfidence

# Only these components are needed: lemmas (tagger + attribute_ruler + lemmatizer) and the
# dependency parse for negation and sentences. NER is never used.
UNUSED_COMPONENTS = ("ner",)

NEGATORS = frozenset({"not", "n't", "never", "no", "nobody", "nothing", "none", "neither",
                      "nor", "nowhere", "noone", "without", "hardly", "barely", "cannot"})
NEGATIVE_SUBJECTS = frozenset({"nobody", "nothing", "none", "noone", "neither", "no"})
HYPOTHETICAL_CUES = frozenset({"if", "unless", "suppose", "supposing", "imagine", "whether",
                               "wish"})
HYPOTHETICAL_MODALS = frozenset({"would", "'d", "might", "could"})
BACKCHANNEL = frozenset({
    "mm", "mhm", "mm-hmm", "hmm", "mmm", "uh", "um", "uh-huh", "huh", "ok", "okay", "yeah",
    "yes", "yep", "yup", "no", "nope", "nah", "right", "sure", "alright", "all", "well", "oh",
    "ah", "so", "and", "but", "i", "see", "you", "know", "true", "exactly", "absolutely",
    "definitely", "totally", "really", "thanks", "thank", "good", "great", "fine", "cool",
    "wow", "gotcha", "hm", "er", "erm", "like", "just", "that", "'s", "is", "it", "maybe",
    "guess", "think", "mean", "got", "it", "sounds", "sound", "hi", "hello", "bye",
})
CONTENT_POS = frozenset({"NOUN", "VERB", "ADJ", "PROPN", "NUM"})
NEGATION_WINDOW = 3
CLAUSE_BREAKS = frozenset({",", ";", ":", "--", "—", "-", "but", "and", "because", "cause",
                           "'cause", "so", "though", "although"})


@dataclass(frozen=True, slots=True)
class _Hit:
    code: CodeDef
    rule: Rule


class RulesCoder:
    """Codes turns with a codebook's phrases and patterns, read in context.

    Example:
        >>> coder = RulesCoder(load_codebook("codebooks/relational.yaml"))
        >>> for match in coder.code([TurnInput("t1", "She let me decide.", "client")]):
        ...     print(match.code, match.start_char, match.end_char)
        empowerment 4 17

    Args:
        codebook: The codebook whose codes to find.
        nlp: A loaded spaCy pipeline; the default pipeline without NER when None.
        pipeline: The pipeline package to load when ``nlp`` is None.
        n_process: Processes for ``nlp.pipe`` (worth it from some thousands of turns).
        batch_size: Turns per ``nlp.pipe`` batch.
        confidences: How often each rule is right (:mod:`reltext.coding.coders.confidence`); the
            shipped measurements when None.
    """

    def __init__(self, codebook: Codebook, *, nlp: Any = None,
                 pipeline: str = DEFAULT_PIPELINE, n_process: int = 1,
                 batch_size: int = 128, confidences: RuleConfidence | None = None) -> None:
        self.codebook = codebook
        self.confidences = (confidences if confidences is not None
                            else RuleConfidence.shipped(codebook))
        self.nlp = nlp if nlp is not None else load_pipeline(pipeline, disable=UNUSED_COMPONENTS)
        self.n_process = n_process
        self.batch_size = batch_size
        self._build()

    @property
    def coder_id(self) -> str:
        return self.codebook.coder_id

    def _build(self) -> None:
        from spacy.matcher import Matcher, PhraseMatcher

        vocab = self.nlp.vocab
        self._phrases = PhraseMatcher(vocab, attr="LEMMA")
        self._patterns = Matcher(vocab)
        self._contexts = PhraseMatcher(vocab, attr="LEMMA")
        self._hits: dict[int, _Hit] = {}
        self._context_names: dict[int, str] = {}
        phrase_rules = [(code, rule) for code in self.codebook.codes for rule in code.phrases]
        read = self._read_phrases([rule.phrase or "" for _, rule in phrase_rules])
        for (code, rule), as_read in zip(phrase_rules, read):
            written = self._lemma_doc(rule.phrase or "")
            docs = [written]
            # Only for phrases of several words: a single word is written in the exact form
            # meant ("feeling", "worried"), and its bare lemma would match far more.
            if len(written) > 1 and [t.lemma_ for t in as_read] != [t.lemma_ for t in written]:
                docs.append(as_read)
            self._phrases.add(rule.rule_id, docs)
            self._hits[vocab.strings[rule.rule_id]] = _Hit(code, rule)
        for code in self.codebook.codes:
            for rule in code.token_patterns:
                self._check_pattern(code, rule)
                self._patterns.add(rule.rule_id, [list(rule.pattern or ())])
                self._hits[vocab.strings[rule.rule_id]] = _Hit(code, rule)
        for name, phrases in self.codebook.contexts.items():
            label = f"context:{name}"
            self._contexts.add(label, [self._lemma_doc(p) for p in phrases])
            self._context_names[vocab.strings[label]] = name

    def _read_phrases(self, phrases: list[str]) -> list[Any]:
        # A phrase written in a surface form ("relied on", "you'd like to") is also matched by
        # its lemmas as the pipeline reads them; the parser adds nothing to lemmas.
        parser = [name for name in ("parser",) if name in self.nlp.pipe_names]
        with self.nlp.select_pipes(disable=parser):
            return list(self.nlp.pipe(phrases, batch_size=256))

    def _lemma_doc(self, phrase: str) -> Any:
        # Phrases are written in lemma form, so each token's lemma is the token as written.
        doc = self.nlp.make_doc(phrase)
        for token in doc:
            token.lemma_ = token.text if token.text == "I" else token.text.lower()
        return doc

    def _check_pattern(self, code: CodeDef, rule: Rule) -> None:
        for token in rule.pattern or ():
            for attr in token:
                component = TRAINED_ATTRS.get(str(attr).upper())
                if component and component not in self.nlp.pipe_names:
                    raise CodebookError(
                        f"the pattern uses {attr}, which the pipeline "
                        f"{self.nlp.meta.get('name')!r} does not set (it has no {component})",
                        path=self.codebook.path, code_key=code.key, pattern_index=rule.index,
                        fix=f"Use a trained pipeline with a {component}, or match on LOWER.")

    # -- public -----------------------------------------------------------------------------

    def code(self, items: Iterable[TurnInput]) -> Iterator[CodeMatch]:
        """The codes found in each turn, in input order.

        Args:
            items: The turns to code.

        Yields:
            One :class:`CodeMatch` per code found on a span; offsets are into the turn's text.
        """
        # A turn longer than the pipeline takes is read in pieces; offsets stay the turn's.
        # A research interviewer's turns are context, never coded (codebook spec v1.1).
        limit = self.nlp.max_length
        pairs = ((piece, (item, offset)) for item in items if not is_interviewer(item.role)
                 for offset, piece in text_pieces(item.text, limit))
        kwargs = {"batch_size": self.batch_size, "as_tuples": True}
        if self.n_process != 1:
            kwargs["n_process"] = self.n_process
        for doc, (item, offset) in self.nlp.pipe(pairs, **kwargs):
            for match in self.code_doc(doc, item):
                yield match if not offset else replace(
                    match, start_char=match.start_char + offset,
                    end_char=match.end_char + offset)

    def code_turns(self, turns: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """Codings for a batch of stored turns (``turn_pk``, ``text``, ``role``, ``speaker``).

        This is the shape :func:`reltext.coding.batch.run_coding` works with.
        """
        items = [TurnInput(str(turn["turn_pk"]), turn["text"],
                           turn.get("role") or turn.get("speaker") or "") for turn in turns]
        return [{"turn_pk": int(m.key), "code": m.code, "start_char": m.start_char,
                 "end_char": m.end_char, "confidence": m.confidence, "evidence": m.evidence,
                 "origin": "rule"} for m in self.code(items)]

    def code_doc(self, doc: Any, item: TurnInput) -> Iterator[CodeMatch]:
        """The codes found in one processed turn."""
        if is_backchannel(doc):
            return
        contexts = {self._context_names[match_id] for match_id, _, _ in self._contexts(doc)}
        found = [(match_id, start, end) for match_id, start, end in self._phrases(doc)]
        found += list(self._patterns(doc))
        found = _drop_nested(found, self._hits)
        # One coding per stretch of text and code: the longest match first, and a match that
        # overlaps one already given for the same code adds nothing. Matches come in order of
        # their start, so one overlaps an earlier one exactly when it starts before the
        # furthest end given so far.
        furthest: dict[str, int] = {}
        for match_id, start, end in sorted(found, key=lambda m: (m[1], -m[2])):
            hit = self._hits[match_id]
            span = doc[start:end]
            result = self._apply_context(hit, span, item.role, contexts)
            if result is None:
                continue
            code_key, confidence, note = result
            if furthest.get(code_key, -1) > start:
                continue
            furthest[code_key] = end
            # How often this rule was right when it gave this code, not the codebook's guess.
            confidence = self.confidences.of(hit.rule.rule_id, code_key, default=confidence)
            evidence = f"{hit.rule.rule_id}{note}: '{span.text}'"
            yield CodeMatch(item.key, code_key, span.start_char, span.end_char,
                            round(confidence, 3), evidence)

    # -- context ----------------------------------------------------------------------------

    def _apply_context(self, hit: _Hit, span: Any, role: str,
                       contexts: set[str]) -> tuple[str, float, str] | None:
        code, rule = hit.code, hit.rule
        if not self.codebook.role_matches(code.roles, role):
            return None
        if not self.codebook.role_matches(rule.roles, role):
            return None
        confidence = rule.confidence or code.confidence
        key, note = code.key, ""
        if (rule.question or code.question) == "drop" and is_question(span):
            return None
        negation = rule.negation or code.negation
        if negation != "keep":
            negated, by_parse = is_negated(span)
            if negated:
                if negation == "drop":
                    return None
                key, note = code.flip_to or key, f" (negated -> {code.flip_to})"
                confidence *= 0.9 if by_parse else 0.8
        hypothetical = rule.hypothetical or code.hypothetical
        if hypothetical != "keep" and is_hypothetical(span):
            if hypothetical == "drop":
                return None
            target = code.hypothetical_to or code.flip_to
            if key == code.key:
                key, note = target or key, f" (hypothetical -> {target})"
            confidence *= 0.8
        final = self.codebook.code(key)
        if final.requires_context and final.requires_context not in contexts:
            return None
        if not self.codebook.role_matches(final.roles, role):
            return None
        return key, confidence, note


def _drop_nested(found: list[tuple[int, int, int]], hits: dict[int, _Hit]
                 ) -> list[tuple[int, int, int]]:
    """Matches less a match strictly inside a longer match of another code.

    The longer phrase is the more specific reading ("trust in myself" is agency, not trust),
    as in spaCy's span filtering. Codes of one family that locate a difficulty (the SOS codes)
    sit beside the others and are never dropped or the cause of a drop.
    """
    def independent(hit: _Hit) -> bool:
        return hit.code.requires_context is not None

    # In order of start (longest first), each match is compared only with the earlier ones
    # still open where it starts: linear for the disjoint matches of a long turn.
    inside = set()
    open_matches: list[tuple[int, int, int]] = []
    for match in sorted(found, key=lambda m: (m[1], -m[2])):
        match_id, start, end = match
        open_matches = [m for m in open_matches if m[2] > start]
        hit = hits[match_id]
        if not independent(hit) and any(
                s <= start and end <= e and (e - s) > (end - start)
                and hits[other].code.key != hit.code.key and not independent(hits[other])
                for other, s, e in open_matches):
            inside.add(match)
        open_matches.append(match)
    return [match for match in found if match not in inside]


def _clause_tokens_before(span: Any) -> list[Any]:
    """The tokens of the span's sentence before it, back to the nearest clause break."""
    sent_start = span.sent.start if span.doc.has_annotation("SENT_START") else 0
    tokens = []
    for i in range(span.start - 1, sent_start - 1, -1):
        token = span.doc[i]
        if token.lower_ in CLAUSE_BREAKS:
            break
        tokens.append(token)
    return tokens


def is_negated(span: Any) -> tuple[bool, bool]:
    """Whether a match is negated, and whether the dependency parse said so.

    The parse decides first: a ``neg`` child of the match's head (or of the verb it hangs
    from), a negative determiner on it ("no hope"), or a negative subject of its verb
    ("nobody trusts me"). Without a parse, or where the parse finds nothing, a negator up to
    three tokens before the match, inside its clause, counts. Negators inside the match are
    part of the phrase and do not count.
    """
    doc = span.doc
    inside = set(range(span.start, span.end))
    if doc.has_annotation("DEP"):
        root = span.root
        heads = [root]
        # Token objects are made afresh on each access: compare positions, not identity.
        if root.pos_ not in ("VERB", "AUX") and root.head.i != root.i:
            heads.append(root.head)
            if root.head.pos_ not in ("VERB", "AUX") and root.head.head.i != root.head.i:
                heads.append(root.head.head)
        if root.dep_ == "xcomp" and root.head.i != root.i:
            heads.append(root.head)
        for head in heads:
            for child in head.children:
                if child.i in inside:
                    continue
                if child.dep_ == "neg":
                    return True, True
                if child.dep_ == "det" and child.lower_ in ("no", "neither"):
                    return True, True
                if child.dep_ in ("nsubj", "nsubjpass") and child.lower_ in NEGATIVE_SUBJECTS:
                    return True, True
    window = _clause_tokens_before(span)[:NEGATION_WINDOW]
    if any(token.lower_ in NEGATORS and token.i not in inside for token in window):
        return True, False
    return False, False


def is_hypothetical(span: Any) -> bool:
    """Whether a match sits in a conditional or imagined clause ("if ...", "what if ...").

    Either a conditional cue or modal precedes it in its clause, or (from the parse) the verb
    it hangs from has an "if"/"unless" clause: "if I stopped, she'd be okay".
    """
    if span.doc.has_annotation("DEP"):
        verb = span.root
        while verb.pos_ not in ("VERB", "AUX") and verb.head.i != verb.i:
            verb = verb.head
        for child in verb.children:
            if child.dep_ == "advcl" and any(
                    mark.dep_ == "mark" and mark.lower_ in ("if", "unless")
                    for mark in child.children):
                return True
    tokens = _clause_tokens_before(span)
    for token in tokens:
        if token.lower_ in HYPOTHETICAL_CUES:
            return True
        if token.lower_ in HYPOTHETICAL_MODALS and token.tag_ == "MD":
            return True
    return False


def is_question(span: Any) -> bool:
    """Whether the match's sentence is a question: the next sentence-final mark is '?'."""
    for token in span.doc[span.start:]:
        if token.text in ("?", ".", "!"):
            return token.text == "?"
    return False


def is_backchannel(doc: Any) -> bool:
    """Whether a turn is a back-channel: short and with no content word ("Mm-hmm. Yeah.")."""
    words = [token for token in doc if not token.is_punct and not token.is_space]
    if not words:
        return True
    if all(token.lower_ in BACKCHANNEL or token.lower_.strip("-") in BACKCHANNEL
           for token in words):
        return True
    content = [token for token in words if token.pos_ in CONTENT_POS
               and token.lower_ not in BACKCHANNEL and not token.is_stop]
    return len(words) <= 4 and not content
