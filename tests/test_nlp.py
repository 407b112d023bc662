"""Texts longer than spaCy reads at once: read in pieces whose offsets stay exact."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from reltext.coding.coders import TurnInput
from reltext.coding.nlp import LONG_TEXT, PIECE_CHARS, text_pieces

words = st.text(alphabet=st.sampled_from("ab .?!\n\t"), max_size=400)


@settings(max_examples=300, deadline=None)
@given(words, st.integers(min_value=1, max_value=60))
def test_nlp_pieces_join_up_to_the_text_at_their_offsets(text, limit):
    pieces = text_pieces(text, limit)
    assert "".join(piece for _, piece in pieces) == text
    assert all(text[offset:offset + len(piece)] == piece for offset, piece in pieces)
    assert all(len(piece) <= limit for _, piece in pieces)
    assert len(pieces) == 1 or all(piece for _, piece in pieces)


def test_nlp_a_text_within_the_limits_is_one_piece():
    text = "I trust her. " * (LONG_TEXT // 13)
    assert text_pieces(text, 1_000_000) == [(0, text)]
    pieces = text_pieces(text + "x" * 20, 1_000_000)
    assert len(pieces) > 1 and max(len(p) for _, p in pieces) <= PIECE_CHARS
    assert all(piece.endswith(". ") for _, piece in pieces[:-1])  # cut at sentence ends


def test_nlp_rules_coder_codes_a_turn_over_the_pipeline_limit(rules_coder, nlp, monkeypatch):
    sentences = ["Honestly I rely on Sam, he turns up every week.",
                 "Nobody there listened to me at all.", "I feel so alone most days.",
                 "But I still hope things get better."]
    text = " ".join(sentences[i % 4] for i in range(60))
    monkeypatch.setattr(nlp, "max_length", 700)  # spaCy would refuse the turn (E088)
    assert len(text) > 3 * nlp.max_length
    found = list(rules_coder.code([TurnInput("long", text, "client")]))
    expected = []
    for offset, piece in text_pieces(text, 700):
        expected += [(m.code, m.start_char + offset, m.end_char + offset)
                     for m in rules_coder.code([TurnInput("piece", piece, "client")])]
    assert [(m.code, m.start_char, m.end_char) for m in found] == expected
    assert {m.code for m in found} >= {"trust", "isolation", "hope"}
    for match in found:  # every span selects, in the whole turn, the words it names
        assert f"'{text[match.start_char:match.end_char]}'" in match.evidence


def test_nlp_pseudonymiser_reads_a_turn_over_the_pipeline_limit(monkeypatch):
    from reltext.corpus.pseudonymise import Pseudonymiser, load_ner

    nlp = load_ner()
    monkeypatch.setattr(nlp, "max_length", 500)  # spaCy would refuse the turn (E088)
    turn = "I met Dave Smith in Leeds again, and then we went home. " * 30
    text = f"Sam: {turn}\n"
    rewritten = Pseudonymiser(nlp=nlp).rewrite(text, [(5, 5 + len(turn))], scope_key="p")
    assert "Dave Smith" not in rewritten.text and "Leeds" not in rewritten.text
    assert rewritten.text.count("[PERSON_2]") == 30
