"""Characters a transcript cannot keep, replaced one for one at ingest; odd bytes read as text."""

from __future__ import annotations

import codecs
import zipfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from reltext import Project
from reltext.corpus.readers.characters import UNSAFE, clean_text
from reltext.exchange.refi import schema_errors

# Every code point, lone surrogates and controls included.
any_text = st.text(alphabet=st.characters(blacklist_categories=()), max_size=80)


@settings(max_examples=300, deadline=None)
@given(any_text)
def test_characters_cleaned_text_keeps_its_length_and_is_xml_safe(text):
    cleaned, found = clean_text(text)
    assert len(cleaned) == len(text)
    assert sum(found.values()) == len(UNSAFE.findall(text))
    assert [c for c, o in zip(cleaned, text) if c != o] == [
        "\n" if o in "\x0b\x0c" else "\ufffd" for o in text if UNSAFE.match(o)]
    element = etree.Element("t", name=cleaned)
    element.text = cleaned
    etree.tostring(element)  # raises on anything XML cannot carry
    cleaned.encode("utf-8")  # and on a lone surrogate


def test_characters_form_feed_and_vertical_tab_in_a_text_file_export_to_refi(tmp_path, run_cli):
    source = tmp_path / "p03.txt"
    source.write_text("Interviewer: How are things?\nDee: I trust her.\x0cShe is kind\x0b and "
                      "I rely on her.\x07\n", encoding="utf-8")
    result = run_cli("ingest", str(source))
    assert result.exit_code == 0
    assert ("Warning: " + str(source) + ": 3 character(s) that cannot be stored or exported "
            "were replaced: 1 × control character (U+0007) by U+FFFD, 1 × vertical tab "
            "(U+000B) by a line break, 1 × form feed (U+000C) by a line break; every offset "
            "is unchanged") in result.output
    assert run_cli("code", "--coder", "rules").exit_code == 0
    with Project(tmp_path / "project.db") as project:
        codings = project.codings()
        turns = project.turns()
    assert set(codings["code"]) == {"trust"} and len(codings) == 2
    assert turns.loc[1, "text"] == "I trust her.\nShe is kind\n and I rely on her.\ufffd"
    result = run_cli("export", "qdpx", "--out", str(tmp_path / "p.qdpx"))
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(tmp_path / "p.qdpx") as archive:
        assert schema_errors(archive.read("project.qde")) == []


def test_characters_stray_byte_is_read_as_windows_1252_with_a_warning(tmp_path, run_cli):
    source = tmp_path / "p04.txt"
    source.write_bytes("Interviewer: Café then?\nAnn: I trust her ".encode("cp1252") + b"\x81"
                       + b" a lot.\n")
    result = run_cli("ingest", str(source))
    assert result.exit_code == 0, result.output
    assert ("not UTF-8; read as Windows-1252 (cp1252), where 1 byte(s) it does not define "
            "became U+FFFD (the first 0x81, at byte 41)") in result.output
    with Project(tmp_path / "project.db") as project:
        assert list(project.turns()["text"]) == ["Café then?", "I trust her \ufffd a lot."]
    binary = tmp_path / "photo.txt"  # many undefined bytes: still not a transcript
    binary.write_bytes(b"\x81\x8d\x8f\x90\x9d" * 40)
    result = run_cli("ingest", str(binary))
    assert result.exit_code == 1 and "the file is binary" in result.output


def test_characters_lone_surrogate_in_utf16_is_replaced_not_refused(tmp_path, run_cli):
    source = tmp_path / "p05.txt"
    source.write_bytes(codecs.BOM_UTF16_LE + "Ann: I trust \ud800 her.\n".encode(
        "utf-16-le", "surrogatepass"))
    result = run_cli("ingest", str(source))
    assert result.exit_code == 0, result.output
    assert "1 × lone surrogate (U+D800) by U+FFFD" in result.output
    with Project(tmp_path / "project.db") as project:
        assert list(project.turns()["text"]) == ["I trust \ufffd her."]


def test_characters_manifest_values_are_cleaned_too(tmp_path: Path, run_cli):
    (tmp_path / "p06.txt").write_text("Ann: Hello.\n", encoding="utf-8")
    manifest = tmp_path / "manifest.csv"
    manifest.write_text("transcript,site\np06,North\x0bgate\n", encoding="utf-8")
    result = run_cli("ingest", str(tmp_path / "p06.txt"), "--manifest", str(manifest))
    assert result.exit_code == 0 and "1 × vertical tab" in result.output
    assert run_cli("export", "qdpx", "--out", str(tmp_path / "p.qdpx")).exit_code == 0
