"""The audit page: the trail filtered, paged and exported; recordings with legal hold; verifying.

Verification is a POST that redirects (303) to `/audit?verified=<seq>`: the
result is read back from the `audit.verify` entry that recorded it, so a reload
or a language switch shows the same result instead of re-running it (or
answering 405). Legal hold is set and released from here by admins (who manage
evidence, `recordings.access`); auditors listen. Dates in the filter are days
in the center's time zone, which the page names.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from agent_ui.api import audit as audit_api
from agent_ui.deps import Acd, Archive, Audit, AuditViewsDep, Center, Checkpoints, Sessions
from agent_ui.i18n import fmt_datetime, fmt_duration, supported
from agent_ui.i18n.audit_labels import action_label, detail_summary, outcome_label
from agent_ui.models import Role
from agent_ui.pages.common import gate, render
from agent_ui.pages.nav import AUDIT
from audit.views import AuditFilter
from config.database import BigRowId, RowId
from recordings import errors as rec_errors
from recordings.access import Principal

router = APIRouter(include_in_schema=False)

# every outcome the services write (audit entries keep codes; the page shows labels)
OUTCOMES = ("ok", "failed", "refused", "denied", "not_found", "tampered", "broken", "unsatisfiable")
PAGE_SIZE = 100
RECORDINGS_PAGE = 50
_Text = Annotated[str, Query(max_length=200)]


def _day(raw: str, offset_s: int) -> datetime | None:
    """A `YYYY-MM-DD` day in the center's zone as the UTC instant it starts (None if blank or not a day)."""
    try:
        day = date.fromisoformat(raw.strip())
    except ValueError:
        return None
    local = datetime(day.year, day.month, day.day, tzinfo=timezone(timedelta(seconds=offset_s)))
    return local.astimezone(UTC)


def _zone_label(zone: str, offset_s: int) -> str:
    sign = "+" if offset_s >= 0 else "-"
    hours, rest = divmod(abs(offset_s), 3600)
    return f"{zone} (UTC{sign}{hours:02d}:{rest // 60:02d})"


@router.get("/audit", response_class=HTMLResponse)
async def audit_page(
    request: Request,
    acd: Acd,
    center: Center,
    archive: Archive,
    views: AuditViewsDep,
    actor: _Text = "",
    action: Annotated[str, Query(max_length=60)] = "",
    subject: _Text = "",
    outcome: Annotated[str, Query(max_length=20)] = "",
    since: Annotated[str, Query(alias="from", max_length=10)] = "",
    until: Annotated[str, Query(alias="to", max_length=10)] = "",
    q: _Text = "",
    before: Annotated[BigRowId | None, Query()] = None,
    rec_before: Annotated[RowId | None, Query()] = None,
    verified: Annotated[BigRowId | None, Query()] = None,
    hold_error: Annotated[str, Query(max_length=40)] = "",
) -> Response:
    """Auditors: the trail with filters and CSV, every recording with its player; admins: legal holds."""
    user, refusal = await gate(request, AUDIT)
    if refusal is not None or user is None:
        return refusal  # type: ignore[return-value]
    lang = supported(user.language)
    offset = acd.router.config.utc_offsets.at(acd.clock())
    start, end = _day(since, offset), _day(until, offset)
    where = AuditFilter(
        actor=actor.strip() or None,
        action=action or None,
        subject=subject.strip() or None,
        outcome=outcome or None,
        since=start,
        until=end + timedelta(days=1) if end is not None else None,  # "to" is the last day shown
        q=q.strip() or None,
    )
    result = None
    if verified is not None and (entry := await views.get(verified)) is not None:
        result = audit_api.result_of(entry)
    entries = await views.newest(PAGE_SIZE + 1, before, where)
    older = entries[PAGE_SIZE - 1].seq if len(entries) > PAGE_SIZE else None
    recordings = []
    if user.role in {Role.AUDITOR, Role.ADMIN}:
        who = Principal(login=user.login, role=str(user.role), agent_id=None, queues=frozenset())
        recordings = await archive.list_visible(who, limit=RECORDINGS_PAGE + 1, before_id=rec_before)
    rec_older = recordings[RECORDINGS_PAGE - 1].id if len(recordings) > RECORDINGS_PAGE else None
    filters = {
        "actor": actor,
        "action": action,
        "subject": subject,
        "outcome": outcome,
        "from": since,
        "to": until,
        "q": q,
    }
    kept = {k: v for k, v in filters.items() if v}
    api_filter = {k: v for k, v in audit_api.vars_of(where).items()}
    return render(
        request,
        "audit.html",
        user,
        result=result,
        filters=filters,
        filtered=bool(kept),
        bad_dates=[
            name for name, raw, got in (("from", since, start), ("to", until, end)) if raw and got is None
        ],
        zone=_zone_label(center.timezone, offset),
        actions=[(code, action_label(code, lang)) for code in await views.actions()],
        outcomes=[(code, outcome_label(code, lang)) for code in OUTCOMES],
        older_url="/audit?" + urlencode({**kept, "before": older}) if older is not None else None,
        newest_url="/audit?" + urlencode(kept) if before is not None else None,
        csv_url="/api/audit/entries.csv?"
        + urlencode({k: v.isoformat() if isinstance(v, datetime) else v for k, v in api_filter.items()}),
        rec_older_url="/audit?" + urlencode({**kept, "rec_before": rec_older})
        if rec_older is not None
        else None,
        may_listen=user.role == Role.AUDITOR,
        may_hold=user.role == Role.ADMIN,
        hold_error=hold_error,
        recordings=[
            {
                "id": r.id,
                "call_id": r.call_id,
                "agent": r.agent_id or "",
                "queue": r.queue or "",
                "started": fmt_datetime(r.started_at, lang, offset),
                "duration": fmt_duration(r.duration_s, lang),
                "hold": r.legal_hold,
                "hold_reason": r.hold_reason or "",
                "hold_by": r.hold_by or "",
                "deleted": r.deleted_at is not None,
                "sha256": (r.sha256 or "")[:12],
            }
            for r in recordings[:RECORDINGS_PAGE]
        ],
        entries=[
            {
                "seq": e.seq,
                "at": fmt_datetime(e.at, lang, offset),
                "actor": e.actor,
                "action": e.action,
                "action_label": action_label(e.action, lang),
                "subject": e.subject,
                "outcome": e.outcome,
                "outcome_label": outcome_label(e.outcome, lang),
                "detail": detail_summary(e.detail),
                "ip": e.source_ip or "",
            }
            for e in entries[:PAGE_SIZE]
        ],
    )


@router.post("/audit/verify", response_class=HTMLResponse)
async def audit_verify(
    request: Request,
    sessions: Sessions,
    audit: Audit,
    archive: Archive,
    checkpoints: Checkpoints,
) -> Response:
    """Verify, then redirect to the page showing this verification (POST → 303 → GET)."""
    user, refusal = await gate(request, AUDIT)
    if refusal is not None or user is None:
        return refusal  # type: ignore[return-value]
    ip = request.client.host if request.client else None
    actor = f"{user.role}:{user.login}"
    result = await audit_api.verify_everything(sessions, audit, archive, checkpoints, actor, ip)
    return RedirectResponse(f"/audit?verified={result.entry_seq}#verify-h", status_code=303)


@router.post("/audit/recordings/{rec_id}/hold", response_class=HTMLResponse)
async def audit_hold(
    request: Request,
    rec_id: RowId,
    archive: Archive,
    op: Annotated[str, Form(pattern="^(set|release)$")],
    reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """Set or release a legal hold, with a reason (admins: `recordings.access`); both audited."""
    user, refusal = await gate(request, AUDIT)
    if refusal is not None or user is None:
        return refusal  # type: ignore[return-value]
    who = Principal(login=user.login, role=str(user.role), agent_id=None, queues=frozenset())
    ip = request.client.host if request.client else None
    problem = ""
    try:
        if not reason.strip():
            problem = "reason_required"
        elif op == "set":
            await archive.set_hold(who, rec_id, reason=reason, source_ip=ip)
        else:
            await archive.release_hold(who, rec_id, reason=reason, source_ip=ip)
    except rec_errors.AccessDenied:
        problem = "denied"
    except rec_errors.RecordingNotFound:
        problem = "not_found"
    except rec_errors.HoldStateError:
        problem = "state"
    query = urlencode({"hold_error": problem}) + "&" if problem else ""
    return RedirectResponse(f"/audit?{query}#rec-{rec_id}", status_code=303)
