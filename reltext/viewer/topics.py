"""The Topics page: the latest topic model's themes and the turns that show each best."""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

import plotly.express as px
import streamlit as st

from ..topics import fitting
from ..topics.views import topics_frame, turn_topics_frame
from .markup import transcript_link
from .pages import Session, project_version

if TYPE_CHECKING:
    from ..store.database import Store


def has_topics(store: Store) -> bool:
    """Whether the project holds a fitted topic model (the page is listed only then)."""
    return fitting.has_topics(store)


@st.cache_data(max_entries=4, show_spinner=False)
def _cached_topics(version: tuple[str, int, int], run_count: int, _store: Store):
    return topics_frame(_store), turn_topics_frame(_store)


def render_topics(store: Store, session: Session, *, title: str = "Topics") -> None:
    """Topics of the latest ``reltext topics`` run: sizes, words, representative turns."""
    st.header(title)
    runs = len(fitting.topic_runs(store))
    topics, turns = _cached_topics(project_version(store), runs, store)
    st.caption(f"Run {topics['run_id'].iloc[0]}: {len(topics)} topics over {len(turns)} units.")
    # Labels are words of the turns: escaped, since plotly reads a little HTML in text.
    plotted = topics.astype({"topic_id": str, "label": str, "words": str})
    plotted = plotted.assign(label=plotted["label"].map(escape),
                             words=plotted["words"].map(escape))
    figure = px.bar(plotted, x="size", y="label", orientation="h",
                    hover_data=["words"], title="Turns per topic")
    figure.update_layout(yaxis={"categoryorder": "total ascending"})
    st.plotly_chart(figure, width="stretch")
    st.dataframe(topics.drop(columns=["run_id"]), hide_index=True, width="stretch")
    labels = {f"{row.topic_id}: {row.label}": row.topic_id for row in topics.itertuples()}
    chosen = labels[st.selectbox("Topic", list(labels), key="topics_topic")]
    examples = turns[(turns["topic_id"] == chosen) & turns["representative"].notna()]
    examples = examples.sort_values("representative")[
        ["transcript_id", "turn_id", "speaker", "probability", "text"]].copy()
    examples.insert(0, "open", examples["transcript_id"].map(transcript_link))
    st.write("The turns that show this topic best:")
    st.dataframe(examples, hide_index=True, width="stretch", column_config={
        "open": st.column_config.LinkColumn("open", display_text="read", width="small")})
