"""The GUIDs reltext writes into REFI-QDA files, from one namespace.

A code keeps one GUID whichever file carries it, so a ``.qdc`` codebook and a ``.qdpx``
project exported from one reltext project line up in NVivo, ATLAS.ti or MAXQDA.
"""

from __future__ import annotations

import uuid

# Fixed for ever: changing it would give every exported thing a new identity.
RELTEXT_NS = uuid.UUID("6f1c3e52-8a4b-5d0e-9b7a-2c1d4e5f6a7b")


def code_guid(codebook_name: str, code_key: str) -> str:
    """A code's GUID: the same codebook and key give the same GUID in every export."""
    return str(uuid.uuid5(RELTEXT_NS, f"{codebook_name}/{code_key}"))


def guid(kind: str, key: str) -> str:
    """The GUID of any other thing reltext exports (a source, user, note, coding ...)."""
    return str(uuid.uuid5(RELTEXT_NS, f"{kind}:{key}"))
