"""The viewer's pages, one ``render_*`` function each, over :mod:`reltext.review.decisions`.

Every function takes the open :class:`~reltext.store.database.Store` and the :class:`Session`
(who reviews, blind or not); text from the project reaches the page escaped, through
:mod:`reltext.viewer.markup`, or as plain Streamlit text.
"""

from __future__ import annotations

import math
import tempfile
import warnings
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import plotly.express as px
import streamlit as st

from ..corpus import transcripts
from ..errors import ReltextError
from ..exchange.refi import write_qdpx
from ..exchange.spreadsheet import csv_bytes
from ..exchange.tables import CODING_COLUMNS, count_codings
from ..learning import questions as active_learning, training
from ..model import Answer, ReviewEntry, Verdict
from ..review import decisions as review
from ..review.effective import REVIEW_COLUMNS, codings_with_review
from .manual import coding_palette
from .markup import (code_chip, highlighted, md, name_html, previous_turn, transcript_link,
                     turn_blocks)

if TYPE_CHECKING:
    from ..store.database import Store

PAGE_SIZE = 50
# The Review page's two queues, and how many of the learned coder's questions it lists.
CHECK_CODES = "Auto-codes to check"
ASK_MODEL = "Questions from the learned coder"
QUESTIONS = 200
# Choices kept while the reviewer visits other pages.
KEPT_CHOICES = ("review_mode",)
# Transcript attributes offered as filters on the Corpus page, when the project has them.
FILTER_ATTRIBUTES = ("role", "wave", "site")


@dataclass(frozen=True, slots=True)
class Session:
    """Who is reviewing in this browser session, and whether others' decisions are hidden."""

    reviewer: str
    blind: bool


def project_version(store: Store) -> tuple[str, int, int]:
    """What the cached answers below depend on: the project and its newest codings/decisions."""
    return review.project_version(store)


# Cached per project version: arguments starting with "_" are not part of the cache key.
@st.cache_data(max_entries=8, show_spinner=False)
def _cached_codebook(version: tuple[str, int, int], _store: Store) -> dict[str, dict[str, Any]]:
    return review.codebook(_store)


@st.cache_data(max_entries=8, show_spinner=False)
def _cached_raters(version: tuple[str, int, int], blind_reviewer: str | None,
                   _store: Store) -> list[review.Rater]:
    return review.raters(_store, blind_reviewer=blind_reviewer)


@st.cache_data(max_entries=16, show_spinner=False)
def _cached_pair(version: tuple[str, int, int], first: review.Rater, second: review.Rater,
                 _store: Store) -> review.PairAgreement:
    return review.compare(_store, first, second)


def _table_height(rows: int, *, most: int = 40) -> int:
    """Pixels for a table showing up to ``most`` rows without an inner scroll bar."""
    return 35 * (min(rows, most) + 1) + 3


def _codebook(store: Store) -> dict[str, dict[str, Any]]:
    return _cached_codebook(project_version(store), store)


def _colours(codebook: dict[str, dict[str, Any]]) -> dict[str, str]:
    return {key: info["colour"] for key, info in codebook.items()}


def _definitions(codebook: dict[str, dict[str, Any]], codes: list[str]) -> None:
    """The codebook entries of ``codes`` in an expander: one click from any code on the page."""
    with st.expander("Codebook definitions"):
        for code in codes:
            info = codebook.get(code, {})
            definition = info.get("definition") or "No definition in the project's codebook."
            st.html(f'{code_chip(code, _colours(codebook))} {escape(info.get("name") or code)}'
                    f'<div style="margin:2px 0 8px 0;color:#444">{escape(definition)}</div>')


# -- Corpus ------------------------------------------------------------------------------


def render_corpus(store: Store, session: Session, *, title: str = "Corpus") -> None:
    """Transcripts with their attributes, turn and coding counts and review progress."""
    st.header(title)
    rows = review.corpus_overview(store, reviewer=session.reviewer)
    if not rows:
        st.info("The project has no transcripts yet: run `reltext ingest PATH` first.")
        return
    frame = pd.DataFrame([{"transcript_id": row["transcript_id"],
                           **{key: row["meta"].get(key) for key in FILTER_ATTRIBUTES},
                           "turns": row["turns"], "auto-codes": row["codings"],
                           "reviewed by you": row["reviewed"]} for row in rows])
    present = [key for key in FILTER_ATTRIBUTES if frame[key].notna().any()]
    frame = frame.drop(columns=[key for key in FILTER_ATTRIBUTES if key not in present])
    columns = st.columns(max(len(present), 1))
    for column, key in zip(columns, present):
        values = sorted(frame[key].dropna().astype(str).unique())
        chosen = column.multiselect(key.capitalize(), values, key=f"corpus_{key}")
        if chosen:
            frame = frame[frame[key].astype(str).isin(chosen)]
    frame["progress"] = [100 * r / c if c else 100.0 for r, c in
                         zip(frame["reviewed by you"], frame["auto-codes"])]
    frame.insert(1, "open", frame["transcript_id"].map(transcript_link))
    total, done = int(frame["auto-codes"].sum()), int(frame["reviewed by you"].sum())
    left, middle, right = st.columns(3)
    left.metric("Transcripts", len(frame))
    middle.metric("Turns", int(frame["turns"].sum()))
    right.metric("Auto-codes reviewed by you", f"{done} of {total}")
    st.dataframe(
        frame, hide_index=True, width="stretch", height=_table_height(len(frame), most=20),
        column_config={
            "open": st.column_config.LinkColumn("open", display_text="read", width="small"),
            "progress": st.column_config.ProgressColumn("review progress", min_value=0.0,
                                                        max_value=100.0, format="%.0f%%"),
        },
    )


# -- Transcript reader -------------------------------------------------------------------


def render_transcript(store: Store, session: Session, *, title: str = "Transcript") -> None:
    """One transcript, a page of turns at a time, its coded spans in their codes' colours."""
    st.header(title)
    transcript_ids = transcripts.transcript_ids(store)
    if not transcript_ids:
        st.info("The project has no transcripts yet: run `reltext ingest PATH` first.")
        return
    wanted = st.query_params.get("transcript")
    if wanted not in transcript_ids:
        wanted = transcript_ids[0]
    transcript_id = st.selectbox("Transcript", transcript_ids,
                                 index=transcript_ids.index(wanted), key="reader_transcript")
    st.query_params["transcript"] = transcript_id
    codebook = _codebook(store)
    speakers = transcripts.speakers(store, transcript_id)
    coders = review.coder_names(store, people=not session.blind)
    coders += [review.reviewer_coder(rater.name) for rater in _cached_raters(
        project_version(store), session.reviewer if session.blind else None, store)
        if rater.kind == "reviewer"]
    code_column, coder_column, speaker_column = st.columns(3)
    codes = code_column.multiselect("Codes", list(codebook), key="reader_codes")
    chosen_coders = coder_column.multiselect("Coders", sorted(set(coders)), key="reader_coders")
    speaker = speaker_column.selectbox("Speaker", ["everyone", *speakers], key="reader_speaker")
    speaker = None if speaker == "everyone" else speaker
    total = speakers.get(speaker, 0) if speaker else sum(speakers.values())
    pages = max(1, math.ceil(total / PAGE_SIZE))
    focus = _linked_turn(store, transcript_id, speaker)
    page = st.number_input(f"Page (of {pages}, {PAGE_SIZE} turns each)", min_value=1,
                           max_value=pages, value=1, step=1, key=f"reader_page_{transcript_id}")
    turns = review.transcript_page(
        store, transcript_id, reviewer=session.reviewer, blind=session.blind,
        page=int(page) - 1, page_size=PAGE_SIZE, speaker=speaker,
        codes=set(codes) or None, coders=set(chosen_coders) or None,
    )
    used = sorted({c["code"] for turn in turns for c in turn["codings"]})
    _definitions(codebook, used or list(codebook))
    st.caption("Hover a highlighted span for its code, confidence, coder, evidence and "
               "decisions (✓ accepted, ✗ rejected, ✎ corrected). To code: select words of a "
               "turn (or click its speaker for the whole turn), type the code, Enter, a memo "
               "if you like, Enter; click one of your own codes to change or remove it.")
    message, undo_column = st.columns([3, 2])
    # Messages are Markdown made safe where they are written (md).
    if text := st.session_state.pop("reader_message", None) or \
            st.session_state.pop("review_message", None):
        message.success(text)
    with undo_column:
        _undo(store, session)
    st.html(turn_blocks(turns, _colours(codebook)))
    coding_palette(store, session.reviewer, transcript_id, codebook, focus_turn=focus)


def _linked_turn(store: Store, transcript_id: str, speaker: str | None) -> str | None:
    """The turn a link asked for (``?turn=ID``): its page is shown, once, and it is marked."""
    turn_id = st.query_params.get("turn")
    if turn_id is None:
        return None
    if st.session_state.get("reader_linked") != (transcript_id, turn_id):
        st.session_state["reader_linked"] = (transcript_id, turn_id)
        position = transcripts.turn_position(store, transcript_id, turn_id)
        if position is not None and speaker is None:
            st.session_state[f"reader_page_{transcript_id}"] = position // PAGE_SIZE + 1
    return turn_id


# -- Review ------------------------------------------------------------------------------


def _decision_id(slot: str) -> str:
    """The id of the decision this form will send; made once per drawing of the form."""
    key = f"decision_id_{slot}"
    if key not in st.session_state:
        st.session_state[key] = review.new_decision_id()
    return st.session_state[key]


def _sent(slot: str, message: str) -> None:
    st.session_state.pop(f"decision_id_{slot}", None)
    st.session_state["review_message"] = message
    st.rerun()


def render_review(store: Store, session: Session, *, title: str = "Review") -> None:
    """The review queue: accept, reject, correct, add a missed code, memo, undo."""
    st.header(title)
    if message := st.session_state.pop("review_message", None):
        st.success(message)
    codebook = _codebook(store)
    known = list(codebook)
    filter_code, filter_transcript, undo_column = st.columns([2, 2, 3])
    code = filter_code.selectbox("Code", ["all codes", *known], key="review_code")
    transcript_ids = transcripts.transcript_ids(store)
    transcript = filter_transcript.selectbox("Transcript", ["all transcripts", *transcript_ids],
                                             key="review_transcript")
    code = None if code == "all codes" else code
    transcript = None if transcript == "all transcripts" else transcript
    model_id = _newest_model(store)
    if model_id is not None and st.radio(
            "What to review", [CHECK_CODES, ASK_MODEL], horizontal=True,
            key="review_mode") == ASK_MODEL:
        with undo_column:
            _undo(store, session)
        _question(store, session, codebook, model_id, code=code, transcript=transcript)
        return
    with undo_column:
        _undo(store, session)
    remaining = review.queue_size(store, session.reviewer, code=code, transcript_id=transcript)
    skip = st.session_state.get("review_skip", 0)
    if skip >= remaining:
        skip = st.session_state["review_skip"] = 0
    items = review.review_queue(store, session.reviewer, limit=1, offset=skip, code=code,
                                transcript_id=transcript)
    st.caption(f"{remaining} auto-code(s) waiting for {md(session.reviewer)}"
               + (f", {skip} skipped" if skip else ""))
    if not items:
        st.info("Nothing left to review here. Pick another code or transcript, or code "
                "turns yourself on the Transcript page: select words, pick a code.")
        return
    _review_item(store, session, items[0], codebook)


def _newest_model(store: Store) -> str | None:
    return training.newest_model_id(store)


@st.cache_data(max_entries=8, show_spinner="Asking the learned coder which turns it is unsure of…")
def _cached_questions(version: tuple[str, int, int], model_id: str, code: str | None,
                      _store: Store) -> pd.DataFrame:
    # Answers are left out when the page is drawn, so one answer does not recompute this.
    return active_learning.review_queue(_store, n=QUESTIONS, code=code, model_id=model_id)


def _question(store: Store, session: Session, codebook: dict[str, dict[str, Any]],
              model_id: str, *, code: str | None, transcript: str | None) -> None:
    """One question of the learned coder: does this code apply to this turn?"""
    queue = _cached_questions(project_version(store), model_id, code, store)
    answered = active_learning.answered(store)
    open_rows = [row for row in queue.itertuples(index=False)
                 if (row.turn_pk, row.code) not in answered
                 and (transcript is None or row.transcript_id == transcript)]
    skip = st.session_state.get("question_skip", 0)
    if skip >= len(open_rows):
        skip = st.session_state["question_skip"] = 0
    st.caption(f"{len(open_rows)} question(s) from model {md(model_id)} for "
               f"{md(session.reviewer)}"
               + (f", {skip} skipped" if skip else "") + ": turns nobody has labelled for a "
               "code whose probability is nearest the code's threshold, and turns where human "
               "coders disagree. Each answer is a label for the next `reltext train`.")
    if not open_rows:
        if code is not None and code not in _learned_codes(store, model_id):
            st.info(f"Model {md(model_id)} has no classifier for {md(code)}: too few turns "
                    "were coded "
                    "with it. Add it where it applies (Transcript page, or Add a missed code) "
                    "and train again.")
        else:
            st.info("No questions left here. Train again (reltext train) to ask about more "
                    "turns.")
        return
    item = open_rows[skip]
    colours = _colours(codebook)
    turn = transcripts.turn(store, item.turn_pk)
    previous = transcripts.turn_before(store, item.transcript_id, turn["position"])
    before = previous_turn(previous) if previous else ""
    chance = ("" if pd.isna(item.probability) else
              f" · probability {item.probability:.2f} (threshold {item.threshold:.2f})")
    st.html(
        f'{before}<div style="font-size:0.9em;color:#555">{name_html(item.transcript_id)} · '
        f'turn {name_html(str(item.turn_id))} · <b>{name_html(item.speaker)}</b></div>'
        f'<div style="font-size:1.15em;line-height:1.7;margin:6px 0 10px 0">'
        f'{escape(item.text)}</div>'
        f'<div>Does {code_chip(item.code, colours)} apply to this turn?{chance}'
        f' · {escape(item.reason)}</div>')
    st.link_button("Open in the transcript", transcript_link(item.transcript_id))
    _definitions(codebook, [item.code])
    applies, not_applies, skip_column = st.columns(3)
    for column, label, key, value, shortcut in (
            (applies, "Applies", "question_yes", True, "A"),
            (not_applies, "Does not apply", "question_no", False, "X")):
        if column.button(label, key=key, shortcut=shortcut, width="stretch",
                         type="primary" if value else "secondary"):
            active_learning.answer(
                store, session.reviewer, item.transcript_id, str(item.turn_id), item.code,
                applies=value, model_id=model_id,
                probability=None if pd.isna(item.probability) else float(item.probability),
                answer_id=_decision_id("answer"), known_codes=list(codebook))
            _sent("answer", f"{md(item.code)} {'applies' if value else 'does not apply'} to "
                            f"{md(item.transcript_id)}/{md(item.turn_id)}.")
    if skip_column.button("Skip", key="question_skip_button", shortcut="S", width="stretch"):
        st.session_state["question_skip"] = skip + 1
        st.rerun()
    st.caption("Keys: A applies · X does not apply · S skip · U undo.")


def _learned_codes(store: Store, model_id: str) -> set[str]:
    return training.learned_codes(store, model_id)


def _undo(store: Store, session: Session) -> None:
    """One undo for the reviewer's decisions and answers: their latest still standing."""
    last = review.last_undoable(store, session.reviewer)
    label = "Undo my last decision or answer" if last is None else f"Undo: {_act(last)}"
    if st.button(label, key="review_undo", shortcut="U", disabled=last is None):
        done = review.undo_last(store, session.reviewer, undo_id=_decision_id("undo"))
        if done is None:
            _sent("undo", "Nothing to undo.")
        elif isinstance(done, Answer):
            where = f"{md(done.transcript_id)}/{md(done.turn_id)}"
            _sent("undo", f"Withdrawn: {md(done.code)} on {where}." if done.applies is None
                  else f"Back to: {md(done.code)} {done.says} on {where}.")
        else:
            _sent("undo", f"Undone: {last.verdict} of {md(last.code)}.")


def _act(entry: ReviewEntry) -> str:
    """A decision or answer in a few words, as the undo button names it (Markdown, safe)."""
    if isinstance(entry, Answer):
        return f"{md(entry.code)} {entry.says}"
    return f"{entry.verdict} {md(entry.code)}"


def _review_item(store: Store, session: Session, item: dict[str, Any],
                 codebook: dict[str, dict[str, Any]]) -> None:
    colours = _colours(codebook)
    coding = {**item, "decisions": []}
    own = session.reviewer if session.blind else None
    decisions, notes = review.standing_decisions(store, item["coding_pk"], reviewer=own)
    if not session.blind:
        coding["decisions"] = decisions
    previous = transcripts.turn_before(store, item["transcript_id"], item["position"])
    before = previous_turn(previous) if previous else ""
    st.html(
        f'{before}<div style="font-size:0.9em;color:#555">{name_html(item["transcript_id"])} · '
        f'turn {name_html(item["turn_id"])} · <b>{name_html(item["speaker"])}</b>'
        f'{" (" + name_html(item["role"]) + ")" if item["role"] else ""}</div>'
        f'<div style="font-size:1.15em;line-height:1.7;margin:6px 0 10px 0">'
        f'{highlighted(item["turn_text"], [coding], colours)}</div>'
        f'<div>{code_chip(item["code"], colours)} confidence '
        f'{"unknown" if item["confidence"] is None else format(item["confidence"], ".2f")}'
        f' · {name_html(item["coder"])}'
        f'{" · evidence " + escape(item["evidence"]) if item["evidence"] else ""}</div>'
    )
    st.link_button("Open in the transcript", transcript_link(item["transcript_id"]))
    if notes:
        st.html("".join(
            f'<div style="background:#fff8dc;padding:4px 8px;margin:2px 0;border-radius:4px">'
            f'<b>memo</b> by {name_html(note["reviewer"])}: {escape(note["note"])}'
            '</div>'
            for note in notes))
    others = [d for d in coding["decisions"] if d["reviewer"] != session.reviewer]
    if others:
        st.caption("Other reviewers: " + ", ".join(f"{md(d['reviewer'])} {d['status']}"
                                                   for d in others))
    _definitions(codebook, [item["code"]])
    # Keys carry the coding: a key pressed while the page still showed the item before is
    # that item's, and never lands on the one drawn since; and the forms start from this
    # item's code and span, not the last item's.
    cid = item["coding_id"]
    accept, reject, skip = st.columns(3)
    if accept.button("Accept", key=f"review_accept_{cid}", shortcut="A", type="primary",
                     width="stretch"):
        review.decide(store, session.reviewer, item["coding_id"], Verdict.ACCEPT,
                      decision_id=_decision_id("verdict"))
        _sent("verdict", f"Accepted {_where(item)}.")
    if reject.button("Reject", key=f"review_reject_{cid}", shortcut="X", width="stretch"):
        review.decide(store, session.reviewer, item["coding_id"], Verdict.REJECT,
                      decision_id=_decision_id("verdict"))
        _sent("verdict", f"Rejected {_where(item)}.")
    if skip.button("Skip", key="review_skip_button", shortcut="S", width="stretch"):
        st.session_state["review_skip"] = st.session_state.get("review_skip", 0) + 1
        st.rerun()
    st.caption("Keys: A accept · X reject · S skip · U undo; Enter sends a form.")
    known = list(codebook)
    correct, add, memo = st.tabs(["Change code or span", "Add a missed code", "Memo"])
    with correct, st.form(f"review_correct_{cid}"):
        new_code = st.selectbox("Code", known, index=known.index(item["code"])
                                if item["code"] in known else 0, key=f"correct_code_{cid}")
        span = st.text_input("Span: the exact words of the turn (blank: keep the span)",
                             value=item["turn_text"][item["start_char"]:item["end_char"]],
                             key=f"correct_span_{cid}")
        if st.form_submit_button("Save correction", key=f"correct_send_{cid}"):
            _send(lambda: _correct(store, session, item, new_code, span, known), "correct",
                  f"Corrected to {md(new_code)}.")
    with add, st.form(f"review_add_{cid}"):
        add_code = st.selectbox("Code", known, key=f"add_code_{cid}")
        span = st.text_input("Span: exact words of this turn (blank: the whole turn)",
                             key=f"add_span_{cid}")
        if st.form_submit_button("Add code to this turn", key=f"add_send_{cid}"):
            _send(lambda: _add(store, session, item, add_code, span, known), "add",
                  f"Added {md(add_code)} to {md(item['transcript_id'])}/{md(item['turn_id'])}.")
    with memo, st.form("review_memo", clear_on_submit=True):
        note = st.text_input("Memo on this coding", key="memo_note")
        if st.form_submit_button("Save memo", key="memo_send"):
            _send(lambda: review.decide(store, session.reviewer, item["coding_id"],
                                        Verdict.MEMO, note=note,
                                        decision_id=_decision_id("memo")),
                  "memo", "Memo saved.")


def _send(action, slot: str, message: str) -> None:
    """Run a decision; a user mistake shows as an error line and keeps the form."""
    try:
        action()
    except ReltextError as error:
        st.error(md(error))
        return
    _sent(slot, message)


def _where(item: dict[str, Any]) -> str:
    """``code on transcript/turn``, as Markdown that shows exactly those characters."""
    return f"{md(item['code'])} on {md(item['transcript_id'])}/{md(item['turn_id'])}"


def _span_of(text: str, words: str) -> tuple[int, int] | None:
    """The offsets of ``words`` in ``text``; raises when they are not there."""
    words = words.strip()
    if not words:
        return None
    start = text.find(words)
    if start < 0:
        raise ReltextError(f"the words {words!r} are not in this turn",
                           fix="Copy the span exactly from the turn's text.")
    return start, start + len(words)


def _correct(store: Store, session: Session, item: dict[str, Any], code: str, words: str,
             known: list[str]) -> None:
    span = _span_of(item["turn_text"], words) or (item["start_char"], item["end_char"])
    review.decide(store, session.reviewer, item["coding_id"], Verdict.CORRECT, code=code,
                  start_char=span[0], end_char=span[1], known_codes=known,
                  decision_id=_decision_id("correct"))


def _add(store: Store, session: Session, item: dict[str, Any], code: str, words: str,
         known: list[str]) -> None:
    span = _span_of(item["turn_text"], words) or (None, None)
    review.add_code(store, session.reviewer, item["transcript_id"], item["turn_id"], code,
                    start_char=span[0], end_char=span[1], known_codes=known,
                    decision_id=_decision_id("add"))


# -- Agreement ---------------------------------------------------------------------------


def render_agreement(store: Store, session: Session, *, title: str = "Agreement") -> None:
    """Per-code agreement of a pair of raters, with the turns where they disagree, and the
    learned coder's evaluation when one has been trained."""
    st.header(title)
    _pair_agreement(store, session)
    _model_evaluation(store)


def _pair_agreement(store: Store, session: Session) -> None:
    version = project_version(store)
    raters = _cached_raters(version, session.reviewer if session.blind else None, store)
    pairs = [(a, b) for i, a in enumerate(raters) for b in raters[i + 1 :]
             if not (a.kind == "auto" and b.kind == "auto")]
    if not pairs:
        st.info("Agreement needs two coders on the same turns: review some auto-codes first.")
        return
    labels = [f"{a.label} vs {b.label}" for a, b in pairs]
    default = next((i for i, (a, b) in enumerate(pairs) if b.name == session.reviewer), 0)
    chosen = st.selectbox("Compare", labels, index=default, key="agreement_pair")
    first, second = pairs[labels.index(chosen)]
    pair = _cached_pair(version, first, second, store)
    if not pair.units:
        st.info("These two have no turns in common yet.")
        return
    codes = list(_codebook(store))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rows = pair.per_code(codes)
    frame = pd.DataFrame(rows).rename(columns={
        "first_only": f"only {first.label}", "second_only": f"only {second.label}"})
    for column in ("kappa", "alpha"):  # undefined: the code absent (or everywhere) for both
        frame[column] = [f"{value:.2f}" if not math.isnan(value) else "undefined"
                         for value in frame[column]]
    kappas = [row["kappa"] for row in rows if not math.isnan(row["kappa"])]
    left, right = st.columns(2)
    left.metric("Turns both coded", len(pair.units))
    right.metric("Mean kappa over codes", "undefined" if not kappas
                 else f"{sum(kappas) / len(kappas):.2f}")
    st.dataframe(frame, hide_index=True, width="stretch", height=_table_height(len(frame)))
    plotted = pd.DataFrame([{**row, "code": escape(row["code"])} for row in rows
                            if not math.isnan(row["kappa"])])  # plotly reads some HTML
    if not plotted.empty:
        figure = px.bar(plotted, x="code", y="kappa", range_y=[-1, 1],
                        title=escape(f"Cohen's kappa per code: {first.label} vs {second.label}"))
        st.plotly_chart(figure, width="stretch")
    st.subheader("Where they disagree")
    disputed = [row["code"] for row in rows if row["first_only"] or row["second_only"]]
    if not disputed:
        st.write("They agree on every code over these turns.")
        return
    code = st.selectbox("Code", disputed, key="agreement_code")
    turns = pd.DataFrame(review.disagreeing_turns(store, pair, code))
    turns.insert(0, "open", turns["transcript_id"].map(transcript_link))
    st.dataframe(turns, hide_index=True, width="stretch", column_config={
        "open": st.column_config.LinkColumn("open", display_text="read", width="small")})


def _model_evaluation(store: Store) -> None:
    """A trained model's cross-validated scores per code (the newest model first)."""
    models = training.list_models(store)[::-1]
    if not models:
        return
    st.subheader("The learned coder's evaluation")
    labels = [f"{model['model_id']} (trained {_utc(model['created_at'])})" for model in models]
    model = models[labels.index(st.selectbox("Model", labels, key="agreement_model"))]
    manifest = model["manifest"]
    trained_on = manifest.get("training", {})
    veto_below = manifest.get("params", {}).get("veto_below", 0.1)
    st.caption(
        f"Model {model['model_id']}, trained {_utc(model['created_at'])} on "
        f"{trained_on.get('turns', '?')} turns of {trained_on.get('transcripts', '?')} "
        f"transcripts, {trained_on.get('decisions', 0)} review decisions and "
        f"{trained_on.get('answers', 0)} answers "
        f"({manifest.get('features', {}).get('embedding', '?')} features). Probabilities "
        "are calibrated: 0.3 means about 3 turns in 10 have the code. Scores are "
        "cross-validated by transcript: each turn is scored by a classifier fitted without "
        "its transcript; the threshold is chosen on these same scores, so they lean high "
        "('reltext train --cv' scores whole models on transcripts they never saw). auto: how "
        f"auto:{model['model_id']} codes each code: the rules alone, or the rules less the "
        f"matches the classifier vetoes (p < {veto_below:g}), plus the turns it adds from "
        "p>=T up; "
        "auto_kappa and rules_kappa: the same cross-validation's kappa for that and for the "
        "rules alone; positives: training turns with the code.")
    *rows, macro = training.evaluation(manifest)
    order = {code: index for index, code in enumerate(_codebook(store))}
    rows.sort(key=lambda row: order.get(row["code"], len(order)))  # as in the table above
    frame = pd.DataFrame([*rows, macro])
    score = st.column_config.NumberColumn(format="%.2f")
    st.dataframe(frame, hide_index=True, width="stretch", height=_table_height(len(frame)),
                 column_config={"positives": st.column_config.NumberColumn(format="%d"),
                                **{name: score for name in
                                   ("kappa", "precision", "recall", "f1", "threshold",
                                    "auto_kappa", "rules_kappa")}})


def _utc(timestamp: str) -> str:
    """An ISO-8601 UTC time as ``2026-11-22 08:47 UTC``."""
    return timestamp[:16].replace("T", " ") + " UTC"


# -- Export ------------------------------------------------------------------------------


def render_export(store: Store, session: Session, *, title: str = "Export") -> None:
    """Downloads: every coding and every review decision as CSV, the project as REFI-QDA."""
    st.header(title)
    codings, coders = count_codings(store)
    st.write(f"{codings} codings by {coders} coder(s), one row each with its turn, span, "
             "coder, evidence and where review left it (status, reviewer, final code).")
    # The files are made when the button is pressed, not on every visit to the page.
    st.download_button(
        "Download codings CSV", file_name="codings.csv", mime="text/csv", key="export_codings",
        data=lambda: csv_bytes(codings_with_review(store)[CODING_COLUMNS + REVIEW_COLUMNS]))
    own = session.reviewer if session.blind else None
    st.write("Every review decision with its reviewer, time, verdict, resulting state and the "
             "state before it" + (" (yours only: blind mode)." if session.blind else "."))
    st.download_button(
        "Download decisions CSV", file_name="decisions.csv", mime="text/csv",
        key="export_decisions",
        data=lambda: csv_bytes(review.decisions_frame(store, reviewer=own)))
    st.write("Every answer to the learned coder's questions with its reviewer, time, the "
             "model that asked and its probability; undos are rows too" +
             (" (yours only: blind mode)." if session.blind else "."))
    st.download_button(
        "Download answers CSV", file_name="answers.csv", mime="text/csv", key="export_answers",
        data=lambda: csv_bytes(active_learning.answers_frame(store, reviewer=own)))
    accepted_only = st.checkbox("REFI-QDA: only the codings whose latest decision accepts or "
                                "corrects them", key="export_accepted_only")
    st.download_button(
        "Download REFI-QDA project (.qdpx)", file_name=f"{store.path.stem}.qdpx",
        mime="application/zip", key="export_qdpx",
        data=lambda: _qdpx_bytes(store, accepted_only=accepted_only))


def _qdpx_bytes(store: Store, *, accepted_only: bool) -> bytes:
    """The REFI-QDA file, written where only this process sees it, as bytes."""
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "project.qdpx"
        write_qdpx(store, out, accepted_only=accepted_only)
        return out.read_bytes()
