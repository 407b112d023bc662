"""Commands for the learned coder: train it, list its models, and ask what to review next."""

from __future__ import annotations

import json
import math
from pathlib import Path

import click

from ..errors import ReltextError
from ..files import check_folder, write_text
from . import (CONTEXT_SETTINGS, db_option, export, main, open_project, table, table_output,
               write_export)


@main.command(context_settings=CONTEXT_SETTINGS)
@click.option("--base", is_flag=True,
              help="Re-train the relational model itself from a coded corpus (--corpus, "
                   "--clean-corpus) into --out; about an hour on 2 cores.")
@click.option("--corpus", "corpora", type=(click.Path(), click.Path()), multiple=True,
              metavar="TURNS.csv CODES.csv", help="With --base: a turn table and its codes "
                                                  "(repeatable).")
@click.option("--clean-corpus", "clean", type=(click.Path(), click.Path()), multiple=True,
              metavar="TURNS.csv CODES.csv",
              help="With --base: a doubly coded, adjudicated set, weighing double.")
@click.option("--out", type=click.Path(), default=None,
              help="With --base: the folder to write the model to.")
@click.option("--seed", type=int, default=0, show_default=True,
              help="With --base: the seed of the folds and classifiers.")
@click.option("--gold", type=click.Path(), default=None,
              help="A codings CSV to import as human:gold and train on.")
@click.option("--coder-from", "coder_from", multiple=True, metavar="human:NAME",
              help="Learn from this human coder (repeatable; default: every human coder).")
@click.option("--codebook", type=click.Path(), default=None,
              help="Codebook YAML (default: the bundled relational codebook).")
@click.option("--embedding", type=click.Choice(["minilm", "tfidf"]), default=None,
              help="Fit the classic learned coder on these text features instead of adapting "
                   "the relational model.")
@click.option("--cv", is_flag=True,
              help="Also score rules, learned and auto on held-out transcripts (grouped CV).")
@click.option("--json", "json_out", type=click.Path(), default=None,
              help="Write the cross-validation report to this JSON file (with --cv).")
@click.option("--plot", "plot_out", type=click.Path(), default=None,
              help="Draw the cross-validated probabilities' reliability diagram to this .png "
                   "or .svg file (with --cv).")
@db_option
def train(base: bool, corpora: tuple[tuple[str, str], ...], clean: tuple[tuple[str, str], ...],
          out: str | None, seed: int, gold: str | None, coder_from: tuple[str, ...],
          codebook: str | None, embedding: str | None, cv: bool, json_out: str | None,
          plot_out: str | None, db: str | None) -> None:
    """Fit the learned coder from human codings and review decisions.

    Accepted auto-codes are positive examples, rejected ones negative, corrected ones
    negative for the old code and positive for the new; the codebook's examples are seeds.
    Each run saves a new model; older models and their codings stay.

    \b
    Example:
        reltext train --gold gold/dev-codes.csv --cv --plot calibration.png
        reltext train --coder-from human:alice --coder-from human:sam
        reltext train --base --corpus silver/train-turns.csv silver/train-codes.csv \\
            --clean-corpus gold/dev-turns.csv gold/dev-codes.csv --out model/
    """
    if base:
        train_base_model(corpora, clean, out, seed, codebook)
        return
    if corpora or clean or out:
        raise click.UsageError("--corpus, --clean-corpus and --out go with --base.")
    if (json_out or plot_out) and not cv:
        raise click.UsageError("--json and --plot report the cross-validation: add --cv.")
    if embedding is None:
        if cv:
            raise click.UsageError("--cv scores the classic learned coder: add --embedding "
                                   "minilm or --embedding tfidf.")
        adapt_model(open_project(db), gold, coder_from)
        return
    for out in filter(None, (json_out, plot_out)):
        check_folder(out)
    if plot_out and Path(plot_out).suffix.lower() not in (".png", ".svg"):
        raise ReltextError("cannot draw to this file type", path=plot_out,
                           fix="Name the plot file .svg or .png.")
    project = open_project(db)
    model = project.train(gold=gold, coders=coder_from or None, codebook=codebook,
                          embedding=embedding)
    manifest = model.manifest
    click.echo(f"Trained model {model.model_id} on {manifest['training']['turns']} turns of "
               f"{manifest['training']['transcripts']} transcripts, "
               f"{manifest['training']['decisions']} review decisions and "
               f"{manifest['training']['answers']} answers "
               f"({manifest['features']['embedding']} features).")
    import pandas as pd

    from ..learning import training

    *rows, _ = training.evaluation(manifest)
    frame = pd.DataFrame(rows)[["code", "positives", "threshold", "kappa", "auto",
                                "auto_kappa", "rules_kappa", "note"]]
    frame["threshold"] = frame["threshold"].round(3)
    click.echo(table(frame.rename(columns={"kappa": "cv_kappa"})))
    click.echo(f"Code with it: reltext code --coder learned (or auto); coder learned:"
               f"{model.model_id}.")
    if not cv:
        return
    report = project.cross_validate(coders=manifest["training"]["coders"], codebook=codebook,
                                    embedding=manifest["features"]["embedding"])
    click.echo("")
    click.echo(format_cv_report(report))
    if json_out:
        write_text(json_out, json.dumps(report, indent=2))
        click.echo(f"Wrote the report to {json_out}.")
    if plot_out:
        from ..analysis.figures import reliability, save_figure

        figure = reliability(report["calibration"], title=(
            f"Learned probabilities on unseen transcripts ({report['transcripts']} "
            f"transcripts, {report['folds']} folds)"))
        save_figure(figure, plot_out, format=Path(plot_out).suffix.lower()[1:])
        click.echo(f"Drew the reliability diagram to {plot_out}.")


def adapt_model(project, gold: str | None, coder_from: tuple[str, ...]) -> None:
    """``reltext train``: the relational model adapted to the project's own labels."""
    adapted = project.adapt(gold=gold, coders=coder_from or None)
    manifest = adapted.manifest["adaptation"]
    training = manifest["training"]
    click.echo(f"Adapted {manifest['base']} to this project as {adapted.coder_id}: "
               f"{training['turns']} labelled turns of {training['transcripts']} transcripts, "
               f"{training['decisions']} review decisions and {training['answers']} answers, "
               f"in {manifest['seconds']:.1f} s.")
    import pandas as pd

    rows = [{"code": code, "positives": entry["positives"], "negatives": entry["negatives"],
             "adapted": "yes" if entry["adapted"] else "no", "scale": entry.get("scale", ""),
             "shift": entry.get("shift", ""), "change": entry.get("change", ""),
             "note": entry.get("note", "")} for code, entry in manifest["codes"].items()]
    click.echo(table(pd.DataFrame(rows)))
    click.echo(f"Code with it: reltext code --coder learned (auto uses it too); coder "
               f"{adapted.coder_id}.")


def train_base_model(corpora, clean, out: str | None, seed: int, codebook: str | None) -> None:
    """``reltext train --base``: the relational model from a coded corpus, with progress."""
    import time

    from ..coding.codebook import load_codebook
    from ..coding.coders.reader import TurnReader
    from ..learning.relational_training import FOLDS, LAYERS, read_corpus, train_base

    if not out:
        raise click.UsageError("--base needs --out FOLDER, where the model is written.")
    if not corpora and not clean:
        raise click.UsageError("--base needs a corpus: --corpus TURNS.csv CODES.csv.")
    codes = load_codebook(codebook).keys
    corpus = read_corpus([("corpus", *pair) for pair in corpora]
                         + [("gold", *pair) for pair in clean], codes)
    click.echo(f"Training the relational model on {len(corpus.turns)} turns of "
               f"{corpus.turns.group.nunique()} transcripts; about "
               f"{len(corpus.turns) / 10 / 60:.0f} minutes on 2 cores, most of it reading "
               f"the turns, then {FOLDS}-fold cross-validation.")
    reader = TurnReader(layers=LAYERS)
    bars: dict[str, object] = {}
    started = time.perf_counter()

    def progress(stage: str, done: int, total: int) -> None:
        bar = bars.get(stage)
        if bar is None:
            for other in bars.values():
                other.render_finish()
            label = {"read": "Reading turns", "cross-validate": "Cross-validating",
                     "fit": "Fitting"}[stage]
            bar = bars[stage] = click.progressbar(length=total, label=label, show_eta=True,
                                                  show_pos=True)
            bar.__enter__()
        bar.update(done - bar.pos)

    model = train_base(corpus, reader, seed=seed, progress=progress)
    for bar in bars.values():
        bar.__exit__(None, None, None)
    model.save(out)
    cv = model.manifest["cross_validation"]
    figures = ", ".join(f"{name} {entry['macro']['kappa']:.3f}" for name, entry in cv.items())
    click.echo(f"Wrote the model to {out} in {time.perf_counter() - started:.0f} s; "
               f"cross-validated macro kappa: {figures}.")


def format_cv_report(report: dict) -> str:
    """The grouped cross-validation report as a table: kappa and F1 per code and macro."""
    import pandas as pd

    rows = []
    for code, entry in report["codes"].items():
        rows.append({"code": code, "support": entry["support"],
                     "rules_kappa": entry["rules"]["kappa"],
                     "learned_kappa": entry["learned"]["kappa"],
                     "auto_kappa": entry["auto"]["kappa"],
                     "rules_f1": entry["rules"]["f1"], "learned_f1": entry["learned"]["f1"],
                     "auto_f1": entry["auto"]["f1"]})
    macro = report["macro"]
    rows.append({"code": "MACRO", "support": "",
                 **{f"{c}_{m}": macro[c][m] for c in ("rules", "learned", "auto")
                    for m in ("kappa", "f1")}})
    frame = pd.DataFrame(rows)
    header = (f"Grouped cross-validation: {report['units']} turns of {report['transcripts']} "
              f"transcripts, {report['folds']} folds by transcript ({report['embedding']} "
              "features); each fold scored by a model that never saw its transcripts.")
    text = header + "\n" + table(frame)
    fit = report.get("calibration", {})
    if fit.get("probabilities"):
        text += (f"\nCalibration of the learned probabilities on those transcripts: mean "
                 f"{fit['mean_probability']:.3f} for a code rate of {fit['rate']:.3f}; expected "
                 f"calibration error {fit['ece']:.3f}, Brier score {fit['brier']:.4f}.")
    return text


@main.command(context_settings=CONTEXT_SETTINGS)
@click.option("--json", "as_json", is_flag=True, help="Print the full manifests as JSON.")
@db_option
def models(as_json: bool, db: str | None) -> None:
    """List the learned models trained in the project, oldest first.

    \b
    Example:
        reltext models
    """
    project = open_project(db)
    if as_json:
        from ..learning.training import list_models

        click.echo(json.dumps(list_models(project.store), indent=2, default=str))
        return
    frame = project.models()
    if frame.empty:
        click.echo("No models yet: run 'reltext train --gold FILE'.")
        return
    click.echo(table(frame))


@main.command(context_settings=CONTEXT_SETTINGS)
@click.option("--n", "n", type=int, default=20, show_default=True, help="How many turns.")
@click.option("--code", default=None, help="Only this code.")
@click.option("--model", "model_id", default=None, help="Model id (default: the newest).")
@db_option
def queue(n: int, code: str | None, model_id: str | None, db: str | None) -> None:
    """List the turns whose review would teach the learned coder most.

    Turns where human coders disagree come first, then turns whose probability under the
    model lies nearest the code's threshold.

    \b
    Example:
        reltext queue --n 10 --code trust
    """
    frame = open_project(db).review_queue(n=n, code=code, model_id=model_id)
    if frame.empty:
        click.echo("Nothing to review: every turn is labelled or the model is certain.")
        return
    shown = frame.drop(columns=["turn_pk"]).copy()
    for column in ("probability", "threshold"):
        shown[column] = shown[column].map(
            lambda v: "" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.3f}")
    click.echo(table(shown))


@main.command(context_settings=CONTEXT_SETTINGS)
@click.argument("transcript_id")
@click.argument("turn_id")
@click.argument("code")
@click.option("--yes/--no", "applies", default=None,
              help="The code applies to the turn (--yes) or it does not (--no).")
@click.option("--reviewer", envvar="RELTEXT_REVIEWER", required=True,
              help="Who answers (default: $RELTEXT_REVIEWER).")
@db_option
def answer(transcript_id: str, turn_id: str, code: str, applies: bool | None, reviewer: str,
           db: str | None) -> None:
    """Answer a question of 'reltext queue': does CODE apply to the turn?

    The answer is a label for the next 'reltext train' and takes the pair out of the queue.

    \b
    Example:
        reltext answer 95 12 hope --no --reviewer alice
    """
    if applies is None:
        raise click.UsageError("say whether the code applies: --yes or --no.")
    given = open_project(db).answer(reviewer, transcript_id, turn_id, code, applies=applies)
    click.echo(f"{given.reviewer}: {code} {'applies' if applies else 'does not apply'} to "
               f"{transcript_id}/{turn_id}.")


@export.command("answers", context_settings=CONTEXT_SETTINGS)
@table_output
@db_option
def export_answers(format: str, out: str, keep_formulas: bool, db: str | None) -> None:
    """Every answer to the queue's questions, undos included, oldest first.

    \b
    Example:
        reltext export answers --format csv --out answers.csv
    """
    from ..learning.questions import answers_frame

    frame = answers_frame(open_project(db).store)
    write_export(frame, out, format, keep_formulas=keep_formulas, what="answers")
