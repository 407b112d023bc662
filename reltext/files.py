"""Files in and out: where the project file is, an input read whole or refused in one line,
and output written so that a failed or killed write never leaves half a file."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import ReltextError

DEFAULT_DB = "reltext.db"


def resolve_db_path(db: str | os.PathLike[str] | None) -> Path:
    """The project file: ``db`` if given, else ``$RELTEXT_DB``, else ``reltext.db`` here."""
    return Path(db or os.environ.get("RELTEXT_DB") or DEFAULT_DB)


def read_input(path: str | Path, what: str, *, fix: str,
               error: type[ReltextError] = ReltextError) -> bytes:
    """The bytes of an input file; ``error`` ("cannot read the <what> (reason)") if it cannot
    be read."""
    path = Path(path)
    try:
        return path.read_bytes()
    except OSError as failure:
        raise error(f"cannot read the {what} ({failure.strerror})", path=path,
                    fix=fix) from failure


def check_folder(out: str | Path, *, fix: str = "Create it first, or write the file elsewhere."
                 ) -> Path:
    """The folder ``out`` will be written to, checked before any long work starts.

    Raises:
        ReltextError: the folder does not exist.
    """
    out = Path(out)
    folder = out.parent if str(out.parent) else Path(".")
    if not folder.is_dir():
        raise ReltextError("the folder does not exist", path=folder, fix=fix)
    return folder


@contextmanager
def atomic_path(out: str | Path, *, private: bool = False) -> Iterator[Path]:
    """A temporary path beside ``out`` that replaces ``out`` when the block succeeds.

    Args:
        out: The file to write.
        private: Keep the file readable by its owner only (a pseudonymisation key);
            otherwise it gets the usual permissions (``0o666`` less the umask).

    Raises:
        ReltextError: the folder does not exist.
    """
    out = Path(out)
    folder = check_folder(out)
    descriptor, name = tempfile.mkstemp(dir=folder, prefix=f".{out.name}.", suffix=".tmp")
    os.close(descriptor)
    temporary = Path(name)
    try:
        yield temporary
        if not private:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(temporary, 0o666 & ~umask)
        os.replace(temporary, out)
    finally:
        temporary.unlink(missing_ok=True)


def write_text(out: str | Path, content: str | bytes) -> Path:
    """Write ``content`` to ``out`` atomically (UTF-8 for text)."""
    with atomic_path(out) as temporary:
        if isinstance(content, bytes):
            temporary.write_bytes(content)
        else:
            temporary.write_text(content, encoding="utf-8")
    return Path(out)
