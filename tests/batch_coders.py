"""A tiny keyword coder for the batch-run tests: real enough to check where codings land."""

from __future__ import annotations

import re
import time

WORDS = {"trust": "trust", "hope": "hope", "alone": "isolation"}


class KeywordCoder:
    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay

    def code_turns(self, turns):
        time.sleep(self.delay)
        codings = []
        for turn in turns:
            for match in re.finditer(r"\b(trust|hope|alone)\b", turn["text"]):
                codings.append({"turn_pk": turn["turn_pk"], "code": WORDS[match.group(1)],
                                "start_char": match.start(), "end_char": match.end(),
                                "confidence": 1.0, "evidence": f"kw:{match.group(1)}",
                                "origin": "rule"})
        return codings


def make_coder(delay: float = 0.0) -> KeywordCoder:
    return KeywordCoder(delay)


class FragileCoder(KeywordCoder):
    """Fails on any batch holding a turn that says ``BOOM`` (or on every turn, ``always``)."""

    def __init__(self, always: bool = False) -> None:
        super().__init__()
        self.always = always

    def code_turns(self, turns):
        if self.always or any("BOOM" in turn["text"] for turn in turns):
            raise ValueError("[E088] Text of length 1000001 exceeds maximum of 1000000.")
        return super().code_turns(turns)


class PidCoder(KeywordCoder):
    """Writes its worker's process id to ``folder``, then codes slowly."""

    def __init__(self, folder: str, delay: float) -> None:
        import os
        from pathlib import Path

        super().__init__(delay)
        (Path(folder) / str(os.getpid())).touch()


class GatedCoder(KeywordCoder):
    """Codes its first batch at once and each later one only once ``gate`` exists."""

    def __init__(self, gate: str) -> None:
        super().__init__()
        self.gate = gate
        self.batches = 0

    def code_turns(self, turns):
        from pathlib import Path

        self.batches += 1
        while self.batches > 1 and not Path(self.gate).exists():
            time.sleep(0.05)
        return super().code_turns(turns)
