"""Codings and codebooks: the ``codings`` table, the ``coded_turns`` marks (which turns a
coder has coded, codes found or not), and ``codebooks`` with their ``codes``.

The turns a coder has still to code are read here too: they are what the marks leave out.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any
from uuid import uuid4

from sqlalchemy import Connection, text

from ..model import Origin
from .sql import dicts, in_batches, now_iso
from .transcripts import current_filter


class CodingQueries:
    """Queries on codings, coded-turn marks and codebooks."""

    def add_codings(self, conn: Connection, codings: Sequence[Mapping[str, Any]]) -> None:
        """Insert codings: dicts with the columns of the ``codings`` table but ``pk``."""
        if not codings:
            return
        conn.execute(
            text(_INSERT_CODING),
            [{**_CODING_DEFAULTS, "coding_id": uuid4().hex, "created_at": now_iso(), **coding}
             for coding in codings],
        )

    def add_coding(self, conn: Connection, coding: Mapping[str, Any]) -> int | None:
        """Insert one coding (columns as :meth:`add_codings`); its pk, None if its id exists."""
        return conn.execute(
            text(f"{_INSERT_CODING} ON CONFLICT (coding_id) DO NOTHING RETURNING pk"),
            {**_CODING_DEFAULTS, "created_at": now_iso(), **coding},
        ).scalar_one_or_none()

    def delete_codings_by(self, conn: Connection, *, coder: str, turn_pks: Sequence[int]) -> int:
        """Remove one coder's codings on these turns (re-importing a human coder's file)."""
        removed = 0
        for names, params in in_batches(turn_pks):
            params = params | {"coder": coder}
            removed += conn.execute(
                text(f"DELETE FROM codings WHERE coder = :coder AND turn_pk IN ({names})"),
                params,
            ).rowcount
        return removed

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
        return dicts(
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
        return set(turn_pks) - _marked_coded(conn, coder, turn_pks)

    def turns_marked_coded(self, conn: Connection, coder: str) -> set[int]:
        """The ``turn_pk`` of every turn ``coder`` has recorded as coded, current or not."""
        rows = conn.execute(
            text("SELECT turn_pk FROM coded_turns WHERE coder = :coder"), {"coder": coder})
        return set(rows.scalars().all())

    def turns_coded_by(
        self, conn: Connection, coder: str, *, among: Sequence[int] | None = None
    ) -> set[int]:
        """Current turns ``coder`` has coded (recorded as coded, or carrying its codings).

        With ``among``, only those of these turns (a few index probes each).
        """
        if among is not None:
            found = {turn_pk for turn_pk, who in self._codings_on(conn, among, "coder")
                     if who == coder}
            return found | _marked_coded(conn, coder, among)
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

    def iter_codings(
        self, conn: Connection, *, coder: str | None = None, transcript_ids: Sequence[str] | None = None
    ) -> Iterator[dict[str, Any]]:
        """Codings on current turns with their turn's ids, speaker and role, in corpus order."""
        current, params = current_filter(transcript_ids)
        where = [current]
        if coder is not None:
            where.append("c.coder = :coder")
            params["coder"] = coder
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

    def count_codings(self, conn: Connection) -> tuple[int, int]:
        """``(codings, coders)`` on current turns."""
        row = conn.execute(text(
            "SELECT COUNT(*), COUNT(DISTINCT c.coder) FROM codings c JOIN turns u "
            "ON u.pk = c.turn_pk JOIN transcripts t ON t.pk = u.transcript_pk "
            "WHERE t.is_current = 1")).one()
        return row[0], row[1]

    def codings_on_turns(self, conn: Connection, turn_pks: Sequence[int]) -> list[dict[str, Any]]:
        """Every coding on these turns, by turn and offset."""
        result: list[dict[str, Any]] = []
        for names, params in in_batches(turn_pks):
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

    def codings_on(
        self, conn: Connection, *, coder: str, turn_pks: Sequence[int]
    ) -> tuple[set[int], list[dict[str, Any]]]:
        """Which of ``turn_pks`` ``coder`` has coded, and its codings on them."""
        turn_pks = sorted(set(turn_pks))
        codings: list[dict[str, Any]] = []
        for names, params in in_batches(turn_pks):
            codings.extend(dicts(
                conn,
                "SELECT turn_pk, code, start_char, end_char, confidence, evidence, origin "
                f"FROM codings WHERE coder = :coder AND turn_pk IN ({names}) ORDER BY pk",
                params | {"coder": coder},
            ))
        return _marked_coded(conn, coder, turn_pks), codings

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
        for names, params in in_batches(turn_pks):
            rows.extend(conn.execute(
                text(f"SELECT turn_pk, {columns} FROM codings WHERE turn_pk IN ({names})"),
                params,
            ).all())
        return rows

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

    def has_learned_codings(self, conn: Connection) -> bool:
        """Whether the learned coder (``learned:`` or ``auto:``) has coded anything."""
        # Prefix ranges (';' follows ':') stay on the coder index.
        return conn.execute(text(
            "SELECT EXISTS (SELECT 1 FROM codings WHERE coder >= 'auto:' AND coder < 'auto;') "
            "OR EXISTS (SELECT 1 FROM codings WHERE coder >= 'learned:' AND coder < 'learned;')"
        )).scalar_one() == 1

    def codes_in_use(self, conn: Connection) -> list[str]:
        """Every code some coding or decision uses, alphabetically."""
        return list(
            conn.execute(
                text("SELECT DISTINCT code FROM codings UNION SELECT code FROM decisions "
                     "WHERE code IS NOT NULL ORDER BY 1")
            ).scalars()
        )

    def coders(self, conn: Connection) -> list[dict[str, Any]]:
        """Every coder with the number of turns it coded and of codings it made."""
        return dicts(
            conn,
            "SELECT k.coder, COUNT(*) AS turns, (SELECT COUNT(*) FROM codings c "
            "WHERE c.coder = k.coder) AS codings FROM coded_turns k "
            "GROUP BY k.coder ORDER BY k.coder",
        )

    def auto_coders(self, conn: Connection) -> list[str]:
        """Coders that are not people (rules, learned, topic), by name."""
        # Distinct coders come off the (coder, code) index; one row each tells its origin.
        names = conn.execute(text("SELECT DISTINCT coder FROM codings ORDER BY coder")).scalars()
        return [name for name in list(names) if conn.execute(
            text("SELECT origin FROM codings WHERE coder = :coder LIMIT 1"), {"coder": name}
        ).scalar_one() != "human"]

    def human_coders(self, conn: Connection) -> list[str]:
        """The ``human:NAME`` coders that have coded turns, in name order."""
        return list(conn.execute(text(
            "SELECT DISTINCT coder FROM coded_turns WHERE coder LIKE 'human:%' ORDER BY coder"
        )).scalars())

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

    def latest_codebook(self, conn: Connection) -> dict[str, Any] | None:
        """The codebook most recently used in the project (``source``, ``content``, ...)."""
        return _newest_codebook(conn, "", {})

    def find_codebook(self, conn: Connection, *, name: str, version: str
                      ) -> dict[str, Any] | None:
        """The latest recorded codebook of this name and version."""
        return _newest_codebook(conn, "WHERE name = :name AND version = :version",
                                {"name": name, "version": version})

    def latest_codes(self, conn: Connection) -> list[dict[str, Any]]:
        """Every code key once, as the most recently loaded codebook defines it, by key."""
        return dicts(
            conn,
            "SELECT c.key, c.name, c.parent, c.family, c.polarity, c.colour, c.definition, "
            "b.name AS codebook, b.version AS codebook_version FROM codes c "
            "JOIN codebooks b ON b.pk = c.codebook_pk WHERE c.pk IN "
            "(SELECT c2.pk FROM codes c2 WHERE c2.key = c.key "
            " ORDER BY c2.codebook_pk DESC LIMIT 1) ORDER BY c.pk",
        )

    def latest_codebook_codes(self, conn: Connection) -> list[dict[str, Any]]:
        """The codes of the most recently loaded codebook, in their stored order."""
        return dicts(
            conn,
            "SELECT b.name AS codebook, b.version, c.key, c.name, c.parent, c.family, "
            "c.polarity, c.colour, c.definition FROM codes c "
            "JOIN codebooks b ON b.pk = c.codebook_pk "
            "WHERE b.pk = (SELECT MAX(pk) FROM codebooks) ORDER BY c.pk",
        )


_INSERT_CODING = (
    "INSERT INTO codings (coding_id, turn_pk, code, start_char, end_char, confidence, coder, "
    "origin, evidence, run_pk, created_at) VALUES (:coding_id, :turn_pk, :code, :start_char, "
    ":end_char, :confidence, :coder, :origin, :evidence, :run_pk, :created_at)"
)
_CODING_DEFAULTS = {"confidence": None, "evidence": None, "run_pk": None}


def _marked_coded(conn: Connection, coder: str, turn_pks: Sequence[int]) -> set[int]:
    """Those of ``turn_pks`` that ``coder`` has recorded as coded."""
    marked: set[int] = set()
    for names, params in in_batches(turn_pks):
        marked.update(conn.execute(
            text(f"SELECT turn_pk FROM coded_turns WHERE coder = :coder AND turn_pk IN ({names})"),
            params | {"coder": coder},
        ).scalars())
    return marked


def _newest_codebook(conn: Connection, where: str, params: Mapping[str, Any]
                     ) -> dict[str, Any] | None:
    """The most recently recorded codebook (of those ``where`` selects), or None."""
    row = conn.execute(
        text(f"SELECT name, version, content_hash, source, content FROM codebooks {where} "
             "ORDER BY pk DESC LIMIT 1"),
        params,
    ).mappings().first()
    return dict(row) if row else None
