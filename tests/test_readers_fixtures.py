"""Every fixture in tests/data reads into the turns and speakers its README lists."""

from __future__ import annotations

from collections import Counter

import pytest

from reltext.errors import TranscriptFormatError
from reltext.corpus.readers import read_transcripts

from conftest import DATA

EXPECTED = {
    "three_speakers.txt": {"Facilitator": 2, "Amira": 2, "Tom": 2},
    "zoom.vtt": {"Interviewer": 2, "Sam": 1},
    "teams.vtt": {"Jo Bloggs": 2, "Priya Shah": 1},
    "captions.srt": {"Interviewer": 2, "Participant": 1},
    "interview.docx": {"Interviewer": 2, "Lee": 2},
    "turns.tsv": {"Interviewer": 2, "Participant": 2},
    "turns.xlsx": {"Interviewer": 2, "Participant": 2},
    "qa.txt": {"Q": 3, "A": 2},
    "participants.txt": {"Interviewer": 2, "Participant 3": 1, "P01": 2, "Respondent": 1},
    "utf16.txt": {"Interviewer": 2, "Participant": 2},
    "cp1252.txt": {"Interviewer": 2, "Participant": 2},
    "crlf.txt": {"Interviewer": 2, "Participant": 2},
    "cr_only.txt": {"Interviewer": 2, "Participant": 2},
    "emoji.txt": {"Interviewer": 2, "Participant": 2},
}


@pytest.mark.filterwarnings("ignore::reltext.corpus.readers.EncodingWarning")
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_readers_fixture_speakers_and_turns(name):
    (transcript,) = read_transcripts(DATA / name)
    assert Counter(turn.speaker for turn in transcript.turns) == EXPECTED[name]
    transcript.check_offsets()


def test_readers_fixture_turn_table_keeps_ids_and_metadata():
    first, second = read_transcripts(DATA / "turns.csv")
    assert (first.transcript_id, second.transcript_id) == ("t1", "t2")
    assert [t.turn_id for t in second.turns] == ["7", "8"]
    assert len(first.turns) == 3 and first.turns[0].turn_id.startswith("t1-")


def test_readers_fixture_emoji_offsets_are_code_points():
    (transcript,) = read_transcripts(DATA / "emoji.txt")
    assert any("👨‍👩‍👧" in turn.text for turn in transcript.turns)
    transcript.check_offsets()


@pytest.mark.parametrize(
    ("name", "where"),
    [("empty.txt", "empty.txt: the file is empty"),
     ("binary.txt", "binary.txt: the file is binary"),
     ("missing_column.csv", "missing_column.csv, line 1: the turn table has no 'speaker'"),
     ("broken_times.vtt", "broken_times.vtt, line 8: broken cue timing"),
     ("not_word.docx", "not_word.docx: not a Word .docx document")],
)
def test_readers_fixture_bad_inputs(name, where):
    with pytest.raises(TranscriptFormatError) as error:
        read_transcripts(DATA / name)
    assert where in str(error.value)
