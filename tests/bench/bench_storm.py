"""End to end call storm: the highest rate one `hotline serve` carries with nothing lost, and ring → pop.

Four processes, as in production: the simulated PBX (`python -m cti.simulator`), one `hotline serve`
in control mode (Hotline's router picks the agents), a bare websocket echo server (the transport's
baseline), and this one: N agent consoles signed in over HTTP with their websockets open, one AMI
connection placing the calls (Originate, as `hotline call` does) and one listening to the PBX's
DialBegin (the moment an agent's phone starts to ring).

Rates are stepped up (STORM_RATES, calls/s), each for STORM_DURATION seconds; after each step the
bench waits (at most STORM_SETTLE seconds) until every call placed has its closed call row, its
ticket and exactly one stored recording. A call that has not by then is lost; the first step that
loses a call ends the run for that backend. Per step it prints: lost, ring → pop p50/p99 (DialBegin
seen by this process → pop received by the agent's console, same monotonic clock), the echo's
round trip p50/p99 measured at the same time on the same loopback, Hotline's CPU and the load
average. Knobs: STORM_RATES ("4,8,12,16"), STORM_DURATION (8), STORM_AGENTS (80), STORM_SETTLE
(20), STORM_BACKENDS ("sqlite,postgresql"), STORM_PG_URL (else HOTLINE_TEST_DATABASE_URL, else the
local server), STORM_LOG (a path: Hotline's own log lines go to `<path>.<backend>`, to see why a
call was lost). Defaults finish in about three minutes on two cores.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import ssl
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg
import websockets
from argon2 import PasswordHasher
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, func, select, update

from agent_ui.migrate import upgrade
from agent_ui.models import User
from agent_ui.seed import seed_demo
from calls.models import CallRecord
from config.callcenter import load_callcenter
from config.database import create_engine, session_factory
from cti.ami.client import AmiClient
from cti.ami.dialplan import WAIT_CONTEXT
from recordings.models import Recording, RecordingStatus
from tests.crash.processes import AMI_SECRET, Process, hotline_env, start_simulator
from tickets.models import TicketCall

QUEUE = "storm"
SPEED = 10.0  # dialplan times ten times faster: the agent talks 1 s, rings 0.1 s
AGENT_RING, AGENT_TALK = 1, 10  # dialplan seconds
CALLER_PATIENCE = 60  # dialplan seconds from the PBX's answer: 6 s of waiting, ringing and talking
# STORM_PYSPY=<file>: py-spy (pip install py-spy, not a dependency) samples Hotline while the steps run
_PYSPY = (
    "import subprocess, sys; out, pid, seconds = sys.argv[1:]; subprocess.run(['py-spy', 'record', '-p', pid,"
    " '-d', seconds, '-r', '100', '-f', 'raw', '-o', out, '--nonblocking'], check=True)"
)
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _env(name: str, default: str) -> str:
    return os.environ.get(name) or default


@dataclass
class Step:
    rate: float
    placed: int = 0
    whole: int = 0
    answered: int = 0
    pops: list[float] = field(default_factory=list)
    echo: list[float] = field(default_factory=list)
    cpu: float = 0.0
    pbx_cpu: float = 0.0
    bench_cpu: float = 0.0
    load: str = ""
    settle_s: float = 0.0
    missing: str = ""
    stages: str = ""

    @property
    def lost(self) -> int:
        return self.placed - self.whole


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def _loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def _cpu_s(pid: int | None = None) -> float:
    if pid is None:
        return time.process_time()
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _callcenter(path: Path, agents: list[str]) -> Path:
    lines = [
        "queues:",
        f"  - {{name: {QUEUE}, title_en: Storm, title_zh: 风暴, ring_timeout_s: 15, wrapup_s: 1,"
        " wrapup_ends: timer}",
        "agents:",
        *(f'  - {{id: "{a}", name: Agent {a}, queues: {{{QUEUE}: 0}}}}' for a in agents),
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


@contextlib.asynccontextmanager
async def _database(backend: str, work: Path) -> AsyncIterator[str]:
    """A fresh, migrated database of `backend`; PostgreSQL's is dropped afterwards."""
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{work / 'hotline.db'}"
        await asyncio.to_thread(upgrade, url)
        yield url
        return
    server = make_url(_env("STORM_PG_URL", os.environ.get("HOTLINE_TEST_DATABASE_URL") or DEFAULT_PG))
    name = f"hotline_storm_{uuid.uuid4().hex[:8]}"
    admin = server.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = server.set(drivername="postgresql+psycopg", database=name).render_as_string(hide_password=False)
    try:
        await asyncio.to_thread(upgrade, url)
        yield url
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _cheap_passwords(engine: AsyncEngine) -> None:
    """The bench's accounts get an Argon2id hash of the lowest cost: the sign-in still checks it
    through Hotline's password pool, but 5,000 consoles sign in in seconds, not the half hour that
    5,000 checks at the recommended 64 MiB / t=3 take on two shared cores (what is measured is the
    storm, not the sign-in)."""
    cheap = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash("demo")
    async with session_factory(engine)() as session:
        await session.exec(update(User).values(password_hash=cheap))
        await session.commit()


class Consoles:
    """N agents signed in, websockets open; records when each caller's pop arrived."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.popped: dict[str, float] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._clients: list[httpx.AsyncClient] = []
        self._tls = ssl.create_default_context()
        self._signing_in = asyncio.Semaphore(2)  # Argon2 sign-ins queue in a small pool (503 beyond)

    async def open(self, agents: list[str]) -> None:
        ready = [asyncio.Event() for _ in agents]
        for agent, event in zip(agents, ready, strict=True):
            self._tasks.append(asyncio.create_task(self._console(agent, event), name=f"console-{agent}"))

        async def all_ready() -> None:
            for event in ready:
                await event.wait()

        waiting = asyncio.create_task(all_ready())
        try:
            async with asyncio.timeout(600):  # sign-ins two at a time, on a loaded machine
                # one wait over all (not one per console: quadratic in 5,000 consoles); a console
                # that ends first (sign-in refused) fails the bench at once
                done, _ = await asyncio.wait([waiting, *self._tasks], return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiting.cancel()
        for task in done:
            if task is not waiting:
                task.result()
                raise RuntimeError(f"{task.get_name()} ended before its hello")

    async def _console(self, agent: str, ready: asyncio.Event) -> None:
        # one TLS context for all (plain HTTP here): httpx would load the CA bundle per client
        client = httpx.AsyncClient(base_url=self.base_url, timeout=30, verify=self._tls)
        self._clients.append(client)
        async with self._signing_in:
            reply = await client.post("/api/auth/login", json={"login": agent, "password": "demo"})
        reply.raise_for_status()
        cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
        ws_url = self.base_url.replace("http://", "ws://") + "/ws/agent"
        async with websockets.connect(
            ws_url, additional_headers={"Cookie": cookie}, open_timeout=30, max_size=None
        ) as ws:
            async for raw in ws:
                message = json.loads(raw)
                kind = message.get("type")
                if kind == "hello":
                    ready.set()
                elif kind == "pop" and message.get("caller"):
                    self.popped.setdefault(message["caller"], time.monotonic())

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for client in self._clients:
            await client.aclose()


async def _ring_listener(client: AmiClient, rang: dict[str, float]) -> None:
    """DialBegin: the agent's phone starts to ring (control mode's Dial of [hotline-connect])."""
    with client.subscribe(maxsize=100_000) as events:
        async for message in events:
            if message.get("Event") == "DialBegin" and (number := message.get("CallerIDNum")):
                rang.setdefault(number, time.monotonic())


async def _echo_probe(port: int, samples: list[float], stop: asyncio.Event) -> None:
    """Round trips of a small JSON frame to the echo server, 50 a second, beside the storm."""
    async with websockets.connect(f"ws://127.0.0.1:{port}") as ws:
        payload = json.dumps({"type": "pop", "call_id": "x" * 24, "caller": "+8613900000000"})
        while not stop.is_set():
            began = time.monotonic()
            await ws.send(payload)
            await ws.recv()
            samples.append(time.monotonic() - began)
            await asyncio.sleep(0.02)


async def _whole(url: str, numbers: list[str]) -> tuple[int, int, str]:
    """(calls with a closed row, a ticket and exactly one stored recording; calls answered; what the
    others miss)."""
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as session:
            rows = (await session.exec(select(CallRecord).where(col(CallRecord.caller).in_(numbers)))).all()
            ids = [r.call_id for r in rows]
            tickets = set(
                (await session.exec(select(TicketCall.call_id).where(col(TicketCall.call_id).in_(ids)))).all()
            )
            stored = (
                await session.exec(
                    select(Recording.call_id, func.count())
                    .where(col(Recording.call_id).in_(ids), col(Recording.status) == RecordingStatus.STORED)
                    .group_by(col(Recording.call_id))
                )
            ).all()
    finally:
        await engine.dispose()
    once = {call_id for call_id, n in stored if n == 1}
    whole = {r.caller for r in rows if r.ended_at is not None and r.call_id in tickets and r.call_id in once}
    answered = {r.caller for r in rows if r.answered_at is not None}
    missing = {
        "row": len(numbers) - len(rows),
        "end": sum(r.ended_at is None for r in rows),
        "ticket": sum(r.call_id not in tickets for r in rows),
        "recording": sum(r.call_id not in once for r in rows),
    }
    return len(whole), len(answered), ", ".join(f"no {k} {v}" for k, v in missing.items() if v)


async def _run_step(
    step: Step, *, url: str, serial: int, duration: float, settle: float, ami: AmiClient,
    consoles: Consoles, rang: dict[str, float], echo_port: int, hotline_pid: int, pbx_pid: int,
) -> None:  # fmt: skip
    count = max(1, int(step.rate * duration))
    numbers = [f"+8613{serial:02d}{n:07d}" for n in range(count)]
    stop = asyncio.Event()
    probe = asyncio.create_task(_echo_probe(echo_port, step.echo, stop))
    stages_before = await _stage_totals(consoles.base_url)
    cpu_before, began = _cpu_s(hotline_pid), time.monotonic()
    pbx_before, bench_before = _cpu_s(pbx_pid), _cpu_s()
    for n, number in enumerate(numbers):
        # the callers' arrival schedule, not a wait for anything Hotline does
        await asyncio.sleep(max(0.0, began + n / step.rate - time.monotonic()))
        await ami.action(
            "Originate", Channel=f"Local/{QUEUE}@{WAIT_CONTEXT}", Context="phones",
            Exten=f"talk-{CALLER_PATIENCE}", Priority="1", CallerID=number, Async="true",
        )  # fmt: skip
        step.placed += 1
    placed_for = time.monotonic() - began
    cpu_placed = _cpu_s(hotline_pid) - cpu_before
    pbx_placed, bench_placed = _cpu_s(pbx_pid) - pbx_before, _cpu_s() - bench_before
    step.load = _loadavg()
    stop.set()
    await probe
    settled = time.monotonic()
    deadline = settled + settle
    while True:
        step.whole, step.answered, step.missing = await _whole(url, numbers)
        if step.whole == count or time.monotonic() > deadline:
            break
        await asyncio.sleep(1.0)  # the state is in another process's database: polled
    step.settle_s = time.monotonic() - settled
    step.stages = _stages_text(stages_before, await _stage_totals(consoles.base_url))
    step.cpu = 100 * cpu_placed / placed_for
    step.pbx_cpu, step.bench_cpu = 100 * pbx_placed / placed_for, 100 * bench_placed / placed_for
    step.pops = [consoles.popped[n] - rang[n] for n in numbers if n in consoles.popped and n in rang]


# bus subscriber → the stage (parse + translate: bench_ami; the router alone: bench_routing)
_STAGES = {
    "service-desk-offer": "intake",
    "acd": "route",
    "console": "pop",
    "wallboard": "wallboard",
    "calllog": "persist:call log",
    "service-desk": "persist:desk",
    "recordings": "persist:recordings",
}


async def _stage_totals(base_url: str) -> dict[str, tuple[float, float]]:
    """Per bus subscriber: (events handled, seconds spent), from hotline's /metrics."""
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        text = (await client.get("/metrics")).text
    found: dict[str, list[float]] = {}
    for line in text.splitlines():
        for metric, index in (("hotline_bus_handled_total", 0), ("hotline_bus_handler_seconds_total", 1)):
            if line.startswith(metric + "{"):
                name = line.split('subscriber="', 1)[1].split('"', 1)[0]
                found.setdefault(name, [0.0, 0.0])[index] = float(line.rsplit(" ", 1)[1])
        if line.startswith('hotline_intake_writes_total{counter="'):  # the intake's group commit
            counter = line.split('counter="', 1)[1].split('"', 1)[0]
            found[f"intake_{counter}"] = [float(line.rsplit(" ", 1)[1]), 0.0]
        if line.startswith('hotline_pbx_link_total{counter="overflows"}'):  # the AMI reader's queue ran over
            found["overflows"] = [float(line.rsplit(" ", 1)[1]), 0.0]
    return {name: (n, secs) for name, (n, secs) in found.items()}


def _stages_text(before: dict[str, tuple[float, float]], after: dict[str, tuple[float, float]]) -> str:
    parts = []
    for name, stage in _STAGES.items():
        n = after.get(name, (0.0, 0.0))[0] - before.get(name, (0.0, 0.0))[0]
        secs = after.get(name, (0.0, 0.0))[1] - before.get(name, (0.0, 0.0))[1]
        if n:
            parts.append(f"{stage} {1000 * secs / n:.2f} ms×{n:.0f}")

    def grew(name: str) -> float:
        return after.get(name, (0.0, 0.0))[0] - before.get(name, (0.0, 0.0))[0]

    if groups := grew("intake_groups"):
        writes = grew("intake_writes")
        parts.append(
            f"intake writes {writes:.0f} in {groups:.0f} commits ({writes / groups:.1f} per commit,"
            f" {1000 * grew('intake_seconds') / groups:.1f} ms each)"
        )
    return ", ".join(parts) + f"; AMI reader overflows (link dropped, resync) {grew('overflows'):.0f}"


def _print_step(backend: str, step: Step) -> None:
    print(
        f"  {backend:10} {step.rate:6.1f}/s placed {step.placed:5} lost {step.lost:4}"
        f"{f' ({step.missing})' if step.lost else ''} "
        f"answered {step.answered:5} | ring→pop p50 {_pct(step.pops, 0.5):7.1f} "
        f"p99 {_pct(step.pops, 0.99):8.1f} ms (n={len(step.pops)}) | echo p50 {_pct(step.echo, 0.5):5.2f} "
        f"p99 {_pct(step.echo, 0.99):6.2f} ms | hotline CPU {step.cpu:4.0f} % (PBX {step.pbx_cpu:.0f} %, "
        f"bench {step.bench_cpu:.0f} %) | "
        f"settled in {step.settle_s:4.1f} s | load {step.load}",
        flush=True,
    )
    if step.stages:
        print(f"  {'':10} stages (wall per event, awaits included): {step.stages}", flush=True)


async def storm(backend: str) -> list[Step]:
    rates = [float(r) for r in _env("STORM_RATES", "4,8,12,16").split(",")]
    duration = float(_env("STORM_DURATION", "8"))
    settle = float(_env("STORM_SETTLE", "20"))
    agents = [str(10000 + n) for n in range(int(_env("STORM_AGENTS", "80")))]
    steps: list[Step] = []
    with tempfile.TemporaryDirectory(prefix="storm-") as tmp:
        work = Path(tmp)
        callcenter = _callcenter(work / "callcenter.yaml", agents)
        async with _database(backend, work) as url:
            engine = create_engine(url)
            await seed_demo(session_factory(engine), load_callcenter(callcenter), "CN")
            await _cheap_passwords(engine)
            await engine.dispose()
            pbx, ami_port = await start_simulator(
                0, callcenter=callcenter, recordings=work / "pbx-monitor", cdr=work / "cdr" / "Master.csv",
                speed=SPEED, agents=[f"{a}=ring:{AGENT_RING},talk:{AGENT_TALK}" for a in agents],
            )  # fmt: skip
            processes: list[Process] = [pbx]
            consoles: Consoles | None = None
            try:
                echo = await Process.start("echo", "-m", "tests.bench.echo")
                processes.append(echo)
                echo_port = int((await echo.wait_for_line(r"^ready (\d+)$")).group(1))
                web_port = _free_port()
                env = hotline_env(
                    url, ami_port, work, callcenter, HOTLINE_MODE="control", HOTLINE_WEB_PORT=str(web_port),
                    HOTLINE_RECORDINGS_SETTLE_S="0.5", HOTLINE_SIGNIN_ATTEMPTS_PER_ADDRESS="100000",
                    HOTLINE_SIGNIN_ATTEMPTS_PER_LOGIN="100000",
                )  # fmt: skip
                hotline = await Process.start("hotline", "-m", "agent_ui.cli", "serve", env=env)
                processes.append(hotline)
                await hotline.wait_for_line(r"recovery since ", timeout=60)
                consoles = Consoles(f"http://127.0.0.1:{web_port}")
                signing_in = time.monotonic()
                await consoles.open(agents)
                print(
                    f"  {backend:10} {len(agents)} agents signed in in {time.monotonic() - signing_in:.1f} s"
                    f" (hotline pid {hotline.proc.pid}); load {_loadavg()}",
                    flush=True,
                )
                if profile := os.environ.get(
                    "STORM_PYSPY"
                ):  # a sampling profile of hotline serve, steps only
                    processes.append(
                        await Process.start(
                            "py-spy", "-c", _PYSPY, profile, str(hotline.proc.pid), str(len(rates) * duration)
                        )
                    )
                rang: dict[str, float] = {}
                caller = AmiClient("127.0.0.1", ami_port, "hotline", AMI_SECRET)
                listener = AmiClient("127.0.0.1", ami_port, "hotline", AMI_SECRET)
                async with asyncio.TaskGroup() as group:
                    runners = [group.create_task(caller.run()), group.create_task(listener.run())]
                    await caller.wait_connected(timeout=10)
                    await listener.wait_connected(timeout=10)
                    listening = group.create_task(_ring_listener(listener, rang))
                    for serial, rate in enumerate(rates):
                        step = Step(rate)
                        steps.append(step)
                        await _run_step(
                            step, url=url, serial=serial, duration=duration, settle=settle, ami=caller,
                            consoles=consoles, rang=rang, echo_port=echo_port, hotline_pid=hotline.proc.pid,
                            pbx_pid=pbx.proc.pid,
                        )  # fmt: skip
                        _print_step(backend, step)
                        if step.lost:
                            break
                    listening.cancel()
                    for runner in runners:
                        runner.cancel()
            finally:
                if consoles is not None:
                    await consoles.close()
                for process in reversed(processes):
                    await process.stop()
                if (log := os.environ.get("STORM_LOG")) and len(processes) > 2:  # pbx, echo, hotline
                    text = "\n".join(processes[2].lines)
                    await asyncio.to_thread(Path(f"{log}.{backend}").write_text, text, encoding="utf-8")
    return steps


def _summary(backend: str, steps: list[Step]) -> None:
    clean = [s for s in steps if s.lost == 0]
    best = max(clean, key=lambda s: s.rate) if clean else None
    if best is None:
        print(f"  {backend}: no step without loss", flush=True)
        return
    ratio = _pct(best.pops, 0.99) / _pct(best.echo, 0.99) if best.echo else float("nan")
    print(
        f"  {backend}: highest rate with 0 lost {best.rate:g} calls/s (ring→pop p50 "
        f"{_pct(best.pops, 0.5):.1f} p99 {_pct(best.pops, 0.99):.1f} ms = {ratio:.0f}× the echo's p99 "
        f"{_pct(best.echo, 0.99):.2f} ms){'' if len(clean) < len(steps) else '; no step lost a call'}",
        flush=True,
    )


def main() -> None:
    backends = _env("STORM_BACKENDS", "sqlite,postgresql").split(",")
    print(
        f"storm: rates {_env('STORM_RATES', '4,8,12,16')} calls/s, {_env('STORM_DURATION', '8')} s each, "
        f"{_env('STORM_AGENTS', '80')} agents; load {_loadavg()}",
        flush=True,
    )
    results = {}
    for backend in backends:
        try:
            results[backend] = asyncio.run(storm(backend))
        except psycopg.OperationalError as exc:
            print(f"  {backend}: not run ({exc})", file=sys.stderr, flush=True)
    for backend, steps in results.items():
        _summary(backend, steps)


if __name__ == "__main__":
    main()
