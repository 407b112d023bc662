"""Trained models: one row per fitted learned coder, with the manifest of how it was made."""

from sqlalchemy import Connection, text

STATEMENTS = [
    # The model's files live in a folder beside the project (``<db>.models/learned/<id>/``);
    # ``path`` is relative to the project file's folder so a moved project keeps its models.
    """CREATE TABLE models (
        pk INTEGER PRIMARY KEY AUTOINCREMENT,
        model_id TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL,
        coder TEXT NOT NULL,
        path TEXT NOT NULL,
        run_pk INTEGER REFERENCES runs (pk),
        manifest TEXT NOT NULL DEFAULT '{}',
        created_at TEXT NOT NULL
    )""",
    "CREATE INDEX ix_models_kind ON models (kind, pk)",
]


def upgrade(connection: Connection) -> None:
    for statement in STATEMENTS:
        connection.execute(text(statement))
