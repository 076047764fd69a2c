"""tickets: index on merged_into_id

A ticket that others were merged into is not cancelled (tickets.lifecycle); the guard asks
which tickets point at it on every transition, so the column is indexed.

Revision ID: a5c3e9d1f702
Revises: f20a1b2c3d40
Create Date: 2026-12-02 09:20:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "a5c3e9d1f702"
down_revision: str | None = "f20a1b2c3d40"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(op.f("ix_ticket_merged_into_id"), "ticket", ["merged_into_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_ticket_merged_into_id"), table_name="ticket")
