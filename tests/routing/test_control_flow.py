"""Control mode: the life of a call from OfferCall to wrap-up."""

from __future__ import annotations

from routing import AgentState, QueueConfig
from routing.commands import LoginAgent
from routing.decisions import CallQueued, CancelRing, ConnectCall
from routing.events import CallEventKind

from .helpers import answer, call_event, connects, hang_up, login_all, make_router, of_type, offer, states


def test_an_offered_call_is_connected_at_once_to_an_available_agent() -> None:
    router = make_router(queues=[QueueConfig(name="support", ring_timeout_s=15)], agents=1)
    login_all(router)
    decisions = offer(router, "c1", 10)
    assert of_type(decisions, ConnectCall) == [ConnectCall("c1", "a1", "support", 15)]
    assert router.agent_state("a1") is AgentState.RESERVED


def test_a_call_without_free_agent_is_queued_with_its_position() -> None:
    router = make_router(agents=1)
    login_all(router)
    offer(router, "c1", 1)
    decisions = offer(router, "c2", 2)
    queued = of_type(decisions, CallQueued)
    assert [(q.call_id, q.position) for q in queued] == [("c2", 2)]


def test_answer_hangup_and_wrap_up_lead_to_the_next_waiting_call() -> None:
    router = make_router(queues=[QueueConfig(name="support", wrapup_s=5)], agents=1)
    login_all(router)
    offer(router, "c1", 1)
    offer(router, "c2", 2)
    assert states(answer(router, "c1", "a1", 3)) == [("a1", "on_call")]
    assert states(hang_up(router, "c1", 50)) == [("a1", "wrap_up")]
    assert router.next_deadline() == 55
    decisions = router.tick(55)
    assert states(decisions) == [("a1", "available"), ("a1", "reserved")]
    assert connects(decisions) == [("c2", "a1")]


def test_offered_event_is_the_same_as_offer_call_and_idempotent() -> None:
    router = make_router(agents=2)
    login_all(router)
    first = router.on_event(call_event("c1", CallEventKind.OFFERED, queue="support"), 1)
    again = router.on_event(call_event("c1", CallEventKind.OFFERED, queue="support"), 2)
    assert connects(first) == [("c1", "a1")]
    assert again == []


def test_ring_timeout_cancels_the_ring_counts_a_miss_and_tries_the_next_agent() -> None:
    router = make_router(queues=[QueueConfig(name="support", ring_timeout_s=10)], agents=2)
    login_all(router)
    offer(router, "c1", 1)
    assert router.next_deadline() == 11
    decisions = router.tick(11)
    assert of_type(decisions, CancelRing) == [CancelRing("c1", "a1", "support", "timeout")]
    assert connects(decisions) == [("c1", "a2")]
    assert router.snapshot(11).agent("a1").missed == 1


def test_agent_completed_then_hangup_ends_the_agent_leg_once() -> None:
    router = make_router(queues=[QueueConfig(name="support", wrapup_s=5)], agents=1)
    login_all(router)
    offer(router, "c1", 1)
    answer(router, "c1", "a1", 2)
    assert states(router.on_event(call_event("c1", CallEventKind.AGENT_COMPLETED), 30)) == [("a1", "wrap_up")]
    assert hang_up(router, "c1", 31) == []
    assert router.agent_state("a1") is AgentState.WRAP_UP


def test_next_deadline_is_none_when_nothing_is_pending() -> None:
    router = make_router(agents=1)
    router.on_command(LoginAgent("a1"), 0)
    assert router.next_deadline() is None
