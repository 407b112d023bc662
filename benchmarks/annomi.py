"""The AnnoMI corpus as a reltext turn table (the contract's column names).

Usage:
    python benchmarks/annomi.py annomi-turns.csv
"""

from __future__ import annotations

import csv
from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "shared"
ANNOMI = SHARED / "data" / "annomi" / "AnnoMI-simple.csv"
# AnnoMI column -> turn-table column; the others stay as turn metadata.
RENAME = {"utterance_id": "turn_id", "interlocutor": "speaker", "utterance_text": "text",
          "topic": "subject"}
DROPPED = {"video_url", "video_title"}


def write_turn_table(out: Path, source: Path = ANNOMI) -> int:
    """Write AnnoMI as a turn table with a ``role`` column; returns the number of turns.

    Transcript and turn ids stay AnnoMI's own (``transcript_id``, ``utterance_id``), as in
    the gold standard, so gold codings import onto these turns as they are.
    """
    with source.open(newline="", encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    columns = ["transcript_id", "turn_id", "speaker", "role", "text", "timestamp", "subject",
               "mi_quality", "main_therapist_behaviour", "client_talk_type"]
    with out.open("w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, fieldnames=columns)
        writer.writeheader()
        for row in rows:
            turn = {RENAME.get(key, key): value for key, value in row.items()
                    if key not in DROPPED}
            turn["role"] = turn["speaker"]
            writer.writerow({column: turn.get(column, "") for column in columns})
    return len(rows)


if __name__ == "__main__":
    import sys

    target = Path(sys.argv[1] if len(sys.argv) > 1 else "annomi-turns.csv")
    print(f"Wrote {write_turn_table(target)} turns to {target}.")
