"""customers: the import's upsert key (first number + name) and per-file progress

Revision ID: 7a3c9e41b2d0
Revises: 5e55a0c1d2b3
Create Date: 2026-12-01 15:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import config.database

revision: str = "7a3c9e41b2d0"
down_revision: str | None = "5e55a0c1d2b3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("customer", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("primary_phone", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True)
        )
        batch_op.create_unique_constraint("uq_customer_primary_phone_name", ["primary_phone", "name"])
    op.create_table(
        "customer_import",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("digest", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("filename", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("lines_done", sa.Integer(), nullable=False),
        sa.Column("batches", sa.Integer(), nullable=False),
        sa.Column("started_at", config.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", config.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", config.database.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("digest"),
    )


def downgrade() -> None:
    op.drop_table("customer_import")
    with op.batch_alter_table("customer", schema=None) as batch_op:
        batch_op.drop_constraint("uq_customer_primary_phone_name", type_="unique")
        batch_op.drop_column("primary_phone")
