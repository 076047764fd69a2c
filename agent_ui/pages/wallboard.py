"""The supervisors' wallboard page (its live side is the /ws/supervisor websocket)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup

from agent_ui.api import supervisor as supervisor_api
from agent_ui.callcontrol import CallControls
from agent_ui.deps import ContainerDep
from agent_ui.pages.common import gate, render
from agent_ui.pages.nav import WALLBOARD

router = APIRouter(include_in_schema=False)


@router.get("/supervisor", response_class=HTMLResponse)
async def wallboard(request: Request, container: ContainerDep) -> Response:
    user, refusal = await gate(request, WALLBOARD)
    if refusal is not None or user is None:
        return refusal  # type: ignore[return-value]
    queues = container.callcenter.supervised_queues(user.login)
    return render(
        request,
        "supervisor.html",
        user,
        # Our own SVG, every text in it escaped by agent_ui.charts.
        calls_svg=Markup(await supervisor_api.calls_svg(container, queues, user.language)),
        waiting_svg=Markup(supervisor_api.waiting_svg(container, queues, user.language)),
        spy_available=CallControls(container.link).can_supervise,
    )
