"""recordings: a call remembers its hang-up (crash recovery takes in its pending files)

Revision ID: 273866efadaa
Revises: 4de6e2bd9c1c
Create Date: 2026-12-01 12:33:29.608720
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import config.database

revision: str = "273866efadaa"
down_revision: str | None = "4de6e2bd9c1c"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("recorded_call", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ended_at", config.database.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_recorded_call_ended_at"), ["ended_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("recorded_call", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_recorded_call_ended_at"))
        batch_op.drop_column("ended_at")
