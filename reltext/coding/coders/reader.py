"""Reading turns with a transformer encoder, in their context.

A turn is read as ``Role: text`` followed by its context, the turns before it, most recent
first (``Role: text | Role: text``). The encoder runs only to its middle layers: on the
training corpus they carry the relational codes better than its last layer, which was
trained for sentence similarity, and stopping there saves the upper layers' time. Its linear
weights run in bfloat16 where the CPU computes in it (AVX-512 BF16, AMX): three times as fast
as float32 on two cores, with states within 1e-4 (cosine) of float32's.

From the one pass come, for each layer asked for, the states of the turn's own tokens (each
read in the whole context) and the mean of the context's tokens, with each token's place in
the turn's text, so that a code's evidence can be traced to the sentence that carries it.

A turn longer than the encoder's window is read in windows of whole sentences, each with the
same context, so no part of it goes unread.

Example:
    >>> reader = TurnReader.load()
    >>> [reading] = reader.read([TurnText("I don't trust them.", "Client")])
    >>> reading.tokens[8].shape[1], reading.sentences
    (768, [(0, 19)])
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..encoders import ENCODERS, encoder_folder, go_offline

#: Speakers whose turns the training corpus calls the therapist's; everyone else reads as
#: the client.
WORKER_ROLES = frozenset(
    {"therapist", "worker", "str worker", "peer worker", "nurse", "counsellor", "counselor",
     "caseworker", "case worker", "social worker", "doctor", "clinician", "practitioner",
     "coach", "psychologist", "psychiatrist", "support worker", "key worker", "keyworker",
     "interviewer", "researcher", "facilitator"}
)

SENTENCE_END = re.compile(r"[.!?…]+[\"'’”)\]]*\s+|\n+|;\s+")


def role_label(role: str) -> str:
    """``Therapist`` for a worker's turn, ``Client`` for anyone else's (the corpus's labels)."""
    return "Therapist" if role.strip().lower() in WORKER_ROLES else "Client"


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Half-open offsets of the sentences (and ``;``-clauses) of a turn, blanks trimmed."""
    spans, start = [], 0
    for match in SENTENCE_END.finditer(text):
        spans.append((start, match.start() + len(match.group().rstrip())))
        start = match.end()
    spans.append((start, len(text)))
    trimmed = []
    for begin, end in spans:
        while begin < end and text[begin].isspace():
            begin += 1
        while end > begin and text[end - 1].isspace():
            end -= 1
        if end > begin:
            trimmed.append((begin, end))
    return trimmed or [(0, len(text))]


@dataclass(frozen=True, slots=True)
class TurnText:
    """A turn to read: its text, its role label and the turns before it (most recent first)."""

    text: str
    role: str
    context: tuple[tuple[str, str], ...] = ()


@dataclass(slots=True)
class Reading:
    """What the encoder made of one turn.

    Attributes:
        tokens: Per layer, the states of the window's first token followed by the turn's
            own tokens (``Role:`` included), ``(tokens, dimensions)``.
        context: Per layer, the mean state of the context's tokens (zeros without context).
        sentence_of: For each row of ``tokens``, the index of its sentence in ``sentences``,
            or -1 (the first token, the role's tokens).
        sentences: The sentences' offsets into the turn's text.
    """

    tokens: dict[int, np.ndarray]
    context: dict[int, np.ndarray]
    sentence_of: np.ndarray
    sentences: list[tuple[int, int]]

    def mean(self, layer: int) -> np.ndarray:
        """The mean state of the turn's own tokens at ``layer``."""
        own = self.tokens[layer][1:]
        return own.mean(0) if len(own) else self.tokens[layer][0]


class TurnReader:
    """An encoder cut after its highest wanted layer, reading turns in their context.

    Args:
        encoder: The encoder's name (see :mod:`reltext.coding.encoders`).
        layers: The layers whose states are wanted (1-based: layer 8 is the eighth block's
            output).
        turn_tokens: The most tokens of a turn read in one window.
        context_tokens: The most tokens of context.
        bfloat16: Compute in bfloat16; by default where the CPU supports it natively.
    """

    def __init__(self, encoder: str = "all-mpnet-base-v2", *, layers: Sequence[int] = (8,),
                 turn_tokens: int = 192, context_tokens: int = 64,
                 bfloat16: bool | None = None) -> None:
        go_offline()
        import torch
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()
        transformers_logging.set_verbosity_error()
        folder = encoder_folder(encoder)
        self.encoder, self.layers = encoder, tuple(sorted(layers))
        self.turn_tokens, self.context_tokens = turn_tokens, context_tokens
        self.tokenizer = AutoTokenizer.from_pretrained(str(folder))
        model = AutoModel.from_pretrained(str(folder))
        # The layers above the highest wanted one are never used: drop them, and their time.
        model.encoder.layer = model.encoder.layer[:max(self.layers)]
        model.eval()
        if bfloat16 is None:
            bfloat16 = bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
        self.bfloat16 = bfloat16
        self.model = model.to(torch.bfloat16) if bfloat16 else model
        self.dimensions = int(model.config.hidden_size)
        self._torch = torch

    @classmethod
    @functools.lru_cache(maxsize=2)
    def load(cls, encoder: str = "all-mpnet-base-v2", layers: tuple[int, ...] = (8,)
             ) -> TurnReader:
        """One reader per process and setting."""
        return cls(encoder, layers=layers)

    @property
    def name(self) -> str:
        """What the reader reads with, e.g. ``all-mpnet-base-v2/L8+L10``."""
        layers = "+".join(f"L{layer}" for layer in self.layers)
        return f"{self.encoder}/{layers}"

    def version(self) -> str:
        return ENCODERS[self.encoder].version()

    # -- tokens ------------------------------------------------------------------------

    def _context_ids(self, context: Sequence[tuple[str, str]]) -> list[int]:
        text = " | ".join(f"{role}: {words}" for role, words in context if words.strip())
        if not text:
            return []
        return self.tokenizer(text, add_special_tokens=False)["input_ids"][: self.context_tokens]

    def _windows(self, item: TurnText, spans: list[tuple[int, int]]
                 ) -> list[tuple[list[int], list[int]]]:
        """Per window, the turn's token ids (``Role:`` first) and each token's sentence."""
        prefix = f"{item.role}: "
        encoded = self.tokenizer(prefix + item.text, add_special_tokens=False,
                                 return_offsets_mapping=True)
        ids = list(encoded["input_ids"])
        sentence = []
        for start, end in encoded["offset_mapping"]:
            start, end = start - len(prefix), end - len(prefix)
            inside = [k for k, (a, z) in enumerate(spans) if end > a and start < z]
            sentence.append(inside[0] if inside and end > 0 else -1)
        head = [i for i, s in enumerate(sentence) if s == -1 and i < 8
                and encoded["offset_mapping"][i][1] <= len(prefix)]
        body = [i for i in range(len(ids)) if i not in head]
        if len(ids) <= self.turn_tokens:
            return [(ids, sentence)]
        # Long turns: windows of whole sentences, each led by the role's own tokens.
        room = self.turn_tokens - len(head)
        windows, current = [], []
        for index in body:
            starts_sentence = not current or sentence[index] != sentence[current[-1]]
            if len(current) >= room or (starts_sentence and current and
                                        _sentence_length(sentence, body, index) + len(current)
                                        > room):
                windows.append(current)
                current = []
            current.append(index)
        if current:
            windows.append(current)
        return [([ids[i] for i in head + w], [sentence[i] for i in head + w]) for w in windows]

    # -- reading -------------------------------------------------------------------------

    def read(self, items: Sequence[TurnText], *, token_budget: int = 4096) -> list[Reading]:
        """Read ``items``; the same text and context always give the same states."""
        torch = self._torch
        tok = self.tokenizer
        pair_middle = [tok.sep_token_id] * (2 if tok.cls_token_id == 0 else 1)  # RoBERTa pairs
        spans = [sentence_spans(item.text) for item in items]
        rows = []  # (item, window number, ids, token sentences, turn tokens)
        for index, item in enumerate(items):
            context = self._context_ids(item.context)
            for number, (ids, sentence) in enumerate(self._windows(item, spans[index])):
                sequence = [tok.cls_token_id, *ids, tok.sep_token_id]
                if context:
                    sequence += pair_middle[1:] + context + [tok.sep_token_id]
                rows.append((index, number, sequence, sentence, len(ids)))
        parts: list[dict[int, list]] = [{layer: [] for layer in self.layers} for _ in items]
        sentence_parts: list[list] = [[] for _ in items]
        context: list[dict[int, np.ndarray]] = [
            {layer: np.zeros(self.dimensions, np.float32) for layer in self.layers}
            for _ in items]
        order = sorted(range(len(rows)), key=lambda r: (len(rows[r][2]), r))
        start = 0
        with torch.inference_mode():
            while start < len(order):
                stop = start + 1
                while (stop < len(order)
                       and (stop - start + 1) * len(rows[order[stop]][2]) <= token_budget):
                    stop += 1
                batch = [rows[r] for r in order[start:stop]]
                width = max(len(r[2]) for r in batch)
                ids = torch.full((len(batch), width), tok.pad_token_id, dtype=torch.long)
                mask = torch.zeros((len(batch), width), dtype=torch.long)
                for b, row in enumerate(batch):
                    ids[b, :len(row[2])] = torch.tensor(row[2])
                    mask[b, :len(row[2])] = 1
                hidden = self.model(input_ids=ids, attention_mask=mask,
                                    output_hidden_states=True).hidden_states
                for b, (index, number, sequence, sentence, n_turn) in enumerate(batch):
                    for layer in self.layers:
                        states = hidden[layer][b].float().numpy()
                        window = states[:1 + n_turn] if number == 0 else states[1:1 + n_turn]
                        parts[index][layer].append((number, window))
                        after = 1 + n_turn + len(pair_middle)
                        if number == 0 and len(sequence) > after + 1:
                            context[index][layer] = states[after:len(sequence) - 1].mean(0)
                    marks = sentence if number else [-1, *sentence]
                    sentence_parts[index].append((number, marks))
                start = stop
        readings = []
        for index in range(len(items)):
            tokens = {layer: np.vstack([w for _, w in sorted(parts[index][layer],
                                                              key=lambda p: p[0])])
                      for layer in self.layers}
            marks = np.array([m for _, ms in sorted(sentence_parts[index], key=lambda p: p[0])
                              for m in ms], np.int32)
            readings.append(Reading(tokens, context[index], marks, spans[index]))
        return readings


def _sentence_length(sentence: list[int], body: list[int], index: int) -> int:
    """How many of the turn's tokens the sentence starting at token ``index`` has."""
    return sum(1 for i in body if sentence[i] == sentence[index])
