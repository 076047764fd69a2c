"""An AMI event queue that overflows is a lost link: the link resyncs from the PBX, nothing lost silently."""

from __future__ import annotations

import asyncio

import pytest

from cti.ami.client import AmiClient
from cti.ami.errors import EventsLost
from cti.bus import EventBus
from cti.simulator import SimulatedPbx
from routing.events import AgentEvent, AgentEventKind, Event
from tests.cti.links import link_to
from tests.cti.peer import AmiPeer, frame

SECRET = "overflow-secret-3d1f"


async def test_a_full_lose_link_queue_keeps_what_came_before_the_gap_then_says_events_were_lost() -> None:
    async with AmiPeer(secret=SECRET) as peer, asyncio.TaskGroup() as tg:
        client = AmiClient("127.0.0.1", peer.port, "hotline", SECRET)
        events = client.subscribe(maxsize=3, overflow="lose-link")
        task = tg.create_task(client.run())
        await client.wait_connected(5)
        peer.send(b"".join(frame(Event="UserEvent", N=str(i)) for i in range(10)))
        async with asyncio.timeout(5):
            while client.stats.overflows == 0:  # noqa: ASYNC110 - the reader's counter is the condition
                await asyncio.sleep(0.01)
        kept = [(await anext(events))["N"] for _ in range(3)]
        with pytest.raises(EventsLost):
            await anext(events)
        peer.send(frame(Event="UserEvent", N="after"))
        after = await anext(events)  # iterating again goes on with new events
        task.cancel()
    assert kept == ["0", "1", "2"]  # the oldest are kept: they are the translator's consistent past
    assert events.dropped == 7 and client.stats.dropped == 7 and client.stats.overflows == 1
    assert after["N"] == "after"


async def test_when_the_bus_falls_behind_the_link_resyncs_and_the_lost_phone_state_comes_back() -> None:
    pbx = SimulatedPbx(secret=SECRET)
    bus = EventBus(shards=1, maxsize=1)  # not running yet: the link's publish blocks at once
    delivered: list[Event] = []

    async def record(event: Event) -> None:
        delivered.append(event)

    bus.subscribe("record", record)
    async with asyncio.TaskGroup() as group:
        pbx_task = group.create_task(pbx.run())
        await pbx.wait_ready()
        link = link_to(
            pbx.port,
            SECRET,
            bus=bus,
            agents={"1001": "PJSIP/1001"},
            event_queue=5,
        )
        link_task = group.create_task(link.run())
        await link.wait_connected(5)
        logins = link.client.stats.logins
        for n in range(30):  # the agent's phone changes state much faster than the bus takes it
            pbx.set_device_state("PJSIP/1001", "INUSE" if n % 2 else "NOT_INUSE")
        pbx.set_device_state("PJSIP/1001", "UNAVAILABLE")  # the last word, lost in the overflow
        async with asyncio.timeout(10):
            while link.client.stats.overflows == 0:  # noqa: ASYNC110 - the reader's counter is the condition
                await asyncio.sleep(0.01)
            assert not link.health().up or link.health().counters["overflows"] == 1
            bus_task = group.create_task(bus.run())  # the bus catches up: the link drops and resyncs
            while link.client.stats.logins == logins or not link.client.connected:  # noqa: ASYNC110
                await asyncio.sleep(0.01)
            await bus.join()
        health = link.health()
        for task in (bus_task, link_task, pbx_task):
            task.cancel()
    states = [
        e.detail for e in delivered if isinstance(e, AgentEvent) and e.kind is AgentEventKind.DEVICE_STATE
    ]
    assert states[-1] == "unavailable"  # rebuilt by the resync (DeviceStateList), not lost
    assert health.up and health.counters["overflows"] == 1 and health.counters["dropped"] > 0


async def test_the_links_health_says_why_it_is_down_without_naming_the_host() -> None:
    pbx = SimulatedPbx(secret=SECRET)
    async with asyncio.TaskGroup() as group:
        pbx_task = group.create_task(pbx.run())
        await pbx.wait_ready()
        link = link_to(
            pbx.port,
            "not-the-secret",
            bus=EventBus(),
            agents={},
        )
        before = link.health()
        link_task = group.create_task(link.run())
        async with asyncio.timeout(10):
            while link._client is None or link.client.stats.login_refusals == 0:  # noqa: ASYNC110
                await asyncio.sleep(0.01)
        refused = link.health()
        link_task.cancel()
        pbx_task.cancel()
    assert not before.up and "not started" in before.reason
    assert not refused.up and "refuses the login" in refused.reason
    assert "127.0.0.1" not in refused.reason and str(pbx.port) not in refused.reason
    assert refused.counters["login_refusals"] >= 1 and "not-the-secret" not in repr(refused)
