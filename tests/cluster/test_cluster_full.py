"""Issue #17's cluster test, all of it in one run: the first "Done when" item.

PostgreSQL and Redis; every process started from its deploy/Procfile line (the harness of
tests/cluster/test_cluster.py): two simulated PBXs (`main` and `east`, the second through
HOTLINE_PBX_LINKS), two `router` processes (one elected, one standing by), two `web` workers,
and 200 agent consoles on real websockets, half on each worker, plus a supervisor's wallboard.

1. Callers wait: the `hold` queue's members are paused at the PBX (a supervisor's QueuePause)
   and HOLD callers queue there, a second apart.
2. A storm of calls over both PBXs; half-way through, `kill -9` of the leader. The standby must
   make its first routing decision within TAKEOVER_GOAL_S of the kill (its log line "leader
   epoch N: first routing decision at <unix time>"). The new leader shows the waiting callers in
   the places (and serving positions) the old one did, their waits counted from their arrival,
   not from the takeover; the PBX holds them in the same order; freed one at a time they are
   answered in that order. Observe mode: app_queue makes the offers and the simulated one has
   no priorities, so a caller's priority is its position in the router's serving order here (a
   VIP's priority across a takeover in control mode: the last test of this file, in the cluster,
   and test_takeover_priority.py in one process).
3. `kill -9` of a web worker, and more calls at once: its consoles reconnect to the other
   worker and catch up (`?after=<seq>&epoch=`) on the pops sent meanwhile.

Throughout, every call placed must end with exactly one call row (tagged with its PBX), one
ticket and one stored recording, no phantom call appears, and each agent's console gets one
pop for each call it answered: none lost, none doubled. The phase a failure belongs to is named
in its message. Bounded for CI: every wait has a timeout; it runs in about a minute.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import websockets
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from agent_ui.auth import SESSION_COOKIE
from calls.models import CallRecord
from config.database import is_sqlite
from cti.ami.dialplan import WAIT_CONTEXT
from tests.cluster.procfile import kill_group
from tests.cluster.routers import DECISION
from tests.cluster.test_cluster import (
    ACTING,
    AGENTS,
    QUEUE_OF,
    RATE,
    WEB_WORKERS,
    Console,
    _agent_cookies,
    _incomplete,
    _leader,
    _load,
    _storm,
    _supervisor_cookie,
    _whole,
    cluster,
)
from tests.crash.processes import ami, eventually
from tickets.models import Customer, CustomerPhone, CustomerTier

STORM = 60  # calls during the leader's kill, RATE per second over both PBXs
AFTER = 20  # calls placed as a web worker dies
TAKEOVER_GOAL_S = 3.0  # kill -9 of the leader -> the standby's first routing decision
HOLD = "hold"  # a queue of `main` whose members are paused: its callers wait across the takeover
HOLD_MEMBERS = ("2000", "2002", "2004", "2006")  # agents of `main` (even numbers), in `hold` only
HOLD_CALLERS = [f"+8613255500{n:03d}" for n in range(len(HOLD_MEMBERS))]
HOLD_EVERY_S = 1.1  # apart by more than the resync's whole-second Wait: arrivals stay distinct
HOLD_TALK = 900  # the handset hangs up 90 s after the PBX answered it (waiting included): the test hangs up


def _callcenter(path: Path, pbxs: Sequence[str]) -> Path:
    """test_cluster's queue per PBX and AGENTS agents over them, plus `hold` on `main`."""
    queues = "".join(
        f"  - {{name: {name}, pbx: {pbx}, ring_timeout_s: 15, wrapup_s: 1, wrapup_ends: timer}}\n"
        for name, pbx in [*((QUEUE_OF[p], p) for p in pbxs), (HOLD, "main")]
    )
    agents = ""
    for n in range(AGENTS):
        agent, pbx = str(2000 + n), pbxs[n % len(pbxs)]
        queue = HOLD if agent in HOLD_MEMBERS else QUEUE_OF[pbx]
        agents += f'  - {{id: "{agent}", name: Agent {agent}, queues: {{{queue}: 0}}, pbx: {pbx}}}\n'
    path.write_text(f"queues:\n{queues}\nagents:\n{agents}")
    return path


@dataclasses.dataclass
class Wallboard:
    """A supervisor's /ws/supervisor on a web worker: the last wallboard view the router sent."""

    token: str
    url: str
    latest: dict[str, Any] | None = None
    queue: str = HOLD  # whose waiting callers `waiting` reads

    async def run(self) -> None:
        target = self.url.replace("http://", "ws://") + "/ws/supervisor"
        while True:
            try:
                async with websockets.connect(
                    target, additional_headers={"Cookie": f"{SESSION_COOKIE}={self.token}"}, max_size=None
                ) as ws:
                    async for raw in ws:
                        message = json.loads(raw)
                        if message.get("type") == "wallboard":
                            self.latest = message
            except (OSError, websockets.ConnectionClosed):
                await asyncio.sleep(0.2)

    def waiting(self, since: float = 0.0) -> tuple[float, list[tuple[str, int, float]]] | None:
        """(the view's time, [(caller, position, waited_s)]) of `hold`, from a view made after `since`."""
        view = self.latest
        if view is None or float(view.get("at", 0)) <= since:
            return None
        queue = next((q for q in view["queues"] if q["name"] == self.queue), None)
        if queue is None:
            return None
        calls = [
            (c["caller"]["number"], int(c["position"]), float(c["waited_s"])) for c in queue["waiting_calls"]
        ]
        return float(view["at"]), sorted(calls, key=lambda c: c[1])

    def tiers(self) -> dict[str, str | None]:
        """Caller -> the tier the router gave them (their priority's source), as last shown."""
        view = self.latest or {"queues": []}
        queue = next((q for q in view["queues"] if q["name"] == self.queue), {"waiting_calls": []})
        return {c["caller"]["number"]: c.get("tier") for c in queue["waiting_calls"]}


async def _pbx_queue(client: Any) -> tuple[list[str], dict[str, bool]]:
    """The `hold` queue at the PBX: its callers in order, and its members' interfaces -> paused."""
    items = await client.action_list("QueueStatus", Queue=HOLD)
    entries = sorted((int(i["Position"]), i["CallerIDNum"]) for i in items if i.get("Event") == "QueueEntry")
    members = {i["Location"]: i.get("Paused") == "1" for i in items if i.get("Event") == "QueueMember"}
    return [number for _, number in entries], members


async def _hold_channels(client: Any) -> list[str]:
    items = await client.action_list("QueueStatus", Queue=HOLD)
    return [i["Channel"] for i in items if i.get("Event") == "QueueEntry"]


async def _answered(sessions: async_sessionmaker[AsyncSession], numbers: list[str]) -> list[str]:
    """The callers among `numbers` answered so far, in the order they were answered."""
    query = select(CallRecord.answered_at, CallRecord.caller).where(
        col(CallRecord.caller).in_(numbers), col(CallRecord.answered_at).is_not(None)
    )
    async with sessions() as session:
        rows = (await session.exec(query)).all()
    return [caller or "" for _, caller in sorted(rows, key=lambda r: r[0])]


async def _calls_by_agent(
    sessions: async_sessionmaker[AsyncSession], numbers: list[str]
) -> dict[str, set[str]]:
    """Agent id -> the call ids (of calls from `numbers`) the agent answered."""
    query = select(CallRecord.agent_id, CallRecord.call_id).where(col(CallRecord.caller).in_(numbers))
    async with sessions() as session:
        rows = (await session.exec(query)).all()
    found: dict[str, set[str]] = collections.defaultdict(set)
    for agent, call_id in rows:
        found[agent or "(none)"].add(call_id)
    return found


def _pop_faults(consoles: list[Console], answered: dict[str, set[str]]) -> dict[str, Any]:
    """Per agent: the answered calls its console got no pop for, and the pops it got twice (or for
    a call it did not answer). Empty when every pop reached its agent once."""
    lost, doubled, stray = {}, {}, {}
    for console in consoles:
        mine = answered.get(console.agent, set())
        counts = collections.Counter(console.pops)
        if missing := sorted(mine - set(counts)):
            lost[console.agent] = missing
        if twice := sorted(c for c, n in counts.items() if n > 1):
            doubled[console.agent] = twice
        if other := sorted(set(counts) - mine):
            stray[console.agent] = other
    unowned = sorted(answered.get("(none)", set()))
    return {
        k: v for k, v in {"lost": lost, "doubled": doubled, "stray": stray, "no agent": unowned}.items() if v
    }


async def _hold_call(client: Any, number: str) -> None:
    """A caller into `hold` (observe mode: app_queue) whose Queue() timeout outlasts the test."""
    await client.action(
        "Originate", Channel=f"Local/{HOLD}@hotline", Context="phones", Exten=f"talk-{HOLD_TALK}",
        Priority="1", CallerID=number, Async="true", Variable="QTIMEOUT=3000",
    )  # fmt: skip


async def test_the_whole_cluster_survives_a_leader_kill_and_a_web_worker_kill_in_a_storm(
    database_url: str, sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    if is_sqlite(database_url):
        pytest.skip("a cluster shares PostgreSQL and Redis; SQLite runs one process (--role all)")
    storm = [f"+86134{n:08d}" for n in range(STORM)]
    after = [f"+86133{n:08d}" for n in range(AFTER)]
    everyone = HOLD_CALLERS + storm + after
    pbxs = ("main", "east")
    began = time.monotonic()

    def step(what: str) -> None:  # progress in the log, to see where a failed run stood
        print(f"[{time.monotonic() - began:5.1f}s] {what}", flush=True)

    async def whole(numbers: list[str]) -> bool:
        return (await _whole(sessions, numbers))["whole"] == len(numbers)

    async def pop_faults(numbers: list[str]) -> dict[str, Any]:
        return _pop_faults(consoles, await _calls_by_agent(sessions, numbers))

    async def popped(numbers: list[str]) -> bool:
        return not (await pop_faults(numbers)).get("lost")

    async with cluster(database_url, tmp_path, pbxs=pbxs, callcenter_file=_callcenter) as c:
        routers = [await c.start("router", instance) for instance in range(2)]
        leader = await _leader(routers)
        standby = next(r for r in routers if r is not leader)
        await leader.wait_for_line(r"recovery since ", timeout=90)
        await standby.wait_for_line(r"standby for .*polling", timeout=60)
        step(f"leader {leader.name}, standby {standby.name}")
        webs = [await c.start_web(instance) for instance in range(WEB_WORKERS)]
        urls = [c.url("web", instance) for instance in range(WEB_WORKERS)]
        tokens = await _agent_cookies(sessions)
        consoles = [
            Console(agent, token, urls[n % WEB_WORKERS :] + urls[: n % WEB_WORKERS])
            for n, (agent, token) in enumerate(sorted(tokens.items()))
        ]
        board = Wallboard(await _supervisor_cookie(sessions), urls[0])
        async with asyncio.TaskGroup() as group, ami(c.ami_ports["main"]) as pbx:
            tasks = [group.create_task(console.run()) for console in consoles]
            tasks.append(group.create_task(board.run()))
            await asyncio.wait_for(asyncio.gather(*(console.hello.wait() for console in consoles)), 60)
            up_s = time.monotonic() - began
            step(f"{len(consoles)} consoles greeted")

            # 1. callers waiting in `hold`, its members paused at the PBX
            _, members = await _pbx_queue(pbx)
            for interface in members:
                await pbx.action(
                    "QueuePause", Interface=interface, Queue=HOLD, Paused="true", Reason="meeting"
                )
            first_placed = time.time()
            for number in HOLD_CALLERS:
                await _hold_call(pbx, number)
                await asyncio.sleep(HOLD_EVERY_S)

            async def all_held() -> bool:
                shown = board.waiting()
                return len((await _pbx_queue(pbx))[0]) == len(HOLD_CALLERS) and (
                    shown is not None and len(shown[1]) == len(HOLD_CALLERS)
                )

            await eventually(all_held, timeout=20)
            order_before, _ = await _pbx_queue(pbx)
            channels = await _hold_channels(pbx)
            shown_before = board.waiting()
            assert shown_before is not None
            step(f"callers held: {shown_before}")

            # 2. the storm, and kill -9 of the leader half-way through it
            storming = group.create_task(_storm(c.ami_ports, storm))
            await asyncio.sleep(STORM / RATE / 2)
            acting_before_kill = [line for line in standby.lines if ACTING in line]
            mark = len(standby.lines)
            killed = time.time()
            kill_group(leader)
            decided = await standby.wait_for_line(DECISION, after=mark, timeout=30)
            takeover_s = float(decided.group(2)) - killed
            step(f"standby decided {takeover_s:.2f}s after the kill (load {_load()})")
            await standby.wait_for_line(r"recovery since ", after=mark, timeout=60)
            await storming
            assert acting_before_kill == [], "leader kill: two routers acted at once"

            async def shown_again() -> bool:
                shown = board.waiting(since=killed)
                return shown is not None and len(shown[1]) == len(HOLD_CALLERS)

            with contextlib.suppress(TimeoutError):  # what it shows is asserted just below
                await eventually(shown_again, timeout=30)
            shown_after = board.waiting(since=killed)
            order_after, members_after = await _pbx_queue(pbx)
            step(f"after the takeover: shown {shown_after}, PBX {order_after}")
            assert order_after == order_before == HOLD_CALLERS, "leader kill: the PBX's queue changed"
            assert all(members_after.values()), (
                f"leader kill: the new leader unpaused a member: {members_after}"
            )
            assert shown_after is not None, "leader kill: the new leader never showed the waiting callers"
            assert [(n, p) for n, p, _ in shown_after[1]] == [(n, p) for n, p, _ in shown_before[1]], (
                f"leader kill: waiting callers lost their place: {shown_before} -> {shown_after}"
            )
            at, calls = shown_after
            longest = max(w for _, _, w in calls)
            since_first = at - first_placed
            assert since_first - 2.0 <= longest <= since_first + 1.0, (
                f"leader kill: waits {calls} at {since_first}"
            )
            assert longest > at - killed + 1.0, "leader kill: the waits count from the takeover"
            for n, interface in enumerate(members, start=1):  # freed one at a time
                await pbx.action("QueuePause", Interface=interface, Queue=HOLD, Paused="false")

                async def answered(count: int = n) -> bool:
                    return len(await _answered(sessions, HOLD_CALLERS)) >= count

                await eventually(answered, timeout=15)
            offered = await _answered(sessions, HOLD_CALLERS)
            for channel in channels:  # the held callers hang up once answered
                await pbx.action("Hangup", Channel=channel)
            assert offered == order_before, f"leader kill: freed members were offered {offered}"
            with contextlib.suppress(TimeoutError):
                await eventually(lambda: whole(HOLD_CALLERS + storm), timeout=30)
            lacking = await _incomplete(sessions, HOLD_CALLERS + storm)
            assert lacking == {}, f"leader kill: calls not whole: {lacking}"
            with contextlib.suppress(TimeoutError):
                await eventually(lambda: popped(HOLD_CALLERS + storm), timeout=10)
            faults = await pop_faults(HOLD_CALLERS + storm)
            assert faults == {}, f"leader kill: pops {faults}"
            step("leader kill: every call whole, every pop once")
            pops_before = {console.agent: len(console.pops) for console in consoles}

            # 3. kill -9 of a web worker as more calls come in
            kill_group(webs[1])
            await _storm(c.ami_ports, after)
            with contextlib.suppress(TimeoutError):
                await eventually(lambda: whole(after), timeout=30)
            lacking = await _incomplete(sessions, after)
            assert lacking == {}, f"web kill: calls not whole: {lacking}"
            with contextlib.suppress(TimeoutError):
                await eventually(lambda: popped(everyone), timeout=20)
            faults = await pop_faults(everyone)
            step(f"web kill: pop faults {faults}")
            for task in tasks:
                task.cancel()
        async with sessions() as session:
            tagged = dict(
                (
                    await session.exec(
                        select(CallRecord.caller, CallRecord.pbx).where(col(CallRecord.caller).in_(everyone))
                    )
                ).all()
            )
            phantoms = (
                await session.exec(
                    select(func.count())
                    .select_from(CallRecord)
                    .where(col(CallRecord.caller).not_in(everyone))
                )
            ).one()
    moved = [console for n, console in enumerate(consoles) if n % WEB_WORKERS == 1]
    caught_up = sum(1 for console in moved if len(console.pops) > pops_before[console.agent])
    print(
        f"cluster full: {len(routers) + WEB_WORKERS + len(pbxs)} processes and {AGENTS} consoles up in"
        f" {up_s:.1f}s; kill -9 of the leader -> first routing decision of the standby {takeover_s:.2f}s;"
        f" {len(everyone)} calls; {len(moved)} consoles moved, {caught_up} got pops after the move;"
        f" {time.monotonic() - began:.1f}s in all (load {_load()})"
    )
    assert takeover_s <= TAKEOVER_GOAL_S, f"leader kill: the standby decided {takeover_s:.2f}s after it"
    assert phantoms == 0
    pbx_of = {n: pbxs[i % 2] for numbers in (storm, after) for i, n in enumerate(numbers)}
    assert tagged == pbx_of | dict.fromkeys(HOLD_CALLERS, "main")  # each call's PBX
    assert all(console.connects >= 2 for console in moved), "web kill: consoles did not reconnect"
    assert faults == {}, f"web kill: the moved consoles did not catch up: pops {faults}"


ORDINARY_FIRST, VIP, ORDINARY_LAST = "+8613955500001", "+8613800138000", "+8613955500002"
CONTROL_CALLERS = [ORDINARY_FIRST, VIP, ORDINARY_LAST]  # in the order they call
CONTROL_TALK = 900  # 90 s at SPEED: they wait out the test


async def _vip_customer(sessions: async_sessionmaker[AsyncSession], number: str) -> None:
    """The VIP's customer record, as the CSV import or the desk writes it: their calls get its tier."""
    async with sessions() as session:
        customer = Customer(name="VIP caller", tier=CustomerTier.VIP)
        session.add(customer)
        await session.flush()
        assert customer.id is not None
        session.add(CustomerPhone(customer_id=customer.id, e164=number, raw=number))
        await session.commit()


async def _control_call(client: Any, number: str) -> None:
    """A caller into `support` in control mode: the dialplan parks them in [hotline-control]
    and Hotline's router is the ACD."""
    await client.action(
        "Originate", Channel=f"Local/support@{WAIT_CONTEXT}", Context="phones",
        Exten=f"talk-{CONTROL_TALK}", Priority="1", CallerID=number, Async="true",
    )  # fmt: skip


async def test_in_control_mode_no_waiting_caller_loses_their_place_or_priority_when_the_leader_is_killed(
    database_url: str, sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    """Control mode, where Hotline's router is the ACD (test above: observe mode, app_queue's).
    Three callers wait with no agent signed in: an ordinary one, a VIP (their customer's tier),
    another ordinary one, a second apart. The router serves the VIP first. `kill -9` of the
    leader: the new one, rebuilt from the database and the PBX's resync, shows the same callers
    in the same places with the same tiers, their waits counted from their arrival; and the
    first agent to open their console is offered the VIP."""
    if is_sqlite(database_url):
        pytest.skip("a cluster shares PostgreSQL and Redis; SQLite runs one process (--role all)")
    expected = [VIP, ORDINARY_FIRST, ORDINARY_LAST]
    async with cluster(database_url, tmp_path) as c:
        c.env["HOTLINE_MODE"] = "control"  # the routers and the web worker, not the PBX (already up)
        await _vip_customer(sessions, VIP)
        routers = [await c.start("router", instance) for instance in range(2)]
        leader = await _leader(routers)
        standby = next(r for r in routers if r is not leader)
        await leader.wait_for_line(r"recovery since ", timeout=90)
        await standby.wait_for_line(r"standby for .*polling", timeout=60)
        await c.start_web(0)
        url = c.url("web", 0)
        board = Wallboard(await _supervisor_cookie(sessions), url, queue="support")
        tokens = await _agent_cookies(sessions)
        async with asyncio.TaskGroup() as group, ami(c.ami_ports["main"]) as pbx:
            tasks = [group.create_task(board.run())]
            placed = time.time()
            for number in CONTROL_CALLERS:
                await _control_call(pbx, number)
                await asyncio.sleep(HOLD_EVERY_S)

            async def shown(since: float = 0.0) -> bool:
                view = board.waiting(since)
                return view is not None and len(view[1]) == len(expected) and board.tiers().get(VIP) == "vip"

            with contextlib.suppress(TimeoutError):  # what is shown is asserted below
                await eventually(shown, timeout=20)
            before, tiers_before = board.waiting(), board.tiers()
            assert before is not None and [n for n, _, _ in before[1]] == expected, (
                f"before the kill: not the VIP first, then by arrival: {before} {tiers_before}"
            )
            mark = len(standby.lines)
            killed = time.time()
            kill_group(leader)
            await standby.wait_for_line(ACTING, after=mark, timeout=30)
            await standby.wait_for_line(r"recovery since ", after=mark, timeout=60)
            with contextlib.suppress(TimeoutError):
                await eventually(lambda: shown(killed), timeout=30)
            after, tiers_after = board.waiting(since=killed), board.tiers()
            assert after is not None, "leader kill: the new leader never showed the waiting callers"
            assert [(n, p) for n, p, _ in after[1]] == [(n, p) for n, p, _ in before[1]], (
                f"leader kill: waiting callers lost their place: {before} -> {after}"
            )
            assert tiers_after == tiers_before, f"leader kill: tiers {tiers_before} -> {tiers_after}"
            at, calls = after
            longest = max(w for _, _, w in calls)
            assert at - placed - 2.0 <= longest <= at - placed + 1.0, f"leader kill: waits {calls}"
            assert longest > at - killed + 1.0, "leader kill: the waits count from the takeover"

            console = Console("2000", tokens["2000"], [url])  # signs agent 2000 in
            tasks.append(group.create_task(console.run()))

            async def answered() -> bool:
                return bool(await _answered(sessions, CONTROL_CALLERS))

            with contextlib.suppress(TimeoutError):
                await eventually(answered, timeout=20)
            first = await _answered(sessions, CONTROL_CALLERS)
            for task in tasks:
                task.cancel()
    print(f"cluster control mode: kill -9 of the leader, waiting {after[1]} kept (load {_load()})")
    assert first[:1] == [VIP], f"after the takeover the first agent was offered {first}, not the VIP"
