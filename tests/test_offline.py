"""The whole workflow runs on a machine with no network at all.

Each command runs inside a fresh network namespace with no interfaces (``unshare -n``), so any
attempt to reach a model hub, a font server or a package index fails instead of hanging.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

RELTEXT = [sys.executable, "-m", "reltext.cli"]


def unshare_available() -> bool:
    if not all(shutil.which(tool) for tool in ("unshare", "ip", "curl")):
        return False
    return subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0


pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not unshare_available(),
                       reason="needs 'unshare -n', ip and curl, and the right to make namespaces"),
]


def offline(*args: str, db: Path, cwd: Path) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items()
           if key not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}  # no safety net
    env["PYTHONPATH"] = str(ROOT)
    result = subprocess.run(["unshare", "-n", *RELTEXT, "--db", str(db), *args],
                            capture_output=True, text=True, cwd=cwd, env=env, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    return result


def test_offline_ingest_code_topics_report(tmp_path):
    db = tmp_path / "offline.db"
    offline("ingest", str(ROOT / "corpora"), "--manifest", str(ROOT / "corpora/manifest.yaml"),
            db=db, cwd=tmp_path)
    listing = offline("transcripts", db=db, cwd=tmp_path)
    assert "17 transcripts, 820 turns" in listing.stdout
    offline("code", "--coder", "rules", "--silent", db=db, cwd=tmp_path)
    # MiniLM is the part that would reach for a model hub: it must load from the wheel.
    offline("topics", "--fast", "--embedding", "minilm", "--seed", "1", db=db, cwd=tmp_path)
    offline("report", "--out", str(tmp_path / "report.html"), db=db, cwd=tmp_path)
    offline("export", "turns", "--out", str(tmp_path / "turns.csv"), db=db, cwd=tmp_path)
    assert "<svg" in (tmp_path / "report.html").read_text(encoding="utf-8")


def test_offline_viewer_serves_its_pages(tmp_path):
    db = tmp_path / "viewer.db"
    offline("ingest", str(ROOT / "corpora" / "interviews"), db=db, cwd=tmp_path)
    # Only loopback, brought up inside the namespace: the viewer and its client, nothing else.
    # The server is stopped as a user stops it, and must be gone, web workers included.
    script = (
        "ip link set lo up || exit 1; "
        f"{sys.executable} -m reltext.cli --db {db} view --port 8765 --reviewer offline "
        "> view.log 2>&1 & server=$!; "
        "for i in $(seq 1 60); do "
        "curl -sf http://127.0.0.1:8765/_stcore/health >/dev/null && break; sleep 1; done; "
        "curl -sf http://127.0.0.1:8765/ > page.html; code=$?; "
        "workers=$(pgrep -P $server); kill -TERM $server && wait $server; "
        "for pid in $workers; do kill -0 $pid 2>/dev/null && code=3; done; exit $code"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("HF_HUB_OFFLINE", None)
    result = subprocess.run(["unshare", "-n", "sh", "-c", script], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, (tmp_path / "view.log").read_text()[-2000:]
    assert "<html" in (tmp_path / "page.html").read_text().lower()
