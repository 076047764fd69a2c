"""Report figures from call-table rows: the definitions shown on the reports page."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

from calls.models import CallRecord
from calls.reports import Thresholds, by_agent, by_queue, csv_text, slots

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def call(
    n: int,
    *,
    queue: str = "support",
    wait: float,
    talk: float | None = None,
    agent: str | None = "1001",
    hold: float = 0.0,
    wrap: float | None = 0.0,
) -> CallRecord:
    """An answered call (`talk` given) is handled: talk, hold and wrap-up on the row, as the
    router leaves them when the wrap-up ends; `wrap=None`: a wrap-up Hotline did not see end."""
    offered = T0 + timedelta(minutes=n)
    answered = offered + timedelta(seconds=wait) if talk is not None else None
    ended = (
        (answered + timedelta(seconds=talk))
        if answered and talk is not None
        else offered + timedelta(seconds=wait)
    )
    return CallRecord(
        call_id=f"c{n}",
        queue=queue,
        agent_id=agent if talk is not None else None,
        offered_at=offered,
        answered_at=answered,
        ended_at=ended,
        outcome="answered" if talk is not None else "abandoned",
        talk_s=talk if talk is not None and wrap is not None else None,
        hold_s=hold if talk is not None and wrap is not None else None,
        wrap_s=wrap if talk is not None else None,
    )


def test_service_level_and_abandon_rate_leave_short_abandons_out() -> None:
    calls = [
        call(1, wait=5, talk=100),  # within 20 s
        call(2, wait=30, talk=200),  # late
        call(3, wait=2),  # short abandon: neither for nor against
        call(4, wait=40),  # abandoned
    ]
    [row] = by_queue(calls, {"support": Thresholds(service_level_s=20, short_abandon_s=5)})
    assert (row.offered, row.answered, row.abandoned, row.short_abandoned) == (4, 2, 2, 1)
    assert row.service_level == 1 / 3
    assert row.abandon_rate == 1 / 3
    assert row.asa_s == 17.5
    assert row.aht_s == 150
    assert row.longest_wait_s == 40


def test_no_calls_gives_no_ratio_rather_than_zero_or_one_hundred_percent() -> None:
    [row] = by_queue([call(1, wait=1)], {"support": Thresholds(short_abandon_s=5)})
    assert row.service_level is None and row.abandon_rate is None and row.asa_s is None


def test_agents_are_credited_with_the_calls_they_answered() -> None:
    calls = [call(1, wait=5, talk=60), call(2, wait=5, talk=120, agent="1002"), call(3, wait=9, talk=30)]
    rows = {r.agent_id: r for r in by_agent(calls)}
    assert rows["1001"].answered == 2 and rows["1001"].talk_s == 90 and rows["1001"].aht_s == 45
    assert rows["1002"].answered == 1


def test_fifteen_minute_slots_count_calls_where_they_arrived() -> None:
    calls = [call(1, wait=5, talk=60), call(14, wait=50, talk=60), call(16, wait=3, talk=10)]
    out = slots(calls, T0, 3, {"support": Thresholds(service_level_s=20)})
    assert [(s.offered, s.answered) for s in out] == [(2, 2), (1, 1), (0, 0)]
    assert out[0].service_level == 0.5 and out[2].service_level is None
    assert out[1].start == T0 + timedelta(minutes=15)


def test_csv_has_a_header_and_quotes_cells_a_spreadsheet_would_run_as_formulas() -> None:
    calls = [call(1, queue='=HYPERLINK("http://x")', wait=5, talk=60)]
    text = csv_text(by_queue(calls, {}))
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:3] == ["queue", "offered", "answered"]
    assert rows[1][0].startswith("'=")
    assert rows[1][1] == "1"


def test_aht_is_talk_plus_hold_plus_wrap_up_of_the_handlings_that_ended() -> None:
    calls = [
        call(1, wait=5, talk=100, hold=20, wrap=30),  # 150
        call(2, wait=5, talk=40, wrap=10),  # 50
        call(3, wait=5, talk=500, wrap=None),  # wrap-up never seen to end: in no AHT
    ]
    [row] = by_queue(calls, {})
    assert (row.answered, row.handled, row.aht_s) == (3, 2, 100)
    [agent] = by_agent(calls)
    assert (agent.handled, agent.hold_s, agent.wrap_s, agent.aht_s) == (2, 20, 40, 100)
    # talk: the router's where recorded, answer → hang-up for the unhandled call
    assert agent.talk_s == 100 + 40 + 500


def test_asterisk_service_levels_are_given_beside_hotlines_named_as_asterisk_names_them() -> None:
    calls = [
        call(1, wait=5, talk=60),  # answered within 20 s
        call(2, wait=30, talk=60),  # answered late
        call(3, wait=10),  # abandoned within 20 s
        call(4, wait=40),  # abandoned late
    ]
    [row] = by_queue(calls, {"support": Thresholds(service_level_s=20, short_abandon_s=5)})
    assert row.service_level == 1 / 4  # Hotline: abandons count against the queue
    assert row.service_level_asterisk == 1 / 2  # ServicelevelPerf: abandons left out
    assert row.service_level_asterisk_sl2 == 2 / 4  # ServicelevelPerf2: abandons within SL served
    header = next(csv.reader(io.StringIO(csv_text([row]))))
    assert {"service_level", "service_level_asterisk", "service_level_asterisk_sl2", "aht_s"} <= set(header)
