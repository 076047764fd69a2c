"""A caller the router learns of late keeps the wait they have: a router taking over adopts the
PBX's waiting callers with their arrival (the resync's Wait), and their wait, its deadlines and the
wallboard count from then, not from the takeover. A queue a call overflows to counts from then."""

from __future__ import annotations

from routing import QueueConfig
from routing.decisions import OverflowCall, RejectCall
from tests.routing.helpers import make_router, of_type, offer

NOW = 1000.0


def test_an_adopted_caller_has_waited_since_arriving_and_times_out_on_that_clock() -> None:
    router = make_router([QueueConfig(name="support", max_wait_s=60)], agents=0)
    offer(router, "early", NOW, arrived_at=NOW - 50)  # waiting for 50 s when this router learns of it
    offer(router, "new", NOW)
    waits = {c.call_id: c.waited_s for c in router.snapshot(NOW).queue("support").waiting}
    assert waits == {"early": 50.0, "new": 0.0}
    assert router.kpis(NOW).queues[0].longest_waiting_s == 50.0
    assert router.next_deadline() == NOW + 10  # the 60 s maximum from its arrival, not from now
    timed_out = of_type(router.tick(NOW + 10), RejectCall)
    assert [(r.call_id, r.reason) for r in timed_out] == [("early", "timeout")]


def test_a_queue_a_call_overflows_to_counts_its_wait_from_the_overflow() -> None:
    queues = [
        QueueConfig(name="support", overflow_after_s=60, overflow_to="backup"),
        QueueConfig(name="backup"),
    ]
    router = make_router(queues, agents=0)
    offer(router, "early", NOW, arrived_at=NOW - 50)
    overflowed = of_type(router.tick(NOW + 10), OverflowCall)
    assert [(o.call_id, o.to_queue) for o in overflowed] == [("early", "backup")]
    waits = {c.call_id: c.waited_s for c in router.snapshot(NOW + 15).queue("backup").waiting}
    assert waits == {"early": 5.0}
