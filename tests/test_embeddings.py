"""The embedding cache: computed once per turn, read back bit for bit, never fetched."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import text

from reltext.learning.embeddings import embed_spans, embed_turns
from reltext.errors import ReltextError
from reltext.project import Project

DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture
def project(fresh_db):
    project = Project(fresh_db)
    project.ingest([DATA / "topic-turns.csv"])
    yield project
    project.close()


def turn_texts(project, limit=12):
    frame = project.turns()
    with project.store.read() as conn:
        keys = project.store.turn_keys(conn)
    return [keys[(row.transcript_id, row.turn_id)] for row in frame.head(limit).itertuples()]


def test_embeddings_are_cached_once_and_read_back_identically(project, monkeypatch):
    pairs = turn_texts(project)
    first = embed_turns(project.store, pairs)
    assert first.shape == (12, 384) and first.dtype == np.float32
    with project.store.read() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM embeddings")).scalar() == 12

    from reltext.learning import embeddings

    def refuse(*args, **kwargs):
        raise AssertionError("the encoder ran although every turn was cached")

    monkeypatch.setattr(embeddings, "load_encoder", refuse)
    again = embed_turns(project.store, list(reversed(pairs)))
    assert np.array_equal(again, first[::-1])


def test_embeddings_of_sentences_are_cached_beside_the_whole_turn(project):
    (turn_pk, turn_text), = turn_texts(project, limit=2)[1:]
    whole = embed_turns(project.store, [(turn_pk, turn_text)])
    part = embed_spans(project.store, [((turn_pk, 0, 10), turn_text[:10])])
    assert not np.allclose(whole, part)
    with project.store.read() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM embeddings")).scalar() == 2


def test_embeddings_unknown_model_is_a_user_error(project):
    with pytest.raises(ReltextError, match="unknown embedding model 'bert'.*minilm"):
        embed_turns(project.store, turn_texts(project, 1), model="bert")
