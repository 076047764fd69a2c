"""cluster: the router election's epochs (fencing token of the elected leader)

One row per election (cluster.models.ClusterLeader): each leader increments `epoch` when it
wins the advisory lock; its database writes are accepted only while the epoch is its own.

Revision ID: c7e1a9d3b5f0
Revises: b8d4f2a6c913
Create Date: 2026-12-03 06:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import config.database

revision: str = "c7e1a9d3b5f0"
down_revision: str | None = "b8d4f2a6c913"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "cluster_leader",
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("holder", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("since", config.database.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("cluster_leader")
