"""twilio: the call book mirrored for a standby router (--role router, issue #17)

Revision ID: b8d4f2a6c913
Revises: a5c3e9d1f702
Create Date: 2026-12-03 06:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import config.database

revision: str = "b8d4f2a6c913"
down_revision: str | None = "a5c3e9d1f702"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "twilio_call",
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("updated_at", config.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", config.database.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("kind", "key"),
    )
    with op.batch_alter_table("twilio_call", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_twilio_call_expires_at"), ["expires_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("twilio_call", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_twilio_call_expires_at"))
    op.drop_table("twilio_call")
