"""The agent console page (its live side is the /ws/agent websocket)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from agent_ui.console import PAUSE_REASONS, WRAPUP_CODES
from agent_ui.deps import Center, Controls, Desk
from agent_ui.pages.common import gate, queue_title, render
from agent_ui.pages.nav import CONSOLE
from tickets.views import CustomerTier, TicketPriority

router = APIRouter(include_in_schema=False)


@router.get("/agent", response_class=HTMLResponse)
async def agent_console(request: Request, center: Center, controls: Controls, desk: Desk) -> Response:
    user, refusal = await gate(request, CONSOLE)
    if refusal is not None:
        return refusal
    return render(
        request,
        "agent.html",
        user,
        controls=controls.available(),
        pause_reasons=PAUSE_REASONS,
        wrapup_codes=WRAPUP_CODES,
        tiers=[t.value for t in CustomerTier],
        priorities=[p.value for p in TicketPriority],
        categories=[
            {"code": r.code, "title": r.title(user.language if user else "")}
            for r in await desk.categories.all()
        ],
        queue_titles={q.name: queue_title(q, user.language if user else "") for q in center.queues},
    )
