"""Topics as tables and plots: the topics of a run, each turn's topic, topics by group.

Every function returns a pandas DataFrame (or a figure made from one), so the command line,
the viewer and the report show the same numbers.

Example:
    >>> frame = topic_distribution(store, by="role")
    >>> plot_topic_distribution(frame, title="Topics by role").savefig("by-role.svg")
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

from ..errors import ReltextError
from ..store.database import Store
from .fitting import OUTLIER_TOPIC, find_run

TOPIC_COLUMNS = ["topic_id", "size", "label", "words"]
TURN_TOPIC_COLUMNS = ["transcript_id", "turn_id", "topic_id", "probability"]
# Attributes that are not metadata but columns of the turn itself.
_TURN_FIELDS = ("speaker", "role", "transcript_id")


def topics_frame(store: Store, run_id: str | None = None) -> pd.DataFrame:
    """One row per topic of a run (the latest by default).

    Columns: the contract's ``topic_id, size, label, words`` (the words joined by ``", "``),
    then ``coherence`` and ``run_id``.
    """
    run = find_run(store, run_id)
    with store.read() as conn:
        topics = store.list_topics(conn, run["pk"])
    rows = [{"topic_id": topic["topic_id"], "size": topic["size"], "label": topic["label"],
             "words": ", ".join(word for word, _ in topic["words"]),
             "coherence": topic["coherence"], "run_id": run["run_id"]} for topic in topics]
    return pd.DataFrame(rows, columns=TOPIC_COLUMNS + ["coherence", "run_id"])


def turn_topics_frame(store: Store, run_id: str | None = None) -> pd.DataFrame:
    """One row per modelled unit (a turn, or a sentence with ``--unit sentence``), in order.

    Columns: the contract's ``transcript_id, turn_id, topic_id, probability``, then
    ``start_char, end_char`` (the unit in the turn's text), ``representative`` (rank among
    its topic's best examples, else empty), ``speaker, role, text`` and ``turn_pk``.
    Turns of transcript versions that have since been replaced are left out.
    """
    run = find_run(store, run_id)
    extra = ["start_char", "end_char", "representative", "speaker", "role", "text", "turn_pk"]
    with store.read() as conn:
        rows = [{column: item[column] for column in TURN_TOPIC_COLUMNS + extra}
                for item in store.iter_topic_assignments(conn, run["pk"]) if item["is_current"]]
    frame = pd.DataFrame(rows, columns=TURN_TOPIC_COLUMNS + extra)
    return frame.astype({"representative": "Int64"})


def representative_units(
    store: Store, topic_id: int, run_id: str | None = None
) -> pd.DataFrame:
    """The units that best show a topic (nearest its centre), best first."""
    frame = turn_topics_frame(store, run_id)
    chosen = frame[(frame["topic_id"] == topic_id) & frame["representative"].notna()]
    return chosen.sort_values("representative").reset_index(drop=True)


def _group_values(store: Store, run_pk: int, by: str) -> list[dict[str, Any]]:
    rows = []
    with store.read() as conn:
        for item in store.iter_topic_assignments(conn, run_pk):
            if not item["is_current"]:
                continue
            if by in _TURN_FIELDS:
                value = item[by]
            else:
                value = item["turn_meta"].get(by, item["transcript_meta"].get(by))
            rows.append({"group": None if value is None else str(value),
                         "topic_id": item["topic_id"]})
    return rows


def topic_distribution(
    store: Store, by: str = "role", *, run_id: str | None = None, share: bool = True,
    include_outliers: bool = False,
) -> pd.DataFrame:
    """How a run's topics spread over the groups of an attribute (role, site, wave, ...).

    BERTopic's per-class view, read from the stored assignments, so nothing is refitted.
    Over time is the same table by ``wave`` (or any dated attribute): groups are ordered
    naturally, so wave 2 comes before wave 10.

    Args:
        store: The project.
        by: ``role``, ``speaker``, ``transcript_id``, or a turn or transcript attribute.
        run_id: The topics run; the latest when None.
        share: Each group's row as shares of its units (summing to 1), else unit counts.
        include_outliers: Keep HDBSCAN's outlier topic (-1) as a column.

    Returns:
        One row per group (index ``by``), one column per topic label, plus ``units``.

    Raises:
        ReltextError: no modelled turn has the attribute ``by``.
    """
    run = find_run(store, run_id)
    rows = _group_values(store, run["pk"], by)
    frame = pd.DataFrame(rows, columns=["group", "topic_id"]).dropna(subset=["group"])
    if frame.empty:
        raise ReltextError(f"no modelled turn has the attribute {by!r}", path=store.path,
                           fix="Group by role, speaker, transcript_id or an attribute your "
                               "turns or manifest give (site, wave, ...).")
    if not include_outliers:
        frame = frame[frame["topic_id"] != OUTLIER_TOPIC]
    with store.read() as conn:
        labels = {topic["topic_id"]: f"{topic['topic_id']}: {topic['label']}"
                  for topic in store.list_topics(conn, run["pk"])}
    counts = pd.crosstab(frame["group"], frame["topic_id"])
    counts = counts.reindex(sorted(counts.index, key=_natural_key))
    units = counts.sum(axis=1)
    table = counts.div(units.where(units > 0, 1), axis=0) if share else counts
    table = table.rename(columns=labels)
    table.columns.name = None
    table.index.name = by
    table["units"] = units
    return table


def _natural_key(value: str) -> list[Any]:
    return [(0, int(part), "") if part.isdigit() else (1, 0, part)
            for part in re.split(r"(\d+)", str(value)) if part]


def plot_topic_distribution(frame: pd.DataFrame, *, title: str = "Topics by group",
                            top: int = 12) -> Any:
    """A matplotlib figure of :func:`topic_distribution` shares: one stacked bar per group.

    The ``top`` largest topics get their own colour; the rest are drawn as "other topics".
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shares = frame.drop(columns=["units"])
    order = (shares.mul(frame["units"], axis=0)).sum().sort_values(ascending=False).index
    kept = list(order[:top])
    shown = shares[kept].copy()
    if len(order) > top:
        shown["other topics"] = shares[list(order[top:])].sum(axis=1)
    figure, axes = plt.subplots(figsize=(10, max(3.5, 1.2 + 0.45 * len(shown))))
    left = pd.Series(0.0, index=shown.index)
    colours = plt.get_cmap("tab20").colors
    for index, column in enumerate(shown.columns):
        colour = "#bbbbbb" if column == "other topics" else colours[index % len(colours)]
        axes.barh([str(g) for g in shown.index], shown[column], left=left, color=colour,
                  label=column)
        left += shown[column]
    axes.invert_yaxis()
    axes.set_xlim(0, 1)
    axes.set_xlabel("share of the group's modelled units")
    axes.set_ylabel(frame.index.name or "")
    axes.set_title(title)
    axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8, frameon=False)
    figure.tight_layout()
    return figure


def plotly_topic_distribution(frame: pd.DataFrame, *, title: str = "Topics by group") -> Any:
    """The same stacked bars as :func:`plot_topic_distribution`, as a plotly figure."""
    import plotly.graph_objects as go

    shares = frame.drop(columns=["units"])
    figure = go.Figure()
    for column in shares.columns:
        figure.add_trace(go.Bar(name=column, y=[str(g) for g in shares.index], x=shares[column],
                                orientation="h"))
    figure.update_layout(barmode="stack", title=title, xaxis_title="share of units",
                         yaxis_title=frame.index.name or "", yaxis_autorange="reversed")
    return figure
