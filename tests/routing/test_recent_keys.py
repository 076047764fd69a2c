"""The duplicate-event and finished-call memories keep exactly the last N distinct ids."""

from __future__ import annotations

from datetime import datetime

from routing import AgentConfig, QueueConfig, Router, RouterConfig
from routing.events import CallEvent, CallEventKind
from routing.router import RecentKeys


def test_remembers_the_last_n_distinct_keys_and_forgets_the_oldest_first() -> None:
    recent = RecentKeys(3)
    assert [recent.add(k) for k in ("a", "b", "c")] == [True, True, True]
    assert recent.add("d")
    assert "a" not in recent
    assert all(k in recent for k in ("b", "c", "d"))


def test_a_key_added_again_is_refused_and_keeps_its_place() -> None:
    recent = RecentKeys(3)
    for k in ("a", "b", "c"):
        recent.add(k)
    assert not recent.add("a")  # as OrderedDict assignment: "a" stays the oldest
    recent.add("d")
    assert "a" not in recent
    assert "b" in recent


def test_a_duplicate_event_is_ignored_and_counted() -> None:
    router = Router(
        RouterConfig(queues=[QueueConfig(name="q")], agents=[AgentConfig(id="a", queues={"q": 0})])
    )
    event = CallEvent(call_id="x", kind=CallEventKind.HUNG_UP, at=datetime(2025, 1, 1), event_id="e1")
    router.on_event(event, 1.0)
    assert router.on_event(event, 2.0) == []
    assert router.ignored_events["duplicate"] == 1
