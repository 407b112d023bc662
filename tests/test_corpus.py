"""The bundled corpus ingests whole, and its AnnoMI files say exactly what AnnoMI says."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from reltext import Project

from conftest import ROOT, SHARED

CORPUS = ROOT / "corpora"


@pytest.fixture(scope="module")
def corpus_project(tmp_path_factory):
    project = Project(tmp_path_factory.mktemp("corpus") / "corpus.db")
    results = project.ingest([CORPUS], manifest=CORPUS / "manifest.yaml")
    assert all(result.ok for result in results), [r.error for r in results if not r.ok]
    warned = [r.path for r in results if r.warnings]
    assert len(warned) == 1 and warned[0].endswith("annomi_057_medication.txt")
    return project


def test_corpus_ingests_every_file_with_roles_and_waves(corpus_project):
    transcripts = corpus_project.transcripts()
    assert len(transcripts) == 17
    turns = corpus_project.turns()
    assert len(turns) == 820
    assert (turns.role != "").all(), turns[turns.role == ""][["transcript_id", "speaker"]]
    p07 = turns[turns.participant_id == "P07"]
    assert set(p07.wave) == {"1", "2"}


def normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


@pytest.mark.skipif(not (SHARED / "data/annomi").exists(), reason="needs ../shared/data/annomi")
def test_corpus_annomi_files_match_the_source_turn_by_turn(corpus_project):
    source = pd.read_csv(SHARED / "data/annomi/AnnoMI-simple.csv")
    turns = corpus_project.turns()
    for transcript_id, group in turns[turns.transcript_id.str.startswith("annomi_")].groupby(
        "transcript_id"
    ):
        number = int(transcript_id.split("_")[1])
        rows = source[source.transcript_id == number].sort_values("utterance_id")
        # Captions join consecutive utterances of one speaker into one turn, as the contract says.
        expected, speakers = [], []
        for speaker, text in zip(rows.interlocutor, rows.utterance_text):
            if speakers and speakers[-1] == speaker and len(group) < len(rows):
                expected[-1] += " " + text
            else:
                expected.append(text)
                speakers.append(speaker)
        assert [normalise(t) for t in group.text] == [normalise(t) for t in expected], \
            transcript_id
        assert [s.lower() for s in group.speaker] == speakers, transcript_id


def test_corpus_export_turns_reads_back_the_same(corpus_project, tmp_path):
    from reltext.exchange.tables import write_table

    out = write_table(corpus_project.turns(), tmp_path / "turns.csv", "csv")
    again = Project(tmp_path / "again.db")
    again.ingest([out])
    first, second = corpus_project.turns(), again.turns()
    assert list(first.text) == list(second.text)
    assert list(first.speaker) == list(second.speaker)
    assert list(first.turn_id) == list(second.turn_id)
