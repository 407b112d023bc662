"""Interactants: lexicon matches on lemmas, names, placeholders and possessives."""

from __future__ import annotations

import pytest

from reltext.errors import ReltextError
from reltext.analysis.interactants import InteractantExtractor, load_lexicon


@pytest.fixture(scope="module")
def extractor():
    return InteractantExtractor()


def _found(extractor, text):
    return [(item.kind, item.label, item.owner) for item in extractor.extract(text)]


def test_interactants_possessives_resolved_to_the_speaker(extractor):
    assert _found(extractor, "My worker rang my mum, then her mum rang your kids.") == [
        ("person", "worker", "speaker"), ("person", "mum", "speaker"),
        ("person", "mum", "third"), ("person", "kids", "listener")]


def test_interactants_longest_phrase_and_lemmas(extractor):
    assert _found(extractor, "Mum says my new peer workers are great.") == [
        ("person", "mum", "none"), ("person", "peer worker", "speaker")]


def test_interactants_places_and_objects_only_as_nouns(extractor):
    found = _found(extractor, "I work at home now. I drink less and my tablets help.")
    assert found == [("place", "home", "none"), ("object", "medication", "speaker")]


def test_interactants_placeholders_and_names(extractor):
    items = extractor.extract("[PERSON_1] took my phone. Sarah's dad was kind.")
    assert [(i.kind, i.label) for i in items] == [
        ("named person", "[PERSON_1]"), ("object", "phone"), ("named person", "Sarah"),
        ("person", "dad")]
    assert items[-1].owner == "third"
    assert items[0].node_label == "[PERSON_1]" and items[-1].node_label == "dad (someone else's)"


def test_interactants_not_names(extractor, tmp_path):
    assert _found(extractor, "Nah, I dunno.") == []
    path = tmp_path / "roles.yaml"
    path.write_text("people:\n  mum: [mum]\nnot names: [Sarah]\n")
    assert _found(InteractantExtractor(path), "Sarah called my mum.") == [
        ("person", "mum", "speaker")]


def test_interactants_offsets_select_the_mention(extractor):
    text = "At the day centre my STR worker listened."
    for item in extractor.extract(text):
        assert text[item.start_char:item.end_char] == item.text


def test_interactants_custom_lexicon(tmp_path):
    path = tmp_path / "roles.yaml"
    path.write_text("people:\n  allotment buddy: [allotment buddy]\nplaces:\n  allotment: allotment\n")
    found = [(i.label, i.owner) for i in InteractantExtractor(path).extract(
        "My allotment buddy and I met at the allotment.")]
    assert found == [("allotment buddy", "speaker"), ("allotment", "none")]


@pytest.mark.parametrize("content, message", [
    ("people: [mum, dad]\n", "'people' must map labels to lists of phrases"),
    ("people:\n  mum: [mum, '']\n", "'people.mum' must be a list of non-empty phrases"),
    ("things:\n  a: [b]\n", "none of the sections people, places, objects"),
    ("people:\n  mum: [mum\n", "not valid YAML"),
])
def test_interactants_bad_lexicon_is_a_user_error(tmp_path, content, message):
    path = tmp_path / "lexicon.yaml"
    path.write_text(content)
    with pytest.raises(ReltextError, match=message) as error:
        load_lexicon(path)
    assert str(path) in str(error.value)


def test_viewer_worker_processes_find_what_this_process_finds():
    from reltext.analysis.interactants import cached_extractor
    from reltext.viewer import web_worker

    texts = ["My sister came to the day centre.", "Mm-hmm.",
             "I told Dr Patel that my mum's tablets don't help.", "Work is hard."]
    here = list(cached_extractor().iter_extract(texts))
    web_worker.start()
    processes = list(web_worker._processes)
    assert len(processes) == web_worker.WORKERS
    assert web_worker.wait_ready()
    assert web_worker.extract(texts) == here  # shared out, answers in order
    assert web_worker.extract(texts[:1]) == here[:1]  # fewer texts than workers
    assert web_worker._processes == processes  # answered, still up
    processes[-1].kill()
    processes[-1].wait()
    assert web_worker.extract(texts) == here  # found here instead
    assert web_worker._processes == []
    assert all(process.poll() is not None for process in processes)
