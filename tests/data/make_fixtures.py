"""Write the reader-test fixtures in this folder (all made up; see README.md here).

Text fixtures whose bytes matter (encodings, line endings, binary) are written from here so
that they stay exactly as intended; rerun after editing: ``python tests/data/make_fixtures.py``.
"""

from __future__ import annotations

import csv
import io
import random
import zipfile
from datetime import datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
FIXED_ZIP_TIME = (2024, 1, 1, 0, 0, 0)

TEXT = {
    "three_speakers.txt": """\
Focus group: day centre members, session 2
Date: 2023-02-01
Recorded at the Larches day centre. Made-up fixture for the reader tests.

[00:00:05] Facilitator: Shall we start? Can everyone hear me okay?
[00:00:09] Amira: Yes, fine.
[00:00:11] Tom: Yeah. I wanted to say something about the bus, actually,
because it's been cancelled three times this month and
that's why I missed the group.
[00:00:24] Facilitator: Thanks, Tom. Amira, how about you?
[00:00:28] Amira: Same, really. The bus is hopeless.
[00:00:33] Tom: Told you.
""",
    "zoom.vtt": """\
WEBVTT

1
00:00:01.000 --> 00:00:04.500
Interviewer: How have things been since we last met?

2
00:00:04.500 --> 00:00:09.000
Sam: Up and down, to be honest. The first couple of weeks

3
00:00:09.000 --> 00:00:12.000
Sam: were hard, but it's got better.

4
00:00:12.000 --> 00:00:14.000
Interviewer: Mm-hmm.
""",
    "teams.vtt": """\
WEBVTT

NOTE
Meeting transcript. Made-up fixture for the reader tests.

5b1c9e2a-7d3f-4e11-9a0b-2f6c8d4e1a77/11-0
00:00:00.500 --> 00:00:03.000
<v Jo Bloggs>Hello, can you hear me?</v>

5b1c9e2a-7d3f-4e11-9a0b-2f6c8d4e1a77/12-0
00:00:03.000 --> 00:00:06.000
<v Priya Shah>Yes, loud and clear.</v>

5b1c9e2a-7d3f-4e11-9a0b-2f6c8d4e1a77/12-1
00:00:06.000 --> 00:00:08.000
<v Priya Shah>Shall we begin?</v>

5b1c9e2a-7d3f-4e11-9a0b-2f6c8d4e1a77/13-0
00:00:08.000 --> 00:00:10.000
<v Jo Bloggs>Let's.</v>
""",
    "captions.srt": """\
1
00:00:01,000 --> 00:00:03,000
Interviewer: Tell me about the group.

2
00:00:03,200 --> 00:00:06,000
Participant: It's the best bit
of my week.

3
00:00:06,000 --> 00:00:08,500
Participant: I wouldn't miss it.

4
00:00:08,600 --> 00:00:10,000
Interviewer: Why's that?
""",
    "qa.txt": """\
Interview with a day centre member (made-up fixture)

Q: How long have you been coming here?
A: About two years now.
Q: And what keeps you coming?
A: The people. Honestly, the people.
It's like a second family to me.
Q: Thanks, that's lovely.
""",
    "participants.txt": """\
Group interview, made-up fixture for the reader tests

(00:00:01) Interviewer: Welcome, everyone. Thanks for coming.
(00:00:04) Participant 3: Thanks for having us.
00:00:07 P01: Can I go first?
00:00:09 Interviewer: Of course.
00:00:11 P01: I've been with the service since March.
(00:00:15) Respondent: Me too, since March.
""",
    "missing_column.csv": """\
transcript_id,turn_id,text
m1,0,Hello there.
m1,1,Hi.
""",
    "broken_times.vtt": """\
WEBVTT

1
00:00:01.000 --> 00:00:03.000
Interviewer: Hello, thanks for coming.

2
00:00:03.000 --> 00:0x:05.000
Participant: No problem.
""",
    "not_word.docx": """\
Interviewer: This is plain text that was renamed to .docx.
Participant: So it is not a Word file at all.
""",
}

# (name, text, encoding, newline)
ENCODED = [
    ("utf16.txt", """\
Interviewer: Where did you grow up?
Participant: In Zürich, then Leeds.
Interviewer: Quite a change!
Participant: Yes — a big one. I still miss the lake.
""", "utf-16", "\n"),
    ("cp1252.txt", """\
Interviewer: What did the doctor say?
Participant: She said it’s “nothing to worry about”, but I’m not sure.
Interviewer: Mm.
Participant: We’re meeting at the café on Friday – I’ll ask again then.
""", "cp1252", "\n"),
    ("crlf.txt", """\
Interview saved on Windows (made-up fixture)

Interviewer: How was the week?
Participant: Busy. I went to the job centre on Monday,
and then the GP on Wednesday.
Interviewer: That's a lot.
Participant: It was.
""", "utf-8", "\r\n"),
    ("cr_only.txt", """\
Interview saved on an old Mac (made-up fixture)

Interviewer: Did the letter come?
Participant: It did, on Tuesday.
Interviewer: And?
Participant: They've said yes. I can't believe it.
""", "utf-8", "\r"),
    ("emoji.txt", """\
Interviewer: How was the trip? 😊
Participant: Brilliant 👍🏽 we went to Škofja Loka and saw the family 👨‍👩‍👧.
Interviewer: Naïve question, but did you speak Slovene?
Participant: Only “hvala” 🙈, and Zoë did the rest. 你好 was no use at all!
""", "utf-8", "\n"),
]

TABLE_COLUMNS = ["transcript_id", "turn_id", "speaker", "text", "role", "timestamp", "note"]
CSV_ROWS = [
    ["t1", "t1-001", "Interviewer", "How did you find the group?", "interviewer", "00:00:02", ""],
    ["t1", "t1-002", "Participant", "Good, actually, better than I thought.", "client",
     "00:00:05", "laughs"],
    ["t1", "t1-003", "Interviewer", "What made it better?", "interviewer", "00:00:09", ""],
    ["t2", "7", "Worker", "Shall we look at the letter together?", "STR worker", "", ""],
    ["t2", "8", "Client", "Yes please.\nI can't make head nor tail of it.", "client", "",
     "two lines"],
]
TSV_ROWS = [
    ["s1", "0", "Interviewer", "Who do you talk to when things are hard?", "interviewer",
     "00:01:00", ""],
    ["s1", "1", "Participant", "My sister, mostly. She's always there.", "carer", "00:01:04", ""],
    ["s1", "2", "Interviewer", "Anyone else?", "interviewer", "00:01:09", ""],
    ["s1", "3", "Participant", "Not really, no.", "carer", "00:01:11", "pause before"],
]
XLSX_ROWS = [
    ["x1", "1", "Interviewer", "What would help most right now?", "interviewer", "00:00:10", ""],
    ["x1", "2", "Participant", "Somewhere to live that isn't damp.", "client", "00:00:14", ""],
    ["x1", "3", "Interviewer", "Right.", "interviewer", "00:00:20", ""],
    ["x1", "4", "Participant", "And the housing officer ringing me back, for once.", "client",
     "00:00:22", "sighs"],
]


def fixed_zip(data: bytes) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            content = source.read(item.filename)
            if item.filename == "docProps/core.xml":
                import re
                content = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*",
                                 rb"\g<1>2024-01-01T00:00:00Z", content)
            target.writestr(zipfile.ZipInfo(item.filename, date_time=FIXED_ZIP_TIME), content,
                            zipfile.ZIP_DEFLATED)
    return out.getvalue()


def table(rows: list[list[str]], delimiter: str) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\n")
    writer.writerow(TABLE_COLUMNS)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def docx() -> bytes:
    from docx import Document

    document = Document()
    document.core_properties.author = "reltext"
    document.core_properties.created = document.core_properties.modified = datetime(2024, 1, 1)
    document.add_heading("Interview 4: Lee", level=1)
    document.add_paragraph("Made-up fixture for the reader tests. Recorded 3 March 2023.")
    for speaker, text in [
        ("Interviewer", "What was the ward like?"),
        ("Lee", "Noisy. You never got any sleep."),
        (None, "And nobody explained anything, they just gave you the tablets."),
        ("Interviewer", "That sounds hard."),
        ("Lee", "It was. It's better now."),
    ]:
        paragraph = document.add_paragraph()
        if speaker:
            paragraph.add_run(speaker).bold = True
            paragraph.add_run(": " + text)
        else:
            paragraph.add_run(text)
    buffer = io.BytesIO()
    document.save(buffer)
    return fixed_zip(buffer.getvalue())


def xlsx() -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "turns"
    sheet.append(TABLE_COLUMNS)
    for row in XLSX_ROWS:
        sheet.append(row)
    workbook.properties.created = workbook.properties.modified = datetime(2024, 1, 1)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return fixed_zip(buffer.getvalue())


def main() -> None:
    for name, text in TEXT.items():
        (HERE / name).write_bytes(text.encode("utf-8"))
    for name, text, encoding, newline in ENCODED:
        (HERE / name).write_bytes(text.replace("\n", newline).encode(encoding))
    (HERE / "turns.csv").write_bytes(table(CSV_ROWS, ","))
    (HERE / "turns.tsv").write_bytes(table(TSV_ROWS, "\t"))
    (HERE / "turns.xlsx").write_bytes(xlsx())
    (HERE / "interview.docx").write_bytes(docx())
    (HERE / "empty.txt").write_bytes(b"")
    noise = random.Random(7)
    binary = bytes(noise.randrange(256) for _ in range(512))
    (HERE / "binary.txt").write_bytes(b"\x00\x01\x02\x00" + binary + b"\x00" * 16)


if __name__ == "__main__":
    main()
