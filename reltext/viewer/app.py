"""The viewer's layout: who reviews, which page, and the project opened once per session.

``reltext view`` runs this through ``app/streamlit_app.py``; settings come from the
environment it sets: ``RELTEXT_DB`` (the project), ``RELTEXT_REVIEWER`` (the reviewer's
name, else ``?reviewer=`` in the address, the browser's storage, or asked for at the start)
and ``RELTEXT_BLIND`` (``1``: blind mode).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING

import streamlit as st

# Absolute imports: an installed reltext without the app/ folder runs this file as the script.
from reltext.errors import ReltextError
from reltext.files import resolve_db_path
from reltext.project import Project
from reltext.review.decisions import check_reviewer
from reltext.viewer import analysis, browser, codes, pages, topics
from reltext.viewer.markup import md

if TYPE_CHECKING:
    from reltext.store.database import Store


def available_pages(store: Store) -> dict[str, Callable[..., None]]:
    """The pages in the order they are listed; Topics once a topic model has been fitted."""
    listed: dict[str, Callable[..., None]] = {
        "Corpus": pages.render_corpus,
        "Transcript": pages.render_transcript,
        "Review": pages.render_review,
        "Codes": codes.render_codes,
        "Agreement": pages.render_agreement,
        "Analysis": analysis.render_analysis,
    }
    if topics.has_topics(store):
        listed["Topics"] = topics.render_topics
    listed["Export"] = pages.render_export
    return listed


def session_store() -> Store:
    """The project, opened once per browser session (SQLite connections stay per session)."""
    path = str(resolve_db_path(os.environ.get("RELTEXT_DB")))
    if st.session_state.get("store_path") != path:
        st.session_state["store"] = Project(path, create=False).store
        st.session_state["store_path"] = path
    return st.session_state["store"]


def choose_reviewer() -> str | None:
    """The reviewer's name: from ``--reviewer``, else ``?reviewer=`` in the address or the
    browser's storage, else asked for; then kept in both, so a reload keeps it."""
    fixed = os.environ.get("RELTEXT_REVIEWER")
    if "reviewer" not in st.session_state:
        given = fixed or st.query_params.get("reviewer")
        if given:
            try:
                st.session_state["reviewer"] = check_reviewer(given)
            except ReltextError as error:
                st.error(md(error))
    if "reviewer" in st.session_state:
        reviewer = st.session_state["reviewer"]
        if not fixed:
            if st.query_params.get("reviewer") != reviewer:
                st.query_params["reviewer"] = reviewer
            browser.remembered_reviewer(reviewer)
        return reviewer
    remembered = browser.remembered_reviewer(None)
    if remembered:
        try:
            st.session_state["reviewer"] = check_reviewer(remembered)
            st.rerun()
        except ReltextError:
            pass  # a name kept from elsewhere that is no longer usable: ask
    st.title("reltext review")
    with st.form("reviewer_form"):
        name = st.text_input("Your name as a reviewer (it signs every decision you make)")
        if st.form_submit_button("Start reviewing"):
            try:
                st.session_state["reviewer"] = check_reviewer(name)
            except ReltextError as error:
                st.error(md(error))
                return None
            st.rerun()
    return None


def main() -> None:
    st.set_page_config(page_title="reltext review", layout="wide")
    try:
        store = session_store()
    except ReltextError as error:
        st.error(md(error))
        st.stop()
    reviewer = choose_reviewer()
    if reviewer is None:
        st.stop()
    blind = os.environ.get("RELTEXT_BLIND") == "1"
    session = pages.Session(reviewer=reviewer, blind=blind)
    listed = available_pages(store)
    # ?transcript=ID opens that transcript, whatever page was shown before.
    if "transcript" in st.query_params and "page" not in st.session_state:
        st.session_state["page"] = "Transcript"
    with st.sidebar:
        st.markdown(f"**{md(reviewer)}**" + (" · blind mode" if blind else ""))
        page = st.radio("Page", list(listed), key="page")
        st.caption(f"Project: {md(store.path)}")
    if page != "Transcript":
        for name in ("transcript", "turn"):
            if name in st.query_params:
                del st.query_params[name]
    # Streamlit forgets a widget's value on a run that does not draw it; set again, these
    # choices outlast a visit to another page.
    for key in pages.KEPT_CHOICES:
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]
    browser.keys_ready()
    listed[page](store, session)
    # After the page is drawn, so the first page does not wait on it.
    analysis.warm(store)


if __name__ == "__main__":
    main()
