"""tickets: incidents (mass faults) with their affected customers; a ticket's incident and merge pointer

Revision ID: e7b2c4d6f810
Revises: a7c2e9d41b06
Create Date: 2026-12-01 19:10:00

SQLite: the ticket columns are added in place (ALTER TABLE ADD COLUMN); should Alembic ever
rebuild the table instead, the rebuild drops the full-text triggers of `ticket`, so they are
put back (dropped first if they survived) whatever Alembic chose.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import config.database

revision: str = "e7b2c4d6f810"
down_revision: str | None = "a7c2e9d41b06"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As in b8d4e2f6a913 (tickets text search indexes): the triggers that keep `ticket_fts`.
TICKET_FTS_TRIGGERS = {
    "ticket_fts_ai": """CREATE TRIGGER ticket_fts_ai AFTER INSERT ON ticket BEGIN
         INSERT INTO ticket_fts(rowid, subject, description) VALUES (new.id, new.subject, new.description);
       END""",
    "ticket_fts_ad": """CREATE TRIGGER ticket_fts_ad AFTER DELETE ON ticket BEGIN
         INSERT INTO ticket_fts(ticket_fts, rowid, subject, description)
           VALUES ('delete', old.id, old.subject, old.description);
       END""",
    "ticket_fts_au": """CREATE TRIGGER ticket_fts_au AFTER UPDATE OF subject, description ON ticket BEGIN
         INSERT INTO ticket_fts(ticket_fts, rowid, subject, description)
           VALUES ('delete', old.id, old.subject, old.description);
         INSERT INTO ticket_fts(rowid, subject, description) VALUES (new.id, new.subject, new.description);
       END""",
}


def _restore_ticket_fts_triggers() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for name, statement in TICKET_FTS_TRIGGERS.items():
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute(statement)


def upgrade() -> None:
    op.create_table(
        "incident",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("category", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column("area", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("customer_tag", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column("description_zh", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("description_en", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("expected_at", config.database.UTCDateTime(timezone=True), nullable=True),
        sa.Column("affected", sa.Integer(), nullable=False),
        sa.Column("declared_by", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column("declared_at", config.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("resolved_by", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=True),
        sa.Column("resolved_at", config.database.UTCDateTime(timezone=True), nullable=True),
        sa.Column("resolution_note", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_incident_state"), "incident", ["state"], unique=False)
    op.create_table(
        "incident_customer",
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["incident_id"], ["incident.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("customer_id", "incident_id"),
    )
    op.create_index(
        op.f("ix_incident_customer_incident_id"), "incident_customer", ["incident_id"], unique=False
    )
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.add_column(sa.Column("incident_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("merged_into_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_ticket_incident_id"), ["incident_id"], unique=False)
    if op.get_bind().dialect.name != "sqlite":  # SQLite cannot add a constraint in place
        op.create_foreign_key("fk_ticket_incident_id", "ticket", "incident", ["incident_id"], ["id"])
        op.create_foreign_key("fk_ticket_merged_into_id", "ticket", "ticket", ["merged_into_id"], ["id"])
    _restore_ticket_fts_triggers()


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint("fk_ticket_merged_into_id", "ticket", type_="foreignkey")
        op.drop_constraint("fk_ticket_incident_id", "ticket", type_="foreignkey")
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ticket_incident_id"))
        batch_op.drop_column("merged_into_id")
        batch_op.drop_column("incident_id")
    _restore_ticket_fts_triggers()
    op.drop_index(op.f("ix_incident_customer_incident_id"), table_name="incident_customer")
    op.drop_table("incident_customer")
    op.drop_index(op.f("ix_incident_state"), table_name="incident")
    op.drop_table("incident")
