"""Commands for codings: importing people's codings, exporting all, listing coders."""

from __future__ import annotations

import click

from ..export import write_table
from . import CONTEXT_SETTINGS, db_option, export, main, open_project, table, table_output

@export.command("codings", context_settings=CONTEXT_SETTINGS)
@table_output
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
@click.option("--codebook", default=None, type=click.Path(dir_okay=False),
              help="The codebook YAML whose keys the codes must be (default: the project's "
                   "codebook, else the bundled relational one).")
@db_option
def import_codings_command(file: str, coder: str, codebook: str | None, db: str | None) -> None:
    """Add existing human codings (transcript_id,turn_id,codes CSV) to the project.

    Codes are the codebook's keys joined by ';'. A file with an unknown code or another
    separator is refused whole, with the line and the valid keys.

    \b
    Example:
        reltext import-codings team/alice.csv --coder human:alice
    """
    known = None
    if codebook is not None:
        from ..codebook import load_codebook

        known = list(load_codebook(codebook).keys)
    counts = open_project(db).import_codings(file, coder=coder, known_codes=known)
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
    click.echo(table(frame))
