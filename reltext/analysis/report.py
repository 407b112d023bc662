"""The project report: one self-contained HTML file (or Markdown with PNGs) for a team meeting.

The report gathers the analyses of one coder's effective codings (see
:mod:`reltext.review.effective`): corpus overview, code frequencies by role and wave, co-occurrence,
relational balance, SOS profiles, change between waves, relational webs per participant,
topics when a topic model was fitted, agreement when more than one coder or reviewer took
part, and the codebook. Every figure has a title and one sentence saying how to read it.

HTML has every chart inline as SVG, its CSS in a ``<style>`` element, and no script, font or
image fetched from anywhere. All project text is escaped, since transcripts may hold markup.

Example:
    >>> write_report(project, "report.html")
    >>> write_report(project, "report.md", format="md")   # PNGs beside it, in report_files/
"""

from __future__ import annotations

import html
import itertools
import math
import os
import re
import shutil
import tempfile
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .. import __version__
from ..errors import ReltextError
from ..files import atomic_path, check_folder
from ..model import utc_now
from .balance import EVILS, GOODS, LOCI, own_turns, relational_balance, sos_profile, wave_change
from .cooccurrence import code_by_group, code_cooccurrence, code_frequencies, present_codes

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ..project import Project

REPORT_FORMATS = ("html", "md")
# Past this many transcripts a code-by-transcript heatmap is unreadable: show the busiest.
MAX_TRANSCRIPT_COLUMNS = 40
WEB_INTERACTANTS = 10
# Past this many participants a bar chart is a wall: chart those with the most coded turns.
MAX_CHART_ROWS = 40
Progress = Callable[[Iterable[Any], int, str], Iterable[Any]]


@dataclass
class Block:
    """One item of a section: a figure and/or a table, with the sentence that explains it."""

    caption: str
    title: str = ""
    draw: Callable[[], Figure] | None = None
    table: pd.DataFrame | None = None
    gallery: list[tuple[str, Callable[[], Figure]]] = field(default_factory=list)


@dataclass
class Section:
    title: str
    intro: str = ""
    blocks: list[Block] = field(default_factory=list)

    @property
    def anchor(self) -> str:
        return re.sub(r"[^a-z0-9]+", "-", self.title.lower()).strip("-")


@dataclass
class Report:
    """The report's content, independent of its format."""

    title: str
    subtitle: str
    sections: list[Section]


def build_report(project: Project, *, coder: str | None = None,
                 lexicon: str | Path | None = None, progress: Progress | None = None) -> Report:
    """Gather every analysis of ``coder``'s codings into a :class:`Report`.

    Args:
        project: The project.
        coder: Whose codings; the default coder (see :mod:`reltext.review.effective`) when None.
        lexicon: An interactants lexicon file; the bundled one when None.
        progress: Wraps the interactant extraction, ``progress(items, length, label)``.
    """
    from . import figures

    turns = project.coded_turns(coder)
    coder = turns.attrs["coder"]
    codings = project.effective_codings(coder)
    if turns.empty:
        raise ReltextError(f"{coder} has coded no current turn", path=project.path,
                           fix="Code the transcripts first ('reltext code').")
    codebook = project.codebook()
    codes = present_codes(turns, list(codebook["key"]) if not codebook.empty else
                          list(GOODS + EVILS) + ["agency", "reflexivity", *LOCI])
    mentions = project.interactants(turns, lexicon=lexicon, progress=progress)
    transcripts = project.transcripts()
    sections = [
        _overview(project, transcripts, turns, codings, coder),
        _frequencies(turns, codings, codes, figures),
        _cooccurrence(turns, codes, figures),
        _balance(turns, figures),
        _sos(turns, figures),
        _webs(project, turns, mentions, codings, figures),
    ]
    for optional in (_topics(project, figures), _agreement(project, coder, codes, figures)):
        if optional is not None:
            sections.append(optional)
    sections.append(_codebook(codebook, codes))
    subtitle = (f"{len(transcripts)} transcripts, {len(turns)} coded turns, codings by "
                f"{coder}; made {utc_now():%Y-%m-%d %H:%M} UTC by reltext {__version__} "
                f"from {project.path.name}")
    return Report("Relational analysis report", subtitle, sections)


# -- sections -------------------------------------------------------------------------------

def _overview(project: Project, transcripts: pd.DataFrame, turns: pd.DataFrame,
              codings: pd.DataFrame, coder: str) -> Section:
    roles = turns.groupby("role").agg(turns=("turn_id", "size"),
                                      turns_with_codes=("codes", lambda c: sum(map(bool, c))),
                                      codings=("codings", "sum")).reset_index()
    summary = pd.DataFrame([
        ("transcripts", len(transcripts)),
        ("participants", turns["participant"].nunique()),
        ("waves", turns["wave"].replace("", np.nan).nunique()),
        ("coded turns", len(turns)),
        ("turns with at least one code", int(turns["codes"].map(bool).sum())),
        ("codings (after review decisions)", len(codings)),
        ("auto-codes reviewed", _reviewed(project)),
        ("coder", coder),
    ], columns=["", "value"])
    keep = [c for c in ("transcript_id", "turns", "words", "speakers", "participant_id", "wave",
                        "role", "site") if c in transcripts.columns]
    return Section("Corpus overview", blocks=[
        Block("What the report counts: the turns this coder coded, with rejected codings left "
              "out and corrected ones counted as corrected.", table=summary),
        Block("Coded turns, turns carrying at least one code, and codings per speaker role.",
              title="Turns by role", table=roles),
        Block("The transcripts in the project with their speakers and attributes.",
              title="Transcripts", table=transcripts[keep]),
    ])


def _reviewed(project: Project) -> str:
    """``3 of 85``: auto-codes whose latest decision judges them, as the viewer counts them."""
    from ..review.decisions import corpus_overview

    rows = corpus_overview(project.store, reviewer=None)
    return f"{sum(r['reviewed'] for r in rows)} of {sum(r['codings'] for r in rows)}"


def _frequencies(turns: pd.DataFrame, codings: pd.DataFrame, codes: list[str],
                 figures: Any) -> Section:
    frequencies = code_frequencies(turns, codings, codes=codes)
    by_role = code_by_group(turns, "role", codes=codes, normalise="turns") * 100
    blocks = [
        Block("Per code: codings (the rows of the codings export), coded turns carrying the "
              "code, and their share of all coded turns.", title="Code frequencies",
              table=frequencies.assign(share=frequencies["share"].round(3))),
        Block("How often each code occurs in each role's turns, as a percentage of that role's "
              "coded turns, so roles with more turns are not favoured.",
              title="Codes by role",
              draw=lambda: figures.grouped_bars(by_role, title="Codes by speaker role",
                                                xlabel="% of the role's coded turns")),
    ]
    if turns["wave"].ne("").any():
        by_wave = code_by_group(turns[turns["wave"].ne("")], "wave", codes=codes,
                                normalise="turns") * 100
        blocks.append(Block(
            "How often each code occurs in each wave, as a percentage of the wave's coded turns.",
            title="Codes by wave",
            draw=lambda: figures.grouped_bars(by_wave, title="Codes by wave",
                                              xlabel="% of the wave's coded turns")))
    return Section("Code frequencies", blocks=blocks)


def _cooccurrence(turns: pd.DataFrame, codes: list[str], figures: Any) -> Section:
    counts = code_cooccurrence(turns, codes=codes)
    by_transcript = code_by_group(turns, "transcript", codes=codes, normalise="turns") * 100
    note = ""
    if by_transcript.shape[1] > MAX_TRANSCRIPT_COLUMNS:
        busiest = (code_by_group(turns, "transcript", codes=codes).sum()
                   .sort_values(ascending=False).index[:MAX_TRANSCRIPT_COLUMNS])
        by_transcript = by_transcript[sorted(busiest)]
        note = f" Only the {MAX_TRANSCRIPT_COLUMNS} transcripts with the most codes are shown."
    return Section("Co-occurrence", blocks=[
        Block("Turns carrying both codes (the diagonal: turns carrying the code); codes that "
              "often share a turn are read together.", title="Code co-occurrence",
              draw=lambda: figures.heatmap(counts, title="Code co-occurrence (turns)",
                                           colour_label="turns (off the diagonal)",
                                           shade_diagonal=False)),
        Block("The percentage of each transcript's coded turns that carry each code; a column "
              "is one interview's profile." + note, title="Codes by transcript",
              draw=lambda: figures.heatmap(by_transcript, title="Codes by transcript",
                                           colour_map="Purples",
                                           colour_label="% of the transcript's coded turns")),
    ])


def _balance(turns: pd.DataFrame, figures: Any) -> Section:
    by_role = relational_balance(turns, "role")
    by_participant = relational_balance(turns, "participant")  # their own turns only
    columns = ["turns", "goods", "evils", "balance"]
    blocks = [
        Block("Relational goods (trust, hope, connection, empowerment) against evils (mistrust, "
              "hopelessness, isolation, disempowerment, stigma) in each role's turns.",
              title="Balance by role",
              draw=lambda: figures.balance_bars(by_role, label="role",
                                                title="Relational goods and evils by role"),
              table=_rounded(by_role[["role", *columns]])),
        Block("The same balance for each participant's own turns; balance runs from -1 (only "
              "evils) to +1 (only goods)." + _capped_note(by_participant),
              title="Balance by participant",
              draw=lambda: figures.balance_bars(
                  _busiest(by_participant, by_participant["goods"] + by_participant["evils"]),
                  label="participant", title="Relational goods and evils by participant"),
              table=_rounded(by_participant[["participant", *columns]])),
    ]
    _no_own_turns(blocks[-1], by_participant)
    if turns["wave"].ne("").any():
        by_wave = relational_balance(turns[turns["wave"].ne("")], "wave")
        blocks.append(Block("Goods against evils in each wave of interviews.",
                            title="Balance by wave", table=_rounded(by_wave[["wave", *columns]])))
    return Section("Relational balance", blocks=blocks)


def _sos(turns: pd.DataFrame, figures: Any) -> Section:
    by_role = sos_profile(turns, "role")
    by_participant = sos_profile(turns, "participant")  # their own turns only
    columns = ["locus_turns", "share_self", "share_other", "share_situation", "individualisation"]
    blocks = [
        Block("Where each role's turns locate difficulty and change: in the self, in a key "
              "other or in the situation (the SOS model); the number beside each bar is the "
              "individualisation index, the share of locus-coded turns locating it in the self.",
              title="SOS profile by role",
              draw=lambda: figures.sos_bars(by_role, label="role", title="SOS profile by role"),
              table=_rounded(by_role[["role", *columns]])),
        Block("The SOS profile of each participant's own turns; an index near 1 is an "
              "individualised account, lower values spread it across others and the situation."
              + _capped_note(by_participant), title="SOS profile by participant",
              draw=lambda: figures.sos_bars(
                  _busiest(by_participant, by_participant["locus_turns"]),
                  label="participant", title="SOS profile by participant"),
              table=_rounded(by_participant[["participant", *columns]])),
    ]
    _no_own_turns(blocks[-1], by_participant)
    change = wave_change(turns)
    if not change.empty:
        blocks.append(Block("Change from each participant's first to last wave: a positive "
                            "balance change is a shift toward relational goods, a negative "
                            "individualisation change a less individualised account.",
                            title="Change between waves", table=_rounded(change)))
    elif turns["wave"].ne("").any():
        blocks.append(Block("No participant was interviewed in more than one wave, so change "
                            "between waves cannot be measured.", title="Change between waves"))
    return Section("SOS profiles", blocks=blocks)


def _webs(project: Project, turns: pd.DataFrame, mentions: pd.DataFrame,
          codings: pd.DataFrame, figures: Any) -> Section:
    from .webs import relational_web

    participants = sorted(set(own_turns(turns)["participant"]))
    gallery = []
    for participant in participants:
        graph = relational_web(turns, mentions, group="participant", value=participant,
                               codings=codings)
        gallery.append((_web_caption(graph, "own turns"), _web_drawer(figures, graph)))
    overall = mentions[mentions["is_participant"]]
    table = pd.DataFrame(columns=["kind", "interactant", "turns", "participants"])
    if not overall.empty:
        table = (overall.groupby(["kind", "interactant"])
                 .agg(turns=("turn_id", lambda s: len(set(zip(overall.loc[s.index, "transcript_id"], s)))),
                      participants=("participant", "nunique"))
                 .reset_index().sort_values(["turns", "interactant"], ascending=[False, True])
                 .head(25))
    roles = sorted(set(turns["role"]))
    role_gallery = []
    for role in roles:
        graph = relational_web(turns, mentions, group="role", value=role, own_turns_only=False,
                               codings=codings)
        role_gallery.append((_web_caption(graph, "turns"), _web_drawer(figures, graph)))
    return Section("Relational webs", intro=(
        "Each web puts a participant at the centre and the people, places and objects their own "
        "turns mention around them (circles people, squares places, diamonds objects); a line "
        "is thicker the more codes co-occur with the interactant, and coloured by the codes "
        "of the sentences that mention it, from red (relational evils) through yellow (as "
        "many of each) to green (relational goods), grey where neither is coded there (see "
        "the legend under each web); the number is the turns mentioning it. Up to "
        f"{WEB_INTERACTANTS} interactants per web."), blocks=[
        Block("The interactants mentioned in the most participant turns across the corpus.",
              title="Most mentioned interactants", table=table),
        Block("One web per speaker role, all transcripts together.", title="Webs by role",
              gallery=role_gallery),
        Block("One web per participant.", title="Webs by participant", gallery=gallery),
    ])


def _web_caption(graph: Any, counted: str) -> str:
    centre = graph.nodes["centre"]
    balance = centre["balance"]
    shown = "no goods or evils" if math.isnan(balance) else f"balance {balance:+.2f}"
    return (f"{graph.graph['value']}: {graph.graph['turns']} {counted}, "
            f"{len(graph) - 1} interactants, {shown}")


def _web_drawer(figures: Any, graph: Any) -> Callable[[], Figure]:
    return lambda: figures.web_figure(graph, top=WEB_INTERACTANTS)


def _topics(project: Project, figures: Any) -> Section | None:
    topics = project.topics_table()
    if topics is None or topics.empty:
        return None
    if "topic_id" in topics:
        topics = topics[topics["topic_id"].astype(str) != "-1"]  # BERTopic's outliers
    if "size" in topics:
        topics = topics.sort_values("size", ascending=False)
    top = topics.head(15)
    keep = [c for c in ("topic_id", "size", "label", "words") if c in top.columns]
    label = "label" if "label" in top else keep[0]
    block = Block("The largest topics of the fitted topic model, with their most typical words.",
                  title="Top topics", table=top[keep])
    if "size" in top:
        block.draw = lambda: figures.size_bars(top, label=label, value="size", title="Topic sizes",
                                               xlabel="turns assigned")
    return Section("Topics", blocks=[block])


def _agreement(project: Project, coder: str, codes: list[str], figures: Any) -> Section | None:
    reviewers = project.reviewers()
    blocks = []
    # Every code some rater used, not only those left in this coder's reviewed codings.
    from ..review.decisions import code_keys

    codes = list(dict.fromkeys([*codes, *code_keys(project.store)]))
    kappas = agreement_table(project, codes)
    if not kappas.empty:
        kappas["pair"] = kappas["pair"] + " (" + kappas["turns"].astype(str) + " turns)"
        pivot = kappas.pivot(index="code", columns="pair", values="kappa").reindex(
            [*codes, "macro"])[list(dict.fromkeys(kappas["pair"]))]
        pivot = pivot[pivot.notna().any(axis=1)]  # codes no pair could score are left out
        blocks.append(Block(
            "Cohen's kappa per code between each pair of raters over the turns both coded, as "
            "on the viewer's Agreement page (1 is perfect agreement, 0 chance level; empty "
            "where a code never occurs). An auto-coder is scored on its own codes, never "
            "with the review decisions applied; a reviewer's codes are the auto-codes they "
            "accepted or corrected and the codes they added.",
            title="Agreement between coders",
            table=_rounded(pivot).reset_index().rename_axis(columns=None),
            draw=lambda: figures.heatmap(pivot, title="Cohen's kappa per code",
                                         value_format="{:.2f}", colour_map="Greens",
                                         colour_label="kappa")))
    if not reviewers.empty:
        blocks.append(Block("Review decisions per reviewer: the latest decision on each coding "
                            "counts.", title="Review decisions", table=reviewers))
    return Section("Agreement and review", blocks=blocks) if blocks else None


def agreement_table(project: Project, codes: list[str]) -> pd.DataFrame:
    """Cohen's kappa per code and macro for every pair of raters, on the turns both coded.

    The pairs and figures of :func:`reltext.review.decisions.agreement` (the viewer's): each
    auto-coder's own codes against each reviewer and imported human coder, and the people
    with each other.

    Returns:
        Rows ``pair, code, turns, kappa``; kappa is NaN where it is undefined (a code
        neither rater used on these turns).
    """
    from ..review.decisions import agreement

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # undefined kappas are NaN here, and say so
        rows = pd.DataFrame(agreement(project.store, codes=codes))
    if rows.empty:
        return pd.DataFrame(columns=["pair", "code", "turns", "kappa"])
    rows["pair"] = rows["first"] + " vs " + rows["second"]
    result = []
    for pair, group in rows.groupby("pair", sort=False):
        turns = int(group["turns"].max())
        result.extend({"pair": pair, "code": row.code, "turns": turns, "kappa": row.kappa}
                      for row in group.itertuples())
        finite = group["kappa"].dropna()
        result.append({"pair": pair, "code": "macro", "turns": turns,
                       "kappa": float(finite.mean()) if len(finite) else float("nan")})
    return pd.DataFrame(result, columns=["pair", "code", "turns", "kappa"])


def _codebook(codebook: pd.DataFrame, codes: list[str]) -> Section:
    if not codebook.empty:
        keep = [c for c in ("key", "name", "family", "polarity", "definition") if c in codebook]
        title = f"{codebook['codebook'].iloc[0]} {codebook['version'].iloc[0]}"
        return Section("Codebook", blocks=[Block(
            f"The codes of the codebook {title}, with their definitions.",
            table=codebook[keep])])
    groups = {**{c: "relational good" for c in GOODS}, **{c: "relational evil" for c in EVILS},
              **{c: "SOS locus" for c in LOCI}}
    table = pd.DataFrame({"key": codes, "counted as": [groups.get(c, "") for c in codes]})
    return Section("Codebook", blocks=[Block(
        "No codebook is loaded in this project, so only the codes found are listed, with the "
        "group each counts in.", table=table)])


def _no_own_turns(block: Block, by_participant: pd.DataFrame) -> None:
    """Say so, instead of drawing, where no turn is known to be a participant's own."""
    if by_participant.empty:
        block.draw = block.table = None
        block.caption = ("No coded turn is known to be a participant's own (a client's, a "
                         "respondent's...): give the transcripts a role in a manifest.")


def _busiest(frame: pd.DataFrame, weight: pd.Series) -> pd.DataFrame:
    """The :data:`MAX_CHART_ROWS` rows with the largest ``weight`` (all when fewer)."""
    return frame.loc[weight.sort_values(ascending=False, kind="stable").index[:MAX_CHART_ROWS]]


def _capped_note(frame: pd.DataFrame) -> str:
    if len(frame) <= MAX_CHART_ROWS:
        return ""
    return (f" The chart shows the {MAX_CHART_ROWS} participants with the most coded turns "
            f"of this kind; the table has all {len(frame)}.")


def _rounded(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.round(3)


# -- rendering ------------------------------------------------------------------------------

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;
 margin:0;color:#222;background:#fafafa;line-height:1.45}
header{background:#23395d;color:#fff;padding:1.2em 2em}header h1{margin:0 0 .2em}
header p{margin:0;opacity:.85}
nav{background:#fff;border-bottom:1px solid #ddd;padding:.5em 2em;position:sticky;top:0}
nav a{margin-right:1.2em;color:#23395d;text-decoration:none;font-size:.95em}
main{max-width:1100px;margin:0 auto;padding:1em 2em 3em}
section{background:#fff;border:1px solid #e3e3e3;border-radius:6px;padding:1em 1.5em;margin:1.2em 0}
h2{color:#23395d;margin-top:.2em}h3{margin-bottom:.2em}
p.caption{color:#555;margin:.2em 0 .6em;font-size:.93em}
figure{margin:.5em 0}figure svg{max-width:100%;height:auto}
.gallery svg{width:100%}
.gallery{display:flex;flex-wrap:wrap;gap:.5em}
.gallery figure{width:32%;min-width:240px;border:1px solid #eee;border-radius:4px;margin:0}
.gallery figcaption{text-align:center;font-size:.85em;color:#444}
.scroll{max-height:420px;overflow:auto}
table{border-collapse:collapse;font-size:.85em;margin:.4em 0}
th,td{border-bottom:1px solid #e6e6e6;padding:.25em .6em;text-align:left;vertical-align:top}
th{background:#f2f4f8;position:sticky;top:0}td.num{text-align:right;font-variant-numeric:tabular-nums}
"""


def render_html(report: Report) -> str:
    """The report as one HTML document with its charts inline (SVG) and nothing external."""
    from .figures import figure_svg

    esc = html.escape
    nav = "".join(f'<a href="#{s.anchor}">{esc(s.title)}</a>' for s in report.sections)
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             '<meta name="viewport" content="width=device-width, initial-scale=1">',
             f"<title>{esc(report.title)}</title><style>{_CSS}</style></head><body>",
             f"<header><h1>{esc(report.title)}</h1><p>{esc(report.subtitle)}</p></header>",
             f"<nav>{nav}</nav><main>"]
    for section in report.sections:
        parts.append(f'<section id="{section.anchor}"><h2>{esc(section.title)}</h2>')
        if section.intro:
            parts.append(f"<p>{esc(section.intro)}</p>")
        for block in section.blocks:
            if block.title:
                parts.append(f"<h3>{esc(block.title)}</h3>")
            parts.append(f'<p class="caption">{esc(block.caption)}</p>')
            if block.draw is not None:
                parts.append(f"<figure>{figure_svg(block.draw())}</figure>")
            if block.gallery:
                parts.append('<div class="gallery">')
                for label, draw in block.gallery:
                    parts.append(f"<figure>{figure_svg(draw())}"
                                 f"<figcaption>{esc(str(label))}</figcaption></figure>")
                parts.append("</div>")
            if block.table is not None:
                parts.append(f'<div class="scroll">{_html_table(block.table)}</div>')
        parts.append("</section>")
    parts.append("</main></body></html>")
    return "\n".join(parts)


def _html_table(frame: pd.DataFrame) -> str:
    esc = html.escape
    head = "".join(f"<th>{esc(str(c))}</th>" for c in frame.columns)
    rows = []
    for record in frame.itertuples(index=False):
        cells = []
        for value in record:
            numeric = isinstance(value, int | float | np.number) and not isinstance(value, bool)
            cells.append(f'<td class="num">{esc(_cell(value))}</td>' if numeric
                         else f"<td>{esc(_cell(value))}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float | np.floating):
        return f"{value:.3f}".rstrip("0").rstrip(".") if value != int(value) else f"{value:.0f}"
    return str(value)


def render_markdown(report: Report, folder: Path, prefix: str) -> str:
    """The report as Markdown, its charts written as PNGs into ``folder``."""
    from .figures import save_png

    lines = [f"# {report.title}", "", report.subtitle, ""]
    counter = itertools.count(1)

    def image(draw: Callable[[], Figure], alt: str) -> str:
        name = f"figure-{next(counter):03d}.png"
        save_png(draw(), folder / name)
        return f"![{_md_text(alt)}]({prefix}/{name})"

    for section in report.sections:
        lines += [f"## {section.title}", ""]
        if section.intro:
            lines += [_md_text(section.intro), ""]
        for block in section.blocks:
            if block.title:
                lines += [f"### {_md_text(block.title)}", ""]
            lines += [f"*{_md_text(block.caption)}*", ""]
            if block.draw is not None:
                lines += [image(block.draw, block.title or section.title), ""]
            for label, draw in block.gallery:
                lines += [f"**{_md_text(str(label))}**", "", image(draw, str(label)), ""]
            if block.table is not None:
                lines += [_md_table(block.table), ""]
    return "\n".join(lines)


def _md_text(text: str) -> str:
    # Markdown renders inline HTML: escape it, and the characters that would start markup.
    return re.sub(r"([\\`*_\[\]|])", r"\\\1", html.escape(text, quote=False))


def _md_table(frame: pd.DataFrame) -> str:
    header = "| " + " | ".join(_md_text(str(c)) or " " for c in frame.columns) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    rows = ["| " + " | ".join(_md_text(_cell(v)).replace("\n", " ") for v in record) + " |"
            for record in frame.itertuples(index=False)]
    return "\n".join([header, rule, *rows])


def write_report(project: Project, out: str | Path, *, format: str | None = None,
                 coder: str | None = None, lexicon: str | Path | None = None,
                 progress: Progress | None = None) -> Path:
    """Build the report and write it to ``out`` atomically.

    Args:
        project: The project.
        out: The file to write (``.html`` or ``.md``).
        format: ``html`` or ``md``; from the suffix of ``out`` when None (html otherwise).
            Markdown puts its PNGs in a folder ``<name>_files`` beside the file.
        coder: Whose codings; see :func:`build_report`.
        lexicon: An interactants lexicon file; the bundled one when None.
        progress: Wraps the interactant extraction; see :func:`build_report`.

    Raises:
        ReltextError: an unknown format, a missing folder, or nothing to report.
    """
    out = Path(out)
    format = format or ("md" if out.suffix.lower() in (".md", ".markdown") else "html")
    if format not in REPORT_FORMATS:
        raise ReltextError(f"unknown report format {format!r}",
                           fix=f"Use one of: {', '.join(REPORT_FORMATS)}.")
    folder = check_folder(out, fix="Create it first, or write the report elsewhere.")
    report = build_report(project, coder=coder, lexicon=lexicon, progress=progress)
    if format == "html":
        with atomic_path(out) as temporary:
            temporary.write_text(render_html(report), encoding="utf-8")
        return out
    images = folder / f"{out.stem}_files"
    staging = Path(tempfile.mkdtemp(dir=folder, prefix=f".{out.stem}_files."))
    try:
        # The PNGs go into a private temporary folder first; it becomes <name>_files only
        # once every figure is drawn, just before the Markdown file itself is replaced.
        markdown = render_markdown(report, staging, images.name)
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(staging, 0o777 & ~mask)
        with atomic_path(out) as temporary:
            temporary.write_text(markdown, encoding="utf-8")
            if images.exists():
                shutil.rmtree(images)
            os.replace(staging, images)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return out
