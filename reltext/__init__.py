"""reltext: relational coding of interview transcripts for qualitative research.

Example:
    >>> import reltext
    >>> project = reltext.Project("study.db")
    >>> project.ingest(["transcripts/"])
"""

from .errors import CodebookError, ReltextError, TranscriptFormatError
from .model import Coding, Origin, Transcript, Turn
from .project import Project
from .readers import read_transcripts

__version__ = "0.1.0"

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
