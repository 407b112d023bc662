"""Loading, validating and exchanging codebooks."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from lxml import etree

from reltext.coding.codebook import (
    code_guid,
    codebook_from_qdc,
    codebook_to_qdc,
    codebook_to_yaml,
    load_codebook,
)
from reltext.errors import CodebookError

ROOT = Path(__file__).resolve().parent.parent
XSD = ROOT / "reltext" / "data" / "Codebook.xsd"

MINIMAL = {
    "name": "mini",
    "version": "0.1",
    "role_groups": {"worker": ["therapist", "STR worker"]},
    "codes": [
        {"key": "trust", "name": "Trust", "family": "goods", "definition": "Reliance.",
         "polarity": "good", "colour": "#2e8b57", "negation": "flip", "flip_to": "mistrust",
         "phrases": ["rely on", {"phrase": "here for you", "roles": ["worker"]}],
         "token_patterns": [[{"LEMMA": "trust"}, {"POS": "PRON"}]]},
        {"key": "mistrust", "name": "Mistrust", "family": "evils", "definition": "Suspicion.",
         "polarity": "evil", "colour": "#8b0000", "phrases": ["let I down"]},
    ],
}


def write(tmp_path: Path, data) -> Path:
    path = tmp_path / "codebook.yaml"
    path.write_text(yaml.safe_dump(data) if not isinstance(data, str) else data)
    return path


def changed(**changes) -> dict:
    data = yaml.safe_load(yaml.safe_dump(MINIMAL))
    for dotted, value in changes.items():
        target = data
        *parts, last = dotted.split("__")
        for part in parts:
            target = target[int(part)] if part.isdigit() else target[part]
        if value is None:
            del target[int(last) if last.isdigit() else last]
        else:
            target[int(last) if last.isdigit() else last] = value
    return data


def test_codebook_loads_the_relational_codebook(relational_codebook):
    codebook = relational_codebook
    assert codebook.name == "relational" and codebook.version == "1.0"
    assert set(codebook.keys) == {
        "trust", "mistrust", "hope", "hopelessness", "stigma", "connection", "isolation",
        "agency", "empowerment", "disempowerment", "reflexivity", "locus_self",
        "locus_other", "locus_situation"}
    assert {c.key for c in codebook.codes if c.polarity == "good"} == {
        "trust", "hope", "connection", "empowerment"}
    assert {c.key for c in codebook.codes if c.polarity == "evil"} == {
        "mistrust", "hopelessness", "isolation", "disempowerment", "stigma"}
    assert len({c.colour for c in codebook.codes}) == 14
    assert codebook.code("trust").flip_to == "mistrust"
    assert codebook.coder_id == "rules:relational@1.0"
    assert len(codebook.sha256) == 64


def test_codebook_role_groups_match_case_insensitively(tmp_path):
    codebook = load_codebook(write(tmp_path, MINIMAL))
    assert codebook.role_matches(("worker",), "STR Worker")
    assert codebook.role_matches(("worker",), "THERAPIST")
    assert not codebook.role_matches(("worker",), "client")
    assert codebook.role_matches((), "anyone")


@pytest.mark.parametrize("data, expected", [
    (changed(codes__0__colour="green"),
     "code 'trust': 'colour' must be a hex colour like '#2e8b57', got 'green'. "
     "Write six hex digits after '#', quoted."),
    (changed(codes__0__polarity="positive"),
     "code 'trust': 'polarity' must be one of good, evil, neutral, got 'positive'. "
     "Use 'good' for a relational good, 'evil' for an evil, else 'neutral'."),
    (changed(codes__0__flip_to="distrust"),
     "code 'trust': 'flip_to' names the code 'distrust', which is not in the codebook. "
     "Use one of: mistrust, trust."),
    (changed(codes__0__colour_name="x"),
     "code 'trust': unknown field 'colour_name' in the code. Remove it or use one of: "
     "colour, confidence, counter_examples, definition, examples, exclude, family, "
     "flip_to, hypothetical, hypothetical_to, include, key, name, negation, parent, "
     "phrases, polarity, question, requires_context, roles, token_patterns."),
    (changed(codes__1__definition=None),
     "code 'mistrust': the code has no 'definition'. Add 'definition:' to the code."),
    (changed(version=None),
     "the codebook has no 'version'. Add 'version:' to the codebook."),
    (changed(codes__0__negation="invert"),
     "code 'trust': 'negation' must be one of drop, flip, keep, got 'invert'. "
     "Set 'negation' to 'drop' or 'flip' or 'keep'."),
    (changed(codes__0__token_patterns=[[{"LEMMA": "trust"}, {"POSS": "PRON"}]]),
     "code 'trust', pattern 0: invalid token pattern"),
    (changed(codes__0__phrases=["rely on", {"phrase": "be here", "roles": "worker",
                                            "weight": 2}]),
     "code 'trust', pattern 1: unknown field 'weight' in a phrase. Use only phrase, roles, "
     "question, negation, hypothetical, confidence."),
])
def test_codebook_bad_codebook_gives_one_line_error(tmp_path, data, expected):
    path = write(tmp_path, data)
    with pytest.raises(CodebookError) as caught:
        load_codebook(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: {expected}")
    assert "\n" not in message


def test_codebook_bad_token_pattern_names_attribute_and_fix(tmp_path):
    path = write(tmp_path, changed(codes__0__token_patterns=[[{"LEMMA": "trust"},
                                                               {"POSS": "PRON"}]]))
    with pytest.raises(CodebookError) as caught:
        load_codebook(path)
    error = caught.value
    assert error.code_key == "trust" and error.pattern_index == 0
    assert "POSS" in str(error) and str(error).endswith(
        "Use spaCy Matcher token attributes such as LEMMA, LOWER, POS, DEP, OP, with "
        "IN/NOT_IN lists.")


def test_codebook_yaml_syntax_error_names_the_line(tmp_path):
    path = write(tmp_path, "name: x\nversion: '1'\ncodes:\n  - key: [unclosed\n")
    with pytest.raises(CodebookError, match=r"line \d+: the codebook is not valid YAML"):
        load_codebook(path)


def test_codebook_missing_file_says_so(tmp_path):
    with pytest.raises(CodebookError, match="the codebook file does not exist"):
        load_codebook(tmp_path / "nope.yaml")


def test_codebook_duplicate_key_is_an_error(tmp_path):
    data = changed()
    data["codes"][1]["key"] = "trust"
    data["codes"][0]["negation"] = "drop"
    with pytest.raises(CodebookError, match="code 'trust': the key is used by two codes"):
        load_codebook(write(tmp_path, data))


def test_codebook_qdc_is_valid_against_the_refi_xsd(relational_codebook):
    content = codebook_to_qdc(relational_codebook)
    schema = etree.XMLSchema(etree.parse(str(XSD)))
    document = etree.fromstring(content)
    assert schema.validate(document), schema.error_log
    guids = [el.get("guid") for el in document.iter("{urn:QDA-XML:codebook:1.0}Code")]
    assert code_guid("relational", "trust") in guids
    assert codebook_to_qdc(relational_codebook) == content  # stable GUIDs, stable output


def test_codebook_qdc_round_trip_keeps_codes(tmp_path, relational_codebook):
    path = tmp_path / "relational.qdc"
    path.write_bytes(codebook_to_qdc(relational_codebook))
    back = codebook_from_qdc(path)
    assert back.name == "relational" and back.version == "1.0"
    assert back.keys == relational_codebook.keys
    for original, read in zip(relational_codebook.codes, back.codes):
        assert (read.colour, read.family, read.polarity) == (
            original.colour, original.family, original.polarity)
        assert read.definition.startswith(original.name)


def test_codebook_qdc_import_of_another_tool(tmp_path):
    source = Path(__file__).resolve().parent.parent.parent / "shared" / "refi-qda" / \
        "example-minimal-codebook.qdc"
    if not source.exists():
        pytest.skip("the shared REFI-QDA examples are not here")
    codebook = codebook_from_qdc(source)
    assert codebook.keys == ("trust", "hope")
    assert codebook.code("trust").family == "relational_constructs"
    # A codebook brought in can be written as YAML, given patterns, and loaded again.
    path = tmp_path / "imported.yaml"
    path.write_text(codebook_to_yaml(codebook))
    assert load_codebook(path).keys == ("trust", "hope")


def test_codebook_invalid_qdc_is_a_codebook_error(tmp_path):
    path = tmp_path / "bad.qdc"
    path.write_text('<CodeBook xmlns="urn:QDA-XML:codebook:1.0"><Codes/></CodeBook>')
    with pytest.raises(CodebookError, match="not a valid REFI-QDA codebook"):
        codebook_from_qdc(path)


def test_codebook_yaml_round_trip_keeps_rules_and_settings(tmp_path, relational_codebook):
    path = tmp_path / "again.yaml"
    path.write_text(codebook_to_yaml(relational_codebook), encoding="utf-8")
    again = load_codebook(path)
    for original, read in zip(relational_codebook.codes, again.codes):
        assert read.rules == original.rules
        assert (read.negation, read.flip_to, read.hypothetical, read.question,
                read.requires_context, read.roles) == (
            original.negation, original.flip_to, original.hypothetical, original.question,
            original.requires_context, original.roles)
    assert again.role_groups == relational_codebook.role_groups
    assert again.contexts == relational_codebook.contexts
