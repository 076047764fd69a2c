"""Wrap-up as the agent's decision (QueueConfig.wrapup_ends "agent"): wrapup_s is a maximum."""

from __future__ import annotations

from routing import AgentConfig, QueueConfig
from routing.agent_state import AgentState
from routing.commands import LoginAgent, SetAgentReady
from routing.events import AgentEventKind
from tests.routing.helpers import agent_event, answer, connects, hang_up, make_router, offer, states


def _overdue(router, agent: str, now: float) -> bool:  # type: ignore[no-untyped-def]
    return next(a.wrapup_overdue for a in router.snapshot(now).agents if a.agent_id == agent)


def test_the_maximum_passing_makes_the_agent_overdue_not_ready_and_no_call_is_offered_until_done() -> None:
    router = make_router(queues=[QueueConfig(name="support", wrapup_s=5, wrapup_ends="agent")], agents=1)
    router.on_command(LoginAgent("a1"), 0)
    offer(router, "c1", 1)
    answer(router, "c1", "a1", 2)
    assert states(hang_up(router, "c1", 10)) == [("a1", "wrap_up")]
    assert not _overdue(router, "a1", 11)
    assert connects(offer(router, "c2", 12)) == []
    assert router.next_deadline() == 15
    assert router.tick(15) == []  # the maximum: nothing happens to the agent ...
    assert router.agent_state("a1") is AgentState.WRAP_UP
    assert _overdue(router, "a1", 16)  # ... but the supervisor sees them overdue
    assert router.tick(600) == [] and router.agent_state("a1") is AgentState.WRAP_UP
    decisions = router.on_command(SetAgentReady("a1"), 700)  # "Done"
    assert states(decisions) == [("a1", "available"), ("a1", "reserved")]
    assert connects(decisions) == [("c2", "a1")]
    assert not _overdue(router, "a1", 701)


def test_no_maximum_with_wrapup_s_zero_and_a_pbx_pause_during_the_call_holds_after_done() -> None:
    router = make_router(queues=[QueueConfig(name="support", wrapup_s=0, wrapup_ends="agent")], agents=1)
    router.on_command(LoginAgent("a1"), 0)
    offer(router, "c1", 1)
    answer(router, "c1", "a1", 2)
    router.on_event(agent_event("a1", AgentEventKind.PAUSED, detail="lunch"), 3)
    hang_up(router, "c1", 10)
    assert router.next_deadline() is None
    assert router.agent_state("a1") is AgentState.WRAP_UP and not _overdue(router, "a1", 10_000)
    assert states(router.on_command(SetAgentReady("a1"), 10_000)) == [("a1", "paused")]


def test_an_agent_override_sets_the_maximum_and_timer_queues_still_end_by_themselves() -> None:
    queues = [
        QueueConfig(name="support", wrapup_s=30, wrapup_ends="agent"),
        QueueConfig(name="sales", wrapup_s=5),
    ]
    agents = [
        AgentConfig(id="a1", queues={"support": 0}, wrapup_s=8),
        AgentConfig(id="a2", queues={"sales": 0}),
    ]
    router = make_router(queues=queues, agents=agents)
    for a in ("a1", "a2"):
        router.on_command(LoginAgent(a), 0)
    offer(router, "c1", 1)
    offer(router, "c2", 1, queue="sales")
    answer(router, "c1", "a1", 2)
    answer(router, "c2", "a2", 2)
    hang_up(router, "c1", 10)
    hang_up(router, "c2", 10)
    assert states(router.tick(15)) == [("a2", "available")]
    assert states(router.tick(18)) == [] and _overdue(router, "a1", 18)
