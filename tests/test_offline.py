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
    if shutil.which("unshare") is None:
        return False
    return subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0


pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not unshare_available(),
                       reason="needs 'unshare -n' (util-linux, and the right to make namespaces)"),
]


def offline(*args: str, db: Path, cwd: Path) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items()
           if key not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}  # no safety net
    env["PYTHONPATH"] = str(ROOT)
    result = subprocess.run(["unshare", "-n", *RELTEXT, "--db", str(db), *args],
                            capture_output=True, text=True, cwd=cwd, env=env, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    return result


def test_offline_ingest_and_export(tmp_path):
    db = tmp_path / "offline.db"
    offline("ingest", str(ROOT / "corpora"), "--manifest", str(ROOT / "corpora/manifest.yaml"),
            db=db, cwd=tmp_path)
    listing = offline("transcripts", db=db, cwd=tmp_path)
    assert "17 transcripts, 820 turns" in listing.stdout
    offline("export", "turns", "--out", str(tmp_path / "turns.csv"), db=db, cwd=tmp_path)
    assert (tmp_path / "turns.csv").stat().st_size > 0
