"""The project database: the only module that speaks SQL.

A project is one SQLite file (WAL journal, foreign keys on, a busy timeout so that several
processes can share it). The schema is created and upgraded by :mod:`reltext.store.migrations`.

Example:
    >>> store = Store.open("reltext.db")
    >>> with store.write() as conn:
    ...     store.record_run(conn, kind="ingest", status="done")
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import uuid4

from sqlalchemy import Connection, Engine, Row, create_engine, event, text
from sqlalchemy import inspect as sqlalchemy_inspect

from ..errors import ProjectError
from ..files import resolve_db_path
from ..model import Origin, Transcript, utc_now
from . import migrations

BUSY_TIMEOUT_S = 60


def to_json(value: Mapping[str, Any] | None) -> str:
    """Serialise metadata the same way everywhere (stable key order, real Unicode)."""
    return json.dumps(dict(value or {}), ensure_ascii=False, sort_keys=True, default=str)


def from_json(value: str | None) -> dict[str, Any]:
    return json.loads(value) if value else {}


def now_iso() -> str:
    return utc_now().isoformat()


@dataclass(frozen=True, slots=True)
class StoredTranscript:
    """A row of the ``transcripts`` table, without its text."""

    pk: int
    transcript_id: str
    version: int
    source: str
    format: str
    content_hash: str
    meta: dict[str, Any]
    ingested_at: str


class Store:
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
        except sqlite3.DatabaseError as error:
            raise ProjectError(
                f"not a reltext project database ({error})",
                path=path,
                fix="Point --db at a reltext project, or at a new file name to start one.",
            ) from error
        except Exception as error:
            if isinstance(getattr(error, "orig", None), sqlite3.DatabaseError):
                raise ProjectError(
                    f"not a reltext project database ({error.orig})",
                    path=path,
                    fix="Point --db at a reltext project, or at a new file name to start one.",
                ) from error
            raise
        return store

    def close(self) -> None:
        self.engine.dispose()

    # -- transactions -------------------------------------------------------------------

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A connection for reading; sees one consistent snapshot until it closes."""
        with self.engine.connect() as conn:
            yield conn

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction: all or nothing, serialised with other writers."""
        with self.engine.connect().execution_options(reltext_write=True) as conn:
            with conn.begin():
                yield conn

    # -- schema -------------------------------------------------------------------------

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

    # -- transcripts --------------------------------------------------------------------

    def current_transcript(self, conn: Connection, transcript_id: str) -> StoredTranscript | None:
        row = conn.execute(
            text(f"SELECT {_TRANSCRIPT_COLUMNS} FROM transcripts "
                 "WHERE transcript_id = :id AND is_current = 1"),
            {"id": transcript_id},
        ).one_or_none()
        return _stored_transcript(row) if row else None

    def current_by_source(self, conn: Connection, source: str) -> list[StoredTranscript]:
        rows = conn.execute(
            text(f"SELECT {_TRANSCRIPT_COLUMNS} FROM transcripts "
                 "WHERE source = :source AND is_current = 1 ORDER BY pk"),
            {"source": source},
        )
        return [_stored_transcript(row) for row in rows]

    def transcript_id_taken(self, conn: Connection, transcript_id: str) -> bool:
        return (
            conn.execute(
                text("SELECT 1 FROM transcripts WHERE transcript_id = :id LIMIT 1"),
                {"id": transcript_id},
            ).first()
            is not None
        )

    def add_transcript(
        self, conn: Connection, transcript: Transcript, *, content_hash: str
    ) -> StoredTranscript:
        """Store ``transcript`` as the current version of its id, retiring any older one."""
        ingested_at = now_iso()
        version = conn.execute(
            text("SELECT COALESCE(MAX(version), 0) + 1 FROM transcripts WHERE transcript_id = :id"),
            {"id": transcript.transcript_id},
        ).scalar_one()
        conn.execute(
            text("UPDATE transcripts SET is_current = 0 WHERE transcript_id = :id"),
            {"id": transcript.transcript_id},
        )
        pk = conn.execute(
            text(
                "INSERT INTO transcripts (transcript_id, version, is_current, source, format, "
                "content_hash, text, meta, ingested_at) VALUES (:id, :version, 1, :source, "
                ":format, :hash, :text, :meta, :at) RETURNING pk"
            ),
            {
                "id": transcript.transcript_id,
                "version": version,
                "source": transcript.source,
                "format": transcript.format,
                "hash": content_hash,
                "text": transcript.text,
                "meta": to_json(transcript.meta),
                "at": ingested_at,
            },
        ).scalar_one()
        if transcript.turns:
            conn.execute(
                text(
                    "INSERT INTO turns (transcript_pk, turn_id, position, speaker, role, "
                    "start_char, end_char, text, timestamp, end_timestamp, meta) VALUES "
                    "(:pk, :turn_id, :position, :speaker, :role, :start, :end, :text, "
                    ":timestamp, :end_timestamp, :meta)"
                ),
                [
                    {
                        "pk": pk,
                        "turn_id": turn.turn_id,
                        "position": turn.index,
                        "speaker": turn.speaker,
                        "role": turn.role,
                        "start": turn.start_char,
                        "end": turn.end_char,
                        "text": turn.text,
                        "timestamp": turn.timestamp,
                        "end_timestamp": turn.end_timestamp,
                        "meta": to_json(turn.meta),
                    }
                    for turn in transcript.turns
                ],
            )
        return StoredTranscript(
            pk, transcript.transcript_id, version, transcript.source, transcript.format,
            content_hash, dict(transcript.meta), ingested_at,
        )

    def update_transcript_meta(
        self, conn: Connection, pk: int, meta: Mapping[str, Any], roles: Mapping[str, str]
    ) -> None:
        """Replace a transcript's attributes and set the role of each named speaker."""
        conn.execute(
            text("UPDATE transcripts SET meta = :meta WHERE pk = :pk"),
            {"meta": to_json(meta), "pk": pk},
        )
        for speaker, role in roles.items():
            conn.execute(
                text("UPDATE turns SET role = :role WHERE transcript_pk = :pk AND speaker = :s"),
                {"role": role, "pk": pk, "s": speaker},
            )

    def transcript_text(self, conn: Connection, transcript_id: str) -> str:
        return conn.execute(
            text("SELECT text FROM transcripts WHERE transcript_id = :id AND is_current = 1"),
            {"id": transcript_id},
        ).scalar_one()

    def list_transcripts(self, conn: Connection) -> list[dict[str, Any]]:
        """Current transcripts with their turn counts, speakers and roles, in id order."""
        rows = conn.execute(
            text(
                "SELECT t.transcript_id, t.version, t.format, t.source, t.meta, t.ingested_at, "
                "COUNT(u.pk) AS turns, "
                "(SELECT GROUP_CONCAT(s, '|') FROM (SELECT DISTINCT speaker || '=' || role AS s "
                "  FROM turns WHERE transcript_pk = t.pk ORDER BY position)) AS speakers, "
                "(SELECT COALESCE(SUM(word_count(text)), 0) "
                "  FROM turns WHERE transcript_pk = t.pk) AS words "
                "FROM transcripts t LEFT JOIN turns u ON u.transcript_pk = t.pk "
                "WHERE t.is_current = 1 GROUP BY t.pk ORDER BY t.transcript_id"
            )
        )
        result = []
        for row in rows.mappings():
            speakers = {}
            for pair in (row["speakers"] or "").split("|"):
                if pair:
                    speaker, _, role = pair.rpartition("=")
                    speakers[speaker] = role
            result.append(
                {
                    "transcript_id": row["transcript_id"],
                    "version": row["version"],
                    "format": row["format"],
                    "source": row["source"],
                    "turns": row["turns"],
                    "words": row["words"],
                    "speakers": speakers,
                    "meta": from_json(row["meta"]),
                    "ingested_at": row["ingested_at"],
                }
            )
        return result

    def iter_turns(
        self,
        conn: Connection,
        *,
        transcript_ids: Sequence[str] | None = None,
        batch_size: int = 2000,
    ) -> Iterator[dict[str, Any]]:
        """Turns of the current transcripts in transcript and turn order, streamed in batches."""
        where = "t.is_current = 1"
        params: dict[str, Any] = {}
        if transcript_ids is not None:
            names, ids = in_list(transcript_ids, "id")
            where += f" AND t.transcript_id IN ({names or 'NULL'})"
            params.update(ids)
        last_key: tuple[str, int] = ("", -1)
        while True:
            rows = conn.execute(
                text(
                    "SELECT u.pk AS turn_pk, t.transcript_id, u.turn_id, u.position, u.speaker, "
                    "u.role, u.start_char, u.end_char, u.text, u.timestamp, u.end_timestamp, "
                    "u.meta AS turn_meta, t.meta AS transcript_meta "
                    "FROM turns u JOIN transcripts t ON t.pk = u.transcript_pk "
                    f"WHERE {where} AND (t.transcript_id, u.position) > (:last_id, :last_pos) "
                    "ORDER BY t.transcript_id, u.position LIMIT :limit"
                ),
                {**params, "last_id": last_key[0], "last_pos": last_key[1], "limit": batch_size},
            ).mappings().all()
            if not rows:
                return
            for row in rows:
                turn = dict(row)
                turn["turn_meta"] = from_json(turn["turn_meta"])
                turn["transcript_meta"] = from_json(turn["transcript_meta"])
                yield turn
            last_key = (rows[-1]["transcript_id"], rows[-1]["position"])

    def turn_table(
        self, conn: Connection, *, transcript_ids: Sequence[str] | None = None
    ) -> list[Row]:
        """Turns of the current transcripts in transcript and turn order, as tuples.

        Each is ``turn_pk, transcript_pk, transcript_id, turn_id, speaker, role, start_char,
        end_char, text, timestamp, end_timestamp, meta`` (the metadata as its stored JSON):
        the fast way to read a whole table of turns, with the transcripts' metadata apart.
        """
        where, params = "t.is_current = 1", {}
        if transcript_ids is not None:
            names, params = in_list(transcript_ids, "id")
            where += f" AND t.transcript_id IN ({names or 'NULL'})"
        return conn.execute(
            text(
                "SELECT u.pk, u.transcript_pk, t.transcript_id, u.turn_id, u.speaker, u.role, "
                "u.start_char, u.end_char, u.text, u.timestamp, u.end_timestamp, u.meta "
                "FROM turns u JOIN transcripts t ON t.pk = u.transcript_pk "
                f"WHERE {where} ORDER BY t.transcript_id, u.position"
            ),
            params,
        ).all()

    def transcript_meta(self, conn: Connection) -> dict[int, dict[str, Any]]:
        """``transcript pk -> metadata`` of every current transcript."""
        rows = conn.execute(text("SELECT pk, meta FROM transcripts WHERE is_current = 1"))
        return {pk: from_json(meta) for pk, meta in rows}

    # -- codings -------------------------------------------------------------------------

    def turn_keys(self, conn: Connection) -> dict[tuple[str, str], tuple[int, str]]:
        """``(transcript_id, turn_id) -> (turn_pk, turn text)`` for every current turn."""
        rows = conn.execute(
            text(
                "SELECT t.transcript_id, u.turn_id, u.pk, u.text FROM turns u "
                "JOIN transcripts t ON t.pk = u.transcript_pk WHERE t.is_current = 1"
            )
        )
        return {(row[0], row[1]): (row[2], row[3]) for row in rows}

    def interviewer_turn_keys(self, conn: Connection) -> set[tuple[str, str]]:
        """``(transcript_id, turn_id)`` of every current turn a research interviewer spoke."""
        from ..model import INTERVIEWER_ROLES

        names, params = in_list(sorted(INTERVIEWER_ROLES))
        rows = conn.execute(
            text(
                "SELECT t.transcript_id, u.turn_id FROM turns u "
                "JOIN transcripts t ON t.pk = u.transcript_pk WHERE t.is_current = 1 AND "
                f"LOWER(TRIM(CASE WHEN u.role != '' THEN u.role ELSE u.speaker END)) IN ({names})"
            ),
            params,
        )
        return {(row[0], row[1]) for row in rows}

    def add_codings(self, conn: Connection, codings: Sequence[Mapping[str, Any]]) -> None:
        """Insert codings: dicts with the columns of the ``codings`` table but ``pk``."""
        if not codings:
            return
        conn.execute(
            text(
                "INSERT INTO codings (coding_id, turn_pk, code, start_char, end_char, "
                "confidence, coder, origin, evidence, run_pk, created_at) VALUES (:coding_id, "
                ":turn_pk, :code, :start_char, :end_char, :confidence, :coder, :origin, "
                ":evidence, :run_pk, :created_at)"
            ),
            [
                {"confidence": None, "evidence": None, "run_pk": None,
                 "coding_id": uuid4().hex, "created_at": now_iso(), **coding}
                for coding in codings
            ],
        )

    def mark_coded(
        self, conn: Connection, turn_pks: Iterable[int], *, coder: str, run_pk: int | None = None
    ) -> None:
        """Record that ``coder`` has coded these turns (whether it found codes or not)."""
        turn_pks = list(turn_pks)
        if not turn_pks:
            return
        at = now_iso()
        conn.execute(
            text(
                "INSERT INTO coded_turns (turn_pk, coder, run_pk, coded_at) "
                "VALUES (:pk, :coder, :run, :at) ON CONFLICT (coder, turn_pk) DO UPDATE SET "
                "run_pk = excluded.run_pk, coded_at = excluded.coded_at"
            ),
            [{"pk": pk, "coder": coder, "run": run_pk, "at": at} for pk in turn_pks],
        )

    def delete_codings_by(self, conn: Connection, *, coder: str, turn_pks: Sequence[int]) -> int:
        """Remove one coder's codings on these turns (re-importing a human coder's file)."""
        removed = 0
        for batch in chunked(turn_pks, 500):
            names, params = in_list(batch)
            params = params | {"coder": coder}
            removed += conn.execute(
                text(f"DELETE FROM codings WHERE coder = :coder AND turn_pk IN ({names})"),
                params,
            ).rowcount
        return removed

    def count_uncoded_turns(self, conn: Connection, *, coder: str) -> int:
        return conn.execute(
            text(
                "SELECT COUNT(*) FROM turns u JOIN transcripts t ON t.pk = u.transcript_pk "
                "WHERE t.is_current = 1 AND NOT EXISTS (SELECT 1 FROM coded_turns c "
                "WHERE c.coder = :coder AND c.turn_pk = u.pk)"
            ),
            {"coder": coder},
        ).scalar_one()

    def uncoded_turns_after(
        self, conn: Connection, *, coder: str, after: int, limit: int
    ) -> list[dict[str, Any]]:
        """Up to ``limit`` current turns past ``turn_pk`` ``after`` that ``coder`` has not coded."""
        return _dicts(
            conn,
            "SELECT u.pk AS turn_pk, t.transcript_id, u.turn_id, u.speaker, u.role, u.text "
            "FROM turns u JOIN transcripts t ON t.pk = u.transcript_pk "
            "WHERE t.is_current = 1 AND u.pk > :after AND NOT EXISTS (SELECT 1 FROM "
            "coded_turns c WHERE c.coder = :coder AND c.turn_pk = u.pk) "
            "ORDER BY u.pk LIMIT :limit",
            {"after": after, "coder": coder, "limit": limit},
        )

    def uncoded_among(self, conn: Connection, turn_pks: Sequence[int], *, coder: str) -> set[int]:
        """Those of ``turn_pks`` that ``coder`` has not coded."""
        coded: set[int] = set()
        for batch in chunked(turn_pks, 500):
            names, params = in_list(batch)
            params = params | {"coder": coder}
            coded.update(conn.execute(
                text(f"SELECT turn_pk FROM coded_turns WHERE coder = :coder "
                     f"AND turn_pk IN ({names})"), params).scalars())
        return set(turn_pks) - coded

    def iter_codings(
        self, conn: Connection, *, coder: str | None = None, transcript_ids: Sequence[str] | None = None
    ) -> Iterator[dict[str, Any]]:
        """Codings on current turns with their turn's ids, speaker and role, in corpus order."""
        where, params = ["t.is_current = 1"], {}
        if coder is not None:
            where.append("c.coder = :coder")
            params["coder"] = coder
        if transcript_ids is not None:
            names, ids = in_list(transcript_ids, "id")
            where.append(f"t.transcript_id IN ({names or 'NULL'})")
            params.update(ids)
        rows = conn.execute(
            text(
                "SELECT c.coding_id, c.pk AS coding_pk, u.pk AS turn_pk, t.transcript_id, "
                "u.turn_id, u.position, u.speaker, u.role, c.code, c.start_char, c.end_char, "
                "substr(u.text, c.start_char + 1, c.end_char - c.start_char) AS text, "
                "c.confidence, c.coder, c.origin, c.evidence, c.created_at "
                "FROM codings c JOIN turns u ON u.pk = c.turn_pk "
                "JOIN transcripts t ON t.pk = u.transcript_pk "
                f"WHERE {' AND '.join(where)} "
                "ORDER BY t.transcript_id, u.position, c.start_char, c.code, c.pk"
            ),
            params,
        )
        for row in rows.mappings():
            yield dict(row)

    def coded_turn_codes(self, conn: Connection, coder: str, *, by_pk: bool = False
                         ) -> dict[Any, set[str]]:
        """``(transcript_id, turn_id) -> codes`` (``turn_pk -> codes`` with ``by_pk``) over
        every current turn ``coder`` has coded; an empty set where no code applies."""
        result: dict[Any, set[str]] = {}
        rows = conn.execute(
            text(
                "SELECT k.turn_pk, t.transcript_id, u.turn_id, c.code FROM coded_turns k "
                "JOIN turns u ON u.pk = k.turn_pk JOIN transcripts t ON t.pk = u.transcript_pk "
                "LEFT JOIN codings c ON c.turn_pk = k.turn_pk AND c.coder = k.coder "
                "WHERE k.coder = :coder AND t.is_current = 1"
            ),
            {"coder": coder},
        )
        for turn_pk, transcript_id, turn_id, code in rows:
            codes = result.setdefault(turn_pk if by_pk else (transcript_id, turn_id), set())
            if code is not None:
                codes.add(code)
        return result

    def turns_marked_coded(self, conn: Connection, coder: str) -> set[int]:
        """The ``turn_pk`` of every turn ``coder`` has recorded as coded, current or not."""
        rows = conn.execute(
            text("SELECT turn_pk FROM coded_turns WHERE coder = :coder"), {"coder": coder})
        return set(rows.scalars().all())

    def coders(self, conn: Connection) -> list[dict[str, Any]]:
        """Every coder with the number of turns it coded and of codings it made."""
        return _dicts(
            conn,
            "SELECT k.coder, COUNT(*) AS turns, (SELECT COUNT(*) FROM codings c "
            "WHERE c.coder = k.coder) AS codings FROM coded_turns k "
            "GROUP BY k.coder ORDER BY k.coder",
        )

    # -- review --------------------------------------------------------------------------

    def codes_in_use(self, conn: Connection) -> list[str]:
        """Every code some coding or decision uses, alphabetically."""
        return list(
            conn.execute(
                text("SELECT DISTINCT code FROM codings UNION SELECT code FROM decisions "
                     "WHERE code IS NOT NULL ORDER BY 1")
            ).scalars()
        )

    def coder_confidences(self, conn: Connection, coder: str) -> list[tuple[str, float]]:
        """``(coding_id, confidence)`` of one coder's codings that have a confidence."""
        rows = conn.execute(
            text("SELECT coding_id, confidence FROM codings WHERE coder = :coder "
                 "AND confidence IS NOT NULL"),
            {"coder": coder},
        )
        return [(row[0], row[1]) for row in rows]

    def all_decisions(self, conn: Connection, *, reviewer: str | None = None) -> list[dict]:
        """Every decision (one reviewer's, if given) with its coding and turn ids, in order."""
        only = "WHERE d.reviewer = :reviewer" if reviewer is not None else ""
        rows = conn.execute(
            text(
                f"SELECT {_DECISION_COLUMNS}, t.transcript_id, u.turn_id, c.coder "
                "FROM decisions d JOIN codings c ON c.pk = d.coding_pk "
                "JOIN turns u ON u.pk = c.turn_pk JOIN transcripts t ON t.pk = u.transcript_pk "
                f"{only} ORDER BY d.pk"
            ),
            {"reviewer": reviewer} if reviewer is not None else {},
        ).mappings()
        return [_decision(row) for row in rows]

    def transcript_ids(self, conn: Connection) -> list[str]:
        """The ids of the current transcripts, in order."""
        return list(conn.execute(text(
            "SELECT transcript_id FROM transcripts WHERE is_current = 1 ORDER BY transcript_id"
        )).scalars())

    def count_codings(self, conn: Connection) -> tuple[int, int]:
        """``(codings, coders)`` on current turns."""
        row = conn.execute(text(
            "SELECT COUNT(*), COUNT(DISTINCT c.coder) FROM codings c JOIN turns u "
            "ON u.pk = c.turn_pk JOIN transcripts t ON t.pk = u.transcript_pk "
            "WHERE t.is_current = 1")).one()
        return row[0], row[1]

    def review_queue(
        self, conn: Connection, reviewer: str, *, limit: int, offset: int = 0,
        code: str | None = None, transcript_id: str | None = None,
        uncertain_first: bool = False,
    ) -> list[dict[str, Any]]:
        """Auto-codings still pending for ``reviewer``, least confident first (unknown first).

        With ``uncertain_first`` the learned coder's codings (``learned:`` and ``auto:``,
        whose confidence is a calibrated probability) come first, nearest 0.5 first, then
        the others as before.

        Over the whole corpus the codings are walked in confidence order (CROSS JOIN keeps
        SQLite on the confidence index), so the next item costs a few index probes; one
        transcript's codings, or the uncertainty order, are sorted.
        """
        where, params = _queue_filters(reviewer, code=code, transcript_id=transcript_id)
        walk = transcript_id is None and not uncertain_first
        join = "CROSS JOIN" if walk else "JOIN"
        order = "c.confidence, c.pk"
        if uncertain_first:
            learned = (f"(({_LEARNED_CODER}) AND c.confidence IS NOT NULL)")
            order = (f"CASE WHEN {learned} THEN 0 ELSE 1 END, CASE WHEN {learned} "
                     "THEN abs(2 * c.confidence - 1) ELSE c.confidence END, c.pk")
        return _dicts(
            conn,
            f"SELECT {_REVIEW_COLUMNS} FROM codings c {join} turns u ON u.pk = c.turn_pk "
            f"{join} transcripts t ON t.pk = u.transcript_pk "
            f"WHERE {where} ORDER BY {order} LIMIT :limit OFFSET :offset",
            {**params, "limit": limit, "offset": offset},
        )

    def has_learned_codings(self, conn: Connection) -> bool:
        """Whether the learned coder (``learned:`` or ``auto:``) has coded anything."""
        # Prefix ranges (';' follows ':') stay on the coder index.
        return conn.execute(text(
            "SELECT EXISTS (SELECT 1 FROM codings WHERE coder >= 'auto:' AND coder < 'auto;') "
            "OR EXISTS (SELECT 1 FROM codings WHERE coder >= 'learned:' AND coder < 'learned;')"
        )).scalar_one() == 1

    def count_review_queue(
        self, conn: Connection, reviewer: str, *, code: str | None = None,
        transcript_id: str | None = None,
    ) -> int:
        """How many auto-codings are pending for ``reviewer``: all of them less those decided."""
        where, params = ["c.origin != 'human'", "t.is_current = 1"], {"reviewer": reviewer}
        if code is not None:
            where.append("c.code = :code")
            params["code"] = code
        if transcript_id is not None:
            where.append("t.transcript_id = :tid")
            params["tid"] = transcript_id
        joins = ("FROM codings c JOIN turns u ON u.pk = c.turn_pk "
                 "JOIN transcripts t ON t.pk = u.transcript_pk")
        if transcript_id is not None:
            total = conn.execute(
                text(f"SELECT COUNT(*) {joins} WHERE {' AND '.join(where)}"), params
            ).scalar_one()
        else:
            # Every auto-coding, less the few on retired versions: no join per coding.
            plain = " AND ".join(clause for clause in where if "t." not in clause)
            total = conn.execute(
                text(f"SELECT COUNT(*) FROM codings c WHERE {plain}"), params
            ).scalar_one() - conn.execute(
                text("SELECT COUNT(*) FROM transcripts t JOIN turns u ON u.transcript_pk = t.pk "
                     f"JOIN codings c ON c.turn_pk = u.pk WHERE t.is_current = 0 AND {plain}"),
                params,
            ).scalar_one()
        decided = conn.execute(
            text(
                f"SELECT COUNT(*) {joins} JOIN reviewer_states d ON d.coding_pk = c.pk "
                f"WHERE {' AND '.join(where)} AND d.reviewer = :reviewer "
                "AND d.state != 'pending'"
            ),
            params,
        ).scalar_one()
        return total - decided

    def pending_coding_ids(
        self, conn: Connection, reviewer: str, *, code: str | None = None,
        transcript_id: str | None = None,
    ) -> list[tuple[str, float | None]]:
        """``(coding_id, confidence)`` of every auto-coding pending for ``reviewer``."""
        where, params = _queue_filters(reviewer, code=code, transcript_id=transcript_id)
        rows = conn.execute(
            text(
                "SELECT c.coding_id, c.confidence FROM codings c JOIN turns u ON u.pk = c.turn_pk "
                f"JOIN transcripts t ON t.pk = u.transcript_pk WHERE {where}"
            ),
            params,
        )
        return [(row[0], row[1]) for row in rows]

    def codings_for_review(self, conn: Connection, coding_ids: Sequence[str]) -> list[dict[str, Any]]:
        """Codings by id with their turn (text included), in the order of ``coding_ids``."""
        found: dict[str, dict[str, Any]] = {}
        for batch in chunked(coding_ids, 500):
            names, params = in_list(batch)
            rows = conn.execute(
                text(
                    f"SELECT {_REVIEW_COLUMNS} FROM codings c JOIN turns u ON u.pk = c.turn_pk "
                    f"JOIN transcripts t ON t.pk = u.transcript_pk WHERE c.coding_id IN ({names})"
                ),
                params,
            )
            found.update((row["coding_id"], dict(row)) for row in rows.mappings())
        return [found[coding_id] for coding_id in coding_ids if coding_id in found]

    def latest_decision(
        self, conn: Connection, coding_pk: int, reviewer: str
    ) -> dict[str, Any] | None:
        """The reviewer's standing decision on a coding, or None."""
        row = conn.execute(
            text(
                f"SELECT {_STATE_COLUMNS} FROM reviewer_states d "
                "JOIN codings c ON c.pk = d.coding_pk "
                "WHERE d.coding_pk = :pk AND d.reviewer = :reviewer"
            ),
            {"pk": coding_pk, "reviewer": reviewer},
        ).mappings().one_or_none()
        return _decision(row) if row else None

    def decision(self, conn: Connection, decision_id: str) -> dict[str, Any] | None:
        row = conn.execute(
            text(
                f"SELECT {_DECISION_COLUMNS} FROM decisions d JOIN codings c ON c.pk = d.coding_pk "
                "WHERE d.decision_id = :id"
            ),
            {"id": decision_id},
        ).mappings().one_or_none()
        return _decision(row) if row else None

    def add_decision(self, conn: Connection, decision: Mapping[str, Any]) -> bool:
        """Append a decision; False when one with its ``decision_id`` is there already.

        The id is made when the reviewer's form is drawn, so a form sent twice (a double
        click, a retried request) records one decision.
        """
        inserted = conn.execute(
            text(
                "INSERT INTO decisions (decision_id, coding_pk, reviewer, verdict, code, "
                "start_char, end_char, note, previous, decided_at, status, undoes) VALUES "
                "(:decision_id, :coding_pk, :reviewer, :verdict, :code, :start_char, :end_char, "
                ":note, :previous, :decided_at, :status, :undoes) "
                "ON CONFLICT (decision_id) DO NOTHING"
            ),
            {"note": None, "undoes": None, "decided_at": now_iso(), **decision,
             "previous": json.dumps(decision.get("previous"), sort_keys=True)},
        ).rowcount
        return inserted == 1

    def add_coding(self, conn: Connection, coding: Mapping[str, Any]) -> int | None:
        """Insert one coding (columns as :meth:`add_codings`); its pk, None if its id exists."""
        return conn.execute(
            text(
                "INSERT INTO codings (coding_id, turn_pk, code, start_char, end_char, "
                "confidence, coder, origin, evidence, run_pk, created_at) VALUES (:coding_id, "
                ":turn_pk, :code, :start_char, :end_char, :confidence, :coder, :origin, "
                ":evidence, :run_pk, :created_at) ON CONFLICT (coding_id) DO NOTHING RETURNING pk"
            ),
            {"confidence": None, "evidence": None, "run_pk": None, "created_at": now_iso(),
             **coding},
        ).scalar_one_or_none()

    def last_standing_decision(self, conn: Connection, reviewer: str) -> dict[str, Any] | None:
        """The reviewer's latest decision that is not an undo and has not been undone."""
        row = conn.execute(
            text(
                f"SELECT {_DECISION_COLUMNS} FROM decisions d JOIN codings c ON c.pk = d.coding_pk "
                "WHERE d.reviewer = :reviewer AND d.verdict != 'undo' AND NOT EXISTS (SELECT 1 "
                "FROM decisions u WHERE u.undoes = d.decision_id) ORDER BY d.pk DESC LIMIT 1"
            ),
            {"reviewer": reviewer},
        ).mappings().one_or_none()
        return _decision(row) if row else None

    def reviewers(self, conn: Connection) -> list[str]:
        return list(
            conn.execute(text("SELECT DISTINCT reviewer FROM decisions ORDER BY reviewer")).scalars()
        )

    def latest_states(
        self, conn: Connection, coding_pks: Sequence[int], *, reviewer: str | None = None
    ) -> list[dict[str, Any]]:
        """Each reviewer's standing decision on these codings (one reviewer's, if given)."""
        rows = _per_coding_batch(
            conn, coding_pks, reviewer, "d.",
            f"SELECT {_STATE_COLUMNS} FROM reviewer_states d "
            "JOIN codings c ON c.pk = d.coding_pk WHERE d.coding_pk IN ({names}) {only}")
        return [_decision(row) for row in rows]

    def notes(
        self, conn: Connection, coding_pks: Sequence[int], *, reviewer: str | None = None
    ) -> list[dict[str, Any]]:
        """The notes on these codings (one reviewer's, if given), oldest first."""
        rows = _per_coding_batch(
            conn, coding_pks, reviewer, "",
            "SELECT coding_pk, reviewer, note, decided_at FROM decisions "
            "WHERE coding_pk IN ({names}) {only} AND note IS NOT NULL ORDER BY pk")
        return [dict(row) for row in rows]

    def reviewer_states(self, conn: Connection, reviewer: str) -> list[dict[str, Any]]:
        """The reviewer's standing decision on every coding they decided, with its turn and
        coder."""
        rows = conn.execute(
            text(
                f"SELECT {_STATE_COLUMNS}, c.turn_pk, c.coder AS coding_coder, c.origin, "
                "c.code AS coding_code FROM reviewer_states d CROSS JOIN codings c "
                "ON c.pk = d.coding_pk CROSS JOIN turns u ON u.pk = c.turn_pk "
                "CROSS JOIN transcripts t ON t.pk = u.transcript_pk "
                "WHERE d.reviewer = :reviewer AND t.is_current = 1"
            ),
            {"reviewer": reviewer},
        ).mappings()
        return [{**_decision(row), "turn_pk": row["turn_pk"], "coding_coder": row["coding_coder"],
                 "origin": row["origin"], "coding_code": row["coding_code"]} for row in rows]

    def auto_coders(self, conn: Connection) -> list[str]:
        """Coders that are not people (rules, learned, topic), by name."""
        # Distinct coders come off the (coder, code) index; one row each tells its origin.
        names = conn.execute(text("SELECT DISTINCT coder FROM codings ORDER BY coder")).scalars()
        return [name for name in list(names) if conn.execute(
            text("SELECT origin FROM codings WHERE coder = :coder LIMIT 1"), {"coder": name}
        ).scalar_one() != "human"]

    def coding_version(self, conn: Connection) -> tuple[int, int]:
        """The newest coding and decision keys: they change whenever either table does."""
        row = conn.execute(text(
            "SELECT (SELECT COALESCE(MAX(pk), 0) FROM codings), "
            "(SELECT COALESCE(MAX(pk), 0) FROM decisions)")).one()
        return row[0], row[1]

    def turn_codes(
        self, conn: Connection, coder: str, turn_pks: Sequence[int]
    ) -> dict[int, set[str]]:
        """``turn_pk -> codes`` that ``coder`` put on these turns (turns without codes absent)."""
        result: dict[int, set[str]] = {}
        # By turn first: a turn has few codings, a coder may have tens of thousands.
        for turn_pk, code, who in self._codings_on(conn, turn_pks, "code, coder"):
            if who == coder:
                result.setdefault(turn_pk, set()).add(code)
        return result

    def auto_codings_on(
        self, conn: Connection, turn_pks: Sequence[int]
    ) -> list[tuple[int, int, str]]:
        """``(turn_pk, coding pk, code)`` of every auto-coding on these turns."""
        return [(turn_pk, pk, code) for turn_pk, pk, code, origin
                in self._codings_on(conn, turn_pks, "pk, code, origin")
                if origin != Origin.HUMAN.value]

    def _codings_on(self, conn: Connection, turn_pks: Sequence[int], columns: str) -> list:
        rows = []
        for batch in chunked(turn_pks, 500):
            names, params = in_list(batch)
            rows.extend(conn.execute(
                text(f"SELECT turn_pk, {columns} FROM codings WHERE turn_pk IN ({names})"),
                params,
            ).all())
        return rows

    def turns_coded_by(
        self, conn: Connection, coder: str, *, among: Sequence[int] | None = None
    ) -> set[int]:
        """Current turns ``coder`` has coded (recorded as coded, or carrying its codings).

        With ``among``, only those of these turns (a few index probes each).
        """
        if among is not None:
            found = {turn_pk for turn_pk, who in self._codings_on(conn, among, "coder")
                     if who == coder}
            for batch in chunked(among, 500):
                names, params = in_list(batch)
                params = params | {"coder": coder}
                found.update(conn.execute(text(
                    f"SELECT turn_pk FROM coded_turns WHERE coder = :coder "
                    f"AND turn_pk IN ({names})"), params).scalars())
            return found
        rows = conn.execute(
            text(
                "SELECT k.turn_pk FROM coded_turns k JOIN turns u ON u.pk = k.turn_pk "
                "JOIN transcripts t ON t.pk = u.transcript_pk "
                "WHERE k.coder = :coder AND t.is_current = 1 UNION "
                "SELECT c.turn_pk FROM codings c JOIN turns u ON u.pk = c.turn_pk "
                "JOIN transcripts t ON t.pk = u.transcript_pk "
                "WHERE c.coder = :coder AND t.is_current = 1"
            ),
            {"coder": coder},
        )
        return set(rows.scalars())

    def turn_rows(self, conn: Connection, turn_pks: Sequence[int]) -> dict[int, dict[str, Any]]:
        result: dict[int, dict[str, Any]] = {}
        for batch in chunked(turn_pks, 500):
            names, params = in_list(batch)
            rows = conn.execute(
                text(
                    "SELECT u.pk AS turn_pk, t.transcript_id, u.turn_id, u.position, u.speaker, "
                    "u.role, u.text FROM turns u JOIN transcripts t ON t.pk = u.transcript_pk "
                    f"WHERE u.pk IN ({names})"
                ),
                params,
            ).mappings()
            result.update((row["turn_pk"], dict(row)) for row in rows)
        return result

    def turn_pk(self, conn: Connection, transcript_id: str, turn_id: str) -> tuple[int, str] | None:
        """``(turn_pk, text)`` of a turn of a current transcript, or None."""
        row = conn.execute(
            text(
                "SELECT u.pk, u.text FROM turns u JOIN transcripts t ON t.pk = u.transcript_pk "
                "WHERE t.transcript_id = :tid AND t.is_current = 1 AND u.turn_id = :turn"
            ),
            {"tid": transcript_id, "turn": turn_id},
        ).one_or_none()
        return (row[0], row[1]) if row else None

    def turn_page(
        self, conn: Connection, transcript_id: str, *, offset: int, limit: int,
        speaker: str | None = None,
    ) -> list[dict[str, Any]]:
        """One page of a current transcript's turns in order (one speaker's, if given)."""
        only, params = "", {"tid": transcript_id, "limit": limit, "offset": offset}
        if speaker is not None:
            only = "AND u.speaker = :speaker"
            params["speaker"] = speaker
        return _dicts(
            conn,
            "SELECT u.pk AS turn_pk, u.turn_id, u.position, u.speaker, u.role, u.text, "
            "u.timestamp FROM turns u WHERE u.transcript_pk = (SELECT pk FROM transcripts "
            f"WHERE transcript_id = :tid AND is_current = 1) {only} "
            "ORDER BY u.position LIMIT :limit OFFSET :offset",
            params,
        )

    def transcript_speakers(self, conn: Connection, transcript_id: str) -> dict[str, int]:
        """``speaker -> turns`` of a current transcript, in order of first appearance."""
        rows = conn.execute(
            text(
                "SELECT u.speaker, COUNT(*), MIN(u.position) AS first FROM turns u "
                "WHERE u.transcript_pk = (SELECT pk FROM transcripts WHERE transcript_id = :tid "
                "AND is_current = 1) GROUP BY u.speaker ORDER BY first"
            ),
            {"tid": transcript_id},
        )
        return {row[0]: row[1] for row in rows}

    def codings_on_turns(self, conn: Connection, turn_pks: Sequence[int]) -> list[dict[str, Any]]:
        """Every coding on these turns, by turn and offset."""
        result: list[dict[str, Any]] = []
        for batch in chunked(turn_pks, 500):
            names, params = in_list(batch)
            rows = conn.execute(
                text(
                    "SELECT c.pk AS coding_pk, c.coding_id, c.turn_pk, c.code, c.start_char, "
                    "c.end_char, c.confidence, c.coder, c.origin, c.evidence FROM codings c "
                    f"WHERE c.turn_pk IN ({names}) ORDER BY c.turn_pk, c.start_char, c.pk"
                ),
                params,
            ).mappings()
            result.extend(dict(row) for row in rows)
        return result

    def corpus_overview(self, conn: Connection, *, reviewer: str | None) -> list[dict[str, Any]]:
        """Per current transcript: metadata, turns, auto-codings, and those reviewed.

        ``reviewed`` counts auto-codings whose standing decision (by ``reviewer``, or by
        anyone when None) leaves them decided rather than pending.
        """
        only = "AND d.reviewer = :reviewer" if reviewer is not None else ""
        rows = conn.execute(
            text(
                "SELECT t.pk, t.transcript_id, t.meta, (SELECT COUNT(*) FROM turns u "
                "WHERE u.transcript_pk = t.pk) AS turns FROM transcripts t "
                "WHERE t.is_current = 1 ORDER BY t.transcript_id"
            )
        ).mappings().all()
        codings = dict(conn.execute(text(
            "SELECT u.transcript_pk, COUNT(*) FROM codings c JOIN turns u ON u.pk = c.turn_pk "
            "WHERE c.origin != 'human' GROUP BY u.transcript_pk")).all())
        # Few codings are decided: start from the decisions, not from every coding.
        reviewed = dict(conn.execute(text(
            "SELECT u.transcript_pk, COUNT(DISTINCT d.coding_pk) FROM reviewer_states d "
            "CROSS JOIN codings c ON c.pk = d.coding_pk CROSS JOIN turns u ON u.pk = c.turn_pk "
            f"WHERE c.origin != 'human' {only} AND d.state NOT IN ('pending', 'absent') "
            "GROUP BY u.transcript_pk"),
            {"reviewer": reviewer} if reviewer is not None else {}).all())
        return [{"transcript_id": row["transcript_id"], "meta": from_json(row["meta"]),
                 "turns": row["turns"], "codings": codings.get(row["pk"], 0),
                 "reviewed": reviewed.get(row["pk"], 0)} for row in rows]
    # -- codebooks and decisions ----------------------------------------------------------

    def add_codebook(
        self, conn: Connection, *, name: str, version: str, content_hash: str, source: str,
        content: str, codes: Sequence[Mapping[str, Any]],
    ) -> int:
        """Store a codebook and its codes once; the same content again returns the same pk.

        ``codes`` are dicts with ``key, name, parent, family, polarity, colour, definition``.
        """
        existing = conn.execute(
            text("SELECT pk FROM codebooks WHERE name = :name AND version = :version "
                 "AND content_hash = :hash"),
            {"name": name, "version": version, "hash": content_hash},
        ).scalar_one_or_none()
        if existing is not None:
            return existing
        pk = conn.execute(
            text("INSERT INTO codebooks (name, version, content_hash, source, content, loaded_at) "
                 "VALUES (:name, :version, :hash, :source, :content, :at) RETURNING pk"),
            {"name": name, "version": version, "hash": content_hash, "source": source,
             "content": content, "at": now_iso()},
        ).scalar_one()
        if codes:
            conn.execute(
                text("INSERT INTO codes (codebook_pk, key, name, parent, family, polarity, colour, "
                     "definition) VALUES (:pk, :key, :name, :parent, :family, :polarity, "
                     ":colour, :definition)"),
                [{"pk": pk, "parent": None, "family": None, "polarity": "neutral",
                  "colour": None, "definition": "", **code} for code in codes],
            )
        return pk

    def latest_codes(self, conn: Connection) -> list[dict[str, Any]]:
        """Every code key once, as the most recently loaded codebook defines it, by key."""
        rows = conn.execute(
            text("SELECT c.key, c.name, c.parent, c.family, c.polarity, c.colour, c.definition, "
                 "b.name AS codebook, b.version AS codebook_version FROM codes c "
                 "JOIN codebooks b ON b.pk = c.codebook_pk WHERE c.pk IN "
                 "(SELECT c2.pk FROM codes c2 WHERE c2.key = c.key "
                 " ORDER BY c2.codebook_pk DESC LIMIT 1) ORDER BY c.pk")
        )
        return [dict(row) for row in rows.mappings()]

    def latest_decisions(self, conn: Connection) -> dict[int, dict[str, Any]]:
        """``coding_pk -> its standing decision`` (the ``coding_states`` view).

        A memo or an undo is reported by the verdict of the state it leaves (``undo`` when
        an undo leaves the coding pending or absent); a memo on an undecided coding is none.
        """
        rows = conn.execute(
            text("SELECT d.coding_pk, d.decision_id, d.reviewer, CASE WHEN d.verdict IN "
                 "('undo', 'memo') THEN CASE d.state WHEN 'accepted' THEN 'accept' "
                 "WHEN 'corrected' THEN 'correct' WHEN 'rejected' THEN 'reject' ELSE 'undo' END "
                 "ELSE d.verdict END AS verdict, d.code, d.start_char, d.end_char, d.note, "
                 "d.decided_at FROM coding_states d "
                 "WHERE NOT (d.verdict = 'memo' AND d.state IN ('pending', 'absent'))")
        )
        return {row["coding_pk"]: dict(row) for row in rows.mappings()}

    def current_transcripts(
        self, conn: Connection, *, transcript_ids: Sequence[str] | None = None
    ) -> list[dict[str, Any]]:
        """Current transcripts with their text, format, metadata and ingest time, in id order."""
        where, params = "is_current = 1", {}
        if transcript_ids is not None:
            names, params = in_list(transcript_ids, "id")
            where += f" AND transcript_id IN ({names or 'NULL'})"
        rows = conn.execute(
            text("SELECT pk, transcript_id, version, source, format, text, meta, ingested_at "
                 f"FROM transcripts WHERE {where} ORDER BY transcript_id"),
            params,
        )
        return [{**row, "meta": from_json(row["meta"])} for row in rows.mappings()]

    # -- rewriting text in place (pseudonymisation) ---------------------------------------

    def transcript_versions(self, conn: Connection) -> list[dict[str, Any]]:
        """Every version of every transcript (current or retired) with its text and metadata."""
        rows = conn.execute(
            text("SELECT pk, transcript_id, version, is_current, text, meta FROM transcripts "
                 "ORDER BY transcript_id, version")
        )
        return [{**row, "meta": from_json(row["meta"])} for row in rows.mappings()]

    def turns_of(self, conn: Connection, transcript_pk: int) -> list[dict[str, Any]]:
        rows = conn.execute(
            text("SELECT pk, turn_id, position, speaker, role, start_char, end_char, text, "
                 "timestamp, end_timestamp, meta FROM turns WHERE transcript_pk = :pk "
                 "ORDER BY position"),
            {"pk": transcript_pk},
        )
        return [{**row, "meta": from_json(row["meta"])} for row in rows.mappings()]

    def spans_on_turns(self, conn: Connection, turn_pks: Sequence[int]) -> list[dict[str, Any]]:
        """The codings and the decisions with a span on these turns: ``kind, pk, turn_pk,
        start_char, end_char`` (offsets into the turn's text)."""
        result: list[dict[str, Any]] = []
        for batch in chunked(turn_pks, 500):
            names, params = in_list(batch)
            rows = conn.execute(
                text("SELECT 'coding' AS kind, pk, turn_pk, start_char, end_char FROM codings "
                     f"WHERE turn_pk IN ({names}) UNION ALL "
                     "SELECT 'decision', d.pk, c.turn_pk, d.start_char, d.end_char "
                     "FROM decisions d JOIN codings c ON c.pk = d.coding_pk "
                     f"WHERE c.turn_pk IN ({names}) AND d.start_char IS NOT NULL "
                     "AND d.end_char IS NOT NULL"),
                params,
            )
            result.extend(dict(row) for row in rows.mappings())
        return result

    def rewrite_transcript(
        self, conn: Connection, pk: int, *, text_: str, meta: Mapping[str, Any],
        content_hash: str, turns: Sequence[Mapping[str, Any]], spans: Sequence[Mapping[str, Any]],
    ) -> None:
        """Replace a transcript version's text, its turns' speakers, texts and offsets, and the
        offsets of the codings and decisions on them, keeping every row's identity."""
        conn.execute(
            text("UPDATE transcripts SET text = :text, meta = :meta, content_hash = :hash "
                 "WHERE pk = :pk"),
            {"text": text_, "meta": to_json(meta), "hash": content_hash, "pk": pk},
        )
        if turns:
            conn.execute(
                text("UPDATE turns SET speaker = :speaker, start_char = :start_char, "
                     "end_char = :end_char, text = :text WHERE pk = :pk"),
                [dict(turn) for turn in turns],
            )
        for kind, table in (("coding", "codings"), ("decision", "decisions")):
            rows = [dict(span) for span in spans if span["kind"] == kind]
            if rows:
                conn.execute(
                    text(f"UPDATE {table} SET start_char = :start_char, end_char = :end_char "
                         "WHERE pk = :pk"),
                    rows,
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

    def human_coders(self, conn: Connection) -> list[str]:
        """The ``human:NAME`` coders that have coded turns, in name order."""
        return list(conn.execute(text(
            "SELECT DISTINCT coder FROM coded_turns WHERE coder LIKE 'human:%' ORDER BY coder"
        )).scalars())

    def codings_on(
        self, conn: Connection, *, coder: str, turn_pks: Sequence[int]
    ) -> tuple[set[int], list[dict[str, Any]]]:
        """Which of ``turn_pks`` ``coder`` has coded, and its codings on them."""
        coded: set[int] = set()
        codings: list[dict[str, Any]] = []
        for batch in chunked(sorted(set(turn_pks)), 500):
            names, params = in_list(batch)
            params = params | {"coder": coder}
            coded.update(conn.execute(text(
                f"SELECT turn_pk FROM coded_turns WHERE coder = :coder AND turn_pk IN ({names})"
            ), params).scalars())
            codings.extend(dict(row) for row in conn.execute(text(
                "SELECT turn_pk, code, start_char, end_char, confidence, evidence, origin "
                f"FROM codings WHERE coder = :coder AND turn_pk IN ({names}) ORDER BY pk"
            ), params).mappings())
        return coded, codings

    def turns_before(self, conn: Connection, turn_pks: Sequence[int], count: int = 2
                     ) -> dict[int, list[dict[str, Any]]]:
        """The ``count`` turns before each turn in its transcript, most recent first."""
        result: dict[int, list[dict[str, Any]]] = {pk: [] for pk in turn_pks}
        for batch in chunked(sorted(set(turn_pks)), 500):
            names, params = in_list(batch)
            rows = conn.execute(
                text(
                    "SELECT u.pk AS turn_pk, p.speaker, p.role, p.text "
                    "FROM turns u JOIN turns p ON p.transcript_pk = u.transcript_pk "
                    "AND p.position < u.position AND p.position >= u.position - :count "
                    f"WHERE u.pk IN ({names}) ORDER BY u.pk, p.position DESC"
                ),
                params | {"count": count},
            ).mappings()
            for row in rows:
                result[row["turn_pk"]].append(
                    {"speaker": row["speaker"], "role": row["role"], "text": row["text"]})
        return result

    def turns_by_pk(self, conn: Connection, turn_pks: Sequence[int]) -> dict[int, dict[str, Any]]:
        """Turns with their transcript id and the text of the turn before (``""`` if first)."""
        result: dict[int, dict[str, Any]] = {}
        for batch in chunked(sorted(set(turn_pks)), 500):
            names, params = in_list(batch)
            rows = conn.execute(
                text(
                    "SELECT u.pk AS turn_pk, t.transcript_id, u.turn_id, u.position, u.speaker, "
                    "u.role, u.text, p.pk AS previous_pk, COALESCE(p.text, '') AS previous_text "
                    "FROM turns u JOIN transcripts t ON t.pk = u.transcript_pk "
                    "LEFT JOIN turns p ON p.transcript_pk = u.transcript_pk "
                    "AND p.position = u.position - 1 "
                    f"WHERE u.pk IN ({names})"
                ),
                params,
            ).mappings()
            result.update({row["turn_pk"]: dict(row) for row in rows})
        return result

    def training_decisions(self, conn: Connection) -> list[dict[str, Any]]:
        """Each judged coding on a current turn with its standing verdict, in decision order.

        The ``coding_states`` view holds, as its state says: ``accept``, ``reject`` or
        ``correct`` (an undo counts as the verdict it restores); a coding it leaves pending
        or absent (an undone accept, an undone or removed added code) is not judged.

        Rows hold ``decision_id, verdict, decided_code`` (the code the reviewer settled on),
        ``turn_pk, code`` (the coding's own code), ``coder``, ``origin`` and ``evidence``.
        """
        return _dicts(
            conn,
            "SELECT d.decision_id, CASE d.state WHEN 'accepted' THEN 'accept' "
            "WHEN 'rejected' THEN 'reject' WHEN 'corrected' THEN 'correct' END AS verdict, "
            "d.code AS decided_code, d.reviewer, "
            "c.pk AS coding_pk, c.turn_pk, c.code, c.coder, c.origin, c.evidence "
            "FROM coding_states d JOIN codings c ON c.pk = d.coding_pk "
            "JOIN turns u ON u.pk = c.turn_pk JOIN transcripts t ON t.pk = u.transcript_pk "
            "WHERE t.is_current = 1 AND d.state IN ('accepted', 'rejected', 'corrected') "
            "ORDER BY d.pk",
        )

    def add_answer(self, conn: Connection, answer: Mapping[str, Any]) -> bool:
        """Append an answer (``answer_id, turn_pk, code, reviewer, applies`` and optionally
        ``model_id, probability``); False when one with its ``answer_id`` is there already."""
        return conn.execute(
            text(
                "INSERT INTO answers (answer_id, turn_pk, code, reviewer, applies, model_id, "
                "probability, answered_at) VALUES (:answer_id, :turn_pk, :code, :reviewer, "
                ":applies, :model_id, :probability, :answered_at) "
                "ON CONFLICT (answer_id) DO NOTHING"
            ),
            {"model_id": None, "probability": None, "answered_at": now_iso(), **answer},
        ).rowcount == 1

    def answer_history(self, conn: Connection, *, reviewer: str | None = None
                       ) -> list[dict[str, Any]]:
        """Every answer row (withdrawals too: ``applies`` NULL), oldest first, with its turn."""
        only = "WHERE a.reviewer = :reviewer" if reviewer is not None else ""
        return _dicts(
            conn,
            "SELECT a.answer_id, t.transcript_id, u.turn_id, a.code, a.reviewer, a.applies, "
            "a.model_id, a.probability, a.answered_at FROM answers a "
            "JOIN turns u ON u.pk = a.turn_pk JOIN transcripts t ON t.pk = u.transcript_pk "
            f"{only} ORDER BY a.pk",
            {"reviewer": reviewer} if reviewer is not None else {},
        )

    def answers(self, conn: Connection, *, reviewer: str | None = None) -> list[dict[str, Any]]:
        """Standing answers on current turns: each reviewer's latest per turn and code, less
        withdrawn ones, in the order they were given."""
        only = "AND a.reviewer = :reviewer" if reviewer is not None else ""
        return _dicts(
            conn,
            "SELECT a.answer_id, a.turn_pk, a.code, a.reviewer, a.applies, a.model_id, "
            "a.probability, a.answered_at, t.transcript_id, u.turn_id FROM answers a "
            "JOIN turns u ON u.pk = a.turn_pk JOIN transcripts t ON t.pk = u.transcript_pk "
            f"WHERE t.is_current = 1 AND a.applies IS NOT NULL {only} AND a.pk = "
            "(SELECT MAX(b.pk) FROM answers b WHERE b.turn_pk = a.turn_pk "
            "AND b.code = a.code AND b.reviewer = a.reviewer) ORDER BY a.pk",
            {"reviewer": reviewer} if reviewer is not None else {},
        )

    def add_model(
        self, conn: Connection, *, model_id: str, kind: str, coder: str, path: str,
        manifest: Mapping[str, Any], run_pk: int | None = None,
    ) -> None:
        conn.execute(
            text(
                "INSERT INTO models (model_id, kind, coder, path, run_pk, manifest, created_at) "
                "VALUES (:id, :kind, :coder, :path, :run, :manifest, :at)"
            ),
            {"id": model_id, "kind": kind, "coder": coder, "path": path, "run": run_pk,
             "manifest": to_json(manifest), "at": now_iso()},
        )

    def newest_model_id(self, conn: Connection, *, kind: str) -> str | None:
        """The id of the newest model of ``kind``, or None (without reading manifests)."""
        return conn.execute(text("SELECT model_id FROM models WHERE kind = :kind "
                                 "ORDER BY pk DESC LIMIT 1"), {"kind": kind}).scalar_one_or_none()

    def list_models(self, conn: Connection, *, kind: str | None = None) -> list[dict[str, Any]]:
        """Models, oldest first, with their manifests."""
        sql = "SELECT model_id, kind, coder, path, manifest, created_at FROM models"
        params = {}
        if kind:
            sql += " WHERE kind = :kind"
            params["kind"] = kind
        rows = conn.execute(text(sql + " ORDER BY pk"), params).mappings()
        return [{**row, "manifest": from_json(row["manifest"])} for row in rows]

    def latest_codebook(self, conn: Connection) -> dict[str, Any] | None:
        """The codebook most recently used in the project (``source``, ``content``, ...)."""
        row = conn.execute(
            text("SELECT name, version, content_hash, source, content FROM codebooks "
                 "ORDER BY pk DESC LIMIT 1")
        ).mappings().first()
        return dict(row) if row else None

    def find_codebook(self, conn: Connection, *, name: str, version: str
                      ) -> dict[str, Any] | None:
        """The latest recorded codebook of this name and version."""
        row = conn.execute(
            text("SELECT name, version, content_hash, source, content FROM codebooks "
                 "WHERE name = :name AND version = :version ORDER BY pk DESC LIMIT 1"),
            {"name": name, "version": version},
        ).mappings().first()
        return dict(row) if row else None

    # -- runs ---------------------------------------------------------------------------

    def start_run(
        self, conn: Connection, *, kind: str, coder: str | None = None,
        manifest: Mapping[str, Any] | None = None,
    ) -> tuple[int, str]:
        """Record a run in state ``running``; returns its ``(pk, run_id)``."""
        run_id = uuid4().hex
        pk = conn.execute(
            text(
                "INSERT INTO runs (run_id, kind, coder, status, manifest, started_at) "
                "VALUES (:run_id, :kind, :coder, 'running', :manifest, :at) RETURNING pk"
            ),
            {"run_id": run_id, "kind": kind, "coder": coder,
             "manifest": to_json(manifest), "at": now_iso()},
        ).scalar_one()
        return pk, run_id

    def finish_run(
        self, conn: Connection, run_pk: int, *, status: str = "done",
        manifest: Mapping[str, Any] | None = None,
    ) -> None:
        params = {"pk": run_pk, "status": status, "at": now_iso()}
        if manifest is None:
            sql = "UPDATE runs SET status = :status, finished_at = :at WHERE pk = :pk"
        else:
            sql = ("UPDATE runs SET status = :status, finished_at = :at, manifest = :manifest "
                   "WHERE pk = :pk")
            params["manifest"] = to_json(manifest)
        conn.execute(text(sql), params)

    def record_run(
        self, conn: Connection, *, kind: str, status: str = "done",
        coder: str | None = None, manifest: Mapping[str, Any] | None = None,
    ) -> str:
        """Record a run that happened inside one transaction; returns its run id."""
        pk, run_id = self.start_run(conn, kind=kind, coder=coder, manifest=manifest)
        self.finish_run(conn, pk, status=status)
        return run_id

    def mark_interrupted_runs(self, conn: Connection, *, kind: str, coder: str) -> list[str]:
        """Mark runs of this kind and coder left ``running`` by a killed process; their ids."""
        ids = list(conn.execute(
            text("SELECT run_id FROM runs WHERE kind = :kind AND coder = :coder "
                 "AND status = 'running'"), {"kind": kind, "coder": coder}).scalars())
        conn.execute(
            text("UPDATE runs SET status = 'interrupted' WHERE kind = :kind AND coder = :coder "
                 "AND status = 'running'"), {"kind": kind, "coder": coder})
        return ids

    def list_runs(self, conn: Connection, *, kind: str | None = None) -> list[dict[str, Any]]:
        sql = ("SELECT run_id, kind, coder, status, manifest, started_at, finished_at "
               "FROM runs")
        params = {}
        if kind:
            sql += " WHERE kind = :kind"
            params["kind"] = kind
        rows = conn.execute(text(sql + " ORDER BY pk"), params).mappings()
        return [{**row, "manifest": from_json(row["manifest"])} for row in rows]

    # -- embeddings ---------------------------------------------------------------------

    def cached_embeddings(
        self, conn: Connection, model: str, spans: Sequence[tuple[int, int, int]]
    ) -> dict[tuple[int, int, int], bytes]:
        """Stored vectors of ``model`` for these ``(turn_pk, start_char, end_char)`` spans."""
        by_turn = self.cached_embeddings_of(conn, model, [span[0] for span in spans])
        return {span: by_turn[span[0]][span[1:]] for span in set(spans)
                if span[1:] in by_turn.get(span[0], {})}

    def cached_embeddings_of(
        self, conn: Connection, model: str, turn_pks: Sequence[int]
    ) -> dict[int, dict[tuple[int, int], bytes]]:
        """Every stored vector of ``model`` on these turns, by turn and ``(start, end)`` span."""
        found: dict[int, dict[tuple[int, int], bytes]] = {}
        for batch in chunked(sorted(set(turn_pks)), 500):
            names, params = in_list(batch)
            rows = conn.execute(
                text("SELECT turn_pk, start_char, end_char, vector FROM embeddings "
                     f"WHERE model = :model AND turn_pk IN ({names})"),
                params | {"model": model},
            )
            for turn_pk, start_char, end_char, vector in rows:
                found.setdefault(turn_pk, {})[(start_char, end_char)] = vector
        return found

    def add_embeddings(
        self, conn: Connection, model: str, dimensions: int,
        vectors: Sequence[tuple[tuple[int, int, int], bytes]],
    ) -> None:
        """Cache vectors of ``model``: ``((turn_pk, start_char, end_char), float32 bytes)``."""
        at = now_iso()
        conn.execute(
            text("INSERT OR REPLACE INTO embeddings (turn_pk, model, start_char, end_char, "
                 "dimensions, vector, created_at) VALUES (:pk, :model, :start, :end, :dim, "
                 ":vector, :at)"),
            [{"pk": key[0], "model": model, "start": key[1], "end": key[2], "dim": dimensions,
              "vector": vector, "at": at} for key, vector in vectors],
        )

    # -- topics -------------------------------------------------------------------------

    def max_turn_pk(self, conn: Connection) -> int:
        """The highest turn key so far: turns ingested later have higher ones."""
        return conn.execute(text("SELECT COALESCE(MAX(pk), 0) FROM turns")).scalar_one()

    def latest_run(self, conn: Connection, kind: str) -> dict[str, Any] | None:
        """The most recent finished run of ``kind``, with its pk and manifest."""
        row = conn.execute(
            text("SELECT pk, run_id, kind, coder, status, manifest, started_at, finished_at "
                 "FROM runs WHERE kind = :kind AND status = 'done' ORDER BY pk DESC LIMIT 1"),
            {"kind": kind},
        ).mappings().one_or_none()
        return {**row, "manifest": from_json(row["manifest"])} if row else None

    def get_run(self, conn: Connection, run_id: str) -> dict[str, Any] | None:
        row = conn.execute(
            text("SELECT pk, run_id, kind, coder, status, manifest, started_at, finished_at "
                 "FROM runs WHERE run_id = :id"), {"id": run_id},
        ).mappings().one_or_none()
        return {**row, "manifest": from_json(row["manifest"])} if row else None

    def add_topics(
        self, conn: Connection, run_pk: int, topics: Sequence[Mapping[str, Any]]
    ) -> None:
        """Store a run's topics: dicts with ``topic_id, size, label, words, coherence``."""
        conn.execute(
            text("INSERT INTO topics (run_pk, topic_id, size, label, words, coherence) "
                 "VALUES (:run, :topic_id, :size, :label, :words, :coherence)"),
            [{"run": run_pk, "topic_id": topic["topic_id"], "size": topic["size"],
              "label": topic["label"], "words": json.dumps(topic["words"], ensure_ascii=False),
              "coherence": topic.get("coherence")} for topic in topics],
        )

    def add_topic_assignments(
        self, conn: Connection, run_pk: int, assignments: Sequence[Mapping[str, Any]]
    ) -> None:
        """Store units' topics: dicts with ``turn_pk, start_char, end_char, topic_id,
        probability, representative``; a unit assigned again is replaced."""
        if not assignments:
            return
        conn.execute(
            text("INSERT OR REPLACE INTO topic_assignments (run_pk, turn_pk, start_char, "
                 "end_char, topic_id, probability, representative) VALUES (:run, :turn_pk, "
                 ":start_char, :end_char, :topic_id, :probability, :representative)"),
            [{"representative": None, **assignment, "run": run_pk}
             for assignment in assignments],
        )

    def list_topics(self, conn: Connection, run_pk: int) -> list[dict[str, Any]]:
        rows = conn.execute(
            text("SELECT topic_id, size, label, words, coherence FROM topics "
                 "WHERE run_pk = :run ORDER BY topic_id"), {"run": run_pk},
        ).mappings()
        return [{**row, "words": json.loads(row["words"])} for row in rows]

    def iter_topic_assignments(self, conn: Connection, run_pk: int) -> Iterator[dict[str, Any]]:
        """A run's units in corpus order, with their turn's ids, speaker, role and metadata."""
        rows = conn.execute(
            text("SELECT a.turn_pk, t.transcript_id, u.turn_id, u.speaker, u.role, "
                 "u.timestamp, a.start_char, a.end_char, "
                 "substr(u.text, a.start_char + 1, a.end_char - a.start_char) AS text, "
                 "a.topic_id, a.probability, a.representative, u.meta AS turn_meta, "
                 "t.meta AS transcript_meta, t.is_current "
                 "FROM topic_assignments a JOIN turns u ON u.pk = a.turn_pk "
                 "JOIN transcripts t ON t.pk = u.transcript_pk WHERE a.run_pk = :run "
                 "ORDER BY t.transcript_id, u.position, a.start_char"), {"run": run_pk},
        ).mappings()
        for row in rows:
            item = dict(row)
            item["turn_meta"] = from_json(item["turn_meta"])
            item["transcript_meta"] = from_json(item["transcript_meta"])
            yield item

    # -- analysis reads ------------------------------------------------------------------

    def review_states(self, conn: Connection) -> list[dict[str, Any]]:
        """Each reviewed coding's standing decision (the ``coding_states`` view).

        ``status`` is the state the decision leaves the coding in (``accepted``,
        ``rejected``, ``corrected``, ``pending``, ``absent``).
        """
        return _dicts(
            conn,
            "SELECT c.coding_id, d.reviewer, d.verdict, d.state AS status, d.code, "
            "d.start_char, d.end_char, d.decided_at "
            "FROM coding_states d JOIN codings c ON c.pk = d.coding_pk",
        )

    def decisions_after(self, conn: Connection, pk: int) -> tuple[int, list[tuple]]:
        """For readers that keep up with the decisions: how many decisions there are up to
        key ``pk``, and every later one in order as ``(pk, coding_pk, status, code)``.

        ``status`` is the state the decision leaves its coding in (``decision_log``), None
        for one that leaves no state; the last one with a state holds, as in ``coding_states``.
        """
        before = conn.execute(
            text("SELECT COUNT(*) FROM decisions WHERE pk <= :pk"), {"pk": pk}).scalar_one()
        rows = conn.execute(
            text("SELECT d.pk, d.coding_pk, d.state, d.code FROM decision_log d "
                 "WHERE d.pk > :pk ORDER BY d.pk"),
            {"pk": pk},
        ).all()
        return before, [tuple(row) for row in rows]

    def coder_codings(self, conn: Connection, coder: str) -> list[tuple[int, int, str]]:
        """``(coding_pk, turn_pk, code)`` of every coding ``coder`` made, on any turn."""
        rows = conn.execute(
            text("SELECT pk, turn_pk, code FROM codings WHERE coder = :coder"), {"coder": coder}
        ).all()
        return [tuple(row) for row in rows]

    def coder_version(self, conn: Connection, coder: str) -> tuple[Any, ...]:
        """What a coder's coded turns depend on, but for decisions: it changes when the
        current transcripts, their metadata, the turns the coder has coded or its codings do."""
        transcripts = conn.execute(
            text("SELECT pk, content_hash, meta FROM transcripts WHERE is_current = 1 "
                 "ORDER BY pk")).all()
        coded = conn.execute(
            text("SELECT COUNT(*), SUM(turn_pk) FROM coded_turns WHERE coder = :coder"),
            {"coder": coder}).one()
        codings = conn.execute(
            text("SELECT COUNT(*), MAX(pk) FROM codings WHERE coder = :coder"),
            {"coder": coder}).one()
        return (hash(tuple(tuple(row) for row in transcripts)), *coded, *codings)

    def decision_counts(self, conn: Connection) -> list[dict[str, Any]]:
        """Every reviewer with the number of decisions they made."""
        rows = conn.execute(
            text("SELECT reviewer, COUNT(*) AS decisions FROM decisions "
                 "GROUP BY reviewer ORDER BY reviewer")
        )
        return [dict(row) for row in rows.mappings()]

    def latest_codebook_codes(self, conn: Connection) -> list[dict[str, Any]]:
        """The codes of the most recently loaded codebook, in their stored order."""
        return _dicts(
            conn,
            "SELECT b.name AS codebook, b.version, c.key, c.name, c.parent, c.family, "
            "c.polarity, c.colour, c.definition FROM codes c "
            "JOIN codebooks b ON b.pk = c.codebook_pk "
            "WHERE b.pk = (SELECT MAX(pk) FROM codebooks) ORDER BY c.pk",
        )

    def has_table(self, conn: Connection, name: str) -> bool:
        """Whether the project has table ``name`` (tables added by optional features)."""
        return sqlalchemy_inspect(conn).has_table(name)

    def read_table(self, conn: Connection, name: str) -> list[dict[str, Any]]:
        """Every row of a table added by an optional feature, as dicts; [] when it is absent."""
        if not self.has_table(conn, name):
            return []
        quoted = conn.dialect.identifier_preparer.quote(name)
        return [dict(row) for row in conn.execute(text(f"SELECT * FROM {quoted}")).mappings()]


_TRANSCRIPT_COLUMNS = (
    "pk, transcript_id, version, source, format, content_hash, meta, ingested_at"
)


_LEARNED_CODER = "c.coder LIKE 'learned:%' OR c.coder LIKE 'auto:%'"
_REVIEW_COLUMNS = (
    "c.coding_id, c.pk AS coding_pk, u.pk AS turn_pk, t.transcript_id, u.turn_id, u.position, "
    "u.speaker, u.role, u.text AS turn_text, c.code, c.start_char, c.end_char, c.confidence, "
    "c.coder, c.origin, c.evidence"
)
_DECISION_COLUMNS = (
    "d.decision_id, d.coding_pk, c.coding_id, d.reviewer, d.verdict, d.code, d.start_char, "
    "d.end_char, d.note, d.previous, d.decided_at, d.status, d.undoes"
)
# A standing decision (the m0006 views): its status is the state it leaves, recorded or implied.
_STATE_COLUMNS = _DECISION_COLUMNS.replace("d.status", "d.state AS status")


def _queue_filters(
    reviewer: str, *, code: str | None, transcript_id: str | None
) -> tuple[str, dict[str, Any]]:
    """WHERE clause of the review queue: current auto-codings the reviewer has not decided."""
    where = [
        "c.origin != 'human'",
        "t.is_current = 1",
        ("NOT EXISTS (SELECT 1 FROM reviewer_states s WHERE s.coding_pk = c.pk "
         "AND s.reviewer = :reviewer AND s.state != 'pending')"),
    ]
    params: dict[str, Any] = {"reviewer": reviewer}
    if code is not None:
        where.append("c.code = :code")
        params["code"] = code
    if transcript_id is not None:
        where.append("t.transcript_id = :tid")
        params["tid"] = transcript_id
    return " AND ".join(where), params


def _decision(row: Any) -> dict[str, Any]:
    return {**row, "previous": json.loads(row["previous"]) if row["previous"] else None}


def _stored_transcript(row: Any) -> StoredTranscript:
    return StoredTranscript(
        row.pk, row.transcript_id, row.version, row.source, row.format,
        row.content_hash, from_json(row.meta), row.ingested_at,
    )


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


def _per_coding_batch(conn: Connection, coding_pks: Sequence[int], reviewer: str | None,
                      alias: str, sql: str) -> Iterator[Any]:
    """Rows of ``sql`` for the codings, 500 at a time (SQLite limits bound values).

    ``sql`` names ``{names}`` (the bound coding keys) and ``{only}`` (the reviewer filter,
    on ``<alias>reviewer``, or nothing).
    """
    for batch in chunked(coding_pks, 500):
        names, params = in_list(batch)
        only = ""
        if reviewer is not None:
            only = f"AND {alias}reviewer = :reviewer"
            params["reviewer"] = reviewer
        yield from conn.execute(text(sql.format(names=names, only=only)), params).mappings()


def _dicts(conn: Connection, sql: str, params: Mapping[str, Any] | None = None
           ) -> list[dict[str, Any]]:
    """The rows of a query, each as a dict."""
    return [dict(row) for row in conn.execute(text(sql), params or {}).mappings()]


def in_list(values: Sequence[Any], prefix: str = "p") -> tuple[str, dict[str, Any]]:
    """``(":p0, :p1", {"p0": ..., "p1": ...})``: the bound parameters of an ``IN (...)``."""
    names = [f"{prefix}{index}" for index in range(len(values))]
    return ", ".join(f":{name}" for name in names), dict(zip(names, values))


def chunked(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    """Split ``items`` into lists of at most ``size``."""
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
