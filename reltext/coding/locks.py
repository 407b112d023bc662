"""A lock beside the project that one process holds while it codes.

The operating system releases it when the process ends, however it ends (``kill -9`` and
power cuts included), so a lock left behind never blocks the next run, and a run that
finds the lock held knows that another process really is coding.

Example:
    >>> with project_lock(store.path, "coding"):
    ...     ...   # no other process of this project is coding now
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class LockHeld(Exception):
    """Another process holds the lock."""


@contextmanager
def project_lock(db_path: Path, name: str) -> Iterator[None]:
    """Hold ``<db>-<name>.lock`` (named like SQLite's ``<db>-wal``) for the block; raise
    :class:`LockHeld` when another process holds it. Where the file system cannot lock,
    the block runs unlocked."""
    lock_path = db_path.with_name(f"{db_path.name}-{name}.lock")
    with open(lock_path, "a+b") as handle:
        if not _try_lock(handle.fileno()):
            raise LockHeld(str(lock_path))
        yield


if os.name == "nt":
    import msvcrt

    def _try_lock(descriptor: int) -> bool:
        try:
            msvcrt.locking(descriptor, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
else:
    import errno
    import fcntl

    def _try_lock(descriptor: int) -> bool:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            if error.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                return False
            return True  # no locking on this file system (ENOLCK, EOPNOTSUPP)
        return True
