"""A small driver for the router in virtual time: events get fresh ids, `now` is explicit."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from routing import AgentConfig, QueueConfig, Router, RouterConfig
from routing.commands import LoginAgent, OfferCall
from routing.decisions import AgentStateChanged, ConnectCall, Decision
from routing.events import AgentEvent, AgentEventKind, CallEvent, CallEventKind

AT = datetime(2025, 1, 1, tzinfo=UTC)  # later than these tests' `now`: the router reads only `now`
_ids = itertools.count()


def call_event(call_id: str, kind: CallEventKind, agent: str | None = None, **kw: Any) -> CallEvent:
    return CallEvent(call_id=call_id, kind=kind, at=AT, event_id=f"ev-{next(_ids)}", agent=agent, **kw)


def agent_event(agent: str, kind: AgentEventKind, **kw: Any) -> AgentEvent:
    return AgentEvent(agent=agent, kind=kind, at=AT, event_id=f"ev-{next(_ids)}", **kw)


def make_router(
    queues: Sequence[QueueConfig] = (QueueConfig(name="support"),),
    agents: Sequence[AgentConfig] | int = 2,
    mode: str = "control",
    **kw: Any,
) -> Router:
    if isinstance(agents, int):
        agents = [AgentConfig(id=f"a{i}", queues={q.name: 0 for q in queues}) for i in range(1, agents + 1)]
    return Router(RouterConfig(mode=mode, queues=list(queues), agents=list(agents), **kw))  # type: ignore[arg-type]


def login_all(router: Router, now: float = 0.0) -> None:
    for agent in router.config.agents:
        router.on_command(LoginAgent(agent.id), now)


def connects(decisions: Sequence[Decision]) -> list[tuple[str, str]]:
    return [(d.call_id, d.agent_id) for d in decisions if isinstance(d, ConnectCall)]


def of_type(decisions: Sequence[Decision], kind: type) -> list[Any]:
    return [d for d in decisions if isinstance(d, kind)]


def states(decisions: Sequence[Decision]) -> list[tuple[str, str]]:
    return [(d.agent_id, d.state.value) for d in decisions if isinstance(d, AgentStateChanged)]


def offer(router: Router, call_id: str, now: float, queue: str = "support", **kw: Any) -> list[Decision]:
    return router.on_command(OfferCall(call_id, queue, **kw), now)


def answer(router: Router, call_id: str, agent: str, now: float) -> list[Decision]:
    return router.on_event(call_event(call_id, CallEventKind.ANSWERED, agent), now)


def hang_up(router: Router, call_id: str, now: float) -> list[Decision]:
    return router.on_event(call_event(call_id, CallEventKind.HUNG_UP), now)
