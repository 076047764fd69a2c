"""Incidents (mass faults), for supervisors: declare one, watch its callers, resolve it.

    GET  /incidents                  open and recent incidents, and the form to declare one
    POST /incidents                  declare (who is affected is fixed now; on the audit log)
    GET  /incidents/{id}             the incident, its child tickets, the form to resolve it
    POST /incidents/{id}/resolve     resolve it: its children resolve and are texted once

Every post goes through `tickets.incidents.Incidents` (validated, version-checked, audited).
Invalid input answers 422 naming the field, a stale version 409, with the page and the reason;
a success redirects (303), so a reload never posts twice. The expected restoration is entered
in the call center's local time, like every time on these pages.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from agent_ui.api.desk_common import actor_of
from agent_ui.auth import SessionUser
from agent_ui.deps import Acd, Desk
from agent_ui.i18n import fmt_datetime, supported, translator
from agent_ui.pages.common import gate, invalid_fields, render
from agent_ui.pages.nav import INCIDENTS
from agent_ui.pages.ticket import categories_of
from cti.acd import AcdService
from tickets.errors import DeskError, NotFound, TicketConflict
from tickets.schemas import IncidentCreate, IncidentPublic, IncidentResolveIn
from tickets.service import ServiceDesk

router = APIRouter(include_in_schema=False)


def _offset(acd: AcdService) -> int:
    return int(acd.router.config.utc_offsets.at(acd.clock()))


def _local(value: str, offset: int) -> datetime | None:
    """A `datetime-local` field (the center's local time) as an aware datetime; '' is none."""
    if not value.strip():
        return None
    naive = datetime.fromisoformat(value.strip())
    return naive.replace(tzinfo=timezone(timedelta(seconds=offset))) if naive.tzinfo is None else naive


def _titles(categories: list[dict[str, str]]) -> dict[str, str]:
    """Category code -> its name in the page's language, from `categories_of`."""
    return {c["code"]: c["title"] for c in categories}


def _row(incident: IncidentPublic, lang: str, offset: int, titles: dict[str, str]) -> dict[str, object]:
    """`titles`: category code -> name in the page's language (a code without a name as is)."""
    return {
        "i": incident,
        "category": titles.get(incident.category, incident.category),
        "description": incident.description(lang),
        "expected": fmt_datetime(incident.expected_at, lang, offset) if incident.expected_at else "—",
        "declared": fmt_datetime(incident.declared_at, lang, offset),
        "resolved": fmt_datetime(incident.resolved_at, lang, offset) if incident.resolved_at else "",
    }


async def _list_page(
    request: Request,
    user: SessionUser,
    desk: ServiceDesk,
    acd: AcdService,
    *,
    status_code: int = 200,
    message: str | None = None,
    form: dict[str, str] | None = None,
) -> Response:
    lang, offset = supported(user.language), _offset(acd)
    incidents = await desk.incidents.listing(limit=100)
    categories = await categories_of(desk, lang)
    titles = _titles(categories)
    now_local = datetime.fromtimestamp(acd.clock(), UTC) + timedelta(seconds=offset)
    return render(
        request,
        "incidents.html",
        user,
        status_code=status_code,
        message=message,
        form=form or {},
        open_rows=[_row(i, lang, offset, titles) for i in incidents if i.state.value == "open"],
        past_rows=[_row(i, lang, offset, titles) for i in incidents if i.state.value != "open"],
        categories=categories,
        default_expected=(now_local + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
    )


@router.get("/incidents", response_class=HTMLResponse)
async def incidents_page(request: Request, desk: Desk, acd: Acd) -> Response:
    user, refusal = await gate(request, INCIDENTS)
    if refusal is not None or user is None:
        return refusal  # type: ignore[return-value]
    return await _list_page(request, user, desk, acd)


@router.post("/incidents", response_class=HTMLResponse)
async def declare_incident(request: Request, desk: Desk, acd: Acd) -> Response:
    user, refusal = await gate(request, INCIDENTS)
    if refusal is not None or user is None:
        return refusal  # type: ignore[return-value]
    t = translator(supported(user.language))
    raw = await request.form()
    form = {k: v for k, v in raw.items() if isinstance(v, str)}
    try:
        data = IncidentCreate.model_validate(
            {
                "category": form.get("category", ""),
                "area": form.get("area", ""),
                "customer_tag": form.get("customer_tag", ""),
                "description_zh": form.get("description_zh", ""),
                "description_en": form.get("description_en", ""),
                "expected_at": _local(form.get("expected_at", ""), _offset(acd)),
            }
        )
        declared = await desk.incidents.declare(data, actor_of(user, request))
    except ValidationError as exc:
        message = t("tk.err.invalid", fields=invalid_fields(exc, t))
        return await _list_page(request, user, desk, acd, status_code=422, message=message, form=form)
    except ValueError:  # an unreadable date-time
        message = t("tk.err.invalid", fields=t("inc.expected"))
        return await _list_page(request, user, desk, acd, status_code=422, message=message, form=form)
    return RedirectResponse(f"/incidents/{declared.id}?done=declare", status_code=303)


async def _incident_page(
    request: Request,
    user: SessionUser,
    desk: ServiceDesk,
    acd: AcdService,
    incident_id: int,
    *,
    status_code: int = 200,
    message: str | None = None,
) -> Response:
    lang, offset = supported(user.language), _offset(acd)
    try:
        incident = await desk.incidents.get(incident_id)
    except NotFound:
        return render(request, "incident.html", user, status_code=404, row=None, incident_id=incident_id)
    t = translator(lang)
    children = [
        {"t": c, "state": t(f"tk.state.{c.state.value}"), "created": fmt_datetime(c.created_at, lang, offset)}
        for c in await desk.incidents.children(incident_id)
    ]
    done = request.query_params.get("done", "")
    return render(
        request,
        "incident.html",
        user,
        status_code=status_code,
        message=message,
        done=done if done in ("declare", "resolve") else "",
        row=_row(incident, lang, offset, _titles(await categories_of(desk, lang))),
        children=children,
    )


@router.get("/incidents/{incident_id}", response_class=HTMLResponse)
async def incident_page(request: Request, incident_id: int, desk: Desk, acd: Acd) -> Response:
    user, refusal = await gate(request, INCIDENTS)
    if refusal is not None or user is None:
        return refusal  # type: ignore[return-value]
    return await _incident_page(request, user, desk, acd, incident_id)


@router.post("/incidents/{incident_id}/resolve", response_class=HTMLResponse)
async def resolve_incident(request: Request, incident_id: int, desk: Desk, acd: Acd) -> Response:
    user, refusal = await gate(request, INCIDENTS)
    if refusal is not None or user is None:
        return refusal  # type: ignore[return-value]
    t = translator(supported(user.language))
    raw = await request.form()
    form = {k: v for k, v in raw.items() if isinstance(v, str)}

    async def again(status: int, message: str) -> Response:
        return await _incident_page(
            request, user, desk, acd, incident_id, status_code=status, message=message
        )

    try:
        data = IncidentResolveIn.model_validate(
            {"version": form.get("version") or 0, "note": form.get("note", "")}
        )
        await desk.incidents.resolve(incident_id, data, actor_of(user, request))
    except ValidationError as exc:
        return await again(422, t("tk.err.invalid", fields=invalid_fields(exc, t)))
    except TicketConflict:
        return await again(409, t("tk.err.conflict"))
    except NotFound:
        return await again(404, t("inc.missing", id=incident_id))
    except DeskError as exc:
        return await again(409, t("tk.err.refused", why=str(exc)))
    return RedirectResponse(f"/incidents/{incident_id}?done=resolve", status_code=303)
