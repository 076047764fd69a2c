"""A running Hotline for tests: real uvicorn on 127.0.0.1, real simulated PBX over TCP, real database.

`running_hotline(...)` starts the simulated PBX and the web app in this event
loop (ephemeral ports), seeds the call-center file's accounts and customers, and
yields a handle with the URLs and helpers to sign in, open agent websockets and
place calls with AMI Originate, exactly as a user would.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import httpx
import websockets

from agent_ui.app import create_app
from agent_ui.bootstrap import Container, build
from agent_ui.seed import seed_demo
from config.callcenter import load_callcenter
from config.settings import SAMPLE_CALLCENTER, Settings, load_settings
from cti.ami.client import AmiClient
from cti.ami.dialplan import IVR_VARIABLE, QUEUE_CONTEXT, WAIT_CONTEXT
from cti.asterisk import AsteriskLink
from cti.simulator import AgentBehaviour, SimulatedPbx
from cti.wiring import simulated_queues
from tests.serve import serving

AMI_SECRET = "test-ami-secret-9f2c"
SESSION_SECRET = "test-session-secret-2b7e61c0-5d0f3a9e8c41b7"
PASSWORD = "demo"


class Console(NamedTuple):
    """A signed-in agent with the console's websocket open and its hello read."""

    client: httpx.AsyncClient
    ws: Any
    hello: dict[str, Any]


@dataclass
class Hotline:
    settings: Settings
    container: Container
    pbx: SimulatedPbx
    base_url: str
    clients: list[httpx.AsyncClient] = field(default_factory=list)
    """Every client `sign_in` made, closed when the Hotline stops (a test need not close its own)."""

    @property
    def ws_url(self) -> str:
        return self.base_url.replace("http://", "ws://")

    async def sign_in(self, login: str, password: str = PASSWORD) -> httpx.AsyncClient:
        client = httpx.AsyncClient(base_url=self.base_url, timeout=10)
        self.clients.append(client)
        reply = await client.post("/api/auth/login", json={"login": login, "password": password})
        reply.raise_for_status()
        return client

    async def agent_socket(
        self, client: httpx.AsyncClient, after: int | None = None, epoch: str | None = None
    ) -> Any:
        cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
        query = f"?after={after}" if after is not None else ""
        query += f"&epoch={epoch}" if after is not None and epoch is not None else ""
        return await websockets.connect(
            f"{self.ws_url}/ws/agent{query}", additional_headers={"Cookie": cookie}, open_timeout=5
        )

    async def console(self, stack: contextlib.AsyncExitStack, login: str) -> Console:
        """Sign in as `login`, open the agent websocket and read the hello, as every console test
        starts; the socket and the client are closed with `stack`."""
        client = await self.sign_in(login)
        stack.push_async_callback(client.aclose)
        ws = await stack.enter_async_context(await self.agent_socket(client))
        return Console(client, ws, await next_message(ws, "hello"))

    async def router_clock_passes(self, moment: float) -> None:
        """Wait until the router's clock is past `moment` (an agent's `since` from the hello):
        an agent who signs in after this has been idle for less time, on any clock resolution."""
        async with asyncio.timeout(5):
            while self.container.acd.clock() <= moment:  # noqa: ASYNC110 - the clock is the condition
                await asyncio.sleep(0.001)

    @contextlib.asynccontextmanager
    async def pbx_unreachable(self) -> AsyncIterator[None]:
        """The link drops and the PBX refuses Hotline's logins for the block: what happens
        inside reaches Hotline only through the resync. On exit, waits for the re-login."""
        link = self.container.link
        assert isinstance(link, AsteriskLink)
        logins = link.client.stats.logins
        self.pbx.username = "someone-else"
        self.pbx.drop_connections()
        try:
            yield
        finally:
            self.pbx.username = "hotline"
        async with asyncio.timeout(15):
            while link.client.stats.logins == logins or not link.client.connected:  # noqa: ASYNC110
                await asyncio.sleep(0.02)

    async def act_unheard(self, action: str, **fields: str) -> None:
        """Send one AMI action as another AMI user would (another app, an operator at the CLI),
        inside `pbx_unreachable`: the PBX acts on it and Hotline hears none of it."""
        other = AmiClient("127.0.0.1", self.pbx.port, "someone-else", AMI_SECRET)
        async with asyncio.TaskGroup() as group:
            runner = group.create_task(other.run())
            await other.wait_connected(5)
            await other.action(action, **fields)
            runner.cancel()

    async def place_call(
        self, number: str, *, name: str = "", queue: str = "support", talk: int = 60, ivr: str = ""
    ) -> None:
        """Originate into the hotline as `hotline call` does (and as one would on Asterisk).

        Control mode dials the waiting context [hotline-control]; observe mode the
        app_queue entry [hotline], as the sample dialplan has them.

        `talk` is the caller's whole time on the line, counted from the PBX's answer
        (`talk-N` in [phones]) at the simulator's speed: waiting and ringing use it up
        too. At speed 10, talk=3 is 0.3 s, less than a busy CI machine may need to
        route the call; a test that needs the call to reach an agent gives it ≥ 2 s.
        `ivr`: the caller's menu choice, as [hotline-ivr] sets HOTLINE_IVR (control mode).
        """
        context = WAIT_CONTEXT if self.settings.mode == "control" else QUEUE_CONTEXT
        client = AmiClient("127.0.0.1", self.pbx.port, "hotline", AMI_SECRET)
        async with asyncio.TaskGroup() as group:
            runner = group.create_task(client.run())
            await client.wait_connected(timeout=5)
            await client.action(
                "Originate",
                Channel=f"Local/{queue}@{context}",
                Context="phones",
                Exten=f"talk-{talk}",
                Priority="1",
                CallerID=f'"{name}" <{number}>' if name else number,
                Async="true",
                **({"Variable": f"{IVR_VARIABLE}={ivr}"} if ivr else {}),
            )
            runner.cancel()


async def next_message(socket: Any, kind: str, timeout: float = 5.0) -> dict[str, Any]:  # noqa: ASYNC109
    """The next message of `kind` on a websocket (others are skipped)."""
    async with asyncio.timeout(timeout):
        while True:
            message = json.loads(await socket.recv())
            if message.get("type") == kind:
                return message  # type: ignore[no-any-return]


async def no_message(socket: Any, kind: str, wait: float) -> bool:
    """True if no message of `kind` arrives within `wait` seconds."""
    try:
        await next_message(socket, kind, timeout=wait)
    except TimeoutError:
        return True
    return False


@contextlib.asynccontextmanager
async def running_hotline(
    database_url: str,
    tmp_path: Path,
    *,
    agents: dict[str, AgentBehaviour] | None = None,
    speed: float = 10.0,
    mode: str = "control",
    seed: bool = True,
    **overrides: Any,
) -> AsyncIterator[Hotline]:
    """`callcenter_file` (an override) is also the simulated PBX's queues.conf."""
    callcenter: Path = overrides.pop("callcenter_file", SAMPLE_CALLCENTER)
    pbx = SimulatedPbx(
        secret=AMI_SECRET,
        agents=agents or {"1001": AgentBehaviour(ring_s=2), "1002": AgentBehaviour(ring_s=2)},
        speed=speed,
        recordings_dir=tmp_path / "pbx-recordings",
        queues=simulated_queues(load_callcenter(callcenter)),
        cdr_file=overrides.get("pbx_cdr_file"),  # the PBX writes the Master.csv Hotline reads
    )
    async with asyncio.TaskGroup() as group:
        pbx_task = group.create_task(pbx.run())
        await pbx.wait_ready()
        settings = load_settings(
            database_url=database_url,
            session_secret=SESSION_SECRET,
            ami_secret=AMI_SECRET,
            ami_port=pbx.port,
            mode=mode,
            pbx="asterisk",
            recordings_dir=tmp_path / "recordings",
            pbx_recordings_dir=tmp_path / "pbx-recordings",
            callcenter_file=callcenter,
            **overrides,
        )
        container = build(settings)
        if seed:  # seed=False: a fresh install, no account at all (tests/e2e/test_fresh_install_walk.py)
            await seed_demo(container.sessions, container.callcenter, settings.default_region)
        try:
            async with serving(create_app(settings, container=container)) as base_url:
                assert container.link is not None
                await container.link.wait_connected(timeout=5)
                # start-up reconciliation done: a test starts from a settled Hotline, not a racing one
                await asyncio.wait_for(container.recovered.wait(), 15)
                hotline = Hotline(settings, container, pbx, base_url)
                try:
                    yield hotline
                finally:  # before the server stops, so no keep-alive socket outlives it unclosed
                    for client in hotline.clients:
                        await client.aclose()
        finally:
            pbx_task.cancel()
