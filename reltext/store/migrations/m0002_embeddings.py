"""Sentence embeddings of turns (or parts of turns), cached per model."""

from sqlalchemy import Connection, text

STATEMENTS = [
    # One vector per model and span of a turn; a whole turn is the span (0, len(text)).
    # Turn texts never change (a new version of a transcript makes new turns), so the
    # key alone says whether a cached vector still fits.
    """CREATE TABLE embeddings (
        turn_pk INTEGER NOT NULL REFERENCES turns (pk) ON DELETE CASCADE,
        model TEXT NOT NULL,
        start_char INTEGER NOT NULL,
        end_char INTEGER NOT NULL,
        dimensions INTEGER NOT NULL,
        vector BLOB NOT NULL,
        created_at TEXT NOT NULL,
        PRIMARY KEY (model, turn_pk, start_char, end_char)
    )""",
    "CREATE INDEX ix_embeddings_turn ON embeddings (turn_pk)",
]


def upgrade(connection: Connection) -> None:
    for statement in STATEMENTS:
        connection.execute(text(statement))
