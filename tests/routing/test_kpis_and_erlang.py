"""KPI formulas pinned on a hand-computed scenario; Erlang C against published values."""

from __future__ import annotations

import math

import pytest

from routing import QueueConfig
from routing.erlang import agents_needed, average_speed_of_answer, erlang_c, service_level
from routing.events import CallEventKind

from .helpers import answer, call_event, connects, hang_up, login_all, make_router, offer


def scenario():
    """Two agents, wrap-up 10 s, T = 20 s, short abandon < 5 s. Times in seconds.

    c1 offered 100, a1 answers 105 (wait 5), hangs up 205 -> handle 100 + 0 + 10
    c2 offered 110, a2 answers 140 (wait 30), hold 150-170, hangs up 260 -> 100 + 20 + 10
    c3 offered 120, abandons 123 (wait 3: short, within T)
    c4 offered 130, abandons 160 (wait 30)
    c5 offered 210, a1 free at 215 (end of wrap-up), answers 218 (wait 8), hangs up 318 -> 100 + 0 + 10
    """
    router = make_router(
        queues=[QueueConfig(name="support", wrapup_s=10, service_level_s=20, short_abandon_s=5)]
    )
    login_all(router, 0)
    offer(router, "c1", 100)
    answer(router, "c1", "a1", 105)
    offer(router, "c2", 110)
    offer(router, "c3", 120)
    router.on_event(call_event("c3", CallEventKind.ABANDONED), 123)
    offer(router, "c4", 130)
    answer(router, "c2", "a2", 140)
    router.on_event(call_event("c2", CallEventKind.HELD), 150)
    router.on_event(call_event("c4", CallEventKind.ABANDONED), 160)
    router.on_event(call_event("c2", CallEventKind.UNHELD), 170)
    hang_up(router, "c1", 205)
    offer(router, "c5", 210)
    router.tick(215)
    answer(router, "c5", "a1", 218)
    hang_up(router, "c2", 260)
    router.tick(270)
    hang_up(router, "c5", 318)
    router.tick(328)
    return router


def test_queue_kpis_match_the_hand_computed_scenario() -> None:
    q = scenario().kpis(400).queue("support").window
    assert (q.offered, q.answered, q.answered_within_sl) == (5, 3, 2)
    assert (q.abandoned, q.short_abandoned, q.abandoned_within_sl) == (2, 1, 1)
    assert q.service_level == pytest.approx(2 / (5 - 1))  # short abandons excluded
    assert q.service_level_asterisk == pytest.approx(2 / 3)  # answered in SL / answered
    assert q.service_level_asterisk_sl2 == pytest.approx((2 + 1) / (3 + 2))
    assert q.asa_s == pytest.approx((5 + 30 + 8) / 3)
    assert q.aht_s == pytest.approx((110 + 130 + 110) / 3)
    assert q.abandon_rate == pytest.approx((2 - 1) / (5 - 1))
    assert q.longest_wait_s == 30
    # a1 busy 5 + 100 + 10 + 3 + 100 + 10 = 228 s, a2 busy 30 + 120 + 10 = 160 s, both staffed 400 s.
    assert q.occupancy == pytest.approx((228 + 160) / 800)


def test_agent_kpis_match_the_hand_computed_scenario() -> None:
    kpis = scenario().kpis(400)
    a1, a2 = kpis.agent("a1").window, kpis.agent("a2").window
    assert (a1.answered, a1.handled, a1.talk_s, a1.wrap_s) == (2, 2, 200, 20)
    assert (a2.answered, a2.talk_s, a2.hold_s) == (1, 100, 20)
    assert a1.occupancy == pytest.approx(228 / 400)
    assert a2.aht_s == pytest.approx(130)


def test_the_rolling_window_forgets_old_calls_but_today_keeps_them() -> None:
    router = scenario()
    kpis = router.kpis(100 + 900 + 50)  # the window now starts at 150
    q = kpis.queue("support")
    assert q.window.answered == 1  # only c5, answered at 218
    assert q.today.answered == 3


def test_since_midnight_restarts_at_local_midnight() -> None:
    router = scenario()
    next_day = 86400 + 10
    assert router.kpis(next_day).queue("support").today.offered == 0


def test_staffing_uses_the_measured_arrival_rate_and_aht() -> None:
    q = scenario().kpis(400).queue("support")
    assert q.staffing is not None
    assert q.staffing.traffic_erlangs == pytest.approx(5 / 400 * (350 / 3))


def test_erlang_c_matches_a_hand_computation() -> None:
    # A = 2 Erlangs, N = 3: (8/6 * 3) / (1 + 2 + 2 + 8/6 * 3) = 4 / 9
    assert erlang_c(3, 2.0) == pytest.approx(4 / 9)


def test_erlang_c_matches_published_average_wait_values() -> None:
    # Abstract Micro Systems, Erlang Library for Excel, ErlcWait4 reference page
    # (http://abstractmicro.com/erlang/helppages/ref-erlcwait4.htm):
    # ErlcWait4(20 agents, 1800 s, 100 calls, 240 s AHT) = 2.243505841 s;
    # with 300 s AHT = 30.4312286 s.
    assert average_speed_of_answer(20, 100 * 240 / 1800, 240) == pytest.approx(2.243505841, abs=1e-8)
    assert average_speed_of_answer(20, 100 * 300 / 1800, 300) == pytest.approx(30.4312286, abs=1e-6)


def test_agents_needed_is_the_fewest_reaching_the_target() -> None:
    # 10 Erlangs (200 calls/h, 180 s), 80 % in 20 s: 13 agents give 79.6 %, 14 give 88.8 %.
    staffing = agents_needed(200 / 3600, 180, 20, 0.80)
    assert staffing.agents == 14
    assert service_level(13, 10.0, 180, 20) < 0.80 <= staffing.service_level


def test_erlang_c_stays_finite_for_large_centers() -> None:
    p = erlang_c(2000, 1900.0)
    assert 0 < p < 1 and not math.isnan(p)
    assert erlang_c(5, 5.0) == 1.0


def test_no_staffing_forecast_until_five_minutes_have_been_observed() -> None:
    """One call 20 s after start-up is not a rate of 180 calls an hour: no forecast yet."""
    router = make_router(queues=[QueueConfig(name="support")])
    login_all(router, 0)
    offer(router, "c1", 20)
    assert router.kpis(60).queue("support").staffing is None
    assert router.kpis(299).queue("support").staffing is None
    forecast = router.kpis(300).queue("support").staffing
    assert forecast is not None and forecast.traffic_erlangs == pytest.approx(1 / 300 * 180)


def test_a_burst_against_busy_agents_asks_for_more_agents_not_fewer() -> None:
    """Five callers in one minute, two agents: the tile must not say "1 needed (2 staffed)".

    The router has run an hour with short calls, so the window's steady-state forecast
    is one agent; the burst leaves three callers waiting behind two busy agents.
    """
    router = make_router(queues=[QueueConfig(name="support", wrapup_s=0, service_level_s=20)])
    login_all(router, 0)
    for i in range(4):  # a quiet hour: a 20 s call every 15 minutes
        offer(router, f"q{i}", 600 + i * 900)
        answer(router, f"q{i}", "a1", 601 + i * 900)
        hang_up(router, f"q{i}", 621 + i * 900)
    quiet = router.kpis(3600).queue("support")
    assert quiet.staffing is not None and quiet.staffing.agents == 1
    assert quiet.agents_needed_now == 1
    rung = []
    for i, at in enumerate((3600, 3612, 3624, 3636, 3648)):
        rung += connects(offer(router, f"b{i}", at))
    assert len(rung) == 2  # one per agent; three callers wait
    for call_id, agent_id in rung:
        answer(router, call_id, agent_id, 3650)
    burst = router.kpis(3660).queue("support")
    assert (burst.waiting, burst.agents_busy, burst.agents_staffed) == (3, 2, 2)
    assert burst.agents_needed_now is not None and burst.agents_needed_now > 2
    assert burst.agents_needed_now == 5  # the two busy agents and one for each waiting caller
    assert (
        burst.staffed_service_level is not None and burst.staffed_service_level < quiet.staffed_service_level
    )  # type: ignore[operator]
    assert burst.forecast_window_s == 900


def test_the_service_level_the_staffed_agents_reach_is_erlang_c_at_the_window_traffic() -> None:
    q = scenario().kpis(400).queue("support")
    assert q.staffing is not None and q.agents_staffed == 2
    expected = service_level(2, q.staffing.traffic_erlangs, q.staffing.aht_s, 20)
    assert q.staffed_service_level == pytest.approx(expected)
    assert q.forecast_window_s == 400  # observed for less than the window: the rate is over what was seen
