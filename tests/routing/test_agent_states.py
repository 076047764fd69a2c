"""The agent state machine: one table, one state across all queues."""

from __future__ import annotations

import pytest

from routing import AgentConfig, AgentState, InvalidTransition, QueueConfig
from routing.agent_state import TRANSITIONS, Trigger
from routing.commands import LoginAgent, LogoutAgent, PauseAgent, SetAgentReady
from routing.decisions import AgentStateChanged, PendingPauseChanged
from routing.errors import UnknownAgent

from .helpers import answer, hang_up, make_router, offer, states


def test_login_makes_an_agent_available_and_says_so() -> None:
    router = make_router(agents=1)
    decisions = router.on_command(LoginAgent("a1"), 5.0)
    assert decisions == [AgentStateChanged("a1", AgentState.AVAILABLE, AgentState.LOGGED_OUT, "login", 5.0)]
    assert router.agent_state("a1") is AgentState.AVAILABLE


def test_login_paused_keeps_the_reason_code() -> None:
    router = make_router(agents=1)
    router.on_command(LoginAgent("a1", paused=True, reason="training"), 0)
    view = router.snapshot(1).agent("a1")
    assert (view.state, view.reason) == (AgentState.PAUSED, "training")


def test_pause_and_ready_round_trip() -> None:
    router = make_router(agents=1)
    router.on_command(LoginAgent("a1"), 0)
    assert states(router.on_command(PauseAgent("a1", "lunch"), 1)) == [("a1", "paused")]
    assert states(router.on_command(SetAgentReady("a1"), 2)) == [("a1", "available")]


def test_ready_while_on_a_call_is_rejected_naming_both_states() -> None:
    router = make_router(agents=1)
    router.on_command(LoginAgent("a1"), 0)
    offer(router, "c1", 1)
    answer(router, "c1", "a1", 2)
    with pytest.raises(InvalidTransition) as err:
        router.on_command(SetAgentReady("a1"), 3)
    assert err.value.current is AgentState.ON_CALL
    assert err.value.trigger is Trigger.READY
    assert "on_call" in str(err.value) and "ready" in str(err.value)
    assert router.agent_state("a1") is AgentState.ON_CALL


def test_logout_while_on_a_call_is_rejected_and_changes_nothing() -> None:
    router = make_router(agents=1)
    router.on_command(LoginAgent("a1"), 0)
    offer(router, "c1", 1)
    answer(router, "c1", "a1", 2)
    with pytest.raises(InvalidTransition):
        router.on_command(LogoutAgent("a1"), 3)
    assert router.snapshot(3).agent("a1").call_id == "c1"


def test_logging_in_twice_is_an_invalid_transition() -> None:
    router = make_router(agents=1)
    router.on_command(LoginAgent("a1"), 0)
    with pytest.raises(InvalidTransition):
        router.on_command(LoginAgent("a1"), 1)


def test_commands_for_unknown_agents_raise_unknown_agent() -> None:
    router = make_router(agents=1)
    with pytest.raises(UnknownAgent):
        router.on_command(LoginAgent("nobody"), 0)


def test_ready_while_available_is_a_harmless_no_op() -> None:
    router = make_router(agents=1)
    router.on_command(LoginAgent("a1"), 0)
    assert router.on_command(SetAgentReady("a1"), 1) == []


def test_an_agent_in_six_queues_has_one_wrap_up_not_six() -> None:
    queues = [QueueConfig(name=f"q{i}", wrapup_s=30) for i in range(6)]
    agent = AgentConfig(id="a1", queues={q.name: 0 for q in queues})
    router = make_router(queues=queues, agents=[agent])
    router.on_command(LoginAgent("a1"), 0)
    offer(router, "c1", 1, queue="q3")
    answer(router, "c1", "a1", 2)
    decisions = hang_up(router, "c1", 60)
    assert states(decisions) == [("a1", "wrap_up")]
    # Calls in the five other queues wait for the single wrap-up to end.
    offer(router, "c2", 61, queue="q0")
    offer(router, "c3", 62, queue="q5")
    assert router.agent_state("a1") is AgentState.WRAP_UP
    assert router.next_deadline() == 90
    decisions = router.tick(90)
    assert states(decisions) == [("a1", "available"), ("a1", "reserved")]


def test_wrap_up_length_is_per_queue_and_overridable_per_agent() -> None:
    queues = [QueueConfig(name="support", wrapup_s=20)]
    agents = [
        AgentConfig(id="a1", queues={"support": 0}),
        AgentConfig(id="a2", queues={"support": 0}, wrapup_s=5),
    ]
    router = make_router(queues=queues, agents=agents)
    for a in ("a1", "a2"):
        router.on_command(LoginAgent(a), 0)
    offer(router, "c1", 1)
    offer(router, "c2", 1)
    answer(router, "c1", "a1", 2)
    answer(router, "c2", "a2", 2)
    hang_up(router, "c1", 10)
    hang_up(router, "c2", 10)
    assert router.next_deadline() == 15
    assert states(router.tick(15)) == [("a2", "available")]
    assert states(router.tick(30)) == [("a1", "available")]


def test_agent_ends_wrap_up_early_by_saying_ready() -> None:
    router = make_router(queues=[QueueConfig(name="support", wrapup_s=60)], agents=1)
    router.on_command(LoginAgent("a1"), 0)
    offer(router, "c1", 1)
    answer(router, "c1", "a1", 2)
    hang_up(router, "c1", 10)
    assert states(router.on_command(SetAgentReady("a1"), 12)) == [("a1", "available")]
    assert router.tick(70) == []


def test_every_transition_in_the_table_leads_somewhere_reachable() -> None:
    targets = set(TRANSITIONS.values())
    assert targets == set(AgentState)


def test_a_pause_asked_during_a_call_takes_effect_after_it_as_app_queue_does() -> None:
    router = make_router(agents=1)
    router.on_command(LoginAgent("a1"), 0)
    offer(router, "c1", 1)
    answer(router, "c1", "a1", 2)
    # Accepted; no state moves yet, but the kept pause is said (the wallboard shows it).
    kept = router.on_command(PauseAgent("a1", "supervisor"), 3)
    assert kept == [PendingPauseChanged("a1", "supervisor", 3)]
    assert router.on_command(PauseAgent("a1", "supervisor"), 4) == []  # a repeat changes nothing
    assert router.snapshot(3).agent("a1").pending_pause == "supervisor"
    assert router.agent_state("a1") is AgentState.ON_CALL
    hang_up(router, "c1", 10)
    router.tick(10 + 60)  # past any wrap-up
    assert router.agent_state("a1") is AgentState.PAUSED
    assert router.snapshot(70).agent("a1").reason == "supervisor"
    assert router.snapshot(70).agent("a1").pending_pause is None


def test_an_agent_who_makes_themselves_ready_during_the_call_drops_the_kept_pause() -> None:
    router = make_router(agents=1)
    router.on_command(LoginAgent("a1"), 0)
    offer(router, "c1", 1)
    answer(router, "c1", "a1", 2)
    router.on_command(PauseAgent("a1", "break"), 3)
    assert router.on_command(SetAgentReady("a1"), 4) == [PendingPauseChanged("a1", None, 4)]
    with pytest.raises(InvalidTransition):  # nothing kept: ready while on a call is refused as before
        router.on_command(SetAgentReady("a1"), 5)
    assert router.snapshot(4).agent("a1").pending_pause is None
    hang_up(router, "c1", 10)
    router.tick(10 + 60)
    assert router.agent_state("a1") is AgentState.AVAILABLE
