"""The Codes page: every segment of a code as quotes, by case, filtered and exported.

The viewer's face of :mod:`reltext.analysis.segments` (``reltext segments`` is the other): pick a
code, narrow by role, wave, site, coder, review state or any other attribute, read the
counts by case and the quotes, each a link to its turn in context, and download them as
CSV or as a Word document.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

import streamlit as st

from ..analysis.segments import STATES, attribution, by_case, marked, segments, segments_docx
from ..exchange.spreadsheet import csv_bytes
from ..review import decisions as review
from .markup import md, name_html
from .pages import Session

if TYPE_CHECKING:
    from ..store.database import Store

FILTERS = ("role", "wave", "site", "coder", "status")
MAX_QUOTES = 200
# Attributes that are no filter: text, offsets, and what the table shows anyway.
_NOT_ATTRIBUTES = {"code", "quote", "context", "transcript_id", "turn_id", "speaker",
                   "start_char", "end_char", "link", "reviewer", "codes", "codings",
                   *FILTERS}


def render_codes(store: Store, session: Session, *, title: str = "Codes") -> None:
    """The quotes of one code across the corpus, with counts by case and downloads."""
    st.header(title)
    keys = review.code_keys(store)
    if not keys:
        st.info("No codes yet: code the transcripts ('reltext code'), or code turns on the "
                "Transcript page.")
        return
    code = st.selectbox("Code", keys, key="codes_code")
    states = st.multiselect("Review state", list(STATES), key="codes_states",
                            help="Rejected codings are left out unless asked for.")
    frame = segments(store, code, states=states or None)
    if session.blind:  # only the auto-codes and one's own, and no one else's decisions
        frame = frame[~frame["coder"].str.startswith("human:")
                      | frame["coder"].eq(review.reviewer_coder(session.reviewer))]
    columns = st.columns(len(FILTERS) - 1)
    for column, name in zip(columns, [f for f in FILTERS if f != "status"]):
        values = sorted(frame[name].astype(str).unique())
        chosen = column.multiselect(name.capitalize(), values, key=f"codes_{name}")
        if chosen:
            frame = frame[frame[name].astype(str).isin(chosen)]
    other, values_column = st.columns(2)
    attributes = sorted(c for c in frame.columns if c not in _NOT_ATTRIBUTES)
    attribute = other.selectbox("Other attribute", ["(none)", *attributes], key="codes_attr")
    if attribute != "(none)":
        chosen = values_column.multiselect(
            "Values", sorted(frame[attribute].astype(str).unique()), key="codes_attr_values")
        if chosen:
            frame = frame[frame[attribute].astype(str).isin(chosen)]
    left, middle, right = st.columns(3)
    left.metric("Segments", len(frame))
    middle.metric("Cases", frame["participant"].nunique())
    right.metric("Transcripts", frame["transcript_id"].nunique())
    if frame.empty:
        st.info(f"No segments coded {md(code)} here.")
        return
    st.subheader("By case")
    st.dataframe(by_case(frame), hide_index=True, width="stretch")
    st.subheader("Quotes")
    st.caption("Each quote is the sentence the coded words (in bold) are in; 'in context' "
               "opens its turn in the transcript.")
    shown = frame.head(MAX_QUOTES)
    st.html("".join(quote_block(row, blind=session.blind) for row in shown.to_dict("records")))
    if len(frame) > MAX_QUOTES:
        st.caption(f"The first {MAX_QUOTES} of {len(frame)}; the downloads hold them all.")
    exported = frame if not session.blind else frame.drop(columns=["status", "reviewer"])
    csv_column, word_column = st.columns(2)
    csv_column.download_button(
        "Download CSV", file_name=f"segments-{code}.csv", mime="text/csv", key="codes_csv",
        data=lambda: csv_bytes(exported))
    word_column.download_button(
        "Download Word document of quotes", file_name=f"segments-{code}.docx",
        mime="application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        key="codes_docx", data=lambda: segments_docx(exported, code=code))


def quote_block(row: dict, *, blind: bool) -> str:
    """One quote as HTML: the sentence with the coded words in bold, who said it, a link."""
    before, words, after = marked(row)
    said = f"{escape(before)}<b>{escape(words)}</b>{escape(after)}" if before or after \
        else escape(words)
    state = "" if blind else f", {escape(str(row['status']))}"
    return (
        '<div class="reltext-quote" style="border-left:4px solid #bbb;padding:4px 10px;'
        'margin:8px 0">'
        f'<div style="font-size:1.05em">\u201c{said}\u201d</div>'
        f'<div style="color:#666;font-size:0.85em">{name_html(attribution(row))} · '
        f'{name_html(row["coder"])}{state} · '
        f'<a href="{escape(str(row["link"]), quote=True)}" target="_self">in context</a></div>'
        '</div>')
