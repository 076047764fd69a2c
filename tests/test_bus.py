"""The event bus: per-call order, isolation of failing handlers, back-pressure."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

from cti.bus import EventBus, NoHandler
from routing.commands import RecordSurveyScore, RequestCallback
from routing.events import CallEvent, CallEventKind, Event

KINDS = [CallEventKind.OFFERED, CallEventKind.RINGING, CallEventKind.ANSWERED, CallEventKind.HUNG_UP]


def _event(call: str, kind: CallEventKind, n: int) -> CallEvent:
    return CallEvent(call_id=call, kind=kind, at=datetime.now(UTC), event_id=f"{call}:{n}")


async def _running(bus: EventBus) -> asyncio.Task[None]:
    task = asyncio.create_task(bus.run())
    await asyncio.sleep(0)
    return task


async def test_events_of_one_call_reach_every_handler_in_order() -> None:
    bus = EventBus(shards=4)
    seen: dict[str, list[str]] = {"a": [], "b": []}

    async def slow(event: Event) -> None:
        await asyncio.sleep(0.001 if event.event_id.endswith("0") else 0)
        assert isinstance(event, CallEvent)
        seen["a"].append(event.event_id)

    async def fast(event: Event) -> None:
        seen["b"].append(event.event_id)

    bus.subscribe("slow", slow)
    bus.subscribe("fast", fast)
    task = await _running(bus)
    for call in ("c1", "c2", "c3"):
        for n, kind in enumerate(KINDS):
            await bus.publish(_event(call, kind, n))
    await bus.join()
    task.cancel()
    for name in ("a", "b"):
        for call in ("c1", "c2", "c3"):
            assert [e for e in seen[name] if e.startswith(call)] == [f"{call}:{n}" for n in range(4)]


async def test_a_failing_handler_is_logged_and_the_others_still_run(caplog: pytest.LogCaptureFixture) -> None:
    bus = EventBus(shards=1)
    delivered: list[str] = []

    async def broken(event: Event) -> None:
        raise RuntimeError("boom")

    async def good(event: Event) -> None:
        delivered.append(event.event_id)

    bus.subscribe("broken", broken)
    bus.subscribe("good", good)
    task = await _running(bus)
    await bus.publish(_event("c1", CallEventKind.OFFERED, 0))
    await bus.publish(_event("c1", CallEventKind.HUNG_UP, 1))
    await bus.join()
    task.cancel()
    assert delivered == ["c1:0", "c1:1"]
    assert bus.stats.handler_errors == {"broken": 2}
    assert "handler broken failed on call event offered call=c1" in caplog.text


async def test_publisher_waits_when_a_shard_is_full() -> None:
    bus = EventBus(shards=1, maxsize=2)
    await bus.publish(_event("c1", CallEventKind.OFFERED, 0))
    await bus.publish(_event("c1", CallEventKind.RINGING, 1))
    blocked = asyncio.create_task(bus.publish(_event("c1", CallEventKind.ANSWERED, 2)))
    await asyncio.sleep(0.01)
    assert not blocked.done()
    task = await _running(bus)
    await asyncio.wait_for(blocked, 1)
    await bus.join()
    task.cancel()


async def test_a_command_has_one_handler_and_its_reply_goes_to_the_sender() -> None:
    bus = EventBus(shards=2)
    taken: list[RequestCallback] = []

    async def callbacks(command: RequestCallback) -> str:
        taken.append(command)
        return f"ok:{command.call_id}"

    async def scores(command: RecordSurveyScore) -> bool:
        raise ValueError(f"no follow-up for ticket {command.ticket_id}")

    bus.handle(RequestCallback, callbacks)
    bus.handle(RecordSurveyScore, scores)
    with pytest.raises(ValueError, match="already has a handler"):
        bus.handle(RequestCallback, callbacks)
    task = await _running(bus)
    accepted = await bus.send(RequestCallback("c1", number="+8613800138000"))
    refused = await bus.send(RecordSurveyScore(call_id="s1", ticket_id=7, score=4))
    assert await accepted == "ok:c1"
    with pytest.raises(ValueError, match="no follow-up for ticket 7"):
        await refused
    task.cancel()
    assert taken == [RequestCallback("c1", number="+8613800138000")]
    assert bus.stats.commands == 2 and bus.stats.handler_errors == {}  # a refusal is a reply, not a fault


async def test_a_command_nobody_handles_is_refused_with_no_handler() -> None:
    bus = EventBus(shards=1)
    task = await _running(bus)
    reply = await bus.send(RequestCallback("c1"))
    with pytest.raises(NoHandler, match="RequestCallback"):
        await reply
    task.cancel()


async def test_a_command_is_carried_out_after_the_earlier_events_of_its_call() -> None:
    bus = EventBus(shards=4)
    order: list[str] = []

    async def slow_subscriber(event: Event) -> None:
        await asyncio.sleep(0.01)  # the router is busy with the OFFERED when the key is pressed
        assert isinstance(event, CallEvent)
        order.append(f"event:{event.kind}")

    async def callbacks(command: RequestCallback) -> None:
        order.append("command:callback")

    bus.subscribe("router", slow_subscriber)
    bus.handle(RequestCallback, callbacks)
    task = await _running(bus)
    await bus.publish(_event("c1", CallEventKind.OFFERED, 0))
    reply = await bus.send(RequestCallback("c1"))
    await reply
    task.cancel()
    assert order == ["event:offered", "command:callback"]


async def test_a_pop_never_waits_for_persistence_of_another_call() -> None:
    """A subscriber `behind=True` (a transaction) stuck on one call: the front lane of the same
    shard still hands the next call's events to the console at once."""
    bus = EventBus(shards=1)
    release = asyncio.Event()
    popped: list[str] = []
    kept: list[str] = []

    async def persist(event: Event) -> None:
        if event.event_id == "c1:0":
            await release.wait()
        kept.append(event.event_id)

    async def console(event: Event) -> None:
        popped.append(event.event_id)

    bus.subscribe("persist", persist, behind=True)
    bus.subscribe("console", console)
    task = await _running(bus)
    await bus.publish(_event("c1", CallEventKind.OFFERED, 0))
    await bus.publish(_event("c2", CallEventKind.RINGING, 1))
    async with asyncio.timeout(5):
        while popped != ["c1:0", "c2:1"]:  # noqa: ASYNC110 - the front lane's progress is the condition
            await asyncio.sleep(0)
    assert kept == []
    release.set()
    await bus.join()  # waits for the lane behind as well
    assert kept == ["c1:0", "c2:1"]
    task.cancel()


async def test_the_lane_behind_keeps_each_calls_order_and_runs_after_the_front() -> None:
    bus = EventBus(shards=2)
    order: list[tuple[str, str]] = []

    async def front(event: Event) -> None:
        order.append(("front", event.event_id))

    async def behind(event: Event) -> None:
        assert ("front", event.event_id) in order  # the front lane has had it first
        await asyncio.sleep(0.001 if event.event_id.endswith("0") else 0)
        order.append(("behind", event.event_id))

    bus.subscribe("behind", behind, behind=True)
    bus.subscribe("front", front)
    task = await _running(bus)
    for call in ("c1", "c2", "c3"):
        for n, kind in enumerate(KINDS):
            await bus.publish(_event(call, kind, n))
    await bus.join()
    task.cancel()
    for call in ("c1", "c2", "c3"):
        kept = [e for lane, e in order if lane == "behind" and e.startswith(call)]
        assert kept == [f"{call}:{n}" for n in range(4)]
    assert bus.stats.delivered == 12


async def test_persistence_falling_behind_stops_the_publisher() -> None:
    """Bounded: the queue behind fills, then the front, then `publish` waits (the PBX reader stops,
    callers wait at the PBX) instead of memory growing."""
    bus = EventBus(shards=1, maxsize=2)
    release = asyncio.Event()

    async def persist(event: Event) -> None:
        await release.wait()

    async def front(event: Event) -> None:
        return None

    bus.subscribe("persist", persist, behind=True)
    bus.subscribe("front", front)
    task = await _running(bus)
    published = 0

    async def publisher() -> None:
        nonlocal published
        for n in range(20):
            await bus.publish(_event("c1", CallEventKind.RINGING, n))
            published += 1

    feeding = asyncio.create_task(publisher())
    for _ in range(200):
        await asyncio.sleep(0)
    assert published < 20  # stuck: at most one in the persister, two behind, one in front, two queued
    assert sum(bus.depths()) <= 4
    release.set()
    await feeding
    await bus.join()
    task.cancel()


@pytest.mark.parametrize("writers", [1, None])
async def test_one_writer_behind_means_persistence_takes_turns_across_shards(writers: int | None) -> None:
    """SQLite has one writer: with `writers_behind=1` the lanes behind take turns (in order, no
    file-lock polling); without it they write side by side."""
    bus = EventBus(shards=4, writers_behind=writers)
    busy = 0
    most = 0

    async def persist(event: Event) -> None:
        nonlocal busy, most
        busy += 1
        most = max(most, busy)
        await asyncio.sleep(0.001)
        busy -= 1

    bus.subscribe("persist", persist, behind=True)
    task = await _running(bus)
    for call in range(16):
        await bus.publish(_event(f"c{call}", CallEventKind.OFFERED, 0))
    await bus.join()
    task.cancel()
    assert most == 1 if writers == 1 else most > 1
    assert bus.stats.handled["persist"] == 16


async def test_a_batch_subscriber_behind_gets_what_queued_meanwhile_in_each_calls_order() -> None:
    """Group commit: while one batch is being written, the events of every call queue up and come
    next as one batch (one transaction), each call's events still in order."""
    bus = EventBus(shards=4, writers_behind=1)
    batches: list[list[str]] = []
    first = asyncio.Event()

    async def persist(events: Sequence[Event]) -> None:
        batches.append([e.event_id for e in events])
        if len(batches) == 1:
            await first.wait()

    bus.subscribe_batch("persist", persist)
    task = await _running(bus)
    await bus.publish(_event("c0", CallEventKind.OFFERED, 0))
    for _ in range(20):
        await asyncio.sleep(0)
    for call in ("c1", "c2", "c3"):
        for n, kind in enumerate(KINDS):
            await bus.publish(_event(call, kind, n))
    for _ in range(50):
        await asyncio.sleep(0)
    first.set()
    await bus.join()
    task.cancel()
    assert batches[0] == ["c0:0"]
    assert len(batches) == 2 and sorted(batches[1]) == sorted(
        f"{c}:{n}" for c in ("c1", "c2", "c3") for n in range(4)
    )
    for call in ("c1", "c2", "c3"):
        assert [e for e in batches[1] if e.startswith(call)] == [f"{call}:{n}" for n in range(4)]
    assert bus.stats.handled["persist"] == 13 and bus.batches_behind == 2


async def test_a_failing_batch_is_delivered_again_one_by_one_and_only_the_bad_event_counts() -> None:
    bus = EventBus(shards=2, writers_behind=1)
    kept: list[str] = []
    hold = asyncio.Event()

    async def persist(events: Sequence[Event]) -> None:
        if not hold.is_set():
            await hold.wait()
        if any(e.event_id == "bad:0" for e in events):
            raise RuntimeError("refused")
        kept.extend(e.event_id for e in events)

    bus.subscribe_batch("persist", persist)
    task = await _running(bus)
    await bus.publish(_event("c0", CallEventKind.OFFERED, 0))
    for _ in range(20):
        await asyncio.sleep(0)
    for call in ("c1", "bad", "c2"):
        await bus.publish(_event(call, CallEventKind.OFFERED, 0))
    for _ in range(50):
        await asyncio.sleep(0)
    hold.set()
    await bus.join()
    task.cancel()
    assert sorted(kept) == ["c0:0", "c1:0", "c2:0"]
    assert bus.stats.handler_errors == {"persist": 1}
