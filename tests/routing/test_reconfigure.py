"""A running router takes a changed configuration: waiting calls and agent states stay."""

from __future__ import annotations

import dataclasses

import pytest

from routing import AgentConfig, QueueConfig, RouterConfig
from routing.agent_state import AgentState
from routing.commands import LoginAgent
from routing.errors import ConfigError
from tests.routing.helpers import answer, connects, hang_up, make_router, offer


def _config(queues: list[QueueConfig], agents: list[AgentConfig]) -> RouterConfig:
    return RouterConfig(mode="control", queues=queues, agents=agents)


def test_a_strategy_change_applies_to_the_next_call_without_losing_state() -> None:
    queue = QueueConfig(name="support", strategy="linear")
    agents = [AgentConfig(id="a1", queues={"support": 0}), AgentConfig(id="a2", queues={"support": 0})]
    routers = [make_router(queues=[queue], agents=agents) for _ in range(2)]
    for router in routers:
        router.on_command(LoginAgent("a2"), 0)  # a2 idle longest; linear still picks a1 (configured first)
        router.on_command(LoginAgent("a1"), 1)
    unchanged, changed = routers
    changed.reconfigure(_config([dataclasses.replace(queue, strategy="longest-idle")], agents), 2)
    assert changed.agent_state("a1") is changed.agent_state("a2") is AgentState.AVAILABLE
    assert connects(offer(unchanged, "c1", 3)) == [("c1", "a1")]
    assert connects(offer(changed, "c1", 3)) == [("c1", "a2")]


def test_giving_an_agent_a_skill_offers_them_the_waiting_call_that_needs_it() -> None:
    queue = QueueConfig(name="support")
    agents = [AgentConfig(id="a1", queues={"support": 0}, skills={"network": 10})]
    router = make_router(queues=[queue], agents=agents)
    router.on_command(LoginAgent("a1"), 0)
    assert connects(offer(router, "c1", 1, required_skills={"billing": 50})) == []
    skilled = [AgentConfig(id="a1", queues={"support": 0}, skills={"network": 10, "billing": 60})]
    assert connects(router.reconfigure(_config([queue], skilled), 2)) == [("c1", "a1")]


def test_waiting_calls_keep_their_order_and_new_queues_and_agents_join() -> None:
    queue = QueueConfig(name="support", wrapup_s=60)
    agents = [AgentConfig(id="a1", queues={"support": 0})]
    router = make_router(queues=[queue], agents=agents)
    router.on_command(LoginAgent("a1"), 0)
    offer(router, "c1", 1)
    answer(router, "c1", "a1", 2)
    offer(router, "c2", 3)
    offer(router, "c3", 4)
    sales = QueueConfig(name="sales")
    more = [*agents, AgentConfig(id="a2", queues={"support": 0, "sales": 0})]
    router.reconfigure(_config([dataclasses.replace(queue, ring_timeout_s=30), sales], more), 5)
    assert router.agent_state("a1") is AgentState.ON_CALL
    assert [c.call_id for c in router.snapshot(5).queue("support").waiting] == ["c2", "c3"]
    router.on_command(LoginAgent("a2"), 6)
    assert router.agent_state("a2") is AgentState.RESERVED  # takes c2, the first in line
    hang_up(router, "c1", 7)
    assert router.agent_state("a1") is AgentState.WRAP_UP


def test_removing_a_busy_queue_or_a_logged_in_agent_or_changing_mode_is_refused() -> None:
    queue, other = QueueConfig(name="support"), QueueConfig(name="sales")
    agents = [AgentConfig(id="a1", queues={"support": 0}), AgentConfig(id="a2", queues={"sales": 0})]
    router = make_router(queues=[queue, other], agents=agents)
    router.on_command(LoginAgent("a1"), 0)
    offer(router, "c1", 1, queue="sales")
    with pytest.raises(ConfigError, match="still has calls"):
        router.reconfigure(_config([queue], [agents[0]]), 2)
    with pytest.raises(ConfigError, match="logged in"):
        router.reconfigure(_config([queue, other], [agents[1]]), 2)
    with pytest.raises(ConfigError, match="restart"):
        router.reconfigure(RouterConfig(mode="observe", queues=[queue, other], agents=agents), 2)
    assert [c.call_id for c in router.snapshot(2).queue("sales").waiting] == ["c1"]


def test_a_skills_change_moves_the_next_call_of_a_queue_that_requires_the_skill() -> None:
    queue = QueueConfig(name="support", strategy="linear", required_skills={"network": 70})
    agents = [
        AgentConfig(id="a1", queues={"support": 0}, skills={"network": 80}),
        AgentConfig(id="a2", queues={"support": 0}, skills={"network": 60}),
    ]
    router = make_router(queues=[queue], agents=agents)
    router.on_command(LoginAgent("a1"), 0)
    router.on_command(LoginAgent("a2"), 0)
    assert connects(offer(router, "c1", 1)) == [("c1", "a1")]
    answer(router, "c1", "a1", 1.5)
    hang_up(router, "c1", 2)
    moved = [
        AgentConfig(id="a1", queues={"support": 0}, skills={"network": 50}),
        AgentConfig(id="a2", queues={"support": 0}, skills={"network": 75}),
    ]
    router.reconfigure(_config([queue], moved), 3)
    assert connects(offer(router, "c2", 4)) == [("c2", "a2")]
    # The queue no longer requires it: linear's first agent again (a1 is free: no wrap-up).
    answer(router, "c2", "a2", 4.5)
    hang_up(router, "c2", 5)
    router.reconfigure(_config([dataclasses.replace(queue, required_skills={})], moved), 6)
    assert connects(offer(router, "c3", 7)) == [("c3", "a1")]


def test_a_required_proficiency_outside_0_to_100_is_refused() -> None:
    queue = QueueConfig(name="support", required_skills={"network": 170})
    with pytest.raises(ConfigError, match="network"):
        make_router(queues=[queue], agents=[])
    with pytest.raises(ConfigError, match="fibre"):
        make_router(choice_skills={"fibre": {"network": -1}})
