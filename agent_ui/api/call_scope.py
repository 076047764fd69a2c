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
from agent_ui.deps import ContainerDep
from agent_ui.errors import ApiError
from agent_ui.models import Role
from agent_ui.sessions import SessionUser
from calls.models import CallRecord
from tickets.models import TicketCall

CallId = Annotated[str, Path(min_length=1, max_length=64)]


async def _check(call_id: str, user: SessionUser, container: ContainerDep) -> str:
    if user.role == Role.AGENT and container.console.popped_to(user.login, call_id):
        return call_id  # the pop is sent before the call is written: answer from memory first
    async with container.sessions() as session:
        record = await session.get(CallRecord, call_id)
        link = await session.get(TicketCall, call_id)
    if user.role == Role.AGENT:
        agents = {record.agent_id if record else None, link.agent_id if link else None}
        if user.login in agents:
            return call_id
    elif user.role in (Role.SUPERVISOR, Role.ADMIN):
        queue = record.queue if record is not None else None
        if queue is not None and queue in container.callcenter.supervised_queues(user.login):
            return call_id
    raise ApiError(403, "not_your_call", f"call {call_id} is not yours")


async def own_call(call_id: CallId, user: AgentUser, container: ContainerDep) -> str:
    """The call id, if the signed-in agent was popped or answered it."""
    return await _check(call_id, user, container)


async def call_in_scope(call_id: CallId, user: StaffUser, container: ContainerDep) -> str:
    """The call id, if it is the agent's own, or of a queue the supervisor watches."""
    return await _check(call_id, user, container)


OwnCall = Annotated[str, Depends(own_call)]
ScopedCall = Annotated[str, Depends(call_in_scope)]
