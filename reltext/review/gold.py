"""Human codings in the contract's CSV: ``transcript_id,turn_id,codes`` (codes joined by ``;``).

A row with empty codes means the turn was coded and nothing applies. Gold standards and a
team's existing manual coding come in this way.
"""

from __future__ import annotations

import csv
import difflib
import io
import re
from collections.abc import Collection
from pathlib import Path

from ..corpus.readers.encoding import decode_text
from ..errors import ReltextError
from ..files import read_input
from ..model import Origin
from ..store.database import Store

TurnCodes = dict[tuple[str, str], set[str]]
# What people join codes with instead of ';' ("connection, trust", "hope/agency").
_SEPARATOR = re.compile(r"[,|/\s;]+")


def read_codings_csv(path: str | Path, *, known_codes: Collection[str] | None = None) -> TurnCodes:
    """Read a codings CSV into ``{(transcript_id, turn_id): {code, ...}}``.

    ``utterance_id`` is accepted for ``turn_id`` (the AnnoMI name).

    Raises:
        ReltextError: the file is missing a column, repeats a turn, joins codes with
            something other than ';' (``connection, trust``), or names a code not in
            ``known_codes`` (``conection``).
    """
    path = Path(path)
    data = read_input(path, "codings file", fix="Check the path.")
    reader = csv.DictReader(io.StringIO(decode_text(data, path), newline=""))
    fields = [name.strip() for name in reader.fieldnames or []]
    turn_column = "turn_id" if "turn_id" in fields else "utterance_id"
    missing = [name for name in ("transcript_id", turn_column, "codes") if name not in fields]
    if missing:
        raise ReltextError(
            f"the codings file has no {', '.join(repr(m) for m in missing)} column "
            f"(its columns are {fields})",
            path=path, line=1, fix="Name the columns transcript_id, turn_id and codes.",
        )
    result: TurnCodes = {}
    for row in reader:
        key = (row["transcript_id"].strip(), row[turn_column].strip())
        if key in result:
            raise ReltextError(f"turn {key[1]!r} of transcript {key[0]!r} appears twice",
                               path=path, line=reader.line_num,
                               fix="Give each turn one row, its codes joined by ';'.")
        codes = {code.strip() for code in (row["codes"] or "").split(";") if code.strip()}
        _check_codes(codes, row["codes"] or "", known_codes, path=path, line=reader.line_num)
        result[key] = codes
    return result


def _check_codes(codes: set[str], cell: str, known_codes: Collection[str] | None, *,
                 path: Path, line: int) -> None:
    """Raise on a code list that is not keys joined by ';', or that names unknown codes."""
    keys = ", ".join(sorted(known_codes or ()))
    for code in sorted(codes):
        if _SEPARATOR.search(code):
            joined = ";".join(part for part in _SEPARATOR.split(cell) if part)
            raise ReltextError(
                f"the codes {cell.strip()!r} are not code keys joined by ';'", path=path,
                line=line, fix=f"Write them as {joined}"
                + (f", with the codebook's keys: {keys}" if keys else "")
                + ". Nothing was imported.")
    unknown = sorted(codes - set(known_codes)) if known_codes is not None else []
    if unknown:
        near = difflib.get_close_matches(unknown[0], list(known_codes), n=1)
        hint = f" (did you mean {near[0]!r}?)" if near else ""
        raise ReltextError(
            f"unknown code{'s' if len(unknown) > 1 else ''} "
            f"{', '.join(repr(code) for code in unknown)}{hint}", path=path, line=line,
            fix=f"Use the codebook's keys, joined by ';': {keys}. Nothing was imported.")


def project_code_keys(store: Store) -> list[str]:
    """The codes a project's codings may use: its latest codebook's, else the bundled one's."""
    with store.read() as conn:
        listed = [code["key"] for code in store.latest_codes(conn)]
    if listed:
        return listed
    from ..coding.codebook import load_codebook

    return list(load_codebook().keys)


def import_codings(
    store: Store, path: str | Path, *, coder: str, known_codes: Collection[str] | None = None
) -> dict[str, int]:
    """Add a human coder's codings from a CSV, all or nothing; whole turns are coded.

    Importing the same coder's file again replaces that coder's codings on those turns.
    ``known_codes`` defaults to the project's codebook (:func:`project_code_keys`).

    Returns:
        ``{"turns": ..., "codings": ...}`` counts.

    Raises:
        ReltextError: the coder name is not ``human:NAME``, or a row names a turn that is
            not in the project.
    """
    if not coder.startswith("human:") or not coder.removeprefix("human:").strip():
        raise ReltextError(f"coder {coder!r} is not a human coder name",
                           fix="Name it like --coder human:alice.")
    turn_codes = read_codings_csv(
        path, known_codes=project_code_keys(store) if known_codes is None else known_codes)
    with store.write() as conn:
        turns = store.turn_keys(conn)
        missing = [key for key in turn_codes if key not in turns]
        if missing:
            transcript_id, turn_id = missing[0]
            raise ReltextError(
                f"{len(missing)} row(s) name turns not in the project, the first being turn "
                f"{turn_id!r} of transcript {transcript_id!r}",
                path=path,
                fix="Ingest those transcripts first (reltext ingest), with the same ids.",
            )
        turn_pks = [turns[key][0] for key in turn_codes]
        store.delete_codings_by(conn, coder=coder, turn_pks=turn_pks)
        run_id = store.record_run(conn, kind="import-codings", coder=coder,
                                  manifest={"file": str(path), "turns": len(turn_codes)})
        codings = [
            {"turn_pk": turns[key][0], "code": code, "start_char": 0,
             "end_char": len(turns[key][1]), "coder": coder, "origin": Origin.HUMAN.value,
             "evidence": f"import:{Path(path).name}"}
            for key, codes in turn_codes.items()
            for code in sorted(codes)
        ]
        store.add_codings(conn, codings)
        store.mark_coded(conn, turn_pks, coder=coder)
    return {"turns": len(turn_codes), "codings": len(codings), "run_id": run_id}
