"""Commands for emergent themes: fit topic models, link them to codes, export them."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from ..errors import ReltextError
from ..exchange.tables import write_table
from ..files import atomic_path
from ..topics.fitting import EMBEDDINGS, UNITS, TopicSettings, parse_where
from ..topics.views import TURN_TOPIC_COLUMNS, plot_topic_distribution
from . import (CONTEXT_SETTINGS, ReltextGroup, db_option, export, main, open_project, table,
               table_output, write_export)

run_option = click.option("--run", "run_id", default=None, metavar="RUN_ID",
                          help="The topics run (default: the latest).")


class EmbeddingProgress:
    """A progress bar on stderr that appears once there is embedding to do."""

    def __init__(self, silent: bool) -> None:
        self.silent = silent
        self.bar: Any = None
        self.shown = 0

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None:
            self.bar = click.progressbar(length=total, label="Embedding", file=sys.stderr,
                                         hidden=self.silent, show_pos=True)
            self.bar.__enter__()
        self.bar.update(done - self.shown)
        self.shown = done

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)


@main.group(cls=ReltextGroup, context_settings=CONTEXT_SETTINGS, invoke_without_command=True)
@click.option("--seed", default=42, show_default=True, type=int,
              help="Seed of UMAP (or PCA and k-means); the same seed gives the same topics.")
@click.option("--unit", type=click.Choice(UNITS), default="turn", show_default=True,
              help="Model whole turns or their sentences.")
@click.option("--speaker-role", default=None, metavar="ROLE",
              help="Only turns of this role (e.g. client).")
@click.option("--where", "where", multiple=True, metavar="KEY=VALUE",
              help="Only turns whose attribute KEY is VALUE (wave=2, site=North); repeatable.")
@click.option("--embedding", type=click.Choice(EMBEDDINGS), default="minilm", show_default=True,
              help="MiniLM sentence embeddings (cached), or TF-IDF+SVD.")
@click.option("--fast", is_flag=True,
              help="PCA and k-means instead of UMAP and HDBSCAN: quick, for trying settings.")
@click.option("--min-words", default=3, show_default=True, type=int,
              help="Leave out units with fewer words that are not stop words or fillers.")
@click.option("--min-topic-size", default=None, type=int,
              help="Smallest HDBSCAN topic (default: 1% of the units, at least 10).")
@click.option("--topics", "n_topics", default=None, type=int,
              help="Number of topics with --fast (default: grows with the corpus).")
@click.option("--silent", is_flag=True, help="No progress bar.")
@db_option
@click.pass_context
def topics(ctx: click.Context, seed: int, unit: str, speaker_role: str | None,
           where: tuple[str, ...], embedding: str, fast: bool, min_words: int,
           min_topic_size: int | None, n_topics: int | None, silent: bool,
           db: str | None) -> None:
    """Fit a topic model over the turns and store its topics and turn assignments.

    Short back-channel turns are left out; stop words and interview fillers never become
    topic words. Nothing is downloaded: the embedding model ships with reltext's topics
    extra. The same data and seed give the same topics. The subcommands work on a fitted
    run.

    \b
    Example:
        reltext topics --seed 7 --speaker-role client
        reltext topics --where wave=2 --fast
        reltext topics codes --coder human:alice
    """
    # The subcommands' --db falls back to the root's, so ``topics --db X list`` works too.
    ctx.ensure_object(dict)["db"] = db
    if ctx.invoked_subcommand is not None:
        return
    settings = TopicSettings(seed=seed, unit=unit, speaker_role=speaker_role,
                             where=parse_where(where), embedding=embedding, fast=fast,
                             min_words=min_words, min_topic_size=min_topic_size,
                             topics=n_topics)
    project = open_project(db)
    progress = EmbeddingProgress(silent)
    try:
        result = project.fit_topics(settings, progress=progress)
    finally:
        progress.close()
    frame = project.topics(result.run_id)
    click.echo(table(frame[["topic_id", "size", "coherence", "label"]].round(3)))
    seconds = result.manifest["seconds"]
    click.echo(
        f"Topics run {result.run_id}: {len(frame)} topics over {result.units} "
        f"{unit}s ({result.left_out} back-channel {unit}s left out) in "
        f"{seconds['embedding'] + seconds['fitting']:.1f} s; model saved in {result.model_path}.")


@topics.command("list", context_settings=CONTEXT_SETTINGS)
@run_option
@click.option("--words", is_flag=True, help="Show each topic's top words, not its label.")
@db_option
def list_topics(run_id: str | None, words: bool, db: str | None) -> None:
    """Show the topics of a run.

    \b
    Example:
        reltext topics list --words
    """
    frame = open_project(db).topics(run_id)
    column = "words" if words else "label"
    click.echo(table(frame[["topic_id", "size", "coherence", column]].round(3)))


@topics.command("runs", context_settings=CONTEXT_SETTINGS)
@db_option
def runs(db: str | None) -> None:
    """List the topics runs with their settings.

    \b
    Example:
        reltext topics runs
    """
    project = open_project(db)
    found = project.topic_runs()
    if not found:
        click.echo("No topics runs yet: fit one with 'reltext topics'.")
        return
    import pandas as pd

    rows = [{"run_id": run["run_id"], "status": run["status"], "started_at": run["started_at"],
             "units": run["manifest"].get("units"),
             "method": run["manifest"].get("parameters", {}).get("method"),
             "embedding": run["manifest"].get("settings", {}).get("embedding"),
             "seed": run["manifest"].get("seed")} for run in found]
    click.echo(table(pd.DataFrame(rows)))


@topics.command("assign", context_settings=CONTEXT_SETTINGS)
@run_option
@click.option("--silent", is_flag=True, help="No progress bar.")
@db_option
def assign(run_id: str | None, silent: bool, db: str | None) -> None:
    """Give turns added since a run their topics with its saved model, without refitting.

    \b
    Example:
        reltext ingest new-interviews/
        reltext topics assign
    """
    project = open_project(db)
    progress = EmbeddingProgress(silent)
    try:
        counts = project.assign_topics(run_id, progress=progress)
    finally:
        progress.close()
    click.echo(f"Assigned topics to {counts['units']} new units "
               f"({counts['left_out']} back-channel units left out).")


@topics.command("codes", context_settings=CONTEXT_SETTINGS)
@click.option("--coder", default=None,
              help="Whose codings (default: the coder that coded most modelled turns).")
@click.option("--out", type=click.Path(), default=None, help="Also write the table as CSV.")
@run_option
@db_option
def codes(coder: str | None, out: str | None, run_id: str | None,
          db: str | None) -> None:
    """Topic-by-code table: the share of each topic's coded units carrying each code.

    \b
    Example:
        reltext topics codes --coder human:gold --out topic-codes.csv
    """
    frame = open_project(db).topic_code_table(coder, run_id=run_id)
    click.echo(f"Codings of {frame.attrs['coder']}; shares of each topic's coded units.")
    shown = frame.reset_index()
    shown["label"] = shown["label"].str.slice(0, 28)
    click.echo(table(shown.round(2)))
    if out:
        path = write_table(frame.reset_index(), out, "csv")
        click.echo(f"Wrote the table to {path}.")


@topics.command("candidates", context_settings=CONTEXT_SETTINGS)
@click.option("--coder", default=None,
              help="Whose codings (default: the coder that coded most modelled turns).")
@click.option("--max-coverage", default=0.25, show_default=True, type=float,
              help="A candidate's most frequent code is on at most this share of its units.")
@click.option("--min-size", default=None, type=int,
              help="Smallest candidate topic (default: 2% of the units, at least 10).")
@click.option("--min-coded", default=5, show_default=True, type=int,
              help="Fewest coded units a topic needs before it can be called uncovered.")
@run_option
@db_option
def candidates(coder: str | None, max_coverage: float, min_size: int | None, min_coded: int,
               run_id: str | None, db: str | None) -> None:
    """Candidate codes: large, coherent topics that no code covers, with example turns.

    \b
    Example:
        reltext topics candidates --coder rules:relational@1.0
        reltext topics promote 4 --code housing --codebook codebooks/mine.yaml
    """
    frame = open_project(db).candidate_codes(coder, run_id=run_id, min_size=min_size,
                                             max_coverage=max_coverage, min_coded=min_coded)
    if frame.empty:
        click.echo(f"No candidate codes: every large, coherent topic is covered by a code of "
                   f"{frame.attrs['coder']}.")
        return
    click.echo(f"{len(frame)} candidate code(s) (codings of {frame.attrs['coder']}):")
    for row in frame.itertuples():
        top = f", most often {row.top_code}" if isinstance(row.top_code, str) else ""
        click.echo(f"\nTopic {row.topic_id}: {row.label}  ({row.size} units, coherence "
                   f"{row.coherence:.2f}, best code covers {row.coverage:.0%}{top})")
        click.echo(f"  words: {row.words}")
        for text in row.examples[:3]:
            click.echo(f"  - {text if len(text) <= 160 else text[:159] + '…'}")


@topics.command("promote", context_settings=CONTEXT_SETTINGS)
@click.argument("topic", type=int)
@click.option("--code", "key", required=True, help="The new code's key (lower case, e.g. housing).")
@click.option("--codebook", type=click.Path(dir_okay=False), default="codebooks/relational.yaml",
              show_default=True, help="The codebook YAML to add it to (created if missing).")
@run_option
@db_option
def promote(topic: int, key: str, codebook: str, run_id: str | None,
            db: str | None) -> None:
    """Add a topic to a codebook as a draft code: its words as phrases, its turns as examples.

    \b
    Example:
        reltext topics promote 4 --code housing --codebook codebooks/mine.yaml
    """
    code = open_project(db).promote_topic(topic, key=key, codebook=codebook, run_id=run_id)
    click.echo(f"Added the draft code '{key}' to {Path(codebook)} with "
               f"{len(code['phrases'])} phrases and {len(code['examples'])} examples; "
               "edit its definition and criteria before coding with it.")


@topics.command("groups", context_settings=CONTEXT_SETTINGS)
@click.option("--by", default="role", show_default=True,
              help="role, speaker, transcript_id, or an attribute such as site or wave.")
@click.option("--counts", is_flag=True, help="Unit counts instead of shares.")
@click.option("--out", type=click.Path(), default=None, help="Write the table as CSV.")
@click.option("--plot", type=click.Path(dir_okay=False), default=None,
              help="Draw the shares as stacked bars (.svg, .png or .pdf).")
@run_option
@db_option
def groups(by: str, counts: bool, out: str | None, plot: str | None,
           run_id: str | None, db: str | None) -> None:
    """Topics by group or over time: each group's share of every topic.

    \b
    Example:
        reltext topics groups --by role
        reltext topics groups --by wave --plot topics-by-wave.svg
    """
    project = open_project(db)
    frame = project.topic_distribution(by, run_id=run_id, share=not counts)
    shown = frame.T
    shown.index.name = "topic"
    click.echo(table(shown.reset_index().round(3)))
    if out:
        path = write_table(frame.reset_index(), out, "csv")
        click.echo(f"Wrote the table to {path}.")
    if plot:
        shares = frame if not counts else project.topic_distribution(by, run_id=run_id)
        figure = plot_topic_distribution(shares, title=f"Topics by {by}")
        _save_figure(figure, Path(plot))
        click.echo(f"Wrote the plot to {plot}.")


def _save_figure(figure: Any, path: Path) -> None:
    """Save atomically, in the format the suffix names."""
    suffix = path.suffix.lower()
    if suffix not in (".svg", ".png", ".pdf"):
        raise ReltextError(f"cannot draw a {suffix or 'suffix-less'} file", path=path,
                           fix="Name the plot .svg, .png or .pdf.")
    with atomic_path(path) as temporary:
        figure.savefig(temporary, format=suffix[1:], bbox_inches="tight")


@export.command("topics", context_settings=CONTEXT_SETTINGS)
@table_output
@run_option
@db_option
def export_topics(format: str, out: str, keep_formulas: bool, run_id: str | None,
                  db: str | None) -> None:
    """The topics of a run: topic_id, size, label, words (then coherence, run_id).

    \b
    Example:
        reltext export topics --format csv --out topics.csv
    """
    frame = open_project(db).topics(run_id)
    write_export(frame, out, format, keep_formulas=keep_formulas, what="topics")


@export.command("turn-topics", context_settings=CONTEXT_SETTINGS)
@table_output
@run_option
@db_option
def export_turn_topics(format: str, out: str, keep_formulas: bool, run_id: str | None,
                       db: str | None) -> None:
    """Each modelled turn's topic: transcript_id, turn_id, topic_id, probability.

    Then start_char and end_char (the unit in the turn, for --unit sentence) and
    representative (rank among its topic's best examples).

    \b
    Example:
        reltext export turn-topics --format csv --out turn-topics.csv
    """
    frame = open_project(db).turn_topics(run_id)
    columns = TURN_TOPIC_COLUMNS + ["start_char", "end_char", "representative"]
    path = write_table(frame[columns], out, format, keep_formulas=keep_formulas)
    click.echo(f"Wrote {len(frame)} turn topics to {path}.")

