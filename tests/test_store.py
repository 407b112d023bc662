"""The project database: migrations, SQLite settings, versions and concurrent writers."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import text

from reltext.errors import ProjectError
from reltext.model import Transcript, Turn
from reltext.store import migrations
from reltext.store.database import Store


def make_transcript(transcript_id: str = "t1", words: str = "Hello there.") -> Transcript:
    body = f"Sam: {words}\n"
    return Transcript(transcript_id, body,
                      (Turn("0", 0, "Sam", words, 5, 5 + len(words)),), format="text")


def test_store_migrations_apply_once_and_settings_hold(fresh_db):
    store = Store.open(fresh_db)
    assert store.schema_version() == [name for name, _ in migrations.available()]
    assert store.schema_version()[0] == "m0001_initial"
    assert Store.open(fresh_db).migrate() == []
    with store.read() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_store_refuses_a_file_that_is_not_a_project(tmp_path):
    path = tmp_path / "notes.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(ProjectError, match="not a reltext project database"):
        Store.open(path)


def test_store_refuses_a_newer_schema(fresh_db):
    store = Store.open(fresh_db)
    with store.write() as conn:
        conn.execute(text("INSERT INTO schema_migrations VALUES ('m9999_future', 'x')"))
    with pytest.raises(ProjectError, match="newer reltext"):
        Store.open(fresh_db)


def test_store_missing_project_when_not_creating(tmp_path):
    with pytest.raises(ProjectError, match="no project database here"):
        Store.open(tmp_path / "absent.db", create=False)


def test_store_versions_keep_old_turns_and_codings(fresh_db):
    store = Store.open(fresh_db)
    with store.write() as conn:
        first = store.add_transcript(conn, make_transcript(), content_hash="a")
        store.add_codings(conn, [{"turn_pk": 1, "code": "hope", "start_char": 0, "end_char": 5,
                                  "coder": "human:a", "origin": "human"}])
        second = store.add_transcript(conn, make_transcript(words="Changed."), content_hash="b")
    assert (first.version, second.version) == (1, 2)
    with store.read() as conn:
        assert [t["text"] for t in store.iter_turns(conn)] == ["Changed."]
        assert conn.execute(text("SELECT COUNT(*) FROM codings")).scalar() == 1
        assert conn.execute(text("SELECT COUNT(*) FROM turns")).scalar() == 2


def test_store_concurrent_writers_lose_nothing(fresh_db):
    Store.open(fresh_db)
    errors = []

    def writer(name: str) -> None:
        store = Store.open(fresh_db)
        try:
            for index in range(15):
                with store.write() as conn:
                    store.add_transcript(conn, make_transcript(f"{name}-{index}"),
                                         content_hash=f"{name}{index}")
        except Exception as error:  # collected and asserted below
            errors.append(error)

    threads = [threading.Thread(target=writer, args=(f"w{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    store = Store.open(fresh_db)
    with store.read() as conn:
        assert len(store.list_transcripts(conn)) == 60


def test_listing_counts_words_as_coding_runs_do(fresh_db):
    words = "Well,  I  don't\tknow.\n\nMaybe   tomorrow "
    store = Store.open(fresh_db)
    with store.write() as conn:
        store.add_transcript(conn, make_transcript(words=words), content_hash="w")
    with store.read() as conn:
        listed = store.list_transcripts(conn)
    assert listed[0]["words"] == len(words.split()) == 6
