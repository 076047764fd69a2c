"""twilio: answered webhooks kept across restarts (replay protection survives a restart)

Revision ID: 4de6e2bd9c1c
Revises: e4fda08cc76d
Create Date: 2026-12-01 12:27:07.147202
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import config.database

revision: str = "4de6e2bd9c1c"
down_revision: str | None = "e4fda08cc76d"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "twilio_webhook",
        sa.Column("key_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("seen_at", config.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", config.database.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key_hash"),
    )
    with op.batch_alter_table("twilio_webhook", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_twilio_webhook_expires_at"), ["expires_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("twilio_webhook", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_twilio_webhook_expires_at"))
    op.drop_table("twilio_webhook")
