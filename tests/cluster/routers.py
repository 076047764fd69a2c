"""Two `hotline serve --role router` processes, the simulated PBX and a caller feed: the takeover
after a `kill -9` of the leader, measured from the kill to the new leader's first routing decision.

For the process test (tests/cluster/test_router_processes.py) and the bench
(tests/bench/bench_takeover.py). The processes are started as an operator does (tests/crash/processes),
and read by their log lines: "leader of 'router': epoch N", "standby for 'router'", and
"leader epoch N: first routing decision at <unix time>" (agent_ui.bootstrap).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.crash.processes import Process, ami, hotline_env, place_call, start_simulator
from tests.roles.conftest import redis_env

CALLCENTER = Path(__file__).parents[1] / "crash" / "callcenter.yaml"
SPEED = 10.0  # dialplan seconds run ten times faster: talk-20 is 2 s
LEADER = r"leader of 'router': epoch (\d+)"
STANDBY = r"standby for 'router'"
DECISION = r"leader epoch (\d+): first routing decision at (\d+\.\d+)"


@dataclass(frozen=True, slots=True)
class Takeover:
    killed_epoch: int
    new_epoch: int
    seconds: float  # kill -> the new leader's first routing decision


@dataclass
class RouterPair:
    env: dict[str, str]
    routers: list[Process] = field(default_factory=list)
    names: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    async def start(self) -> Process:
        router = await Process.start(
            f"router {next(self.names)}", "-m", "agent_ui.cli", "serve", "--role", "router", env=self.env
        )
        self.routers.append(router)
        return router

    async def leader_and_standby(self) -> tuple[Process, Process, int]:
        """Start routers until one leads (and decided once) and another stands by."""
        while len(self.live()) < 2:
            await self.start()
        first, second = self.live()[-2:]
        done, _ = await asyncio.wait(
            [asyncio.create_task(r.wait_for_line(LEADER, timeout=60)) for r in (first, second)],
            return_when=asyncio.FIRST_COMPLETED,
        )
        leader = next(r for r in (first, second) if any(_search(LEADER, line) for line in r.lines))
        for task in done:
            task.result()
        standby = second if leader is first else first
        await standby.wait_for_line(STANDBY, timeout=60)
        found = await leader.wait_for_line(DECISION, timeout=60)
        return leader, standby, int(found.group(1))

    async def health(self, router: Process) -> tuple[int, dict[str, object]]:
        """GET the router's /api/health (its ephemeral port from uvicorn's line)."""
        found = await router.wait_for_line(r"Uvicorn running on (http://127\.0\.0\.1:\d+)", timeout=60)
        async with httpx.AsyncClient(base_url=found.group(1), timeout=10) as client:
            response = await client.get("/api/health")
        return response.status_code, response.json()

    def live(self) -> list[Process]:
        return [r for r in self.routers if r.proc.returncode is None]

    async def kill_leader(self) -> Takeover:
        leader, standby, epoch = await self.leader_and_standby()
        mark = len(standby.lines)
        killed = time.time()
        leader.kill()
        await leader.proc.wait()
        found = await standby.wait_for_line(DECISION, after=mark, timeout=60)
        return Takeover(epoch, int(found.group(1)), float(found.group(2)) - killed)

    async def stop(self) -> None:
        for router in self.routers:
            with contextlib.suppress(ProcessLookupError):
                await router.stop()


def _search(pattern: str, line: str) -> bool:
    return re.search(pattern, line) is not None


async def feed_callers(port: int, every_s: float) -> None:
    """A caller every `every_s` (talking 2 s), for as long as the test runs: decisions to make."""
    async with ami(port) as client:
        for n in itertools.count():
            await place_call(client, f"+86137{n:08d}", talk=20)
            await asyncio.sleep(every_s)


@contextlib.asynccontextmanager
async def router_pair(database_url: str, work: Path, *, every_s: float = 0.2) -> AsyncIterator[RouterPair]:
    """The simulated PBX, a caller feed into it and a `RouterPair` sharing the database and Redis."""
    for sub in ("pbx-monitor", "cdr", "archive"):
        (work / sub).mkdir(parents=True, exist_ok=True)
    cdr = work / "cdr" / "Master.csv"
    pbx, port = await start_simulator(
        0, callcenter=CALLCENTER, recordings=work / "pbx-monitor", cdr=cdr, speed=SPEED
    )
    env = hotline_env(database_url, port, work, CALLCENTER, **redis_env())
    pair = RouterPair(env)
    feeder = asyncio.create_task(feed_callers(port, every_s), name="caller-feed")
    try:
        yield pair
    finally:
        feeder.cancel()
        await asyncio.wait({feeder}, timeout=5)
        await pair.stop()
        await pbx.stop()
