"""The 06-resync-status scenario on the simulated PBX gives what the real trace gave.

A CTI connects while one caller talks to 1001 and one waits (1002 paused), as
in tests/fixtures/ami/06-resync-status.ami; its resync must report both calls
in queue `support` (taken from CoreShowChannel ApplicationData, as on Asterisk),
the talking one answered by 1001; after 1002 is unpaused both calls end as
answered, as the replay of the real trace says.
"""

from __future__ import annotations

import asyncio

from cti.ami import actions
from cti.ami.client import AmiClient
from cti.ami.resync import resync_on_connect
from cti.ami.translate import AmiTranslator, wanted_frame
from cti.replay import summarize
from cti.simulator import AgentBehaviour, SimulatedPbx
from cti.simulator.queues import SimMember, SimQueue
from routing.events import CallEvent, CallEventKind, Event
from tests.cti.test_fixtures import EXPECTED

SECRET = "sim-secret"


async def originate(pbx: SimulatedPbx, caller: str, talk: int) -> None:
    client = AmiClient("127.0.0.1", pbx.port, "hotline", SECRET)
    async with asyncio.TaskGroup() as tg:
        task = tg.create_task(client.run())
        await client.wait_connected(5)
        await client.action(
            "Originate", Channel="Local/support@hotline", Context="phones", Exten=f"talk-{talk}",
            Priority="1", CallerID=caller, Async="true",
        )  # fmt: skip
        task.cancel()


async def test_resync_on_the_simulator_matches_the_real_resync_trace() -> None:
    queue = SimQueue(
        "support",
        strategy="rrmemory",
        timeout_s=8,
        members=[
            SimMember("Local/1001@agents/n", "Alice Agent"),
            SimMember("Local/1002@agents/n", "Bob Agent", paused=True, reason="break"),
        ],
    )
    agents = {"1001": AgentBehaviour(ring_s=1), "1002": AgentBehaviour(ring_s=1)}
    pbx = SimulatedPbx(secret=SECRET, agents=agents, speed=10, queues=[queue])
    events: list[Event] = []
    async with asyncio.TaskGroup() as tg:
        pbx_task = tg.create_task(pbx.run())
        await pbx.wait_ready()
        await originate(pbx, '"Gina Caller" <0406000007>', talk=30)
        async with asyncio.timeout(5):
            while not any(c.bridge for c in pbx.channels.values()):  # noqa: ASYNC110
                await asyncio.sleep(0.02)
        await originate(pbx, '"Hugo Caller" <0406000008>', talk=26)
        async with asyncio.timeout(5):
            while not queue.waiting:  # noqa: ASYNC110 - Hugo waits in the queue
                await asyncio.sleep(0.02)

        translator = AmiTranslator()
        client = AmiClient("127.0.0.1", pbx.port, "hotline", SECRET, frame_filter=wanted_frame)
        subscription = client.subscribe()

        async def publish(missed: list[Event]) -> None:
            events.extend(missed)

        resync_on_connect(client, translator, publish)
        client_task = tg.create_task(client.run())
        await client.wait_connected(5)
        resynced = [(e.kind.value, e.caller, e.queue, e.agent) for e in events if isinstance(e, CallEvent)]
        assert resynced == [
            ("offered", "0406000007", "support", None),
            ("answered", "0406000007", "support", "1001"),
            ("offered", "0406000008", "support", None),
        ]
        await actions.queue_pause(client, "Local/1002@agents/n", paused=False, queue="support")
        async with asyncio.timeout(10):
            async for msg in subscription:
                events.extend(translator.feed(msg))
                if sum(isinstance(e, CallEvent) and e.kind is CallEventKind.HUNG_UP for e in events) == 2:
                    break
        client_task.cancel()
        pbx_task.cancel()
    ours = [(s.caller, s.queue, s.outcome, s.agent) for s in summarize(events)]
    real = [(s["caller"], s["queue"], s["outcome"], s["agent"]) for s in EXPECTED["06-resync-status.ami"]]
    assert sorted(ours) == sorted(real)
