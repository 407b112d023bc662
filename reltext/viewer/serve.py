"""The viewer's server, ready before the first browser connects.

``streamlit run`` imports an app's modules when the first page is asked for: pandas, plotly
and the viewer take a second or two, and the analyses then read every coded turn. This
module imports them first, starts that reading and the web workers (see
:func:`reltext.viewer.analysis.warm`), then runs Streamlit in this same process, so the
first page finds them loaded. ``reltext view`` runs it as
``python -m reltext.viewer.serve SCRIPT [streamlit run options]``.
"""

from __future__ import annotations

import logging
import os
import sys

from ..errors import ReltextError


def prepare() -> None:
    """Load the app and read the coded turns of the project named by ``RELTEXT_DB``."""
    from ..files import resolve_db_path
    from ..project import Project

    # Cached functions are checked as they are defined, before the runtime exists here;
    # Streamlit warns about that, and the caches work all the same once it runs.
    import streamlit  # noqa: F401  (sets up its loggers, quietened below)

    loggers = [logging.getLogger(f"streamlit.runtime.caching.{name}")
               for name in ("cache_data_api", "cache_resource_api")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        from . import analysis, app  # noqa: F401  (imported now rather than on the first page)
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)

    try:
        store = Project(resolve_db_path(os.environ.get("RELTEXT_DB")), create=False).store
    except ReltextError:
        return  # the first page says what is wrong with the project
    analysis.warm(store)
    # Serve once that is done, so the first pages do not share the interpreter with it
    # (about half a second on 50,000 turns; the web workers load on in their own processes).
    analysis.settle()


def main(argv: list[str]) -> None:
    prepare()
    from streamlit.web import cli

    cli.main(["run", *argv], prog_name="streamlit")


if __name__ == "__main__":
    main(sys.argv[1:])
