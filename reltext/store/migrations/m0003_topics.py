"""Topic models: the topics of each topics run and the topic of every unit it modelled."""

from sqlalchemy import Connection, text

STATEMENTS = [
    # The run itself (parameters, seed, versions, model folder) is a row of ``runs``.
    """CREATE TABLE topics (
        run_pk INTEGER NOT NULL REFERENCES runs (pk) ON DELETE CASCADE,
        topic_id INTEGER NOT NULL,
        size INTEGER NOT NULL,
        label TEXT NOT NULL,
        words TEXT NOT NULL DEFAULT '[]',
        coherence REAL,
        PRIMARY KEY (run_pk, topic_id)
    )""",
    # A unit is a whole turn or a sentence of it (start_char/end_char into the turn text).
    # ``representative`` ranks the units that best show their topic (1 = best), else NULL.
    """CREATE TABLE topic_assignments (
        run_pk INTEGER NOT NULL REFERENCES runs (pk) ON DELETE CASCADE,
        turn_pk INTEGER NOT NULL REFERENCES turns (pk) ON DELETE CASCADE,
        start_char INTEGER NOT NULL,
        end_char INTEGER NOT NULL,
        topic_id INTEGER NOT NULL,
        probability REAL,
        representative INTEGER,
        PRIMARY KEY (run_pk, turn_pk, start_char)
    )""",
    "CREATE INDEX ix_topic_assignments_topic ON topic_assignments (run_pk, topic_id)",
    "CREATE INDEX ix_topic_assignments_turn ON topic_assignments (turn_pk)",
]


def upgrade(connection: Connection) -> None:
    for statement in STATEMENTS:
        connection.execute(text(statement))
