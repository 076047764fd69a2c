"""notices: the customer-SMS outbox (one row per message, unique key, sent at most once)

Revision ID: 9d4b2e7f1a3c
Revises: a7c3d9e1f201
Create Date: 2026-12-01 16:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import config.database

revision: str = "9d4b2e7f1a3c"
down_revision: str | None = "a7c3d9e1f201"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_S = sqlmodel.sql.sqltypes.AutoString
_T = config.database.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "notice",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", _S(length=80), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("kind", _S(length=20), nullable=False),
        sa.Column("channel", _S(length=10), nullable=False),
        sa.Column("to", _S(length=20), nullable=False),
        sa.Column("language", _S(length=10), nullable=False),
        sa.Column("body", _S(length=1000), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_at", _T(timezone=True), nullable=True),
        sa.Column("provider_id", _S(length=64), nullable=True),
        sa.Column("provider_status", _S(length=20), nullable=False),
        sa.Column("error", _S(length=300), nullable=False),
        sa.Column("created_at", _T(timezone=True), nullable=False),
        sa.Column("sent_at", _T(timezone=True), nullable=True),
        sa.Column("updated_at", _T(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["ticket_id"], ["ticket.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    with op.batch_alter_table("notice", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notice_ticket_id"), ["ticket_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_notice_state"), ["state"], unique=False)
        batch_op.create_index(batch_op.f("ix_notice_next_at"), ["next_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_notice_provider_id"), ["provider_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("notice", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notice_provider_id"))
        batch_op.drop_index(batch_op.f("ix_notice_next_at"))
        batch_op.drop_index(batch_op.f("ix_notice_state"))
        batch_op.drop_index(batch_op.f("ix_notice_ticket_id"))
    op.drop_table("notice")
