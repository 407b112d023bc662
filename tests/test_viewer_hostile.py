"""Project text that is Markdown, HTML, a link or a bidi override stays text on every page.

The project holds such text in every place a colleague or another tool can put it: a
transcript id, a turn id, a speaker, a role, an attribute, a code's key, name, definition
and colour, a reviewer's name and a memo. Through AppTest every page's Markdown and HTML is
read back; in chromium every page is opened and no request may leave the viewer.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import quote

import pytest
import yaml
from lxml import html as lxml_html
from markdown_it import MarkdownIt
from streamlit.testing.v1 import AppTest
from viewer_support import build_project

from reltext.model import Verdict
from reltext.project import Project
from reltext.review.decisions import decide
from reltext.viewer.markup import md, transcript_link

APP = Path(__file__).resolve().parent.parent / "app" / "streamlit_app.py"
EVIL = "evil.example"  # every hostile URL points here; nothing may ever ask for it
TRANSCRIPT = f"a&b#c ![t](//{EVIL}/t.png)"
OTHER = "int02"
TURN = f"[l](//{EVIL}/l)"
RTL = "\u202e"  # RIGHT-TO-LEFT OVERRIDE, never closed
SPEAKER = f"Bob{RTL}evil"
ROLE = f"client ![r](//{EVIL}/r.png)"
SITE = f"<img src=//{EVIL}/s.png> **North**"
CODE = f"![c](//{EVIL}/c.png)"
REVIEWER = f"![v](//{EVIL}/v.png)"
COLLEAGUE = f"[w](//{EVIL}/w)"
MEMO = f"<img src=//{EVIL}/m.png> $\\href{{//{EVIL}}}{{x}}$"


def build_hostile_project(folder: Path) -> Path:
    evidence = f"![e](//{EVIL}/e.png)"
    db = build_project(
        folder, name="hostile.db",
        turns=[(TRANSCRIPT, "0", "Interviewer", "How are things with the team?"),
               (TRANSCRIPT, TURN, SPEAKER, f"I trust them, see ![i](//{EVIL}/i.png) and :red[x]."),
               (OTHER, "0", "Interviewer", "And at home?"),
               (OTHER, "1", "Lee", "Nobody listens at home.")],
        manifest=yaml.safe_dump({"transcripts": {
            TRANSCRIPT: {"speakers": {SPEAKER: ROLE}},
            OTHER: {"site": SITE, "participant_id": "P2", "role": ROLE,
                    "speakers": {"Lee": ROLE}}}}, allow_unicode=True),
        codes=[{"key": CODE, "name": f"**{EVIL}**", "colour": f"red;background:url(//{EVIL}/k)",
                "definition": f"<a href=//{EVIL}/d>Defined</a> ![d](//{EVIL}/d.png)"},
               {"key": "trust", "name": "Trust", "colour": "#1b9e77", "definition": "Trust."}],
        codings=[(TRANSCRIPT, TURN, CODE, "I trust them", 0.4, evidence),
                 (OTHER, "1", CODE, "Nobody listens", 0.4, evidence)])
    with Project(db) as project:
        for coding_id in project.codings()["coding_id"]:
            decide(project.store, COLLEAGUE, coding_id, Verdict.ACCEPT)
            decide(project.store, COLLEAGUE, coding_id, Verdict.MEMO, note=MEMO)
    return db


@pytest.fixture
def hostile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    db = build_hostile_project(tmp_path)
    monkeypatch.setenv("RELTEXT_DB", str(db))
    monkeypatch.setenv("RELTEXT_REVIEWER", REVIEWER)
    monkeypatch.delenv("RELTEXT_BLIND", raising=False)
    return db


_OWN_LINK = re.compile(r"\?transcript=[\w%.~+-]*(&turn=[\w%.~+-]*)?")
_MARKDOWN = MarkdownIt("commonmark").enable(["table", "strikethrough"])


def _markdown_texts(app: AppTest) -> list[str]:
    texts = [e.value for kind in ("markdown", "caption", "success", "info", "warning", "error")
             for e in getattr(app, kind)]
    texts += [e.label for kind in ("button", "selectbox", "multiselect", "radio", "tabs",
                                   "expander", "metric", "text_input") for e in getattr(app, kind)]
    texts += [e.proto.label for e in app.get("link_button") + app.get("download_button")]
    return texts


def _check_page(app: AppTest) -> None:
    assert not app.exception, app.exception
    for text in _markdown_texts(app):
        rendered = _MARKDOWN.render(text)
        assert not re.search(r"<(a|img|em|code|h\d|ol|ul|hr|del|table)\b", rendered), text
    for element in app.get("html"):
        tree = lxml_html.fragment_fromstring(element.proto.body, create_parent="div")
        assert not tree.xpath("//img|//script|//*[@src]"), element.proto.body
        for link in tree.xpath("//*[@href]"):  # only the viewer's own links, encoded
            assert _OWN_LINK.fullmatch(link.get("href")), link.get("href")
        for styled in tree.xpath("//*[@style]"):
            assert EVIL not in styled.get("style") and "url(" not in styled.get("style")
    for chart in app.get("plotly_chart"):
        spec = chart.proto.spec
        assert "<img" not in spec and "<a " not in spec and "<b>" not in spec


def test_viewer_hostile_text_is_text_on_every_page(hostile):
    app = AppTest.from_file(str(APP), default_timeout=60)
    app.run()
    pages = app.sidebar.radio(key="page").options
    assert {"Corpus", "Transcript", "Review", "Agreement", "Analysis", "Export"} <= set(pages)
    for page in pages:
        app.sidebar.radio(key="page").set_value(page).run()
        _check_page(app)
        if page == "Corpus":
            links = list(app.dataframe[0].value["open"])
            assert links == ["?transcript=" + quote(TRANSCRIPT, safe=""), "?transcript=int02"]
        if page == "Transcript":
            app.selectbox(key="reader_transcript").set_value(TRANSCRIPT).run()
            _check_page(app)
            body = "".join(element.proto.body for element in app.get("html"))
            # The override in the speaker's name is closed before the role and turn id.
            assert f"\u2068{SPEAKER}\u2069" in body
        if page == "Codes":  # quotes by case: the override closes before the role too
            body = "".join(element.proto.body for element in app.get("html"))
            assert f"\u2068{SPEAKER}\u2069 (client" in body
        if page == "Review":
            captions = " ".join(caption.value for caption in app.caption)
            assert f"Other reviewers: {md(COLLEAGUE)} accepted" in captions
            (button,) = app.get("link_button")
            assert button.proto.url.startswith("?transcript=") and "#" not in button.proto.url
        if page == "Analysis":
            assert app.get("plotly_chart")
            for view in ("SOS profiles", "Co-occurrence", "Relational web"):
                app.session_state["analysis_view"] = view
                app.run()
                _check_page(app)
                assert app.get("plotly_chart"), view


def test_viewer_hostile_transcript_link_opens_that_transcript():
    assert transcript_link("a&b#c /é") == "?transcript=a%26b%23c%20%2F%C3%A9"


CHROMIUM = Path("/usr/bin/chromium")


@pytest.mark.slow
@pytest.mark.skipif(not CHROMIUM.exists(),
                    reason="no /usr/bin/chromium: 'make browser' installs it with apt-get")
def test_viewer_hostile_pages_in_chromium_fetch_nothing_from_outside(tmp_path):
    from playwright.sync_api import expect, sync_playwright
    from test_viewer_browser import CHROMIUM_ARGS, _serve

    db = build_hostile_project(tmp_path)
    requested: list[str] = []
    dialogs: list[str] = []
    for _, url in _serve(db, tmp_path, "--reviewer", REVIEWER):
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                                 args=CHROMIUM_ARGS)
            try:
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                page.on("request", lambda request: requested.append(request.url))
                page.on("dialog", lambda dialog: (dialogs.append(dialog.message),
                                                  dialog.dismiss()))
                page.goto(url + transcript_link(TRANSCRIPT))  # the link opens this transcript
                expect(page.get_by_text("How are things with the team?")).to_be_visible(
                    timeout=30_000)
                role_order = page.evaluate(_ROLE_ORDER)
                pages = page.locator("[data-testid=stSidebar] [role=radiogroup] label")
                names = pages.all_inner_texts()
                assert "Analysis" in names and "Export" in names
                for name in names:
                    page.get_by_text(name, exact=True).first.click()
                    page.wait_for_load_state("networkidle")
                    expect(page.get_by_text("Running...")).to_have_count(0, timeout=30_000)
                    if name == "Analysis":
                        for tab in ("SOS profiles", "Co-occurrence", "Relational web"):
                            page.get_by_role("tab", name=tab).click()
                            page.wait_for_load_state("networkidle")
                    if name == "Review":
                        expect(page.get_by_text(f"Other reviewers: {COLLEAGUE} accepted")
                               ).to_be_visible(timeout=20_000)
                page.wait_for_timeout(1000)
            finally:
                browser.close()
    outside = [u for u in requested if not u.startswith((url, url.replace("http", "ws")))
               and not u.startswith(("data:", "blob:"))]
    assert requested and outside == []
    assert dialogs == []
    assert role_order == sorted(role_order), role_order


# The left edges of the characters of the role shown after the speaker whose name holds the
# override: left to right as written, unless the override runs on into the role.
_ROLE_ORDER = re.sub(r"\s+", " ", """() => {
  const role = [...document.querySelectorAll('span')].find(
      s => s.textContent.startsWith('(client') && s.parentElement.textContent.includes('Bob'));
  const text = role.firstChild.nodeType === Node.TEXT_NODE ? role.firstChild
      : role.firstChild.firstChild;
  const range = document.createRange();
  return [...text.textContent].map((_, i) => {
    range.setStart(text, i); range.setEnd(text, i + 1);
    return range.getBoundingClientRect().left;
  }).slice(0, 6);
}""")
