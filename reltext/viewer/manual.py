"""Manual coding in the transcript reader: a reviewer's own codes on any words of any turn.

Streamlit cannot read a browser's text selection, so a small component (``manual.js``,
served from this package, nothing fetched) watches the turns the reader draws: select words
of a turn, or click its speaker for the whole turn, and a palette asks for the code and a
memo; a click on one of your own codes changes or removes it. Each act comes back here as
one trigger and becomes a decision of :mod:`reltext.review.decisions`: ``add_code`` (a
``human:<reviewer>`` coding), ``correct``, ``memo`` or ``remove``, all appended and undone
with the same Undo as on the Review page.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import streamlit as st
import streamlit.components.v2 as components

from ..errors import ReltextError
from ..model import Verdict
from ..review import decisions as review
from .markup import md

if TYPE_CHECKING:
    from ..store.database import Store

_JS = (Path(__file__).with_name("manual.js")).read_text(encoding="utf-8")
_HEX = re.compile(r"#(?:[0-9A-Fa-f]{3}){1,2}")
_CSS = """
.reltext-who { cursor: pointer; }
.reltext-who:hover { text-decoration: underline dotted; }
.reltext-chip[data-coding-id] { cursor: pointer; }
.reltext-focus { outline: 3px solid #f0c419; outline-offset: 2px; }
.reltext-palette { position: fixed; z-index: 1000000; width: 360px; background: #fff;
  border: 1px solid #bbb; border-radius: 8px; box-shadow: 0 6px 24px rgba(0,0,0,.2);
  padding: 10px; font-size: 14px; color: #222; }
.reltext-palette-title { font-weight: 600; margin-bottom: 6px; overflow-wrap: anywhere; }
.reltext-palette input { width: 100%; box-sizing: border-box; padding: 4px 6px;
  margin: 4px 0; border: 1px solid #999; border-radius: 4px; font-size: 14px; }
.reltext-palette-codes { max-height: 190px; overflow-y: auto; display: flex;
  flex-wrap: wrap; gap: 4px; }
.reltext-palette-code { border: 1px solid #ccc; background: #f7f7f7; border-radius: 4px;
  padding: 2px 6px; cursor: pointer; font-size: 13px; }
.reltext-palette-code.active { outline: 2px solid #1f77b4; }
.reltext-palette-code.picked { background: #dbeafe; font-weight: 600; }
.reltext-palette-actions { display: flex; gap: 8px; align-items: center; margin-top: 4px; }
.reltext-palette-actions button { padding: 2px 10px; cursor: pointer; }
.reltext-palette-hint { color: #666; font-size: 12px; }
"""
_COMPONENT = components.component("reltext.manual_coding", js=_JS, css=_CSS,
                                  isolate_styles=False)


def coding_palette(store: Store, reviewer: str, transcript_id: str,
                   codebook: dict[str, dict[str, Any]], *, focus_turn: str | None) -> None:
    """Mount the palette over the turns on the page and carry out what it sends."""
    data = {"codes": [{"key": key, "name": info.get("name") or key,
                       "colour": info.get("colour") if _HEX.fullmatch(info.get("colour") or "")
                       else "#dddddd"}  # a style that can fetch nothing
                      for key, info in codebook.items()],
            "own": review.reviewer_coder(reviewer), "focus_turn": focus_turn}
    result = _COMPONENT(key="manual_coding", data=data, on_action_change=lambda: None)
    action = getattr(result, "action", None)
    if not action:
        return
    try:
        message = apply(store, reviewer, transcript_id, action, known=list(codebook))
    except ReltextError as error:
        st.error(md(error))
        return
    st.session_state["reader_message"] = message
    st.rerun()


def apply(store: Store, reviewer: str, transcript_id: str, action: dict[str, Any], *,
          known: list[str]) -> str:
    """Record one act of the palette as a decision; returns what to tell the reviewer
    (Markdown, made safe).

    Raises:
        ReltextError: an unknown code or coding, a span outside the turn, someone else's code.
    """
    decision_id = str(action.get("id") or review.new_decision_id())
    kind, code, note = action.get("action"), action.get("code"), action.get("note") or None
    if kind == "add":
        review.add_code(store, reviewer, transcript_id, str(action["turn_id"]), str(code),
                        start_char=int(action["start"]), end_char=int(action["end"]),
                        note=note, decision_id=decision_id, known_codes=known)
        return f"Added {md(code)} to {md(transcript_id)}/{md(action['turn_id'])}."
    coding_id = str(action.get("coding_id"))
    if kind == "remove":
        review.decide(store, reviewer, coding_id, Verdict.REMOVE, decision_id=decision_id)
        return "Removed your code."
    if kind == "edit":
        current = review.code_as_left(store, reviewer, coding_id)
        if code and code != current:
            review.decide(store, reviewer, coding_id, Verdict.CORRECT, code=str(code),
                          note=note, decision_id=decision_id, known_codes=known)
            return f"Changed your code to {md(code)}."
        if note:
            review.decide(store, reviewer, coding_id, Verdict.MEMO, note=note,
                          decision_id=decision_id)
            return "Memo saved."
        return "Nothing changed."
    raise ReltextError(f"unknown action {kind!r} from the page", fix="Reload the page.")
