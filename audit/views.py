"""The audit log's read side: entries filtered and paged, one entry by its number, the actions in use.

Verifying is audit.log's. Filters run on the indexed columns (actor, action,
subject, at); the free-text `q` is a substring match over the entry's actor,
subject and detail, applied inside the same filtered, paged query — auditors
narrow by date or action first, so it never scans more than the range asked for
on a large trail.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, or_
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


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """What an auditor narrows the trail by; every field optional, all of them ANDed.

    `actor` matches the whole actor or its login part (`audit` finds
    `auditor:audit`); `subject` matches exactly or as a prefix ending in `:`
    (`ticket:` finds every ticket, `ticket:12` that one); `since`/`until` are a
    half-open UTC range.
    """

    actor: str | None = None
    action: str | None = None
    subject: str | None = None
    outcome: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    q: str | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        found: list[ColumnElement[bool]] = []
        if self.actor:
            found.append(
                or_(
                    col(AuditEntry.actor) == self.actor,
                    col(AuditEntry.actor).like(f"%:{_escape(self.actor)}", "\\"),
                )
            )
        if self.action:
            if self.action.endswith("."):  # a family: "ticket." is every ticket action
                found.append(col(AuditEntry.action).like(f"{_escape(self.action)}%", "\\"))
            else:
                found.append(col(AuditEntry.action) == self.action)
        if self.subject:
            if self.subject.endswith(":"):
                found.append(col(AuditEntry.subject).like(f"{_escape(self.subject)}%", "\\"))
            else:
                found.append(col(AuditEntry.subject) == self.subject)
        if self.outcome:
            found.append(col(AuditEntry.outcome) == self.outcome)
        if self.since is not None:
            found.append(col(AuditEntry.at) >= self.since)
        if self.until is not None:
            found.append(col(AuditEntry.at) < self.until)
        if self.q:
            pattern = f"%{_escape(self.q)}%"
            found.append(
                or_(
                    col(AuditEntry.actor).like(pattern, "\\"),
                    col(AuditEntry.subject).like(pattern, "\\"),
                    col(AuditEntry.detail_json).like(pattern, "\\"),
                )
            )
        return found


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _record(e: AuditEntry) -> AuditRecord:
    return AuditRecord(
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


class AuditViews:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def newest(
        self, limit: int, before_seq: int | None = None, where: AuditFilter | None = None
    ) -> list[AuditRecord]:
        """Newest first; `before_seq` pages back (keyset on the primary key)."""
        query = select(AuditEntry).order_by(col(AuditEntry.seq).desc()).limit(limit)
        if before_seq is not None:
            query = query.where(col(AuditEntry.seq) < before_seq)
        for condition in (where or AuditFilter()).conditions():
            query = query.where(condition)
        async with self._sessions() as session:
            rows = (await session.exec(query)).all()
        return [_record(e) for e in rows]

    async def all_matching(self, where: AuditFilter, *, batch: int = 1000) -> AsyncIterator[AuditRecord]:
        """Every matching entry, newest first, read in keyset batches (for exports)."""
        before: int | None = None
        while True:
            page = await self.newest(batch, before, where)
            for record in page:
                yield record
            if len(page) < batch:
                return
            before = page[-1].seq

    async def get(self, seq: int) -> AuditRecord | None:
        async with self._sessions() as session:
            entry = await session.get(AuditEntry, seq)
        return _record(entry) if entry is not None else None

    async def actions(self) -> list[str]:
        """The actions that occur on the trail (for the page's filter), sorted."""
        async with self._sessions() as session:
            rows = (await session.exec(select(AuditEntry.action).distinct())).all()
        return sorted(rows)
