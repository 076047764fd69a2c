"""Customer CSV import beside `executemany` of the same rows, on SQLite and PostgreSQL.

Input: a CSV file of N customers under var/bench/ (written once per size, reused): a
Chinese name, a company, a national mobile number (every 3rd one typed with spaces,
`139 0001 2345`), every 10th customer also a Beijing landline `010-6…` shared with nine
others, a tier, an e-mail.

  hotline      `tickets.csv_io.import_customers` as `hotline customers import` runs it:
               read + parse the CSV, validate every row, normalise every number, upsert in
               batches of `BATCH` (one transaction, one audit entry and the file's progress
               row each)
  executemany  baseline: the same customer and phone rows, already built in memory, inserted
               by the driver's `executemany` (sqlite3 / psycopg) in one transaction into the
               same migrated schema: the cost of the data alone

Each round starts from an empty migrated database (SQLite: a copy of a template file with the
app's pragmas; PostgreSQL: a database of its own, truncated). Rounds alternate A B B A.
Reported: seconds and rows/s per round, hotline / executemany per pair and of the medians.
Goal (#18): within 3x at 1,000,000 rows.

Size: `HOTLINE_BENCH_IMPORT_ROWS` (default 50,000, a few minutes with both backends on a
loaded 2-core machine); the 10^6 figure in docs/BENCHMARKS.md is
`HOTLINE_BENCH_IMPORT_ROWS=1000000 python -m tests.bench import` (~10 minutes per backend
here). PostgreSQL: `HOTLINE_BENCH_PG_URL` (default the local test server); skipped when it
does not answer.
"""

from __future__ import annotations

import asyncio
import csv
import os
import shutil
import sqlite3
import statistics
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH_DIR = Path("var/bench")
ROWS = int(os.environ.get("HOTLINE_BENCH_IMPORT_ROWS", "50000"))
PG_SERVER = os.environ.get("HOTLINE_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
ROUNDS = os.environ.get("HOTLINE_BENCH_IMPORT_ROUNDS", "executemany,hotline,hotline,executemany").split(",")
TIERS = ["ordinary"] * 6 + ["vip", "strategic", "profitable", "risk"]


def _national(i: int) -> str:
    return f"139{i:08d}"


def _landline(i: int) -> str:
    return f"6{(i // 10) % 10_000_000:07d}"


def rows(n: int) -> Iterator[tuple[str, str, list[tuple[str, str]], str, str]]:
    """(name, company, [(raw, e164)], tier, email) for customers 0..n-1."""
    for i in range(n):
        mobile = _national(i)
        raw = f"{mobile[:3]} {mobile[3:7]} {mobile[7:]}" if i % 3 == 0 else mobile
        phones = [(raw, "+86" + mobile)]
        if i % 10 == 0:
            phones.append((f"010-{_landline(i)}", "+8610" + _landline(i)))
        yield f"客户{i}", f"公司{i % 5000}", phones, TIERS[i % 10], f"c{i}@example.cn"


def csv_file(n: int) -> Path:
    path = BENCH_DIR / f"customers-{n}.csv"
    if path.exists():
        return path
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".part")
    with partial.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["name", "company", "phones", "tier", "email"])
        for name, company, phones, tier, email in rows(n):
            writer.writerow([name, company, "; ".join(raw for raw, _ in phones), tier, email])
    partial.rename(path)
    return path


# ---------------------------------------------------------------- backends


class Backend:
    name: str
    url: str
    last: tuple[float, float] = (0.0, 0.0)  # wall, CPU of the last executemany

    def fresh(self) -> str:  # an empty migrated database; returns its SQLAlchemy URL
        raise NotImplementedError

    def executemany(self, n: int) -> None:
        raise NotImplementedError

    def count(self) -> int:
        raise NotImplementedError

    def close(self) -> None:
        pass


def _baseline_rows(n: int, now: Any) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    customers: list[tuple[Any, ...]] = []
    phones: list[tuple[Any, ...]] = []
    for i, (name, company, numbers, tier, email) in enumerate(rows(n), start=1):
        customers.append((i, name, company, tier, "", email, "", "[]", 1, now, now, numbers[0][1]))
        phones.extend((i, e164, "", raw, "") for raw, e164 in numbers)
    return customers, phones


_CUSTOMER_COLUMNS = (
    "id, name, company, tier, address, email, notes, tags, version, created_at, updated_at, primary_phone"
)
_PHONE_COLUMNS = "customer_id, e164, extension, raw, label"


class Sqlite(Backend):
    name = "SQLite"

    def __init__(self) -> None:
        from agent_ui.migrate import upgrade

        BENCH_DIR.mkdir(parents=True, exist_ok=True)
        self.template = BENCH_DIR / f"import-template-{os.getpid()}.db"
        self.path = BENCH_DIR / f"import-{os.getpid()}.db"
        upgrade(f"sqlite+aiosqlite:///{self.template}")

    def fresh(self) -> str:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)
        shutil.copyfile(self.template, self.path)
        return f"sqlite+aiosqlite:///{self.path}"

    def executemany(self, n: int) -> None:
        now = datetime.now(UTC).replace(tzinfo=None).isoformat(sep=" ")
        customers, phones = _baseline_rows(n, now)
        conn = sqlite3.connect(self.path)
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON"):  # the app's
            conn.execute(f"PRAGMA {pragma}")
        started, cpu = time.perf_counter(), time.process_time()
        with conn:
            conn.executemany(
                f"INSERT INTO customer ({_CUSTOMER_COLUMNS}) VALUES ({', '.join('?' * 12)})", customers
            )
            conn.executemany(f"INSERT INTO customer_phone ({_PHONE_COLUMNS}) VALUES (?, ?, ?, ?, ?)", phones)
        self.last = time.perf_counter() - started, time.process_time() - cpu
        conn.close()

    def count(self) -> int:
        with sqlite3.connect(self.path) as conn:
            return int(conn.execute("SELECT count(*) FROM customer").fetchone()[0])

    def close(self) -> None:
        for path in (self.template, self.path):
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)


class Postgres(Backend):
    name = "PostgreSQL"

    def __init__(self) -> None:
        import psycopg
        from sqlalchemy.engine import make_url

        from agent_ui.migrate import upgrade

        self.server = make_url(PG_SERVER)
        self.db = f"hotline_bench_import_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        with psycopg.connect(self._libpq(self.server.database), autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE DATABASE "{self.db}"')
        self.url = self.server.set(database=self.db).render_as_string(hide_password=False)
        upgrade(self.url)

    def _libpq(self, database: str | None) -> str:
        return self.server.set(drivername="postgresql", database=database).render_as_string(
            hide_password=False
        )

    def _connect(self) -> Any:
        import psycopg

        return psycopg.connect(self._libpq(self.db))

    def fresh(self) -> str:
        from agent_ui.schema import metadata

        tables = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
        with self._connect() as conn:
            conn.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
        return self.url

    def executemany(self, n: int) -> None:
        now = datetime.now(UTC)
        customers, phones = _baseline_rows(n, now)
        started, cpu = time.perf_counter(), time.process_time()
        with self._connect() as conn, conn.cursor() as cur:
            cur.executemany(
                f"INSERT INTO customer ({_CUSTOMER_COLUMNS}) VALUES ({', '.join(['%s'] * 12)})", customers
            )
            cur.executemany(
                f"INSERT INTO customer_phone ({_PHONE_COLUMNS}) VALUES (%s, %s, %s, %s, %s)", phones
            )
        self.last = time.perf_counter() - started, time.process_time() - cpu

    def count(self) -> int:
        with self._connect() as conn:
            return int(conn.execute("SELECT count(*) FROM customer").fetchone()[0])

    def close(self) -> None:
        import psycopg

        with psycopg.connect(self._libpq(self.server.database), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.db}" WITH (FORCE)')


# ---------------------------------------------------------------- the import


async def _hotline(url: str, path: Path) -> tuple[tuple[float, float], int, int]:
    from config.database import create_engine, session_factory
    from tickets.csv_io import ImportSource, file_digest, import_customers, read_rows
    from tickets.lifecycle import Actor
    from tickets.service import ServiceDesk

    engine = create_engine(url)
    try:
        desk = ServiceDesk(session_factory(engine), region="CN")
        started, cpu = time.perf_counter(), time.process_time()
        source = ImportSource(file_digest(path), path.name)
        with path.open(encoding="utf-8-sig", newline="") as stream:
            report = await import_customers(
                desk.ctx, read_rows(stream), actor=Actor("bench", "admin"), source=source
            )
        elapsed = time.perf_counter() - started, time.process_time() - cpu
        desk.close()
        return elapsed, report.imported, len(report.errors)
    finally:
        await engine.dispose()


def _round(backend: Backend, kind: str, n: int, path: Path) -> tuple[float, float]:
    url = backend.fresh()
    if kind == "executemany":
        backend.executemany(n)
        elapsed = backend.last
    else:
        elapsed, imported, errors = asyncio.run(_hotline(url, path))
        assert imported == n and errors == 0, (imported, errors)
    assert backend.count() == n, backend.count()
    return elapsed


Times = dict[str, list[tuple[float, float]]]


def measure(backend: Backend, n: int, path: Path, say: Callable[[str], None]) -> Times:
    times: Times = {"executemany": [], "hotline": []}
    for kind in ROUNDS:
        wall, cpu = _round(backend, kind, n, path)
        times[kind].append((wall, cpu))
        load = os.getloadavg()[0]
        say(
            f"  {backend.name:10} {kind:11} {wall:8.2f} s  {n / wall:9,.0f} rows/s  "
            f"CPU of this process {cpu:8.2f} s  (load {load:.1f})"
        )
    return times


def main() -> None:
    n = ROWS
    started = time.perf_counter()
    path = csv_file(n)
    size = path.stat().st_size / 1e6
    print(f"{n:,} customers in {path} ({size:.1f} MB, {time.perf_counter() - started:.1f} s)")
    print(f"load average at start: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    results: list[tuple[str, Times]] = []
    for factory in (Sqlite, Postgres):
        try:
            backend = factory()
        except Exception as exc:  # PostgreSQL not running: say so, measure the rest
            print(f"  {factory.name}: skipped ({type(exc).__name__}: {exc})")
            continue
        try:
            results.append((backend.name, measure(backend, n, path, lambda s: print(s, flush=True))))
        finally:
            backend.close()
    print(f"load average at end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(
        f"\n{'backend':14} {'executemany s':>13} {'hotline s':>10} {'ratio (medians)':>16} {'per pair':>14}"
    )
    for name, times in results:
        for label, index in (("wall", 0), ("CPU", 1)):
            firsts = [t[index] for t in times["executemany"]]
            base = statistics.median(firsts)
            ours = statistics.median(t[index] for t in times["hotline"])
            pairs = [h[index] / b for h, b in zip(times["hotline"], reversed(firsts), strict=False)]
            print(
                f"{name + ' ' + label:14} {base:13.2f} {ours:10.2f} {ours / base:15.2f}x "
                f"{' '.join(f'{p:.2f}x' for p in pairs):>14}"
            )
    print("(CPU: of the bench process only, the import's own work; on PostgreSQL the server's is not in it)")
    print("goal: hotline within 3x of executemany at 1,000,000 rows")
