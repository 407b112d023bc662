"""The rules coder: phrases and patterns read in context."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reltext.coding.coders import TurnInput


def codes_of(coder, text: str, role: str = "client") -> set[str]:
    return {m.code for m in coder.code([TurnInput("t", text, role)])}


def test_rules_negated_trust_flips_to_mistrust(rules_coder):
    assert "mistrust" in codes_of(rules_coder, "I don't trust the doctors at all.")
    assert "trust" not in codes_of(rules_coder, "I don't trust the doctors at all.")
    assert "trust" in codes_of(rules_coder, "I trust her, she's always been straight with me.")


def test_rules_negative_subject_flips(rules_coder):
    found = codes_of(rules_coder, "Nobody cares about me these days.")
    assert "isolation" in found and "connection" not in found


def test_rules_evidence_names_the_flip(rules_coder):
    [match] = [m for m in rules_coder.code([TurnInput("t", "I can't rely on my brother.")])
               if m.code == "mistrust"]
    assert match.evidence.startswith("trust/phrase/")
    assert "(negated -> mistrust)" in match.evidence and match.evidence.endswith("'rely on'")


def test_rules_hypothetical_trust_is_dropped(rules_coder):
    assert "trust" not in codes_of(rules_coder, "If I could trust someone, things might change.")


def test_rules_worker_question_is_not_client_agency(rules_coder):
    assert "agency" not in codes_of(rules_coder, "Have you decided to cut down?", "therapist")
    assert "agency" in codes_of(rules_coder, "I've decided to cut down.", "client")


def test_rules_backchannel_turns_are_never_coded(rules_coder):
    for text in ("Mm-hmm.", "Okay.", "Yeah, yeah.", "Right, okay.", "Uh-huh. Sure."):
        assert codes_of(rules_coder, text) == set(), text


def test_rules_role_condition_limits_a_phrase_to_workers(rules_coder):
    text = "It's your choice, you know yourself best."
    assert "empowerment" in codes_of(rules_coder, text, "STR worker")
    assert "empowerment" in codes_of(rules_coder, text, "Therapist")
    assert "empowerment" not in codes_of(rules_coder, text, "participant")


def test_rules_hope_lemma_is_fixed(rules_coder, nlp):
    assert [t.lemma_ for t in nlp("She hoped and is hoping")][1::3] == ["hope", "hope"]
    assert "hope" in codes_of(rules_coder, "I'm hoping the new flat works out.")


def test_rules_locus_needs_a_problem(rules_coder):
    assert "locus_situation" not in codes_of(rules_coder, "I went to work on Monday.")
    assert "locus_situation" in codes_of(
        rules_coder, "The problem is money, I can't pay the rent this month.")


def test_rules_offsets_select_the_matched_text(rules_coder):
    text = "Well, honestly? My sister has been a real support, I can rely on her."
    matches = list(rules_coder.code([TurnInput("t", text, "client")]))
    assert matches
    for match in matches:
        quoted = match.evidence.split(": ", 1)[1]
        assert f"'{text[match.start_char:match.end_char]}'" == quoted
        assert 0 < match.confidence <= 1


def test_rules_keeps_keys_and_order_over_many_turns(rules_coder):
    items = [TurnInput(str(i), text, "client") for i, text in enumerate(
        ["Mm-hmm.", "I feel so alone since the move.", "I've decided to quit."])]
    keys = [m.key for m in rules_coder.code(items)]
    assert keys == sorted(keys) and set(keys) == {"1", "2"}


def test_rules_code_turns_gives_store_rows(rules_coder):
    rows = rules_coder.code_turns([{"turn_pk": 7, "text": "I don't trust them.", "role": "",
                                    "speaker": "client"}])
    assert rows and all(r["turn_pk"] == 7 and r["origin"] == "rule" for r in rows)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from([
    "I don't trust", "them", "nobody", "cares", "if", "I", "could", "hope", "?", ".", "ー",
    "my mum", "work", "problem", "😀", "  ", "\n", "let me down", "decide", "your choice",
]), max_size=25), st.sampled_from(["client", "therapist", ""]))
def test_rules_offsets_are_within_the_turn(rules_coder, words, role):
    text = " ".join(words)
    for match in rules_coder.code([TurnInput("t", text, role)]):
        assert 0 <= match.start_char < match.end_char <= len(text)
        assert text[match.start_char:match.end_char].strip()


def test_rules_verbless_turns_are_coded_and_end(rules_coder):
    # A fragment whose root is a noun: the hypothetical and negation checks walk the parse
    # up to a verb and must stop at the root.
    assert "connection" in codes_of(rules_coder, "Real support from my family, honestly.")
    assert codes_of(rules_coder, "No support. None at all.") <= {"isolation", "connection"}


def test_rules_confidence_is_how_often_each_rule_was_right(relational_codebook, nlp):
    """Measured per rule (shipped table), shrunk toward the code's precision, and moved by
    the team's decisions: not the codebook's 0.8 for nearly every rule."""
    from reltext.coding.coders import TurnInput
    from reltext.coding.coders.confidence import RuleConfidence, rule_of
    from reltext.coding.coders.rules import RulesCoder

    shipped = RuleConfidence.shipped(relational_codebook)
    coder = RulesCoder(relational_codebook, nlp=nlp, confidences=shipped)
    texts = ["I trust her with anything.", "I've decided to cut down.",
             "Nobody listens to me, they decided everything.", "I feel hopeless about it.",
             "My mum passed away and my brother and I are estranged.",
             "I go to the group on Tuesdays.", "It's my fault really."]
    matches = list(coder.code([TurnInput(str(i), t, "client") for i, t in enumerate(texts)]))
    confidences = {match.confidence for match in matches}
    assert len(matches) >= 7 and len(confidences) >= 5  # an order to review by
    for match in matches:
        assert match.confidence == shipped.of(rule_of(match.evidence), match.code)
        assert 0.05 < match.confidence < 0.95
    rule, code = rule_of(matches[0].evidence), matches[0].code
    rejected = shipped.with_outcomes([(rule, code, False)] * 40)
    accepted = shipped.with_outcomes([(rule, code, True)] * 40)
    assert rejected.of(rule, code) < shipped.of(rule, code) < accepted.of(rule, code)
    other = RuleConfidence.shipped(type("Book", (), {"sha256": "another codebook"})())
    assert other.of(rule, code) == other.of("any/rule/0", code)  # per code only


def test_rules_confidence_learns_from_the_projects_decisions(tmp_path):
    from viewer_support import build_project

    from reltext.review import decisions as review
    from reltext.coding.coders.confidence import RuleConfidence, decision_outcomes
    from reltext.model import Verdict
    from reltext.store.database import Store

    store = Store.open(build_project(tmp_path))
    queue = {item["code"]: item for item in review.review_queue(store, "alice", limit=9)}
    review.decide(store, "alice", queue["trust"]["coding_id"], Verdict.ACCEPT)
    review.decide(store, "alice", queue["hope"]["coding_id"], Verdict.REJECT)
    review.decide(store, "bob", queue["isolation"]["coding_id"], Verdict.CORRECT, code="agency")
    review.decide(store, "bob", queue["stigma"]["coding_id"], Verdict.CORRECT, start_char=0,
                  end_char=6)
    outcomes = sorted(decision_outcomes(store))
    store.close()
    # The test project's evidence names its pattern ids (trust.rely...) as the rule.
    assert outcomes == [("hope.better", "hope", False), ("isolation.alone", "isolation", False),
                        ("stigma.test", "stigma", True), ("trust.rely", "trust", True)]
    assert RuleConfidence.shipped().with_outcomes(outcomes).counts[("trust.rely", "trust")] \
        == (1.0, 1.0)
