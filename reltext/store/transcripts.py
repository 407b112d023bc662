"""Transcripts and their turns: the ``transcripts`` table (every version of a transcript,
one of them current) and ``turns`` (speakers and roles are columns of the turns).

Also the in-place rewrite of a version's text that pseudonymisation needs, which moves the
offsets of the codings and decisions on its turns with it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Row, text

from ..model import Transcript
from .sql import dicts, from_json, in_batches, in_list, now_iso, to_json, with_metadata


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


class TranscriptQueries:
    """Queries on transcripts and turns; a query that returns turns lives here."""

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

    def transcript_id_taken(self, conn: Connection, transcript_id: str) -> bool:
        return (
            conn.execute(
                text("SELECT 1 FROM transcripts WHERE transcript_id = :id LIMIT 1"),
                {"id": transcript_id},
            ).first()
            is not None
        )

    def current_transcript(self, conn: Connection, transcript_id: str) -> StoredTranscript | None:
        row = conn.execute(
            text(f"SELECT {_TRANSCRIPT_COLUMNS} FROM transcripts "
                 "WHERE transcript_id = :id AND is_current = 1"),
            {"id": transcript_id},
        ).one_or_none()
        return _stored_transcript(row) if row else None

    def current_transcripts(
        self, conn: Connection, *, transcript_ids: Sequence[str] | None = None
    ) -> list[dict[str, Any]]:
        """Current transcripts with their text, format, metadata and ingest time, in id order."""
        where, params = current_filter(transcript_ids, alias="")
        rows = conn.execute(
            text("SELECT pk, transcript_id, version, source, format, text, meta, ingested_at "
                 f"FROM transcripts WHERE {where} ORDER BY transcript_id"),
            params,
        )
        return [{**row, "meta": from_json(row["meta"])} for row in rows.mappings()]

    def transcript_ids(self, conn: Connection) -> list[str]:
        """The ids of the current transcripts, in order."""
        return list(conn.execute(text(
            "SELECT transcript_id FROM transcripts WHERE is_current = 1 ORDER BY transcript_id"
        )).scalars())

    def transcript_text(self, conn: Connection, transcript_id: str) -> str:
        return conn.execute(
            text("SELECT text FROM transcripts WHERE transcript_id = :id AND is_current = 1"),
            {"id": transcript_id},
        ).scalar_one()

    def transcript_meta(self, conn: Connection) -> dict[int, dict[str, Any]]:
        """``transcript pk -> metadata`` of every current transcript."""
        rows = conn.execute(text("SELECT pk, meta FROM transcripts WHERE is_current = 1"))
        return {pk: from_json(meta) for pk, meta in rows}

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

    def iter_turns(
        self,
        conn: Connection,
        *,
        transcript_ids: Sequence[str] | None = None,
        batch_size: int = 2000,
    ) -> Iterator[dict[str, Any]]:
        """Turns of the current transcripts in transcript and turn order, streamed in batches."""
        where, params = current_filter(transcript_ids)
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
            yield from (with_metadata(row) for row in rows)
            last_key = (rows[-1]["transcript_id"], rows[-1]["position"])

    def turn_table(
        self, conn: Connection, *, transcript_ids: Sequence[str] | None = None
    ) -> list[Row]:
        """Turns of the current transcripts in transcript and turn order, as tuples.

        Each is ``turn_pk, transcript_pk, transcript_id, turn_id, speaker, role, start_char,
        end_char, text, timestamp, end_timestamp, meta`` (the metadata as its stored JSON):
        the fast way to read a whole table of turns, with the transcripts' metadata apart.
        """
        where, params = current_filter(transcript_ids)
        return conn.execute(
            text(
                "SELECT u.pk, u.transcript_pk, t.transcript_id, u.turn_id, u.speaker, u.role, "
                "u.start_char, u.end_char, u.text, u.timestamp, u.end_timestamp, u.meta "
                "FROM turns u JOIN transcripts t ON t.pk = u.transcript_pk "
                f"WHERE {where} ORDER BY t.transcript_id, u.position"
            ),
            params,
        ).all()

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

    def turns_by_pk(self, conn: Connection, turn_pks: Sequence[int]) -> dict[int, dict[str, Any]]:
        """Turns with their transcript id and the text of the turn before (``""`` if first)."""
        result: dict[int, dict[str, Any]] = {}
        for names, params in in_batches(sorted(set(turn_pks))):
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

    def turns_before(self, conn: Connection, turn_pks: Sequence[int], count: int = 2
                     ) -> dict[int, list[dict[str, Any]]]:
        """The ``count`` turns before each turn in its transcript, most recent first."""
        result: dict[int, list[dict[str, Any]]] = {pk: [] for pk in turn_pks}
        for names, params in in_batches(sorted(set(turn_pks))):
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

    def turn_page(
        self, conn: Connection, transcript_id: str, *, offset: int, limit: int,
        speaker: str | None = None,
    ) -> list[dict[str, Any]]:
        """One page of a current transcript's turns in order (one speaker's, if given)."""
        only, params = "", {"tid": transcript_id, "limit": limit, "offset": offset}
        if speaker is not None:
            only = "AND u.speaker = :speaker"
            params["speaker"] = speaker
        return dicts(
            conn,
            "SELECT u.pk AS turn_pk, u.turn_id, u.position, u.speaker, u.role, u.text, "
            "u.timestamp FROM turns u WHERE u.transcript_pk = (SELECT pk FROM transcripts "
            f"WHERE transcript_id = :tid AND is_current = 1) {only} "
            "ORDER BY u.position LIMIT :limit OFFSET :offset",
            params,
        )

    def max_turn_pk(self, conn: Connection) -> int:
        """The highest turn key so far: turns ingested later have higher ones."""
        return conn.execute(text("SELECT COALESCE(MAX(pk), 0) FROM turns")).scalar_one()

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
        for names, params in in_batches(turn_pks):
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


_TRANSCRIPT_COLUMNS = (
    "pk, transcript_id, version, source, format, content_hash, meta, ingested_at"
)


def current_filter(transcript_ids: Sequence[str] | None, *, alias: str = "t."
                   ) -> tuple[str, dict[str, Any]]:
    """WHERE clause for the current transcripts, only those of ``transcript_ids`` when given
    (an empty list matches none); ``alias`` prefixes the ``transcripts`` columns."""
    where = f"{alias}is_current = 1"
    if transcript_ids is None:
        return where, {}
    names, params = in_list(transcript_ids, "id")
    return f"{where} AND {alias}transcript_id IN ({names or 'NULL'})", params


def _stored_transcript(row: Any) -> StoredTranscript:
    return StoredTranscript(
        row.pk, row.transcript_id, row.version, row.source, row.format,
        row.content_hash, from_json(row.meta), row.ingested_at,
    )
