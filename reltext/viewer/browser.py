"""What the viewer does in the browser itself: keys that work at once, a remembered name.

- A click on a page in the sidebar leaves the focus on that radio button, where Streamlit
  does not hear its keyboard shortcuts, so the first key pressed on the new page (an
  ``A`` to accept) was lost. :func:`keys_ready` takes the focus off such a control after
  every run, so the page's keys act as soon as it shows; a text field keeps the focus.
- The reviewer's name survives a reload as ``?reviewer=NAME`` in the address, and a new
  tab (a link opened from a table) finds it in the browser's storage
  (:func:`remembered_reviewer`).
"""

from __future__ import annotations

import streamlit as st
import streamlit.components.v2 as components

_KEYS_JS = """
const CONTROLS = 'input[type=radio], input[type=checkbox], [role=tab], [role=radio], '
  + '[role=option], summary';

function release() {
  const active = document.activeElement;
  if (active && active.matches(CONTROLS)) active.blur();
}

export default function () {
  if (!window.__reltextKeys) {
    // Right after a click on such a control (a page in the sidebar), not only once the
    // new page has run: a key pressed while it is drawn reaches the page.
    window.__reltextKeys = true;
    document.addEventListener("click", (event) => {
      if (event.target.closest(CONTROLS + ", label")) setTimeout(release, 0);
    }, true);
  }
  release();
}
"""
_MEMORY_JS = """
export default function (component) {
  const { data, setTriggerValue } = component;
  const key = "reltext.reviewer";
  try {
    if (data.name) {
      window.localStorage.setItem(key, data.name);
    } else if (window.localStorage.getItem(key)) {
      setTriggerValue("name", window.localStorage.getItem(key));
    }
  } catch (error) {
    // Storage refused (a private window): the ?reviewer= address still works.
  }
}
"""
_KEYS = components.component("reltext.keys_ready", js=_KEYS_JS)
_MEMORY = components.component("reltext.reviewer_memory", js=_MEMORY_JS)


def keys_ready() -> None:
    """Take the focus off a radio button or tab, once this run has drawn the page."""
    st.session_state["keys_run"] = st.session_state.get("keys_run", 0) + 1
    _KEYS(key="keys_ready", data={"run": st.session_state["keys_run"]})


def remembered_reviewer(name: str | None) -> str | None:
    """Keep ``name`` in the browser's storage; without one, the name kept there, if any."""
    result = _MEMORY(key="reviewer_memory", data={"name": name},
                     on_name_change=lambda: None)
    return name or getattr(result, "name", None) or None
