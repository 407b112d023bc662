"""The ``reltext`` command line: a thin layer over :class:`reltext.Project`.

The only package that prints. Each module here holds the commands of one domain. User mistakes end with one ``Error: ...`` line on stderr and
exit status 1; usage mistakes exit with 2.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import click

from .. import __version__
from ..errors import ReltextError
from ..project import Project

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class ReltextGroup(click.Group):
    """Turns every :class:`ReltextError` into one ``Error:`` line and exit status 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ReltextError as error:
            raise click.ClickException(str(error)) from error


def table_output(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--format csv|parquet|jsonl``, ``--out FILE`` and ``--keep-formulas`` on an export
    command."""
    from ..exchange.tables import TABLE_FORMATS

    command = click.option(
        "--keep-formulas", is_flag=True,
        help="In CSV, write cells starting with = + - @ tab or CR as they are, without the "
             "leading ' that keeps spreadsheets from running them as formulas.")(command)
    command = click.option("--out", required=True, type=click.Path(),
                           help="File to write.")(command)
    return click.option("--format", "format", type=click.Choice(TABLE_FORMATS), default="csv",
                        show_default=True, help="File format.")(command)


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


# Research interviewers' turns are context, not data: the commands that count turns leave
# them out unless asked.
interviewers_option = click.option(
    "--interviewers", is_flag=True,
    help="Also count research interviewers' turns (context, not data, by default).")
json_option = click.option("--json", "json_out", type=click.Path(), default=None,
                           help="Also write the figures as JSON to this file.")


def write_export(frame: Any, out: str, format: str, *, keep_formulas: bool, what: str) -> None:
    """Write an export command's table and say what was written where."""
    from ..exchange.tables import write_table

    path = write_table(frame, out, format, keep_formulas=keep_formulas)
    click.echo(f"Wrote {len(frame)} {what} to {path}.")


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


@main.group(cls=ReltextGroup, context_settings=CONTEXT_SETTINGS)
def export() -> None:
    """Write the project's turns, codings and more to files."""



def table(frame) -> str:
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



# Each module registers its commands on import.
from . import (  # noqa: E402, F401
    analysis, coding, codings, corpus, exchange, learning, privacy, topics, view,
)
