"""Commands that exchange projects with other QDA programs (REFI-QDA)."""

from __future__ import annotations

import click

from . import CONTEXT_SETTINGS, db_option, export, open_project


@export.command("qdpx", context_settings=CONTEXT_SETTINGS)
@click.option("--out", required=True, type=click.Path(), help="The .qdpx file to write.")
@click.option("--accepted-only", is_flag=True,
              help="Only codings a reviewer accepted (corrected ones as corrected).")
@click.option("--coder", "coders", multiple=True, metavar="CODER",
              help="Only this coder's codings (repeatable), e.g. human:alice.")
@click.option("--transcript", "transcript_ids", multiple=True, metavar="ID",
              help="Only this transcript (repeatable).")
@db_option
def export_qdpx(out: str, accepted_only: bool, coders: tuple[str, ...],
                transcript_ids: tuple[str, ...], db: str | None) -> None:
    """A REFI-QDA project for NVivo, ATLAS.ti, MAXQDA and QualCoder.

    Sources are the transcripts' text, every coding a text selection coded by its coder
    (each coder and reviewer a user), with origin, confidence, evidence and review status
    as notes; participants are cases with their attributes as variables.

    \b
    Example:
        reltext export qdpx --out study.qdpx --accepted-only
    """
    summary = open_project(db).export_qdpx(
        out, accepted_only=accepted_only, coders=list(coders) or None,
        transcript_ids=list(transcript_ids) or None)
    click.echo(f"Wrote {summary.path}: {summary.sources} source(s), {summary.codes} code(s), "
               f"{summary.codings} coding(s) by {summary.users - 1} coder(s) and reviewer(s), "
               f"{summary.cases} case(s).")
