"""Runs and what they leave: the ``runs`` table, ``models``, cached ``embeddings``, and
``topics`` with their ``topic_assignments``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any
from uuid import uuid4

from sqlalchemy import Connection, text

from .sql import from_json, in_batches, now_iso, to_json, with_metadata


class RunQueries:
    """Queries on runs, models, embeddings and topics."""

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

    def latest_run(self, conn: Connection, kind: str) -> dict[str, Any] | None:
        """The most recent finished run of ``kind``, with its pk and manifest."""
        rows = _with_manifests(
            conn, f"SELECT pk, {_RUN_COLUMNS} FROM runs WHERE kind = :kind AND status = 'done' "
            "ORDER BY pk DESC LIMIT 1", {"kind": kind})
        return rows[0] if rows else None

    def get_run(self, conn: Connection, run_id: str) -> dict[str, Any] | None:
        rows = _with_manifests(
            conn, f"SELECT pk, {_RUN_COLUMNS} FROM runs WHERE run_id = :id", {"id": run_id})
        return rows[0] if rows else None

    def list_runs(self, conn: Connection, *, kind: str | None = None) -> list[dict[str, Any]]:
        return _of_kind(conn, f"SELECT {_RUN_COLUMNS} FROM runs", kind)

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
        return _of_kind(
            conn, "SELECT model_id, kind, coder, path, manifest, created_at FROM models", kind)

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
        for names, params in in_batches(sorted(set(turn_pks))):
            rows = conn.execute(
                text("SELECT turn_pk, start_char, end_char, vector FROM embeddings "
                     f"WHERE model = :model AND turn_pk IN ({names})"),
                params | {"model": model},
            )
            for turn_pk, start_char, end_char, vector in rows:
                found.setdefault(turn_pk, {})[(start_char, end_char)] = vector
        return found

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
        yield from (with_metadata(row) for row in rows)


_RUN_COLUMNS = "run_id, kind, coder, status, manifest, started_at, finished_at"


def _with_manifests(conn: Connection, sql: str, params: Mapping[str, Any]
                    ) -> list[dict[str, Any]]:
    """The rows of a query, each as a dict with its ``manifest`` read from JSON."""
    rows = conn.execute(text(sql), params).mappings()
    return [{**row, "manifest": from_json(row["manifest"])} for row in rows]


def _of_kind(conn: Connection, select: str, kind: str | None) -> list[dict[str, Any]]:
    """Rows of ``select`` (of ``kind``, when given), oldest first, with their manifests."""
    where, params = (" WHERE kind = :kind", {"kind": kind}) if kind else ("", {})
    return _with_manifests(conn, f"{select}{where} ORDER BY pk", params)
