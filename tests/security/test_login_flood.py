"""200 concurrent wrong logins while a call is placed: the call is routed and popped as without
the flood. Before: Argon2 ran on the event loop, /api/health took 13 s and the caller abandoned.

Two floods: from one address (the throttle answers most of them 429 before any hashing), and
as from many addresses (the throttle set out of the way: only the bounded hashing pool stands
between the flood and the event loop; what it cannot queue is refused 503 at once).
The figures are printed beside the same run's baseline; the bounds asserted are loose (a
shared CI machine), the point is "seconds, not 13 s" and "popped, not abandoned".

The attacker is another process (`tests.security.flood_client`, raw HTTP/1.1): in this one
it would share the server's event loop and GIL, and its own cost (httpx's pool is O(n²) at
200 connections) would be charged to the server.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import threading
import time
import traceback
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from agent_ui.dbprobe import DATABASE_TIMEOUT_S
from tests.harness import Hotline, next_message, running_hotline

FLOOD = 200


class _Trace:
    """Where a call's pop is, stage by stage, and what the flood holds meanwhile: printed when
    the pop is late, so a failure says which stage it was stuck in (PBX event on the bus, the
    intake's ticket write, routing, the hub, the websocket) instead of only "no pop in 15 s"."""

    def __init__(self, hotline: Hotline, number: str) -> None:
        self.hotline = hotline
        self.number = number
        self.start = time.perf_counter()
        self.stages: list[str] = []
        self.loop_lag = 0.0
        self.pool_out = 0
        self.in_flight = 0
        self.seconds_before = dict(hotline.container.bus.stats.handler_seconds)
        self._call_ids: set[str] = set()
        self._stop = asyncio.Event()
        hub = hotline.container.hub
        self._channels = [hub.subscribe(f"agent:{agent}") for agent in ("1001", "1002")]
        self._tasks: list[asyncio.Task[None]] = []
        self._ticked = time.perf_counter()
        self._loop_thread = threading.get_ident()
        self.stalls: Counter[str] = Counter()  # what the event loop's thread ran while it did not tick
        self._watchdog = threading.Thread(target=self._watch_loop, daemon=True)

    def _note(self, what: str) -> None:
        self.stages.append(f"{time.perf_counter() - self.start:6.3f} s {what}")

    def _on_publish(self, event: Any) -> None:
        call_id = getattr(event, "call_id", None)
        if getattr(event, "caller", None) == self.number and call_id is not None:
            self._call_ids.add(call_id)
        if call_id in self._call_ids:
            self._note(f"bus {event.kind} agent={getattr(event, 'agent', None)}")

    async def _watch_hub(self, channel: Any) -> None:
        while True:
            message = await channel.queue.get()
            if message is not None and message.get("type") == "pop" and message.get("caller") == self.number:
                self._note(f"hub pop to {channel.key}")

    async def _sample(self) -> None:
        engine = self.hotline.container.engine
        auth = self.hotline.container.auth
        while not self._stop.is_set():
            began = self._ticked = time.perf_counter()
            await asyncio.sleep(0.05)
            self.loop_lag = max(self.loop_lag, time.perf_counter() - began - 0.05)
            checkedout = getattr(engine.pool, "checkedout", None)
            if checkedout is not None:
                self.pool_out = max(self.pool_out, checkedout())
            self.in_flight = max(self.in_flight, auth.in_flight)

    def _watch_loop(self) -> None:
        """Every 0.1 s the loop has not ticked for 0.3 s, the loop thread's innermost frames."""
        while not self._stop.is_set():
            time.sleep(0.1)
            if time.perf_counter() - self._ticked > 0.3:
                frame = sys._current_frames().get(self._loop_thread)
                if frame is not None:
                    where = traceback.extract_stack(frame)[-6:]
                    self.stalls[
                        " < ".join(f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in where[::-1])
                    ] += 1

    def __enter__(self) -> _Trace:
        self._watchdog.start()
        self.hotline.container.bus.on_publish(self._on_publish)
        self._tasks = [asyncio.create_task(self._sample())]
        self._tasks += [asyncio.create_task(self._watch_hub(c)) for c in self._channels]
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for task in self._tasks:
            task.cancel()
        observers = self.hotline.container.bus._on_publish
        if self._on_publish in observers:
            observers.remove(self._on_publish)
        for channel in self._channels:
            self.hotline.container.hub.unsubscribe(channel)

    def report(self) -> str:
        now = self.hotline.container.bus.stats.handler_seconds
        spent = {k: round(v - self.seconds_before.get(k, 0.0), 3) for k, v in now.items()}
        return (
            f"call {self.number}: "
            + "; ".join(self.stages or ["no event of the call on the bus"])
            + f"\n  front handlers' seconds meanwhile {spent}; max loop lag {self.loop_lag:.3f} s;"
            f" max pool connections out {self.pool_out}; max sign-ins in flight {self.in_flight}"
            + "".join(
                f"\n  loop stalled x{n} (0.1 s each) in {where}" for where, n in self.stalls.most_common(5)
            )
        )


async def _first_pop(sockets: list[Any], timeout: float = 15.0) -> dict[str, Any]:  # noqa: ASYNC109
    waits = [asyncio.create_task(next_message(ws, "pop", timeout=timeout)) for ws in sockets]
    done, pending = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    return next(iter(done)).result()


async def _health_probe(
    client: httpx.AsyncClient, stop: asyncio.Event, samples: list[float], states: Counter[str]
) -> None:
    while not stop.is_set():
        start = time.perf_counter()
        reply = await client.get("/api/health")
        assert reply.status_code == 200, reply.text  # one slow database probe is "degraded", not 503
        samples.append(time.perf_counter() - start)
        states[reply.json()["status"]] += 1
        await asyncio.sleep(0.05)


async def _call_with(
    hotline: Hotline, sockets: list[Any], number: str, flood: int
) -> tuple[float, list[float], Counter[int], Counter[str], str]:
    """Place a call (with `flood` wrong logins fired at the same moment): seconds to the pop,
    /api/health latencies and statuses meanwhile, and the statuses the logins got."""
    stop = asyncio.Event()
    samples: list[float] = []
    states: Counter[str] = Counter()
    statuses: Counter[int] = Counter()
    async with httpx.AsyncClient(base_url=hotline.base_url, timeout=60) as probe:
        prober = asyncio.create_task(_health_probe(probe, stop, samples, states))
        attacker = None
        if flood:
            attacker = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "tests.security.flood_client",
                hotline.base_url,
                str(flood),
                stdout=asyncio.subprocess.PIPE,
            )
            await asyncio.sleep(0.3)  # the attacker's interpreter starts; its requests begin
        start = time.perf_counter()
        with _Trace(hotline, number) as trace:
            trace._note("placing the call")
            await hotline.place_call(number, talk=40)
            trace._note("originated")
            try:
                await _first_pop(sockets)
            except TimeoutError:
                raise AssertionError(f"no pop in 15 s\n{trace.report()}") from None
            trace._note("websocket pop")
        popped = time.perf_counter() - start
        if attacker is not None:
            out, _ = await attacker.communicate()
            statuses.update({int(k): v for k, v in json.loads(out).items()})
        stop.set()
        await prober
    return popped, samples, statuses, states, trace.report()


def _ms(samples: list[float]) -> str:
    return f"{statistics.median(samples) * 1000:.1f}/{max(samples) * 1000:.1f}"


@pytest.mark.parametrize("source", ["one-address", "many-addresses"])
async def test_a_login_flood_does_not_delay_routing_or_the_pop(
    database_url: str, tmp_path: Path, source: str, capsys: pytest.CaptureFixture[str]
) -> None:
    wide_open = {"signin_attempts_per_login": 10_000, "signin_attempts_per_address": 10_000}
    overrides = wide_open if source == "many-addresses" else {}
    async with running_hotline(database_url, tmp_path, **overrides) as hotline:
        alice, bob = await hotline.sign_in("1001"), await hotline.sign_in("1002")
        async with await hotline.agent_socket(alice) as a, await hotline.agent_socket(bob) as b:
            await next_message(a, "hello")
            await next_message(b, "hello")
            base_pop, base_health, _, _, base_trace = await _call_with(hotline, [a, b], "+8613800138000", 0)
            flood_pop, flood_health, statuses, states, flood_trace = await _call_with(
                hotline, [a, b], "+8613800138001", FLOOD
            )
        await alice.aclose()
        await bob.aclose()
    with capsys.disabled():
        print(
            f"\n[{source}] pop {base_pop:.3f} s without the flood, {flood_pop:.3f} s with {FLOOD} wrong"
            f" logins; /api/health p50/max {_ms(base_health)} ms without, {_ms(flood_health)} ms with;"
            f" login answers {dict(statuses)}; /api/health with the flood {dict(states)}"
            f"\n{base_trace}\n{flood_trace}"
        )
    assert sum(statuses.values()) == FLOOD and set(statuses) <= {401, 429, 503}
    if source == "one-address":
        assert statuses[401] <= 30  # at most the address's 30 attempts were checked; the rest refused
    assert statuses[503] > 0  # sign-ins in flight are bounded: the rest is refused before any work
    # Loose on purpose (a shared CI machine; the figures above are the measurement): before,
    # the caller waiting behind the flood was never routed and /api/health took 13 s.
    assert flood_pop < base_pop + 5.0, (base_pop, flood_pop)
    # A slow database probe answers "degraded" at its own bound: the health answer may take that.
    assert max(flood_health) < DATABASE_TIMEOUT_S + 3.0
