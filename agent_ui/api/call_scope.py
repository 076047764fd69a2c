"""Whose call is it: the one rule for every route that takes a call id.

An agent acts only on a call that was popped on their console or that they answered;
a supervisor (or admin) on a call of a queue they supervise; nobody else. Knowing a
call id is never enough: ids are the PBX's (Asterisk's are a timestamp and a counter,
easy to guess), so the rule is checked against who asks, on every request.

Another agent's call, and a call nobody knows, are both 403 `not_your_call`: the answer
does not tell which ids exist.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path

from agent_ui.auth import AgentUser, StaffUser
from agent_ui.deps import CallViewsDep, Center, Console, DeskViewsDep
from agent_ui.errors import ApiError
from agent_ui.models import Role
from agent_ui.sessions import SessionUser
from calls.views import CallViews
from config.callcenter import CallCenter
from tickets.views import DeskViews

CallId = Annotated[str, Path(min_length=1, max_length=64)]


async def _check(
    call_id: str, user: SessionUser, console: Console, calls: CallViews, desk: DeskViews, center: CallCenter
) -> str:
    if user.role == Role.AGENT and console.popped_to(user.login, call_id):
        return call_id  # the pop is sent before the call is written: answer from memory first
    logged = await calls.find(call_id)
    if user.role == Role.AGENT:
        if logged is not None and logged.agent_id == user.login:
            return call_id
        link = await desk.call_ticket(call_id)
        if link is not None and link.agent_id == user.login:
            return call_id
        if await console.popped_to_anywhere(user.login, call_id):  # a web worker asks the router
            return call_id
    elif user.role in (Role.SUPERVISOR, Role.ADMIN):
        queue = logged.queue if logged is not None else None
        if queue is not None and queue in center.supervised_queues(user.login):
            return call_id
    raise ApiError(403, "not_your_call", f"call {call_id} is not yours")


async def own_call(
    call_id: CallId,
    user: AgentUser,
    console: Console,
    calls: CallViewsDep,
    desk: DeskViewsDep,
    center: Center,
) -> str:
    """The call id, if the signed-in agent was popped or answered it."""
    return await _check(call_id, user, console, calls, desk, center)


async def call_in_scope(
    call_id: CallId,
    user: StaffUser,
    console: Console,
    calls: CallViewsDep,
    desk: DeskViewsDep,
    center: Center,
) -> str:
    """The call id, if it is the agent's own, or of a queue the supervisor watches."""
    return await _check(call_id, user, console, calls, desk, center)


OwnCall = Annotated[str, Depends(own_call)]
ScopedCall = Annotated[str, Depends(call_in_scope)]
