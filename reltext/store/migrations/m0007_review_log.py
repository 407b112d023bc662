"""One review log: decisions and answers in the one order they were made.

A reviewer's decisions on codings (m0004) and answers to the learned coder's questions
(m0005) are two append-only tables, but one sequence of acts: the undo takes back the latest
of either kind. Timestamps are stored to the second, so time alone cannot order two acts of
one second; ``review_entries`` gives every row a place in one sequence, filled by triggers as
rows are appended. Rows made before this migration are placed in time order, each table's
rows in their own order (acts of one second across tables: decisions first), so within
each table the sequence follows the rows' keys.

``answers.undoes`` names the answer an undo takes back, as ``decisions.undoes`` does for
decisions; an undo of an answer before this migration withdrew the latest answer on its pair,
which it is backfilled to name.

``review_log`` is every entry of both kinds in that order: ``seq, kind`` (``decision`` or
``answer``), ``pk`` (the row in its table), ``entry_id`` (decision or answer id),
``reviewer, at, turn_pk, code``, ``action`` (a decision's verdict; ``answer`` or ``undo``),
``leaves`` (the state a decision leaves its coding in; ``applies``, ``does not apply`` or
``withdrawn`` for an answer) and ``undoes``.
"""

from sqlalchemy import Connection, text

STATEMENTS = [
    """CREATE TABLE review_entries (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        kind TEXT NOT NULL CHECK (kind IN ('decision', 'answer')),
        entry_pk INTEGER NOT NULL,
        UNIQUE (kind, entry_pk)
    )""",
    "ALTER TABLE answers ADD COLUMN undoes TEXT",
    "CREATE INDEX ix_answers_undoes ON answers (undoes)",
    """UPDATE answers SET undoes = (
        SELECT b.answer_id FROM answers b WHERE b.turn_pk = answers.turn_pk
        AND b.code = answers.code AND b.reviewer = answers.reviewer AND b.pk < answers.pk
        ORDER BY b.pk DESC LIMIT 1) WHERE applies IS NULL""",
    # A row's time is the latest up to it in its table, so each table keeps its own order.
    """INSERT INTO review_entries (kind, entry_pk)
        SELECT kind, pk FROM (
            SELECT 'decision' AS kind, pk, MAX(decided_at) OVER (ORDER BY pk) AS at, 0 AS side
            FROM decisions
            UNION ALL SELECT 'answer', pk, MAX(answered_at) OVER (ORDER BY pk), 1 FROM answers)
        ORDER BY at, side, pk""",
    """CREATE TRIGGER review_entries_decision AFTER INSERT ON decisions BEGIN
        INSERT INTO review_entries (kind, entry_pk) VALUES ('decision', NEW.pk); END""",
    """CREATE TRIGGER review_entries_answer AFTER INSERT ON answers BEGIN
        INSERT INTO review_entries (kind, entry_pk) VALUES ('answer', NEW.pk); END""",
    """CREATE TRIGGER review_entries_decision_gone AFTER DELETE ON decisions BEGIN
        DELETE FROM review_entries WHERE kind = 'decision' AND entry_pk = OLD.pk; END""",
    """CREATE TRIGGER review_entries_answer_gone AFTER DELETE ON answers BEGIN
        DELETE FROM review_entries WHERE kind = 'answer' AND entry_pk = OLD.pk; END""",
    """CREATE VIEW review_log AS
        SELECT e.seq, e.kind, d.pk, d.decision_id AS entry_id, d.reviewer,
            d.decided_at AS at, c.turn_pk, d.code, d.verdict AS action, d.state AS leaves,
            d.undoes
        FROM review_entries e JOIN decision_log d ON d.pk = e.entry_pk
        JOIN codings c ON c.pk = d.coding_pk WHERE e.kind = 'decision'
        UNION ALL
        SELECT e.seq, e.kind, a.pk, a.answer_id, a.reviewer, a.answered_at, a.turn_pk, a.code,
            CASE WHEN a.undoes IS NULL THEN 'answer' ELSE 'undo' END,
            CASE a.applies WHEN 1 THEN 'applies' WHEN 0 THEN 'does not apply'
                ELSE 'withdrawn' END,
            a.undoes
        FROM review_entries e JOIN answers a ON a.pk = e.entry_pk WHERE e.kind = 'answer'""",
]


def upgrade(connection: Connection) -> None:
    for statement in STATEMENTS:
        connection.execute(text(statement))
