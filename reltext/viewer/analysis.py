"""The Analysis page: goods and evils, SOS profiles, co-occurrence and relational webs.

Plots (plotly) over the analyses of :mod:`reltext.analysis.balance`, :mod:`reltext.analysis.cooccurrence`
and :mod:`reltext.analysis.webs`, read through the effective codings (review decisions applied).
"""

from __future__ import annotations

import importlib
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st
from sqlalchemy.exc import SQLAlchemyError

from ..analysis.balance import relational_balance, sos_profile
from ..analysis.cooccurrence import code_cooccurrence
from ..errors import ReltextError
from ..project import Project
from ..review.effective import (CodedTurns, TurnTable, coded_turns_version, default_coder,
                                read_turns)
from ..review.effective import coders as effective_coders
from . import web_worker
from .markup import md
from .pages import Session, project_version

if TYPE_CHECKING:
    from ..store.database import Store

GROUPINGS = ("role", "wave", "participant", "speaker", "transcript_id", "site")
# The widgets inside the Analysis tabs.
TAB_CHOICES = ("analysis_balance_by", "analysis_sos_by", "analysis_normalise",
               "analysis_participant")


def _turns_version(store: Store, coder: str) -> tuple[str, tuple, int]:
    return coded_turns_version(store, coder)


# The first analysis in a server process reads every coded turn with its metadata (about
# half a second on 50,000 turns). `reltext view` reads it before it serves, and a reading
# starts again after a coding run (see warm and _watch), so it is usually done before anyone
# opens this page; the page waits for it otherwise. A reading serves one version of the
# transcripts and of the coder's codings; after a decision it only counts again the codes of
# the turns touched.
_readings: dict[tuple, Future[CodedTurns]] = {}
_readings_lock = threading.Lock()
_reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="reltext-reading")
_warmed: set[str] = set()
_watchers: dict[str, threading.Thread] = {}  # project path -> its watcher (see _watch)


def _start_reading(version: tuple[str, tuple], coder: str, store: Store) -> Future[CodedTurns]:
    """The reading of the coder's coded turns at ``version``: the one under way or done,
    else a new one in the background."""
    key = (version, coder)
    with _readings_lock:
        future = _readings.get(key)
        if future is None:
            while len(_readings) >= 2:  # keep the newest two versions
                del _readings[next(iter(_readings))]
            future = _readings[key] = _reader.submit(_read, version, coder, store)
    return future


# The last turn table read, by project and transcripts: a coding run leaves it as it was, so
# the reading after one only reads the codings. Only the reader thread uses it.
_turn_table: dict[str, tuple[Any, TurnTable]] = {}


def _read(version: tuple[str, tuple], coder: str, store: Store) -> CodedTurns:
    path, transcripts = version[0], version[1][0]
    kept = _turn_table.get(path)
    if kept is None or kept[0] != transcripts:
        kept = _turn_table[path] = (transcripts, read_turns(store))
    return CodedTurns.read(store, coder, kept[1])


def _reading(version: tuple[str, tuple], coder: str, store: Store) -> CodedTurns:
    """The coder's coded turns at ``version``, read once (in the background or now)."""
    key = (version, coder)
    future = _start_reading(version, coder, store)
    try:
        return future.result()
    except BaseException:
        with _readings_lock:  # a failed reading is tried again next time
            if _readings.get(key) is future:
                del _readings[key]
        raise


def forget_readings() -> None:
    """Drop every reading, as a newly started server has none."""
    with _readings_lock:
        _readings.clear()
        _warmed.clear()
    _reader.submit(_turn_table.clear).result()


def warm(store: Store) -> None:
    """Once per project and server process, start reading the default coder's coded turns
    in the background, the worker processes that find interactants for webs, and the
    watcher that reads a coding run's codings once it has written them (see _watch).

    Called on every run of the app: after the first, it only looks up a set."""
    with _readings_lock:
        if str(store.path) in _warmed:
            return
        _warmed.add(str(store.path))
    try:
        coder = default_coder(store)
    except ReltextError:
        coder = version = None  # nothing coded yet: nothing to read
    if coder is not None:
        version = _turns_version(store, coder)[:2]
        _start_reading(version, coder, store)
    with _readings_lock:
        watching = _watchers.get(str(store.path))
        if watching is None or not watching.is_alive():
            watching = _watchers[str(store.path)] = threading.Thread(
                target=_watch, args=(str(store.path), (version, coder)), daemon=True,
                name="reltext-watch")
            watching.start()
    web_worker.start()
    _reader.submit(_prepare_webs)


# How often the viewer looks for a coding run's new codings (one small query).
WATCH_SECONDS = 3.0


def _watch(path: str, started: tuple) -> None:
    """Start reading a coding run's codings once they have stopped changing, so that the
    next Analysis view finds them read, whether or not anyone clicked meanwhile.

    ``started`` is the (version, coder) whose reading is already under way. Only new
    versions are read: one dropped to make room for another coder's is left to the page.
    """
    try:
        store = Project(path, create=False).store
    except ReltextError:
        return
    seen = started
    while Path(path).exists():  # a project deleted is no longer watched
        time.sleep(WATCH_SECONDS)
        try:
            coder = default_coder(store)
            now = (_turns_version(store, coder)[:2], coder)
        except (ReltextError, SQLAlchemyError):
            continue  # nothing coded yet, or the project busy: look again later
        # Unchanged since the last look, so not a run still writing: worth reading.
        if now == seen and now != started:
            try:
                _start_reading(*now, store)
            except RuntimeError:
                return  # the interpreter is shutting down: no more readings
            started = now
        seen = now


def settle() -> None:
    """Wait for the background work started so far (the reader runs it in order)."""
    _reader.submit(lambda: None).result()


def _prepare_webs() -> None:
    """What the first web would otherwise wait for here: networkx, and plotly's scatter
    traces (each loaded on first use, a quarter of a second or so)."""
    importlib.import_module("reltext.analysis.webs")
    go.Figure(go.Scatter(x=[0], y=[0], mode="markers+text", text=[""]))


# Resources, not data: the table is large and only read, so it is shared rather than copied
# on every run; the small tables made from it are cached as data.
@st.cache_resource(max_entries=2, show_spinner="Reading the coded turns…")
def _cached_turns(version: tuple[str, tuple, int], coder: str, _store: Store) -> pd.DataFrame:
    return _reading(version[:2], coder, _store).update(_store).table()


@st.cache_data(max_entries=32, show_spinner=False)
def _cached_table(version: tuple[str, tuple, int], coder: str, kind: str, option: str,
                  _turns: pd.DataFrame) -> pd.DataFrame:
    if kind == "balance":
        return relational_balance(_turns, option)
    if kind == "sos":
        return sos_profile(_turns, option)
    return code_cooccurrence(_turns, normalise=option)


@st.cache_data(max_entries=16, show_spinner="Finding the participant's interactants…")
def _cached_web(version: tuple[str, int, int], coder: str, participant: str,
                _project: Project, _turns: pd.DataFrame) -> dict:
    return _project.web_elements(participant, group="participant", coder=coder, turns=_turns,
                                 extract=web_worker.extract)


def render_analysis(store: Store, session: Session, *, title: str = "Analysis") -> None:
    """The relational analyses of one coder's codings, with the team's decisions applied."""
    st.header(title)
    try:
        default = default_coder(store)
    except ReltextError as error:
        st.info(md(error))
        return
    coders = effective_coders(store)
    coder = st.selectbox("Codings of", coders, index=coders.index(default), key="analysis_coder")
    st.caption("Rejected codes are left out and corrected ones count as corrected, whoever "
               "reviewed them.")
    version = _turns_version(store, coder)
    turns = _cached_turns(version, coder, store)
    groupings = [name for name in GROUPINGS if name in turns.columns]
    # Only the open tab is drawn: each holds a plot, and the web runs spaCy. Streamlit
    # forgets a widget's choice on a run that does not draw it: carried over here, the
    # choices of the tabs not open stay as the reader left them.
    for key in TAB_CHOICES:
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]
    balance_tab, sos_tab, cooccurrence_tab, web_tab = st.tabs(
        ["Goods and evils", "SOS profiles", "Co-occurrence", "Relational web"],
        key="analysis_view", on_change="rerun")
    if balance_tab.open:
        with balance_tab:
            _render_balance(version, coder, turns, groupings)
    if sos_tab.open:
        with sos_tab:
            _render_sos(version, coder, turns, groupings)
    if cooccurrence_tab.open:
        with cooccurrence_tab:
            _render_cooccurrence(version, coder, turns)
    if web_tab.open:
        with web_tab:
            _render_web(store, turns, coder)


def _render_balance(version: tuple, coder: str, turns: pd.DataFrame,
                    groupings: list[str]) -> None:
    by = st.selectbox("Group by", groupings, key="analysis_balance_by")
    balance = _cached_table(version, coder, "balance", by, turns)
    figure = px.bar(_escaped(balance, by), x=by, y="balance", range_y=[-1, 1],
                    hover_data=["goods", "evils", "turns"],
                    title="Balance of relational goods and evils: (goods − evils) / both")
    st.plotly_chart(figure, width="stretch")
    st.dataframe(balance, hide_index=True, width="stretch")


def _render_sos(version: tuple, coder: str, turns: pd.DataFrame, groupings: list[str]) -> None:
    by = st.selectbox("Group by", groupings, key="analysis_sos_by")
    profile = _cached_table(version, coder, "sos", by, turns).astype({by: str})
    shares = _escaped(profile, by).melt(id_vars=[by], value_vars=["share_self", "share_other",
                                                    "share_situation"],
                          var_name="locus", value_name="share")
    st.plotly_chart(px.bar(shares, x=by, y="share", color="locus",
                           title="Where accounts locate difficulty: Self, Other, Situation"),
                    width="stretch")
    st.dataframe(profile, hide_index=True, width="stretch")


def _render_cooccurrence(version: tuple, coder: str, turns: pd.DataFrame) -> None:
    normalise = st.radio("Cells", ["count", "jaccard"], horizontal=True,
                         key="analysis_normalise")
    matrix = _cached_table(version, coder, "cooccurrence", normalise, turns)
    if matrix.empty:
        st.write("No codes on these turns yet.")
    else:
        matrix = matrix.rename(index=escape, columns=escape)  # code names, for plotly
        st.plotly_chart(px.imshow(matrix, text_auto=".2f" if normalise == "jaccard" else True,
                                  color_continuous_scale="Blues",
                                  title="Codes on the same turn"), width="stretch")


def _escaped(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    """``frame`` with ``column`` as escaped text: plotly reads a little HTML in labels."""
    return frame.assign(**{column: frame[column].astype(str).map(escape)})


def _render_web(store: Store, turns: pd.DataFrame, coder: str) -> None:
    from ..analysis.webs import LEGEND, balance_colour  # networkx: loaded once a web is asked for

    if "participant" not in turns.columns:
        st.write("Webs are drawn per participant: give transcripts a participant in the "
                 "manifest.")
        return
    participants = sorted(turns["participant"].dropna().astype(str).unique())
    participant = st.selectbox("Participant", participants, key="analysis_participant")
    if "project" not in st.session_state or st.session_state["project"].path != store.path:
        st.session_state["project"] = Project(store.path, create=False)
    try:
        elements = _cached_web(project_version(store), coder, participant,
                               st.session_state["project"],
                               turns[turns["participant"].astype(str) == participant])
    except ReltextError as error:  # e.g. none of the participant's own turns is coded
        st.info(md(error))
        return
    figure = go.Figure()
    for edge in elements["edges"]:
        figure.add_trace(go.Scatter(x=[edge["x0"], edge["x1"]], y=[edge["y0"], edge["y1"]],
                                    mode="lines", hoverinfo="skip", showlegend=False,
                                    line={"color": edge["colour"],
                                          "width": 1 + 2 * edge.get("weight", 1) ** 0.5}))
    nodes = elements["nodes"]
    # Labels come from the transcripts: escaped, since plotly reads a little HTML in text.
    figure.add_trace(go.Scatter(
        x=[n["x"] for n in nodes], y=[n["y"] for n in nodes], mode="markers+text",
        text=[escape(str(n.get("label", n["id"]))) for n in nodes], textposition="top center",
        marker={"size": [n["size"] for n in nodes], "color": [n["colour"] for n in nodes],
                "line": {"width": 1, "color": "#333"}},
        hovertext=[escape(f"{n.get('label', n['id'])}: {n.get('mentions', 0)} mention(s), "
                          f"{n.get('goods', 0)} goods, {n.get('evils', 0)} evils")
                   for n in nodes],
        hoverinfo="text", showlegend=False))
    edges = elements["edges"]
    # Hover on the middle of a line: the codes behind it and the sentences that say them.
    figure.add_trace(go.Scatter(
        x=[(e["x0"] + e["x1"]) / 2 for e in edges], y=[(e["y0"] + e["y1"]) / 2 for e in edges],
        mode="markers", marker={"size": 10, "color": [e["colour"] for e in edges],
                                "symbol": "diamond-wide", "opacity": 0.6},
        hovertext=[escape(f"{e.get('codes') or 'no codes'}\n{e.get('quotes', '')}")
                   .replace("\n", "<br>") for e in edges],
        hoverinfo="text", showlegend=False))
    for label, balance in LEGEND:  # what the colours mean
        figure.add_trace(go.Scatter(x=[None], y=[None], mode="lines", name=label,
                                    line={"color": balance_colour(balance), "width": 4}))
    figure.update_layout(title=f"Relational web of {escape(participant)}", height=600,
                         xaxis={"visible": False}, yaxis={"visible": False},
                         legend={"orientation": "h", "y": -0.05})
    st.plotly_chart(figure, width="stretch")
    st.caption("A line's colour comes from the codes of the sentences that mention the "
               "interactant; hover the middle of a line for them and the quotes.")
    if edges:
        st.dataframe(pd.DataFrame([{"interactant": e["target"].split(":", 1)[-1],
                                    "codes": e.get("codes", ""), "goods": e.get("goods", 0),
                                    "evils": e.get("evils", 0), "quotes": e.get("quotes", "")}
                                   for e in edges]), hide_index=True, width="stretch")
