"""/api/health's database probe: one slow probe is "degraded" (200), an error or a long silence "down" (503).

Under a sign-in flood on PostgreSQL a 2 s probe once timed out with the database answering: it
had waited for one of the pool's 20 connections, all checked out by the flood, or read the answer
late from a starved event loop (1.4 s late of a 1.4 s probe). The 503 would have made a load
balancer pull a worker that was routing calls. The probes here go to real servers over TCP: one
that accepts and never answers, and a relay to the test's PostgreSQL that can be stalled.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from agent_ui.dbprobe import DatabaseProbe
from config.database import create_engine, is_sqlite
from tests.tickets.api_harness import running_api


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Relay:
    """TCP to a server, with a tap: closed, the bytes wait (a database that does not answer)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.flowing = asyncio.Event()
        self.flowing.set()
        self.connections = 0
        self._writers: list[asyncio.StreamWriter] = []

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            while data := await reader.read(65536):
                await self.flowing.wait()
                writer.write(data)
                await writer.drain()
        writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        up_reader, up_writer = await asyncio.open_connection(self.host, self.port)
        self._writers += [writer, up_writer]
        async with asyncio.TaskGroup() as group:
            group.create_task(self._pipe(reader, up_writer))
            group.create_task(self._pipe(up_reader, writer))

    @contextlib.asynccontextmanager
    async def serving(self) -> AsyncIterator[int]:
        server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        try:
            yield server.sockets[0].getsockname()[1]
        finally:
            self.flowing.set()
            server.close()
            for writer in self._writers:
                writer.close()


@contextlib.asynccontextmanager
async def silent_server() -> AsyncIterator[tuple[int, list[int]]]:
    """Accepts connections and never says a word (a database host that hangs)."""
    accepted: list[int] = []
    held: list[asyncio.StreamWriter] = []

    async def hold(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(1)
        held.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1], accepted
    finally:
        for writer in held:
            writer.close()
        server.close()


async def test_one_slow_probe_is_degraded_and_only_a_silence_past_the_bound_is_down(
    database_url: str, tmp_path: Path
) -> None:
    clock = Clock()
    async with silent_server() as (port, accepted), running_api(database_url, tmp_path) as api:
        hangs = create_engine(f"postgresql+psycopg://postgres@127.0.0.1:{port}/hotline")
        probe = DatabaseProbe(hangs, timeout_s=0.3, down_after_s=10.0, clock=clock)
        api.container.database_probe = probe
        client = await api.client()
        try:
            clock.now += 1.0
            slow = await client.get("/api/health")
            both = await asyncio.gather(probe.check(), probe.check())  # at once: one probe, one answer
            connections = len(accepted)
            clock.now += 9.0  # 10 s since the probe began, never an answer
            silent = await client.get("/api/health")
        finally:
            await probe.aclose()
            await hangs.dispose()
    assert slow.status_code == 200 and slow.json()["status"] == "degraded"
    database = slow.json()["components"]["database"]
    assert not database["ok"] and database["reason"].startswith("slow: no answer within 0.3 s")
    assert "down if none for 10 s" in database["reason"] and database["counters"] == {"silent_ms": 1000}
    assert both[0] is both[1] and connections == 2  # the two slow probes, not three

    assert silent.status_code == 503 and silent.json()["status"] == "down"
    database = silent.json()["components"]["database"]
    assert not database["ok"] and "has not answered for 10 s" in database["reason"]


async def test_an_answer_after_slow_probes_is_ok_again_and_counts_from_there(
    database_url: str, tmp_path: Path
) -> None:
    if is_sqlite(database_url):
        pytest.skip("SQLite is probed through the application's engine: no server, nothing to stall")
    url = make_url(database_url)
    relay = Relay(url.host or "127.0.0.1", url.port or 5432)
    clock = Clock()
    async with relay.serving() as port, running_api(database_url, tmp_path) as api:
        relayed = create_engine(url.set(host="127.0.0.1", port=port).render_as_string(hide_password=False))
        probe = DatabaseProbe(relayed, timeout_s=0.3, down_after_s=10.0, clock=clock)
        api.container.database_probe = probe
        client = await api.client()
        try:
            fine = await client.get("/api/health")
            relay.flowing.clear()  # the database stops answering (its connection is kept)
            clock.now += 9.5
            slow = await client.get("/api/health")  # 9.5 s after the last answer: slow, not yet down
            relay.flowing.set()
            clock.now += 0.5
            back = await client.get("/api/health")
            relay.flowing.clear()
            clock.now += 9.5  # 9.5 s after the latest answer, 19.5 s after the first
            slow_again = await client.get("/api/health")
            relay.flowing.set()
        finally:
            await probe.aclose()
            await relayed.dispose()
    assert fine.status_code == 200 and fine.json()["components"]["database"] == {
        "ok": True,
        "reason": "answering (postgresql)",
    }
    assert slow.status_code == 200 and slow.json()["status"] == "degraded"
    assert "its last answer 9.5 s ago" in slow.json()["components"]["database"]["reason"]
    assert back.status_code == 200 and back.json()["components"]["database"]["ok"]
    assert slow_again.status_code == 200 and slow_again.json()["status"] == "degraded"
    assert relay.connections >= 1
