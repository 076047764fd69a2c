"""`GET /api/health`: each component with a reason, and 503 when Hotline cannot take calls.

    200 {"status": "ok", "components": {...}}        everything works
    200 {"status": "degraded", ...}                  calls go on; something needs a look
    503 {"status": "down", ...}                      the PBX link or the database is down

A load balancer or an operator reads the status; a person reads the reasons.
Components: `database` (a `SELECT 1` on a connection of its own: `DatabaseProbe`), `pbx` (the telephony
link's own view: logged in, refused, unreachable), `scheduler` (SLA and
retention jobs), `bus` (queue depths, failing subscribers) and `router`
(events it could not apply). Only the first two make it 503: without them no
call is routed or recorded; the others degrade. The database is "down" on an error (nothing
listens, a refused login) or when it has not answered for DATABASE_DOWN_AFTER_S; one probe slower
than DATABASE_TIMEOUT_S only degrades (a starved event loop looks the same from here). With
several PBXs, `pbx` is up while any is, and each has its own `pbx.<name>` component: one PBX down is
"degraded" (the others' calls go on), and says which. Nothing here blocks telephony:
the checks read counters, and the database check is bounded.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from config.settings import ProcessRole
from cti.multi import MultiLink

if TYPE_CHECKING:
    from agent_ui.bootstrap import Container

DATABASE_TIMEOUT_S = 2.0  # one probe's bound: slower is "degraded" (200), not yet "down"
DATABASE_DOWN_AFTER_S = 10.0  # no answer for this long, however slow the probes: "down" (503)
BUS_FULL = 0.9  # a shard this full means the subscribers cannot keep up with the PBX
CRITICAL = ("database", "pbx")


@dataclass(frozen=True, slots=True)
class Component:
    ok: bool
    reason: str
    counters: Mapping[str, int] = field(default_factory=dict)
    critical: bool = True  # of a CRITICAL component, not ok: "down"; False: only "degraded"

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"ok": self.ok, "reason": self.reason}
        if self.counters:
            out["counters"] = dict(self.counters)
        return out


class DatabaseProbe:
    """`SELECT 1` on a connection of its own, and the rule that turns its answers into a Component.

    Its own engine (one connection, pinged before use: one a proxy dropped is replaced, not taken
    for the database down), so the probe does not queue behind the application's pool: under a
    sign-in flood on PostgreSQL all 20 of its connections were checked out and the probe waited
    for one. The bound still counts the event loop's own delays (a starved loop reads the answer
    late: measured 1.4 s of a 1.4 s probe), so one slow probe says "degraded" with its reason,
    and "down" (503: a load balancer takes the worker out) needs an error, or no answer for
    `down_after_s`. Health requests that come while a probe runs share its answer.
    SQLite (a file, no server, no network) is probed through the application's engine.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        timeout_s: float = DATABASE_TIMEOUT_S,
        down_after_s: float = DATABASE_DOWN_AFTER_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._own = engine.dialect.name != "sqlite"
        self.engine = (
            create_async_engine(engine.url, pool_size=1, max_overflow=0, pool_pre_ping=True)
            if self._own
            else engine
        )
        self.timeout_s, self.down_after_s, self._clock = timeout_s, down_after_s, clock
        self._started = clock()
        self._last_answer: float | None = None
        self._running: asyncio.Task[Component] | None = None

    async def check(self) -> Component:
        if self._running is None or self._running.done():
            self._running = asyncio.create_task(self._probe(), name="health-database-probe")
        return await asyncio.shield(self._running)  # a caller gone does not cancel the others' probe

    async def _probe(self) -> Component:
        name = self.engine.dialect.name
        try:
            async with asyncio.timeout(self.timeout_s), self.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except TimeoutError:
            return self._slow()
        except (SQLAlchemyError, OSError) as exc:
            return Component(False, f"the database is unreachable: {type(exc).__name__}")
        self._last_answer = self._clock()
        return Component(True, f"answering ({name})")

    def _slow(self) -> Component:
        now = self._clock()
        silent = now - (self._last_answer if self._last_answer is not None else self._started)
        last = (
            f"its last answer {silent:.1f} s ago"
            if self._last_answer is not None
            else f"no answer since the probe began {silent:.1f} s ago"
        )
        counters = {"silent_ms": int(silent * 1000)}
        if silent >= self.down_after_s:
            return Component(
                False, f"the database has not answered for {self.down_after_s:g} s ({last})", counters
            )
        return Component(
            False,
            f"slow: no answer within {self.timeout_s:g} s ({last}); down if none for {self.down_after_s:g} s",
            counters,
            critical=False,
        )

    async def aclose(self) -> None:
        if self._running is not None and not self._running.done():
            self._running.cancel()
        if self._own:
            await self.engine.dispose()


async def database(container: Container) -> Component:
    if container.database_probe is None:
        container.database_probe = DatabaseProbe(container.engine)
    return await container.database_probe.check()


def pbx(container: Container) -> Component:
    link = container.link
    if link is None and container.settings.role == ProcessRole.WEB:
        return Component(True, "a web worker: the PBX link is the router process's (its /api/health)")
    if link is None:
        return Component(True, "no PBX configured (pbx: none): the service desk works without calls")
    elector = container.elector
    if elector is not None and not elector.fence.valid:  # 503: a load balancer sends the PBX elsewhere
        return Component(False, "a standby router: another one leads and holds the PBX link")
    health = link.health()
    return Component(health.up, health.reason, health.counters)


def each_pbx(container: Container) -> dict[str, Component]:
    """`pbx.<name>` per PBX when there are several (cti.multi): not critical, each alone."""
    link = container.link
    if not isinstance(link, MultiLink):
        return {}
    return {
        f"pbx.{name}": Component(health.up, health.reason, health.counters)
        for name, health in link.pbx_health().items()
    }


def scheduler(container: Container) -> Component:
    jobs = container.scheduler.get_jobs() if container.scheduler.running else []
    if not container.scheduler.running:
        return Component(False, "the job scheduler is not running: no SLA timers, retention or retries")
    return Component(True, f"running {len(jobs)} jobs", {"jobs": len(jobs)})


def bus(container: Container) -> Component:
    depths = container.bus.depths()
    stats = container.bus.stats
    counters = {
        "published": stats.published,
        "delivered": stats.delivered,
        "commands": stats.commands,
        "deepest_queue": max(depths, default=0),
        **{f"handler_errors.{name}": n for name, n in sorted(stats.handler_errors.items())},
    }
    full = [i for i, depth in enumerate(depths) if depth >= BUS_FULL * container.bus.capacity]
    if full:
        return Component(False, f"event queues {full} are nearly full: subscribers fall behind", counters)
    if stats.handler_errors:
        failing = ", ".join(sorted(stats.handler_errors))
        return Component(False, f"subscribers have failed on events (see the log): {failing}", counters)
    return Component(True, "keeping up", counters)


def router(container: Container) -> Component:
    ignored = container.router.ignored_events
    counters = {f"ignored_events.{reason}": n for reason, n in sorted(ignored.items())}
    return Component(True, f"{sum(ignored.values())} events could not apply (counted, not lost)", counters)


async def check(container: Container) -> tuple[int, dict[str, object]]:
    """(HTTP status, body) of the health report."""
    components = {
        "database": await database(container),
        "pbx": pbx(container),
        **each_pbx(container),
        "scheduler": scheduler(container),
        "bus": bus(container),
        "router": router(container),
    }
    if any(not components[name].ok and components[name].critical for name in CRITICAL):
        status, code = "down", 503
    elif all(c.ok for c in components.values()):
        status, code = "ok", 200
    else:
        status, code = "degraded", 200
    return code, {"status": status, "components": {k: c.as_dict() for k, c in components.items()}}
