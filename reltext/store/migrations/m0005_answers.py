"""Answers: a reviewer's yes or no to the learned coder's question "does this code apply here?".

The review queue of the learned coder asks about (turn, code) pairs that have no coding to
accept or reject: turns it is unsure of. An answer is kept per turn, code and reviewer,
append-only like decisions: the latest row counts, and ``applies`` NULL withdraws an answer
(an undo). ``model_id`` and ``probability`` record what asked and how sure it was.
"""

from sqlalchemy import Connection, text

STATEMENTS = [
    """CREATE TABLE answers (
        pk INTEGER PRIMARY KEY AUTOINCREMENT,
        answer_id TEXT NOT NULL UNIQUE,
        turn_pk INTEGER NOT NULL REFERENCES turns (pk),
        code TEXT NOT NULL,
        reviewer TEXT NOT NULL,
        applies INTEGER,
        model_id TEXT,
        probability REAL,
        answered_at TEXT NOT NULL
    )""",
    "CREATE INDEX ix_answers_pair ON answers (turn_pk, code, reviewer, pk)",
    "CREATE INDEX ix_answers_reviewer ON answers (reviewer, pk)",
]


def upgrade(connection: Connection) -> None:
    for statement in STATEMENTS:
        connection.execute(text(statement))
