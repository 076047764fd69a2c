"""Control mode: an agent whose phone is in use outside our calls is not offered calls."""

from __future__ import annotations

from routing import QueueConfig
from routing.events import AgentEventKind

from .helpers import agent_event, answer, connects, hang_up, login_all, make_router, offer


def phone(router, agent: str, state: str, now: float):  # type: ignore[no-untyped-def]
    return router.on_event(agent_event(agent, AgentEventKind.DEVICE_STATE, detail=state), now)


def test_an_agent_on_a_personal_call_is_skipped_until_the_phone_is_idle() -> None:
    router = make_router(agents=2)
    login_all(router)
    phone(router, "a1", "in_use", 1)  # a1 picked up the phone to call out
    assert connects(offer(router, "c1", 2)) == [("c1", "a2")]  # a1 idled longest, but is busy
    assert connects(offer(router, "c2", 3)) == []  # a2 is ringing: c2 waits, a1 is still busy
    assert router.snapshot(3).agent("a1").phone_busy
    assert connects(phone(router, "a1", "idle", 4)) == [("c2", "a1")]  # hung up: the next call
    assert not router.snapshot(4).agent("a1").phone_busy


def test_a_phone_still_busy_when_wrap_up_ends_holds_the_next_call_back() -> None:
    router = make_router(queues=[QueueConfig(name="support", wrapup_s=5)], agents=1)
    login_all(router)
    assert connects(offer(router, "c1", 0)) == [("c1", "a1")]
    phone(router, "a1", "ringing", 0.1)  # our own call: the state is the PBX's, no effect yet
    answer(router, "c1", "a1", 1)
    phone(router, "a1", "in_use", 1.1)
    hang_up(router, "c1", 10)  # our call ends, but the agent stays on the phone (a call of their own)
    offer(router, "c2", 11)
    assert connects(router.tick(15)) == []  # wrap-up over: available, not offered while in use
    assert connects(phone(router, "a1", "idle", 20)) == [("c2", "a1")]


def test_a_ringing_or_unreachable_phone_counts_as_busy_and_unknown_states_are_counted() -> None:
    router = make_router(agents=1)
    login_all(router)
    phone(router, "a1", "unavailable", 1)  # unplugged
    assert connects(offer(router, "c1", 2)) == []
    phone(router, "a1", "ringing", 3)  # a direct call to the agent's extension
    assert connects(phone(router, "a1", "on-fire", 4)) == []
    assert dict(router.snapshot(4).ignored_events)["device-state-unknown"] == 1
    assert connects(phone(router, "a1", "idle", 5)) == [("c1", "a1")]


def test_observe_mode_leaves_phone_states_to_the_pbx_queue() -> None:
    router = make_router(agents=1, mode="observe")
    login_all(router)
    phone(router, "a1", "in_use", 1)
    assert not router.snapshot(1).agent("a1").phone_busy
