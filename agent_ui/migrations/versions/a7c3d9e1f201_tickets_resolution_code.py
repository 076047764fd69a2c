"""tickets: resolution code, a work order's appointment window

Revision ID: a7c3d9e1f201
Revises: 7c3e9a41d2f0
Create Date: 2026-12-01 15:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import config.database

revision: str = "a7c3d9e1f201"
down_revision: str | None = "7c3e9a41d2f0"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "resolution_code",
                sqlmodel.sql.sqltypes.AutoString(length=40),
                nullable=False,
                server_default="",
            )
        )

    with op.batch_alter_table("work_order", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("appointment_start", config.database.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("work_order", schema=None) as batch_op:
        batch_op.drop_column("appointment_start")
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.drop_column("resolution_code")
