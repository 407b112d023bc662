"""REFI-QDA exchange: schema-valid exports, exact round trips, and other tools' projects."""

from __future__ import annotations

import codecs
import re
import zipfile
from pathlib import Path

import pytest
from lxml import etree
from sqlalchemy import text

from reltext import Project
from reltext.corpus.readers.refi import read_qdpx
from reltext.exchange.refi import schema_errors
from reltext.store.database import Store

XSD = Path(__file__).resolve().parent.parent / "reltext" / "data" / "Project.xsd"
NS = {"q": "urn:QDA-XML:project:1.0"}

# Non-ASCII letters and emoji (two UTF-16 units, four UTF-8 bytes) before the coded words,
# so code-point offsets differ from UTF-16 and byte offsets.
INTERVIEW = (
    "Interviewer: Wie geht's? Tell me about the café 😊.\n"
    "Zoë: Honestly 🙂🙂 I trust my worker, she's always there for me.\n"
    "Interviewer: And your family?\n"
    "Zoë: Nobody calls. I feel so alone — it's never going to change.\n"
)


def _coded_project(tmp_path: Path) -> Path:
    """A project with one transcript, a codebook with a hierarchy, codings and decisions."""
    source = tmp_path / "p01_wave1.txt"
    source.write_text(INTERVIEW, encoding="utf-8")
    manifest = tmp_path / "manifest.csv"
    manifest.write_text("transcript,participant_id,role,wave\np01_wave1,P01,client,1\n")
    db = tmp_path / "coded.db"
    project = Project(db)
    results = project.ingest([source], manifest=manifest)
    assert results[0].ok, results[0].error
    store = project.store
    with store.write() as conn:
        store.add_codebook(conn, name="relational", version="1.0", content_hash="h", source="",
                           content="{}", codes=[
            {"key": "trust", "name": "Trust", "family": "goods", "polarity": "good",
             "colour": "#2E8B57", "definition": "Reliance on another."},
            {"key": "trust_worker", "name": "Trust in a worker", "parent": "trust",
             "family": "goods", "polarity": "good", "colour": "#3CB371", "definition": ""},
            {"key": "isolation", "name": "Isolation", "family": "evils", "polarity": "evil",
             "colour": "#8B0000", "definition": "Loneliness."},
            {"key": "hopelessness", "name": "Hopelessness", "family": "evils",
             "polarity": "evil", "colour": None, "definition": "Despair."},
        ])
        turns = {turn_id: (pk, body) for (_, turn_id), (pk, body) in store.turn_keys(conn).items()}
        rows = []
        for turn_id, code, words, coder, origin, confidence in [
            ("1", "trust", "I trust my worker", "rules:relational@1.0", "rule", 0.91),
            ("1", "trust_worker", "my worker", "human:zoë", "human", None),
            ("3", "isolation", "I feel so alone", "rules:relational@1.0", "rule", 0.7),
            ("3", "hopelessness", "it's never going to change", "human:zoë", "human", None),
        ]:
            pk, body = turns[turn_id]
            start = body.index(words)
            rows.append({"turn_pk": pk, "code": code, "start_char": start,
                         "end_char": start + len(words), "coder": coder, "origin": origin,
                         "confidence": confidence,
                         "evidence": "pattern:trust-1" if origin == "rule" else None})
        store.add_codings(conn, rows)
        store.mark_coded(conn, [pk for pk, _ in turns.values()], coder="rules:relational@1.0")
        coding_pks = dict(conn.execute(text("SELECT code, pk FROM codings")).all())
        for code, verdict in (("trust", "accept"), ("isolation", "reject")):
            conn.execute(text(
                "INSERT INTO decisions (decision_id, coding_pk, reviewer, verdict, decided_at) "
                "VALUES (:id, :pk, 'human:ann', :verdict, '2025-03-01T10:00:00+00:00')"),
                {"id": f"d-{code}", "pk": coding_pks[code], "verdict": verdict})
    project.close()
    return db


def _snapshot(db: Path) -> dict:
    """What a round trip must keep: transcripts, turns, codes and codings."""
    store = Store.open(db, create=False)
    with store.read() as conn:
        transcripts = [
            (t["transcript_id"], t["text"], t["meta"]) for t in store.current_transcripts(conn)
        ]
        turns = [
            (t["transcript_id"], t["turn_id"], t["speaker"], t["role"], t["start_char"],
             t["end_char"], t["text"], t["timestamp"], t["turn_meta"])
            for t in store.iter_turns(conn)
        ]
        codes = sorted(
            tuple(code[k] for k in ("key", "name", "parent", "family", "polarity", "colour",
                                    "definition"))
            for code in store.latest_codes(conn)
        )
        codings = sorted(
            tuple(c[k] for k in ("transcript_id", "turn_id", "code", "start_char", "end_char",
                                 "text", "confidence", "coder", "origin", "evidence",
                                 "created_at"))
            for c in store.iter_codings(conn)
        )
    store.close()
    return {"transcripts": transcripts, "turns": turns, "codes": codes, "codings": codings}


def test_refi_export_is_a_valid_qdpx_with_code_point_offsets(tmp_path: Path, run_cli) -> None:
    db = _coded_project(tmp_path)
    out = tmp_path / "study.qdpx"
    result = run_cli("export", "qdpx", "--out", str(out), db=db)
    assert result.exit_code == 0, result.output
    assert "1 source(s), 4 code(s), 4 coding(s) by 3 coder(s) and reviewer(s), 1 case(s)" \
        in result.output
    with zipfile.ZipFile(out) as archive:
        names = archive.namelist()
        xml = archive.read("project.qde")
        sources = {name: archive.read(name) for name in names if name != "project.qde"}
    assert names[0] == "project.qde"
    assert all(re.fullmatch(r"sources/[0-9a-f-]{36}\.txt", name) for name in sources)
    schema = etree.XMLSchema(etree.parse(str(XSD)))
    assert schema.validate(etree.fromstring(xml)), schema.error_log
    assert schema_errors(xml) == []
    root = etree.fromstring(xml)
    source_text = next(iter(sources.values())).decode("utf-8")
    assert source_text == INTERVIEW
    users = {u.get("guid"): u.get("name") for u in root.iterfind(".//q:User", NS)}
    assert {"rules:relational@1.0", "human:zoë", "human:ann"} <= set(users.values())
    selections = root.findall(".//q:PlainTextSelection", NS)
    assert len(selections) == 4
    for selection in selections:
        start, end = int(selection.get("startPosition")), int(selection.get("endPosition"))
        assert source_text[start:end] == selection.get("name")
    trust = next(s for s in selections if s.get("name") == "I trust my worker")
    start = int(trust.get("startPosition"))
    # Code points, not UTF-16 units or bytes: the emoji before it would shift both.
    assert start != len(source_text[:start].encode("utf-16-le")) // 2
    assert start != len(source_text[:start].encode("utf-8"))
    coding = trust.find("q:Coding", NS)
    assert users[coding.get("creatingUser")] == "rules:relational@1.0"
    notes = {n.get("guid"): (n.get("name"), n.findtext("q:PlainTextContent", namespaces=NS))
             for n in root.iterfind(".//q:Note", NS)}
    linked = dict(notes[ref.get("targetGUID")] for ref in trust.findall("q:NoteRef", NS))
    assert linked["reltext: confidence"] == "0.91"
    assert linked["reltext: evidence"] == "pattern:trust-1"
    assert linked["reltext: review"].startswith("accept by human:ann on 2025-03-01")
    # The codebook: families as groups that cannot be coded, a child code under its parent.
    goods = root.find(".//q:Code[@name='goods']", NS)
    assert goods.get("isCodable") == "false"
    assert goods.find("q:Code[@name='Trust']/q:Code[@name='Trust in a worker']", NS) is not None
    assert goods.find("q:Code[@name='Trust']", NS).get("color") == "#2E8B57"
    case = root.find(".//q:Case", NS)
    assert case.get("name") == "P01"
    variables = {v.get("guid"): v.get("name") for v in root.iterfind(".//q:Variable", NS)}
    values = {variables[v.find("q:VariableRef", NS).get("targetGUID")]: v[1].text
              for v in case.findall("q:VariableValue", NS)}
    assert values == {"role": "client", "wave": "1"}


def test_refi_guids_are_stable_across_exports(tmp_path: Path) -> None:
    db = _coded_project(tmp_path)
    guids = []
    for name in ("one.qdpx", "two.qdpx"):
        with Project(db) as project:
            project.export_qdpx(tmp_path / name)
        with zipfile.ZipFile(tmp_path / name) as archive:
            xml = archive.read("project.qde").decode("utf-8")
        guids.append(sorted(re.findall(r'guid="([^"]+)"', xml)))
    assert guids[0] == guids[1] and len(guids[0]) > 20


def test_refi_round_trip_reproduces_transcripts_codes_and_codings(tmp_path: Path,
                                                                    run_cli) -> None:
    db = _coded_project(tmp_path)
    out = tmp_path / "study.qdpx"
    assert run_cli("export", "qdpx", "--out", str(out), db=db).exit_code == 0
    copy = tmp_path / "copy.db"
    result = run_cli("ingest", str(out), db=copy)
    assert result.exit_code == 0, result.output
    assert "4 codings imported" in result.output
    assert _snapshot(copy) == _snapshot(db)
    # Importing the same project again changes nothing.
    assert run_cli("ingest", str(out), db=copy).exit_code == 0
    assert _snapshot(copy) == _snapshot(db)


def test_refi_export_filters_accepted_coder_and_transcript(tmp_path: Path, run_cli) -> None:
    db = _coded_project(tmp_path)
    out = tmp_path / "part.qdpx"
    result = run_cli("export", "qdpx", "--out", str(out), "--accepted-only", db=db)
    assert "1 coding(s)" in result.output
    result = run_cli("export", "qdpx", "--out", str(out), "--coder", "human:zoë", db=db)
    assert "2 coding(s)" in result.output
    result = run_cli("export", "qdpx", "--out", str(out), "--transcript", "nope", db=db)
    assert result.exit_code == 1
    assert "Error:" in result.output and "no transcript 'nope'" in result.output


def _project_xml(source_path: str, selections: str, *, user: str = "Ann",
                 guid_case=str.lower) -> str:
    return f"""<?xml version="1.0" encoding="utf-8"?>
<Project xmlns="urn:QDA-XML:project:1.0" name="other tool">
  <Users><User guid="{guid_case('aaaaaaaa-0000-4000-8000-000000000001')}" name="{user}"/></Users>
  <CodeBook><Codes>
    <Code guid="{guid_case('cccccccc-0000-4000-8000-000000000001')}" name="Feelings"
          isCodable="false">
      <Code guid="{guid_case('cccccccc-0000-4000-8000-000000000002')}" name="lonely"
            isCodable="true" color="#112233"><Description>Alone.</Description></Code>
    </Code>
  </Codes></CodeBook>
  <Variables><Variable guid="dddddddd-0000-4000-8000-000000000001" name="age"
      typeOfVariable="Integer"/></Variables>
  <Cases><Case guid="eeeeeeee-0000-4000-8000-000000000001" name="Case 7">
    <VariableValue><VariableRef targetGUID="dddddddd-0000-4000-8000-000000000001"/>
      <IntegerValue>34</IntegerValue></VariableValue>
    <SourceRef targetGUID="{guid_case('bbbbbbbb-0000-4000-8000-000000000001')}"/>
  </Case></Cases>
  <Sources>
    <TextSource guid="{guid_case('{bbbbbbbb-0000-4000-8000-000000000001}')}"
                name="Interview 7.txt" plainTextPath="{source_path}">
      {selections}
    </TextSource>
  </Sources>
</Project>"""


def _selection(start: int, end: int, *, guid_case=str.lower) -> str:
    return f"""<PlainTextSelection guid="ffffffff-0000-4000-8000-00000000000{start % 10}"
        startPosition="{start}" endPosition="{end}"
        creatingUser="{guid_case('aaaaaaaa-0000-4000-8000-000000000001')}">
      <Coding guid="99999999-0000-4000-8000-00000000000{start % 10}"
              creatingUser="{guid_case('aaaaaaaa-0000-4000-8000-000000000001')}">
        <CodeRef targetGUID="{guid_case('cccccccc-0000-4000-8000-000000000002')}"/></Coding>
    </PlainTextSelection>"""


# Unlabelled, CRLF paragraphs with emoji: one turn per paragraph, speaker Unknown.
PLAIN = "I moved here alone 😔.\r\n\r\nSome days I don't speak to anyone. 🙁 Nobody rings.\r\n"


@pytest.mark.parametrize("shape", ["nvivo", "atlas", "qualcoder"])
def test_refi_imports_projects_in_the_shapes_other_tools_write(tmp_path: Path, run_cli,
                                                               shape: str) -> None:
    words = "I don't speak to anyone. 🙁 Nobody"
    start = PLAIN.index(words)
    guid_case = str.upper if shape == "nvivo" else str.lower
    xml = _project_xml("internal://BBBBBBBB-0000-4000-8000-000000000001.txt",
                       _selection(start, start + len(words), guid_case=guid_case),
                       guid_case=guid_case)
    out = tmp_path / "from-tool.qdpx"
    data = PLAIN.encode("utf-8")
    with zipfile.ZipFile(out, "w") as archive:
        if shape == "nvivo":  # Sources/ and Project.qde capitalised
            archive.writestr("Project.qde", xml.encode("utf-8"))
            archive.writestr("Sources/BBBBBBBB-0000-4000-8000-000000000001.txt", data)
        elif shape == "atlas":  # the project file named after the project, BOM on the XML
            archive.writestr("My Study.qde", codecs.BOM_UTF8 + xml.encode("utf-8"))
            archive.writestr("sources/BBBBBBBB-0000-4000-8000-000000000001.txt", data)
        else:  # QualCoder: sources written as utf-8-sig
            archive.writestr("project.qde", xml.encode("utf-8"))
            archive.writestr("sources/BBBBBBBB-0000-4000-8000-000000000001.txt",
                             PLAIN.encode("utf-8-sig"))
    result = run_cli("ingest", str(out))
    assert result.exit_code == 0, result.output
    assert "1 codings imported" in result.output
    with Project(tmp_path / "project.db") as project:
        turns = project.turns()
        codings = project.codings()
        transcripts = project.transcripts()
    assert list(turns["speaker"]) == ["Unknown", "Unknown"]
    assert list(turns["text"]) == ["I moved here alone 😔.",
                                   "Some days I don't speak to anyone. 🙁 Nobody rings."]
    assert codings.loc[0, "text"] == words
    assert codings.loc[0, "coder"] == "human:Ann"
    assert codings.loc[0, "code"] == "lonely"
    assert transcripts.loc[0, "transcript_id"] == "Interview 7"
    assert transcripts.loc[0, "participant_id"] == "Case 7"
    assert transcripts.loc[0, "age"] == 34
    store = Store.open(tmp_path / "project.db", create=False)
    with store.read() as conn:
        assert store.transcript_text(conn, "Interview 7") == PLAIN  # CRLF kept as written
        assert [(c["key"], c["family"], c["colour"], c["definition"])
                for c in store.latest_codes(conn)] == [("lonely", "Feelings", "#112233",
                                                        "Alone.")]
    store.close()


def test_refi_splits_a_selection_over_turns_and_keeps_crlf_on_round_trip(
        tmp_path: Path, run_cli) -> None:
    labelled = "Interviewer: How are you? 😀\r\nAna: Lonely, to be honest.\r\n"
    start, end = labelled.index("you?"), labelled.index("Lonely") + len("Lonely")
    folder = tmp_path / "bare"
    (folder / "Sources").mkdir(parents=True)
    (folder / "Sources" / "s1.txt").write_bytes(labelled.encode("utf-8"))
    (folder / "study.qde").write_text(
        _project_xml("internal://s1.txt", _selection(start, end)), encoding="utf-8")
    assert run_cli("ingest", str(folder / "study.qde")).exit_code == 0
    with Project(tmp_path / "project.db") as project:
        codings = project.codings()
        assert list(codings["text"]) == ["you? 😀", "Lonely"]
        assert list(codings["speaker"]) == ["Interviewer", "Ana"]
        project.export_qdpx(tmp_path / "again.qdpx")
    assert run_cli("ingest", str(tmp_path / "again.qdpx"), db=tmp_path / "copy.db").exit_code == 0
    assert _snapshot(tmp_path / "copy.db") == _snapshot(tmp_path / "project.db")


def _errors(result) -> list[str]:
    return [line for line in result.output.splitlines() if line.startswith("Error:")]


def _stored_text(db: Path) -> str:
    store = Store.open(db)
    with store.read() as conn:
        texts = [t["text"] for t in store.current_transcripts(conn)]
    store.close()
    return "".join(texts)


@pytest.mark.parametrize("kind", ["absolute", "file", "relative"])
def test_refi_external_source_never_reads_the_disk_unasked(tmp_path: Path, run_cli, kind):
    secret = tmp_path / "secret.txt"
    secret.write_text("My bank PIN is 2468.", encoding="utf-8")
    received = tmp_path / "mail" / "attachments"
    received.mkdir(parents=True)
    location = {"absolute": f"absolute://{secret}", "file": f"file://{secret}",
                "relative": "relative://../../secret.txt"}[kind]
    archive = received / "from-a-colleague.qdpx"
    with zipfile.ZipFile(archive, "w") as out:
        out.writestr("project.qde", _project_xml(location, ""))
    result = run_cli("ingest", str(archive))
    assert result.exit_code == 1
    assert len(_errors(result)) == 1
    assert "is an external file" in _errors(result)[0]
    assert "--external-sources FOLDER" in _errors(result)[0]
    assert "2468" not in (tmp_path / "project.db").read_bytes().decode("latin-1")
    # Even with a folder named, only that folder is read.
    folder = tmp_path / "sources"
    folder.mkdir()
    result = run_cli("ingest", str(archive), "--external-sources", str(folder))
    assert result.exit_code == 1 and len(_errors(result)) == 1
    assert "2468" not in _stored_text(tmp_path / "project.db")


def test_refi_external_sources_come_from_the_folder_named(tmp_path: Path, run_cli) -> None:
    qde = tmp_path / "external.qde"
    qde.write_text(_project_xml("relative://texts/interview7.txt", ""), encoding="utf-8")
    folder = tmp_path / "shared-sources"
    result = run_cli("ingest", str(qde), "--external-sources", str(folder))
    assert result.exit_code == 1
    errors = _errors(result)
    assert len(errors) == 1
    assert str(qde) in errors[0] and "'Interview 7.txt'" in errors[0]
    assert str(folder / "texts" / "interview7.txt") in errors[0]
    assert "Put the file there" in errors[0]
    (folder / "texts").mkdir(parents=True)
    (folder / "texts" / "interview7.txt").write_text("Just me, really.", encoding="utf-8")
    (folder / "texts" / "link.txt").symlink_to(tmp_path / "external.qde")
    assert run_cli("ingest", str(qde), "--external-sources", str(folder)).exit_code == 0
    assert _stored_text(tmp_path / "project.db") == "Just me, really."
    linked = tmp_path / "linked.qde"  # a link that leads out of the folder is not read
    linked.write_text(_project_xml("relative://texts/link.txt", ""), encoding="utf-8")
    result = run_cli("ingest", str(linked), "--external-sources", str(folder))
    assert result.exit_code == 1 and "is not inside" in _errors(result)[0]


def test_refi_internal_source_name_cannot_leave_the_project(tmp_path: Path, run_cli) -> None:
    (tmp_path / "secret.txt").write_text("My bank PIN is 2468.", encoding="utf-8")
    folder = tmp_path / "project"
    (folder / "sources").mkdir(parents=True)
    (folder / "sources" / "secret.txt").symlink_to(tmp_path / "secret.txt")
    for name in ("../../secret.txt", "/" + str(tmp_path / "secret.txt"), "secret.txt"):
        (folder / "p.qde").write_text(_project_xml(f"internal://{name}", ""), encoding="utf-8")
        result = run_cli("ingest", str(folder / "p.qde"))
        assert result.exit_code == 1, name
        assert "which is not in the project" in _errors(result)[0]
    archive = tmp_path / "slip.qdpx"
    with zipfile.ZipFile(archive, "w") as out:
        out.writestr("project.qde", _project_xml("internal://../secret.txt", ""))
        out.writestr("../secret.txt", "inside the archive, but named to climb out")
    assert "which is not in the project" in _errors(run_cli("ingest", str(archive)))[0]


def _bomb(path: Path, source: str, *, megabytes: int = 50) -> None:
    """A project whose member ``sources/junk.txt`` unpacks from 50 kB to 50 MB."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as out:
        out.writestr("project.qde", _project_xml(source, ""))
        out.writestr("sources/s1.txt", PLAIN)
        with out.open("sources/junk.txt", "w") as member:
            for _ in range(megabytes):
                member.write(bytes(2**20))


def test_refi_zip_bomb_is_refused_and_the_folder_goes_on(tmp_path: Path, run_cli) -> None:
    folder = tmp_path / "incoming"
    folder.mkdir()
    _bomb(folder / "a_unused.qdpx", "internal://s1.txt")  # never read: nothing names it
    _bomb(folder / "b_used.qdpx", "internal://junk.txt")
    (folder / "c.txt").write_text(INTERVIEW, encoding="utf-8")
    assert (folder / "b_used.qdpx").stat().st_size < 200_000
    result = run_cli("ingest", str(folder))
    assert result.exit_code == 1
    errors = _errors(result)
    assert len(errors) == 1
    assert "b_used.qdpx" in errors[0] and "'sources/junk.txt'" in errors[0]
    assert "zip bomb" in errors[0] and "50.0 MiB" in errors[0]
    assert "2 transcript(s) added" in result.output
    with Project(tmp_path / "project.db") as project:
        assert sorted(project.transcripts()["transcript_id"]) == ["Interview 7", "c"]


def test_refi_member_over_the_size_cap_is_refused(tmp_path: Path, run_cli, monkeypatch):
    from reltext.corpus.readers import archive

    monkeypatch.setattr(archive, "MAX_MEMBER_BYTES", 60)
    with zipfile.ZipFile(tmp_path / "p.qdpx", "w") as out:  # stored: no compression at all
        out.writestr("project.qde", _project_xml("internal://s1.txt", ""))
    result = run_cli("ingest", str(tmp_path / "p.qdpx"))
    assert result.exit_code == 1 and "'project.qde'" in _errors(result)[0]
    assert "over reltext's limits (60 bytes" in _errors(result)[0]


@pytest.mark.parametrize("problem, expected", [
    ("entity", "line 22: <PlainTextContent> holds the entity &ent;"),
    ("declared", "declares the entities ent"),
    ("surrogate", "the <Note> 'reltext: turns' holds characters that cannot be stored"),
    ("nested", "the <Note> 'reltext: turns' nests its JSON too deeply"),
    ("integer", "the <IntegerValue> of variable 'age' is 'thirty', not a whole number"),
    ("codes", "the codebook nests <Code> elements more than 64 deep"),
])
def test_refi_malformed_project_is_one_error_naming_the_element(tmp_path: Path, run_cli,
                                                                problem, expected):
    note_ref = '<NoteRef targetGUID="12121212-0000-4000-8000-000000000001"/>'
    notes = {"surrogate": '{"turns": [["0", "Ann\\ud800", "", 0, 5, null, null, {}]]}',
             "nested": '{"turns": ' + "[" * 50_000 + "]" * 50_000 + "}"}
    xml = _project_xml("internal://s1.txt", note_ref if problem in notes else "")
    if problem in notes:
        xml = xml.replace("</Sources>", '</Sources><Notes><Note guid="12121212-0000-4000-8000-'
                          f'000000000001" name="reltext: turns"><PlainTextContent>'
                          f'{notes[problem]}</PlainTextContent></Note></Notes>')
    if problem in ("entity", "declared"):
        text = "Before &ent; after it." if problem == "entity" else "No entity used."
        xml = (xml.replace(' plainTextPath="internal://s1.txt"', "")
               .replace("\n    </TextSource>", f"<PlainTextContent>{text}</PlainTextContent>"
                                                "</TextSource>")
               .replace("?>", '?>\n<!DOCTYPE Project [<!ENTITY ent "EXPANDED">]>', 1))
    if problem == "integer":
        xml = xml.replace("<IntegerValue>34</", "<IntegerValue>thirty</")
    if problem == "codes":
        nested = ""
        for depth in range(100):
            nested = (f'<Code guid="cccccccc-0000-4000-8000-{depth:012d}" name="c{depth}">'
                      f'{nested}</Code>')
        xml = xml.replace("<CodeBook><Codes>", "<CodeBook><Codes>" + nested)
    archive = tmp_path / "odd.qdpx"
    with zipfile.ZipFile(archive, "w") as out:
        out.writestr("project.qde", xml)
        out.writestr("sources/s1.txt", PLAIN)
    result = run_cli("ingest", str(archive))
    assert result.exit_code == 1, result.output
    errors = _errors(result)
    assert len(errors) == 1 and "Traceback" not in result.output
    assert f"{archive}!project.qde" in errors[0] and expected in errors[0], errors[0]
    with Project(tmp_path / "project.db") as project:
        assert project.transcripts().empty


def test_refi_control_characters_in_a_source_never_break_the_export(tmp_path: Path, run_cli):
    dirty = "Ann: I trust\x00 my worker.\x0cShe is kind\x0b and I rely on her.\x1b\n"
    with zipfile.ZipFile(tmp_path / "dirty.qdpx", "w") as out:
        out.writestr("project.qde", _project_xml("internal://s1.txt", ""))
        out.writestr("sources/s1.txt", dirty)
    result = run_cli("ingest", str(tmp_path / "dirty.qdpx"))
    assert result.exit_code == 0, result.output
    assert ("4 character(s) that cannot be stored or exported were replaced: 1 × NUL (U+0000) "
            "by U+FFFD") in result.output
    gold = tmp_path / "gold.csv"  # a person codes the whole turn, controls and all
    gold.write_text("transcript_id,turn_id,codes\nInterview 7,0,lonely\n", encoding="utf-8")
    assert run_cli("import-codings", str(gold), "--coder", "human:ann").exit_code == 0
    assert run_cli("code", "--coder", "rules").exit_code == 0
    result = run_cli("export", "qdpx", "--out", str(tmp_path / "out.qdpx"))
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(tmp_path / "out.qdpx") as archive:
        assert schema_errors(archive.read("project.qde")) == []
        (name,) = [n for n in archive.namelist() if n.startswith("sources/")]
        text = archive.read(name).decode("utf-8")
    assert text == "Ann: I trust\ufffd my worker.\nShe is kind\n and I rely on her.\ufffd\n"
    assert len(text) == len(dirty)  # one for one: every offset stays


def test_refi_read_qdpx_reports_what_it_drops(tmp_path: Path) -> None:
    xml = _project_xml("internal://s1.txt", _selection(0, 4)).replace(
        "</Sources>", '<PictureSource guid="12345678-0000-4000-8000-000000000001" '
        'name="map.png" path="internal://map.png"/></Sources>')
    (tmp_path / "sources").mkdir()
    (tmp_path / "sources" / "s1.txt").write_text("Alone again.", encoding="utf-8")
    (tmp_path / "p.qde").write_text(xml, encoding="utf-8")
    project = read_qdpx(tmp_path / "p.qde")
    assert len(project.codings) == 1
    assert any("PictureSource 'map.png'" in item for item in project.dropped)


def test_refi_a_code_has_one_guid_in_the_codebook_and_the_project(tmp_path: Path, run_cli):
    source = tmp_path / "p01.txt"
    source.write_text("Ann: I trust my worker, she is always there for me.\n", encoding="utf-8")
    assert run_cli("ingest", str(source)).exit_code == 0
    assert run_cli("code", "--coder", "rules").exit_code == 0
    assert run_cli("codebook", "export-qdc", "--out", str(tmp_path / "c.qdc")).exit_code == 0
    assert run_cli("export", "qdpx", "--out", str(tmp_path / "p.qdpx")).exit_code == 0
    qdc = etree.parse(str(tmp_path / "c.qdc"))
    (in_codebook,) = qdc.xpath("//c:Code[@name='trust' or @name='Trust']/@guid",
                               namespaces={"c": "urn:QDA-XML:codebook:1.0"})
    with zipfile.ZipFile(tmp_path / "p.qdpx") as archive:
        qde = etree.fromstring(archive.read("project.qde"))
    (in_project,) = qde.xpath("//q:Code[@name='trust' or @name='Trust']/@guid", namespaces=NS)
    assert in_codebook == in_project
