"""What reltext reads of a received project: its own files, within limits, and nothing else.

A ``.qdpx`` (like a ``.docx`` or ``.xlsx``) is a ZIP archive from someone else. Its members
are read only when a source names them, by a name that stays inside the archive, and are
streamed under two limits: a size cap and a compression-ratio cap, so that a zip bomb is
refused with one error instead of filling the memory. A bare ``.qde`` reads its sources
from the ``sources/`` folder beside it. External sources (``relative://``, ``absolute://``,
``file://``) would let a project read any file of the user's disk; they are refused unless
the user names a folder to read them from, and then only that folder is read.
"""

from __future__ import annotations

import zipfile
import zlib
from pathlib import Path, PurePosixPath, PureWindowsPath
from urllib.parse import unquote, urlsplit

from ...errors import ReltextError

# A transcript of a million words is about 6 MB and its REFI-QDA project rarely more than a
# few tens: these limits leave ample room. Text deflates 3 to 10 times; a bomb 1000 times.
MAX_MEMBER_BYTES = 256 * 2**20
MAX_COMPRESSION_RATIO = 100
RATIO_FREE_BYTES = 2**20  # small members may compress as well as they like
_CHUNK = 2**20


def check_members(archive: zipfile.ZipFile, path: str | Path) -> None:
    """Refuse an archive with a member over the limits, from its declared sizes.

    Python's ``zipfile`` never unpacks more than a member's declared size, so this check
    bounds what a library reading the archive (python-docx, openpyxl) can unpack.

    Raises:
        ReltextError: a member is over a limit or encrypted.
    """
    for info in archive.infolist():
        _check_declared(info, path)


def read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, path: str | Path) -> bytes:
    """A member's bytes, streamed and counted against the limits as they are unpacked.

    Raises:
        ReltextError: the member is over a limit, encrypted, or damaged.
    """
    limit = _check_declared(info, path)
    chunks, total = [], 0
    try:
        with archive.open(info) as handle:
            while chunk := handle.read(_CHUNK):
                total += len(chunk)
                if total > limit:
                    raise _too_big(info, path, unpacked=f"more than {_size(limit)}")
                chunks.append(chunk)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as error:
        raise ReltextError(f"the member {info.filename!r} of the archive is damaged or "
                           f"packed in a way reltext cannot read ({error})", path=path,
                           fix="Export the project again.") from error
    return b"".join(chunks)


def read_file(file: Path, path: str | Path) -> bytes:
    """A file on disk that reltext was told to read, refused over the size cap."""
    try:
        if file.stat().st_size > MAX_MEMBER_BYTES:
            raise ReltextError(f"{file} is larger than {_size(MAX_MEMBER_BYTES)}", path=path,
                               fix="Check that it is the text source the project names.")
        return file.read_bytes()
    except OSError as error:
        raise ReltextError(f"cannot read {file} ({error.strerror})", path=path,
                           fix="Check the file and its permissions.") from error


def safe_name(name: str) -> str | None:
    """``name`` as a relative POSIX path that stays inside its folder, or None.

    Backslashes count as separators (Windows tools write them); absolute paths, drive
    letters and ``..`` do not stay inside.
    """
    name = name.replace("\\", "/")
    parts = PurePosixPath(name).parts
    if (not parts or name.startswith("/") or ":" in parts[0] or "\x00" in name
            or any(part == ".." for part in parts)):
        return None
    return "/".join(part for part in parts if part != ".")


def external_file(location: str, scheme: str, rest: str, folder: Path, *, source: str,
                  path: str | Path) -> bytes:
    """An external source, read from ``folder`` only: a relative path under it, an
    absolute path or ``file://`` URI by its file name in it.

    Raises:
        ReltextError: the file is not in the folder (or would lie outside it).
    """
    if scheme == "relative":
        relative = safe_name(unquote(rest))
    else:
        absolute = unquote(urlsplit(location).path) if scheme == "file" else rest
        relative = PureWindowsPath(absolute).name or None  # splits at / and \ alike
    root = folder.resolve()
    candidate = folder / relative if relative else None
    inside = candidate is not None and candidate.resolve().is_relative_to(root)
    if not inside or not candidate.is_file():
        where = f"at {candidate}" if inside else f"inside {folder}"
        raise ReltextError(
            f"source {source!r} is an external file ({location}) that is not {where}",
            path=path,
            fix="Put the file there, or export the project again with its sources included "
            "in the .qdpx.")
    return read_file(candidate, path)


def refuse_external(location: str, *, source: str, path: str | Path) -> ReltextError:
    return ReltextError(
        f"source {source!r} is an external file ({location}); reltext reads a received "
        "project's sources only from inside it",
        path=path,
        fix="Export the project again with its sources included in the .qdpx, or name the "
        "folder that holds its external sources with --external-sources FOLDER.")


def _check_declared(info: zipfile.ZipInfo, path: str | Path) -> int:
    """The most bytes the member may unpack to; raises when it declares more."""
    if info.flag_bits & 0x1:
        raise ReltextError(f"the member {info.filename!r} of the archive is encrypted",
                           path=path, fix="Export the project again without a password.")
    limit = min(MAX_MEMBER_BYTES,
                max(RATIO_FREE_BYTES, MAX_COMPRESSION_RATIO * info.compress_size))
    if info.file_size > limit:
        raise _too_big(info, path, unpacked=_size(info.file_size))
    return limit


def _too_big(info: zipfile.ZipInfo, path: str | Path, *, unpacked: str) -> ReltextError:
    return ReltextError(
        f"the member {info.filename!r} of the archive unpacks to {unpacked} from "
        f"{_size(info.compress_size)}, over reltext's limits ({_size(MAX_MEMBER_BYTES)}, "
        f"and at most {MAX_COMPRESSION_RATIO} times its packed size): it looks like a zip "
        "bomb and was not read",
        path=path, fix="Remove that member from the archive, or export the project again.")


def _size(count: int) -> str:
    for unit in ("bytes", "KiB", "MiB"):
        if count < 1024:
            return f"{count} {unit}" if unit == "bytes" else f"{count:.1f} {unit}"
        count /= 1024
    return f"{count:.1f} GiB"
