"""Supervisor API: the wallboard view, charts, and orders to agents (pause, logout, listen).

A supervisor acts only on their queues (`CallCenter.supervised_queues`) and on
agents who belong to one of them; admins see every queue unless listed
otherwise. Orders go to the router as commands, as the agent's own would; an
order the agent's state does not allow (pausing a talking agent) is 409 and
changes nothing.
"""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import APIRouter, Depends, Path
from fastapi.responses import Response
from pydantic import BaseModel, Field

from agent_ui import charts
from agent_ui.auth import SupervisorUser
from agent_ui.deps import Acd, Center, Controls, Sessions, Wallboard
from agent_ui.errors import ApiError
from agent_ui.i18n import translator
from agent_ui.wallboard import WallboardService
from calls.reports import Thresholds, load_calls, slots
from cti.acd import AcdService
from routing.commands import Command, LogoutAgent, PauseAgent, SetAgentReady
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


async def _order(acd: AcdService, command: Command) -> None:
    try:
        await acd.command(command)
    except RoutingError as exc:
        raise ApiError(409, "invalid_transition", str(exc)) from exc


@router.post("/agents/{agent_id}/pause", status_code=204)
async def force_pause(agent_id: WatchedAgent, body: PauseIn, acd: Acd) -> None:
    await _order(acd, PauseAgent(agent_id=agent_id, reason=body.reason))


@router.post("/agents/{agent_id}/logout", status_code=204)
async def force_logout(agent_id: WatchedAgent, acd: Acd) -> None:
    await _order(acd, LogoutAgent(agent_id=agent_id, reason="supervisor"))


@router.post("/agents/{agent_id}/ready", status_code=204)
async def make_ready(agent_id: WatchedAgent, acd: Acd) -> None:
    await _order(acd, SetAgentReady(agent_id=agent_id))


@router.post("/agents/{agent_id}/supervise", status_code=204)
async def supervise(
    agent_id: WatchedAgent, body: SuperviseIn, user: SupervisorUser, acd: Acd, controls: Controls
) -> None:
    """Listen to, whisper to, or barge into the agent's call, on the supervisor's phone."""
    if acd.router.snapshot(acd.clock()).agent(agent_id).call_id is None:
        raise ApiError(409, "no_call", f"agent {agent_id} is not on a call")
    await controls.supervise(agent_id, user.login, body.mode)


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
