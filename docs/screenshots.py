"""Screenshots of the viewer's main pages in Debian's chromium, for the README.

Serves a project with ``reltext view --reviewer alice`` on a free local port, opens each
page and saves ``docs/viewer-<page>.png``.

Usage:
    PYTHONPATH=. python docs/screenshots.py --db study.db --transcript p01_wave1
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
            for name, query, label in shots:
                page.goto(url + query)
                page.wait_for_selector("[data-testid=stSidebar]", timeout=30_000)
                if label:
                    page.get_by_text(label, exact=True).first.click()
                page.wait_for_timeout(3000)
                page.screenshot(path=str(args.out / f"viewer-{name}.png"))
            browser.close()
    finally:
        server.terminate()
        server.wait(20)


if __name__ == "__main__":
    main()
