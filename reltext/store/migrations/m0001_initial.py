"""The first schema: transcripts and their versions, turns, codebooks, runs, codings, decisions."""

from sqlalchemy import Connection, text

STATEMENTS = [
    # One row per version of a transcript; only one version of each id is current.
    """CREATE TABLE transcripts (
        pk INTEGER PRIMARY KEY AUTOINCREMENT,
        transcript_id TEXT NOT NULL,
        version INTEGER NOT NULL,
        is_current INTEGER NOT NULL DEFAULT 1,
        source TEXT NOT NULL DEFAULT '',
        format TEXT NOT NULL,
        content_hash TEXT NOT NULL,
        text TEXT NOT NULL,
        meta TEXT NOT NULL DEFAULT '{}',
        ingested_at TEXT NOT NULL,
        UNIQUE (transcript_id, version)
    )""",
    "CREATE INDEX ix_transcripts_current ON transcripts (is_current, transcript_id)",
    "CREATE INDEX ix_transcripts_source ON transcripts (source)",
    """CREATE TABLE turns (
        pk INTEGER PRIMARY KEY AUTOINCREMENT,
        transcript_pk INTEGER NOT NULL REFERENCES transcripts (pk) ON DELETE CASCADE,
        turn_id TEXT NOT NULL,
        position INTEGER NOT NULL,
        speaker TEXT NOT NULL,
        role TEXT NOT NULL DEFAULT '',
        start_char INTEGER NOT NULL,
        end_char INTEGER NOT NULL,
        text TEXT NOT NULL,
        timestamp TEXT,
        end_timestamp TEXT,
        meta TEXT NOT NULL DEFAULT '{}',
        UNIQUE (transcript_pk, turn_id)
    )""",
    "CREATE INDEX ix_turns_transcript ON turns (transcript_pk, position)",
    """CREATE TABLE codebooks (
        pk INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL,
        version TEXT NOT NULL,
        content_hash TEXT NOT NULL,
        source TEXT NOT NULL DEFAULT '',
        content TEXT NOT NULL,
        loaded_at TEXT NOT NULL,
        UNIQUE (name, version, content_hash)
    )""",
    """CREATE TABLE codes (
        pk INTEGER PRIMARY KEY AUTOINCREMENT,
        codebook_pk INTEGER NOT NULL REFERENCES codebooks (pk) ON DELETE CASCADE,
        key TEXT NOT NULL,
        name TEXT NOT NULL,
        parent TEXT,
        family TEXT,
        polarity TEXT NOT NULL DEFAULT 'neutral',
        colour TEXT,
        definition TEXT NOT NULL DEFAULT '',
        UNIQUE (codebook_pk, key)
    )""",
    # Every piece of work that writes to the project, with its manifest and its state.
    """CREATE TABLE runs (
        pk INTEGER PRIMARY KEY AUTOINCREMENT,
        run_id TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL,
        coder TEXT,
        status TEXT NOT NULL,
        manifest TEXT NOT NULL DEFAULT '{}',
        started_at TEXT NOT NULL,
        finished_at TEXT
    )""",
    """CREATE TABLE codings (
        pk INTEGER PRIMARY KEY AUTOINCREMENT,
        coding_id TEXT NOT NULL UNIQUE,
        turn_pk INTEGER NOT NULL REFERENCES turns (pk) ON DELETE CASCADE,
        code TEXT NOT NULL,
        start_char INTEGER NOT NULL,
        end_char INTEGER NOT NULL,
        confidence REAL,
        coder TEXT NOT NULL,
        origin TEXT NOT NULL,
        evidence TEXT,
        run_pk INTEGER REFERENCES runs (pk),
        created_at TEXT NOT NULL
    )""",
    "CREATE INDEX ix_codings_turn ON codings (turn_pk)",
    "CREATE INDEX ix_codings_coder ON codings (coder, code)",
    # Which coder has coded which turn, codes found or not: a human row with no codings
    # means "coded, nothing applies"; a coder skips the turns it has done already.
    """CREATE TABLE coded_turns (
        turn_pk INTEGER NOT NULL REFERENCES turns (pk) ON DELETE CASCADE,
        coder TEXT NOT NULL,
        run_pk INTEGER REFERENCES runs (pk),
        coded_at TEXT NOT NULL,
        PRIMARY KEY (coder, turn_pk)
    )""",
    # Review decisions are appended, never updated: a coding's status is its latest one.
    """CREATE TABLE decisions (
        pk INTEGER PRIMARY KEY AUTOINCREMENT,
        decision_id TEXT NOT NULL UNIQUE,
        coding_pk INTEGER NOT NULL REFERENCES codings (pk) ON DELETE CASCADE,
        reviewer TEXT NOT NULL,
        verdict TEXT NOT NULL,
        code TEXT,
        start_char INTEGER,
        end_char INTEGER,
        note TEXT,
        previous TEXT,
        decided_at TEXT NOT NULL
    )""",
    "CREATE INDEX ix_decisions_coding ON decisions (coding_pk, pk)",
    "CREATE INDEX ix_decisions_reviewer ON decisions (reviewer)",
]


def upgrade(connection: Connection) -> None:
    for statement in STATEMENTS:
        connection.execute(text(statement))
