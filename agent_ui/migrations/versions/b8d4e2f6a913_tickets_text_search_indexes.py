"""tickets: text search indexes (SQLite FTS5 trigram, PostgreSQL pg_trgm), customer name index

Revision ID: b8d4e2f6a913
Revises: 9d4b2e7f1a3c
Create Date: 2026-12-01 16:00:00

SQLite: two external-content FTS5 tables with the trigram tokenizer, kept by triggers —
`ticket_fts` (subject, description; rowid = ticket.id) and `ticket_note_fts` (note; rowid =
ticket_event.id, only events with a note). PostgreSQL: the pg_trgm extension and GIN trigram
indexes on ticket.subject, ticket.description and ticket_event.note (ILIKE uses them).

Careful, later migrations: on SQLite a `batch_alter_table("ticket")` that *recreates* the
table (dropping or altering a column) drops these triggers; recreate them afterwards
(`create_sqlite_triggers` below). tests/tickets/test_search.py fails if they are missing.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "b8d4e2f6a913"
down_revision: str | None = "9d4b2e7f1a3c"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE_TRIGGERS = (
    """CREATE TRIGGER ticket_fts_ai AFTER INSERT ON ticket BEGIN
         INSERT INTO ticket_fts(rowid, subject, description) VALUES (new.id, new.subject, new.description);
       END""",
    """CREATE TRIGGER ticket_fts_ad AFTER DELETE ON ticket BEGIN
         INSERT INTO ticket_fts(ticket_fts, rowid, subject, description)
           VALUES ('delete', old.id, old.subject, old.description);
       END""",
    """CREATE TRIGGER ticket_fts_au AFTER UPDATE OF subject, description ON ticket BEGIN
         INSERT INTO ticket_fts(ticket_fts, rowid, subject, description)
           VALUES ('delete', old.id, old.subject, old.description);
         INSERT INTO ticket_fts(rowid, subject, description) VALUES (new.id, new.subject, new.description);
       END""",
    """CREATE TRIGGER ticket_note_fts_ai AFTER INSERT ON ticket_event WHEN new.note <> '' BEGIN
         INSERT INTO ticket_note_fts(rowid, note) VALUES (new.id, new.note);
       END""",
    """CREATE TRIGGER ticket_note_fts_ad AFTER DELETE ON ticket_event WHEN old.note <> '' BEGIN
         INSERT INTO ticket_note_fts(ticket_note_fts, rowid, note) VALUES ('delete', old.id, old.note);
       END""",
)
TRIGGER_NAMES = (
    "ticket_fts_ai",
    "ticket_fts_ad",
    "ticket_fts_au",
    "ticket_note_fts_ai",
    "ticket_note_fts_ad",
)


def create_sqlite_triggers() -> None:
    for statement in SQLITE_TRIGGERS:
        op.execute(statement)


def upgrade() -> None:
    op.create_index("ix_customer_name", "customer", ["name"])
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "CREATE VIRTUAL TABLE ticket_fts USING fts5(subject, description, "
            "content='ticket', content_rowid='id', tokenize='trigram')"
        )
        op.execute(
            "CREATE VIRTUAL TABLE ticket_note_fts USING fts5(note, "
            "content='ticket_event', content_rowid='id', tokenize='trigram')"
        )
        create_sqlite_triggers()
        op.execute("INSERT INTO ticket_fts(ticket_fts) VALUES ('rebuild')")
        op.execute(
            "INSERT INTO ticket_note_fts(rowid, note) SELECT id, note FROM ticket_event WHERE note <> ''"
        )
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.execute("CREATE INDEX ix_ticket_subject_trgm ON ticket USING gin (subject gin_trgm_ops)")
    op.execute("CREATE INDEX ix_ticket_description_trgm ON ticket USING gin (description gin_trgm_ops)")
    op.execute("CREATE INDEX ix_ticket_event_note_trgm ON ticket_event USING gin (note gin_trgm_ops)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in TRIGGER_NAMES:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS ticket_note_fts")
        op.execute("DROP TABLE IF EXISTS ticket_fts")
    else:
        op.execute("DROP INDEX IF EXISTS ix_ticket_event_note_trgm")
        op.execute("DROP INDEX IF EXISTS ix_ticket_description_trgm")
        op.execute("DROP INDEX IF EXISTS ix_ticket_subject_trgm")
    op.drop_index("ix_customer_name", table_name="customer")
