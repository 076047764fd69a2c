"""calls: the call's reference at the PBX (reconciliation after a restart finds CDRs and files by it)

Revision ID: d175b1353715
Revises: 273866efadaa
Create Date: 2026-12-01 12:58:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "d175b1353715"
down_revision: str | None = "273866efadaa"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("call", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pbx_ref", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch_op.create_index(batch_op.f("ix_call_pbx_ref"), ["pbx_ref"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("call", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_call_pbx_ref"))
        batch_op.drop_column("pbx_ref")
