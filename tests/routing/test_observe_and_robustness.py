"""Observe mode follows the PBX; bad, repeated or reordered events never raise."""

from __future__ import annotations

import pytest

from routing import AgentState, QueueConfig
from routing.commands import LoginAgent
from routing.decisions import AgentStateChanged, CallQueued
from routing.errors import UnknownQueue
from routing.events import AgentEventKind, CallEventKind

from .helpers import agent_event, call_event, login_all, make_router, offer, states


def test_observe_mode_never_connects_calls_but_tracks_agent_states() -> None:
    router = make_router(queues=[QueueConfig(name="support", wrapup_s=10)], agents=2, mode="observe")
    login_all(router)
    decisions = router.on_event(call_event("c1", CallEventKind.OFFERED, queue="support"), 1)
    assert [type(d) for d in decisions] == [CallQueued]
    assert states(router.on_event(call_event("c1", CallEventKind.RINGING, "a2"), 2)) == [("a2", "reserved")]
    assert states(router.on_event(call_event("c1", CallEventKind.ANSWERED, "a2"), 4)) == [("a2", "on_call")]
    assert states(router.on_event(call_event("c1", CallEventKind.HUNG_UP), 64)) == [("a2", "wrap_up")]
    assert states(router.tick(74)) == [("a2", "available")]
    assert router.kpis(80).queue("support").window.answered == 1


def test_observe_mode_follows_queue_membership_and_pauses_from_the_pbx() -> None:
    router = make_router(agents=1, mode="observe")
    assert states(router.on_event(agent_event("a1", AgentEventKind.JOINED_QUEUE, queue="support"), 1)) == [
        ("a1", "available")
    ]
    decisions = router.on_event(agent_event("a1", AgentEventKind.PAUSED, detail="lunch"), 2)
    assert decisions == [AgentStateChanged("a1", AgentState.PAUSED, AgentState.AVAILABLE, "lunch", 2)]
    assert states(router.on_event(agent_event("a1", AgentEventKind.UNPAUSED), 3)) == [("a1", "available")]
    assert states(router.on_event(agent_event("a1", AgentEventKind.LEFT_QUEUE, queue="support"), 4)) == [
        ("a1", "logged_out")
    ]


def test_observe_mode_adopts_calls_it_never_saw_offered() -> None:
    router = make_router(agents=1, mode="observe")
    login_all(router)
    router.on_event(call_event("c9", CallEventKind.ANSWERED, "a1", queue="support"), 5)
    assert router.agent_state("a1") is AgentState.ON_CALL


def test_observe_mode_releases_an_agent_whose_ring_end_was_never_reported() -> None:
    router = make_router(queues=[QueueConfig(name="support", ring_timeout_s=15)], agents=1, mode="observe")
    login_all(router)
    router.on_event(call_event("c1", CallEventKind.OFFERED, queue="support"), 0)
    router.on_event(call_event("c1", CallEventKind.RINGING, "a1"), 1)
    deadline = router.next_deadline()
    assert deadline == 1 + 15 + router.config.observe_grace_s
    assert states(router.tick(deadline)) == [("a1", "available")]


def test_observe_mode_a_second_agent_ringing_ends_the_first_ring_unless_the_queue_rings_all() -> None:
    """Found by the property test: a lost or late AgentRingNoAnswer left two agents
    ringing for one call of a longest-idle queue. The PBX rings one at a time there."""
    queues = [QueueConfig(name="support", ring_timeout_s=15), QueueConfig(name="sales", strategy="ring-all")]
    router = make_router(queues=queues, agents=2, mode="observe")
    login_all(router)
    router.on_event(call_event("c1", CallEventKind.OFFERED, queue="support"), 0)
    router.on_event(call_event("c1", CallEventKind.RINGING, "a1"), 1)
    assert states(router.on_event(call_event("c1", CallEventKind.RINGING, "a2"), 5)) == [
        ("a1", "available"),
        ("a2", "reserved"),
    ]
    assert router.next_deadline() == 5 + 15 + router.config.observe_grace_s  # a2's ring, timed anew

    router.on_event(call_event("c2", CallEventKind.OFFERED, queue="sales"), 30)
    router.on_event(call_event("c2", CallEventKind.RINGING, "a1"), 31)
    assert states(router.on_event(call_event("c2", CallEventKind.RINGING, "a2"), 31)) == []  # a2 on c1
    router.on_event(call_event("c1", CallEventKind.HUNG_UP), 32)
    assert states(router.on_event(call_event("c2", CallEventKind.RINGING, "a2"), 33)) == [("a2", "reserved")]
    assert router.agent_state("a1") is AgentState.RESERVED  # ring-all: both ring


def test_a_pbx_answer_during_our_wrap_up_ends_the_wrap_up() -> None:
    router = make_router(queues=[QueueConfig(name="support", wrapup_s=60)], agents=1, mode="observe")
    login_all(router)
    for cid, t in (("c1", 0), ("c2", 20)):
        router.on_event(call_event(cid, CallEventKind.OFFERED, queue="support"), t)
    router.on_event(call_event("c1", CallEventKind.ANSWERED, "a1"), 1)
    router.on_event(call_event("c1", CallEventKind.HUNG_UP), 10)
    decisions = router.on_event(call_event("c2", CallEventKind.ANSWERED, "a1"), 21)
    assert states(decisions) == [("a1", "available"), ("a1", "on_call")]
    assert router.ignored_events["resync"] == 1


def test_a_duplicated_event_is_applied_once() -> None:
    router = make_router(agents=1)
    login_all(router)
    offer(router, "c1", 0)
    event = call_event("c1", CallEventKind.ANSWERED, "a1")
    assert states(router.on_event(event, 1)) == [("a1", "on_call")]
    assert router.on_event(event, 2) == []
    assert router.ignored_events["duplicate"] == 1


def test_events_about_unknown_calls_agents_and_queues_are_counted_not_raised() -> None:
    router = make_router(agents=1)
    login_all(router)
    assert router.on_event(call_event("ghost", CallEventKind.ANSWERED, "a1"), 1) == []
    assert router.on_event(call_event("c1", CallEventKind.OFFERED, queue="nowhere"), 1) == []
    assert router.on_event(agent_event("nobody", AgentEventKind.PAUSED), 1) == []
    assert router.on_event(call_event("c2", CallEventKind.OFFERED), 1) == []  # no queue at all
    assert router.ignored_events["unknown-call"] == 1
    assert router.ignored_events["unknown-queue"] == 2
    assert router.ignored_events["unknown-agent"] == 1


def test_an_answer_arriving_after_the_hangup_is_ignored() -> None:
    router = make_router(agents=1)
    login_all(router)
    offer(router, "c1", 0)
    router.on_event(call_event("c1", CallEventKind.HUNG_UP), 2)  # caller gave up while ringing
    assert router.agent_state("a1") is AgentState.AVAILABLE
    assert router.on_event(call_event("c1", CallEventKind.ANSWERED, "a1"), 3) == []
    assert router.agent_state("a1") is AgentState.AVAILABLE
    assert router.ignored_events["finished-call"] == 1


def test_an_answer_by_an_agent_busy_on_another_call_is_ignored() -> None:
    router = make_router(agents=1)
    login_all(router)
    offer(router, "c1", 0)
    router.on_event(call_event("c1", CallEventKind.ANSWERED, "a1"), 1)
    offer(router, "c2", 2)
    assert router.on_event(call_event("c2", CallEventKind.ANSWERED, "a1"), 3) == []
    assert router.snapshot(3).agent("a1").call_id == "c1"


def test_a_hold_is_timed_and_excluded_from_talk_time() -> None:
    router = make_router(agents=1)
    login_all(router)
    offer(router, "c1", 0)
    router.on_event(call_event("c1", CallEventKind.ANSWERED, "a1"), 10)
    router.on_event(call_event("c1", CallEventKind.HELD), 20)
    router.on_event(call_event("c1", CallEventKind.UNHELD), 50)
    router.on_event(call_event("c1", CallEventKind.HUNG_UP), 110)
    agent = router.kpis(120).agent("a1").window
    assert (agent.talk_s, agent.hold_s) == (70, 30)


def test_recording_and_ivr_events_are_not_routing_business_and_not_anomalies() -> None:
    router = make_router(agents=1)
    login_all(router)
    offer(router, "c1", 0)
    assert router.on_event(call_event("c1", CallEventKind.RECORDING_STARTED), 1) == []
    assert router.on_event(call_event("c1", CallEventKind.DTMF, detail="1"), 1) == []
    assert sum(router.ignored_events.values()) == 0


def test_login_into_an_unknown_queue_raises_and_changes_nothing() -> None:
    router = make_router(agents=1)
    with pytest.raises(UnknownQueue):
        router.on_command(LoginAgent("a1", queues={"nowhere": 0}), 0)
    assert router.agent_state("a1") is AgentState.LOGGED_OUT
