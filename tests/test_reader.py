"""Reading turns with the encoder: sentences, roles, windows over long turns."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from reltext.coding.coders.reader import TurnReader, TurnText, role_label, sentence_spans
from reltext.model import is_interviewer


@given(st.text(alphabet=st.sampled_from(list("ab .!?;\n'")), max_size=80))
def test_sentence_spans_are_ordered_trimmed_and_inside_the_text(text):
    spans = sentence_spans(text)
    assert spans
    previous_end = 0
    for start, end in spans:
        assert previous_end <= start <= end <= len(text)
        previous_end = end
        if text.strip():
            assert text[start:end] == text[start:end].strip() and end > start


def test_sentence_spans_split_sentences_and_clauses():
    text = "I don't trust the services. But I trust Sam; he listens!  And I'm starting."
    assert [text[a:b] for a, b in sentence_spans(text)] == [
        "I don't trust the services.", "But I trust Sam;", "he listens!", "And I'm starting."]


@pytest.mark.parametrize(("role", "label"), [("therapist", "Therapist"), ("STR worker", "Therapist"),
                                             ("Peer Worker", "Therapist"), ("client", "Client"),
                                             ("carer", "Client"), ("Sam", "Client"),
                                             ("", "Client")])
def test_roles_read_as_the_corpus_labels(role, label):
    assert role_label(role) == label


def test_interviewers_are_context_only():
    assert is_interviewer("Interviewer") and is_interviewer("researcher")
    assert not is_interviewer("therapist") and not is_interviewer("STR worker")


@pytest.fixture(scope="module")
def reader():
    return TurnReader.load()


def test_reading_is_deterministic_and_context_matters(reader):
    item = TurnText("Yes, I think I can do it.", "Client",
                    (("Therapist", "Do you feel you could stop drinking?"),))
    first, again, alone = reader.read([item, item, TurnText(item.text, "Client")])
    layer = reader.layers[0]
    assert np.array_equal(first.tokens[layer], again.tokens[layer])
    assert not np.allclose(first.mean(layer), alone.mean(layer))  # context is read with it
    assert np.abs(alone.context[layer]).sum() == 0 and np.abs(first.context[layer]).sum() > 0
    assert first.sentences == [(0, len(item.text))]
    # The first token, then the role's tokens, then the turn's own, all of one sentence.
    assert first.sentence_of[0] == -1 and first.sentence_of[-1] == 0


def test_a_long_turn_is_read_whole_in_windows(reader):
    sentences = [f"Sentence {i} is about my sister and the group on Tuesdays." for i in range(60)]
    text = " ".join(sentences)
    [reading] = reader.read([TurnText(text, "Client")])
    assert len(reading.sentences) == 60
    # Every sentence's tokens were read, the last included, in more than one window.
    assert set(reading.sentence_of[reading.sentence_of >= 0]) == set(range(60))
    assert len(reading.tokens[reader.layers[0]]) == len(reading.sentence_of)
    assert (reading.sentence_of == -1).sum() > 2  # each window starts with the role
