"""Control mode: a link that cannot carry orders, a phone that cannot be rung (issue #15, items 2, 4)."""

from __future__ import annotations

from routing import AgentState
from routing.commands import ConnectRefused, SetTelephonyUp
from routing.events import CallEventKind

from .helpers import call_event, connects, login_all, make_router, offer


def test_a_refused_connect_is_no_miss_and_nothing_is_offered_until_the_link_is_back() -> None:
    router = make_router(agents=2)
    login_all(router)
    [(call, first)] = connects(offer(router, "c1", 1))
    assert router.on_command(SetTelephonyUp(False), 2) == []
    decisions = router.on_command(ConnectRefused(call, first, "pbx link down"), 2)
    assert connects(decisions) == []  # not offered to the other agent while the link is down
    assert router.agent_state(first) is AgentState.AVAILABLE
    view = router.snapshot(3).agent(first)
    assert (view.missed, view.misses_in_row, view.reason) == (0, 0, "pbx link down")
    assert connects(offer(router, "c2", 3)) == []  # a new call waits too
    assert router.kpis(4).queue("support").waiting == 2
    back = connects(router.on_command(SetTelephonyUp(True), 5))
    assert sorted(c for c, _ in back) == ["c1", "c2"]  # both offered at once, to both agents
    assert {a for _, a in back} == {"a1", "a2"}


def test_a_refusal_for_a_call_that_moved_on_changes_nothing() -> None:
    router = make_router(agents=1)
    login_all(router)
    [(call, agent)] = connects(offer(router, "c1", 1))
    router.on_event(call_event(call, CallEventKind.ANSWERED, agent), 2)
    assert router.on_command(ConnectRefused(call, agent), 3) == []
    assert router.agent_state(agent) is AgentState.ON_CALL
    assert router.ignored_events["connect-refused-not-ringing"] == 1


def test_a_dial_that_fails_at_once_pauses_the_agent_as_unreachable_and_offers_the_next() -> None:
    router = make_router(agents=2)
    login_all(router)
    [(call, first)] = connects(offer(router, "c1", 1))
    failed = call_event(call, CallEventKind.RING_NO_ANSWER, first, detail="chanunavail")
    decisions = router.on_event(failed, 1.01)
    [(_, second)] = connects(decisions)
    assert second != first
    view = router.snapshot(2).agent(first)
    assert (view.state, view.reason, view.missed) == (AgentState.PAUSED, "phone-unreachable", 0)


def test_a_plain_no_answer_is_still_a_miss() -> None:
    router = make_router(agents=2)
    login_all(router)
    [(call, first)] = connects(offer(router, "c1", 1))
    router.on_event(call_event(call, CallEventKind.RING_NO_ANSWER, first, detail="noanswer"), 16)
    view = router.snapshot(17).agent(first)
    assert view.missed == 1 and view.state is AgentState.AVAILABLE


def test_a_dial_the_caller_called_off_is_no_miss() -> None:
    """DialStatus CANCEL: the caller hung up while the agent's phone rang (seen on Asterisk
    22.10.1 with a caller who gave up at the moment of the offer); their HUNG_UP follows."""
    router = make_router(agents=2)
    login_all(router)
    [(call, first)] = connects(offer(router, "c1", 1))
    router.on_event(call_event(call, CallEventKind.RING_NO_ANSWER, first, detail="cancel"), 3)
    view = router.snapshot(4).agent(first)
    assert (view.state, view.missed, view.misses_in_row) == (AgentState.AVAILABLE, 0, 0)
    router.on_event(call_event(call, CallEventKind.HUNG_UP), 3.1)
    assert router.kpis(5).queue("support").waiting == 0
