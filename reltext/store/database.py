"""The project database: its connection, and :class:`Store`, the one object the wings query.

A project is one SQLite file (WAL journal, foreign keys on, a busy timeout so that several
processes can share it). The schema is created and upgraded by :mod:`reltext.store.migrations`.
The queries live in one module per table family and ``Store`` is their composition, so every
query is called as ``store.method(conn, ...)`` inside a :meth:`Store.read` or
:meth:`Store.write` transaction.

Example:
    >>> store = Store.open("reltext.db")
    >>> with store.write() as conn:
    ...     store.record_run(conn, kind="ingest", status="done")
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text

from ..errors import ProjectError
from ..files import resolve_db_path
from . import migrations
from .codings import CodingQueries
from .decisions import DecisionQueries
from .runs import RunQueries
from .sql import now_iso
from .transcripts import TranscriptQueries

BUSY_TIMEOUT_S = 60


class Store(TranscriptQueries, CodingQueries, DecisionQueries, RunQueries):
    """A project database. Open it with :meth:`Store.open`."""

    def __init__(self, engine: Engine, path: Path) -> None:
        self.engine = engine
        self.path = path

    @classmethod
    def open(cls, db: str | os.PathLike[str] | None = None, *, create: bool = True) -> Store:
        """Open (and create or upgrade) the project database at ``db``.

        Raises:
            ProjectError: the file is missing and ``create`` is false, is not a reltext
                project, or was written by a newer reltext.
        """
        path = resolve_db_path(db)
        if not path.exists() and not create:
            raise ProjectError(
                "no project database here",
                path=path,
                fix="Run 'reltext ingest' first, or point --db / RELTEXT_DB at your project.",
            )
        if path.parent and not path.parent.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            f"sqlite:///{path}", connect_args={"timeout": BUSY_TIMEOUT_S}, future=True
        )
        _configure_sqlite(engine)
        store = cls(engine, path)
        try:
            store.migrate()
        except Exception as error:
            # SQLAlchemy wraps the driver's error; either way the file is not a database.
            cause = error if isinstance(error, sqlite3.DatabaseError) else getattr(
                error, "orig", None)
            if not isinstance(cause, sqlite3.DatabaseError):
                raise
            raise ProjectError(
                f"not a reltext project database ({cause})",
                path=path,
                fix="Point --db at a reltext project, or at a new file name to start one.",
            ) from error
        return store

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A connection for reading; sees one consistent snapshot until it closes."""
        with self.engine.connect() as conn:
            yield conn

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction: all or nothing, serialised with other writers."""
        with self.engine.connect().execution_options(reltext_write=True) as conn, conn.begin():
            yield conn

    def migrate(self) -> list[str]:
        """Apply the migrations this database lacks; returns their names."""
        with self.write() as conn:
            conn.execute(
                text(
                    "CREATE TABLE IF NOT EXISTS schema_migrations "
                    "(name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)"
                )
            )
            done = set(conn.execute(text("SELECT name FROM schema_migrations")).scalars())
        known = migrations.available()
        unknown = done - {name for name, _ in known}
        if unknown:
            raise ProjectError(
                f"the database was written by a newer reltext (migrations {sorted(unknown)})",
                path=self.path,
                fix="Upgrade reltext to open it.",
            )
        applied = []
        for name, upgrade in known:
            if name in done:
                continue
            with self.write() as conn:
                upgrade(conn)
                conn.execute(
                    text("INSERT INTO schema_migrations (name, applied_at) VALUES (:n, :t)"),
                    {"n": name, "t": now_iso()},
                )
            applied.append(name)
        return applied

    def schema_version(self) -> list[str]:
        with self.read() as conn:
            return list(
                conn.execute(text("SELECT name FROM schema_migrations ORDER BY name")).scalars()
            )

    def compact(self) -> None:
        """Rewrite the file without free pages or journal, so replaced text is really gone."""
        raw = self.engine.raw_connection()
        try:
            raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            raw.execute("VACUUM")
            raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            raw.close()


def _configure_sqlite(engine: Engine) -> None:
    """WAL, foreign keys and explicit BEGINs, so write transactions lock up front."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves, below
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_S * 1000}")
        cursor.close()
        # Words as Python's split() counts them, so listings agree with coding runs.
        dbapi_connection.create_function("word_count", 1, _word_count, deterministic=True)

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # BEGIN IMMEDIATE takes the write lock at once, so two writers queue on the busy
        # timeout instead of one failing with "database is locked" half-way through.
        immediate = conn.get_execution_options().get("reltext_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _word_count(value: str | None) -> int:
    return len(value.split()) if value else 0
