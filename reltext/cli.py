"""The ``reltext`` command line: a thin layer over :class:`reltext.Project`.

The only module that prints. User mistakes end with one ``Error: ...`` line on stderr and
exit status 1; usage mistakes exit with 2.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from typing import Any

import click

from . import __version__
from .errors import ReltextError
from .export import TABLE_FORMATS, write_table
from .project import Project

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class ReltextGroup(click.Group):
    """Turns every :class:`ReltextError` into one ``Error:`` line and exit status 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ReltextError as error:
            raise click.ClickException(str(error)) from error


def db_option(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--db PATH`` on a command, falling back to the group's ``--db`` and $RELTEXT_DB."""

    @click.option("--db", "db", metavar="PATH", default=None,
                  help="Project database (default: $RELTEXT_DB, else ./reltext.db).")
    @functools.wraps(command)
    def wrapper(*args: Any, db: str | None, **kwargs: Any) -> Any:
        ctx = click.get_current_context()
        root = ctx.find_root()
        kwargs["db"] = db or (root.obj or {}).get("db")
        return command(*args, **kwargs)

    return wrapper


def open_project(db: str | None, *, create: bool = False) -> Project:
    return Project(db, create=create)


@click.group(cls=ReltextGroup, context_settings=CONTEXT_SETTINGS)
@click.option("--db", "db", metavar="PATH", default=None,
              help="Project database for every command (default: $RELTEXT_DB, else ./reltext.db).")
@click.version_option(__version__, prog_name="reltext")
@click.pass_context
def main(ctx: click.Context, db: str | None) -> None:
    """Code interview transcripts for relational constructs, review and analyse them.

    \b
    Example:
        reltext ingest corpora/ --manifest corpora/manifest.yaml
        reltext transcripts
        reltext export turns --format csv --out turns.csv
    """
    ctx.obj = {"db": db}


@main.command(context_settings=CONTEXT_SETTINGS)
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--format", "format", type=click.Choice(
    ["text", "vtt", "srt", "docx", "csv", "tsv", "xlsx"]), default=None,
    help="Read every file as this format (default: detect from extension and content).")
@click.option("--manifest", type=click.Path(), default=None,
              help="YAML or CSV file of participant ids, roles, waves, sites and speaker roles.")
@click.option("--silent", is_flag=True, help="No progress bar.")
@db_option
def ingest(paths: tuple[str, ...], format: str | None, manifest: str | None, silent: bool,
           db: str | None) -> None:
    """Add transcripts (files or folders) to the project.

    Reads speaker-labelled text, WebVTT and SRT captions, Word .docx, and turn tables
    (CSV, TSV, .xlsx). Unchanged files are skipped; a changed file becomes a new version.

    \b
    Example:
        reltext ingest interviews/ --manifest interviews/manifest.yaml
    """
    project = open_project(db, create=True)
    total = project.count_files(paths, manifest=manifest)
    results = project.iter_ingest(paths, format=format, manifest=manifest)
    failed = added = unchanged = versions = turns = 0
    with click.progressbar(results, length=total, label="Ingesting", file=sys.stderr,
                           hidden=silent or total < 2, show_pos=True) as bar:
        for result in bar:
            for warning in result.warnings:
                click.echo(f"Warning: {warning}", err=True)
            if not result.ok:
                failed += 1
                click.echo(f"Error: {result.error}", err=True)
                continue
            for item in result.transcripts:
                if item.status == "unchanged":
                    unchanged += 1
                    continue
                turns += item.turns
                if item.status == "added":
                    added += 1
                else:
                    versions += 1
    parts = [f"{added} transcript(s) added", f"{versions} new version(s)",
             f"{unchanged} unchanged", f"{turns} turns stored"]
    if failed:
        parts.append(f"{failed} file(s) failed")
    click.echo(f"Ingested {total} file(s) into {project.path}: {', '.join(parts)}.")
    if failed:
        sys.exit(1)


@main.command(context_settings=CONTEXT_SETTINGS)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per transcript.")
@db_option
def transcripts(as_json: bool, db: str | None) -> None:
    """List the transcripts with turn counts, speakers and roles.

    \b
    Example:
        reltext transcripts
    """
    frame = open_project(db).transcripts()
    if as_json:
        for record in frame.to_dict(orient="records"):
            click.echo(json.dumps({k: v for k, v in record.items() if v == v},
                                  ensure_ascii=False, default=str))
        return
    if frame.empty:
        click.echo("No transcripts yet: add some with 'reltext ingest PATH'.")
        return
    columns = [c for c in ("transcript_id", "format", "turns", "words", "role", "wave", "site",
                           "speakers") if c in frame.columns]
    click.echo(_table(frame[columns]))
    click.echo(f"{len(frame)} transcripts, {int(frame['turns'].sum())} turns, "
               f"{int(frame['words'].sum())} words.")


@main.group(cls=ReltextGroup, context_settings=CONTEXT_SETTINGS)
def export() -> None:
    """Write the project's turns, codings and more to files."""


@export.command("turns", context_settings=CONTEXT_SETTINGS)
@click.option("--format", "format", type=click.Choice(TABLE_FORMATS), default="csv",
              show_default=True, help="File format.")
@click.option("--out", required=True, type=click.Path(), help="File to write.")
@db_option
def export_turns(format: str, out: str, db: str | None) -> None:
    """All turns, one row each: transcript_id, turn_id, speaker, role, offsets, text, metadata.

    \b
    Example:
        reltext export turns --format csv --out turns.csv
    """
    frame = open_project(db).turns()
    path = write_table(frame, out, format)
    click.echo(f"Wrote {len(frame)} turns to {path}.")


@export.command("codings", context_settings=CONTEXT_SETTINGS)
@click.option("--format", "format", type=click.Choice(TABLE_FORMATS), default="csv",
              show_default=True, help="File format.")
@click.option("--out", required=True, type=click.Path(), help="File to write.")
@click.option("--coder", default=None, help="Only this coder's codings (e.g. human:alice).")
@db_option
def export_codings(format: str, out: str, coder: str | None, db: str | None) -> None:
    """All codings, one row each, with span offsets into the turn, coder and evidence.

    \b
    Example:
        reltext export codings --format csv --out codings.csv
    """
    frame = open_project(db).codings(coder)
    path = write_table(frame.drop(columns=["role", "coding_id", "turn_pk"]), out, format)
    click.echo(f"Wrote {len(frame)} codings to {path}.")


@main.command("import-codings", context_settings=CONTEXT_SETTINGS)
@click.argument("file", type=click.Path())
@click.option("--coder", required=True, help="The human coder's name, as human:NAME.")
@db_option
def import_codings_command(file: str, coder: str, db: str | None) -> None:
    """Add existing human codings (transcript_id,turn_id,codes CSV) to the project.

    \b
    Example:
        reltext import-codings team/alice.csv --coder human:alice
    """
    counts = open_project(db).import_codings(file, coder=coder)
    click.echo(f"Imported {counts['codings']} codings on {counts['turns']} turns as {coder}.")


@main.command(context_settings=CONTEXT_SETTINGS)
@db_option
def coders(db: str | None) -> None:
    """List the coders in the project (auto-coders and people) with what they coded.

    \b
    Example:
        reltext coders
    """
    frame = open_project(db).coders()
    if frame.empty:
        click.echo("No codings yet: run 'reltext code' or 'reltext import-codings'.")
        return
    click.echo(_table(frame))


def _table(frame) -> str:
    """A plain fixed-width table for the terminal, long cells cut with an ellipsis."""
    rows = [[str(c) for c in frame.columns]]
    for record in frame.itertuples(index=False):
        rows.append(["" if v is None or v != v else str(v) for v in record])
    rows = [[cell if len(cell) <= 48 else cell[:47] + "…" for cell in row] for row in rows]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip()
             for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


if __name__ == "__main__":
    main()
