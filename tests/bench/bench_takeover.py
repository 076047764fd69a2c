"""Router takeover (#17): `kill -9` the elected router, the standby takes over; from the kill to the
new leader's first routing decision, p50 and max over TAKEOVER_KILLS kills (default 5; goal <= 3 s).

Beside it, in the same run, the baseline a standby saves: one router started cold (process start
to its first routing decision), what a restart by systemd would cost without a standby. After
each kill a new router is started as the next standby. The simulated PBX runs in its own process
with a caller every 0.2 s (observe mode), PostgreSQL (HOTLINE_TEST_DATABASE_URL's server, a
throwaway database) and Redis (HOTLINE_TEST_REDIS_URL or 127.0.0.1:6379) are shared.

What a takeover is made of: the lock freed when the killed session's socket closes, the standby's
next try (poll 0.25 s), the lease it waits (1 s, so a deposed leader has stopped), then the AMI
login and resync before the first decision.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

from agent_ui.migrate import upgrade
from tests.cluster.routers import DECISION, RouterPair, router_pair

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
GOAL_S = 3.0


def _loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


async def _cold_start(pair: RouterPair) -> float:
    """One router alone: process start -> its first routing decision (the no-standby baseline)."""
    started = time.time()
    router = await pair.start()
    found = await router.wait_for_line(DECISION, timeout=60)
    return float(found.group(2)) - started


async def measure(database_url: str, kills: int) -> tuple[float, list[float]]:
    with tempfile.TemporaryDirectory(prefix="bench-takeover-") as work:
        async with router_pair(database_url, Path(work)) as pair:
            cold = await _cold_start(pair)
            print(f"  cold start of one router (baseline): {cold:.2f} s  (load {_loadavg()})", flush=True)
            takeovers = []
            for n in range(kills):
                took = await pair.kill_leader()
                takeovers.append(took.seconds)
                print(
                    f"  kill {n + 1}: epoch {took.killed_epoch} -> {took.new_epoch}: {took.seconds:.2f} s"
                    f"  (load {_loadavg()})",
                    flush=True,
                )
    return cold, takeovers


def main() -> None:
    kills = int(os.environ.get("TAKEOVER_KILLS", "5"))
    server = make_url(os.environ.get("HOTLINE_TEST_DATABASE_URL") or DEFAULT_PG)
    name = f"hotline_takeover_{uuid.uuid4().hex[:8]}"
    admin = server.set(drivername="postgresql").render_as_string(hide_password=False)
    print(f"takeover: {kills} kills of the leading router; load {_loadavg()}", flush=True)
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        print(f"  not run: PostgreSQL unreachable ({exc})", flush=True)
        return
    url = server.set(drivername="postgresql+psycopg", database=name).render_as_string(hide_password=False)
    try:
        upgrade(url)
        cold, takeovers = asyncio.run(measure(url, kills))
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    p50, worst = statistics.median(takeovers), max(takeovers)
    verdict = "met" if worst <= GOAL_S else "NOT met"
    print(
        f"takeover over {len(takeovers)} kills: p50 {p50:.2f} s, max {worst:.2f} s"
        f" (goal <= {GOAL_S:g} s: {verdict}); cold start of one router {cold:.2f} s; load {_loadavg()}",
        flush=True,
    )


if __name__ == "__main__":
    main()
