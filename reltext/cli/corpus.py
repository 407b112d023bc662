"""Commands that bring transcripts in and list them."""

from __future__ import annotations

import json
import sys

import click

from ..corpus.pseudonymise import SCOPES, write_report
from ..corpus.readers import FORMATS
from . import (CONTEXT_SETTINGS, db_option, export, main, open_project, table, table_output,
               write_export)
from .privacy import build_pseudonymiser

@main.command(context_settings=CONTEXT_SETTINGS)
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--format", "format", type=click.Choice(
    list(FORMATS)), default=None,
    help="Read every file as this format (default: detect from extension and content).")
@click.option("--manifest", type=click.Path(), default=None,
              help="YAML or CSV file of participant ids, roles, waves, sites and speaker roles.")
@click.option("--pseudonymise", is_flag=True,
              help="Pseudonymise every file before it is stored (see 'reltext pseudonymise').")
@click.option("--scope", type=click.Choice(SCOPES), default="participant", show_default=True,
              help="With --pseudonymise: placeholders per participant or per corpus.")
@click.option("--names", type=click.Path(), default=None,
              help="With --pseudonymise: file of known names to replace.")
@click.option("--key-out", type=click.Path(), default=None,
              help="With --pseudonymise: the key CSV (default: <db>.pseudonym-key.csv).")
@click.option("--report", type=click.Path(), default=None,
              help="With --pseudonymise: write what was replaced to this .csv or .md file.")
@click.option("--external-sources", type=click.Path(file_okay=False), default=None,
              metavar="FOLDER",
              help="Read a REFI-QDA project's external sources (relative://, absolute://, "
                   "file://) from this folder only; without it they are refused.")
@click.option("--silent", is_flag=True, help="No progress bar.")
@db_option
def ingest(paths: tuple[str, ...], format: str | None, manifest: str | None, pseudonymise: bool,
           scope: str, names: str | None, key_out: str | None, report: str | None,
           external_sources: str | None, silent: bool, db: str | None) -> None:
    """Add transcripts (files or folders) to the project.

    Reads speaker-labelled text, WebVTT and SRT captions, Word .docx, PDF with a text layer,
    turn tables (CSV, TSV, .xlsx) and REFI-QDA projects (.qdpx, .qde: their sources, codes
    and codings). Unchanged files are skipped; a changed file becomes a new version. Files
    in a folder that are not read (other formats, manifests, READMEs) are listed with why.

    \b
    Example:
        reltext ingest interviews/ --manifest interviews/manifest.yaml
    """
    project = open_project(db, create=True)
    files, skipped = project.scan(paths, manifest=manifest)
    total = len(files)
    for path, reason in skipped:
        click.echo(f"Skipped: {path}: {reason}.", err=True)
    pseudonymiser = None
    if pseudonymise:
        if not key_out:
            key_out = f"{project.path}.pseudonym-key.csv"
            click.echo(f"Warning: no --key-out given: the key goes to {key_out}; move it away "
                       "from the project before sharing anything.", err=True)
        pseudonymiser = build_pseudonymiser(scope, names, key_out, report)
    results = project.iter_ingest(paths, format=format, manifest=manifest,
                                  pseudonymiser=pseudonymiser, key_out=key_out,
                                  external_sources=external_sources)
    failed = added = unchanged = versions = turns = codings = 0
    with click.progressbar(results, length=total, label="Ingesting", file=sys.stderr,
                           hidden=silent or total < 2, show_pos=True) as bar:
        for result in bar:
            for warning in result.warnings:
                click.echo(f"Warning: {warning}", err=True)
            if not result.ok:
                failed += 1
                click.echo(f"Error: {result.error}", err=True)
                continue
            codings += result.codings
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
    if codings:
        parts.append(f"{codings} codings imported")
    if failed:
        parts.append(f"{failed} file(s) failed")
    if skipped:
        parts.append(f"{len(skipped)} other file(s) skipped")
    click.echo(f"Ingested {total} file(s) into {project.path}: {', '.join(parts)}.")
    if pseudonymiser is not None:
        if report:
            write_report(pseudonymiser.report, report)
            click.echo(f"Pseudonymisation report written to {report}.")
        click.echo(f"Pseudonymised: {len(pseudonymiser.report)} replacement(s); key kept in "
                   f"{key_out}.")
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
    click.echo(table(frame[columns]))
    click.echo(f"{len(frame)} transcripts, {int(frame['turns'].sum())} turns, "
               f"{int(frame['words'].sum())} words.")


@export.command("turns", context_settings=CONTEXT_SETTINGS)
@table_output
@db_option
def export_turns(format: str, out: str, keep_formulas: bool, db: str | None) -> None:
    """All turns, one row each: transcript_id, turn_id, speaker, role, offsets, text, metadata.

    \b
    Example:
        reltext export turns --format csv --out turns.csv
    """
    frame = open_project(db).turns()
    write_export(frame, out, format, keep_formulas=keep_formulas, what="turns")
