// Manual coding in the transcript reader: select words of a turn (or click its speaker for
// the whole turn), pick a code, add a memo, Enter applies. A click on one of your own codes
// changes its code or memo, or removes it. Every act goes to Python as one trigger value,
// with a fresh id so that a resent act is recorded once.
//
// The turns are the page's own HTML (reltext.viewer.markup): each turn is a
// .reltext-turn[data-turn-id], its words a .reltext-text whose pieces carry data-at, their
// offset in the turn's text. Text from the project is only ever set with textContent.

function state() {
  if (!window.__reltextCoding) {
    window.__reltextCoding = { data: null, send: null, palette: null };
    document.addEventListener("mouseup", () => setTimeout(openForSelection, 0));
    document.addEventListener("click", onClick, true);
    document.addEventListener("keydown", onKey, true);
  }
  return window.__reltextCoding;
}

function newId() {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

// The offset in the turn's text of a boundary point inside a .reltext-text.
function offsetOf(text, node, offset) {
  const range = document.createRange();
  range.setStart(text, 0);
  range.setEnd(node, offset);
  return range.toString().length;
}

function selected() {
  const selection = window.getSelection();
  if (!selection || selection.isCollapsed || selection.rangeCount === 0) return null;
  const range = selection.getRangeAt(0);
  const startNode = range.startContainer.nodeType === 1 ? range.startContainer
    : range.startContainer.parentElement;
  const text = startNode && startNode.closest(".reltext-text");
  if (!text) return null;
  const whole = text.textContent;
  let start = offsetOf(text, range.startContainer, range.startOffset);
  let end = text.contains(range.endContainer)
    ? offsetOf(text, range.endContainer, range.endOffset) : whole.length;
  while (start < end && /\s/.test(whole[start])) start += 1;
  while (end > start && /\s/.test(whole[end - 1])) end -= 1;
  if (end <= start) return null;
  return { turn: text.closest(".reltext-turn"), start, end, words: whole.slice(start, end) };
}

function openForSelection() {
  const current = state();
  if (!current.data || (current.palette && current.palette.contains(document.activeElement))) {
    return;
  }
  const chosen = selected();
  if (chosen) open({ mode: "add", ...chosen });
}

function onClick(event) {
  const current = state();
  if (!current.data) return;
  if (current.palette && current.palette.contains(event.target)) return;
  const who = event.target.closest(".reltext-who");
  const chip = event.target.closest(".reltext-chip[data-coding-id]");
  if (who && who.closest(".reltext-turn")) {
    const turn = who.closest(".reltext-turn");
    const text = turn.querySelector(".reltext-text").textContent;
    open({ mode: "add", turn, start: 0, end: text.length, words: text });
  } else if (chip && chip.dataset.coder === current.data.own) {
    open({ mode: "edit", turn: chip.closest(".reltext-turn"), codingId: chip.dataset.codingId,
           code: chip.dataset.code, words: chip.dataset.words || "" });
  } else if (current.palette && !window.getSelection().toString()) {
    close();
  }
}

function onKey(event) {
  const current = state();
  if (!current.palette) {
    // "C" codes the words selected with the keyboard or mouse, when no field has the focus.
    const field = document.activeElement && document.activeElement.closest("input, textarea");
    if (!field && (event.key === "c" || event.key === "C") && !event.ctrlKey && !event.metaKey
        && selected()) {
      event.preventDefault();
      event.stopPropagation();
      open({ mode: "add", ...selected() });
    }
    return;
  }
  if (event.key === "Escape") {
    event.preventDefault();
    close();
  }
}

function close() {
  const current = state();
  if (current.palette) current.palette.remove();
  current.palette = null;
}

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function open(target) {
  close();
  const current = state();
  const codes = current.data.codes;
  const palette = element("div", "reltext-palette");
  palette.setAttribute("role", "dialog");
  const quote = target.words.length > 120 ? target.words.slice(0, 117) + "…" : target.words;
  palette.appendChild(element("div", "reltext-palette-title",
    target.mode === "edit" ? `Your code ${target.code} on “${quote}”` : `Code “${quote}”`));
  const filter = element("input", "reltext-palette-filter");
  filter.setAttribute("aria-label", "Code");
  filter.placeholder = "type to find a code, ↑↓ to choose, Enter";
  const list = element("div", "reltext-palette-codes");
  const memo = element("input", "reltext-palette-memo");
  memo.setAttribute("aria-label", "Memo");
  memo.placeholder = "memo (optional), Enter applies";
  let active = 0;
  let picked = target.mode === "edit" ? target.code : null;

  function shown() {
    const word = filter.value.trim().toLowerCase();
    return codes.filter((c) => !word || c.key.toLowerCase().includes(word)
      || c.name.toLowerCase().includes(word));
  }
  function draw() {
    list.replaceChildren();
    shown().forEach((code, index) => {
      const option = element("button", "reltext-palette-code", code.key);
      option.type = "button";
      option.dataset.code = code.key;
      option.style.borderLeft = `10px solid ${code.colour}`;
      if (index === active) option.classList.add("active");
      if (code.key === picked) option.classList.add("picked");
      option.addEventListener("click", () => { pick(code.key); });
      list.appendChild(option);
    });
  }
  function pick(code) {
    picked = code;
    draw();
    memo.focus();
  }
  function send(action) {
    const payload = { action, id: newId(), note: memo.value.trim() };
    if (action === "add") {
      Object.assign(payload, { turn_id: target.turn.dataset.turnId, start: target.start,
                               end: target.end, code: picked });
    } else {
      Object.assign(payload, { coding_id: target.codingId, code: picked });
    }
    close();
    window.getSelection().removeAllRanges();
    current.send("action", payload);
  }
  filter.addEventListener("input", () => { active = 0; draw(); });
  filter.addEventListener("keydown", (event) => {
    const options = shown();
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      active = (active + (event.key === "ArrowDown" ? 1 : -1) + options.length)
        % Math.max(options.length, 1);
      draw();
    } else if (event.key === "Enter" && options[active]) {
      event.preventDefault();
      pick(options[active].key);
    } else if (event.key === "Delete" && target.mode === "edit" && !filter.value) {
      event.preventDefault();
      send("remove");
    }
  });
  memo.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && picked) {
      event.preventDefault();
      send(target.mode === "edit" ? "edit" : "add");
    }
  });
  // Keys typed in the palette are its own, not the page's shortcuts (U, A...).
  palette.addEventListener("keydown", (event) => event.stopPropagation());
  palette.append(filter, list, memo);
  const actions = element("div", "reltext-palette-actions");
  const apply = element("button", "reltext-palette-apply",
    target.mode === "edit" ? "Save" : "Apply code");
  apply.type = "button";
  apply.addEventListener("click", () => {
    if (picked) send(target.mode === "edit" ? "edit" : "add");
  });
  actions.appendChild(apply);
  if (target.mode === "edit") {
    const remove = element("button", "reltext-palette-remove", "Remove");
    remove.type = "button";
    remove.addEventListener("click", () => send("remove"));
    actions.appendChild(remove);
  }
  actions.appendChild(element("span", "reltext-palette-hint",
    target.mode === "edit" ? "Enter saves · Delete removes · Esc closes"
      : "Enter applies · Esc closes"));
  palette.appendChild(actions);
  const box = target.turn.getBoundingClientRect();
  palette.style.top = `${Math.max(8, Math.min(box.bottom + 4, window.innerHeight - 380))}px`;
  palette.style.left = `${Math.max(8, Math.min(box.left + 160, window.innerWidth - 380))}px`;
  document.body.appendChild(palette);
  current.palette = palette;
  draw();
  filter.focus();
}

export default function (component) {
  const current = state();
  current.data = component.data;
  current.send = component.setTriggerValue;
  // A link to a turn in context (?turn=): bring it into view and mark it.
  const wanted = component.data.focus_turn;
  if (wanted !== null && wanted !== undefined) {
    const turn = Array.from(document.querySelectorAll(".reltext-turn"))
      .find((node) => node.dataset.turnId === String(wanted));
    if (turn && !turn.classList.contains("reltext-focus")) {
      turn.classList.add("reltext-focus");
      turn.scrollIntoView({ block: "center" });
    }
  }
}
