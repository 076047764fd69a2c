"""Two `hotline serve --role router` processes on PostgreSQL and Redis, the simulated PBX in its
own: one leads, the other stands by; `kill -9` the leader and the standby takes over.

The takeover time is printed, not asserted against the 3 s goal (tests/bench/bench_takeover.py
measures it over several kills): the bound here only catches a standby that never takes over."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from sqlalchemy.engine import make_url

from agent_ui.cli import EXIT_DEPOSED
from cluster.leadership import LEASE_S
from config.callcenter import load_callcenter
from cti.simulator import SimulatedPbx
from cti.simulator.standalone import simulated_queues
from tests.cluster.proxy import FreezableProxy
from tests.cluster.routers import CALLCENTER, DECISION, SPEED, STANDBY, RouterPair, feed_callers, router_pair
from tests.crash.processes import AMI_SECRET, hotline_env
from tests.roles.conftest import redis_env

TAKEOVER_BOUND_S = 20.0


async def test_the_standby_router_takes_over_when_the_leader_is_killed(pg_url: str, tmp_path: Path) -> None:
    async with router_pair(pg_url, tmp_path) as pair:
        _, standby, _ = await pair.leader_and_standby()
        status, body = await pair.health(standby)
        assert status == 503, body
        components = body["components"]
        assert isinstance(components, dict) and "standby router" in components["pbx"]["reason"]
        takeover = await pair.kill_leader()
        print(f"kill -9 -> first routing decision of the new leader: {takeover.seconds:.2f} s")
        assert takeover.new_epoch == takeover.killed_epoch + 1
        assert 0 < takeover.seconds < TAKEOVER_BOUND_S
        survivors = pair.live()
        assert len(survivors) == 1


async def test_a_router_cut_off_from_postgresql_falls_silent_on_the_pbx_and_exits_before_the_standby_acts(
    pg_url: str, tmp_path: Path
) -> None:
    """The split-brain case with real processes: the leader's every database connection runs through
    a proxy that freezes (nothing forwarded, nothing closed, its process lives). The simulated PBX
    runs here, so it sees both routers' AMI actions on one clock."""
    server = make_url(pg_url)
    proxy = FreezableProxy(server.host or "127.0.0.1", server.port or 5432)
    await proxy.start()
    via_proxy = server.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    shared = redis_env()  # the two routers' Redis, under a prefix of this test's own
    pbx = SimulatedPbx(
        secret=AMI_SECRET, speed=SPEED, queues=simulated_queues(load_callcenter(CALLCENTER)),
        recordings_dir=tmp_path / "pbx-monitor",
    )  # fmt: skip
    try:
        async with asyncio.TaskGroup() as group:
            running = group.create_task(pbx.run())
            await pbx.wait_ready()
            cut_off = RouterPair(hotline_env(via_proxy, pbx.port, tmp_path, CALLCENTER, **shared))
            direct = RouterPair(hotline_env(pg_url, pbx.port, tmp_path, CALLCENTER, **shared))
            feeding = group.create_task(feed_callers(pbx.port, 0.2))
            try:
                leader = await cut_off.start()
                await leader.wait_for_line(DECISION, timeout=60)
                standby = await direct.start()
                await standby.wait_for_line(STANDBY, timeout=60)
                mark = len(standby.lines)
                proxy.freeze()
                frozen = time.time()
                code = await asyncio.wait_for(leader.proc.wait(), 10)
                exited = time.time()
                await standby.wait_for_line(DECISION, after=mark, timeout=30)
                log = pbx.server.action_log
                feeder = {r.peer for r in log if r.name.lower() == "originate"}
                logins = [r.peer for r in log if r.name.lower() == "login" and r.peer not in feeder]
                peer_a, peer_b = logins[0], logins[-1]
                last_a = max(r.at for r in log if r.peer == peer_a)
                first_b = min(r.at for r in log if r.peer == peer_b)
            finally:
                feeding.cancel()
                await cut_off.stop()
                await direct.stop()
                running.cancel()
    finally:
        await proxy.aclose()
    print(
        f"frozen -> the cut-off leader exited after {exited - frozen:.2f} s; its last AMI action came"
        f" {first_b - last_a:.2f} s before the new leader's first"
    )
    assert code == EXIT_DEPOSED
    assert any("router deposed" in line for line in leader.lines)
    assert peer_a != peer_b
    assert last_a < exited < first_b
    assert exited - frozen < 2 * LEASE_S + 1.0  # its lease (1 s) ran out on its own clock
