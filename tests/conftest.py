"""Shared fixtures: small real files and a fresh project database per test."""

from __future__ import annotations

import csv
import os
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
SHARED = ROOT.parent / "shared"


@pytest.fixture(autouse=True)
def _main_module_as_it_was():
    """Streamlit's AppTest runs the app as ``__main__`` and leaves ``__main__.__file__``
    naming it; worker processes started later (spawn) would then run the app. Put it back."""
    main = sys.modules["__main__"]
    had, file = hasattr(main, "__file__"), getattr(main, "__file__", None)
    yield
    sys.modules["__main__"] = main
    if had:
        main.__file__ = file
    elif hasattr(main, "__file__"):
        del main.__file__


@pytest.fixture
def fresh_db(tmp_path: Path) -> Path:
    """The path of a project database that does not exist yet."""
    return tmp_path / "project.db"


@pytest.fixture
def run_cli(fresh_db: Path):
    """Run ``reltext`` with arguments against the fresh database; returns the result."""
    from reltext.cli import main

    runner = CliRunner()

    def run(*args: str, db: Path | None = None):
        return runner.invoke(main, ["--db", str(db or fresh_db), *args], catch_exceptions=False)

    return run


@pytest.fixture(scope="session")
def nlp():
    """The default pipeline without NER, loaded once per test session."""
    from reltext.coding.nlp import load_pipeline

    return load_pipeline(disable=("ner",))


@pytest.fixture(scope="session")
def relational_codebook():
    """The bundled relational codebook."""
    from reltext.coding.codebook import load_codebook

    return load_codebook(ROOT / "codebooks" / "relational.yaml")


@pytest.fixture(scope="session")
def rules_coder(nlp, relational_codebook):
    """The rules coder over the bundled codebook, sharing the session pipeline."""
    from reltext.coding.coders.rules import RulesCoder

    return RulesCoder(relational_codebook, nlp=nlp)
ANALYTICS = DATA / "analytics"


@pytest.fixture
def tiny_project(fresh_db: Path):
    """A hand-checked project: 3 transcripts (participant P1 in waves 1 and 2, P2 in wave 1),
    9 turns, coded by human:gold (``tests/data/analytics/codes.csv``)."""
    from reltext import Project

    project = Project(fresh_db)
    project.ingest([ANALYTICS / "turns.csv"], manifest=ANALYTICS / "manifest.yaml")
    project.import_codings(ANALYTICS / "codes.csv", coder="human:gold")
    yield project
    project.close()


@pytest.fixture(scope="session")
def small_gold(tmp_path_factory) -> tuple[Path, Path]:
    """Turns and gold codes of the first four dev transcripts (``shared/gold``), as the
    contract's CSVs: enough for a quick TF-IDF learned coder."""
    gold = SHARED / "gold"
    folder = tmp_path_factory.mktemp("gold")
    with open(gold / "dev-turns.csv", newline="", encoding="utf-8") as handle:
        turns = list(csv.DictReader(handle))
    keep = list(dict.fromkeys(row["transcript_id"] for row in turns))[:4]
    with open(gold / "dev-codes.csv", newline="", encoding="utf-8") as handle:
        codes = [row for row in csv.DictReader(handle) if row["transcript_id"] in keep]
    for name, rows in (("turns.csv", [r for r in turns if r["transcript_id"] in keep]),
                       ("codes.csv", codes)):
        with open(folder / name, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    return folder / "turns.csv", folder / "codes.csv"


@pytest.fixture
def partial_gold(small_gold, tmp_path) -> Path:
    """The small gold's codes on all its transcripts but the last: turns left unlabelled for
    the learned coder to be unsure of."""
    _, codes = small_gold
    with open(codes, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    path = tmp_path / "partial.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=["transcript_id", "turn_id", "codes"])
        writer.writeheader()
        writer.writerows(r for r in rows if r["transcript_id"] != rows[-1]["transcript_id"])
    return path
