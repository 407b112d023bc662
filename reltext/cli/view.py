"""``reltext view``: the review viewer in the browser, served on this machine only."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from ..errors import MissingExtraError
from ..files import resolve_db_path
from ..review.decisions import check_reviewer
from . import CONTEXT_SETTINGS, db_option, main, open_project

PACKAGE = Path(__file__).resolve().parent.parent


def app_script() -> Path:
    """The viewer script: ``app/streamlit_app.py`` in a source checkout, else the package's."""
    checkout = PACKAGE.parent / "app" / "streamlit_app.py"
    return checkout if checkout.is_file() else PACKAGE / "viewer" / "app.py"


def streamlit_command(script: Path, *, host: str, port: int) -> list[str]:
    """``streamlit run`` bound to ``host``, headless, telemetry off, nothing fetched; through
    :mod:`reltext.viewer.serve`, which loads the app before the first page is asked for."""
    return [
        sys.executable, "-m", "reltext.viewer.serve", str(script),
        "--server.address", host, "--server.port", str(port),
        "--server.headless", "true", "--browser.gatherUsageStats", "false",
        "--server.fileWatcherType", "none", "--global.developmentMode", "false",
        "--client.toolbarMode", "minimal",
    ]


@main.command(context_settings=CONTEXT_SETTINGS)
@click.option("--port", default=8501, show_default=True, type=click.IntRange(1, 65535),
              help="Port to serve on.")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to bind; the default serves this machine only.")
@click.option("--reviewer", default=None, help="Your name as a reviewer (else asked at start).")
@click.option("--blind", is_flag=True,
              help="Hide other reviewers' decisions and codes, for independent double-coding.")
@db_option
def view(port: int, host: str, reviewer: str | None, blind: bool, db: str | None) -> None:
    """Open the review viewer: read transcripts, review auto-codes, see agreement.

    Serves on 127.0.0.1:8501 unless told otherwise; add ?transcript=ID to the address to
    open a transcript. Stop it with Ctrl+C.

    \b
    Example:
        reltext view --reviewer alice
        reltext view --port 8600 --blind --reviewer bob
    """
    try:
        import streamlit  # noqa: F401  (only to fail early with the install command)
    except ImportError as error:
        raise MissingExtraError("streamlit", "app") from error
    project = open_project(db)  # fails with one line when there is no project there
    project.close()
    environment = dict(os.environ)
    environment["RELTEXT_DB"] = str(resolve_db_path(db).resolve())
    if reviewer is not None:
        environment["RELTEXT_REVIEWER"] = check_reviewer(reviewer)
    environment["RELTEXT_BLIND"] = "1" if blind else "0"
    # The app imports reltext: make this copy of it importable wherever it is run from.
    environment["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(PACKAGE.parent), environment.get("PYTHONPATH")]))
    click.echo(f"Serving the review viewer of {environment['RELTEXT_DB']} on "
               f"http://{host}:{port}/ (Ctrl+C stops it).")
    # Become the server (rather than wait on a child), so that stopping this process
    # stops the viewer too.
    command = streamlit_command(app_script(), host=host, port=port)
    os.execve(command[0], command, environment)
