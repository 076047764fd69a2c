"""Skills with proficiency and a widening pool; caller priority with FIFO and no starvation."""

from __future__ import annotations

from routing import AgentConfig, QueueConfig, WideningStep
from routing.commands import LoginAgent

from .helpers import answer, connects, hang_up, login_all, make_router, offer

WIDENING = (WideningStep(30, min_proficiency=50), WideningStep(60, min_proficiency=0))


def skilled_router(widening: tuple[WideningStep, ...] = WIDENING):
    queue = QueueConfig(name="support", skill_widening=widening)
    agents = [
        AgentConfig(id="expert", queues={"support": 0}, skills={"billing": 90}),
        AgentConfig(id="junior", queues={"support": 0}, skills={"billing": 55}),
        AgentConfig(id="generalist", queues={"support": 0}, skills={}),
    ]
    return make_router(queues=[queue], agents=agents)


def test_a_call_goes_only_to_agents_with_the_required_proficiency() -> None:
    router = skilled_router()
    router.on_command(LoginAgent("generalist"), 0)
    router.on_command(LoginAgent("junior"), 1)
    router.on_command(LoginAgent("expert"), 2)
    assert connects(offer(router, "c1", 10, required_skills={"billing": 80})) == [("c1", "expert")]


def test_the_pool_widens_to_proficiency_50_after_30_seconds() -> None:
    router = skilled_router()
    router.on_command(LoginAgent("junior"), 0)
    assert connects(offer(router, "c1", 10, required_skills={"billing": 80})) == []
    assert router.next_deadline() == 40
    assert connects(router.tick(40)) == [("c1", "junior")]


def test_after_60_seconds_anyone_in_the_queue_will_do() -> None:
    router = skilled_router()
    router.on_command(LoginAgent("generalist"), 0)
    offer(router, "c1", 10, required_skills={"billing": 80})
    assert connects(router.tick(40)) == []
    assert connects(router.tick(70)) == [("c1", "generalist")]


def test_a_freed_agent_takes_a_call_only_once_its_pool_includes_them() -> None:
    router = skilled_router()
    router.on_command(LoginAgent("generalist"), 0)
    offer(router, "busy", 0)
    answer(router, "busy", "generalist", 1)
    offer(router, "billing", 5, required_skills={"billing": 80})
    # Freed at 20 s: the billing call (waited 15 s) still needs a billing agent.
    assert connects(hang_up(router, "busy", 20)) == []
    assert connects(router.tick(65)) == [("billing", "generalist")]


def test_without_widening_the_requirement_never_relaxes() -> None:
    router = skilled_router(widening=())
    router.on_command(LoginAgent("generalist"), 0)
    offer(router, "c1", 0, required_skills={"billing": 10})
    assert router.next_deadline() is None
    assert connects(router.tick(10_000)) == []


def test_a_vip_caller_jumps_ahead_of_ordinary_callers() -> None:
    router = make_router(agents=1)
    login_all(router)
    offer(router, "busy", 0)
    answer(router, "busy", "a1", 1)
    offer(router, "ordinary", 2, tier="ordinary")
    offer(router, "risk", 3, tier="risk")
    offer(router, "vip", 4, tier="vip")
    offer(router, "strategic", 5, tier="strategic")
    served = []
    now = 10.0
    for call in ("busy", "vip", "strategic", "ordinary", "risk"):
        ((next_call, agent),) = connects(hang_up(router, call, now)) or [(None, None)]
        if next_call:
            served.append(next_call)
            answer(router, next_call, agent, now + 1)
        now += 10
    assert served == ["vip", "strategic", "ordinary", "risk"]


def test_callers_of_the_same_priority_are_served_first_come_first_served() -> None:
    router = make_router(agents=1)
    login_all(router)
    offer(router, "busy", 0)
    answer(router, "busy", "a1", 1)
    for i in range(5):
        offer(router, f"c{i}", 2 + i, tier="profitable")
    served = []
    previous, now = "busy", 20.0
    for _ in range(5):
        ((call, _agent),) = connects(hang_up(router, previous, now))
        served.append(call)
        answer(router, call, "a1", now + 1)
        previous, now = call, now + 10
    assert served == [f"c{i}" for i in range(5)]


def test_a_call_that_waited_past_the_maximum_is_served_before_newer_higher_tier_calls() -> None:
    router = make_router(queues=[QueueConfig(name="support", priority_max_wait_s=60)], agents=1)
    login_all(router)
    offer(router, "busy", 0)
    answer(router, "busy", "a1", 1)
    offer(router, "old-risk", 2, tier="risk")
    offer(router, "new-vip", 50, tier="vip")
    # At 40 s the VIP goes first; at 70 s the risk caller has waited 68 s: it goes first.
    assert connects(hang_up(router, "busy", 70)) == [("old-risk", "a1")]


def test_before_the_maximum_wait_priority_decides() -> None:
    router = make_router(queues=[QueueConfig(name="support", priority_max_wait_s=60)], agents=1)
    login_all(router)
    offer(router, "busy", 0)
    answer(router, "busy", "a1", 1)
    offer(router, "old-risk", 2, tier="risk")
    offer(router, "new-vip", 30, tier="vip")
    assert connects(hang_up(router, "busy", 40)) == [("new-vip", "a1")]


def test_an_explicit_priority_overrides_the_tier() -> None:
    router = make_router(agents=1)
    login_all(router)
    offer(router, "busy", 0)
    answer(router, "busy", "a1", 1)
    offer(router, "vip", 2, tier="vip")
    offer(router, "emergency", 3, tier="ordinary", priority=1000)
    assert connects(hang_up(router, "busy", 10)) == [("emergency", "a1")]


def test_agents_of_higher_penalty_join_only_after_the_widening_step_allows_them() -> None:
    queue = QueueConfig(
        name="support", initial_max_penalty=0, skill_widening=(WideningStep(20, max_penalty=1),)
    )
    agents = [AgentConfig(id="backup", queues={"support": 1})]
    router = make_router(queues=[queue], agents=agents)
    router.on_command(LoginAgent("backup"), 0)
    assert connects(offer(router, "c1", 1)) == []
    assert connects(router.tick(21)) == [("c1", "backup")]


def test_a_queue_that_requires_a_skill_offers_its_calls_only_to_agents_who_have_it() -> None:
    queue = QueueConfig(name="support", strategy="linear", required_skills={"network": 70})
    agents = [
        AgentConfig(id="first", queues={"support": 0}, skills={"network": 40}),  # linear's pick otherwise
        AgentConfig(id="skilled", queues={"support": 0}, skills={"network": 75}),
    ]
    router = make_router(queues=[queue], agents=agents)
    login_all(router)
    assert connects(offer(router, "c1", 1)) == [("c1", "skilled")]


def test_the_higher_minimum_wins_between_the_offer_the_queue_and_the_ivr_choice() -> None:
    queue = QueueConfig(name="support", required_skills={"network": 50})
    agents = [
        AgentConfig(id="net60", queues={"support": 0}, skills={"network": 60, "billing": 90}),
        AgentConfig(id="net90", queues={"support": 0}, skills={"network": 90}),
        AgentConfig(id="both", queues={"support": 0}, skills={"network": 95, "billing": 60}),
    ]
    router = make_router(
        queues=[queue], agents=agents, choice_skills={"fibre": {"network": 80}, "invoice": {"billing": 50}}
    )
    router.on_command(LoginAgent("net60"), 0)
    router.on_command(LoginAgent("net90"), 1)
    router.on_command(LoginAgent("both"), 2)
    # The offer asks network 30; the queue 50, the choice 80: only agents with >= 80 will do.
    assert connects(offer(router, "c1", 5, required_skills={"network": 30}, ivr_choice="fibre")) == [
        ("c1", "net90")
    ]
    # The queue's network 50 and the choice's billing 50, both: net60 (idle longest) has them.
    assert connects(offer(router, "c2", 6, ivr_choice="invoice")) == [("c2", "net60")]
    # An unknown choice adds nothing.
    assert connects(offer(router, "c3", 7, ivr_choice="nothing-configured")) == [("c3", "both")]
