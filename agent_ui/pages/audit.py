"""The audit page: recordings for auditors, the hash-chained trail, and verifying it."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from agent_ui.api import audit as audit_api
from agent_ui.deps import Acd, Archive, Audit, AuditViewsDep, Checkpoints, Sessions
from agent_ui.i18n import fmt_datetime, fmt_duration, supported
from agent_ui.models import Role
from agent_ui.pages.common import gate, render
from agent_ui.pages.nav import AUDIT
from recordings.access import Principal

router = APIRouter(include_in_schema=False)


async def _audit_page(
    request: Request,
    acd: Acd,
    sessions: Sessions,
    audit: Audit,
    archive: Archive,
    checkpoints: Checkpoints,
    views: AuditViewsDep,
    verify: bool,
) -> Response:
    user, refusal = await gate(request, AUDIT)
    if refusal is not None or user is None:
        return refusal  # type: ignore[return-value]
    lang = supported(user.language)
    offset = acd.router.config.utc_offsets.at(acd.clock())
    result = None
    if verify:
        ip = request.client.host if request.client else None
        actor = f"{user.role}:{user.login}"
        result = await audit_api.verify_everything(sessions, audit, archive, checkpoints, actor, ip)
    recordings = []
    if user.role == Role.AUDITOR:  # admins manage, auditors listen
        who = Principal(login=user.login, role=str(user.role), agent_id=None, queues=frozenset())
        recordings = await archive.list_visible(who, limit=50)
    entries = await audit_api.read_entries(views, 100, None)
    return render(
        request,
        "audit.html",
        user,
        result=result,
        recordings=[
            {
                "id": r.id,
                "call_id": r.call_id,
                "agent": r.agent_id or "",
                "queue": r.queue or "",
                "started": fmt_datetime(r.started_at, lang, offset),
                "duration": fmt_duration(r.duration_s, lang),
                "hold": r.legal_hold,
                "deleted": r.deleted_at is not None,
                "sha256": (r.sha256 or "")[:12],
            }
            for r in recordings
        ],
        entries=[
            {
                "seq": e.seq,
                "at": fmt_datetime(e.at, lang, offset),
                "actor": e.actor,
                "action": e.action,
                "subject": e.subject,
                "outcome": e.outcome,
                "ip": e.source_ip or "",
            }
            for e in entries
        ],
    )


@router.get("/audit", response_class=HTMLResponse)
async def audit_page(
    request: Request,
    acd: Acd,
    sessions: Sessions,
    audit: Audit,
    archive: Archive,
    checkpoints: Checkpoints,
    views: AuditViewsDep,
) -> Response:
    """Auditors: every recording with its player, the audit trail, and a verify button."""
    return await _audit_page(request, acd, sessions, audit, archive, checkpoints, views, verify=False)


@router.post("/audit/verify", response_class=HTMLResponse)
async def audit_verify(
    request: Request,
    acd: Acd,
    sessions: Sessions,
    audit: Audit,
    archive: Archive,
    checkpoints: Checkpoints,
    views: AuditViewsDep,
) -> Response:
    return await _audit_page(request, acd, sessions, audit, archive, checkpoints, views, verify=True)
