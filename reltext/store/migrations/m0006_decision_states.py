"""Decision states: the one rule for what state a coding is in.

Decisions are appended, never updated. ``decision_log`` is every decision with ``state``, the
state it leaves its coding in: the recorded ``status`` (m0004), or for older and imported
decisions the one their verdict implies; a decision that leaves no state (an old memo) has
NULL. A coding's state is its latest decision that leaves one:

- ``reviewer_states``: each reviewer's standing decision on each coding they decided;
- ``coding_states``: the standing decision on each coding, whoever made it.

An undo records the state it restores, so an undone accept is ``pending`` in both views.
"""

from sqlalchemy import Connection, text

STATEMENTS = [
    """CREATE VIEW decision_log AS
        SELECT d.*, COALESCE(d.status, CASE d.verdict WHEN 'accept' THEN 'accepted'
            WHEN 'reject' THEN 'rejected' WHEN 'correct' THEN 'corrected' END) AS state
        FROM decisions d""",
    """CREATE VIEW reviewer_states AS
        SELECT * FROM decision_log d WHERE d.state IS NOT NULL AND d.pk = (
            SELECT MAX(e.pk) FROM decision_log e WHERE e.coding_pk = d.coding_pk
            AND e.reviewer = d.reviewer AND e.state IS NOT NULL)""",
    """CREATE VIEW coding_states AS
        SELECT * FROM decision_log d WHERE d.state IS NOT NULL AND d.pk = (
            SELECT MAX(e.pk) FROM decision_log e WHERE e.coding_pk = d.coding_pk
            AND e.state IS NOT NULL)""",
]


def upgrade(connection: Connection) -> None:
    for statement in STATEMENTS:
        connection.execute(text(statement))
