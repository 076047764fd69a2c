"""`GET /api/health`: each component with a reason, and 503 when Hotline cannot take calls.

    200 {"status": "ok", "components": {...}}        everything works
    200 {"status": "degraded", ...}                  calls go on; something needs a look
    503 {"status": "down", ...}                      the PBX link or the database is down

A load balancer or an operator reads the status; a person reads the reasons.
Components: `database` (a `SELECT 1` on a connection of its own: `agent_ui.dbprobe`), `pbx` (the telephony
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

from typing import TYPE_CHECKING

from agent_ui.dbprobe import DATABASE_DOWN_AFTER_S, DATABASE_TIMEOUT_S, Component, DatabaseProbe
from config.settings import ProcessRole
from cti.multi import MultiLink

if TYPE_CHECKING:
    from agent_ui.bootstrap import Container

BUS_FULL = 0.9  # a shard this full means the subscribers cannot keep up with the PBX
CRITICAL = ("database", "pbx")
__all__ = ["DATABASE_DOWN_AFTER_S", "DATABASE_TIMEOUT_S", "Component", "DatabaseProbe", "check"]


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
