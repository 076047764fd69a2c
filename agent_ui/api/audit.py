"""The audit trail for auditors: read the hash-chained log and verify it (and the stored files).

Verifying is itself written to the log (`audit.verify`), so who checked the
chain, when, and with what result is part of the trail.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from agent_ui.auth import AuditorUser
from agent_ui.deps import Archive, Audit, AuditViewsDep, Checkpoints, Sessions
from audit.checkpoint import CheckpointPublisher
from audit.log import AuditLog
from audit.views import AuditViews
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


async def read_entries(views: AuditViews, limit: int, before_seq: int | None) -> list[AuditEntryPublic]:
    return [
        AuditEntryPublic(
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
        for e in await views.newest(limit, before_seq)
    ]


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
        await audit.append(
            session,
            actor=actor,
            action="audit.verify",
            subject="audit-chain",
            detail={
                "chain_ok": result.chain_ok,
                "files_ok": result.files_ok,
                "checkpoints_ok": result.checkpoints_ok,
                "entries": result.entries,
            },
            source_ip=source_ip,
            outcome="ok" if intact else "broken",
        )
        await session.commit()
    return result


@router.get("/entries", response_model=list[AuditEntryPublic])
async def entries(
    user: AuditorUser,
    views: AuditViewsDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    before_seq: Annotated[BigRowId | None, Query()] = None,
) -> list[AuditEntryPublic]:
    """Newest first; page with `before_seq`."""
    return await read_entries(views, limit, before_seq)


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
