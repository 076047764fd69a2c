"""acd: an agent's wrap-up kept with its sign-in in control mode (issue #17)

Revision ID: a7c3e9f1b2d5
Revises: f3b9d1c7a2e4
Create Date: 2026-12-03 11:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "a7c3e9f1b2d5"
down_revision: str | None = "f3b9d1c7a2e4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("acd_agent") as batch:
        batch.add_column(sa.Column("wrapup_since", sa.Float(), nullable=True))
        batch.add_column(
            sa.Column("wrapup_queue", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )
        batch.add_column(
            sa.Column("wrapup_call", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("acd_agent") as batch:
        batch.drop_column("wrapup_call")
        batch.drop_column("wrapup_queue")
        batch.drop_column("wrapup_since")
