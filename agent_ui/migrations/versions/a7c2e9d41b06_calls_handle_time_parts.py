"""calls: the handling's talk, hold and wrap-up as the router measured them (one AHT everywhere)

Revision ID: a7c2e9d41b06
Revises: c3e7a1f0d2b4
Create Date: 2026-12-01 19:05:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a7c2e9d41b06"
down_revision: str | None = "c3e7a1f0d2b4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("call", schema=None) as batch_op:
        batch_op.add_column(sa.Column("talk_s", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("hold_s", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("wrap_s", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("call", schema=None) as batch_op:
        batch_op.drop_column("wrap_s")
        batch_op.drop_column("hold_s")
        batch_op.drop_column("talk_s")
