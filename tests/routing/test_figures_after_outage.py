"""Talk and hold are measured on the facts' own times when a re-login's resync tells them late.

Found on a real Asterisk 22.10.1 (observe mode, tests/fixtures/live-22.10.1/observe-outage.ami):
the AMI link was down 20 s; a call ended 9 s after its answer while it was down and the resync's
AGENT_COMPLETED/HUNG_UP said so (their time is the PBX's CDR end), but the call log's talk was
21.4 s, counted up to the re-login; a call answered during the outage got 6 s (from the re-login
to its end) instead of its ~24 s.
"""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import count

from routing import AgentState, QueueConfig
from routing.commands import LoginAgent, SetAgentReady
from routing.decisions import ConnectCall, Decision, HandlingEnded
from routing.events import FROM_RECORDS, CallEvent, CallEventKind

from .helpers import login_all, make_router, states

T = 1_800_000_000.0  # the router's clock and the events' own times on one time line
_ids = count()


def fact(call_id: str, kind: CallEventKind, at: float, agent: str | None = None, **kw: object) -> CallEvent:
    when = datetime.fromtimestamp(at, UTC)
    return CallEvent(call_id=call_id, kind=kind, at=when, event_id=f"f-{next(_ids)}", agent=agent, **kw)  # type: ignore[arg-type]


def handled(decisions: list[Decision]) -> list[HandlingEnded]:
    return [d for d in decisions if isinstance(d, HandlingEnded)]


def test_a_call_that_ended_during_an_outage_keeps_its_talk_not_the_outage() -> None:
    router = make_router(queues=[QueueConfig(name="support", wrapup_s=60)], agents=1, mode="observe")
    login_all(router, T)
    router.on_event(fact("c1", CallEventKind.OFFERED, T + 1, queue="support"), T + 1)
    router.on_event(fact("c1", CallEventKind.RINGING, T + 1, "a1", queue="support"), T + 1)
    router.on_event(fact("c1", CallEventKind.ANSWERED, T + 3, "a1", queue="support"), T + 3)
    # the link drops at T+6; the caller hangs up at T+12; the re-login's resync at T+26 says so
    router.on_event(fact("c1", CallEventKind.AGENT_COMPLETED, T + 12, "a1"), T + 26)
    router.on_event(fact("c1", CallEventKind.HUNG_UP, T + 12), T + 26)
    (done,) = handled(router.on_command(SetAgentReady("a1"), T + 28))
    assert done.talk_s == 9.0
    assert done.wrap_s == 2.0  # the wrap-up began when Hotline (and the agent) learnt of the end


def test_a_call_answered_during_an_outage_counts_its_talk_from_the_answer() -> None:
    router = make_router(queues=[QueueConfig(name="support", wrapup_s=60)], agents=1, mode="observe")
    login_all(router, T)
    # resync at T+20: a caller answered at T+8 (told late, its time is the agent leg's age)
    router.on_event(fact("c2", CallEventKind.OFFERED, T + 6, queue="support"), T + 20)
    router.on_event(fact("c2", CallEventKind.ANSWERED, T + 8, "a1", queue="support", detail="resync"), T + 20)
    router.on_event(fact("c2", CallEventKind.HUNG_UP, T + 32), T + 32)
    (done,) = handled(router.on_command(SetAgentReady("a1"), T + 33))
    assert done.talk_s == 24.0


def test_hold_told_late_is_measured_on_the_facts_times() -> None:
    router = make_router(queues=[QueueConfig(name="support", wrapup_s=60)], agents=1, mode="observe")
    login_all(router, T)
    router.on_event(fact("c3", CallEventKind.OFFERED, T, queue="support"), T)
    router.on_event(fact("c3", CallEventKind.ANSWERED, T + 2, "a1", queue="support"), T + 2)
    router.on_event(fact("c3", CallEventKind.HELD, T + 4), T + 4)
    router.on_event(fact("c3", CallEventKind.UNHELD, T + 7), T + 7)
    router.on_event(fact("c3", CallEventKind.AGENT_COMPLETED, T + 12, "a1"), T + 30)
    (done,) = handled(router.on_command(SetAgentReady("a1"), T + 31))
    assert (done.talk_s, done.hold_s) == (7.0, 3.0)


def test_live_facts_a_little_ahead_of_the_router_clock_change_nothing() -> None:
    """A PBX clock ahead of Hotline's (Timestamp: headers): `now` stands, as before."""
    router = make_router(queues=[QueueConfig(name="support", wrapup_s=60)], agents=1, mode="observe")
    login_all(router, T)
    router.on_event(fact("c4", CallEventKind.OFFERED, T + 0.5, queue="support"), T)
    router.on_event(fact("c4", CallEventKind.ANSWERED, T + 2.5, "a1", queue="support"), T + 2)
    router.on_event(fact("c4", CallEventKind.HUNG_UP, T + 12.5), T + 12)
    (done,) = handled(router.on_command(SetAgentReady("a1"), T + 13))
    assert done.talk_s == 10.0


def test_a_call_told_from_the_records_counts_but_moves_no_agent() -> None:
    """Found starting a router on a real two-Asterisk center: the start-up reconciliation told
    the calls of the last hours from the CDRs, and every agent who had taken one was put in
    wrap-up for it (signed in by the PBX's "activity"), so at sign-in their console said wrap-up
    for a call it never showed, and in control mode they were offered nothing."""
    router = make_router(queues=[QueueConfig(name="support", wrapup_s=60)], agents=2, mode="control")
    router.on_command(LoginAgent("a2"), T)  # a1 is signed out, a2 available
    offered = router.on_event(fact("old", CallEventKind.OFFERED, T - 600, queue="support"), T + 1)
    assert any(isinstance(d, ConnectCall) and d.agent_id == "a2" for d in offered)  # offered at once
    told = router.on_event(
        fact("old", CallEventKind.ANSWERED, T - 590, "a1", queue="support", detail=FROM_RECORDS), T + 1
    )
    router.on_event(fact("old", CallEventKind.AGENT_COMPLETED, T - 500, "a1"), T + 1)
    router.on_event(fact("old", CallEventKind.HUNG_UP, T - 500), T + 1)
    assert ("a2", "available") in states(told)  # the offer is taken back
    assert router.agent_state("a1") is AgentState.LOGGED_OUT
    assert router.agent_state("a2") is AgentState.AVAILABLE
    assert router.kpis(T + 2).queue("support").window.answered == 1
