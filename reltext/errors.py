"""Errors that reach the user, each saying what is wrong, where, and how to fix it."""

from __future__ import annotations

from pathlib import Path


class ReltextError(Exception):
    """Base class for every error caused by a user's input or settings.

    The command line prints ``str(error)`` after ``Error:`` and exits with status 1.

    Args:
        message: What is wrong, with the offending value.
        path: The file the problem is in, if any.
        line: The 1-based line (or row, or cue) where it applies, if known.
        fix: One sentence telling the user what to do.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | Path | None = None,
        line: int | None = None,
        fix: str | None = None,
    ) -> None:
        self.message = message
        self.path = str(path) if path is not None else None
        self.line = line
        self.fix = fix
        super().__init__(self.__str__())

    def __str__(self) -> str:
        place = ""
        if self.path is not None:
            place = self.path if self.line is None else f"{self.path}, line {self.line}"
            place += ": "
        text = f"{place}{self.message}"
        if self.fix:
            text = f"{text.rstrip('.')}. {self.fix}"
        return text


class TranscriptFormatError(ReltextError, ValueError):
    """A transcript file cannot be read as the format it claims to be."""


class ManifestError(ReltextError, ValueError):
    """A manifest file is malformed or names transcripts that do not exist."""


class CodebookError(ReltextError, ValueError):
    """A codebook file is invalid: a missing field, a bad pattern, an unknown code."""

    def __init__(
        self,
        message: str,
        *,
        path: str | Path | None = None,
        code_key: str | None = None,
        pattern_index: int | None = None,
        line: int | None = None,
        fix: str | None = None,
    ) -> None:
        self.code_key = code_key
        self.pattern_index = pattern_index
        where = []
        if code_key is not None:
            where.append(f"code '{code_key}'")
        if pattern_index is not None:
            where.append(f"pattern {pattern_index}")
        if where:
            message = f"{', '.join(where)}: {message}"
        super().__init__(message, path=path, line=line, fix=fix)


class ProjectError(ReltextError):
    """The project database is missing, locked, or of a newer schema."""


class NotFittedError(ReltextError, ValueError, AttributeError):
    """A learned component was used before it was trained."""


class MissingExtraError(ReltextError, ImportError):
    """An optional dependency is not installed."""

    def __init__(self, package: str, extra: str) -> None:
        super().__init__(
            f"this feature needs the '{package}' package, which is not installed",
            fix=f"Install it with: pip install 'reltext[{extra}]'",
        )
