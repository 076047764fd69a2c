"""The ticket lists: views with counts (mine, team, unassigned, waiting, SLA, complaints, closed),
filters, search by number / phone / name / text (tickets.search), sorting and paging.

A GET form: the list's address is the query (bookmarkable, back button works).
Bad filter values are ignored with a note, never a 500: a person typed them.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime, timedelta, timezone
from typing import TypeVar
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from agent_ui.api.desk_common import viewer_of
from agent_ui.deps import Acd, Center, Desk
from agent_ui.i18n import fmt_datetime, fmt_number, supported
from agent_ui.pages.common import gate, render
from agent_ui.pages.nav import TICKETS
from agent_ui.pages.ticket import categories_of
from tickets.search import TicketQuery, TicketSort, TicketView, Who
from tickets.views import TicketPriority, TicketState

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 25
E = TypeVar("E", bound=enum.StrEnum)
D = TypeVar("D")
MAX_PAGE = 400


def _enum(kind: type[E], raw: str | None, default: D) -> E | D:
    try:
        return kind(raw) if raw else default
    except ValueError:
        return default


def _day(raw: str | None, offset: int) -> datetime | None:
    if not raw:
        return None
    try:
        day = datetime.strptime(raw, "%Y-%m-%d")
    except ValueError:
        return None
    return day.replace(tzinfo=timezone(timedelta(seconds=offset))).astimezone(UTC)


def _int(raw: str | None) -> int | None:
    return int(raw) if raw and raw.isdigit() and len(raw) <= 9 else None


@router.get("/tickets", response_class=HTMLResponse)
async def ticket_list(request: Request, desk: Desk, acd: Acd, center: Center) -> Response:
    user, refusal = await gate(request, TICKETS)
    if refusal is not None or user is None:
        return refusal  # type: ignore[return-value]
    lang = supported(user.language)
    offset = int(acd.router.config.utc_offsets.at(acd.clock()))
    params = request.query_params
    viewer = await viewer_of(user, request)
    team = center.supervised_queues(user.login) if user.role == "supervisor" else viewer.queues
    who = Who(viewer, frozenset(team))
    default_view = TicketView.MINE if user.role == "agent" else TicketView.ALL
    view = _enum(TicketView, params.get("view"), default_view)
    states = tuple(TicketState(s) for s in params.getlist("state") if s in {x.value for x in TicketState})
    page_no = min(max(_int(params.get("page")) or 1, 1), MAX_PAGE)
    day_to = _day(params.get("to"), offset)
    query = TicketQuery(
        view=view,
        text=(params.get("q") or "")[:200],
        states=states,
        category=params.get("category") or None,
        department_id=_int(params.get("department")),
        priority=_enum(TicketPriority, params.get("priority"), None),
        customer_id=_int(params.get("customer")),
        created_from=_day(params.get("from"), offset),
        created_to=day_to + timedelta(days=1) if day_to else None,
        sort=_enum(TicketSort, params.get("sort"), TicketSort.NEWEST),
        limit=PAGE_SIZE,
        offset=(page_no - 1) * PAGE_SIZE,
    )
    found = await desk.search.page(query, who, with_counts=True)
    departments = await desk.work_orders.departments()
    names = {d.id: d.name for d in departments}
    kept = [(k, v) for k, v in params.multi_items() if k not in ("page", "view") and v]
    pages = max(1, -(-found.total // PAGE_SIZE))
    return render(
        request,
        "tickets.html",
        user,
        view=view.value,
        views=[v.value for v in TicketView],
        counts={k: fmt_number(n, lang) for k, n in found.counts.items()},
        form={
            k: params.get(k, "")
            for k in ("q", "category", "department", "priority", "customer", "from", "to", "sort")
        },
        chosen_states=[s.value for s in states],
        states=[s.value for s in TicketState],
        priorities=[p.value for p in TicketPriority],
        sorts=[s.value for s in TicketSort],
        categories=await categories_of(desk, lang),
        departments=departments,
        total=fmt_number(found.total, lang),
        capped=found.capped,
        page_no=page_no,
        pages=pages,
        view_query=urlencode(kept),
        page_query=urlencode([*kept, ("view", view.value)]),
        rows=[
            {
                "id": t.id,
                "subject": t.subject,
                "state": t.state.value,
                "category": t.category,
                "priority": t.priority.value,
                "owner": t.owner_agent_id or "",
                "department": names.get(t.department_id, "") if t.department_id else "",
                "sla": t.sla_status.value,
                "complaint": t.is_complaint,
                "created": fmt_datetime(t.created_at, lang, offset),
            }
            for t in found.items
        ],
    )
