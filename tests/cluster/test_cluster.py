"""The cluster of issue #17, started as deploy/Procfile starts it: the simulated PBX, routers, web workers.

Every process is started from its Procfile line (tests/cluster/procfile.py), with the environment a
deployment's `hotline.env` gives it, on PostgreSQL and Redis; the test skips without them. Then a
storm of calls: each call placed must end with exactly one call row, one ticket and one stored
recording, and what the web workers serve comes from the shared database, so both report the same.

Two routers and two simulated PBXs (`main` and `east`, item 5): the elected router acts, the other stands
by; `kill -9` of the leader half-way through the storm over both PBXs, and still every call is whole,
tagged with its PBX, none is recorded twice and no phantom appears. The time from the
kill to the standby acting (and to its first routing decision) is printed; its goal (<= 3 s) is
measured in `make bench` (tests/bench/bench_takeover.py), not asserted here.

What needs pieces still being built skips naming what is missing, decided by what the code offers
(not by a flag), so it runs once that lands (each guard is a `_missing_*` function):

* 200 agent consoles over both web workers, every pop once, a killed worker's consoles catching up
  on the other (needs the Redis hub wired into the roles and the command channel). Its consoles
  speak the protocol of agent_ui/static/common.js: after=<highest seq seen>&epoch=<hello's>; the
  hundred that reconnect at once once made the worker's Redis pool refuse their catch-ups (#17).

Bounded: CALLS calls at RATE per second on a PBX running SPEED times fast, every wait has a timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import re
import secrets
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import websockets
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from agent_ui.auth import SESSION_COOKIE
from agent_ui.models import Role, User, WebSession
from agent_ui.sessions import token_id
from calls.models import CallRecord
from config.database import is_sqlite, utcnow
from recordings.models import Recording, RecordingStatus
from tests.cluster.procfile import Procfile, free_base, kill_group
from tests.crash.processes import AMI_SECRET, Process, ami, eventually, hotline_env, place_call
from tests.roles.conftest import redis_url
from tickets.models import TicketCall

CALLS = 60
RATE = 20  # calls per second
SPEED = 10.0  # the PBX's dialplan times run ten times faster: talk-20 is 2 s
AGENTS = 200  # one console each, spread over the web workers
WEB_WORKERS = 2


def _talk(n: int) -> int:
    return 20 + (n * 37) % 41  # 2-6 s of talk at SPEED


QUEUE_OF = {"main": "support", "east": "field"}  # each PBX's queue (item 5: one per PBX here)


def _callcenter(path: Path, pbxs: Sequence[str]) -> Path:
    """A queue per PBX and AGENTS agents spread over them (static members of the simulated PBXs'
    queues: observe mode)."""
    queues = "".join(
        f"  - {{name: {QUEUE_OF[pbx]}, pbx: {pbx}, ring_timeout_s: 15, wrapup_s: 1, wrapup_ends: timer}}\n"
        for pbx in pbxs
    )
    agents = "".join(
        f'  - {{id: "{2000 + n}", name: Agent {2000 + n}, queues: {{{QUEUE_OF[pbx]}: 0}}, pbx: {pbx}}}\n'
        for n in range(AGENTS)
        for pbx in [pbxs[n % len(pbxs)]]
    )
    path.write_text(f"queues:\n{queues}\nagents:\n{agents}")
    return path


@dataclasses.dataclass
class Cluster:
    procfile: Procfile
    base: int
    env: dict[str, str]
    ami_ports: dict[str, int]  # PBX name -> its AMI port
    processes: dict[str, Process] = dataclasses.field(default_factory=dict)

    def url(self, kind: str, instance: int) -> str:
        return f"http://127.0.0.1:{self.procfile.port(kind, instance, self.base)}"

    async def start(self, kind: str, instance: int, extra: str = "") -> Process:
        process = await self.procfile.start(kind, instance, base=self.base, env=self.env, extra=extra)
        self.processes[process.name] = process
        return process

    async def start_router(self, instance: int) -> Process:
        router = await self.start("router", instance)
        await router.wait_for_line(r"recovery since ", timeout=90)  # the PBX link is up and recovered
        return router

    async def start_web(self, instance: int) -> Process:
        web = await self.start("web", instance)
        async with httpx.AsyncClient(timeout=5) as http:

            async def answers() -> bool:
                try:
                    return (await http.get(self.url("web", instance) + "/api/health")).status_code == 200
                except httpx.TransportError:
                    return False

            await eventually(answers, timeout=90)
        return web


@contextlib.asynccontextmanager
async def cluster(
    database_url: str,
    work: Path,
    pbxs: Sequence[str] = ("main",),
    callcenter_file: Callable[[Path, Sequence[str]], Path] | None = None,
) -> AsyncIterator[Cluster]:
    """The simulated PBXs started from the Procfile (one instance each: the first is `main`, the
    HOTLINE_AMI_* link, the others in HOTLINE_PBX_LINKS); routers and web workers are the test's.
    `callcenter_file` writes the call-center file (default `_callcenter`: a queue per PBX)."""
    procfile = Procfile.load()
    base = free_base(len(procfile.commands), 2)
    ports = {pbx: procfile.port("pbx", n, base) for n, pbx in enumerate(pbxs)}
    callcenter = (callcenter_file or _callcenter)(work / "callcenter.yaml", pbxs)
    links = {
        pbx: {
            "host": "127.0.0.1", "port": ports[pbx], "secret": AMI_SECRET,
            "recordings_dir": str(work / f"pbx-{pbx}"), "cdr_file": str(work / f"cdr-{pbx}" / "Master.csv"),
        }
        for pbx in pbxs[1:]
    }  # fmt: skip
    prefix = f"hotline-test:{uuid.uuid4().hex[:10]}:"
    env = {
        **hotline_env(database_url, ports["main"], work, callcenter),
        "HOTLINE_REDIS_URL": redis_url(),
        "HOTLINE_REDIS_PREFIX": prefix,  # runs sharing the Redis server (CI, others' tests) keep apart
        **({"HOTLINE_PBX_LINKS": json.dumps(links)} if links else {}),
    }
    found = Cluster(procfile, base, env, ports)
    try:
        for n, pbx in enumerate(pbxs):
            own = (
                f" --recordings-dir {links[pbx]['recordings_dir']} --cdr-file {links[pbx]['cdr_file']}"
                if pbx in links
                else f" --cdr-file {work / 'cdr' / 'Master.csv'}"
            )
            process = await found.start("pbx", n, extra=f"--pbx {pbx} --speed {SPEED}{own}")
            await process.wait_for_line(r"^ready 127\.0\.0\.1:\d+$", timeout=60)
        yield found
    finally:
        for process in found.processes.values():
            kill_group(process)
        for process in found.processes.values():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(process.proc.wait(), 15)
        await _delete_keys(prefix)


async def _delete_keys(prefix: str) -> None:
    """The run's keys in Redis (never FLUSHDB: the server is shared)."""
    client = Redis.from_url(redis_url())
    try:
        async for key in client.scan_iter(match=f"{prefix}*"):
            await client.delete(key)
    finally:
        await client.aclose()


async def _whole(sessions: async_sessionmaker[AsyncSession], numbers: list[str]) -> dict[str, int]:
    """Placed calls with exactly one call row, closed, one ticket and one stored recording."""
    async with sessions() as session:
        rows = (await session.exec(select(CallRecord).where(col(CallRecord.caller).in_(numbers)))).all()
        ids = [r.call_id for r in rows]
        tickets = dict(
            (
                await session.exec(
                    select(TicketCall.call_id, func.count())
                    .where(col(TicketCall.call_id).in_(ids))
                    .group_by(col(TicketCall.call_id))
                )
            ).all()
        )
        stored = dict(
            (
                await session.exec(
                    select(Recording.call_id, func.count())
                    .where(col(Recording.call_id).in_(ids), col(Recording.status) == RecordingStatus.STORED)
                    .group_by(col(Recording.call_id))
                )
            ).all()
        )
    per_caller: dict[str, int] = {}
    for row in rows:
        per_caller[row.caller or ""] = per_caller.get(row.caller or "", 0) + 1
    whole = {
        r.caller
        for r in rows
        if per_caller[r.caller or ""] == 1
        and r.ended_at is not None
        and tickets.get(r.call_id) == 1
        and stored.get(r.call_id) == 1
    }
    return {"rows": len(rows), "callers": len(per_caller), "whole": len(whole)}


async def _incomplete(sessions: async_sessionmaker[AsyncSession], numbers: list[str]) -> dict[str, str]:
    """For each placed call that is not whole: what it lacks (for the failure message)."""
    async with sessions() as session:
        rows = (await session.exec(select(CallRecord).where(col(CallRecord.caller).in_(numbers)))).all()
        ids = [r.call_id for r in rows]
        tickets = set(
            (await session.exec(select(TicketCall.call_id).where(col(TicketCall.call_id).in_(ids)))).all()
        )
        recordings = (await session.exec(select(Recording).where(col(Recording.call_id).in_(ids)))).all()
    by_caller: dict[str, list[str]] = {n: [] for n in numbers}
    for row in rows:
        mine = [r for r in recordings if r.call_id == row.call_id]
        states = [str(r.status) for r in mine]
        lacks = [
            *([] if row.ended_at is not None else ["open"]),
            *([] if row.call_id in tickets else ["no ticket"]),
            *(
                []
                if states == [str(RecordingStatus.STORED)]
                else [f"recordings {[(r.status, r.source_ref) for r in mine]}"]
            ),
        ]
        by_caller[row.caller or ""].append(f"{row.call_id}: {', '.join(lacks) or 'whole'}")
    return {
        n: "; ".join(v) or "no call row"
        for n, v in by_caller.items()
        if len(v) != 1 or not v[0].endswith("whole")
    }


async def _storm(ports: dict[str, int], numbers: list[str]) -> None:
    """The callers, one after the other over the PBXs (each dials its PBX's queue)."""
    async with contextlib.AsyncExitStack() as stack:
        clients = [(await stack.enter_async_context(ami(port)), QUEUE_OF[pbx]) for pbx, port in ports.items()]
        for n, number in enumerate(numbers):
            client, queue = clients[n % len(clients)]
            await place_call(client, number, _talk(n), queue)
            await asyncio.sleep(1 / RATE)  # the callers' arrival rate, not a wait for anything


async def _supervisor_cookie(sessions: async_sessionmaker[AsyncSession]) -> str:
    """A supervisor's session, written as sign-in writes it (the test reads reports with it)."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    async with sessions() as session:
        user = User(login=f"sup-{token[:6]}", name="Cluster test", role=Role.SUPERVISOR, password_hash="!")
        session.add(user)
        await session.flush()
        assert user.id is not None
        session.add(
            WebSession(
                id=token_id(token), user_id=user.id, created_at=now, expires_at=now + timedelta(hours=1),
                last_seen_at=now,
            )
        )  # fmt: skip
        await session.commit()
    return token


async def test_a_storm_through_one_router_and_two_web_workers_leaves_every_call_whole(
    database_url: str, sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    if is_sqlite(database_url):
        pytest.skip("a cluster shares PostgreSQL and Redis; SQLite runs one process (--role all)")
    numbers = [f"+86137{n:08d}" for n in range(CALLS)]
    began = time.monotonic()
    async with cluster(database_url, tmp_path) as c:
        await c.start_router(0)
        for instance in range(WEB_WORKERS):
            await c.start_web(instance)
        started = time.monotonic() - began
        await _storm(c.ami_ports, numbers)

        async def all_whole() -> bool:
            return (await _whole(sessions, numbers))["whole"] == CALLS

        await eventually(all_whole, timeout=90)
        figures = await _whole(sessions, numbers)
        token = await _supervisor_cookie(sessions)
        offered = []
        async with httpx.AsyncClient(timeout=10, cookies={SESSION_COOKIE: token}) as http:
            for instance in range(WEB_WORKERS):
                reply = await http.get(c.url("web", instance) + "/api/reports/queues")
                assert reply.status_code == 200, reply.text
                offered.append({row["queue"]: row["offered"] for row in reply.json()}.get("support"))
        settled = time.monotonic() - began
    print(
        f"cluster: {WEB_WORKERS + 2} processes up in {started:.1f}s, {CALLS} calls whole in {settled:.1f}s"
        f" (load {_load()})"
    )
    assert figures == {"rows": CALLS, "callers": CALLS, "whole": CALLS}
    assert offered == [CALLS] * WEB_WORKERS  # every worker reads the one database


def _missing_election() -> str | None:
    from agent_ui.bootstrap import Container

    if "elector" not in {f.name for f in dataclasses.fields(Container)}:
        return (
            "needs the router's leader election wired into `hotline serve --role router`"
            " (issue #17 item 3, branch elect: Container.elector); two routers would both route today"
        )
    return None


def _missing_command_channel() -> str | None:
    import inspect

    from agent_ui import bootstrap

    if "NoRouterCommands()" in inspect.getsource(bootstrap.build):
        return (
            "needs the Redis hub (cluster.redis_hub) wired into the router and web roles and the console"
            " command channel (issue #17 item 2): a web worker still refuses a console's sign-in to its"
            " queues with 503 router_unreachable (NoRouterCommands) and pushes no pop"
        )
    return None


async def test_kill_9_of_the_leader_in_a_storm_loses_no_call(
    database_url: str, sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    """Two routers; the leader is killed half-way through the storm; the standby takes over and
    every call is still whole (the takeover time itself is measured in `make bench`)."""
    if is_sqlite(database_url):
        pytest.skip("a cluster shares PostgreSQL and Redis; SQLite runs one process (--role all)")
    missing = _missing_election()
    if missing:
        pytest.skip(missing)
    numbers = [f"+86136{n:08d}" for n in range(CALLS)]
    async with cluster(database_url, tmp_path, pbxs=("main", "east")) as c:
        routers = [await c.start("router", instance) for instance in range(2)]
        leader = await _leader(routers)
        standby = next(r for r in routers if r is not leader)
        await leader.wait_for_line(r"recovery since ", timeout=90)
        await standby.wait_for_line(r"standby for .*polling", timeout=60)
        storming = asyncio.create_task(_storm(c.ami_ports, numbers))
        await asyncio.sleep(CALLS / RATE / 2)  # half the storm placed
        acting_before_kill = [line for line in standby.lines if ACTING in line]
        kill_group(leader)
        killed_at, killed_wall = time.monotonic(), time.time()
        await standby.wait_for_line(ACTING, timeout=30)
        acting_s = time.monotonic() - killed_at
        await standby.wait_for_line(r"recovery since ", timeout=60)
        await storming

        async def all_whole() -> bool:
            return (await _whole(sessions, numbers))["whole"] == CALLS

        with contextlib.suppress(TimeoutError):  # what is missing is said below
            await eventually(all_whole, timeout=60)
        figures = await _whole(sessions, numbers)
        lacking = await _incomplete(sessions, numbers)
        first = [m for line in standby.lines if (m := re.search(r"first routing decision at ([\d.]+)", line))]
        async with sessions() as session:
            tagged = dict(
                (
                    await session.exec(
                        select(CallRecord.caller, CallRecord.pbx).where(col(CallRecord.caller).in_(numbers))
                    )
                ).all()
            )
            phantoms = (
                await session.exec(
                    select(func.count()).select_from(CallRecord).where(col(CallRecord.caller).not_in(numbers))
                )
            ).one()
    decided = f", first routing decision {float(first[0].group(1)) - killed_wall:.2f}s" if first else ""
    print(f"cluster: kill -9 of the leader -> standby acting after {acting_s:.2f}s{decided} (load {_load()})")
    assert acting_before_kill == []  # one router acted at a time
    told = [
        f"{process.name}: {line}"
        for process in routers
        for line in process.lines
        if any(call.split(":")[0] in line for text in lacking.values() for call in text.split("; "))
    ]
    assert figures == {"rows": CALLS, "callers": CALLS, "whole": CALLS}, (lacking, told[-30:])
    assert phantoms == 0
    assert tagged == {number: ("main", "east")[n % 2] for n, number in enumerate(numbers)}  # each call's PBX


ACTING = r"leader of .* acting now"


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


async def _leader(routers: list[Process]) -> Process:
    """The router that won the election (only it connects to the PBX and routes)."""
    waits = {asyncio.ensure_future(r.wait_for_line(ACTING, timeout=90)): r for r in routers}
    done, pending = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    return waits[done.pop()]


async def _agent_cookies(sessions: async_sessionmaker[AsyncSession]) -> dict[str, str]:
    """Each agent's session (agent id -> cookie token), written as sign-in writes it."""
    now, tokens = utcnow(), {}
    async with sessions() as session:
        for n in range(AGENTS):
            agent = str(2000 + n)
            user = User(login=agent, name=f"Agent {agent}", role=Role.AGENT, password_hash="!")
            session.add(user)
            await session.flush()
            assert user.id is not None
            tokens[agent] = secrets.token_urlsafe(32)
            session.add(
                WebSession(
                    id=token_id(tokens[agent]), user_id=user.id, created_at=now,
                    expires_at=now + timedelta(hours=1), last_seen_at=now,
                )
            )  # fmt: skip
        await session.commit()
    return tokens


@dataclasses.dataclass
class Console:
    """An agent's console: the call ids of its pops, in order; on a lost connection it goes to
    the next worker's URL and resumes after the last message it saw (`after`, `epoch`)."""

    agent: str
    token: str
    urls: list[str]
    pops: list[str] = dataclasses.field(default_factory=list)
    hello: asyncio.Event = dataclasses.field(default_factory=asyncio.Event)
    connects: int = 0

    async def run(self) -> None:
        seq, epoch, turn = 0, "", 0
        while True:
            base = self.urls[turn % len(self.urls)].replace("http://", "ws://")
            target = f"{base}/ws/agent?after={seq}&epoch={epoch}"
            try:
                async with websockets.connect(
                    target, additional_headers={"Cookie": f"{SESSION_COOKIE}={self.token}"}
                ) as ws:
                    self.connects += 1
                    async for raw in ws:
                        message = json.loads(raw)
                        if message.get("type") == "hello":
                            epoch = str(message.get("epoch", epoch))
                            self.hello.set()
                        seq = max(seq, int(message.get("seq", seq)))
                        if message.get("type") == "pop":
                            self.pops.append(str(message["call_id"]))
            except (OSError, websockets.ConnectionClosed):
                turn += 1  # this worker is gone (or closed us): the next one
                await asyncio.sleep(0.2)


async def test_200_consoles_over_two_web_workers_get_every_pop_once_and_catch_up_after_a_worker_dies(
    database_url: str, sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    if is_sqlite(database_url):
        pytest.skip("a cluster shares PostgreSQL and Redis; SQLite runs one process (--role all)")
    missing = _missing_command_channel()
    if missing:
        pytest.skip(missing)
    numbers = [f"+86135{n:08d}" for n in range(CALLS)]
    async with cluster(database_url, tmp_path) as c:
        await c.start_router(0)
        webs = [await c.start_web(instance) for instance in range(WEB_WORKERS)]
        urls = [c.url("web", instance) for instance in range(WEB_WORKERS)]
        tokens = await _agent_cookies(sessions)
        consoles = [
            Console(agent, token, urls[n % WEB_WORKERS :] + urls[: n % WEB_WORKERS])
            for n, (agent, token) in enumerate(sorted(tokens.items()))
        ]
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(console.run()) for console in consoles]
            await asyncio.wait_for(asyncio.gather(*(console.hello.wait() for console in consoles)), 60)
            storming = group.create_task(_storm(c.ami_ports, numbers))
            await asyncio.sleep(CALLS / RATE / 2)
            kill_group(webs[1])  # half the consoles lose their worker mid-storm
            await storming

            async def all_whole() -> bool:
                return (await _whole(sessions, numbers))["whole"] == CALLS

            await eventually(all_whole, timeout=90)
            async with sessions() as session:
                call_ids = set(
                    (
                        await session.exec(
                            select(CallRecord.call_id).where(col(CallRecord.caller).in_(numbers))
                        )
                    ).all()
                )

            async def every_pop_seen() -> bool:
                return {p for console in consoles for p in console.pops} >= call_ids

            await eventually(every_pop_seen, timeout=30)  # the moved consoles caught up
            for task in tasks:
                task.cancel()
    moved = [console for n, console in enumerate(consoles) if n % WEB_WORKERS == 1]
    assert all(console.connects >= 2 for console in moved)  # reconnected, to the other worker
    popped = [p for console in consoles for p in console.pops if p in call_ids]
    assert sorted(popped) == sorted(call_ids)  # every call popped once: none lost, none doubled
