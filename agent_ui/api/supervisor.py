"""Supervisor API: the wallboard view, charts, and orders to agents (pause, logout, listen).

A supervisor acts only on their queues (`CallCenter.supervised_queues`) and on
agents who belong to one of them; admins see every queue unless listed
otherwise. Orders go to the router as commands, as the agent's own would; an
order the agent's state does not allow (pausing a talking agent) is 409 and
changes nothing. Every order and every listen/whisper/barge is on the audit log
(`supervisor.<action>`, subject `agent:<id>`), refused ones with outcome `refused`.
"""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from agent_ui import charts
from agent_ui.auth import SupervisorUser, authenticator, client_ip
from agent_ui.deps import Acd, Center, Controls, Sessions, Wallboard
from agent_ui.errors import ApiError
from agent_ui.i18n import translator
from agent_ui.wallboard import WallboardService
from calls.reports import Thresholds, load_calls, slots
from cti.acd import AcdService
from routing.agent_state import AgentState
from routing.commands import LogoutAgent, PauseAgent, SetAgentReady
from routing.errors import RoutingError

router = APIRouter(prefix="/supervisor", tags=["supervisor"])

SLOT_S = 900


async def watched_queues(user: SupervisorUser, center: Center) -> frozenset[str]:
    return center.supervised_queues(user.login)


Queues = Annotated[frozenset[str], Depends(watched_queues)]


async def watched_agent(agent_id: Annotated[str, Path(max_length=40)], queues: Queues, center: Center) -> str:
    spec = center.agent(agent_id)
    if spec is None:
        raise ApiError(404, "unknown_agent", f"no agent {agent_id}")
    if not set(spec.queues) & queues:
        raise ApiError(403, "not_your_agent", f"agent {agent_id} is in none of your queues")
    return agent_id


WatchedAgent = Annotated[str, Depends(watched_agent)]


class PauseIn(BaseModel):
    reason: str = Field(default="supervisor", min_length=1, max_length=40)


class SuperviseIn(BaseModel):
    mode: str = Field(pattern="^(listen|whisper|barge)$")


@router.get("/wallboard")
async def wallboard(queues: Queues, board: Wallboard) -> dict[str, object]:
    return board.narrowed(board.view(), queues)


async def _audit(
    request: Request, user: SupervisorUser, action: str, agent_id: str, outcome: str, **detail: object
) -> None:
    await authenticator(request).trail.record(
        actor=user.login,
        action=f"supervisor.{action}",
        subject=f"agent:{agent_id}",
        role=str(user.role),
        source_ip=client_ip(request),
        outcome=outcome,
        **detail,
    )


async def _order(
    request: Request,
    user: SupervisorUser,
    acd: AcdService,
    action: str,
    command: PauseAgent | LogoutAgent | SetAgentReady,
    **detail: object,
) -> None:
    agent_id = command.agent_id
    try:
        await acd.command(command)
    except RoutingError as exc:
        await _audit(request, user, action, agent_id, "refused", error=str(exc)[:200], **detail)
        raise ApiError(409, "invalid_transition", str(exc)) from exc
    await _audit(request, user, action, agent_id, "ok", **detail)


@router.post("/agents/{agent_id}/pause", status_code=204)
async def force_pause(
    agent_id: WatchedAgent, body: PauseIn, user: SupervisorUser, acd: Acd, request: Request
) -> None:
    command = PauseAgent(agent_id=agent_id, reason=body.reason)
    await _order(request, user, acd, "pause", command, reason=body.reason)


@router.post("/agents/{agent_id}/logout", status_code=204)
async def force_logout(agent_id: WatchedAgent, user: SupervisorUser, acd: Acd, request: Request) -> None:
    await _order(request, user, acd, "logout", LogoutAgent(agent_id=agent_id, reason="supervisor"))


@router.post("/agents/{agent_id}/ready", status_code=204)
async def make_ready(agent_id: WatchedAgent, user: SupervisorUser, acd: Acd, request: Request) -> None:
    await _order(request, user, acd, "ready", SetAgentReady(agent_id=agent_id))


@router.post("/agents/{agent_id}/supervise", status_code=204)
async def supervise(
    agent_id: WatchedAgent,
    body: SuperviseIn,
    user: SupervisorUser,
    acd: Acd,
    controls: Controls,
    request: Request,
) -> None:
    """Listen to, whisper to, or barge into the agent's call, on the supervisor's phone."""
    agent = acd.router.snapshot(acd.clock()).agent(agent_id)
    # Only a connected call: while the phone rings or in wrap-up there is nothing to hear.
    call_id = agent.call_id if agent.state is AgentState.ON_CALL else None
    if call_id is None:
        await _audit(request, user, body.mode, agent_id, "refused", error="not on a call")
        raise ApiError(409, "no_call", f"agent {agent_id} is not on a call")
    try:
        await controls.supervise(agent_id, user.login, body.mode)
    except ApiError as exc:
        await _audit(request, user, body.mode, agent_id, "refused", call_id=call_id, error=exc.error_id)
        raise
    await _audit(request, user, body.mode, agent_id, "ok", call_id=call_id)


# ------------------------------------------------------------------ charts (inline SVG)

_SVG = {"Cache-Control": "no-store"}


async def calls_svg(sessions: Sessions, acd: AcdService, queues: frozenset[str], language: str) -> str:
    router = acd.router
    now = acd.clock()
    offsets = router.config.utc_offsets
    midnight = charts.midnight_utc(offsets.local_midnight(now))
    count = max(1, math.ceil((now - midnight.timestamp()) / SLOT_S))
    calls = await load_calls(sessions, midnight, charts.midnight_utc(now + 1), queues=queues)
    limits = {
        q.name: Thresholds(q.service_level_s, q.short_abandon_s)
        for q in router.config.queues
        if q.name in queues
    }
    data = slots(calls, midnight, count, limits, SLOT_S)
    return charts.calls_chart(data, translator(language), offsets.at(now))


def waiting_svg(board: WallboardService, queues: frozenset[str], language: str) -> str:
    now = board.clock()
    points = board.waiting_series(now, queues)
    return charts.waiting_chart(points, now, translator(language))


@router.get("/charts/calls.svg", response_class=Response)
async def calls_chart(user: SupervisorUser, queues: Queues, sessions: Sessions, acd: Acd) -> Response:
    svg = await calls_svg(sessions, acd, queues, user.language)
    return Response(svg, media_type="image/svg+xml", headers=_SVG)


@router.get("/charts/waiting.svg", response_class=Response)
async def waiting_chart(user: SupervisorUser, queues: Queues, board: Wallboard) -> Response:
    return Response(waiting_svg(board, queues, user.language), media_type="image/svg+xml", headers=_SVG)
