"""Static charts of the analyses (matplotlib), as inline SVG for HTML or PNG files for papers.

Every function returns a :class:`matplotlib.figure.Figure` and never shows it; the report
turns it into SVG text (:func:`figure_svg`) or a PNG file (:func:`save_png`).
"""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: never open a window, never need a display

import matplotlib.pyplot as plt
import networkx as nx
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ..files import atomic_path
from .webs import CENTRE, LEGEND, balance_colour, top_interactants, web_layout

GOOD_COLOUR = "#1a9850"
EVIL_COLOUR = "#d73027"
LOCUS_COLOURS = {"share_self": "#7b3294", "share_other": "#008837", "share_situation": "#0571b0"}
KIND_MARKERS = {"person": "o", "named person": "o", "place": "s", "object": "D"}
plt.rcParams.update({"svg.fonttype": "none", "font.size": 9, "axes.spines.top": False,
                     "axes.spines.right": False, "font.family": "sans-serif"})


def figure_svg(figure: Figure) -> str:
    """The figure as an inline ``<svg>`` element (text kept as text, no external fonts)."""
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight")
    plt.close(figure)
    svg = buffer.getvalue()
    # The XML prolog and doctype are not allowed inside HTML; the <svg> element is.
    return svg[svg.index("<svg"):]


def save_png(figure: Figure, path: str | Path, *, dpi: int = 150) -> Path:
    """Write the figure to a PNG file and close it."""
    return save_figure(figure, path, format="png", dpi=dpi)


def save_figure(figure: Figure, path: str | Path, *, format: str = "svg", dpi: int = 150) -> Path:
    """Write the figure to an SVG or PNG file (atomically: never half a file) and close it."""
    with atomic_path(path) as temporary:
        figure.savefig(temporary, format=format, dpi=dpi, bbox_inches="tight")
    plt.close(figure)
    return Path(path)


def heatmap(matrix: pd.DataFrame, *, title: str, value_format: str = "{:.0f}",
            colour_map: str = "Blues", colour_label: str = "",
            shade_diagonal: bool = True) -> Figure:
    """A matrix as a heatmap with its values written in the cells.

    With ``shade_diagonal`` false, a square matrix's diagonal is written but not coloured,
    so that it does not swamp the colour scale (a code co-occurs most with itself).
    """
    rows, columns = matrix.shape
    figure, axes = plt.subplots(figsize=(max(4.0, 0.45 * columns + 2.5), max(2.5, 0.35 * rows + 1.5)))
    values = matrix.to_numpy(dtype=float)
    coloured = values.copy()
    if not shade_diagonal and rows == columns:
        np.fill_diagonal(coloured, np.nan)
        axes.set_facecolor("#eeeeee")
    image = axes.imshow(np.ma.masked_invalid(coloured), cmap=colour_map, aspect="auto")
    axes.set_xticks(range(columns), [str(c) for c in matrix.columns], rotation=60, ha="right")
    axes.set_yticks(range(rows), [str(r) for r in matrix.index])
    finite = coloured[np.isfinite(coloured)]
    high = finite.max() if finite.size else 0
    if rows * columns <= 400:
        for i in range(rows):
            for j in range(columns):
                if np.isfinite(values[i, j]) and values[i, j] != 0:
                    dark = np.isfinite(coloured[i, j]) and coloured[i, j] > 0.6 * high
                    axes.text(j, i, value_format.format(values[i, j]), ha="center", va="center",
                              fontsize=7, color="white" if dark else "black",
                              fontweight="normal" if np.isfinite(coloured[i, j]) else "bold")
    axes.set_title(title)
    axes.spines[:].set_visible(False)
    colourbar = figure.colorbar(image, ax=axes, shrink=0.8)
    colourbar.set_label(colour_label)
    return figure


def grouped_bars(matrix: pd.DataFrame, *, title: str, xlabel: str) -> Figure:
    """Horizontal bars: one group of bars per row (code), one bar per column (role, wave)."""
    rows, columns = matrix.shape
    figure, axes = plt.subplots(figsize=(7, max(2.5, 0.28 * rows * max(columns, 1) ** 0.5 + 1.2)))
    height = 0.8 / max(columns, 1)
    positions = np.arange(rows)
    colours = plt.colormaps["tab10"]
    for index, column in enumerate(matrix.columns):
        axes.barh(positions + index * height - 0.4 + height / 2, matrix[column].to_numpy(dtype=float),
                  height=height, label=str(column), color=colours(index % 10))
    axes.set_yticks(positions, [str(r) for r in matrix.index])
    axes.invert_yaxis()
    axes.set_xlabel(xlabel)
    axes.set_title(title)
    if columns > 1:
        axes.legend(title=matrix.columns.name, fontsize=8, frameon=False, loc="upper left",
                    bbox_to_anchor=(1.01, 1.0))
    return figure


def balance_bars(balance: pd.DataFrame, *, label: str, title: str) -> Figure:
    """Goods to the right, evils to the left, one bar pair per group."""
    frame = balance.sort_values(label, key=lambda s: s.astype(str))
    labels = frame[label].astype(str).to_numpy()
    count = len(frame)
    figure, axes = plt.subplots(figsize=(7, max(2.0, 0.25 * len(frame) + 1.2)),
                                layout="constrained")
    positions = np.arange(len(frame))
    axes.barh(positions, frame["goods"], color=GOOD_COLOUR, label="goods (trust, hope, "
              "connection, empowerment)")
    axes.barh(positions, -frame["evils"], color=EVIL_COLOUR, label="evils (mistrust, "
              "hopelessness, isolation, disempowerment, stigma)")
    axes.axvline(0, color="black", linewidth=0.8)
    axes.spines["left"].set_visible(False)
    axes.tick_params(axis="y", length=0)
    axes.set_yticks(positions, labels)
    axes.set_ylim(count - 0.5, -0.5)
    limit = max(float(frame["goods"].max() or 0), float(frame["evils"].max() or 0), 1.0)
    axes.set_xlim(-limit * 1.1, limit * 1.1)
    axes.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{abs(v):g}"))
    axes.set_xlabel("coded turns carrying a relational evil (left) or good (right)")
    axes.set_title(title)
    figure.legend(fontsize=7, frameon=False, loc="outside lower center", ncol=1)
    return figure


def sos_bars(profile: pd.DataFrame, *, label: str, title: str) -> Figure:
    """Stacked shares of self, other and situation per group, with the index written beside."""
    frame = profile[profile["locus_turns"] > 0].sort_values(label, key=lambda s: s.astype(str))
    figure, axes = plt.subplots(figsize=(7, max(2.0, 0.25 * len(frame) + 1.2)),
                                layout="constrained")
    positions = np.arange(len(frame))
    left = np.zeros(len(frame))
    for column, colour in LOCUS_COLOURS.items():
        values = frame[column].fillna(0).to_numpy()
        axes.barh(positions, values, left=left, color=colour,
                  label=column.removeprefix("share_"))
        left += values
    for position, (index, turns) in enumerate(zip(frame["individualisation"], frame["locus_turns"])):
        axes.text(1.02, position, f"{index:.2f} (n={turns})", va="center", fontsize=7)
    axes.set_yticks(positions, frame[label].astype(str).to_numpy())
    axes.set_ylim(len(frame) - 0.5, -0.5)
    axes.set_xlim(0, 1)
    axes.set_xlabel("share of locus codes   (right: individualisation index, locus-coded turns)")
    axes.set_title(title)
    figure.legend(fontsize=8, frameon=False, ncol=3, loc="outside lower center")
    return figure


def web_figure(graph: nx.Graph, *, top: int = 12, title: str | None = None,
               size: float = 2.6) -> Figure:
    """A relational web: the centre, its top interactants, edges as thick as their weight."""
    graph = top_interactants(graph, top)
    positions = web_layout(graph)
    figure, axes = plt.subplots(figsize=(size * 1.6, size))
    weights = [graph.edges[edge]["weight"] for edge in graph.edges]
    widest = max(weights, default=1) or 1
    for (a, b), weight in zip(graph.edges, weights):
        (x0, y0), (x1, y1) = positions[a], positions[b]
        axes.plot([x0, x1], [y0, y1], color=graph.edges[a, b]["colour"],
                  linewidth=0.8 + 5.0 * weight / widest, zorder=1, alpha=0.85)
    for node, data in graph.nodes(data=True):
        x, y = positions[node]
        if node == CENTRE:
            axes.scatter([x], [y], s=420, color=data["colour"], edgecolors="black", zorder=2)
            axes.text(x, y, data["label"], ha="center", va="center", fontsize=8.5,
                      fontweight="bold", zorder=3)
            continue
        axes.scatter([x], [y], s=40 + 25 * np.sqrt(data["mentions"]), color=data["colour"],
                     marker=KIND_MARKERS.get(data["kind"], "o"), edgecolors="#333333", zorder=2)
        # Owner on a second line, and text clipped to the axes, so that every web is drawn
        # at the same scale however long its labels.
        label = data["label"].replace(" (", "\n(")
        axes.text(x * 1.18, y * 1.18, f"{label} ({data['mentions']})", fontsize=8.5,
                  ha="left" if x > 0.2 else "right" if x < -0.2 else "center",
                  va="bottom" if y > 0.2 else "top" if y < -0.2 else "center", zorder=3,
                  clip_on=True)
    axes.set_xlim(-2.45, 2.45)
    axes.set_ylim(-1.5, 1.5)
    axes.set_aspect("equal")
    axes.axis("off")
    if len(graph) == 1:
        axes.text(0, -0.6, "no interactants mentioned", ha="center", fontsize=8, color="#666666")
    else:  # what the colours of the lines mean
        from matplotlib.lines import Line2D

        axes.legend(handles=[Line2D([], [], color=balance_colour(value), linewidth=3,
                                    label=label.split(" (")[0].split(":")[0])
                             for label, value in LEGEND],
                    loc="lower center", bbox_to_anchor=(0.5, -0.16), ncol=2, fontsize=5.5,
                    frameon=False)
    if title:
        axes.set_title(title, fontsize=9)
    return figure


def size_bars(frame: pd.DataFrame, *, label: str, value: str, title: str, xlabel: str) -> Figure:
    """Simple horizontal bars of one value per label (topic sizes, interactant mentions)."""
    figure, axes = plt.subplots(figsize=(7, max(2.0, 0.25 * len(frame) + 1.0)))
    positions = np.arange(len(frame))
    axes.barh(positions, frame[value].to_numpy(dtype=float), color="#4c72b0")
    axes.set_yticks(positions, [str(v)[:60] for v in frame[label]])
    axes.invert_yaxis()
    axes.set_xlabel(xlabel)
    axes.set_title(title)
    return figure


def reliability(calibration: dict, *, title: str) -> Figure:
    """A reliability diagram: per probability bin, the share of turns that had the code.

    ``calibration`` is :func:`reltext.learning.training.calibration`'s report. Points on the diagonal
    are probabilities that mean what they say; a point's area follows its bin's size.
    """
    bins = calibration.get("bins", [])
    figure, axes = plt.subplots(figsize=(4.2, 4.0))
    axes.plot([0, 1], [0, 1], linestyle="--", color="#999999", linewidth=1,
              label="probability = rate")
    if bins:
        sizes = np.array([row["n"] for row in bins], dtype=float)
        axes.plot([row["mean_probability"] for row in bins], [row["rate"] for row in bins],
                  color="#2166ac", linewidth=1)
        axes.scatter([row["mean_probability"] for row in bins], [row["rate"] for row in bins],
                     s=20 + 280 * np.sqrt(sizes / sizes.max()), color="#2166ac", alpha=0.8,
                     zorder=3, label="turn-code pairs in a bin")
        for row in bins:
            axes.annotate(f"{row['n']:,}", (row["mean_probability"], row["rate"]),
                          textcoords="offset points", xytext=(6, -10), fontsize=7)
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1)
    axes.set_xlabel("mean probability in the bin")
    axes.set_ylabel("share of turns with the code")
    summary = (f"ECE {calibration['ece']:.3f}, Brier {calibration['brier']:.4f}"
               if calibration.get("probabilities") else "no probabilities")
    axes.set_title(f"{title}\n{summary}", fontsize=9)
    axes.legend(loc="upper left", fontsize=7, frameon=False)
    return figure
