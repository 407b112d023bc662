"""Commands for coding: code with a codebook, evaluate against gold, compare coders, codebooks."""

from __future__ import annotations

import json

import click

from ..autocode import CODERS
from ..coding.batch import ENGINES
from ..coding.codebook import codebook_from_qdc, codebook_to_qdc, codebook_to_yaml, load_codebook
from ..coding.nlp import DEFAULT_PIPELINE
from ..files import write_text
from ..review.agreement import json_safe
from . import (CONTEXT_SETTINGS, ReltextGroup, db_option, interviewers_option, json_option, main,
               open_project)


@main.command("code", context_settings=CONTEXT_SETTINGS)
@click.option("--codebook", "codebook_path", type=click.Path(), default=None,
              help="Codebook YAML (default: the project's latest, else "
                   "codebooks/relational.yaml).")
@click.option("--coder", type=click.Choice(CODERS), default="auto", show_default=True,
              help="rules: the codebook's rules; model: the relational model shipped with "
                   "reltext; learned: the one trained in this project; auto: the best "
                   "available.")
@click.option("--pipeline", default=DEFAULT_PIPELINE, show_default=True,
              help="Installed spaCy pipeline to read the turns with.")
@click.option("--workers", type=int, default=1, show_default=True,
              help="Processes coding in parallel.")
@click.option("--batch-size", type=int, default=500, show_default=True,
              help="Turns per batch and per transaction.")
@click.option("--engine", type=click.Choice(ENGINES), default="local", show_default=True,
              help="local: processes on this machine; dask: a dask.distributed cluster.")
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="Dask scheduler address, e.g. tcp://10.0.0.5:8786 (default: a local "
                   "cluster of --workers processes).")
@click.option("--silent", is_flag=True, help="No progress bar.")
@db_option
def code(codebook_path: str | None, coder: str, pipeline: str, workers: int, batch_size: int,
         engine: str, scheduler: str | None, silent: bool, db: str | None) -> None:
    """Code every turn not yet coded by this coder and codebook version.

    Running it again codes only new turns; a new codebook version codes all turns again,
    beside the old version's codings.

    \b
    Example:
        reltext code
        reltext code --codebook codebooks/relational.yaml --coder rules
        reltext code --workers 2
        reltext code --engine dask --scheduler tcp://scheduler:8786
    """
    import warnings

    project = open_project(db)
    progress = project.iter_code(codebook=codebook_path, coder=coder, pipeline=pipeline,
                                 workers=workers, batch_size=batch_size, engine=engine,
                                 scheduler=scheduler)
    with warnings.catch_warnings(record=True) as caught:  # shown as "Warning:" lines
        warnings.simplefilter("always", UserWarning)
        last = _follow(progress, silent)
    for warning in caught:
        if issubclass(warning.category, UserWarning):
            click.echo(f"Warning: {warning.message}", err=True)
    if last is None:
        click.echo("Nothing to code: every turn is coded by this coder and codebook version.")
        return
    click.echo(f"Coded {last.turns_done} turns ({last.words} words) with {last.codings} "
               f"codings in {last.seconds:.1f} s; run {last.run_id}.")


def _follow(progress, silent: bool):
    """The run's last progress (None when there was nothing to code), with a bar unless
    ``silent``."""
    first = last = next(progress, None)
    if first is None or silent:
        for last in progress:
            pass
        return last
    with click.progressbar(length=first.turns_total, label="Coding turns", show_pos=True,
                           item_show_func=_rate) as bar:
        bar.update(first.turns_done, first)
        for step in progress:
            bar.update(step.turns_done - last.turns_done, step)
            last = step
    return last


def _rate(step) -> str | None:
    if step is None or not step.seconds:
        return None
    return f"{step.words / step.seconds:,.0f} words/s"


@main.command("evaluate", context_settings=CONTEXT_SETTINGS)
@click.option("--gold", "gold", required=True, type=click.Path(),
              help="Gold codings CSV (transcript_id,turn_id,codes).")
@click.option("--coder", default=None,
              help="The coder to score (default: the latest automatic coder).")
@json_option
@interviewers_option
@db_option
def evaluate_command(gold: str, coder: str | None, json_out: str | None, interviewers: bool,
                     db: str | None) -> None:
    """Score a coder's codings against gold, per code and macro, with the turn as the unit.

    Undefined figures (e.g. kappa for a code neither side used) print as "-" and are left
    out of the macro average.

    \b
    Example:
        reltext evaluate --gold gold/dev-codes.csv --json eval.json
    """
    import warnings

    project = open_project(db, create=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = project.evaluate(gold, coder=coder, interviewers=interviewers)
    click.echo(f"{result['coder']} on {result['units']} gold turns")
    click.echo(_figures(result["codes"], ("support", "predicted", "precision", "recall", "f1",
                                          "kappa"), result["macro"]))
    if json_out:
        write_text(json_out, json.dumps(json_safe(result), indent=2))
        click.echo(f"Wrote {json_out}.")


@main.command("agreement", context_settings=CONTEXT_SETTINGS)
@click.option("--coder", "coders", multiple=True, required=True,
              help="A coder; give exactly two (e.g. --coder human:alice --coder human:bob).")
@json_option
@interviewers_option
@db_option
def agreement_command(coders: tuple[str, ...], json_out: str | None, interviewers: bool,
                      db: str | None) -> None:
    """Cohen's kappa and Krippendorff's alpha per code between two coders.

    Only turns both coders coded count.

    \b
    Example:
        reltext agreement --coder rules:relational@1.0 --coder human:alice
    """
    import warnings

    if len(coders) != 2:
        raise click.UsageError(f"give exactly two --coder options, got {len(coders)}")
    project = open_project(db, create=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = project.agreement(coders[0], coders[1], interviewers=interviewers)
    click.echo(f"{coders[0]} vs {coders[1]} on {result['units']} turns both coded")
    rows = {code: {"n_" + ("a" if k == "first" else "b") if k in ("first", "second") else k: v
                   for k, v in row.items()} for code, row in result["codes"].items()}
    click.echo(_figures(rows, ("n_a", "n_b", "agreement", "kappa", "alpha"), result["macro"]))
    if json_out:
        write_text(json_out, json.dumps(json_safe(result), indent=2))
        click.echo(f"Wrote {json_out}.")


def _figures(rows: dict, columns: tuple[str, ...], macro: dict) -> str:
    def cell(value) -> str:
        if isinstance(value, float):
            return "-" if value != value else f"{value:.2f}"
        return str(value)

    width = max(len(code) for code in [*rows, "macro"]) + 2
    lines = ["code".ljust(width) + "".join(c.rjust(10) for c in columns)]
    for code, row in rows.items():
        lines.append(code.ljust(width) + "".join(cell(row[c]).rjust(10) for c in columns))
    lines.append("macro".ljust(width) + "".join(
        (cell(macro[c]) if c in macro else "").rjust(10) for c in columns))
    return "\n".join(lines)


@main.group(cls=ReltextGroup, context_settings=CONTEXT_SETTINGS)
def codebook() -> None:
    """Check codebooks and exchange them with other tools as REFI-QDA .qdc files."""


@codebook.command("check", context_settings=CONTEXT_SETTINGS)
@click.argument("file", type=click.Path())
def codebook_check(file: str) -> None:
    """Validate a codebook YAML file and summarise it.

    \b
    Example:
        reltext codebook check codebooks/relational.yaml
    """
    loaded = load_codebook(file)
    rules = sum(len(code.rules) for code in loaded.codes)
    click.echo(f"{loaded.name}@{loaded.version}: {len(loaded.codes)} codes, {rules} rules, "
               f"sha256 {loaded.sha256[:12]}.")


@codebook.command("export-qdc", context_settings=CONTEXT_SETTINGS)
@click.option("--codebook", "codebook_path", type=click.Path(), default=None,
              help="Codebook YAML (default: codebooks/relational.yaml).")
@click.option("--out", required=True, type=click.Path(), help="The .qdc file to write.")
def codebook_export_qdc(codebook_path: str | None, out: str) -> None:
    """Write a codebook as a REFI-QDA .qdc file for NVivo, ATLAS.ti, MAXQDA or QualCoder.

    \b
    Example:
        reltext codebook export-qdc --out relational.qdc
    """
    loaded = load_codebook(codebook_path)
    write_text(out, codebook_to_qdc(loaded))
    click.echo(f"Wrote {len(loaded.codes)} codes of {loaded.name}@{loaded.version} to {out}.")


@codebook.command("import-qdc", context_settings=CONTEXT_SETTINGS)
@click.argument("file", type=click.Path())
@click.option("--out", required=True, type=click.Path(),
              help="The codebook YAML to write (add patterns to it to code with it).")
@click.option("--name", default=None, help="Codebook name (default: from the file).")
@click.option("--version", "version", default="1.0", show_default=True,
              help="Codebook version when the file does not say.")
def codebook_import_qdc(file: str, out: str, name: str | None, version: str) -> None:
    """Turn a REFI-QDA .qdc codebook into a reltext codebook YAML (codes without patterns).

    \b
    Example:
        reltext codebook import-qdc nvivo-codes.qdc --out codebooks/team.yaml
    """
    loaded = codebook_from_qdc(file, name=name, version=version)
    write_text(out, codebook_to_yaml(loaded))
    click.echo(f"Wrote {len(loaded.codes)} codes of {loaded.name}@{loaded.version} to {out}; "
               "add phrases or token_patterns to code with it.")
