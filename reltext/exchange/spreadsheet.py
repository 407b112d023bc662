"""Cells a spreadsheet would run as formulas, made inert in every CSV reltext writes.

Excel, LibreOffice and Google Sheets read a cell that starts with ``=``, ``+``, ``-``,
``@``, a tab or a carriage return as a formula, so ``=HYPERLINK(...)`` in a speaker's name
or a manifest value would run on the machine of whoever opens an export. As OWASP's
"CSV Injection" advice says, such a cell gets a leading ``'``, which spreadsheets take as
"this is text" and do not show. Scripts that want the raw text ask for it
(``--keep-formulas``), or read Parquet or JSON lines, which are never changed.

Example:
    >>> inert("=HYPERLINK(\\"http://example.org\\")")
    '\\'=HYPERLINK("http://example.org")'
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def inert(value: Any) -> Any:
    """``value`` with a ``'`` before it when it is text a spreadsheet would run (or text
    that already starts so, which :func:`restored` would otherwise shorten)."""
    if isinstance(value, str) and value.lstrip("'").startswith(FORMULA_STARTS):
        return "'" + value
    return value


def restored(value: str) -> str:
    """The text :func:`inert` was given, for files reltext reads back (a pseudonym key)."""
    if value.startswith("'") and value.lstrip("'").startswith(FORMULA_STARTS):
        return value[1:]
    return value


def inert_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells (and column names) are inert."""
    import pandas as pd

    frame = frame.copy()
    frame.columns = [inert(name) for name in frame.columns]
    for index, dtype in enumerate(frame.dtypes):
        if dtype == object or isinstance(dtype, pd.StringDtype):
            frame.iloc[:, index] = frame.iloc[:, index].map(inert)
    return frame


def csv_bytes(frame: pd.DataFrame, *, keep_formulas: bool = False) -> bytes:
    """``frame`` as UTF-8 CSV, formulas made inert unless ``keep_formulas``."""
    return (frame if keep_formulas else inert_frame(frame)).to_csv(index=False).encode("utf-8")
