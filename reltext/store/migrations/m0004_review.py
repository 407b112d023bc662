"""Review: each decision records the state it leaves its coding in, and what it undoes.

``status`` (pending, accepted, rejected, corrected, absent) with the decision's ``code`` and
span is the coding's state for that reviewer after the decision, so a coding's status is
read from its latest decision alone; ``undoes`` names the decision an ``undo`` takes back.
The indexes serve the review queue (codings by confidence) and the latest-decision lookups.
"""

from sqlalchemy import Connection, text

STATEMENTS = [
    "ALTER TABLE decisions ADD COLUMN status TEXT",
    "ALTER TABLE decisions ADD COLUMN undoes TEXT",
    "CREATE INDEX ix_decisions_coding_reviewer ON decisions (coding_pk, reviewer, pk)",
    "CREATE INDEX ix_decisions_reviewer_order ON decisions (reviewer, pk)",
    "CREATE INDEX ix_codings_confidence ON codings (confidence)",
    "CREATE INDEX ix_decisions_undoes ON decisions (undoes)",
]


def upgrade(connection: Connection) -> None:
    for statement in STATEMENTS:
        connection.execute(text(statement))
