"""Commands for analysis: the report, relational webs, balance, SOS profiles, co-occurrence."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import click

from ..errors import ReltextError
from ..exchange.tables import write_table
from ..files import check_folder
from . import CONTEXT_SETTINGS, db_option, interviewers_option, main, open_project, table

CODER_HELP = ("Whose codings (e.g. rules:relational@1.0, human:alice); default: the automatic "
              "coder with most codings, else a person. Review decisions always apply.")
LEXICON_HELP = "Interactants lexicon YAML (default: the bundled reltext/data/interactants.yaml)."
BY_HELP = "Group by speaker, transcript, role, wave, participant or any turn/transcript column."


def _progress(items: Iterable[Any], length: int, label: str) -> Iterator[Any]:
    with click.progressbar(items, length=length, label=label, file=sys.stderr) as bar:
        yield from bar


def _table_out(frame: Any, out: str | None, *, index: bool = False) -> None:
    """Print the table, or write it to a CSV file when ``--out`` is given."""
    if index:
        frame = frame.reset_index()
    if out is None:
        click.echo(table(frame.round(3)))
        return
    path = write_table(frame, out, "csv")
    click.echo(f"Wrote {len(frame)} rows to {path}.")


def grouped_counts(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--by``, ``--coder``, ``--out`` and ``--interviewers`` of a command that counts coded
    turns by group."""
    for option in reversed([
            click.option("--by", default="speaker", show_default=True, help=BY_HELP),
            click.option("--coder", default=None, help=CODER_HELP),
            click.option("--out", default=None, type=click.Path(dir_okay=False),
                         help="Write a CSV file."),
            interviewers_option]):
        command = option(command)
    return command


@main.command(context_settings=CONTEXT_SETTINGS)
@click.option("--out", required=True, type=click.Path(dir_okay=False),
              help="The report file (.html, or .md with --format md).")
@click.option("--format", "format", type=click.Choice(["html", "md"]), default=None,
              help="html: one self-contained file; md: Markdown with PNGs in <name>_files/. "
                   "Default: from the file name, else html.")
@click.option("--coder", default=None, help=CODER_HELP)
@click.option("--lexicon", default=None, type=click.Path(dir_okay=False), help=LEXICON_HELP)
@db_option
def report(out: str, format: str | None, coder: str | None, lexicon: str | None,
           db: str | None) -> None:
    """Write a self-contained report: codes, co-occurrence, balance, SOS, webs, agreement.

    The HTML file has every chart inline and fetches nothing, so it opens offline and can
    be sent as one file.

    \b
    Example:
        reltext report --out report.html
        reltext report --out paper/report.md --format md --coder human:alice
    """
    path = open_project(db).report(out, format=format, coder=coder, lexicon=lexicon,
                                   progress=_progress)
    click.echo(f"Wrote the report to {path}.")


@main.command(context_settings=CONTEXT_SETTINGS)
@click.option("--participant", default=None, help="The participant at the centre.")
@click.option("--role", default=None, help="A speaker role at the centre, all transcripts "
              "together (e.g. client).")
@click.option("--group", default=None, metavar="COLUMN=VALUE",
              help="Any transcript attribute at the centre, e.g. site=North.")
@click.option("--out", required=True, type=click.Path(dir_okay=False),
              help="File to write: .graphml or .json (node-link).")
@click.option("--coder", default=None, help=CODER_HELP)
@click.option("--lexicon", default=None, type=click.Path(dir_okay=False), help=LEXICON_HELP)
@db_option
def web(participant: str | None, role: str | None, group: str | None, out: str,
        coder: str | None, lexicon: str | None, db: str | None) -> None:
    """Export the relational web of a participant, a role or a group.

    Nodes are the centre and the people, places and objects its turns mention; edges carry
    the codes co-occurring with each, goods, evils and balance.

    \b
    Example:
        reltext web --participant P01 --out p01.graphml
        reltext web --role client --out clients.json
    """
    chosen = [(name, value) for name, value in
              (("participant", participant), ("role", role), ("group", group)) if value]
    if len(chosen) != 1:
        raise click.UsageError("Give exactly one of --participant, --role or --group.")
    (kind, value), = chosen
    if kind == "group":
        column, sep, value = value.partition("=")
        if not sep or not column or not value:
            raise click.BadParameter("write it as COLUMN=VALUE, e.g. site=North",
                                     param_hint="--group")
        kind = column
    project = open_project(db)
    graph = project.web(value, group=kind, coder=coder, lexicon=lexicon, progress=_progress)
    from ..analysis.webs import write_web

    path = write_web(graph, out)
    click.echo(f"Wrote the web of {kind} {value} ({len(graph) - 1} interactants) to {path}.")


@main.command(context_settings=CONTEXT_SETTINGS)
@grouped_counts
@db_option
def balance(by: str, coder: str | None, out: str | None, interviewers: bool,
            db: str | None) -> None:
    """Relational goods against evils per speaker, transcript, role, wave or participant.

    Goods: trust, hope, connection, empowerment. Evils: mistrust, hopelessness, isolation,
    disempowerment, stigma. Counts are coded turns; balance = (goods - evils) / (goods + evils).

    \b
    Example:
        reltext balance --by role
        reltext balance --by participant --out balance.csv
    """
    frame = open_project(db).balance(_by(by), coder=coder, interviewers=interviewers)
    if out is None:
        frame = frame.drop(columns=[c for c in frame.columns if c in _CODE_COLUMNS])
    _table_out(frame, out)


@main.command(context_settings=CONTEXT_SETTINGS)
@grouped_counts
@db_option
def profiles(by: str, coder: str | None, out: str | None, interviewers: bool,
             db: str | None) -> None:
    """SOS profiles: where accounts locate difficulty (self, other, situation).

    The individualisation index is the share of locus-coded turns carrying locus_self.

    \b
    Example:
        reltext profiles --by participant
    """
    _table_out(open_project(db).sos_profiles(_by(by), coder=coder, interviewers=interviewers),
               out)


@main.command("wave-change", context_settings=CONTEXT_SETTINGS)
@click.option("--coder", default=None, help=CODER_HELP)
@click.option("--out", default=None, type=click.Path(dir_okay=False), help="Write a CSV file.")
@db_option
def wave_change(coder: str | None, out: str | None, db: str | None) -> None:
    """Change in balance and individualisation between a participant's first and last wave.

    Needs participant_id and wave on the transcripts (ingest them with a manifest).

    \b
    Example:
        reltext wave-change --out change.csv
    """
    frame = open_project(db).wave_change(coder=coder)
    if frame.empty and out is None:
        click.echo("No participant has transcripts in two or more waves.")
        return
    _table_out(frame, out)


@main.command(context_settings=CONTEXT_SETTINGS)
@click.option("--by", default="code", show_default=True,
              help="code: code-by-code over turns; or transcript, role, wave, participant or a "
                   "column for a code-by-group matrix.")
@click.option("--normalise", type=click.Choice(["count", "turns", "jaccard"]), default="count",
              show_default=True, help="count: turns; turns: share of (the group's) coded turns; "
                                      "jaccard: both / either (code-by-code only).")
@click.option("--coder", default=None, help=CODER_HELP)
@click.option("--out", default=None, type=click.Path(dir_okay=False), help="Write a CSV file.")
@click.option("--plot", default=None, type=click.Path(dir_okay=False),
              help="Also draw it as a heatmap (.svg or .png).")
@db_option
def cooccurrence(by: str, normalise: str, coder: str | None, out: str | None, plot: str | None,
                 db: str | None) -> None:
    """Code co-occurrence over turns, or codes by transcript, role or wave, as a matrix.

    \b
    Example:
        reltext cooccurrence --out cooccurrence.csv --plot cooccurrence.svg
        reltext cooccurrence --by role --normalise turns
    """
    project = open_project(db)
    if by == "code":
        matrix = project.cooccurrence(coder=coder, normalise=normalise)
    else:
        matrix = project.code_matrix(_by(by), coder=coder, normalise=normalise)
    if plot is not None:
        _plot_matrix(matrix, plot, by=by, normalise=normalise)
    _table_out(matrix, out, index=True)


@main.command(context_settings=CONTEXT_SETTINGS)
@click.option("--coder", default=None, help=CODER_HELP)
@click.option("--lexicon", default=None, type=click.Path(dir_okay=False), help=LEXICON_HELP)
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="CSV file to write.")
@db_option
def interactants(coder: str | None, lexicon: str | None, out: str, db: str | None) -> None:
    """Every person, place and object mentioned in the coded turns, one row each.

    \b
    Example:
        reltext interactants --out interactants.csv --lexicon my_study_roles.yaml
    """
    frame = open_project(db).interactants(coder=coder, lexicon=lexicon, progress=_progress)
    _table_out(frame, out)


_CODE_COLUMNS = {"trust", "hope", "connection", "empowerment", "mistrust", "hopelessness",
                 "isolation", "disempowerment", "stigma"}


def _by(by: str) -> list[str] | str:
    """``--by role,wave`` groups by both."""
    return [part.strip() for part in by.split(",")] if "," in by else by


def _plot_matrix(matrix: Any, plot: str, *, by: str, normalise: str) -> None:
    from ..analysis.figures import heatmap, save_figure

    path = Path(plot)
    if path.suffix.lower() not in (".svg", ".png"):
        raise ReltextError("cannot draw to this file type", path=path,
                           fix="Name the plot file .svg or .png.")
    check_folder(path, fix="Create it first, or draw the plot elsewhere.")
    title = "Code co-occurrence" if by == "code" else f"Codes by {by}"
    figure = heatmap(matrix, title=f"{title} ({normalise})",
                     value_format="{:.0f}" if normalise == "count" else "{:.2f}")
    save_figure(figure, path, format=path.suffix.lower().lstrip("."))
    click.echo(f"Drew the matrix to {path}.")
