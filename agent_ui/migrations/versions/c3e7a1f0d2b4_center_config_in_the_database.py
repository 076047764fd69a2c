"""center config: the call center's configuration in the database, versioned

Revision ID: c3e7a1f0d2b4
Revises: a13c0ffee001
Create Date: 2026-12-01 16:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import config.database

revision: str = "c3e7a1f0d2b4"
down_revision: str | None = "a13c0ffee001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "center_config",
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("saved_at", config.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("saved_by", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("change", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.PrimaryKeyConstraint("version"),
    )


def downgrade() -> None:
    op.drop_table("center_config")
