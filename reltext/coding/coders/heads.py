"""The relational model's classifiers: each scores every code of a turn from one reading.

- :class:`AttentionHead` reads the states of a turn's tokens at one encoder layer. Per code,
  it learns where in the turn to look (a softmax over the tokens), pools the states with those
  weights and scores the pooled vector; a mean-pooled term carries what the whole turn says.
  Its attention is what places a code on the sentence that carries it.
- :class:`LinearHead` is a class-balanced logistic regression per code over the mean state of
  the turn's tokens and of its context's, and the speaker's role.

Every head gives raw scores; the model averages them, then calibrates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

CONTEXT_WEIGHT = 0.5
ATTENTION_DIMENSIONS = 256


def unit(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=-1, keepdims=True)
    return matrix / np.where(norms > 0, norms, 1.0)


def pooled_features(turn: np.ndarray, context: np.ndarray, worker: np.ndarray) -> np.ndarray:
    """Unit turn vector, unit context vector at half weight, the role (1 for a worker)."""
    return np.hstack([unit(turn), CONTEXT_WEIGHT * unit(context),
                      np.asarray(worker, np.float32).reshape(-1, 1)]).astype(np.float32)


def attention_module(dimensions: int, codes: int, *, dropout: float = 0.1) -> Any:
    """The torch module of an :class:`AttentionHead` (built on demand: torch loads late)."""
    import torch
    from torch import nn

    class Attention(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.drop = nn.Dropout(dropout)
            self.proj = nn.Linear(dimensions, ATTENTION_DIMENSIONS)
            self.query = nn.Parameter(torch.randn(codes, ATTENTION_DIMENSIONS) * 0.02)
            self.out = nn.Parameter(torch.randn(codes, dimensions) * 0.02)
            self.glob = nn.Linear(dimensions, codes)

        def forward(self, states, mask, own):
            """``states (B, T, D)``; ``mask`` real tokens; ``own`` the turn's own tokens."""
            h = self.drop(states)
            scores = torch.tanh(self.proj(h)) @ self.query.T
            scores = scores.masked_fill(~own[:, :, None], -1e4)
            weights = scores.softmax(dim=1)
            pooled = torch.einsum("btc,bth->bch", weights, h)
            m = mask[:, :, None].to(h.dtype)
            mean = (h * m).sum(1) / m.sum(1).clamp(min=1)
            return (pooled * self.out).sum(-1) + self.glob(mean), weights

    return Attention()


def batch_tensors(token_arrays: Sequence[np.ndarray], own_masks: Sequence[np.ndarray]):
    """Padded ``(states, mask, own)`` tensors of several turns' token states."""
    import torch

    width = max(len(a) for a in token_arrays)
    dimensions = token_arrays[0].shape[1]
    states = torch.zeros((len(token_arrays), width, dimensions))
    mask = torch.zeros((len(token_arrays), width), dtype=torch.long)
    own = torch.zeros((len(token_arrays), width), dtype=torch.bool)
    for row, (array, flags) in enumerate(zip(token_arrays, own_masks, strict=True)):
        states[row, :len(array)] = torch.from_numpy(np.asarray(array, np.float32))
        mask[row, :len(array)] = 1
        own[row, :len(array)] = torch.from_numpy(np.asarray(flags, bool))
    return states, mask, own


@dataclass(slots=True)
class AttentionHead:
    """Per-code attention over one layer's token states (see the module's description)."""

    layer: int
    parameters: dict[str, np.ndarray]
    _loaded: Any = field(default=None, init=False, repr=False, compare=False)

    def module(self) -> Any:
        """The torch module with these parameters, built once."""
        if self._loaded is None:
            import torch

            shape = self.parameters["out"].shape
            module = attention_module(shape[1], shape[0])
            module.load_state_dict({k: torch.from_numpy(np.asarray(v, np.float32))
                                    for k, v in self.parameters.items()})
            self._loaded = module.eval()
        return self._loaded

    def scores(self, readings: Sequence[Any], *, batch: int = 64
               ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Scores ``(turns, codes)``, and per turn its attention ``(tokens, codes)``."""
        import torch

        module = self.module()
        result, weights = [], []
        with torch.inference_mode():
            for start in range(0, len(readings), batch):
                part = readings[start:start + batch]
                tensors = batch_tensors([r.tokens[self.layer] for r in part],
                                        [_own(r) for r in part])
                logits, attention = module(*tensors)
                result.append(logits.numpy())
                weights.extend(attention[row, :len(r.sentence_of)].numpy()
                               for row, r in enumerate(part))
        return np.vstack(result), weights


def _own(reading: Any) -> np.ndarray:
    """Which of a reading's tokens are the turn's own (the first token never is)."""
    own = np.ones(len(reading.sentence_of), bool)
    own[0] = False
    return own


@dataclass(slots=True)
class LinearHead:
    """Logistic regressions per code over pooled states at one layer."""

    layer: int
    weights: np.ndarray
    bias: np.ndarray

    def matrix(self, readings: Sequence[Any], worker: np.ndarray) -> np.ndarray:
        return pooled_features(np.stack([r.mean(self.layer) for r in readings]),
                               np.stack([r.context[self.layer] for r in readings]), worker)

    def scores(self, readings: Sequence[Any], worker: np.ndarray) -> np.ndarray:
        return self.matrix(readings, worker) @ self.weights.T + self.bias
