"""The supervisors' wallboard page (its live side is the /ws/supervisor websocket)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup

from agent_ui.api import supervisor as supervisor_api
from agent_ui.deps import Acd, Center, Controls, Sessions, Wallboard
from agent_ui.pages.common import gate, render
from agent_ui.pages.nav import WALLBOARD

router = APIRouter(include_in_schema=False)


@router.get("/supervisor", response_class=HTMLResponse)
async def wallboard(
    request: Request,
    center: Center,
    sessions: Sessions,
    acd: Acd,
    board: Wallboard,
    controls: Controls,
) -> Response:
    user, refusal = await gate(request, WALLBOARD)
    if refusal is not None or user is None:
        return refusal  # type: ignore[return-value]
    queues = center.supervised_queues(user.login)
    return render(
        request,
        "supervisor.html",
        user,
        # Our own SVG, every text in it escaped by agent_ui.charts.
        calls_svg=Markup(await supervisor_api.calls_svg(sessions, acd, queues, user.language)),
        waiting_svg=Markup(supervisor_api.waiting_svg(board, queues, user.language)),
        spy_available=controls.can_supervise,
        # the phone listen/whisper/barge rings: the supervisor's own, from the call-center file
        spy_phone=next((u.phone for u in center.users if u.login == user.login and u.phone), None),
    )
