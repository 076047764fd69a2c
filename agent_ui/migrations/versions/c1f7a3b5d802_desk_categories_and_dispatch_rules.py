"""desk: categories and their dispatch rules

Revision ID: c1f7a3b5d802
Revises: b8d4e2f6a913
Create Date: 2026-12-01 16:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "c1f7a3b5d802"
down_revision: str | None = "b8d4e2f6a913"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "desk_category",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column("name_zh", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("name_en", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("sla_policy", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=True),
        sa.Column("auto_dispatch", sa.Boolean(), nullable=False),
        sa.Column("technician_id", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["department_id"], ["department.id"]),
        sa.ForeignKeyConstraint(["technician_id"], ["technician.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("desk_category", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_desk_category_code"), ["code"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("desk_category", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_desk_category_code"))
    op.drop_table("desk_category")
