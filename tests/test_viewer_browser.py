"""End to end in a real browser: Debian's chromium, driven by Playwright, against `reltext view`."""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import text
from viewer_support import build_project

from reltext.store.database import Store

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
ROOT = Path(__file__).resolve().parent.parent

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(),
                       reason="no /usr/bin/chromium: 'make browser' installs it with apt-get"),
]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until_up(url: str, server: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"reltext view exited: {server.stdout.read()}")
        try:
            with urllib.request.urlopen(url + "_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise AssertionError("reltext view did not answer in time")


def _serve(db: Path, folder: Path, *options: str):
    """``reltext view`` of ``db`` on a free local port, as a context of ``(db, url)``."""
    port = _free_port()
    environment = dict(os.environ, PYTHONPATH=str(ROOT))
    server = subprocess.Popen(
        [sys.executable, "-m", "reltext.cli", "--db", str(db), "view", "--port", str(port),
         *options],
        cwd=folder, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        _wait_until_up(url, server)
        yield db, url
    finally:
        server.terminate()
        server.wait(20)


@pytest.fixture
def served(tmp_path: Path):
    """A project served by ``reltext view --reviewer alice`` on a free local port."""
    yield from _serve(build_project(tmp_path), tmp_path, "--reviewer", "alice")


# An interview nobody has coded yet: the reviewer codes it by hand.
UNCODED = """Interviewer: How has the group been?
Jo: The group has been brilliant, they really get me.
Interviewer: And at home?
Jo: My brother and I don't speak any more, not since mum died.
Interviewer: What helps, week to week?
Jo: Knowing Sam will turn up on Thursday, every single week.
"""


@pytest.fixture
def served_uncoded(tmp_path: Path):
    """The project with an uncoded interview (int03), served without a reviewer's name."""
    from reltext import Project

    db = build_project(tmp_path)
    (tmp_path / "int03.txt").write_text(UNCODED, encoding="utf-8")
    with Project(db) as project:
        assert all(result.ok for result in project.ingest([tmp_path / "int03.txt"]))
    yield from _serve(db, tmp_path)


def test_viewer_browser_review_persists_and_hostile_text_stays_text(served):
    from playwright.sync_api import expect, sync_playwright

    db, url = served
    dialogs: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
            requested: list[str] = []
            page.on("request", lambda request: requested.append(request.url))
            page.goto(url + "?transcript=int02")
            expect(page.get_by_text("<script>alert(1)</script>", exact=True)).to_be_visible(
                timeout=30_000)
            expect(page.get_by_text("<img src=x onerror=alert(1)>")).to_be_visible()
            page.get_by_text("Review", exact=True).first.click()
            expect(page.get_by_text("5 auto-code(s) waiting for alice")).to_be_visible(
                timeout=20_000)
            # Keyboard first: "A" accepts as soon as the page shows, though the click on
            # "Review" left the focus on the sidebar's radio button.
            expect(page.get_by_role("button", name="Accept")).to_be_enabled()
            page.keyboard.press("a")
            expect(page.get_by_text("Accepted stigma on int02/1.")).to_be_visible(timeout=20_000)
            page.reload()
            page.get_by_text("Review", exact=True).first.click()
            expect(page.get_by_text("4 auto-code(s) waiting for alice")).to_be_visible(
                timeout=20_000)
        finally:
            browser.close()
    assert dialogs == []
    # Everything the page loaded came from the viewer itself: no fonts, scripts or images
    # from anywhere else.
    outside = [u for u in requested if not u.startswith((url, url.replace("http", "ws")))
               and not u.startswith("data:") and not u.startswith("blob:")]
    assert requested and outside == []
    assert _decisions(db, "d.reviewer, d.verdict, d.status, c.code") == [
        ("alice", "accept", "accepted", "stigma")]


def _select_words(page, turn_id: str, words: str) -> None:
    """Select ``words`` of a turn as a mouse drag would, and let go of the button (the same
    script as the README's screenshots)."""
    spec = importlib.util.spec_from_file_location("screenshots", ROOT / "docs" / "screenshots.py")
    screenshots = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(screenshots)
    page.locator(f".reltext-turn[data-turn-id='{turn_id}'] .reltext-text").evaluate(
        screenshots.SELECT_WORDS, words)


def _decisions(db: Path, columns: str) -> list[tuple]:
    """``columns`` of every decision with its coding, in order, from the project file."""
    store = Store.open(db)
    with store.read() as conn:
        rows = conn.execute(text(f"SELECT {columns} FROM decisions d "
                                 "JOIN codings c ON c.pk = d.coding_pk ORDER BY d.pk")).all()
    store.close()
    return [tuple(row) for row in rows]


def test_viewer_browser_manual_coding_remove_undo_reload_and_the_codes_page(served_uncoded):
    """A reviewer codes three uncoded turns by selecting words, removes one, undoes that,
    reloads and finds all three, and the Codes page lists them with their quotes."""
    from playwright.sync_api import expect, sync_playwright

    db, url = served_uncoded
    chosen = [("1", "they really get me", "trust", "feels understood"),
              ("3", "My brother and I don't speak any more", "isolation", ""),
              ("5", "Sam will turn up on Thursday", "trust", "")]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(url + "?transcript=int03")
            page.get_by_label("Your name as a reviewer").fill("alice")
            page.keyboard.press("Enter")
            expect(page.locator(".reltext-turn")).to_have_count(6, timeout=30_000)
            assert "reviewer=alice" in page.url
            mine = page.locator(".reltext-chip[data-coder='human:alice']")
            for count, (turn_id, words, code, memo) in enumerate(chosen):
                expect(mine).to_have_count(count)  # the page drawn since the last one
                _select_words(page, turn_id, words)
                palette = page.locator(".reltext-palette")
                expect(palette).to_contain_text(words)
                page.keyboard.type(code[:4])  # keyboard first: find the code, Enter, memo
                page.keyboard.press("Enter")
                page.keyboard.type(memo)
                page.keyboard.press("Enter")
                expect(page.get_by_text(f"Added {code} to int03/{turn_id}.")).to_be_visible(
                    timeout=20_000)
            expect(mine).to_have_count(3)
            page.locator(".reltext-turn[data-turn-id='3'] .reltext-chip").click()
            expect(page.locator(".reltext-palette")).to_contain_text("Your code isolation")
            page.keyboard.press("Delete")
            expect(page.get_by_text("Removed your code.")).to_be_visible(timeout=20_000)
            expect(mine).to_have_count(2)
            page.keyboard.press("u")  # undo, at once
            expect(page.get_by_text("Undone: remove of isolation.")).to_be_visible(
                timeout=20_000)
            expect(mine).to_have_count(3)
            page.reload()  # the name and the codes are still there
            expect(page.locator(".reltext-turn")).to_have_count(6, timeout=30_000)
            expect(mine).to_have_count(3)
            assert page.get_by_label("Your name as a reviewer").count() == 0
            page.locator("[data-testid=stSidebar]").get_by_text("Codes", exact=True).click()
            page.get_by_label("Code", exact=True).click()
            page.get_by_role("option", name="trust", exact=True).click()
            quotes = page.locator(".reltext-quote")
            expect(quotes.filter(has_text="they really get me")).to_have_count(1,
                                                                                timeout=20_000)
            expect(quotes.filter(has_text="Sam will turn up on Thursday")).to_have_count(1)
            page.get_by_label("Code", exact=True).click()
            page.get_by_role("option", name="isolation", exact=True).click()
            expect(quotes.filter(has_text="My brother and I don't speak any more")).to_have_count(
                1, timeout=20_000)
        finally:
            browser.close()
    assert _decisions(db, "d.verdict, d.status, c.code, c.coder, d.note") == [
        ("accept", "accepted", "trust", "human:alice", "feels understood"),
        ("accept", "accepted", "isolation", "human:alice", None),
        ("accept", "accepted", "trust", "human:alice", None),
        ("remove", "absent", "isolation", "human:alice", None),
        ("undo", "accepted", "isolation", "human:alice", None)]
