"""The ticket page: header, SLA clocks, customer card, timeline, and the actions legal now.

    GET  /tickets/{id}            the page
    POST /tickets/{id}/{action}   one form per action (`tickets.actions.TicketAction`)

Which forms exist is `tickets.actions.legal_actions` (the lifecycle's own check, asked in
advance); every post goes through the desk's service, so it is version-checked, journalled
and on the audit log. A stale version (someone else changed the ticket) answers 409 with the
page re-rendered from the fresh ticket and a message saying so; nothing is written. A
refused step (illegal now, forbidden, bad input) answers its status with the page and the
reason. A success redirects back to the page (303), so a reload never posts twice.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from agent_ui.api.desk_common import _check_ticket, actor_of, viewer_of
from agent_ui.auth import SessionUser
from agent_ui.deps import Acd, Archive, Center, Desk
from agent_ui.errors import ApiError
from agent_ui.i18n import Translate, fmt_datetime, supported, translator
from agent_ui.pages.bounces import timeline_summary as bounce_summary
from agent_ui.pages.common import gate, invalid_fields, queue_title, render
from agent_ui.pages.nav import TICKETS
from agent_ui.pages.timeline_text import kind_label
from agent_ui.pages.timeline_text import summary as timeline_summary
from config.callcenter import CallCenter
from cti.acd import AcdService
from recordings.access import Action, Principal, Scope, scope_of
from recordings.archive import RecordingArchive
from tickets.actions import TicketAction, legal_actions
from tickets.errors import DeskError, Forbidden, InvalidTransition, NotFound, TicketConflict
from tickets.lifecycle import Actor
from tickets.schemas import MergeIn, NoteIn, TicketPublic, TicketUpdate, TransitionIn, WorkOrderCreate
from tickets.service import ServiceDesk
from tickets.views import TicketPriority, TicketState

router = APIRouter(include_in_schema=False)


def _offset(acd: AcdService) -> int:
    return int(acd.router.config.utc_offsets.at(acd.clock()))


def _now(acd: AcdService) -> datetime:
    return datetime.fromtimestamp(acd.clock(), tz=UTC)


async def categories_of(desk: ServiceDesk, language: str) -> list[dict[str, str]]:
    """The chosen list of categories (not free text): code and title in the page's language."""
    return [{"code": r.code, "title": r.title(language)} for r in await desk.categories.all()]


def _left(due: datetime | None, now: datetime, lang: str, t: Translate) -> tuple[str, str]:
    """(text, css class) for the time left to a deadline."""
    if due is None:
        return "—", "none"
    seconds = (due - now).total_seconds()
    minutes = int(abs(seconds) // 60)
    span = t("tk.hm", h=minutes // 60, m=minutes % 60) if minutes >= 60 else t("tk.m", m=minutes)
    if seconds < 0:
        return t("tk.overdue", span=span), "breached"
    return t("tk.left", span=span), "ok"


def sla_clocks(
    ticket: TicketPublic, now: datetime, lang: str, offset: int, t: Translate
) -> list[dict[str, str]]:
    state = ticket.state
    done = {
        "accept": state is not TicketState.REPORTED,
        "dispatch": state in (TicketState.DISPATCHED, TicketState.RESOLVED, TicketState.CLOSED),
        "resolve": state in (TicketState.RESOLVED, TicketState.CLOSED),
    }
    rows = []
    for stage, due in (
        ("accept", ticket.accept_due_at),
        ("dispatch", ticket.dispatch_due_at),
        ("resolve", ticket.resolve_due_at),
    ):
        if due is None:
            continue
        if done[stage] or state is TicketState.CANCELLED:
            text, css = t("tk.stage_done"), "done"
        elif ticket.waiting_since is not None:
            text, css = t("tk.paused"), "paused"
        else:
            text, css = _left(due, now, lang, t)
        rows.append({"stage": stage, "due": fmt_datetime(due, lang, offset), "left": text, "css": css})
    return rows


async def _players(
    archive: RecordingArchive, user: SessionUser, center: CallCenter, call_ids: set[str]
) -> dict[str, list[int]]:
    """Recording ids per call that this user may play (the recordings API's own rules)."""
    if not call_ids or scope_of(str(user.role), Action.PLAY) is Scope.NONE:
        return {}
    queues = center.supervised_queues(user.login) if user.role == "supervisor" else frozenset()
    who = Principal(login=user.login, role=str(user.role), agent_id=user.agent_id, queues=queues)
    found: dict[str, list[int]] = {}
    for call_id in sorted(call_ids):
        for rec in await archive.list_visible(who, limit=10, call_id=call_id):
            if rec.id is not None:
                found.setdefault(call_id, []).append(rec.id)
    return found


async def ticket_context(
    request: Request,
    user: SessionUser,
    desk: ServiceDesk,
    acd: AcdService,
    archive: RecordingArchive,
    center: CallCenter,
    ticket_id: int,
) -> dict[str, Any]:
    lang = supported(user.language)
    t = translator(lang)
    offset = _offset(acd)
    now = _now(acd)
    ticket = await desk.tickets.get(ticket_id)
    orders = await desk.work_orders.for_ticket(ticket_id)
    follow_ups = await desk.follow_ups.for_ticket(ticket_id)
    timeline = await desk.timeline.for_ticket(ticket_id)
    departments = await desk.work_orders.departments()
    technicians = await desk.work_orders.technicians()
    card = await desk.card(ticket.customer_id) if ticket.customer_id is not None else None
    actor = actor_of(user, request)
    facts = await desk.tickets.facts(ticket_id)
    incident_open = facts.open_incident_id is not None
    actions = legal_actions(facts, actor, waiting=ticket.waiting_since is not None)
    call_ids = {str(e.data["call_id"]) for e in timeline if e.data.get("call_id") and e.link}
    players = await _players(archive, user, center, call_ids)
    dept_names = {d.id: d.name for d in departments}
    tech_names = {x.id: x.name for x in technicians}
    # Each call's recordings play once: on its `recording` entry, else on its first entry (every
    # entry of a call carries the call id, and a player on each repeated the same audio).
    carrier: dict[str, int] = {}
    for index, e in enumerate(timeline):
        call_id = str(e.data.get("call_id") or "")
        if call_id and (
            call_id not in carrier
            or (e.kind == "recording" and timeline[carrier[call_id]].kind != "recording")
        ):
            carrier[call_id] = index
    entries = []
    for index, e in enumerate(timeline):
        call_id = str(e.data.get("call_id") or "")
        entries.append(
            {
                "at": fmt_datetime(e.at, lang, offset),
                "kind": e.kind,
                "label": kind_label(e.kind, t),
                "actor": e.actor,  # a login, or "system": Hotline itself, named in the page's language
                "actor_label": t("tk.who.system") if e.actor == "system" else e.actor,
                "summary": bounce_summary(e, t, desk, lang) or timeline_summary(e, lang, offset, t),
                "visibility": str(e.data.get("visibility") or ""),
                "recordings": players.get(call_id, []) if carrier.get(call_id) == index else [],
            }
        )
    return {
        "ticket": ticket,
        "state_label": t(f"tk.state.{ticket.state.value}"),
        "created": fmt_datetime(ticket.created_at, lang, offset),
        "updated": fmt_datetime(ticket.updated_at, lang, offset),
        "clocks": sla_clocks(ticket, now, lang, offset, t),
        "incident_open": incident_open,
        "card": card,
        "department": dept_names.get(ticket.department_id) if ticket.department_id else None,
        "actions": [a.value for a in actions],
        "entries": entries,
        "orders": [
            {
                "id": o.id,
                "state": o.state.value,
                "state_label": t(f"wo.state.{o.state.value}"),
                "department": dept_names.get(o.department_id, "") if o.department_id else "",
                "technician": tech_names.get(o.technician_id, "") if o.technician_id else "",
                "window": _window(o.appointment_start, o.due_at, lang, offset),
                "site": o.site_address,
            }
            for o in orders
        ],
        "follow_ups": [
            {
                "id": f.id,
                "state": f.state.value,
                "state_label": t(f"fu.state.{f.state.value}"),
                "due": fmt_datetime(f.due_at, lang, offset),
                "score": f.score,
                "outcome": f.outcome,
            }
            for f in follow_ups
        ],
        "departments": departments,
        "technicians": technicians,
        "categories": await categories_of(desk, lang),
        "priorities": [p.value for p in TicketPriority],
        "resolution_codes": desk.config.resolution_codes,
        "agents": [{"id": a.id, "name": a.name} for a in center.agents],
        # People read names: the queue's title and the owner's name, not their codes.
        "queue": next(
            (queue_title(q, lang) for q in center.queues if q.name == ticket.queue), ticket.queue or ""
        ),
        "owner": next(
            (f"{a.name} ({a.id})" for a in center.agents if a.id == ticket.owner_agent_id),
            ticket.owner_agent_id or "",
        ),
        "articles": [
            {"id": a.id, "title": a.title(lang)}
            for a in await desk.kb.find("", category=ticket.category, limit=5)
        ],
    }


def _window(start: datetime | None, end: datetime | None, lang: str, offset: int) -> str:
    if start is None and end is None:
        return ""
    if start is None:
        return f"… {fmt_datetime(end, lang, offset)}"
    return f"{fmt_datetime(start, lang, offset)} – {fmt_datetime(end, lang, offset) if end else '…'}"


async def _visible(request: Request, user: SessionUser, desk: ServiceDesk, ticket_id: int) -> bool:
    try:
        await _check_ticket(desk, await viewer_of(user, request), ticket_id)
    except ApiError:
        return False
    return True


async def _page(
    request: Request,
    user: SessionUser,
    desk: ServiceDesk,
    acd: AcdService,
    archive: RecordingArchive,
    center: CallCenter,
    ticket_id: int,
    *,
    status_code: int = 200,
    message: str | None = None,
    message_kind: str = "error",
) -> Response:
    if not await _visible(request, user, desk, ticket_id):
        return render(request, "ticket.html", user, status_code=404, ticket=None, ticket_id=ticket_id)
    try:
        context = await ticket_context(request, user, desk, acd, archive, center, ticket_id)
    except NotFound:
        return render(request, "ticket.html", user, status_code=404, ticket=None, ticket_id=ticket_id)
    done = request.query_params.get("done", "")
    return render(
        request,
        "ticket.html",
        user,
        status_code=status_code,
        message=message,
        message_kind=message_kind,
        done=done if done in {a.value for a in TicketAction} | {"created"} else "",
        **context,
    )


@router.get("/tickets/{ticket_id}", response_class=HTMLResponse)
async def ticket_page(
    request: Request, ticket_id: int, desk: Desk, acd: Acd, archive: Archive, center: Center
) -> Response:
    user, refusal = await gate(request, TICKETS)
    if refusal is not None or user is None:
        return refusal  # type: ignore[return-value]
    return await _page(request, user, desk, acd, archive, center, ticket_id)


def _local(value: str, offset: int) -> datetime | None:
    """A `datetime-local` field (the center's local time) as an aware datetime."""
    if not value.strip():
        return None
    naive = datetime.fromisoformat(value.strip())
    return naive.replace(tzinfo=timezone(timedelta(seconds=offset))) if naive.tzinfo is None else naive


def _int(value: str) -> int | None:
    return int(value) if value.strip() else None


async def perform(
    desk: ServiceDesk, ticket_id: int, action: TicketAction, form: dict[str, str], actor: Actor, offset: int
) -> None:
    """Carry out one page action through the desk's service (version-checked, audited)."""
    version = int(form.get("version") or 0)
    note = form.get("note", "")
    tickets = desk.tickets
    if action is TicketAction.NOTE:
        body = NoteIn(text=note, visibility=form.get("visibility") or "internal")
        await tickets.add_note(ticket_id, body.text, actor, visibility=body.visibility)
    elif action is TicketAction.DISPATCH:
        order = WorkOrderCreate(
            version=version,
            department_id=_int(form.get("department_id", "")),
            technician_id=_int(form.get("technician_id", "")),
            appointment_start=_local(form.get("appointment_start", ""), offset),
            due_at=_local(form.get("due_at", ""), offset),
            instructions=form.get("instructions", ""),
            note=note,
        )
        await desk.work_orders.dispatch(ticket_id, order, actor)
    elif action is TicketAction.RESOLVE:
        checked = TransitionIn(version=version, note=note)
        code = form.get("resolution_code", "")
        await tickets.resolve(
            ticket_id, version=checked.version, actor=actor, note=checked.note, resolution_code=code
        )
    elif action is TicketAction.MERGE:
        into = int(form.get("into") or 0)
        survivor = await tickets.get(into) if into > 0 else None
        merge = MergeIn(
            version=version, into=into, into_version=survivor.version if survivor else 1, note=note
        )
        await desk.ticket_merges.merge(ticket_id, merge, actor)
    elif action in (TicketAction.WAIT, TicketAction.RESUME):
        reason = form.get("reason", "")[:200]
        await tickets.set_waiting(
            ticket_id, action is TicketAction.WAIT, version=version, actor=actor, reason=reason
        )
    elif action is TicketAction.COMPLAINT:
        await tickets.mark_complaint(ticket_id, note[:200], version=version, actor=actor)
    elif action is TicketAction.EDIT:
        if not actor.is_supervisor:
            raise Forbidden("only a supervisor may change category, priority or owner")
        update = TicketUpdate.model_validate(
            {
                "version": version,
                "category": form.get("category") or None,
                "priority": form.get("priority") or None,
                "owner_agent_id": form.get("owner_agent_id") or None,
            }
        )
        await tickets.update(ticket_id, update, actor)
    else:
        target = {
            TicketAction.ACCEPT: TicketState.ACCEPTED,
            TicketAction.CLOSE: TicketState.CLOSED,
            TicketAction.REOPEN: TicketState.REOPENED,
            TicketAction.CANCEL: TicketState.CANCELLED,
        }[action]
        body_in = TransitionIn(version=version, note=note)
        await tickets.transition(ticket_id, target, version=body_in.version, actor=actor, note=body_in.note)


@router.post("/tickets/{ticket_id}/{action}", response_class=HTMLResponse)
async def ticket_action(
    request: Request,
    ticket_id: int,
    action: TicketAction,
    desk: Desk,
    acd: Acd,
    archive: Archive,
    center: Center,
) -> Response:
    user, refusal = await gate(request, TICKETS)
    if refusal is not None or user is None:
        return refusal  # type: ignore[return-value]
    if not await _visible(request, user, desk, ticket_id):
        return render(request, "ticket.html", user, status_code=404, ticket=None, ticket_id=ticket_id)
    t = translator(supported(user.language))
    actor = actor_of(user, request)
    raw = await request.form()
    form = {k: v for k, v in raw.items() if isinstance(v, str)}

    async def again(status: int, message: str) -> Response:
        return await _page(
            request, user, desk, acd, archive, center, ticket_id, status_code=status, message=message
        )

    if actor.role not in ("agent", "supervisor", "admin"):
        return await again(403, t("tk.err.forbidden"))
    into = form.get("into", "").strip()
    merging = action is TicketAction.MERGE and into.isdigit() and len(into) <= 9
    if merging and not await _visible(request, user, desk, int(into)):  # the survivor: theirs to see too
        return await again(404, t("tk.missing", id=into))
    try:
        await perform(desk, ticket_id, action, form, actor, _offset(acd))
    except TicketConflict:
        return await again(409, t("tk.err.conflict"))
    except InvalidTransition as exc:
        return await again(409, t("tk.err.illegal", why=str(exc)))
    except Forbidden as exc:
        return await again(403, t("tk.err.refused", why=str(exc)))
    except DeskError as exc:
        return await again(409, t("tk.err.refused", why=str(exc)))
    except ValidationError as exc:
        return await again(422, t("tk.err.invalid", fields=invalid_fields(exc, t)))
    except ValueError:
        return await again(422, t("tk.err.invalid", fields="—"))
    if action is TicketAction.MERGE:  # on with the one that carries on
        return RedirectResponse(f"/tickets/{int(into)}?done={action.value}", status_code=303)
    return RedirectResponse(f"/tickets/{ticket_id}?done={action.value}", status_code=303)
