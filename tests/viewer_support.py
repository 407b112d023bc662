"""A small real project for the review and viewer tests: two interviews, one hostile text.

Turns are written as a turn-table CSV with a manifest and ingested the ordinary way; the
auto-codings are stored as a rules coder would store them (spans into the turn text,
confidences, pattern ids as evidence).
"""

from __future__ import annotations

import csv
from pathlib import Path

from reltext.model import Origin
from reltext.project import Project

AUTO_CODER = "rules:relational@1.0"
HOSTILE = "I said <script>alert(1)</script> and <img src=x onerror=alert(1)> to the team."

TURNS = [
    ("int01", "0", "Interviewer", "How have things been with the support team lately?"),
    ("int01", "1", "Pat", "Honestly I rely on Sam, he turns up every week without fail."),
    ("int01", "2", "Interviewer", "What difference does that make for you?"),
    ("int01", "3", "Pat", "I feel like things could get better this year, bit by bit."),
    ("int01", "4", "Pat", "Mostly I just sit at home on my own though."),
    ("int02", "0", "Interviewer", "Tell me about the ward."),
    ("int02", "1", "Lee", HOSTILE),
    ("int02", "2", "Lee", "Nobody there listened, they decided everything for me."),
]

MANIFEST = """\
speakers:
  Interviewer: interviewer
transcripts:
  int01:
    role: client
    wave: 1
    site: North
    speakers: {Pat: client}
  int02:
    role: client
    wave: 2
    site: South
    speakers: {Lee: client}
"""

# A small codebook: the project's codes, colours and definitions as a codebook loads them.
CODES = [
    {"key": "trust", "name": "Trust", "colour": "#1b9e77",
     "definition": "Relying on another person or service."},
    {"key": "hope", "name": "Hope", "colour": "#7570b3",
     "definition": "Expecting that things can get better."},
    {"key": "isolation", "name": "Isolation", "colour": "#d95f02",
     "definition": "Being cut off from other people."},
    {"key": "stigma", "name": "Stigma", "colour": "#e7298a",
     "definition": "Being labelled or treated as less."},
    {"key": "disempowerment", "name": "Disempowerment", "colour": "#66a61e",
     "definition": "Others taking decisions away from the speaker."},
    {"key": "agency", "name": "Agency", "colour": "#e6ab02",
     "definition": "Acting on one's own behalf."},
]

# (transcript, turn, code, phrase inside the turn, confidence, pattern id)
AUTO_CODINGS = [
    ("int01", "1", "trust", "I rely on Sam", 0.91, "trust.rely"),
    ("int01", "3", "hope", "things could get better", 0.55, "hope.better"),
    ("int01", "4", "isolation", "on my own", 0.42, "isolation.alone"),
    ("int02", "1", "stigma", "<script>alert(1)</script>", 0.30, "stigma.test"),
    ("int02", "2", "disempowerment", "they decided everything for me", 0.75, "disemp.decide"),
]


def build_project(folder: Path, *, turns=TURNS, manifest: str = MANIFEST, codes=CODES,
                  codings=AUTO_CODINGS, name: str = "project.db") -> Path:
    """Write, ingest and auto-code the small project in ``folder`` (or one made of other
    ``turns``, ``manifest``, ``codes`` and ``codings``); returns its database."""
    table = folder / "interviews.csv"
    with table.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["transcript_id", "turn_id", "speaker", "text"])
        writer.writerows(turns)
    manifest_path = folder / "manifest.yaml"
    manifest_path.write_text(manifest, encoding="utf-8")
    db = folder / name
    with Project(db) as project:
        for result in project.ingest([table], manifest=manifest_path):
            assert result.ok, result.error
        store = project.store
        with store.write() as conn:
            store.add_codebook(conn, name="relational-test", version="1", content_hash="t1",
                               source="tests", content="", codes=codes)
            keys = store.turn_keys(conn)
            rows = []
            for transcript_id, turn_id, code, phrase, confidence, pattern in codings:
                turn_pk, text = keys[(transcript_id, turn_id)]
                start = text.index(phrase)
                rows.append({"turn_pk": turn_pk, "code": code, "start_char": start,
                             "end_char": start + len(phrase), "confidence": confidence,
                             "coder": AUTO_CODER, "origin": Origin.RULE.value,
                             "evidence": pattern})
            store.add_codings(conn, rows)
            store.mark_coded(conn, [pk for pk, _ in keys.values()], coder=AUTO_CODER)
    return db
