"""The audit trail for auditors: read the hash-chained log, filter and export it, and verify it.

Verifying is itself written to the log (`audit.verify`) with its whole result,
so who checked the chain, when, and what was found is part of the trail — and
the page shows a verification by its entry number after redirecting, instead of
re-running it on every reload. Exports are on the trail too (`audit.export`).
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from agent_ui.auth import AuditorUser
from agent_ui.deps import Archive, Audit, AuditViewsDep, Checkpoints, Sessions
from agent_ui.errors import ApiError
from audit.checkpoint import CheckpointPublisher
from audit.log import AuditLog
from audit.views import AuditFilter, AuditRecord, AuditViews
from config.database import BigRowId
from recordings.archive import RecordingArchive

router = APIRouter(prefix="/audit", tags=["audit"])


class AuditEntryPublic(BaseModel):
    seq: int
    at: datetime
    actor: str
    action: str
    subject: str
    outcome: str
    source_ip: str | None
    detail: dict[str, object]
    hash: str


class FileProblemPublic(BaseModel):
    recording_id: int
    reason: str
    message: str


class VerifyResult(BaseModel):
    chain_ok: bool
    entries: int
    head_seq: int
    first_break_seq: int | None
    first_break: str | None
    files_ok: bool
    files_checked: int
    file_problems: list[str]
    file_problem_items: list[
        FileProblemPublic
    ] = []  # the same, structured (reason codes: recordings.filecheck)
    checkpoints_ok: bool | None = None  # None: no checkpoint key configured (a cut tail is not detectable)
    checkpoints: int = 0
    checkpoint_problems: list[str] = []
    entry_seq: int | None = None  # the `audit.verify` entry that records this result


def entry_public(e: AuditRecord) -> AuditEntryPublic:
    return AuditEntryPublic(
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


async def read_entries(
    views: AuditViews, limit: int, before_seq: int | None, where: AuditFilter | None = None
) -> list[AuditEntryPublic]:
    return [entry_public(e) for e in await views.newest(limit, before_seq, where)]


def result_of(entry: AuditRecord) -> VerifyResult | None:
    """The verification an `audit.verify` entry recorded (None for other entries or older ones)."""
    if entry.action != "audit.verify":
        return None
    stored = entry.detail.get("result")
    if not isinstance(stored, dict):
        return None
    try:
        return VerifyResult.model_validate(stored)
    except ValidationError:
        return None


_Text = Annotated[str | None, Query(max_length=200)]


_MOMENT = {"format": "date-time", "description": "ISO 8601 with its zone"}
_Moment = Annotated[str | None, Query(min_length=1, max_length=40, json_schema_extra=_MOMENT)]


def _aware(raw: str | None, field: str) -> datetime | None:
    """An ISO date-time with its zone, or 422 naming the field (a bare number is no date-time)."""
    if raw is None:
        return None
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        value = None
    if value is None or value.tzinfo is None:
        raise ApiError(
            422,
            "invalid_input",
            f"invalid input: {field}",
            [{"field": field, "message": "an ISO 8601 date-time with its zone"}],
        )
    return value


def trail_filter(
    actor: _Text = None,
    action: Annotated[str | None, Query(max_length=60)] = None,
    subject: _Text = None,
    outcome: Annotated[str | None, Query(max_length=20)] = None,
    since: _Moment = None,
    until: _Moment = None,
    q: _Text = None,
) -> AuditFilter:
    """The trail's filters as query parameters: the same for the list, the CSV and the page.

    `since` (inclusive) and `until` (exclusive) are ISO 8601 date-times with their zone.
    """
    return AuditFilter(
        actor=actor or None,
        action=action or None,
        subject=subject or None,
        outcome=outcome or None,
        since=_aware(since, "since"),
        until=_aware(until, "until"),
        q=q or None,
    )


TrailFilter = Annotated[AuditFilter, Depends(trail_filter)]

CSV_COLUMNS = ("seq", "at", "actor", "action", "subject", "outcome", "source_ip", "detail", "hash")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> str:
    """A CSV cell a spreadsheet shows as text: a leading = + - @ would run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


async def csv_lines(views: AuditViews, where: AuditFilter) -> AsyncIterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    async for e in views.all_matching(where):
        writer.writerow(
            [
                e.seq,
                e.at.isoformat(),
                _cell(e.actor),
                e.action,
                _cell(e.subject),
                e.outcome,
                e.source_ip or "",
                _cell(json.dumps(e.detail, ensure_ascii=False, sort_keys=True)),
                e.hash,
            ]
        )
        if buffer.tell() > 64_000:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


async def export_response(
    sessions: async_sessionmaker[AsyncSession],
    audit: AuditLog,
    views: AuditViews,
    where: AuditFilter,
    actor: str,
    source_ip: str | None,
    now: datetime,
) -> StreamingResponse:
    """Log the export (with its filter), then stream the CSV; the file name says when it was made."""
    async with sessions() as session:
        await audit.append(
            session,
            actor=actor,
            action="audit.export",
            subject="audit-chain",
            detail={k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in vars_of(where).items()},
            source_ip=source_ip,
        )
        await session.commit()
    return StreamingResponse(
        csv_lines(views, where),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{export_name(where, now)}"'},
    )


def vars_of(where: AuditFilter) -> dict[str, object]:
    return {k: v for k, v in dataclasses.asdict(where).items() if v is not None}


def export_name(where: AuditFilter, now: datetime) -> str:
    """`audit-trail[_<from>_<to>]_exported-<when>.csv`: the file says what period it holds."""
    period = ""
    if where.since or where.until:
        start = where.since.strftime("%Y%m%d") if where.since else "start"
        end = where.until.strftime("%Y%m%d") if where.until else "now"
        period = f"_{start}-{end}"
    return f"audit-trail{period}_exported-{now.strftime('%Y%m%dT%H%M%SZ')}.csv"


async def verify_everything(
    sessions: async_sessionmaker[AsyncSession],
    audit: AuditLog,
    archive: RecordingArchive,
    checkpoints: CheckpointPublisher | None,
    actor: str,
    source_ip: str | None,
) -> VerifyResult:
    async with sessions() as session:
        chain = await audit.verify(session)
    files = await archive.verify_files()
    published = await checkpoints.verify() if checkpoints is not None else None
    result = VerifyResult(
        chain_ok=chain.ok,
        entries=chain.entries,
        head_seq=chain.head_seq,
        first_break_seq=chain.first_break.seq if chain.first_break else None,
        first_break=chain.first_break.message if chain.first_break else None,
        files_ok=files.ok,
        files_checked=files.checked,
        file_problems=[f"recording {p.recording_id}: {p.reason}" for p in files.problems[:50]],
        file_problem_items=[
            FileProblemPublic(recording_id=p.recording_id, reason=p.reason, message=p.message)
            for p in files.problems[:50]
        ],
        checkpoints_ok=published.ok if published is not None else None,
        checkpoints=published.checkpoints if published is not None else 0,
        checkpoint_problems=[
            f"line {p.line}: {p.reason}: {p.message}" for p in (published.problems if published else [])
        ][:50],
    )
    intact = result.chain_ok and result.files_ok and result.checkpoints_ok is not False
    async with sessions() as session:
        entry = await audit.append(
            session,
            actor=actor,
            action="audit.verify",
            subject="audit-chain",
            detail={
                "chain_ok": result.chain_ok,
                "files_ok": result.files_ok,
                "checkpoints_ok": result.checkpoints_ok,
                "entries": result.entries,
                "result": result.model_dump(mode="json"),
            },
            source_ip=source_ip,
            outcome="ok" if intact else "broken",
        )
        await session.commit()
    result.entry_seq = entry.seq
    return result


@router.get("/entries", response_model=list[AuditEntryPublic])
async def entries(
    user: AuditorUser,
    views: AuditViewsDep,
    where: TrailFilter,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    before_seq: Annotated[BigRowId | None, Query()] = None,
) -> list[AuditEntryPublic]:
    """Newest first, filtered; page with `before_seq` (the last `seq` of the previous page)."""
    return await read_entries(views, limit, before_seq, where)


@router.get("/entries.csv", response_class=StreamingResponse)
async def entries_csv(
    user: AuditorUser,
    views: AuditViewsDep,
    sessions: Sessions,
    audit: Audit,
    where: TrailFilter,
    request: Request,
) -> StreamingResponse:
    """Every entry matching the filters as CSV, newest first (the export is itself audited)."""
    ip = request.client.host if request.client else None
    now = datetime.now(UTC)
    return await export_response(sessions, audit, views, where, f"{user.role}:{user.login}", ip, now)


@router.post("/verify", response_model=VerifyResult)
async def verify(
    user: AuditorUser,
    sessions: Sessions,
    audit: Audit,
    archive: Archive,
    checkpoints: Checkpoints,
    request: Request,
) -> VerifyResult:
    """Re-hash the chain and every stored recording, check the checkpoints (as `hotline audit verify`)."""
    ip = request.client.host if request.client else None
    return await verify_everything(sessions, audit, archive, checkpoints, f"{user.role}:{user.login}", ip)
