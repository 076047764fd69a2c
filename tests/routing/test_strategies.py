"""Each strategy picks the agent it promises, in virtual time."""

from __future__ import annotations

import random
from collections import Counter

from routing import AgentConfig, QueueConfig, Router, RouterConfig
from routing.commands import LoginAgent, SetAgentReady
from routing.decisions import ConnectCall

from .helpers import answer, connects, hang_up, make_router, of_type, offer


def router_with(strategy: str, n: int = 3, rng: random.Random | None = None, **agent_kw: object) -> Router:
    queue = QueueConfig(name="support", strategy=strategy)  # type: ignore[arg-type]
    agents = [AgentConfig(id=f"a{i}", queues={"support": 0}, **agent_kw) for i in range(1, n + 1)]  # type: ignore[arg-type]
    return Router(RouterConfig(queues=[queue], agents=agents), rng=rng)


def serve(router: Router, call_id: str, now: float, talk_s: float = 10.0) -> str:
    """Offer a call, answer it with whoever rings, hang up: returns the agent."""
    ((_, agent),) = connects(offer(router, call_id, now))
    answer(router, call_id, agent, now + 1)
    hang_up(router, call_id, now + 1 + talk_s)
    return agent


def test_longest_idle_picks_the_agent_free_the_longest() -> None:
    router = router_with("longest-idle")
    for i, agent in enumerate(("a2", "a3", "a1")):
        router.on_command(LoginAgent(agent), i)
    assert serve(router, "c1", 10) == "a2"
    assert serve(router, "c2", 30) == "a3"
    assert serve(router, "c3", 50) == "a1"
    assert serve(router, "c4", 70) == "a2"


def test_linear_always_starts_from_the_first_agent_in_order() -> None:
    router = router_with("linear")
    for agent in ("a3", "a2", "a1"):
        router.on_command(LoginAgent(agent), 0)
    assert [serve(router, f"c{i}", 10 * i) for i in range(1, 4)] == ["a1", "a1", "a1"]


def test_round_robin_remembers_who_was_served_last() -> None:
    router = router_with("round-robin")
    for agent in ("a1", "a2", "a3"):
        router.on_command(LoginAgent(agent), 0)
    assert [serve(router, f"c{i}", 20 * i) for i in range(1, 6)] == ["a1", "a2", "a3", "a1", "a2"]


def test_fewest_calls_picks_the_agent_with_fewest_answered_calls_today() -> None:
    router = router_with("fewest-calls", n=2)
    router.on_command(LoginAgent("a1"), 0)
    serve(router, "c1", 1)
    serve(router, "c2", 20)
    router.on_command(LoginAgent("a2"), 30)
    assert serve(router, "c3", 40) == "a2"
    assert serve(router, "c4", 60) == "a2"  # 1 call against 2
    assert serve(router, "c5", 80) in ("a1", "a2")


def test_least_talk_time_picks_the_agent_who_talked_least_today() -> None:
    router = router_with("least-talk-time", n=2)
    router.on_command(LoginAgent("a1"), 0)
    router.on_command(LoginAgent("a2"), 0)
    offer(router, "long", 1)  # a1
    offer(router, "short", 1)  # a2
    answer(router, "long", "a1", 2)
    answer(router, "short", "a2", 2)
    hang_up(router, "short", 12)
    hang_up(router, "long", 302)
    assert serve(router, "c3", 400) == "a2"
    assert serve(router, "c4", 500, talk_s=1000) == "a2"
    assert serve(router, "c5", 2000) == "a1"


def test_random_is_deterministic_with_a_seeded_rng_and_uses_everyone() -> None:
    picks = []
    for _ in range(2):
        router = router_with("random", n=4, rng=random.Random(7))
        for i in range(1, 5):
            router.on_command(LoginAgent(f"a{i}"), 0)
        picks.append([serve(router, f"c{i}", 20 * i) for i in range(1, 41)])
    assert picks[0] == picks[1]
    assert set(picks[0]) == {"a1", "a2", "a3", "a4"}


def test_weighted_random_favours_heavier_agents_in_proportion() -> None:
    queue = QueueConfig(name="support", strategy="weighted-random")
    agents = [
        AgentConfig(id="heavy", queues={"support": 0}, weight=3.0),
        AgentConfig(id="light", queues={"support": 0}, weight=1.0),
    ]
    router = Router(RouterConfig(queues=[queue], agents=agents), rng=random.Random(1))
    router.on_command(LoginAgent("heavy"), 0)
    router.on_command(LoginAgent("light"), 0)
    counts = Counter(serve(router, f"c{i}", 20 * i) for i in range(1, 2001))
    assert 0.70 < counts["heavy"] / 2000 < 0.80  # expected 0.75


def test_ring_all_rings_every_free_agent_and_the_first_answer_wins() -> None:
    router = router_with("ring-all")
    for i in range(1, 4):
        router.on_command(LoginAgent(f"a{i}"), 0)
    decisions = offer(router, "c1", 1)
    assert sorted(a for _, a in connects(decisions)) == ["a1", "a2", "a3"]
    decisions = answer(router, "c1", "a2", 3)
    cancelled = sorted(d.agent_id for d in decisions if type(d).__name__ == "CancelRing")
    assert cancelled == ["a1", "a3"]
    snap = router.snapshot(3)
    assert [a.state.value for a in snap.agents] == ["available", "on_call", "available"]
    assert snap.agent("a1").missed == 0


def test_lower_penalty_agents_are_tried_before_higher_ones() -> None:
    queue = QueueConfig(name="support", strategy="longest-idle")
    agents = [
        AgentConfig(id="backup", queues={"support": 2}),
        AgentConfig(id="first", queues={"support": 0}),
    ]
    router = Router(RouterConfig(queues=[queue], agents=agents))
    router.on_command(LoginAgent("backup"), 0)  # idle longer, but tier 2
    router.on_command(LoginAgent("first"), 5)
    assert connects(offer(router, "c1", 10)) == [("c1", "first")]
    assert connects(offer(router, "c2", 11)) == [("c2", "backup")]


def test_ring_all_rings_only_the_lowest_penalty_tier() -> None:
    queue = QueueConfig(name="support", strategy="ring-all")
    agents = [
        AgentConfig(id="t0a", queues={"support": 0}),
        AgentConfig(id="t0b", queues={"support": 0}),
        AgentConfig(id="t1", queues={"support": 1}),
    ]
    router = Router(RouterConfig(queues=[queue], agents=agents))
    for a in ("t0a", "t0b", "t1"):
        router.on_command(LoginAgent(a), 0)
    assert sorted(a for _, a in connects(offer(router, "c1", 1))) == ["t0a", "t0b"]


def test_an_agent_in_two_queues_serves_the_heavier_queue_first() -> None:
    queues = [QueueConfig(name="vip", weight=10), QueueConfig(name="support")]
    agents = [AgentConfig(id="a1", queues={"vip": 0, "support": 0})]
    router = make_router(queues=queues, agents=agents)
    offer(router, "ordinary", 1, queue="support")
    offer(router, "important", 2, queue="vip")
    decisions = router.on_command(LoginAgent("a1"), 3)
    assert connects(decisions) == [("important", "a1")]


def test_a_ready_agent_takes_the_oldest_waiting_call() -> None:
    router = make_router(agents=1)
    router.on_command(LoginAgent("a1", paused=True), 0)
    offer(router, "c1", 1)
    offer(router, "c2", 2)
    assert of_type(router.on_command(SetAgentReady("a1"), 3), ConnectCall) == [
        ConnectCall("c1", "a1", "support", 15.0)
    ]
