"""The event bus: per-call order, isolation of failing handlers, back-pressure."""

from __future__ import annotations

import asyncio
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
