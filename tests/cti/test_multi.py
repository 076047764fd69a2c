"""Several PBXs, the parts around the two-PBX test: whose call an id is, and an agent's phones
while their PBX's link is down (the translator's link_lost / link_restored; one link over TCP)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

from cti.ami.protocol import AmiMessage
from cti.ami.translate import AmiTranslator
from cti.bus import EventBus
from cti.multi import call_prefix, pbx_of_call
from cti.simulator import SimulatedPbx
from routing.events import AgentEvent, AgentEventKind, Event
from tests.cti.links import link_to

AT = datetime(2026, 12, 3, 6, 0, tzinfo=UTC)
PBXS = ("main", "east", "west")


@pytest.mark.parametrize(
    ("call_id", "pbx"),
    [
        ("1796279081.0", "main"),  # Asterisk's own ids: the main PBX's, as with one PBX
        ("east:1796279081.0", "east"),
        ("west:1796279081.0", "west"),
        ("north:1796279081.0", "main"),  # not a configured PBX: not anybody's prefix
        ("main:1796279081.0", "main"),
    ],
)
def test_a_call_id_says_its_pbx(call_id: str, pbx: str) -> None:
    assert pbx_of_call(call_id, PBXS) == pbx


def test_only_the_other_pbxs_prefix_their_call_ids() -> None:
    assert (call_prefix("main"), call_prefix("east")) == ("", "east:")
    assert pbx_of_call(call_prefix("east") + "1.2", PBXS) == "east"


def _translator() -> AmiTranslator:
    phones = {"PJSIP/1001": "1001", "PJSIP/1002": "1002"}
    return AmiTranslator(agents=phones, devices=phones, call_prefix="east:", clock=lambda: AT)


def _states(events: Sequence[Event]) -> dict[str, str | None]:
    kind = AgentEventKind.DEVICE_STATE
    return {e.agent: e.detail for e in events if isinstance(e, AgentEvent) and e.kind is kind}


def _device(device: str, state: str) -> AmiMessage:
    return AmiMessage({"Event": "DeviceStateChange", "Device": device, "State": state})


def test_a_lost_link_shows_its_phones_unavailable_and_the_resync_or_the_return_says_what_they_are() -> None:
    translator = _translator()
    lost = translator.link_lost(AT)
    assert _states(lost) == {"1001": "unavailable", "1002": "unavailable"}
    # The re-login's resync reports 1002's phone in use; 1001's is not listed (a PBX listing only
    # the devices whose state was set): after the resync it is idle again, 1002 stays in use.
    assert _states(translator.feed(_device("PJSIP/1002", "INUSE"))) == {"1002": "in_use"}
    assert _states(translator.link_restored(AT)) == {"1001": "idle"}
    assert translator.link_restored(AT) == []  # once


def test_each_loss_is_a_new_event_not_a_replay_of_the_last_one() -> None:
    translator = _translator()
    first = translator.link_lost(AT)
    translator.link_restored(AT)
    second = translator.link_lost(AT)
    assert {e.event_id for e in first}.isdisjoint(e.event_id for e in second)


async def test_a_pbx_down_from_the_start_shows_its_agents_unavailable_then_idle_once_it_answers(
    unused_tcp_port: int,
) -> None:
    """Over TCP: the link's PBX is not there at first; once a simulated PBX listens on its port,
    the re-login's resync and link_restored bring the agent's phone back."""
    bus = EventBus()
    seen: list[tuple[str, str | None]] = []

    async def record(event: Event) -> None:
        if isinstance(event, AgentEvent) and event.kind is AgentEventKind.DEVICE_STATE:
            seen.append((event.agent, event.detail))

    bus.subscribe("test", record)
    link = link_to(
        unused_tcp_port,
        "test-ami-secret-9f2c",
        bus=bus,
        agents={"2001": "PJSIP/2001"},
        default_queue="field",
        action_timeout=0.3,
        call_prefix="east:",
        report_link_loss=True,
    )
    pbx = SimulatedPbx(port=unused_tcp_port, secret="test-ami-secret-9f2c")
    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(bus.run()), group.create_task(link.run())]
        async with asyncio.timeout(5):
            while ("2001", "unavailable") not in seen:  # noqa: ASYNC110 - the bus's events are the condition
                await asyncio.sleep(0.02)
        assert not link.health().up
        tasks.append(group.create_task(pbx.run()))
        await link.wait_connected(timeout=15)
        await bus.join()
        assert seen[-1] == ("2001", "idle")
        for task in tasks:
            task.cancel()
