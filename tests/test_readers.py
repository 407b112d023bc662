"""Reading each transcript format into turns, with offsets that select each turn's text."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest
from docx import Document
from hypothesis import given, settings
from hypothesis import strategies as st

from reltext.errors import ReltextError, TranscriptFormatError
from reltext.corpus.readers import EncodingWarning, read_transcripts
from reltext.corpus.readers.characters import UNSAFE, clean_transcript
from reltext.corpus.readers.compose import RawTurn, compose_transcript
from reltext.corpus.readers.labelled import parse_labelled

LABELLED = """Project: Support workers evaluation
Date: 3 March 2024

[00:00:05] Interviewer: Thanks for coming in. How has the last month been?
[00:00:12] Dee: Up and down, honestly. The new worker comes on Tuesdays
and she actually listens, which makes a difference.

[00:01:02] Interviewer: Mm-hmm.
[00:01:04] Dee: And my mum's been round more.
[00:01:30] Marcus: Sorry I'm late - can I join?
"""


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


def speakers(transcript) -> list[str]:
    return [turn.speaker for turn in transcript.turns]


def test_readers_labelled_text_turns_preamble_and_continuation(tmp_path):
    (transcript,) = read_transcripts(write(tmp_path, "dee_w1.txt", LABELLED))
    assert transcript.transcript_id == "dee_w1"
    assert speakers(transcript) == ["Interviewer", "Dee", "Interviewer", "Dee", "Marcus"]
    assert transcript.turns[1].text == (
        "Up and down, honestly. The new worker comes on Tuesdays\n"
        "and she actually listens, which makes a difference."
    )
    assert transcript.turns[0].timestamp == "00:00:05"
    assert transcript.turns[0].role == "interviewer"
    assert transcript.meta["date"] == "3 March 2024"
    assert transcript.meta["preamble"].startswith("Project:")
    assert [t.turn_id for t in transcript.turns] == ["0", "1", "2", "3", "4"]
    transcript.check_offsets()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Q: How are you?\nA: Fine.\nQ: And work?\nA: Busy.\n", ["Q", "A", "Q", "A"]),
        ("Participant 3: I was sectioned.\nInterviewer: When?\nParticipant 3: Last year.\n",
         ["Participant 3", "Interviewer", "Participant 3"]),
        ("(00:01:02) P01: Hello.\n00:01:09 Interviewer: Hi.\n", ["P01", "Interviewer"]),
        ("Interviewer: One.\nRespondent: Two.\n", ["Interviewer", "Respondent"]),
        ("SAM: All caps labels.\nJO: Still speakers.\nSAM: Yes.\n", ["SAM", "JO", "SAM"]),
    ],
)
def test_readers_labelled_label_styles(text, expected):
    transcript = parse_labelled("t", text, source="t.txt")
    assert speakers(transcript) == expected
    transcript.check_offsets()


def test_readers_labelled_colon_inside_a_turn_is_not_a_speaker():
    text = "Interviewer: What did he say?\nSam: He said: you can't stay here.\nInterviewer: Ok.\n"
    transcript = parse_labelled("t", text, source="t.txt")
    assert speakers(transcript) == ["Interviewer", "Sam", "Interviewer"]
    assert transcript.turns[1].text == "He said: you can't stay here."


def test_readers_labelled_consecutive_turns_by_one_speaker_stay_two():
    text = "Sam: First paragraph.\n\nSam: Second paragraph.\nJo: Right.\n"
    assert speakers(parse_labelled("t", text, source="t.txt")) == ["Sam", "Sam", "Jo"]


@pytest.mark.parametrize(
    ("encode", "warns"),
    [
        (lambda s: s.encode("utf-8"), False),
        (lambda s: codecs.BOM_UTF8 + s.encode("utf-8"), False),
        (lambda s: s.encode("utf-16"), False),
        (lambda s: s.encode("cp1252"), True),
        (lambda s: s.replace("\n", "\r\n").encode("utf-8"), False),
        (lambda s: s.replace("\n", "\r").encode("utf-8"), False),
    ],
    ids=["utf8", "utf8-bom", "utf16-bom", "cp1252", "crlf", "cr"],
)
def test_readers_encodings_and_line_endings(tmp_path, encode, warns, recwarn):
    text = "Interviewer: Café first?\nRenée: Yes, “please”.\nInterviewer: Ok.\n"
    (transcript,) = read_transcripts(write(tmp_path, "enc.txt", encode(text)))
    assert speakers(transcript) == ["Interviewer", "Renée", "Interviewer"]
    assert transcript.turns[1].text == "Yes, “please”."
    assert "\r" not in transcript.text
    assert any(isinstance(w.message, EncodingWarning) for w in recwarn) is warns


VTT = """WEBVTT

NOTE Exported from a meeting recording

1
00:00:01.000 --> 00:00:04.000
<v Interviewer>How are things at the moment?</v>

2
00:00:04.500 --> 00:00:07.000
<v Ana>Better than last time.</v>

3
00:00:07.000 --> 00:00:09.250
<v Ana>I've started going to the group.</v>

4
00:00:09.500 --> 00:00:10.000
Interviewer: That's great &amp; how is it?
"""


def test_readers_vtt_voice_tags_prefixes_and_merged_cues(tmp_path):
    (transcript,) = read_transcripts(write(tmp_path, "ana.vtt", VTT))
    assert speakers(transcript) == ["Interviewer", "Ana", "Interviewer"]
    ana = transcript.turns[1]
    assert ana.text == "Better than last time. I've started going to the group."
    assert (ana.timestamp, ana.end_timestamp) == ("00:00:04.500", "00:00:09.250")
    assert transcript.turns[2].text == "That's great & how is it?"
    transcript.check_offsets()


def test_readers_srt_cues_and_speakers(tmp_path):
    srt = ("1\n00:00:01,000 --> 00:00:02,000\nJo: Hello.\n\n"
           "2\n00:00:02,500 --> 00:00:04,000\nSam: Hi, how are you\n\n"
           "3\n00:00:04,000 --> 00:00:05,000\ndoing today?\n")
    (transcript,) = read_transcripts(write(tmp_path, "c.srt", srt))
    assert speakers(transcript) == ["Jo", "Sam"]
    assert transcript.turns[1].text == "Hi, how are you doing today?"
    assert transcript.turns[1].end_timestamp == "00:00:05.000"


def test_readers_vtt_broken_timing_names_the_line(tmp_path):
    path = write(tmp_path, "bad.vtt", "WEBVTT\n\n1\n00:00:01.000 --> 00:0x:02.000\n<v A>Hi</v>\n")
    with pytest.raises(TranscriptFormatError) as error:
        read_transcripts(path)
    assert str(error.value).startswith(f"{path}, line 4: broken cue timing")


def make_docx(path: Path) -> Path:
    document = Document()
    document.add_heading("Interview 7", level=1)
    document.add_paragraph("Recorded at the day centre.")
    for speaker, text in [("Interviewer", "How did the meeting go?"),
                          ("Lee", "It went well, they let me decide."),
                          ("Interviewer", "Tell me more.")]:
        paragraph = document.add_paragraph()
        paragraph.add_run(f"{speaker}:").bold = True
        paragraph.add_run(f" {text}")
    document.add_paragraph("I mean it felt different this time.")
    document.add_heading("Part two", level=2)
    paragraph = document.add_paragraph()
    paragraph.add_run("Lee").bold = True
    paragraph.add_run(": Yes.")
    document.save(path)
    return path


def test_readers_docx_bold_labels_headings_and_continuation(tmp_path):
    (transcript,) = read_transcripts(make_docx(tmp_path / "int7.docx"))
    assert speakers(transcript) == ["Interviewer", "Lee", "Interviewer", "Lee"]
    assert transcript.turns[2].text == "Tell me more.\nI mean it felt different this time."
    assert transcript.meta["preamble"].startswith("Interview 7")
    transcript.check_offsets()


def test_readers_docx_that_is_not_word(tmp_path):
    path = write(tmp_path, "fake.docx", "Interviewer: hello\n")
    with pytest.raises(TranscriptFormatError, match="not a Word .docx document"):
        read_transcripts(path)


def test_readers_csv_keeps_ids_roles_and_extra_columns(tmp_path):
    csv_text = ("transcript_id,turn_id,speaker,role,timestamp,text,site\n"
                "s1,007,Kim,peer worker,00:00:01,\"Hi, I'm Kim.\",North\n"
                "s1,008,Ray,client,,\"Line one\nline two\",North\n"
                "s2,1,Kim,peer worker,,Again.,South\n")
    first, second = read_transcripts(write(tmp_path, "turns.csv", csv_text))
    assert [t.turn_id for t in first.turns] == ["007", "008"]
    assert first.turns[0].role == "peer worker"
    assert first.turns[1].text == "Line one\nline two"
    assert first.turns[0].meta == {"site": "North"}
    assert second.transcript_id == "s2"
    first.check_offsets()


def test_readers_tsv_and_xlsx(tmp_path):
    from openpyxl import Workbook

    tsv = "transcript_id\tturn_id\tspeaker\ttext\nt\t0\tA\tHello.\nt\t1\tB\tHi.\n"
    (transcript,) = read_transcripts(write(tmp_path, "t.tsv", tsv))
    assert speakers(transcript) == ["A", "B"]
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["transcript_id", "turn_id", "speaker", "text", "wave"])
    sheet.append(["x", 1, "A", "Hello.", 2])
    sheet.append(["x", 2, "B", "Hi.", 2])
    workbook.save(tmp_path / "t.xlsx")
    (transcript,) = read_transcripts(tmp_path / "t.xlsx")
    assert [t.turn_id for t in transcript.turns] == ["1", "2"]
    assert transcript.turns[0].meta == {"wave": "2"}


@pytest.mark.parametrize("kind", ["docx", "xlsx"])
def test_readers_word_or_excel_file_with_a_zip_bomb_inside_is_refused(tmp_path, kind):
    import zipfile

    from openpyxl import Workbook

    path = tmp_path / f"bomb.{kind}"
    if kind == "docx":
        make_docx(path)
    else:
        workbook = Workbook()
        workbook.active.append(["transcript_id", "turn_id", "speaker", "text"])
        workbook.save(path)
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        with archive.open("customXml/item9.xml", "w") as member:  # 20 MB of zeros in 20 kB
            for _ in range(20):
                member.write(bytes(2**20))
    with pytest.raises(ReltextError, match=r"the member 'customXml/item9.xml' of the archive "
                                           r"unpacks to 20.0 MiB .* zip bomb"):
        read_transcripts(path)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.txt", b"", "the file is empty"),
        ("blob.txt", bytes(range(256)) * 4, "the file is binary"),
        ("cols.csv", b"transcript_id,turn_id,text\na,1,hi\n", "has no 'speaker' column"),
        ("nolabel.txt", b"just some words\nand more\n", "found no speaker label"),
        ("nospeaker.csv", b"transcript_id,turn_id,speaker,text\na,1,,hi\n",
         "line 2: the 'speaker' column must be non-empty"),
    ],
)
def test_readers_bad_input_errors(tmp_path, name, content, message):
    path = write(tmp_path, name, content)
    with pytest.raises(TranscriptFormatError) as error:
        read_transcripts(path)
    assert str(path) in str(error.value)
    assert message in str(error.value)


label = st.from_regex(r"[A-Z][a-z]{1,8}", fullmatch=True)
utterance = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\n\r\x85\u2028\u2029"),
    min_size=1, max_size=60,
).filter(lambda s: s.strip())


# As an utterance, but with every character a file may hold: controls, lone surrogates.
dirty = st.text(alphabet=st.characters(blacklist_characters="\n\r\x85\u2028\u2029",
                                       blacklist_categories=()), min_size=1, max_size=40
                ).filter(lambda s: s.strip())


def labelled(turns: list[tuple[str, str]]):
    return parse_labelled("t", "".join(f"{speaker}: {words}\n" for speaker, words in turns),
                          source="t.txt")


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(label, utterance), min_size=1, max_size=12))
def test_readers_labelled_offsets_select_turn_text(turns):
    transcript = labelled(turns)
    transcript.check_offsets()
    previous_end = 0
    for turn in transcript.turns:
        assert turn.start_char >= previous_end  # in order, never overlapping
        previous_end = turn.end_char


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(label, dirty), min_size=1, max_size=8))
def test_readers_cleaned_characters_keep_every_offset(turns):
    transcript = labelled(turns)
    cleaned, found = clean_transcript(transcript)
    cleaned.check_offsets()
    assert [(t.start_char, t.end_char) for t in cleaned.turns] == [
        (t.start_char, t.end_char) for t in transcript.turns]
    assert not UNSAFE.search(cleaned.text) and bool(found) == bool(UNSAFE.search(transcript.text))


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(label, utterance), min_size=1, max_size=12), st.text(max_size=40))
def test_readers_composed_offsets_select_turn_text(turns, header):
    raw = [RawTurn(speaker=s, text=t, timestamp="00:00:01") for s, t in turns]
    transcript = compose_transcript("t", raw, format="vtt", source="t.vtt", header=header)
    transcript.check_offsets()
    assert [t.text for t in transcript.turns] == [t for _, t in turns]


# A header block as researchers type it: keys that look like speaker labels (Interviewer,
# Participant) above timestamped turns.
HEADER = """Interviewer: RH
Participant: STR04 (STR worker, 6 years in post)
Date: 14 March 2024
Location: Westbrook CMHT
Study: STR evaluation, wave 1

[00:00:04] RH: Thanks for making the time. Could you tell me about your role?
[00:00:11] STR04: I've been an STR worker for six years now.
[00:01:02] RH: And how do clients see you?
[00:01:09] STR04: Most of them rely on me, I think.
"""


def test_readers_labelled_header_block_is_metadata_not_turns(tmp_path):
    (transcript,) = read_transcripts(write(tmp_path, "str04.txt", HEADER))
    assert speakers(transcript) == ["RH", "STR04", "RH", "STR04"]
    assert [turn.role for turn in transcript.turns] == ["interviewer", "participant"] * 2
    assert transcript.meta["interviewer"] == "RH"
    assert transcript.meta["participant"] == "STR04 (STR worker, 6 years in post)"
    assert transcript.meta["location"] == "Westbrook CMHT"
    transcript.check_offsets()


def test_readers_labelled_opening_exchange_is_not_a_header(tmp_path):
    text = ("Interviewer: Thanks for coming.\nParticipant: No problem.\n\n"
            "Interviewer: How has it been?\nParticipant: Better.\n")
    (transcript,) = read_transcripts(write(tmp_path, "p1.txt", text))
    assert speakers(transcript) == ["Interviewer", "Participant"] * 2


def test_readers_labelled_key_value_lines_with_nothing_below_are_turns(tmp_path):
    # Short exchanges where one label is also a metadata key ("Note") are still read as turns.
    text = "Sam: I rang them.\nNote: Did they answer?\n"
    (transcript,) = read_transcripts(write(tmp_path, "short.txt", text))
    assert speakers(transcript) == ["Sam"]
    assert transcript.turns[0].text == "I rang them.\nNote: Did they answer?"
    transcript.check_offsets()


def pdf_bytes(pages: list[list[str]]) -> bytes:
    """A PDF with a text layer: each page's lines set in Helvetica, top to bottom."""
    def literal(line: str) -> str:
        return line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"",
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica "
               b"/Encoding /WinAnsiEncoding >>"]
    kids = []
    for lines in pages:
        stream = ("BT /F1 11 Tf 14 TL 72 760 Td "
                  + " ".join(f"({literal(line)}) Tj T*" for line in lines) + " ET"
                  ).encode("cp1252")
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
        objects.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents %d 0 R "
                       b"/Resources << /Font << /F1 3 0 R >> >> >>" % len(objects))
        kids.append(len(objects))
    objects[1] = (b"<< /Type /Pages /Kids [%s] /Count %d >>"
                  % (b" ".join(b"%d 0 R" % kid for kid in kids), len(kids)))
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, xref)
    return bytes(out)


def test_readers_pdf_text_layer_turns_and_offsets(tmp_path):
    header, body = HEADER.split("\n\n")
    lines = body.splitlines()
    path = write(tmp_path, "str04.pdf", pdf_bytes([
        [*header.splitlines(), "", *lines[:2], "Page 1 of 2"],
        [*lines[2:], "Page 2 of 2"],
    ]))
    (transcript,) = read_transcripts(path)
    assert transcript.format == "pdf" and transcript.transcript_id == "str04"
    assert speakers(transcript) == ["RH", "STR04", "RH", "STR04"]
    assert transcript.turns[1].text == "I've been an STR worker for six years now."
    assert transcript.turns[1].timestamp == "00:00:11"
    assert "Page" not in transcript.text
    assert transcript.meta["location"] == "Westbrook CMHT"
    transcript.check_offsets()


def test_readers_pdf_without_text_layer_says_so(tmp_path):
    path = write(tmp_path, "scan.pdf", pdf_bytes([[]]))
    with pytest.raises(TranscriptFormatError, match="no text layer.*OCR"):
        read_transcripts(path)
