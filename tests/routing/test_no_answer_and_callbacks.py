"""Ring-no-answer handling and callbacks that keep the caller's place."""

from __future__ import annotations

import pytest

from routing import AgentState, QueueConfig
from routing.commands import LoginAgent, RequestCallback
from routing.decisions import CancelRing, PlaceCallback
from routing.errors import NotInThisMode, UnknownCall
from routing.events import CallEventKind

from .helpers import answer, call_event, connects, hang_up, login_all, make_router, of_type, offer, states


def no_answer(router, call_id: str, agent: str, now: float):
    return router.on_event(call_event(call_id, CallEventKind.RING_NO_ANSWER, agent), now)


def test_ring_no_answer_counts_a_miss_and_the_call_keeps_its_place() -> None:
    router = make_router(agents=2)
    router.on_command(LoginAgent("a1"), 0)
    offer(router, "c1", 1)
    offer(router, "c2", 2)
    decisions = no_answer(router, "c1", "a1", 5)
    # a1 is back, and c1 (older) is offered again before c2.
    assert connects(decisions) == [("c1", "a1")]
    assert router.snapshot(5).agent("a1").missed == 1


def test_an_agent_is_auto_paused_after_n_missed_rings_in_a_row() -> None:
    router = make_router(queues=[QueueConfig(name="support", max_misses=2)], agents=2)
    login_all(router)
    offer(router, "c1", 0)  # a1
    no_answer(router, "c1", "a1", 1)  # -> a2
    no_answer(router, "c1", "a2", 2)  # -> a1 again
    decisions = no_answer(router, "c1", "a1", 3)
    assert ("a1", "paused") in states(decisions)
    view = router.snapshot(3).agent("a1")
    assert (view.state, view.reason) == (AgentState.PAUSED, "no-answer")


def test_an_answer_resets_the_run_of_misses() -> None:
    router = make_router(queues=[QueueConfig(name="support", max_misses=2)], agents=1)
    login_all(router)
    offer(router, "c1", 0)
    no_answer(router, "c1", "a1", 1)
    answer(router, "c1", "a1", 2)
    hang_up(router, "c1", 3)
    offer(router, "c2", 4)
    no_answer(router, "c2", "a1", 5)
    assert router.agent_state("a1") is AgentState.RESERVED  # rung again, not paused


def test_nobody_stays_reserved_after_the_ring_timeout() -> None:
    router = make_router(queues=[QueueConfig(name="support", ring_timeout_s=10, max_misses=None)], agents=1)
    login_all(router)
    offer(router, "c1", 0)
    decisions = router.tick(10)
    assert of_type(decisions, CancelRing) == [CancelRing("c1", "a1", "support", "timeout")]


def test_a_caller_asking_for_a_callback_keeps_their_place_and_is_called_back() -> None:
    router = make_router(agents=1)
    login_all(router)
    offer(router, "busy", 0)
    answer(router, "busy", "a1", 1)
    offer(router, "first", 2, caller="+8613800000001")
    offer(router, "second", 3, caller="+8613800000002")
    router.on_command(RequestCallback("first"), 10)
    hang_up(router, "first", 11)  # the caller hangs up: not an abandon, the place is kept
    decisions = hang_up(router, "busy", 20)
    assert of_type(decisions, PlaceCallback) == [
        PlaceCallback("first:callback", "first", "a1", "support", "+8613800000001", 15.0)
    ]
    answer(router, "first:callback", "a1", 25)
    assert router.agent_state("a1") is AgentState.ON_CALL
    kpis = router.kpis(30).queue("support").window
    assert (kpis.callbacks_requested, kpis.abandoned) == (1, 0)


def test_an_abandoning_caller_keeps_their_place_when_configured() -> None:
    router = make_router(queues=[QueueConfig(name="support", callback_on_abandon=True)], agents=1)
    login_all(router)
    offer(router, "busy", 0)
    answer(router, "busy", "a1", 1)
    offer(router, "gone", 2, caller="+15550001")
    offer(router, "later", 3, caller="+15550002")
    router.on_event(call_event("gone", CallEventKind.ABANDONED), 30)
    decisions = hang_up(router, "busy", 40)
    assert [(d.original_call_id, d.number) for d in of_type(decisions, PlaceCallback)] == [
        ("gone", "+15550001")
    ]


def test_a_callback_request_for_an_unknown_call_raises() -> None:
    router = make_router(agents=1)
    with pytest.raises(UnknownCall):
        router.on_command(RequestCallback("nope"), 0)


def test_callbacks_need_control_mode() -> None:
    router = make_router(agents=1, mode="observe")
    with pytest.raises(NotInThisMode):
        router.on_command(RequestCallback("c1"), 0)


def test_position_and_estimated_wait_are_given_per_waiting_call() -> None:
    router = make_router(queues=[QueueConfig(name="support", default_aht_s=120)], agents=2)
    login_all(router)
    offer(router, "b1", 0)
    offer(router, "b2", 0)
    answer(router, "b1", "a1", 1)
    answer(router, "b2", "a2", 1)
    for i in range(3):
        offer(router, f"w{i}", 10 + i)
    assert router.position("w0", 20) == (1, 60.0)  # 1 x 120 s shared by 2 agents
    assert router.position("w2", 20) == (3, 180.0)
    waiting = router.snapshot(20).queue("support").waiting
    assert [(c.call_id, c.position, c.waited_s) for c in waiting] == [
        ("w0", 1, 10),
        ("w1", 2, 9),
        ("w2", 3, 8),
    ]
    assert router.position("b1", 20) is None
