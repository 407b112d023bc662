"""Commands for codings: importing people's codings, exporting all, listing coders."""

from __future__ import annotations

import click

from ..exchange.tables import write_table
from . import CONTEXT_SETTINGS, db_option, export, main, open_project, table, table_output

@export.command("codings", context_settings=CONTEXT_SETTINGS)
@table_output
@click.option("--coder", default=None, help="Only this coder's codings (e.g. human:alice).")
@db_option
def export_codings(format: str, out: str, keep_formulas: bool, coder: str | None,
                   db: str | None) -> None:
    """All codings, one row each, with span offsets into the turn, coder and evidence.

    The last columns say where review left each coding: status (pending, accepted,
    rejected, corrected), who decided it last, and the code it ends as (final_code).

    \b
    Example:
        reltext export codings --format csv --out codings.csv
    """
    frame = open_project(db).codings(coder, review=True)
    path = write_table(frame.drop(columns=["role", "coding_id", "turn_pk"]), out, format,
                       keep_formulas=keep_formulas)
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
        from ..coding.codebook import load_codebook

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


@main.command(context_settings=CONTEXT_SETTINGS)
@click.option("--code", required=True, help="The code key, e.g. connection.")
@click.option("--role", multiple=True, help="Only turns of this speaker role (repeatable).")
@click.option("--wave", multiple=True, help="Only transcripts of this wave (repeatable).")
@click.option("--site", multiple=True, help="Only transcripts of this site (repeatable).")
@click.option("--where", "where", multiple=True, metavar="COLUMN=VALUE",
              help="Any other turn or manifest attribute, e.g. participant_id=P07 (repeatable).")
@click.option("--coder", multiple=True, help="Only this coder's codings (repeatable).")
@click.option("--state", multiple=True,
              type=click.Choice(["pending", "accepted", "rejected", "corrected"]),
              help="Only codings in this review state (repeatable); rejected ones are left "
                   "out unless asked for.")
@click.option("--out", default=None, type=click.Path(dir_okay=False),
              help="Write the segments to a .csv file (one row each) or a Word .docx of quotes.")
@db_option
def segments(code: str, role: tuple[str, ...], wave: tuple[str, ...], site: tuple[str, ...],
             where: tuple[str, ...], coder: tuple[str, ...], state: tuple[str, ...],
             out: str | None, db: str | None) -> None:
    """Every coded segment of a code, as quotes with their case attributes.

    A coding counts under the code it ends as after review (a corrected one under its new
    code and span). Prints each quote with its speaker, role, transcript, turn, wave and
    site, then the counts by case (participant).

    \b
    Example:
        reltext segments --code connection --role "STR worker"
        reltext segments --code trust --wave 2 --state accepted --out trust.docx
    """
    from ..analysis.segments import attribution, by_case, write_segments

    filters: dict[str, list[str]] = {}
    for name, values in (("role", role), ("wave", wave), ("site", site)):
        if values:
            filters[name] = list(values)
    for item in where:
        column, sep, value = item.partition("=")
        if not sep or not column.strip():
            raise click.BadParameter("write it as COLUMN=VALUE, e.g. participant_id=P07",
                                     param_hint="--where")
        filters.setdefault(column.strip(), []).append(value.strip())
    project = open_project(db)
    frame = project.segments(code, where=filters, coders=coder or None, states=state or None)
    described = "; ".join([f"{k} {' or '.join(v)}" for k, v in filters.items()]
                          + ([f"state {' or '.join(state)}"] if state else []))
    if out is not None:
        path = write_segments(frame, out, code=code, filters=described)
        click.echo(f"Wrote {len(frame)} segment(s) of {code} to {path}.")
        return
    if frame.empty:
        click.echo(f"No segments coded {code}" + (f" with {described}" if described else "")
                   + ".")
        return
    click.echo(f"{code}: {len(frame)} segment(s) in {frame['transcript_id'].nunique()} "
               f"transcript(s)" + (f" ({described})" if described else "") + "\n")
    for row in frame.to_dict("records"):
        click.echo(f"{attribution(row)} · {row['coder']}, {row['status']}")
        click.echo(f"  \u201c{row['context']}\u201d")
        if row["quote"] != row["context"]:
            click.echo(f"  (coded: \u201c{row['quote']}\u201d)")
    click.echo("\nBy case:")
    click.echo(table(by_case(frame)))
