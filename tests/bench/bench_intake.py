"""Taking an incoming call at N customers and N tickets, on SQLite and PostgreSQL, beside the phone match.

`CallDesk.on_call_offered` is what the bus runs ahead of the router for every offered call: match
the caller, open or join their ticket (ticket, call link, timeline, hash-chained audit entries in
one transaction), and build the `CallContext` the pop shows. Measured per call, interleaved:
    match   baseline: `ServiceDesk.customers.match` alone (normalise + one indexed query)
    new     a known caller with an IVR choice of a category they have no open ticket of: a ticket
            is opened (the customer's card, their recent tickets and open count on the pop)
    join    a caller of an earlier `new` call calls again: their open ticket gets the call
    unknown a number no customer has: a ticket is opened for the number
Goal (#18): intake p99 <= 2 ms at N = 10^6 on both databases. Beside wall time, `CPU ms` is the
mean process CPU time per call (`time.process_time`, every thread: the writer thread's too), which
a loaded shared host inflates far less than it does p99.

Data (built once per backend and size, reused while its N customers are there; the calls the
bench adds stay, a few thousand per run): N customers with a mobile each and N tickets (ticket i
of customer i), as `bench_search` builds them (the same rows, without the notes).
`HOTLINE_BENCH_INTAKE_N` sets N, default 100,000 (a minute to build); the issue's size is
`HOTLINE_BENCH_INTAKE_N=1000000 python -m tests.bench intake` (~5 minutes on a quiet 2-core box).
"""

from __future__ import annotations

import asyncio
import gc
import os
import random
import sqlite3
import subprocess
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.bench.bench_search import description, mobile, subject

N = int(os.environ.get("HOTLINE_BENCH_INTAKE_N", "100000"))
SAMPLES = int(os.environ.get("HOTLINE_BENCH_INTAKE_SAMPLES", "500"))
SQLITE_PATH = Path(f"var/bench/intake-{N}.db")
PG_ADMIN = os.environ.get("HOTLINE_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
PG_DB = f"hotline_bench_intake_{N}"
IVR = {"1": "general", "2": "repair"}


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


# ---------------------------------------------------------------- building


def rows(now: str) -> tuple[Any, Any, Any]:
    customers = ((i, f"客户{i}", "ordinary", now, now) for i in range(1, N + 1))
    phones = ((i, mobile(i), mobile(i)) for i in range(1, N + 1))
    state = ("accepted", "reported", "reported")
    tickets = (
        (i, subject(i), description(i), "general", "normal", i, mobile(i), state[i % 3], now, now)
        for i in range(1, N + 1)
    )
    return customers, phones, tickets


def _complete_sqlite() -> bool:
    if not SQLITE_PATH.exists():
        return False
    with sqlite3.connect(SQLITE_PATH) as conn:
        try:
            return bool(conn.execute("SELECT max(id) FROM customer").fetchone()[0] == N)
        except sqlite3.Error:
            return False


def build_sqlite() -> float:
    from agent_ui.migrate import upgrade

    url = f"sqlite+aiosqlite:///{SQLITE_PATH}"
    if _complete_sqlite():
        upgrade(url)  # later migrations, if any
        return 0.0
    SQLITE_PATH.unlink(missing_ok=True)
    SQLITE_PATH.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    upgrade(url)
    now = datetime.now(UTC).replace(tzinfo=None).isoformat(sep=" ")
    customers, phones, tickets = rows(now)
    conn = sqlite3.connect(SQLITE_PATH)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    conn.executemany(
        "INSERT INTO customer (id, name, company, tier, address, email, notes, created_at, updated_at)"
        " VALUES (?, ?, '', ?, '', '', '', ?, ?)",
        customers,
    )
    conn.executemany(
        "INSERT INTO customer_phone (customer_id, e164, extension, raw, label) VALUES (?, ?, '', ?, '')",
        phones,
    )
    conn.executemany(
        "INSERT INTO ticket (id, subject, description, category, priority, customer_id, caller_e164, state,"
        " version, created_at, updated_at, is_complaint, flagged)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, 0, 0)",
        tickets,
    )
    conn.commit()
    conn.execute("ANALYZE")
    conn.commit()
    conn.close()
    return time.perf_counter() - started


def _copy(cur: Any, sql: str, data: Any) -> None:
    with cur.copy(sql) as copy:
        for row in data:
            copy.write_row(row)


def build_postgres() -> float | None:
    try:
        import psycopg
    except ImportError:
        return None
    try:
        admin = psycopg.connect(PG_ADMIN, autocommit=True)
    except psycopg.Error:
        return None
    from agent_ui.migrate import upgrade

    url = PG_ADMIN.rsplit("/", 1)[0] + "/" + PG_DB
    with admin:
        if admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (PG_DB,)).fetchone():
            with psycopg.connect(url) as conn:
                try:
                    if conn.execute("SELECT max(id) FROM customer").fetchone()[0] == N:  # type: ignore[index]
                        upgrade(url.replace("postgresql://", "postgresql+psycopg://"))
                        return 0.0
                except psycopg.Error:
                    pass
            admin.execute(f'DROP DATABASE "{PG_DB}"')
        admin.execute(f'CREATE DATABASE "{PG_DB}"')
    started = time.perf_counter()
    upgrade(url.replace("postgresql://", "postgresql+psycopg://"))
    now = datetime.now(UTC).isoformat()
    customers, phones, tickets = rows(now)
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        cur.execute(
            "DROP INDEX ix_ticket_subject_trgm, ix_ticket_description_trgm, ix_ticket_event_note_trgm"
        )
        _copy(
            cur,
            "COPY customer (id, name, tier, created_at, updated_at, company, address, email, notes)"
            " FROM STDIN",
            ((*r, "", "", "", "") for r in customers),
        )
        _copy(
            cur,
            "COPY customer_phone (customer_id, e164, raw, extension, label) FROM STDIN",
            ((*r, "", "") for r in phones),
        )
        _copy(
            cur,
            "COPY ticket (id, subject, description, category, priority, customer_id, caller_e164, state,"
            " created_at, updated_at, version, is_complaint, flagged) FROM STDIN",
            ((*r, 1, False, False) for r in tickets),
        )
        cur.execute("SET maintenance_work_mem = '512MB'")
        cur.execute("CREATE INDEX ix_ticket_subject_trgm ON ticket USING gin (subject gin_trgm_ops)")
        cur.execute("CREATE INDEX ix_ticket_description_trgm ON ticket USING gin (description gin_trgm_ops)")
        cur.execute("CREATE INDEX ix_ticket_event_note_trgm ON ticket_event USING gin (note gin_trgm_ops)")
        for table in ("customer", "customer_phone", "ticket"):
            cur.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
            )
        conn.commit()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    return time.perf_counter() - started


# ---------------------------------------------------------------- measuring


def pct(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return ordered[len(ordered) // 2] * 1000, ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] * 1000


def offered(caller: str, ivr: str | None) -> Any:
    from routing.events import CallEvent, CallEventKind

    call_id = uuid.uuid4().hex
    return CallEvent(
        call_id=call_id,
        kind=CallEventKind.OFFERED,
        at=datetime.now(UTC),
        event_id=f"{call_id}:offered",
        source="bench",
        caller=caller,
        caller_name="Bench Caller",
        queue="support",
        ivr_choice=ivr,
    )


async def measure(url: str, samples: int = SAMPLES, profile: str | None = None) -> dict[str, Any]:
    """Interleaved samples of each step; `profile` writes a cProfile of the intake calls there."""
    from config.database import create_engine, session_factory
    from tickets.config import DeskConfig
    from tickets.service import ServiceDesk

    engine = create_engine(url)
    sessions = session_factory(engine)
    desk = ServiceDesk(sessions, config=DeskConfig(region="CN", ivr_categories=IVR))
    rng = random.Random()  # a fresh set of callers each run: earlier runs' tickets stay
    times: dict[str, list[float]] = {"match": [], "new": [], "join": [], "unknown": []}
    cpu: dict[str, list[float]] = {name: [] for name in times}  # process CPU (every thread)
    outcome = {"new": 0, "join": 0, "unknown": 0}
    called: list[str] = []

    def caller() -> str:
        return mobile(rng.randrange(1, N + 1))[3:]  # the national form, as a trunk sends it

    async def match() -> None:
        await desk.customers.match(caller())

    async def new() -> None:
        number = caller()
        called.append(number)
        context = await desk.calls.on_call_offered(offered(number, "2"))
        outcome["new"] += context.ticket_is_new and len(context.customers) == 1

    async def join() -> None:
        number = called[rng.randrange(len(called))]
        context = await desk.calls.on_call_offered(offered(number, "2"))
        outcome["join"] += not context.ticket_is_new

    async def unknown() -> None:
        number = f"0755{rng.randrange(10**7, 10**8)}"
        context = await desk.calls.on_call_offered(offered(number, None))
        outcome["unknown"] += context.ticket_is_new and not context.customers

    steps = {"match": match, "new": new, "join": join, "unknown": unknown}
    profiler = None
    try:
        for _ in range(30):  # warm-up: connections, statement caches
            for step in steps.values():
                await step()
        outcome = {k: 0 for k in outcome}
        if profile:
            import cProfile

            profiler = cProfile.Profile()
        gc.collect()
        for _ in range(samples):
            for name, step in steps.items():
                if profiler is not None and name != "match":
                    profiler.enable()
                started, cpu_started = time.perf_counter(), time.process_time()
                await step()
                times[name].append(time.perf_counter() - started)
                cpu[name].append(time.process_time() - cpu_started)
                if profiler is not None:
                    profiler.disable()
    finally:
        desk.close()
        await engine.dispose()
    if profiler is not None and profile:
        profiler.dump_stats(profile)
    result: dict[str, Any] = {name: pct(s) for name, s in times.items()}
    intake = times["new"] + times["join"] + times["unknown"]
    result["intake"] = pct(intake)
    cpu["intake"] = cpu["new"] + cpu["join"] + cpu["unknown"]
    result["cpu"] = {name: sum(c) / len(c) * 1000 for name, c in cpu.items()}
    result["outcome"] = outcome
    return result


def report(backend: str, results: dict[str, Any]) -> bool:
    base50, base99 = results["match"]
    print(
        f"  {backend:<11} {'p50 ms':>8} {'p99 ms':>8} {'p50 x match':>12} {'p99 x match':>12} {'CPU ms':>8}"
    )
    for name in ("match", "new", "join", "unknown", "intake"):
        p50, p99 = results[name]
        print(
            f"  {name:<11} {p50:8.3f} {p99:8.3f} {p50 / base50:12.1f} {p99 / base99:12.1f}"
            f" {results['cpu'][name]:8.3f}"
        )
    o = results["outcome"]
    print(
        f"  of {SAMPLES} each: new opened {o['new']}, join joined {o['join']}, unknown opened {o['unknown']}"
    )
    ok = bool(results["intake"][1] <= 2.0)
    print(f"  intake p99 {'OK' if ok else 'ABOVE'} the 2 ms goal (load average {loadavg()})")
    return ok


def main() -> None:
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout
    print(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, commit {commit.strip()}, N = {N:,}, load {loadavg()}")
    built = build_sqlite()
    print(f"SQLite: {N:,} customers and tickets ({f'built in {built:.0f} s' if built else 'reused'})")
    report("sqlite", asyncio.run(measure(f"sqlite+aiosqlite:///{SQLITE_PATH}")))
    pg = build_postgres()
    if pg is None:
        print("PostgreSQL: not reachable, skipped")
    else:
        print(f"PostgreSQL: {N:,} customers and tickets ({f'built in {pg:.0f} s' if pg else 'reused'})")
        url = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + "/" + PG_DB
        report("postgresql", asyncio.run(measure(url)))
    print(f"load average at end: {loadavg()}")


if __name__ == "__main__":
    main()
