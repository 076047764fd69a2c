"""work orders: accepted and on-the-way times

The visit's steps: assigned → accepted → on the way → arrived → done.

Revision ID: 7c3e9a41d2f0
Revises: 7a3c9e41b2d0
Create Date: 2026-12-01 15:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from config.database import UTCDateTime

revision: str = "7c3e9a41d2f0"
down_revision: str | None = "7a3c9e41b2d0"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("work_order", schema=None) as batch_op:
        batch_op.add_column(sa.Column("accepted_at", UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("on_the_way_at", UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("work_order", schema=None) as batch_op:
        batch_op.drop_column("on_the_way_at")
        batch_op.drop_column("accepted_at")
