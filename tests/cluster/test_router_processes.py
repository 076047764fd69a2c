"""Two `hotline serve --role router` processes on PostgreSQL and Redis, the simulated PBX in its
own: one leads, the other stands by; `kill -9` the leader and the standby takes over.

The takeover time is printed, not asserted against the 3 s goal (tests/bench/bench_takeover.py
measures it over several kills): the bound here only catches a standby that never takes over."""

from __future__ import annotations

from pathlib import Path

from tests.cluster.routers import router_pair

TAKEOVER_BOUND_S = 20.0


async def test_the_standby_router_takes_over_when_the_leader_is_killed(pg_url: str, tmp_path: Path) -> None:
    async with router_pair(pg_url, tmp_path) as pair:
        takeover = await pair.kill_leader()
        print(f"kill -9 -> first routing decision of the new leader: {takeover.seconds:.2f} s")
        assert takeover.new_epoch == takeover.killed_epoch + 1
        assert 0 < takeover.seconds < TAKEOVER_BOUND_S
        survivors = pair.live()
        assert len(survivors) == 1
