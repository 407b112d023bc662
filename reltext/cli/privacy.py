"""Commands that protect participants: pseudonymising the transcripts."""

from __future__ import annotations

from pathlib import Path

import click

from ..corpus.pseudonymise import SCOPES, PseudonymKey, Pseudonymiser, read_names
from ..files import check_folder
from . import CONTEXT_SETTINGS, db_option, main, open_project


def build_pseudonymiser(scope: str, names: str | None, key_out: str | None,
                        report: str | None = None) -> Pseudonymiser:
    """A pseudonymiser that continues the key in ``key_out`` when that file exists.

    The key's and the report's folders are checked first, so that no run rewrites
    transcripts and then finds it cannot keep the key.
    """
    for out in (key_out, report):
        if out:
            check_folder(out)
    key = PseudonymKey.load(key_out) if key_out and Path(key_out).is_file() else None
    return Pseudonymiser(scope=scope, names=read_names(names) if names else (), key=key)


@main.command(context_settings=CONTEXT_SETTINGS)
@click.option("--scope", type=click.Choice(SCOPES), default="participant", show_default=True,
              help="Number placeholders per participant or once for the whole corpus.")
@click.option("--names", type=click.Path(), default=None,
              help="File of known names to replace (one per line, or a CSV's first column).")
@click.option("--key-out", type=click.Path(), default=None,
              help="CSV to write the key to (placeholder -> original); an existing key is "
              "continued. Keep it apart from the project. Default: <db>.pseudonym-key.csv.")
@click.option("--report", type=click.Path(), default=None,
              help="Write what was replaced (no originals) to this .csv or .md file.")
@db_option
def pseudonymise(scope: str, names: str | None, key_out: str | None, report: str | None,
                 db: str | None) -> None:
    """Replace names, places, organisations and contact details in every transcript.

    People, places and organisations are found by spaCy's entity recogniser, e-mail
    addresses, URLs, phone numbers and UK postcodes by pattern, plus the names in --names;
    speaker labels that are names are replaced too. Placeholders such as [PERSON_1] are
    consistent within the scope. Transcripts are rewritten in place (all versions) and the
    codings keep pointing at the same words. The key never goes into the project.

    \b
    Example:
        reltext pseudonymise --names names.txt --key-out ~/keys/study-key.csv --report check.md
    """
    project = open_project(db)
    if not key_out:
        key_out = f"{project.path}.pseudonym-key.csv"
        click.echo(f"Warning: no --key-out given: the key goes to {key_out}; move it away from "
                   "the project before sharing anything.", err=True)
    pseudonymiser = build_pseudonymiser(scope, names, key_out, report)
    summary = project.pseudonymise(pseudonymiser, key_out=key_out, report=report)
    counts = ", ".join(f"{count} {category}" for category, count in summary.by_category.items())
    click.echo(f"Pseudonymised {summary.transcripts} transcript(s): {summary.replacements} "
               f"replacement(s) ({counts or 'none'}).")
    click.echo(f"Key written to {summary.key_path}: keep it apart from the project.")
    if summary.report_path:
        click.echo(f"Report written to {summary.report_path}.")
