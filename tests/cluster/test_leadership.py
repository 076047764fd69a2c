"""Leader election on PostgreSQL: one leader, a standby that waits, a deposed leader that stops
before its successor acts (the lock's session ended by the server, or its network path frozen)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

import psycopg
import pytest
from sqlalchemy.engine import make_url

from cluster.fence import Deposed, Fence
from cluster.leadership import Elector, ElectorThread, Leadership, libpq_url, lock_key, session_tag
from cti.ami.client import AmiClient
from cti.simulator import SimulatedPbx
from tests.cluster.proxy import FreezableProxy

LEASE_S = 0.5
SECRET = "elect-test-secret"


def _elector(url: str, name: str, holder: str) -> Elector:
    return Elector(
        url, name=name, holder=holder, fence=Fence(lease_s=LEASE_S), keepalive_s=0.1, poll_s=0.1,
        idle_timeout_s=2 * LEASE_S,
    )  # fmt: skip


async def _row(url: str, name: str) -> tuple[int, str]:
    async with await psycopg.AsyncConnection.connect(libpq_url(url), autocommit=True) as conn:
        cur = await conn.execute("SELECT epoch, holder FROM cluster_leader WHERE name = %s", (name,))
        row = await cur.fetchone()
    assert row is not None
    return int(row[0]), str(row[1])


async def _lock_holder_pid(url: str, name: str) -> int | None:
    """Who holds the election's advisory lock, as the server sees it (pg_locks)."""
    key = lock_key(name) & 0xFFFFFFFFFFFFFFFF
    async with await psycopg.AsyncConnection.connect(libpq_url(url), autocommit=True) as conn:
        cur = await conn.execute(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted"
            " AND classid::bigint = %s AND objid::bigint = %s AND objsubid = 1",
            (key >> 32, key & 0xFFFFFFFF),
        )
        row = await cur.fetchone()
    return None if row is None else int(row[0])


@contextlib.asynccontextmanager
async def _tasks() -> AsyncIterator[set[asyncio.Task[object]]]:
    """Tasks a test starts and does not await to the end: cancelled and awaited on the way out."""
    tasks: set[asyncio.Task[object]] = set()
    try:
        yield tasks
    finally:
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=5)


async def test_of_two_electors_only_one_leads_and_the_standby_cannot_act(pg_url: str, election: str) -> None:
    a, b = _elector(pg_url, election, "a"), _elector(pg_url, election, "b")
    async with a, b, _tasks() as tasks:
        first, second = asyncio.create_task(a.campaign()), asyncio.create_task(b.campaign())
        tasks |= {first, second}
        done, _ = await asyncio.wait({first, second}, timeout=10, return_when=asyncio.FIRST_COMPLETED)
        assert len(done) == 1
        winner, loser, waiting = (a, b, second) if first in done else (b, a, first)
        tasks.add(asyncio.create_task(winner.hold()))
        await asyncio.sleep(4 * LEASE_S)  # the standby polls all along and never wins
        assert not waiting.done()
        winner.fence.check()
        with pytest.raises(Deposed, match="standby"):
            loser.fence.check()
        assert await _row(pg_url, election) == (1, winner.holder)
        assert await _lock_holder_pid(pg_url, election) == winner.backend_pid


async def test_a_new_leader_increments_the_epoch_and_waits_the_lease_before_acting(
    pg_url: str, election: str
) -> None:
    a, b = _elector(pg_url, election, "a"), _elector(pg_url, election, "b")
    async with a, b, _tasks() as tasks:
        first = await a.campaign()
        waiting = asyncio.create_task(b.campaign())
        tasks.add(waiting)
        await a.aclose()  # resigns: the session ends, the lock is free
        freed = a.clock()
        second = await asyncio.wait_for(waiting, 10)
        assert second.epoch == first.epoch + 1
        assert await _row(pg_url, election) == (second.epoch, "b")
        assert second.won_at >= freed - 0.01
        assert b.clock() >= second.active_at >= second.won_at + LEASE_S
        b.fence.check()
        assert b.fence.epoch == second.epoch


async def test_a_leader_whose_session_is_terminated_is_deposed_before_the_new_leader_acts(
    pg_url: str, election: str
) -> None:
    a, b = _elector(pg_url, election, "a"), _elector(pg_url, election, "b")
    async with a, b, _tasks() as tasks:
        await a.campaign()
        holding = asyncio.create_task(a.hold())
        waiting = asyncio.create_task(b.campaign())
        tasks |= {holding, waiting}
        await asyncio.sleep(2 * LEASE_S)
        assert a.fence.valid and not waiting.done()
        async with await psycopg.AsyncConnection.connect(libpq_url(pg_url), autocommit=True) as admin:
            # read before the kill: the elector's thread can see its session end before this
            # connection's close returns (it did, 0.4 ms earlier, in 1 run of 6)
            terminated = a.clock()
            await admin.execute("SELECT pg_terminate_backend(%s)", (a.backend_pid,))
        with pytest.raises(Deposed, match="lost the lock"):
            await asyncio.wait_for(holding, 5)
        new: Leadership = await asyncio.wait_for(waiting, 10)
        assert a.fence.deposed_at is not None
        assert terminated <= a.fence.deposed_at < new.active_at
        with pytest.raises(Deposed):
            a.fence.check()
        assert new.epoch == 2


def _ami(pbx: SimulatedPbx, fence: Fence) -> AmiClient:
    return AmiClient("127.0.0.1", pbx.port, "hotline", SECRET, fence=fence.check, ping_interval=60)


async def test_a_stall_of_the_loop_longer_than_the_lease_deposes_a_leader_that_keeps_alive_on_it(
    pg_url: str, election: str
) -> None:
    """Why the router runs its elector on a thread of its own (the next test)."""
    a = _elector(pg_url, election, "a")
    async with a, _tasks() as tasks:
        await a.campaign()
        tasks.add(asyncio.create_task(a.hold()))
        await asyncio.sleep(0.2)
        time.sleep(3 * LEASE_S)  # noqa: ASYNC251 - the stall under test: a long synchronous step
        with pytest.raises(Deposed, match="lease"):
            a.fence.check()


async def test_an_elector_on_its_own_thread_keeps_the_lease_while_the_routers_loop_stalls(
    pg_url: str, election: str
) -> None:
    elector = ElectorThread(_elector(pg_url, election, "a"))
    try:
        async with _tasks() as tasks:
            leadership = await elector.campaign()
            tasks.add(asyncio.create_task(elector.hold()))
            await asyncio.sleep(0.2)
            time.sleep(3 * LEASE_S)  # noqa: ASYNC251 - the stall under test: a long synchronous step
            elector.fence.check()
            assert elector.leadership == leadership and elector.fence.epoch == leadership.epoch
    finally:
        await elector.aclose()


async def test_an_elector_on_its_own_thread_is_deposed_when_its_session_ends(
    pg_url: str, election: str
) -> None:
    elector = ElectorThread(_elector(pg_url, election, "a"))
    try:
        async with _tasks() as tasks:
            await elector.campaign()
            holding = asyncio.create_task(elector.hold())
            tasks.add(holding)
            async with await psycopg.AsyncConnection.connect(libpq_url(pg_url), autocommit=True) as admin:
                await admin.execute("SELECT pg_terminate_backend(%s)", (elector.elector.backend_pid,))
            with pytest.raises(Deposed, match="lost the lock"):
                await asyncio.wait_for(holding, 5)
            with pytest.raises(Deposed):
                elector.fence.check()
    finally:
        await elector.aclose()


async def test_the_new_leader_ends_the_old_leaders_sessions_so_its_open_transaction_cannot_block_or_commit(
    pg_url: str, election: str
) -> None:
    """An old leader cut off mid-transaction keeps its row locks while its session lives: the new
    leader ends its tagged sessions when it takes office, and that transaction is rolled back."""
    a, b = _elector(pg_url, election, "a"), _elector(pg_url, election, "b")
    async with a, b, _tasks() as tasks:
        await a.campaign()
        tasks.add(asyncio.create_task(a.hold()))
        waiting = asyncio.create_task(b.campaign())
        tasks.add(waiting)
        old = await psycopg.AsyncConnection.connect(libpq_url(pg_url), application_name=session_tag("a"))
        bystander = await psycopg.AsyncConnection.connect(libpq_url(pg_url), application_name="someone else")
        try:
            await old.execute("UPDATE cluster_leader SET since = now() WHERE name = %s", (election,))
            await bystander.execute("SELECT 1")  # another application's session: left alone
            await a.aclose()  # the lock goes; the transaction above stays open, holding the row
            await asyncio.wait_for(waiting, 10)  # the increment needs that row: not blocked
            with pytest.raises(psycopg.OperationalError):
                await old.commit()
            await bystander.execute("SELECT 1")
        finally:
            await old.close()
            await bystander.close()
        assert await _row(pg_url, election) == (2, "b")


async def _act_until_deposed(client: AmiClient, pace_s: float = 0.02) -> int:
    """A leader's stream of AMI actions, as long as its fence lets them out."""
    sent = 0
    while True:
        try:
            await client.action("Ping")
        except Deposed:
            return sent
        sent += 1
        await asyncio.sleep(pace_s)


async def test_a_leader_cut_off_from_postgresql_stops_sending_ami_actions_before_the_new_leader_sends_any(
    pg_url: str, election: str
) -> None:
    """The split-brain case: the leader's process lives, its path to the database hangs (a frozen
    proxy: no reset, no close). It must fall silent on the PBX before its successor says a word."""
    server = make_url(pg_url)
    proxy = FreezableProxy(server.host or "127.0.0.1", server.port or 5432)
    await proxy.start()
    via_proxy = server.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    pbx = SimulatedPbx(secret=SECRET)
    a, b = _elector(via_proxy, election, "a"), _elector(pg_url, election, "b")
    try:
        async with a, b, _tasks() as tasks:
            tasks.add(asyncio.create_task(pbx.run()))
            await pbx.wait_ready()
            await a.campaign()
            holding = asyncio.create_task(a.hold())
            client_a = _ami(pbx, a.fence)
            tasks |= {holding, asyncio.create_task(client_a.run())}
            await client_a.wait_connected(5)
            acting = asyncio.create_task(_act_until_deposed(client_a))
            waiting = asyncio.create_task(b.campaign())
            tasks |= {acting, waiting}
            await asyncio.sleep(2 * LEASE_S)
            assert not acting.done() and not waiting.done()

            proxy.freeze()
            frozen = a.clock()
            # deposed by the keepalive thread or by the lease check on use, whichever comes first
            with pytest.raises(Deposed, match="keepalive"):
                await asyncio.wait_for(holding, 5)
            sent_by_a = await asyncio.wait_for(acting, 5)
            assert sent_by_a > 10
            new = await asyncio.wait_for(waiting, 15)  # once the server ended the silent session
            client_b = _ami(pbx, b.fence)
            tasks.add(asyncio.create_task(client_b.run()))
            await client_b.wait_connected(5)
            await client_b.action("Ping")

            logins = [r.peer for r in pbx.server.action_log if r.name.lower() == "login"]
            assert len(logins) == 2
            peer_a, peer_b = logins
            last_a = max(r.at for r in pbx.server.action_log if r.peer == peer_a)
            first_b = min(r.at for r in pbx.server.action_log if r.peer == peer_b)
            assert last_a < first_b, f"the old leader's last action came {last_a - first_b:.3f} s after"
            assert a.fence.deposed_at is not None
            assert frozen < a.fence.deposed_at <= frozen + LEASE_S + 0.3
            assert a.fence.deposed_at < new.active_at
            assert new.epoch == 2
    finally:
        await proxy.aclose()
