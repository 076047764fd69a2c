"""/api/health's database probe (`agent_ui.health`'s `database` component) and `Component`.

Apart from `agent_ui.health` so that the composition root can hold the probe without importing
the health report (which reads the composition root's container).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

DATABASE_TIMEOUT_S = 2.0  # one probe's bound: slower is "degraded" (200), not yet "down"
DATABASE_DOWN_AFTER_S = 10.0  # no answer for this long, however slow the probes: "down" (503)


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
