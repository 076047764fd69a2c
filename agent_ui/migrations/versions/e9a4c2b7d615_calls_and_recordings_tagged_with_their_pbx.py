"""calls and recordings: the PBX that carried them (a center with several Asterisks; #17 item 5)

Existing rows came through the one PBX there was: "main", the HOTLINE_AMI_* link's name.

Revision ID: e9a4c2b7d615
Revises: c7e1a9d3b5f0
Create Date: 2026-12-03 06:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "e9a4c2b7d615"
down_revision: str | None = "c7e1a9d3b5f0"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("call", "recording")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column(
                    "pbx", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False, server_default="main"
                )
            )
            batch_op.create_index(batch_op.f(f"ix_{table}_pbx"), ["pbx"], unique=False)


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f"ix_{table}_pbx"))
            batch_op.drop_column("pbx")
