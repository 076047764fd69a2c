"""Customers: find one, read the profile with phones, tier, tickets and calls, edit it, merge a
duplicate into it (supervisors).

Server-rendered forms (CSRF token, hidden `version`), answered by a redirect; a stale version,
an invalid number or a refused merge shows the message beside the fresh page. Ticket numbers
link to the ticket page (/tickets/{id}).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from agent_ui.api.desk_common import Desk, actor_of, viewer_of, visible_ticket_ids
from agent_ui.deps import Acd
from agent_ui.i18n import fmt_datetime, supported, translator
from agent_ui.models import Role
from agent_ui.pages.common import gate, invalid_fields, render
from agent_ui.pages.nav import CUSTOMERS
from agent_ui.pages.ticket import categories_of
from config.database import RowId, Version
from tickets.errors import DeskError, InvalidPhoneNumber, NotFound, RuleViolation, TicketConflict
from tickets.schemas import CustomerUpdate, PhoneIn, TicketCreate
from tickets.views import CustomerTier, TicketPriority

router = APIRouter(include_in_schema=False)

MERGERS = frozenset({Role.SUPERVISOR, Role.ADMIN})


@router.get("/customers", response_class=HTMLResponse)
async def customer_list(
    request: Request, desk: Desk, q: Annotated[str, Query(max_length=200)] = ""
) -> Response:
    user, refusal = await gate(request, CUSTOMERS)
    if refusal is not None or user is None:
        return refusal  # type: ignore[return-value]
    found = await desk.customers.search(q.strip() or None, limit=50)
    return render(request, "customers.html", user, q=q, customers=found)


async def _profile(
    request: Request,
    desk: Desk,
    acd: Acd,
    customer_id: int,
    *,
    error: str | None = None,
    status: int = 200,
) -> Response:
    user, refusal = await gate(request, CUSTOMERS)
    if refusal is not None or user is None:
        return refusal  # type: ignore[return-value]
    lang = supported(user.language)
    offset = acd.router.config.utc_offsets.at(acd.clock())
    try:
        customer = await desk.customers.get(customer_id)
        tickets, calls = await desk.customers.history(customer_id)
    except NotFound:
        return render(request, "forbidden.html", user, status_code=404, page=f"/customers/{customer_id}")
    seen = await visible_ticket_ids(
        desk, await viewer_of(user, request), {t.id for t in tickets if t.id is not None}
    )
    return render(
        request,
        "customer.html",
        user,
        status_code=status,
        error=error,
        done=request.query_params.get("done", ""),
        c=customer,
        tiers=[t.value for t in CustomerTier],
        may_merge=user.role in MERGERS,
        categories=await categories_of(desk, lang),
        default_category=desk.config.default_category,
        priorities=[p.value for p in TicketPriority],
        phones_text="\n".join(p.raw or p.e164 for p in customer.phones),
        tickets=[
            {"t": t, "created": fmt_datetime(t.created_at, lang, offset)} for t in tickets if t.id in seen
        ],
        calls=[
            {"c": c, "offered": fmt_datetime(c.offered_at, lang, offset)}
            for c in calls
            if c.ticket_id in seen
        ],
    )


@router.get("/customers/{customer_id}", response_class=HTMLResponse)
async def customer_page(request: Request, customer_id: RowId, desk: Desk, acd: Acd) -> Response:
    return await _profile(request, desk, acd, customer_id)


@router.post("/customers/{customer_id}", response_class=HTMLResponse)
async def customer_edit(
    request: Request,
    customer_id: RowId,
    desk: Desk,
    acd: Acd,
    version: Annotated[Version, Form()],
    name: Annotated[str, Form(min_length=1, max_length=200)],
    tier: Annotated[CustomerTier, Form()],
    company: Annotated[str, Form(max_length=200)] = "",
    address: Annotated[str, Form(max_length=500)] = "",
    email: Annotated[str, Form(max_length=320)] = "",
    notes: Annotated[str, Form(max_length=4000)] = "",
    phones: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    user, refusal = await gate(request, CUSTOMERS)
    if refusal is not None or user is None:
        return refusal  # type: ignore[return-value]
    t = translator(user.language)
    numbers = [line.strip() for line in phones.splitlines() if line.strip()]
    try:
        update = CustomerUpdate(
            version=version,
            name=name.strip(),
            tier=tier,
            company=company.strip(),
            address=address.strip(),
            email=email.strip(),
            notes=notes.strip(),
            phones=[PhoneIn(number=n) for n in numbers],
        )
        await desk.customers.update(customer_id, update, actor_of(user, request))
    except TicketConflict:
        return await _profile(request, desk, acd, customer_id, error=t("cus.conflict"), status=409)
    except InvalidPhoneNumber as exc:
        return await _profile(
            request, desk, acd, customer_id, error=t("cus.bad_phone", phone=exc.raw), status=422
        )
    except ValueError:  # the schema's own checks (e-mail, lengths)
        return await _profile(request, desk, acd, customer_id, error=t("cus.invalid"), status=422)
    except NotFound:
        return await _profile(request, desk, acd, customer_id, status=404)
    return RedirectResponse(f"/customers/{customer_id}?done=saved", status_code=303)


@router.post("/customers/{customer_id}/merge", response_class=HTMLResponse)
async def customer_merge(
    request: Request,
    customer_id: RowId,
    desk: Desk,
    acd: Acd,
    version: Annotated[Version, Form()],
    duplicate_id: Annotated[RowId, Form()],
) -> Response:
    user, refusal = await gate(request, CUSTOMERS)
    if refusal is not None or user is None:
        return refusal  # type: ignore[return-value]
    t = translator(user.language)
    if user.role not in MERGERS:
        return await _profile(request, desk, acd, customer_id, error=t("cus.merge_forbidden"), status=403)
    try:
        await desk.merges.merge(customer_id, duplicate_id, actor_of(user, request), survivor_version=version)
    except TicketConflict:
        return await _profile(request, desk, acd, customer_id, error=t("cus.conflict"), status=409)
    except NotFound:
        return await _profile(request, desk, acd, customer_id, error=t("cus.no_duplicate"), status=404)
    except RuleViolation:
        return await _profile(request, desk, acd, customer_id, error=t("cus.merge_self"), status=409)
    except DeskError:
        return await _profile(request, desk, acd, customer_id, error=t("cus.invalid"), status=409)
    return RedirectResponse(f"/customers/{customer_id}?done=merged", status_code=303)


@router.post("/customers/{customer_id}/tickets", response_class=HTMLResponse)
async def customer_new_ticket(
    request: Request,
    customer_id: RowId,
    desk: Desk,
    acd: Acd,
    subject: Annotated[str, Form(max_length=300)] = "",
    category: Annotated[str, Form(max_length=60)] = "",
    priority: Annotated[str, Form(max_length=20)] = "normal",
    description: Annotated[str, Form(max_length=10000)] = "",
) -> Response:
    """A ticket reported without a call (a visit, a letter, an e-mail, a call that dropped):
    opened for this customer, owned by the agent who writes it, then worked as any other."""
    user, refusal = await gate(request, CUSTOMERS)
    if refusal is not None or user is None:
        return refusal  # type: ignore[return-value]
    t = translator(user.language)
    if not subject.strip():
        message = t("tk.err.invalid", fields=t("ticket.subject"))
        return await _profile(request, desk, acd, customer_id, error=message, status=422)
    try:
        data = TicketCreate.model_validate(
            {
                "customer_id": customer_id,
                "subject": subject.strip(),
                "description": description.strip(),
                "category": category or desk.config.default_category,
                "priority": priority,
                "owner_agent_id": user.agent_id,
            }
        )
        ticket = await desk.tickets.create(data, actor_of(user, request))
    except ValidationError as exc:
        message = t("tk.err.invalid", fields=invalid_fields(exc, t))
        return await _profile(request, desk, acd, customer_id, error=message, status=422)
    except NotFound:
        return await _profile(request, desk, acd, customer_id, status=404)
    except DeskError as exc:
        return await _profile(
            request, desk, acd, customer_id, error=t("tk.err.refused", why=str(exc)), status=409
        )
    return RedirectResponse(f"/tickets/{ticket.id}?done=created", status_code=303)
