"""Tables owned by audit/: the hash-chained log every service appends to.

The audit log is append-only: the migration installs triggers that refuse UPDATE
and DELETE on `audit_entry`, and every row is chained to the previous one by
SHA-256, so even someone who gets around the triggers is caught by `verify`.
`audit_head` is one row holding the newest (seq, hash): appending locks it, which
is what keeps concurrent appends from forking the chain, and it witnesses the
tail (deleting the newest rows leaves the head pointing past the end).
"""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import BigInteger, Text
from sqlmodel import Field, SQLModel

from config.database import UTCDateTime

GENESIS_HASH = "0" * 64


class AuditEntry(SQLModel, table=True):
    __tablename__ = "audit_entry"

    # Assigned from audit_head under its lock, never by the database: a gap or a
    # duplicate is then a sign of tampering, not of a rolled-back sequence value.
    seq: int = Field(primary_key=True, sa_type=BigInteger, sa_column_kwargs={"autoincrement": False})
    at: datetime = Field(sa_type=UTCDateTime, index=True)
    actor: str = Field(max_length=120, index=True)
    action: str = Field(max_length=60, index=True)
    subject: str = Field(max_length=200, index=True)
    # The canonical JSON text exactly as hashed (stored as text, so no backend
    # can reorder keys or reformat numbers under the hash).
    detail_json: str = Field(default="{}", sa_type=Text)
    source_ip: str | None = Field(default=None, max_length=45)
    outcome: str = Field(default="ok", max_length=20)
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64, unique=True)

    @property
    def detail(self) -> dict[str, object]:
        value = json.loads(self.detail_json)
        return value if isinstance(value, dict) else {"value": value}


class AuditHead(SQLModel, table=True):
    __tablename__ = "audit_head"

    id: int = Field(default=1, primary_key=True, sa_column_kwargs={"autoincrement": False})
    seq: int = Field(default=0, sa_type=BigInteger)
    hash: str = Field(default=GENESIS_HASH, max_length=64)
