"""Screenshots of the viewer's main pages in Debian's chromium, for the README.

Serves a project with ``reltext view --reviewer alice`` on a free local port, opens each
page and saves ``docs/viewer-<page>.png``. With ``--code-by-hand TURN=CODE:WORDS ...``,
alice then codes those turns of the transcript by selecting the words, as a reviewer does,
and the palette over one more selection and the Codes page are saved too
(``viewer-coding.png``, ``viewer-codes.png``).

Usage:
    PYTHONPATH=. python docs/screenshots.py --db study.db --transcript p01_wave1
    PYTHONPATH=. python docs/screenshots.py --db study.db --transcript w03_str_worker \
        --only coding --code-by-hand "11=trust:I tell them first" --show "25=connection:lifeline"
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--transcript", required=True, help="The transcript to show.")
    parser.add_argument("--out", type=Path, default=ROOT / "docs")
    parser.add_argument("--only", choices=["pages", "coding"], default=None,
                        help="Only the page shots, or only the coding shots.")
    parser.add_argument("--code-by-hand", nargs="*", default=[], metavar="TURN=CODE:WORDS")
    parser.add_argument("--show", default=None, metavar="TURN=CODE:WORDS",
                        help="The selection left open in the palette for viewer-coding.png; "
                             "its code is the one the Codes page shows.")
    args = parser.parse_args()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "reltext.cli", "--db", args.db, "view", "--port", str(port),
         "--reviewer", "alice"], env=dict(os.environ, PYTHONPATH=str(ROOT)))
    url = f"http://127.0.0.1:{port}/"
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(url + "_stcore/health", timeout=2)
                break
            except OSError:
                time.sleep(0.3)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium",
                                                 args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            shots = [("corpus", "", "Corpus"), ("transcript", f"?transcript={args.transcript}",
                     None), ("review", "", "Review"), ("agreement", "", "Agreement"),
                     ("analysis", "", "Analysis")]
            for name, query, label in shots if args.only != "coding" else []:
                page.goto(url + query)
                page.wait_for_selector("[data-testid=stSidebar]", timeout=30_000)
                if label:
                    page.get_by_text(label, exact=True).first.click()
                page.wait_for_timeout(3000)
                page.screenshot(path=str(args.out / f"viewer-{name}.png"))
            if args.only != "pages" and args.show:
                code_by_hand(page, url, args)
            browser.close()
    finally:
        server.terminate()
        server.wait(20)


def code_by_hand(page, url: str, args: argparse.Namespace) -> None:
    """Code turns by selecting their words, then shoot the palette and the Codes page."""
    page.goto(url + f"?transcript={args.transcript}")
    page.wait_for_selector(".reltext-turn", timeout=30_000)
    for item in [*args.code_by_hand, args.show]:
        turn, _, rest = item.partition("=")
        code, _, words = rest.partition(":")
        turn_text = page.locator(f".reltext-turn[data-turn-id='{turn}'] .reltext-text")
        turn_text.scroll_into_view_if_needed()
        turn_text.evaluate(SELECT_WORDS, words)
        page.wait_for_selector(".reltext-palette")
        page.keyboard.type(code)
        if item is args.show:
            page.wait_for_timeout(500)
            page.screenshot(path=str(args.out / "viewer-coding.png"))
        page.keyboard.press("Enter")
        page.keyboard.press("Enter")
        page.wait_for_selector(f"text=Added {code}", timeout=20_000)
    page.locator("[data-testid=stSidebar]").get_by_text("Codes", exact=True).click()
    page.get_by_label("Code", exact=True).click()
    page.get_by_role("option", name=args.show.partition("=")[2].partition(":")[0],
                     exact=True).click()
    page.wait_for_selector(".reltext-quote", timeout=20_000)
    page.get_by_label("Coder", exact=True).click()  # the codes alice made by hand
    page.get_by_role("option", name="human:alice", exact=True).click()
    page.keyboard.press("Escape")
    page.set_viewport_size({"width": 1400, "height": 1350})
    page.wait_for_timeout(3000)
    page.screenshot(path=str(args.out / "viewer-codes.png"))


# Selects the given words of a turn's text as a mouse drag would, and lets go.
SELECT_WORDS = """(text, words) => {
  const at = text.textContent.indexOf(words);
  const walker = document.createTreeWalker(text, NodeFilter.SHOW_TEXT);
  const range = document.createRange();
  let node, seen = 0, started = false;
  while ((node = walker.nextNode())) {
    const length = node.textContent.length;
    if (!started && at < seen + length) { range.setStart(node, at - seen); started = true; }
    if (started && at + words.length <= seen + length) {
      range.setEnd(node, at + words.length - seen);
      break;
    }
    seen += length;
  }
  window.getSelection().removeAllRanges();
  window.getSelection().addRange(range);
  text.dispatchEvent(new MouseEvent("mouseup", { bubbles: true }));
}"""


if __name__ == "__main__":
    main()
