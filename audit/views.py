"""The audit log's read side: the newest entries, page by page (verifying is audit.log's)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from audit.models import AuditEntry


@dataclass(frozen=True, slots=True)
class AuditRecord:
    seq: int
    at: datetime
    actor: str
    action: str
    subject: str
    outcome: str
    source_ip: str | None
    detail: dict[str, object]
    hash: str


class AuditViews:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def newest(self, limit: int, before_seq: int | None = None) -> list[AuditRecord]:
        """Newest first; `before_seq` pages back."""
        query = select(AuditEntry).order_by(col(AuditEntry.seq).desc()).limit(limit)
        if before_seq is not None:
            query = query.where(col(AuditEntry.seq) < before_seq)
        async with self._sessions() as session:
            rows = (await session.exec(query)).all()
        return [
            AuditRecord(
                seq=e.seq,
                at=e.at,
                actor=e.actor,
                action=e.action,
                subject=e.subject,
                outcome=e.outcome,
                source_ip=e.source_ip,
                detail=e.detail,
                hash=e.hash,
            )
            for e in rows
        ]
