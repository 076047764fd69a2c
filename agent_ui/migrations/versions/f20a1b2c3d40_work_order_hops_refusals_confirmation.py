"""work orders: hand-overs (hops) with refusals, final decisions; follow-ups: fixed or not

Issue #20: a work order is refused with a reason (a hop ends `refused`), bounced orders go to
arbitration (`work_order.final` once decided), and a follow-up records whether the customer
says it is fixed (`follow_up.fixed`).

Revision ID: f20a1b2c3d40
Revises: e7b2c4d6f810
Create Date: 2026-12-01 19:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from config.database import UTCDateTime

revision: str = "f20a1b2c3d40"
down_revision: str | None = "e7b2c4d6f810"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "work_order_hop",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("work_order_id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("technician_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("assigned_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("assigned_by", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column("ended_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("ended_by", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=True),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.ForeignKeyConstraint(["department_id"], ["department.id"]),
        sa.ForeignKeyConstraint(["technician_id"], ["technician.id"]),
        sa.ForeignKeyConstraint(["ticket_id"], ["ticket.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["work_order_id"], ["work_order.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    for column in ("work_order_id", "ticket_id", "department_id", "technician_id", "assigned_at"):
        op.create_index(op.f(f"ix_work_order_hop_{column}"), "work_order_hop", [column], unique=False)
    with op.batch_alter_table("work_order", schema=None) as batch_op:
        batch_op.add_column(sa.Column("final", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("follow_up", schema=None) as batch_op:
        batch_op.add_column(sa.Column("fixed", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("follow_up", schema=None) as batch_op:
        batch_op.drop_column("fixed")
    with op.batch_alter_table("work_order", schema=None) as batch_op:
        batch_op.drop_column("final")
    for column in ("assigned_at", "technician_id", "department_id", "ticket_id", "work_order_id"):
        op.drop_index(op.f(f"ix_work_order_hop_{column}"), table_name="work_order_hop")
    op.drop_table("work_order_hop")
