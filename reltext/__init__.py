"""reltext: relational coding of interview transcripts for qualitative research.

Example:
    >>> import reltext
    >>> project = reltext.Project("study.db")
    >>> project.ingest(["transcripts/"])
"""

from typing import TYPE_CHECKING, Any

from .errors import CodebookError, ReltextError, TranscriptFormatError
from .model import Coding, Origin, Transcript, Turn

if TYPE_CHECKING:
    from .project import Project
    from .corpus.readers import read_transcripts

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    # Loaded on first use: a process that needs one module (a viewer's web worker, a batch
    # worker) need not import scikit-learn and the readers with the package.
    if name == "Project":
        from .project import Project

        return Project
    if name == "read_transcripts":
        from .corpus.readers import read_transcripts

        return read_transcripts
    raise AttributeError(f"module 'reltext' has no attribute {name!r}")

__all__ = [
    "CodebookError",
    "Coding",
    "Origin",
    "Project",
    "ReltextError",
    "Transcript",
    "TranscriptFormatError",
    "Turn",
    "read_transcripts",
    "__version__",
]
