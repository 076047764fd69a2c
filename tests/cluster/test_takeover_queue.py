"""No waiting caller loses their place on a takeover, and paused agents stay paused.

Two `hotline serve --role router` processes on PostgreSQL and Redis, the simulated PBX here (its
queue and members are read directly). Every agent is paused at the PBX (a supervisor's QueuePause),
so the callers placed queue with no agent free. Then `kill -9` of the leader: the standby takes
over and rebuilds from the database and the PBX's resync (QueueStatus: members, pauses and the
waiting callers' Wait; CoreShowChannels). Checked on the new leader and the PBX:

* it knows every caller waiting, with the original arrival (its longest wait counts from the
  first caller's arrival, not from the takeover: it did, routing.Router._enter), and the agents
  in the states the old leader had them in;
* the takeover disturbed nothing at the PBX: the queue holds the same callers in the same order,
  the pauses stand (a router that re-queued a caller, or unpaused an agent from a state it did
  not rebuild, would change who is offered next);
* agents freed one at a time afterwards are offered the callers in order of arrival: each
  answered call (the new leader's call rows) is the earliest caller still waiting.

In observe mode app_queue makes the offers, FIFO; priorities are app_queue's too (the
simulator's queue has none), so only arrival order is checked here. The routers see the static
members as signed out (an agent signs in at a console, and a `--role router` serves none: the
command channel from the web workers is not there yet), so the agents' states are compared
between the two leaders, and their pauses at the PBX.
"""

from __future__ import annotations

import asyncio
import re
import time
from datetime import datetime
from pathlib import Path

import httpx
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from calls.models import CallRecord
from config.callcenter import load_callcenter
from cti.simulator import SimulatedPbx
from cti.simulator.standalone import simulated_queues
from tests.cluster.routers import CALLCENTER, LEADER, SPEED, STANDBY, RouterPair
from tests.crash.processes import AMI_SECRET, Process, ami, eventually, hotline_env, place_call
from tests.roles.conftest import redis_env

CALLERS = [f"+8613755500{n:03d}" for n in range(1, 6)]
PLACED_EVERY_S = 0.6  # apart by more than the resync's one-second Wait, so arrivals stay distinct
TALK = 600  # 60 s at SPEED: an agent freed keeps the caller it got for the rest of the test


async def _metrics(router: Process) -> dict[str, float]:
    found = await router.wait_for_line(r"Uvicorn running on (http://127\.0\.0\.1:\d+)", timeout=60)
    async with httpx.AsyncClient(base_url=found.group(1), timeout=10) as client:
        text = (await client.get("/metrics")).text
    values: dict[str, float] = {}
    for line in text.splitlines():
        matched = re.match(r"^(hotline_\w+(?:\{[^}]*\})?) ([-+0-9.eE]+)$", line)
        if matched:
            values[matched.group(1)] = float(matched.group(2))
    return values


def _view(values: dict[str, float]) -> tuple[float, float, float]:
    """(callers waiting, longest wait, agents paused) as the router's /metrics says."""
    return (
        values.get('hotline_queue_waiting{queue="support"}', -1),
        values.get('hotline_queue_longest_wait_seconds{queue="support"}', -1),
        values.get('hotline_agents{state="paused"}', -1),
    )


async def _answered(sessions: async_sessionmaker[AsyncSession]) -> list[tuple[datetime, str]]:
    query = select(CallRecord).where(
        col(CallRecord.caller).in_(CALLERS), col(CallRecord.answered_at).is_not(None)
    )
    async with sessions() as session:
        rows = (await session.exec(query)).all()
    return sorted((row.answered_at, row.caller or "") for row in rows if row.answered_at is not None)


async def test_callers_waiting_keep_their_place_and_agents_their_pause_across_a_kill_9_of_the_leader(
    pg_url: str, tmp_path: Path
) -> None:
    center = load_callcenter(CALLCENTER)
    pbx = SimulatedPbx(
        secret=AMI_SECRET,
        speed=SPEED,
        queues=simulated_queues(center),
        recordings_dir=tmp_path / "pbx-monitor",
    )
    engine = create_async_engine(pg_url)
    sessions = async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)
    pair: RouterPair | None = None
    try:
        async with asyncio.TaskGroup() as group:
            running = group.create_task(pbx.run())
            await pbx.wait_ready()
            queue = pbx.core.queues["support"]
            env = hotline_env(pg_url, pbx.port, tmp_path, CALLCENTER, **redis_env())
            pair = RouterPair(env)
            try:
                leader = await pair.start()
                await leader.wait_for_line(LEADER, timeout=60)
                await leader.wait_for_line(r"recovery since ", timeout=60)
                standby = await pair.start()
                await standby.wait_for_line(STANDBY, timeout=60)
                async with ami(pbx.port) as client:
                    for member in queue.members:
                        await client.action(
                            "QueuePause", Interface=member.interface, Paused="true", Reason="meeting"
                        )
                    first_placed = time.time()
                    for number in CALLERS:
                        await place_call(client, number, talk=TALK)
                        await asyncio.sleep(PLACED_EVERY_S)

                    async def all_waiting() -> bool:
                        return len(queue.waiting) == len(CALLERS)

                    await eventually(all_waiting, timeout=30)
                    order_before = list(queue.waiting)

                    async def leader_sees_them() -> bool:
                        return _view(await _metrics(leader))[0] == len(CALLERS)

                    await eventually(leader_sees_them, timeout=30)
                    before = _view(await _metrics(leader))
                    mark = len(standby.lines)
                    leader.kill()
                    await leader.proc.wait()
                    killed = time.time()
                    await standby.wait_for_line(LEADER, after=mark, timeout=60)
                    await standby.wait_for_line(r"recovery since ", after=mark, timeout=60)

                    async def new_leader_sees_them() -> bool:
                        return _view(await _metrics(standby))[0] == len(CALLERS)

                    await eventually(new_leader_sees_them, timeout=30)
                    after = _view(await _metrics(standby))
                    viewed_at = time.time()
                    order_after = list(queue.waiting)
                    still_paused = [m.agent for m in queue.members if m.paused and m.reason == "meeting"]
                    for n, member in enumerate(queue.members[: len(CALLERS)], start=1):
                        await client.action("QueuePause", Interface=member.interface, Paused="false")

                        async def answered(count: int = n) -> bool:
                            return len(await _answered(sessions)) >= count

                        await eventually(answered, timeout=30)
                    offers = [caller for _, caller in await _answered(sessions)]
            finally:
                await pair.stop()
                running.cancel()
    finally:
        await engine.dispose()
    waited_at_view = viewed_at - first_placed
    print(
        f"before the kill: {before[0]:g} waiting, longest {before[1]:.1f} s, {before[2]:g} paused; after"
        f" the takeover ({viewed_at - killed:.1f} s after the kill): {after[0]:g} waiting, longest"
        f" {after[1]:.1f} s of {waited_at_view:.1f} s since the first caller, {after[2]:g} paused"
    )
    assert before[0] == after[0] == len(CALLERS)
    assert after[2] == before[2]  # the agents as the old leader had them (see the module's note)
    # the original arrival: the resync's Wait is whole seconds, and /metrics was read a little after
    assert waited_at_view - 3.0 <= after[1] <= waited_at_view + 1.0
    assert after[1] > viewed_at - killed + 1.0  # not counted from the takeover
    assert order_after == order_before
    assert len(still_paused) == len(queue.members)
    assert offers == CALLERS
