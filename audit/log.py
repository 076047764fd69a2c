"""The append-only, hash-chained audit log (recordings and ticket transitions).

Each entry's `hash` is SHA-256 over a canonical JSON of its fields and the
previous entry's hash, so changing, removing or reordering any row breaks every
link after it. `verify` re-hashes the chain and names the first break.

Concurrency: `append` first bumps the single `audit_head` row (UPDATE …
RETURNING). That row lock (PostgreSQL) or write lock (SQLite) is held until the
caller's transaction ends, so appends from many sessions and workers line up one
behind the other and the chain never forks; `seq` being the primary key is the
second guard. The price is that audit appends serialise: keep the transactions
that append short.

What it cannot prove: someone with write access to the database who rewrites the
whole tail *and* the head row produces a consistent chain. Publish or copy
`VerifyReport.head_hash` elsewhere (a ticket, a log shipper) to anchor it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Insert, Integer, Update, bindparam, insert, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from audit.models import GENESIS_HASH, AuditEntry, AuditHead
from config.database import utcnow

HASH_VERSION = 1
_PAGE = 2000


def canonical_json(value: object) -> str:
    """One text per value: sorted keys, no spaces, UTF-8 kept (Chinese stays readable)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _at_text(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def entry_hash(
    *,
    seq: int,
    at: datetime,
    actor: str,
    action: str,
    subject: str,
    detail_json: str,
    source_ip: str | None,
    outcome: str,
    prev_hash: str,
) -> str:
    payload = {
        "v": HASH_VERSION,
        "seq": seq,
        "at": _at_text(at),
        "actor": actor,
        "action": action,
        "subject": subject,
        "detail": detail_json,
        "source_ip": source_ip,
        "outcome": outcome,
        "prev_hash": prev_hash,
    }
    return hashlib.sha256(canonical_json(payload).encode("utf-8")).hexdigest()


def _rehash(entry: AuditEntry) -> str:
    return entry_hash(
        seq=entry.seq,
        at=entry.at,
        actor=entry.actor,
        action=entry.action,
        subject=entry.subject,
        detail_json=entry.detail_json,
        source_ip=entry.source_ip,
        outcome=entry.outcome,
        prev_hash=entry.prev_hash,
    )


@dataclass(frozen=True, slots=True)
class AuditIn:
    """One entry to append (`AuditLog.append_many`)."""

    actor: str
    action: str
    subject: str
    detail: dict[str, object] | None = None
    source_ip: str | None = None
    outcome: str = "ok"


@dataclass(frozen=True, slots=True)
class ChainBreak:
    """The first place where the chain does not hold.

    `seq` is the sequence number where it was found (for a missing tail: the
    head's seq), `reason` one of: `gap`, `prev_hash`, `hash`, `head`.
    """

    seq: int
    reason: str
    message: str


@dataclass(frozen=True, slots=True)
class VerifyReport:
    entries: int
    head_seq: int
    head_hash: str
    first_break: ChainBreak | None

    @property
    def ok(self) -> bool:
        return self.first_break is None


class AuditLog:
    """Append and verify. Stateless apart from the clock: one instance per process is enough."""

    def __init__(self, clock: Callable[[], datetime] = utcnow) -> None:
        self._clock = clock

    async def append(
        self,
        session: AsyncSession,
        *,
        actor: str,
        action: str,
        subject: str,
        detail: dict[str, object] | None = None,
        source_ip: str | None = None,
        outcome: str = "ok",
    ) -> AuditEntry:
        """Add one entry inside the caller's transaction (flushed, not committed).

        If the caller rolls back, the entry and the head bump go with it: an
        audit entry exists exactly when the thing it records was committed.
        Raises TypeError/ValueError if `detail` is not plain JSON.
        """
        entry = AuditIn(actor, action, subject, detail, source_ip, outcome)
        return (await self.append_many(session, [entry]))[0]

    async def append_many(self, session: AsyncSession, entries: Sequence[AuditIn]) -> list[AuditEntry]:
        """Add several entries inside the caller's transaction with one head bump.

        The same chain as appending them one by one (consecutive seqs, each linked to the one
        before), in three statements whatever their number: the head advanced by n, the rows
        inserted, the head's hash set. Same errors as `append`, raised before any statement.
        """
        if not entries:
            return []
        prepared = _prepared(entries)
        last_seq, prev_hash = await _advance_head(session, len(entries))
        rows = [AuditEntry(**row) for row in self._chained(prepared, last_seq, prev_hash)]
        await session.exec(update(AuditHead).where(col(AuditHead.id) == 1).values(hash=rows[-1].hash))
        session.add_all(rows)
        await session.flush()
        return rows

    def append_many_sync(self, conn: Connection, entries: Sequence[AuditIn]) -> list[dict[str, Any]]:
        """`append_many` on a synchronous connection, inside its transaction, with Core
        statements: the same three (head advanced by n, the rows, the head's hash) and the same
        chain. For a unit of work run in one call (the offered call's write, `tickets.offer`)."""
        if not entries:
            return []
        prepared = _prepared(entries)
        n = {"n": len(entries)}
        row = conn.execute(_BUMP, n).one_or_none()
        if row is None:
            conn.execute(_seed(conn.dialect.name))
            row = conn.execute(_BUMP, n).one()
        rows = self._chained(prepared, int(row[0]), str(row[1]))
        conn.execute(_SET_HEAD_HASH, {"head_hash": rows[-1]["hash"]})
        conn.execute(_INSERT_ENTRY, rows)
        return rows

    def _chained(
        self, prepared: list[tuple[AuditIn, str]], last_seq: int, prev_hash: str
    ) -> list[dict[str, Any]]:
        """The entries' rows, seqs ending at `last_seq`, each linked to the one before."""
        rows: list[dict[str, Any]] = []
        for offset, (e, detail_json) in enumerate(prepared):
            seq, at = last_seq - len(prepared) + 1 + offset, self._clock()
            digest = entry_hash(
                seq=seq,
                at=at,
                actor=e.actor,
                action=e.action,
                subject=e.subject,
                detail_json=detail_json,
                source_ip=e.source_ip,
                outcome=e.outcome,
                prev_hash=prev_hash,
            )
            rows.append(
                {
                    "seq": seq,
                    "at": at,
                    "actor": e.actor,
                    "action": e.action,
                    "subject": e.subject,
                    "detail_json": detail_json,
                    "source_ip": e.source_ip,
                    "outcome": e.outcome,
                    "prev_hash": prev_hash,
                    "hash": digest,
                }
            )
            prev_hash = digest
        return rows

    async def verify(self, session: AsyncSession) -> VerifyReport:
        """Re-hash every entry in order and compare with the head row. Reads in pages."""
        expected_seq, last_hash, count = 1, GENESIS_HASH, 0
        found: ChainBreak | None = None
        while found is None:
            page = (
                await session.exec(
                    select(AuditEntry)
                    .where(col(AuditEntry.seq) >= expected_seq)
                    .order_by(col(AuditEntry.seq))
                    .limit(_PAGE)
                )
            ).all()
            for entry in page:
                found = _check(entry, expected_seq, last_hash)
                if found is not None:
                    break
                expected_seq, last_hash, count = entry.seq + 1, entry.hash, count + 1
            if len(page) < _PAGE:
                break
        head = await session.get(AuditHead, 1)
        head_seq, head_hash = (head.seq, head.hash) if head else (0, GENESIS_HASH)
        if found is None and (head_seq, head_hash) != (expected_seq - 1, last_hash):
            found = ChainBreak(
                seq=head_seq,
                reason="head",
                message=(
                    f"chain ends at seq {expected_seq - 1} but the head says seq {head_seq}: "
                    "entries at the end were removed or the head was altered"
                ),
            )
        return VerifyReport(entries=count, head_seq=head_seq, head_hash=head_hash, first_break=found)


_LIMITS = {"actor": 120, "action": 60, "subject": 200, "outcome": 20, "source_ip": 45}


async def last_entry_since(
    session: AsyncSession, *, actor: str, action: str, subject: str, since: datetime
) -> AuditEntry | None:
    """The newest entry of `actor` doing `action` to `subject` at or after `since` (indexed columns)."""
    query = (
        select(AuditEntry)
        .where(col(AuditEntry.actor) == actor, col(AuditEntry.action) == action)
        .where(col(AuditEntry.subject) == subject, col(AuditEntry.at) >= since)
        .order_by(col(AuditEntry.seq).desc())
        .limit(1)
    )
    return (await session.exec(query)).first()


def _check_lengths(**fields: str | None) -> None:
    """Fail the same way on every backend (SQLite would store an over-long value silently)."""
    for name, value in fields.items():
        if value is not None and len(value) > _LIMITS[name]:
            raise ValueError(f"audit {name} longer than {_LIMITS[name]} characters: {value[:40]!r}...")


def _check(entry: AuditEntry, expected_seq: int, last_hash: str) -> ChainBreak | None:
    if entry.seq != expected_seq:
        return ChainBreak(expected_seq, "gap", f"entry {expected_seq} is missing (next is {entry.seq})")
    if entry.prev_hash != last_hash:
        return ChainBreak(entry.seq, "prev_hash", f"entry {entry.seq} does not link to entry {entry.seq - 1}")
    if _rehash(entry) != entry.hash:
        return ChainBreak(entry.seq, "hash", f"entry {entry.seq} was altered (its hash does not match)")
    return None


def _prepared(entries: Sequence[AuditIn]) -> list[tuple[AuditIn, str]]:
    """Checked entries with their canonical detail JSON (raises before any statement)."""
    prepared = []
    for e in entries:
        _check_lengths(
            actor=e.actor, action=e.action, subject=e.subject, outcome=e.outcome, source_ip=e.source_ip
        )
        prepared.append((e, canonical_json(e.detail or {})))
    return prepared


def _bump(n: int) -> Update:
    return (
        update(AuditHead)
        .where(col(AuditHead.id) == 1)
        .values(seq=col(AuditHead.seq) + n)
        .returning(col(AuditHead.seq), col(AuditHead.hash))
    )


def _seed(dialect: str) -> Insert:
    insert_ = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert_(AuditHead).values(id=1, seq=0, hash=GENESIS_HASH).on_conflict_do_nothing()


# Built once: building a statement and its cache key cost more than running it (~0.3 ms each
# per offered call, docs/BENCHMARKS.md "Intake"); n is a parameter.
_BUMP = (
    update(AuditHead)
    .where(col(AuditHead.id) == 1)
    .values(seq=col(AuditHead.seq) + bindparam("n", type_=Integer))
    .returning(col(AuditHead.seq), col(AuditHead.hash))
)
_INSERT_ENTRY = insert(AuditEntry)
_SET_HEAD_HASH = update(AuditHead).where(col(AuditHead.id) == 1).values(hash=bindparam("head_hash"))


async def _advance_head(session: AsyncSession, n: int = 1) -> tuple[int, str]:
    """Take the head lock, advance it by n and return (its new seq, the previous hash)."""
    bump = _bump(n)
    row = (await session.exec(bump)).one_or_none()
    if row is None:  # empty database (the migration seeds the row; a TRUNCATE removes it)
        await session.exec(_seed(session.get_bind().dialect.name))
        row = (await session.exec(bump)).one()
    return int(row[0]), str(row[1])
