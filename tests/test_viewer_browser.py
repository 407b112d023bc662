"""End to end in a real browser: Debian's chromium, driven by Playwright, against `reltext view`."""

from __future__ import annotations

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

from reltext.store import Store

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


@pytest.fixture
def served(tmp_path: Path):
    """A project served by ``reltext view --reviewer alice`` on a free local port."""
    db = build_project(tmp_path)
    port = _free_port()
    environment = dict(os.environ, PYTHONPATH=str(ROOT))
    server = subprocess.Popen(
        [sys.executable, "-m", "reltext.cli", "--db", str(db), "view", "--port", str(port),
         "--reviewer", "alice"],
        cwd=tmp_path, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        _wait_until_up(url, server)
        yield db, url
    finally:
        server.terminate()
        server.wait(20)


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
            # Keyboard first: "A" accepts, as the page says (once no input has the focus).
            expect(page.get_by_role("button", name="Accept")).to_be_enabled()
            page.wait_for_load_state("networkidle")
            page.evaluate("document.activeElement && document.activeElement.blur()")
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
    store = Store.open(db)
    with store.read() as conn:
        rows = conn.execute(text(
            "SELECT d.reviewer, d.verdict, d.status, c.code FROM decisions d "
            "JOIN codings c ON c.pk = d.coding_pk")).all()
    store.close()
    assert [tuple(row) for row in rows] == [("alice", "accept", "accepted", "stigma")]
