"""Ticket-aware and sticky routing; overflow, limits, empty queues and business hours."""

from __future__ import annotations

from routing import AgentConfig, BusinessHours, OpenSpan, QueueConfig, UtcOffsets
from routing.commands import LoginAgent, LogoutAgent, PauseAgent
from routing.decisions import CallQueued, OverflowCall, RejectCall

from .helpers import answer, connects, hang_up, login_all, make_router, of_type, offer

MONDAY_2025_01_06_UTC = 1736121600.0  # 2025-01-06 00:00:00 UTC, a Monday


def test_a_caller_with_an_open_ticket_goes_first_to_the_ticket_owner() -> None:
    router = make_router(agents=3)
    login_all(router)
    assert connects(offer(router, "c1", 10, ticket_owner="a3")) == [("c1", "a3")]


def _two_queues(owner_routing: str = "queue"):  # type: ignore[no-untyped-def]
    queues = [QueueConfig(name="support"), QueueConfig(name="billing", owner_routing=owner_routing)]
    agents = [AgentConfig(id="sup", queues={"support": 0}), AgentConfig(id="bil", queues={"billing": 0})]
    router = make_router(queues=queues, agents=agents)
    login_all(router)
    return router


def test_a_ticket_owner_outside_the_calls_queue_is_not_preferred_by_default() -> None:
    """A billing call from a customer whose open ticket belongs to a support-only agent goes to
    billing's agents (issue #15, item 8); so does a repeat caller's last agent."""
    router = _two_queues()
    assert connects(offer(router, "c1", 10, queue="billing", ticket_owner="sup")) == [("c1", "bil")]
    assert connects(offer(router, "c2", 11, queue="billing", last_agent="sup")) == []  # bil is busy
    assert router.snapshot(11).queue("billing").waiting[0].preferred_agent is None


def test_owner_routing_any_queue_opts_in_to_the_owner_whatever_their_queues() -> None:
    router = _two_queues("any_queue")
    assert connects(offer(router, "c1", 10, queue="billing", ticket_owner="sup")) == [("c1", "sup")]


def test_owner_routing_takes_only_the_two_known_values() -> None:
    import pytest

    from routing.config import ConfigError

    with pytest.raises(ConfigError, match="owner_routing"):
        make_router(queues=[QueueConfig(name="support", owner_routing="anywhere")])


def test_the_call_waits_for_a_busy_ticket_owner_then_falls_back_to_the_queue() -> None:
    router = make_router(queues=[QueueConfig(name="support", ticket_owner_wait_s=30)], agents=2)
    login_all(router)
    offer(router, "busy", 0)  # a1
    answer(router, "busy", "a1", 1)
    assert connects(offer(router, "c1", 10, ticket_owner="a1")) == []
    snap = router.snapshot(11).queue("support")
    assert snap.waiting[0].preferred_agent == "a1"
    assert router.next_deadline() == 40
    assert connects(router.tick(40)) == [("c1", "a2")]


def test_a_busy_ticket_owner_who_frees_up_in_time_gets_the_caller() -> None:
    router = make_router(queues=[QueueConfig(name="support", ticket_owner_wait_s=30)], agents=2)
    login_all(router)
    offer(router, "busy", 0)
    answer(router, "busy", "a1", 1)
    offer(router, "c1", 10, ticket_owner="a1")
    assert connects(hang_up(router, "busy", 20)) == [("c1", "a1")]


def test_a_repeat_caller_goes_to_the_last_agent_after_the_ticket_owner_time() -> None:
    queue = QueueConfig(name="support", ticket_owner_wait_s=30, last_agent_wait_s=15)
    router = make_router(queues=[queue], agents=3)
    login_all(router)
    offer(router, "b1", 0)
    offer(router, "b2", 0)
    answer(router, "b1", "a1", 1)
    answer(router, "b2", "a2", 1)
    assert connects(offer(router, "c1", 10, ticket_owner="a1", last_agent="a2")) == []
    assert connects(router.tick(40)) == []  # now waiting for a2
    assert connects(hang_up(router, "b2", 45)) == [("c1", "a2")]


def test_a_logged_out_preferred_agent_is_skipped_at_once() -> None:
    router = make_router(agents=2)
    router.on_command(LoginAgent("a2"), 0)
    assert connects(offer(router, "c1", 1, last_agent="a1")) == [("c1", "a2")]


def test_a_preferred_agent_logging_out_releases_the_call_to_the_queue() -> None:
    router = make_router(agents=2)
    router.on_command(LoginAgent("a1"), 0)
    router.on_command(LoginAgent("a2", paused=True), 0)
    assert connects(offer(router, "c1", 5, last_agent="a2")) == []
    assert router.snapshot(6).queue("support").waiting[0].preferred_agent == "a2"
    assert connects(router.on_command(LogoutAgent("a2"), 7)) == [("c1", "a1")]


def test_overflow_moves_a_waiting_call_to_another_queue_after_n_seconds() -> None:
    queues = [
        QueueConfig(name="support", overflow_after_s=45, overflow_to="backup"),
        QueueConfig(name="backup"),
    ]
    agents = [AgentConfig(id="b1", queues={"backup": 0})]
    router = make_router(queues=queues, agents=agents)
    assert connects(offer(router, "c1", 0)) == []
    router.on_command(LoginAgent("b1"), 10)  # in backup only
    decisions = router.tick(45)
    assert of_type(decisions, OverflowCall) == [OverflowCall("c1", "support", "backup", "wait")]
    assert connects(decisions) == [("c1", "b1")]


def test_a_full_queue_rejects_the_next_caller() -> None:
    queue = QueueConfig(name="support", max_length=2, exit_destination="voicemail:support")
    router = make_router(queues=[queue], agents=0)
    offer(router, "c1", 0)
    offer(router, "c2", 1)
    decisions = offer(router, "c3", 2)
    assert of_type(decisions, RejectCall) == [RejectCall("c3", "support", "full", "voicemail:support")]
    assert [c.call_id for c in router.snapshot(3).queue("support").waiting] == ["c1", "c2"]


def test_a_full_queue_overflows_when_an_overflow_queue_is_set() -> None:
    queues = [QueueConfig(name="support", max_length=0, overflow_to="backup"), QueueConfig(name="backup")]
    router = make_router(queues=queues, agents=0)
    decisions = offer(router, "c1", 0)
    assert of_type(decisions, OverflowCall) == [OverflowCall("c1", "support", "backup", "full")]
    assert of_type(decisions, CallQueued)[0].queue == "backup"


def test_overflow_never_loops_between_two_queues() -> None:
    queues = [
        QueueConfig(name="a", max_length=0, overflow_to="b"),
        QueueConfig(name="b", max_length=0, overflow_to="a"),
    ]
    router = make_router(queues=queues, agents=0)
    decisions = offer(router, "c1", 0, queue="a")
    assert of_type(decisions, OverflowCall) == [OverflowCall("c1", "a", "b", "full")]
    assert of_type(decisions, RejectCall) == [RejectCall("c1", "b", "full", None)]


def test_a_queue_that_refuses_empty_joins_rejects_when_nobody_is_logged_in() -> None:
    router = make_router(queues=[QueueConfig(name="support", join_empty=False)], agents=1)
    assert of_type(offer(router, "c1", 0), RejectCall) == [RejectCall("c1", "support", "no-agents", None)]
    router.on_command(LoginAgent("a1"), 1)
    assert connects(offer(router, "c2", 2)) == [("c2", "a1")]


def test_callers_leave_when_the_last_agent_leaves_if_configured() -> None:
    router = make_router(queues=[QueueConfig(name="support", leave_when_empty=True, wrapup_s=30)], agents=1)
    login_all(router)
    offer(router, "busy", 0)
    answer(router, "busy", "a1", 1)
    offer(router, "c1", 2)
    hang_up(router, "busy", 3)  # a1 wraps up: still staffed, c1 stays
    assert of_type(router.on_command(PauseAgent("a1", "lunch"), 5), RejectCall) == [
        RejectCall("c1", "support", "no-agents", None)
    ]


def test_max_wait_sends_the_caller_to_the_exit_destination() -> None:
    queue = QueueConfig(name="support", max_wait_s=120, exit_destination="voicemail:support")
    router = make_router(queues=[queue], agents=0)
    offer(router, "c1", 0)
    assert router.next_deadline() == 120
    assert of_type(router.tick(120), RejectCall) == [
        RejectCall("c1", "support", "timeout", "voicemail:support")
    ]
    assert router.snapshot(121).queue("support").waiting == ()


def office_hours() -> BusinessHours:
    # Monday to Friday 09:00-18:00 local time in UTC+8, closed on 2025-01-07 (a holiday).
    return BusinessHours(
        open_spans=tuple(OpenSpan(day, 9 * 60, 18 * 60) for day in range(5)),
        holidays=frozenset({"2025-01-07"}),
        utc_offsets=UtcOffsets(8 * 3600),
    )


def test_business_hours_are_evaluated_in_the_queue_local_time() -> None:
    hours = office_hours()
    monday_local_0859 = MONDAY_2025_01_06_UTC + (8 * 60 + 59) * 60 - 8 * 3600
    assert not hours.is_open(monday_local_0859)
    assert hours.is_open(monday_local_0859 + 60)
    assert not hours.is_open(MONDAY_2025_01_06_UTC + 18 * 3600 - 8 * 3600)
    tuesday_noon = MONDAY_2025_01_06_UTC + 86400 + 12 * 3600 - 8 * 3600
    assert not hours.is_open(tuesday_noon)  # holiday
    assert hours.is_open(tuesday_noon + 86400)
    saturday_noon = MONDAY_2025_01_06_UTC + 5 * 86400 + 12 * 3600 - 8 * 3600
    assert not hours.is_open(saturday_noon)


def test_utc_offset_transitions_move_local_time() -> None:
    offsets = UtcOffsets(3600, transitions=((1000.0, 7200),))
    assert offsets.at(999) == 3600 and offsets.at(1000) == 7200
    assert offsets.local_midnight(86400 + 10) == 86400 - 7200


def test_after_hours_calls_go_to_the_after_hours_destination() -> None:
    queue = QueueConfig(name="support", hours=office_hours(), after_hours_destination="ivr:closed")
    router = make_router(queues=[queue], agents=1)
    login_all(router)
    saturday_noon = MONDAY_2025_01_06_UTC + 5 * 86400 + 4 * 3600
    decisions = offer(router, "c1", saturday_noon)
    assert of_type(decisions, RejectCall) == [RejectCall("c1", "support", "closed", "ivr:closed")]
    assert connects(decisions) == []


def test_after_hours_calls_can_overflow_to_a_night_queue() -> None:
    queues = [
        QueueConfig(name="support", hours=office_hours(), after_hours_queue="night"),
        QueueConfig(name="night"),
    ]
    agents = [AgentConfig(id="n1", queues={"night": 0})]
    router = make_router(queues=queues, agents=agents)
    router.on_command(LoginAgent("n1"), 0)
    decisions = offer(router, "c1", MONDAY_2025_01_06_UTC)  # 08:00 local: not open yet
    assert of_type(decisions, OverflowCall) == [OverflowCall("c1", "support", "night", "closed")]
    assert connects(decisions) == [("c1", "n1")]
