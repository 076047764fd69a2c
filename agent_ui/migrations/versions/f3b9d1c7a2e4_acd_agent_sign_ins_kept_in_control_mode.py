"""acd: agents' sign-ins and pauses kept in control mode (issue #17 item 3)

Revision ID: f3b9d1c7a2e4
Revises: e9a4c2b7d615
Create Date: 2026-12-03 07:55:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import config.database

revision: str = "f3b9d1c7a2e4"
down_revision: str | None = "e9a4c2b7d615"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "acd_agent",
        sa.Column("agent_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("queues", sa.Text(), nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
        sa.Column("updated_at", config.database.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("agent_id"),
    )


def downgrade() -> None:
    op.drop_table("acd_agent")
