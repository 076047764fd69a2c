"""Two PBXs (#17 item 5): two simulated Asterisks over real TCP behind one Hotline.

Each queue and agent is on one PBX; calls of each are routed to that PBX's agents, and
the call log and recordings say whose a call was. One PBX's link down: the other's calls
go on, health says which is down, and the re-login resyncs that PBX only.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlmodel import col, select

from agent_ui.app import create_app
from agent_ui.bootstrap import Container, build
from agent_ui.seed import seed_demo
from calls.models import CallRecord
from calls.reports import by_agent, by_queue
from config.callcenter import load_callcenter
from config.settings import load_settings
from cti.ami.client import AmiClient
from cti.ami.dialplan import WAIT_CONTEXT
from cti.asterisk import AsteriskLink
from cti.multi import MultiLink
from cti.simulator import AgentBehaviour, SimulatedPbx
from cti.simulator.standalone import simulated_queues
from recordings.models import Recording, RecordingStatus
from tests.harness import AMI_SECRET, PASSWORD, SESSION_SECRET, next_message, no_message
from tests.serve import serving

CENTER = """
queues:
  - {name: support, ring_timeout_s: 15, wrapup_s: 0, wrapup_ends: timer}
  - {name: field, pbx: east, ring_timeout_s: 15, wrapup_s: 0, wrapup_ends: timer}
agents:
  - {id: "1001", name: Alice, queues: {support: 0}}
  - {id: "2001", name: Bob, queues: {field: 0}, pbx: east}
demo_password: demo
"""


@dataclass
class TwoPbxs:
    container: Container
    main: SimulatedPbx
    east: SimulatedPbx
    base_url: str

    @property
    def link(self) -> MultiLink:
        assert isinstance(self.container.link, MultiLink)
        return self.container.link

    def asterisk(self, name: str) -> AsteriskLink:
        link = self.link.links[name]
        assert isinstance(link, AsteriskLink)
        return link

    async def console(self, stack: contextlib.AsyncExitStack, login: str) -> Any:
        client = httpx.AsyncClient(base_url=self.base_url, timeout=10)
        stack.push_async_callback(client.aclose)
        (await client.post("/api/auth/login", json={"login": login, "password": PASSWORD})).raise_for_status()
        cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
        import websockets

        ws = await stack.enter_async_context(
            websockets.connect(
                f"{self.base_url.replace('http', 'ws')}/ws/agent", additional_headers={"Cookie": cookie}
            )
        )
        await next_message(ws, "hello")
        return ws


async def place_call(pbx: SimulatedPbx, queue: str, number: str, talk: int) -> None:
    """A caller into the waiting context of `pbx` (control mode), as tests/harness.py does
    (logged in as whoever the PBX takes now: it refuses Hotline's login during an outage)."""
    client = AmiClient("127.0.0.1", pbx.port, pbx.username, AMI_SECRET)
    async with asyncio.TaskGroup() as group:
        runner = group.create_task(client.run())
        await client.wait_connected(timeout=5)
        await client.action(
            "Originate",
            Channel=f"Local/{queue}@{WAIT_CONTEXT}",
            Context="phones",
            Exten=f"talk-{talk}",
            Priority="1",
            CallerID=number,
            Async="true",
        )
        runner.cancel()


@contextlib.asynccontextmanager
async def two_pbxs(database_url: str, tmp_path: Path) -> AsyncIterator[TwoPbxs]:
    callcenter = tmp_path / "callcenter.yaml"
    callcenter.write_text(CENTER, encoding="utf-8")
    center = load_callcenter(callcenter)
    main = SimulatedPbx(
        secret=AMI_SECRET,
        agents={"1001": AgentBehaviour(ring_s=1)},
        speed=10.0,
        recordings_dir=tmp_path / "pbx-main",
        queues=simulated_queues(center, "main"),
    )
    east = SimulatedPbx(
        secret=AMI_SECRET,
        agents={"2001": AgentBehaviour(ring_s=1)},
        speed=10.0,
        recordings_dir=tmp_path / "pbx-east",
        queues=simulated_queues(center, "east"),
    )
    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(main.run()), group.create_task(east.run())]
        await main.wait_ready()
        await east.wait_ready()
        settings = load_settings(
            database_url=database_url,
            session_secret=SESSION_SECRET,
            ami_secret=AMI_SECRET,
            ami_port=main.port,
            pbx_links={
                "east": {
                    "host": "127.0.0.1",
                    "port": east.port,
                    "secret": AMI_SECRET,
                    "recordings_dir": str(tmp_path / "pbx-east"),
                }
            },
            mode="control",
            pbx="asterisk",
            recordings_dir=tmp_path / "recordings",
            pbx_recordings_dir=tmp_path / "pbx-main",
            callcenter_file=callcenter,
        )
        container = build(settings)
        await seed_demo(container.sessions, container.callcenter, settings.default_region)
        try:
            async with serving(create_app(settings, container=container)) as base_url:
                assert container.link is not None
                await container.link.wait_connected(timeout=10)
                await asyncio.wait_for(container.recovered.wait(), 15)
                yield TwoPbxs(container, main, east, base_url)
        finally:
            for task in tasks:
                task.cancel()


async def answered_and_ended(ws: Any, timeout: float = 15) -> str:  # noqa: ASYNC109
    """The call id of the next pop on `ws`, once that call was answered and has hung up."""
    pop = await next_message(ws, "pop", timeout=timeout)
    events = set()
    while "hung_up" not in events:
        update = await next_message(ws, "call", timeout=timeout)
        if update["call_id"] == pop["call_id"]:
            events.add(update["event"])
    assert "answered" in events, events
    return str(pop["call_id"])


async def test_calls_on_two_pbxs_reach_their_own_agents_and_one_pbx_down_leaves_the_other_working(
    database_url: str, tmp_path: Path
) -> None:
    async with two_pbxs(database_url, tmp_path) as hotline, contextlib.AsyncExitStack() as stack:
        alice = await hotline.console(stack, "1001")
        bob = await hotline.console(stack, "2001")

        # One call on each PBX: each reaches the agent on its own PBX, not the other.
        await place_call(hotline.main, "support", "+8613800138000", talk=30)
        await place_call(hotline.east, "field", "+8613900139000", talk=30)
        on_main, on_east = await asyncio.gather(answered_and_ended(alice), answered_and_ended(bob))
        assert ":" not in on_main  # the main PBX's ids are Asterisk's own, as with one PBX
        assert on_east.startswith("east:")
        assert hotline.link.pbx_of(on_east) == "east" and hotline.link.pbx_of(on_main) == "main"

        await hotline.container.bus.join()
        async with hotline.container.sessions() as session:
            rows = {r.call_id: r for r in (await session.exec(select(CallRecord))).all()}
        assert set(rows) == {on_main, on_east}
        assert (rows[on_main].agent_id, rows[on_east].agent_id) == ("1001", "2001")
        assert rows[on_main].outcome == rows[on_east].outcome == "answered"
        assert (rows[on_main].pbx, rows[on_east].pbx) == ("main", "east")
        logged = await hotline.container.views.calls.find(on_east)
        assert logged is not None and logged.pbx == "east"
        # The reports add up across PBXs, each row saying whose calls it counts.
        queues = {row.queue: row for row in by_queue(rows.values(), {})}
        assert (queues["support"].pbx, queues["field"].pbx) == ("main", "east")
        assert sum(row.answered for row in queues.values()) == 2
        assert {row.agent_id: row.pbx for row in by_agent(rows.values())} == {"1001": "main", "2001": "east"}
        stored = await _stored_recordings(hotline, {on_main, on_east})
        assert {r.call_id for r in stored} == {on_main, on_east}
        assert {r.call_id: r.pbx for r in stored} == {on_main: "main", on_east: "east"}
        assert next(r for r in stored if r.call_id == on_east).source_ref.startswith("east:")

        # The east PBX goes away (its logins refused, the link cut): only it shows down.
        east_link, main_link = hotline.asterisk("east"), hotline.asterisk("main")
        main_logins, east_logins = main_link.client.stats.logins, east_link.client.stats.logins
        hotline.east.username = "someone-else"
        hotline.east.drop_connections()
        async with asyncio.timeout(10):
            while east_link.client.connected:  # noqa: ASYNC110 - the link's state is the condition
                await asyncio.sleep(0.02)
        health = hotline.link.health()
        assert health.up and health.counters["east.up"] == 0 and health.counters["main.up"] == 1
        assert "east: DOWN" in health.reason and "main: up" in health.reason
        async with httpx.AsyncClient(base_url=hotline.base_url) as web:
            body = (await web.get("/api/health")).json()
        assert body["status"] == "degraded"  # the main PBX's calls go on: not a 503
        assert body["components"]["pbx"]["ok"] and "east: DOWN" in body["components"]["pbx"]["reason"]
        assert body["components"]["pbx.main"]["ok"] and not body["components"]["pbx.east"]["ok"]

        # Its agents are shown unavailable (phone unreachable), the main PBX's are not.
        async with asyncio.timeout(5):
            while not _phone_busy(hotline, "2001"):  # noqa: ASYNC110 - the router's view is the condition
                await asyncio.sleep(0.02)
        assert not _phone_busy(hotline, "1001")

        # The main PBX's calls go on; a caller on east meanwhile waits there, unseen.
        await place_call(hotline.east, "field", "+8613700137000", talk=150)
        await place_call(hotline.main, "support", "+8613800138001", talk=30)
        assert ":" not in await answered_and_ended(alice)
        assert await no_message(bob, "pop", wait=0.3)

        # East is back: its re-login resyncs it (and it alone); its waiting caller reaches Bob.
        hotline.east.username = "hotline"
        late = await next_message(bob, "pop", timeout=20)
        assert late["call_id"].startswith("east:")
        update = await next_message(bob, "call", timeout=15)
        while update["event"] != "answered":
            update = await next_message(bob, "call", timeout=15)
        assert east_link.client.stats.logins > east_logins
        assert main_link.client.stats.logins == main_logins  # the main PBX was not resynced
        assert hotline.link.health().counters["east.up"] == 1
        async with httpx.AsyncClient(base_url=hotline.base_url) as web:
            components = (await web.get("/api/health")).json()["components"]
        assert components["pbx.east"]["ok"] and components["pbx.main"]["ok"]


def _phone_busy(hotline: TwoPbxs, agent: str) -> bool:
    snapshot = hotline.container.router.snapshot(hotline.container.acd.clock())
    return next(a.phone_busy for a in snapshot.agents if a.agent_id == agent)


async def _stored_recordings(hotline: TwoPbxs, calls: set[str]) -> list[Recording]:
    async with asyncio.timeout(15):
        while True:
            async with hotline.container.sessions() as session:
                found = (await session.exec(select(Recording).where(col(Recording.call_id).in_(calls)))).all()
            if len(found) >= len(calls) and all(r.status == RecordingStatus.STORED for r in found):
                return list(found)
            await asyncio.sleep(0.1)
