"""Ticket search at N tickets and N customers, on SQLite and PostgreSQL, beside a plain lookup.

Data (built once per backend and reused while complete; `HOTLINE_BENCH_SEARCH_N` sets the size,
default 100,000 so that `make bench` builds it in a minute or two; the issue's figure is
`HOTLINE_BENCH_SEARCH_N=1000000`, about 20 minutes to build on a loaded 2-core box): N customers
with one mobile each, N tickets (ticket i belongs to customer i;
subject and description drawn from Chinese and English repair phrases plus a building/room
code, so a text matches tens to hundreds of tickets), and a note on every 5th ticket. Bulk
inserted into the migrated schema (SQLite: executemany, the FTS5 triggers on; PostgreSQL:
COPY, the trigram indexes dropped during the load and rebuilt after, as a bulk load would).

Measured through `ServiceDesk.search.page` (what the list page calls: candidates from the
indexes, then filters, count and the first page of 25), `SAMPLES` each, interleaved:
    phone     a customer's mobile typed as people do (`139 0001 2345`, `+86 139…`, `139-…`)
    text      a 3–6 character substring (Chinese or English) of subjects / notes
    common    a phrase in ~1/40 of all tickets (over the 5,000 candidate cap: the worst case)
    lookup    baseline: one ticket by primary key through a fresh session (the same stack)
Goal: phone and text p99 <= 50 ms on both databases.
"""

from __future__ import annotations

import asyncio
import io
import os
import random
import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

N = int(os.environ.get("HOTLINE_BENCH_SEARCH_N", "100000"))
SAMPLES = 300
SQLITE_PATH = Path(f"var/bench/search-{N}.db")
PG_ADMIN = os.environ.get("HOTLINE_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
PG_DB = f"hotline_bench_search_{N}"

PLACES = [
    "电梯",
    "水管",
    "空调",
    "门禁",
    "停车场",
    "供暖",
    "燃气表",
    "路灯",
    "lift",
    "boiler",
    "roof",
    "gate",
]
FAULTS = ["故障", "漏水", "异响", "不制冷", "无法开启", "照明损坏", "broken", "leaking", "noisy", "stuck"]
DETAILS = [
    "业主来电报修",
    "需要上门检查",
    "客户很着急",
    "please call before visiting",
    "second report this week",
]


def subject(i: int) -> str:
    return f"{PLACES[i % len(PLACES)]}{FAULTS[(i // 12) % len(FAULTS)]} {i % 997}栋{(i // 997) % 40}室"


def description(i: int) -> str:
    return f"{DETAILS[i % len(DETAILS)]}，编号 R{i % 20011:05d}"


def mobile(i: int) -> str:
    return f"+86139{i:08d}"


def typed(i: int) -> str:
    national = mobile(i)[3:]
    forms = [
        f"{national[:3]} {national[3:7]} {national[7:]}",
        "+86 " + national,
        f"{national[:3]}-{national[3:7]}-{national[7:]}",
        national,
    ]
    return forms[i % len(forms)]


def text_query(rng: random.Random) -> str:
    i = rng.randrange(1, N + 1)
    return rng.choice(
        [
            f"{i % 997}栋{(i // 997) % 40}室",
            f"R{i % 20011:05d}",
            f"{PLACES[i % len(PLACES)]}{FAULTS[(i // 12) % len(FAULTS)]} {i % 997}栋",
        ]
    )


def rows(now: str) -> tuple[Any, Any, Any, Any]:
    customers = ((i, f"客户{i}", "ordinary", now, now) for i in range(1, N + 1))
    phones = ((i, mobile(i), mobile(i)) for i in range(1, N + 1))
    tickets = (
        (
            i,
            subject(i),
            description(i),
            "general",
            "normal",
            i,
            mobile(i),
            "reported" if i % 3 else "accepted",
            now,
            now,
        )
        for i in range(1, N + 1)
    )
    notes = (
        (i // 5, i // 5, now, "note", "1001", f"已联系客户 {PLACES[i % 12]} 维修 W{i:07d}")
        for i in range(5, N + 1, 5)
    )
    return customers, phones, tickets, notes


# ---------------------------------------------------------------- SQLite


def build_sqlite() -> float:
    if SQLITE_PATH.exists():
        with sqlite3.connect(SQLITE_PATH) as conn:
            try:
                if conn.execute("SELECT max(id) FROM ticket").fetchone()[0] == N:
                    from agent_ui.migrate import upgrade

                    upgrade(f"sqlite+aiosqlite:///{SQLITE_PATH}")  # later migrations, if any
                    return 0.0
            except sqlite3.Error:
                pass
        SQLITE_PATH.unlink()
    from agent_ui.migrate import upgrade

    SQLITE_PATH.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    upgrade(f"sqlite+aiosqlite:///{SQLITE_PATH}")
    now = datetime.now(UTC).replace(tzinfo=None).isoformat(sep=" ")
    customers, phones, tickets, notes = rows(now)
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
    conn.executemany(
        "INSERT INTO ticket_event (id, ticket_id, at, kind, actor, note, data)"
        " VALUES (?, ?, ?, ?, ?, ?, '{}')",
        notes,
    )
    conn.commit()
    conn.execute("ANALYZE")
    conn.commit()
    conn.close()
    return time.perf_counter() - started


# ---------------------------------------------------------------- PostgreSQL


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
    url = PG_ADMIN.rsplit("/", 1)[0] + "/" + PG_DB
    with admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (PG_DB,)).fetchone()
        if exists:
            with psycopg.connect(url) as conn:
                try:
                    if conn.execute("SELECT max(id) FROM ticket").fetchone()[0] == N:  # type: ignore[index]
                        from agent_ui.migrate import upgrade

                        upgrade(url.replace("postgresql://", "postgresql+psycopg://"))
                        return 0.0
                except psycopg.Error:
                    pass
            admin.execute(f'DROP DATABASE "{PG_DB}"')
        admin.execute(f'CREATE DATABASE "{PG_DB}"')
    from agent_ui.migrate import upgrade

    started = time.perf_counter()
    upgrade(url.replace("postgresql://", "postgresql+psycopg://"))
    now = datetime.now(UTC).isoformat()
    customers, phones, tickets, notes = rows(now)
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
        _copy(
            cur,
            "COPY ticket_event (id, ticket_id, at, kind, actor, note, data) FROM STDIN",
            ((*r, "{}") for r in notes),
        )
        cur.execute("SET maintenance_work_mem = '512MB'")
        cur.execute("CREATE INDEX ix_ticket_subject_trgm ON ticket USING gin (subject gin_trgm_ops)")
        cur.execute("CREATE INDEX ix_ticket_description_trgm ON ticket USING gin (description gin_trgm_ops)")
        cur.execute("CREATE INDEX ix_ticket_event_note_trgm ON ticket_event USING gin (note gin_trgm_ops)")
        for table in ("customer", "customer_phone", "ticket", "ticket_event"):
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


async def measure(url: str) -> dict[str, tuple[float, float]]:
    from config.database import create_engine, session_factory
    from tickets.access import Viewer
    from tickets.models import Ticket
    from tickets.search import TicketQuery, Who
    from tickets.service import ServiceDesk

    engine = create_engine(url)
    sessions = session_factory(engine)
    desk = ServiceDesk(sessions, region="CN")
    who = Who(Viewer("sup", "supervisor"))
    rng = random.Random(7)
    times: dict[str, list[float]] = {"phone": [], "text": [], "common": [], "lookup": []}
    matched: dict[str, int] = {k: 0 for k in times}

    async def phone() -> int:
        page = await desk.search.page(TicketQuery(text=typed(rng.randrange(1, N + 1)), limit=25), who)
        return page.total

    async def text() -> int:
        return (await desk.search.page(TicketQuery(text=text_query(rng), limit=25), who)).total

    async def common() -> int:
        return (await desk.search.page(TicketQuery(text=rng.choice(FAULTS[:6]), limit=25), who)).total

    async def lookup() -> int:
        async with sessions() as session:
            return 1 if await session.get(Ticket, rng.randrange(1, N + 1)) is not None else 0

    steps = {"phone": phone, "text": text, "common": common, "lookup": lookup}
    try:
        for _ in range(20):  # warm-up
            for step in steps.values():
                await step()
        for i in range(SAMPLES):
            for name, step in steps.items():
                if name == "common" and i % 5:
                    continue  # the slow case: fewer samples
                started = time.perf_counter()
                matched[name] += await step()
                times[name].append(time.perf_counter() - started)
    finally:
        desk.close()
        await engine.dispose()
    for name in times:
        print(f"  {name:<7} matched {matched[name] / max(1, len(times[name])):8.1f} tickets on average")
    return {name: pct(samples) for name, samples in times.items()}


def report(backend: str, results: dict[str, tuple[float, float]]) -> bool:
    """The figures beside the same run's lookup: on a shared machine the ratio is what holds."""
    base50, base99 = results["lookup"]
    print(f"{backend:<10} {'p50 ms':>8} {'p99 ms':>8} {'p50 x lookup':>13} {'p99 x lookup':>13}")
    for name, (p50, p99) in results.items():
        print(f"  {name:<8} {p50:8.2f} {p99:8.2f} {p50 / base50:13.1f} {p99 / base99:13.1f}")
    ok = results["phone"][1] <= 50 and results["text"][1] <= 50
    print(
        f"  phone/text p99 {'OK' if ok else 'ABOVE'} the 50 ms goal"
        f" (load average now {os.getloadavg()[0]:.1f})"
    )
    return ok


def main() -> None:
    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; N = {N:,}")
    built = build_sqlite()
    print(f"SQLite: {N:,} tickets and customers ({f'built in {built:.0f} s' if built else 'reused'})")
    print(f"load average before measuring: {os.getloadavg()[0]:.1f}")
    report("sqlite", asyncio.run(measure(f"sqlite+aiosqlite:///{SQLITE_PATH}")))
    pg = build_postgres()
    if pg is None:
        print("PostgreSQL: not reachable, skipped")
    else:
        print(f"PostgreSQL: {N:,} tickets and customers ({f'built in {pg:.0f} s' if pg else 'reused'})")
        url = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + "/" + PG_DB
        print(f"load average before measuring: {os.getloadavg()[0]:.1f}")
        report("postgresql", asyncio.run(measure(url)))
    print(f"load average at end: {os.getloadavg()[0]:.1f}")


__all__ = ["io", "main"]

if __name__ == "__main__":
    main()
