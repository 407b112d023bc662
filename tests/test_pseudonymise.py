"""Pseudonymisation: nothing of the names is left, codings keep their words, the key stays out."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pytest
import spacy
from hypothesis import given, settings
from hypothesis import strategies as st

from reltext import Project
from reltext.corpus.pseudonymise import Pseudonymiser
from reltext.store.database import Store

NAMES = ["Sarah Jones", "Sarah", "Jones", "Dave Okafor", "Dave", "Okafor", "Manchester",
         "Greggs", "07700 900123", "sarah.j@example.org", "LS2 9JT"]

TRANSCRIPT = """Date: 3 March 2025
Location: Manchester

Interviewer: Thanks for coming, Sarah. How is work at Greggs?
Sarah: My manager Dave Okafor shouts. I trust my sister though, she's in Manchester.
Interviewer: Call me on 07700 900123 or sarah.j@example.org if you need to.
Sarah: Dave never listens. My postcode is LS2 9JT, by the way.
"""


@pytest.fixture
def interview(tmp_path: Path) -> Path:
    path = tmp_path / "p07.txt"
    path.write_text(TRANSCRIPT, encoding="utf-8")
    return path


def _code_words(db: Path, words: dict[str, str]) -> None:
    """Code each phrase (value) with a code (key) on the turn that holds it."""
    store = Store.open(db, create=False)
    with store.write() as conn:
        rows = []
        for (_, turn_id), (pk, body) in store.turn_keys(conn).items():
            for code, phrase in words.items():
                if phrase in body:
                    start = body.index(phrase)
                    rows.append({"turn_pk": pk, "code": code, "start_char": start,
                                 "end_char": start + len(phrase), "coder": "human:kim",
                                 "origin": "human"})
        store.add_codings(conn, rows)
    store.close()


def test_pseudonymise_leaves_no_names_and_codings_keep_their_words(
        tmp_path: Path, interview: Path, run_cli) -> None:
    db = tmp_path / "study.db"
    assert run_cli("ingest", str(interview), db=db).exit_code == 0
    _code_words(db, {"disempowerment": "My manager Dave Okafor shouts",
                     "trust": "I trust my sister",
                     "isolation": "never listens"})
    names = tmp_path / "names.txt"
    names.write_text("# staff\nDave Okafor\n", encoding="utf-8")
    key, report = tmp_path / "keep-apart" / "key.csv", tmp_path / "check.md"
    key.parent.mkdir()
    result = run_cli("pseudonymise", "--names", str(names), "--key-out", str(key),
                     "--report", str(report), db=db)
    assert result.exit_code == 0, result.output
    assert re.search(r"Pseudonymised 1 transcript\(s\): \d+ replacement\(s\)", result.output)
    with Project(db) as project:
        turns = project.turns()
        codings = project.codings().set_index("code")["text"].to_dict()
    assert list(turns["speaker"]) == ["Interviewer", "[PERSON_1]", "Interviewer", "[PERSON_1]"]
    key_text = key.read_text(encoding="utf-8")
    manager = re.search(r"p07,(\[PERSON_\d+\]),PERSON,Dave Okafor", key_text).group(1)
    assert codings == {"disempowerment": f"My manager {manager} shouts",
                       "trust": "I trust my sister", "isolation": "never listens"}
    # "Dave" later in the interview is the same person as "Dave Okafor".
    assert f"{manager} never listens" in "".join(turns["text"])
    stored = b"".join(path.read_bytes() for path in tmp_path.glob("study.db*"))
    exported = tmp_path / "shared.qdpx"
    assert run_cli("export", "qdpx", "--out", str(exported), db=db).exit_code == 0
    with zipfile.ZipFile(exported) as archive:
        shared = b"".join(archive.read(name) for name in archive.namelist())
    for name in NAMES:
        assert name.encode("utf-8") not in stored, name
        assert name.encode("utf-8") not in shared, name
        assert name not in report.read_text(encoding="utf-8"), name
    assert "p07,[PLACE_1],PLACE,Manchester" in key_text
    assert "| PERSON |" in report.read_text(encoding="utf-8")
    for placeholder in ("[PHONE_1]", "[EMAIL_1]", "[POSTCODE_1]", "[PLACE_1]"):
        assert placeholder in "".join(turns["text"]), placeholder


def test_pseudonymise_continues_a_key_and_scopes_by_corpus(tmp_path: Path, run_cli) -> None:
    for name in ("a", "b"):
        (tmp_path / f"{name}.txt").write_text(
            "Interviewer: Who helps?\nParticipant: Sarah from the Leeds group helps.\n",
            encoding="utf-8")
    db, key = tmp_path / "corpus.db", tmp_path / "key.csv"
    result = run_cli("ingest", str(tmp_path / "a.txt"), "--pseudonymise", "--scope", "corpus",
                     "--key-out", str(key), db=db)
    assert result.exit_code == 0, result.output
    result = run_cli("ingest", str(tmp_path / "b.txt"), "--pseudonymise", "--scope", "corpus",
                     "--key-out", str(key), db=db)
    assert result.exit_code == 0, result.output
    with Project(db) as project:
        texts = list(project.turns()["text"])
    assert texts[1] == texts[3] and "Sarah" not in texts[1] and "[PERSON_1]" in texts[1]
    rows = key.read_text(encoding="utf-8").splitlines()
    assert rows.count("corpus,[PERSON_1],PERSON,Sarah") == 1


def test_pseudonymise_without_key_out_warns_and_keeps_key_out_of_the_db(
        tmp_path: Path, interview: Path, run_cli) -> None:
    db = tmp_path / "study.db"
    run_cli("ingest", str(interview), db=db)
    result = run_cli("pseudonymise", db=db)
    assert result.exit_code == 0
    assert "Warning: no --key-out given" in result.output
    assert (tmp_path / "study.db.pseudonym-key.csv").is_file()


WORDS = ["I", "trust", "my", "worker", "and", "she", "helps", "me", "a", "lot", "today"]
LISTED = ["Ruth", "Amir Khan", "Zoë", "Bartholomew"]
BLANK = spacy.blank("en")  # tokens only: the listed names are what is replaced


@st.composite
def coded_turns(draw):
    """Random turns of words and listed names, with random spans coded on them."""
    turns = []
    for _ in range(draw(st.integers(1, 4))):
        tokens = draw(st.lists(st.sampled_from(WORDS + LISTED), min_size=1, max_size=12))
        body = " ".join(tokens)
        spans = [tuple(sorted(draw(st.tuples(st.integers(0, len(body)),
                                             st.integers(0, len(body))))))
                 for _ in range(draw(st.integers(0, 3)))]
        turns.append((body, spans))
    return turns


@settings(max_examples=150, deadline=None)
@given(coded_turns())
def test_pseudonymise_offsets_property(turns) -> None:
    pseudonymiser = Pseudonymiser(names=LISTED, nlp=BLANK)
    text, segments = "", []
    for index, (body, _) in enumerate(turns):
        label = f"P{index}: "
        segments.append((len(text) + len(label), len(text) + len(label) + len(body)))
        text += label + body + "\n"
    rewritten = pseudonymiser.rewrite(text, segments, scope_key="P")
    for name in LISTED:
        assert name not in rewritten.text
    for (body, spans), (start, end) in zip(turns, segments):
        new_start, new_end = rewritten.span(start, end)
        new_body = rewritten.text[new_start:new_end]
        assert new_body == _replace_names(body, pseudonymiser)
        for low, high in spans:
            span_start, span_end = rewritten.span(start + low, start + high)
            assert new_start <= span_start <= span_end <= new_end
            # A span whose ends are not inside a name covers the same words, renamed.
            if not _inside_name(body, low) and not _inside_name(body, high):
                assert rewritten.text[span_start:span_end] == \
                    _replace_names(body[low:high], pseudonymiser)


def _replace_names(body: str, pseudonymiser: Pseudonymiser) -> str:
    placeholders = pseudonymiser.key.entries
    pattern = "|".join(re.escape(n) for n in sorted(LISTED, key=len, reverse=True))
    return re.sub(rf"(?<!\w)(?:{pattern})(?!\w)",
                  lambda m: placeholders[("P", "PERSON", m.group().casefold())], body)


def _inside_name(body: str, offset: int) -> bool:
    return any(match.start() < offset < match.end()
               for name in LISTED for match in re.finditer(re.escape(name), body))


def test_key_gives_one_person_named_two_ways_one_placeholder() -> None:
    from reltext.corpus.pseudonymise import PseudonymKey

    key = PseudonymKey()
    dave = key.placeholder("p1", "PERSON", "Dave Smith")
    assert key.placeholder("p1", "PERSON", "Dave") == dave
    assert key.placeholder("p1", "PERSON", "Smith's") == dave
    # Another Dave makes a bare "Dave" ambiguous from then on; he is someone else.
    jones = key.placeholder("p1", "PERSON", "Dave Jones")
    assert jones != dave
    assert key.placeholder("p1", "PERSON", "Dave") == dave  # already decided, kept
    # A first name seen before the full name is joined by it; other scopes stay apart.
    emma = key.placeholder("p1", "PERSON", "Emma")
    assert key.placeholder("p1", "PERSON", "Emma Brown") == emma
    assert key.placeholder("p2", "PERSON", "Emma") == "[PERSON_1]"
    assert key.originals[("p1", dave)] == ["Dave Smith", "Dave", "Smith's"]
