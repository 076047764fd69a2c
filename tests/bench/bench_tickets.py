"""Service desk: caller lookup at 10^6 customers, and the ticket read API beside a bare endpoint.

1. Lookup. A SQLite file under var/bench/ holds 1,000,000 customers with 1,100,000 phone
   numbers (every 10th customer also has a landline shared with nine others), bulk-inserted
   with executemany into the migrated schema (built once, reused by later runs). Measured,
   each step on its own, for 20,000 caller ids in the forms networks send (national,
   +86, 0086, leading 0, spaced):
     match      `ServiceDesk.customers.match`: normalise the caller id (phonenumbers) + one
                indexed `IN` query on the desk's read connection (`tickets.reads`) — what a
                call costs
     match-aio  the same through a fresh AsyncSession (aiosqlite worker thread + SQLAlchemy's
                async bridge): the path inside write transactions, and the shape of PostgreSQL's
     records    `CustomerDirectory.find_by_phone`: match plus the customer rows and phones
     sqlite3    baseline: the indexed query alone on a plain sqlite3 connection
   Goal: match p99 <= 1 ms.

2. Read API. The real app (session auth, error registry, SQLite) in a uvicorn subprocess.
   Requests/s of `GET /api/tickets/{id}` (random ids among 1,000 tickets, signed in as an
   agent: the session cookie is decoded, the role checked, the row read and serialised
   through the response model) beside `GET /bench/bare`, a bare FastAPI endpoint added to the
   same app right before the desk's routes, returning a dict of the same size: same server,
   same middleware (the same cookie sent, so the session is decoded for it too), same route
   matching up to the desk's routes; no auth, no database.
   The load comes from a separate process (`loadgen`): 32 keep-alive connections, one request
   in flight each, prebuilt request bytes, replies parsed only for status and length; it
   uses ~10% of a core where aiohttp used most of one, so the server has the other core
   to itself. Rounds are interleaved in ABBA pairs (bare ticket, ticket bare, ...) after a
   warm-up of each. Reported per round: rate, p99, the server's CPU time per request
   (/proc: noise-robust, the machine is shared) and the CPU shares of server and client.
   Goal: ticket >= 0.5x bare, on the median rates and on the median of per-pair ratios.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import random
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

N_CUSTOMERS = 1_000_000
LOOKUPS = 20_000
DB_PATH = Path("var/bench/tickets-1m.db")
API_DB = Path("var/bench/tickets-api.db")
CONCURRENCY = 32
ROUND_S = 2.0
PAIRS = 8
N_TICKETS = 1_000
LIST_LIMIT = 50
PG_SERVER = os.environ.get("HOTLINE_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def mobile(i: int) -> str:
    return f"+86139{i:08d}"


def landline(i: int) -> str:
    return f"+86106{(i // 10) % 10_000_000:07d}"


# ---------------------------------------------------------------- 1. lookup


def build_lookup_db(path: Path = DB_PATH, n: int = N_CUSTOMERS) -> float:
    """Migrated schema + n customers; reused when already complete. Returns build seconds."""
    url = f"sqlite+aiosqlite:///{path}"
    if path.exists():
        with sqlite3.connect(path) as conn:
            try:
                if conn.execute("SELECT count(*) FROM customer").fetchone()[0] == n:
                    return 0.0
            except sqlite3.Error:
                pass
        path.unlink()
    from agent_ui.migrate import upgrade

    path.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    upgrade(url)
    now = datetime.now(UTC).replace(tzinfo=None).isoformat(sep=" ")
    tiers = ["ordinary"] * 6 + ["vip", "strategic", "profitable", "risk"]
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    chunk = 100_000
    for start in range(0, n, chunk):
        ids = range(start + 1, min(start + chunk, n) + 1)
        conn.executemany(
            "INSERT INTO customer (id, name, company, tier, address, email, notes, tags, version,"
            " created_at, updated_at) VALUES (?, ?, ?, ?, '', '', '', '[]', 1, ?, ?)",
            ((i, f"客户{i}", f"公司{i % 5000}", tiers[i % 10], now, now) for i in ids),
        )
        phones = [(i, mobile(i), mobile(i)) for i in ids]
        phones += [(i, landline(i), landline(i)) for i in ids if i % 10 == 0]
        conn.executemany(
            "INSERT INTO customer_phone (customer_id, e164, extension, raw, label) VALUES (?, ?, '', ?, '')",
            phones,
        )
        conn.commit()
    conn.execute("ANALYZE")
    conn.commit()
    conn.close()
    return time.perf_counter() - started


def caller_forms(i: int) -> str:
    national = mobile(i)[3:]
    forms = [
        national,
        mobile(i),
        "00" + mobile(i)[1:],
        "0" + national,
        f"{national[:3]} {national[3:7]} {national[7:]}",
    ]
    return forms[i % len(forms)]


def percentiles(samples: list[float]) -> tuple[float, float, float]:
    ordered = sorted(samples)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000  # noqa: E731
    return pick(0.5), pick(0.99), pick(0.999)


async def measure_lookup(
    path: Path = DB_PATH, n: int = N_CUSTOMERS, lookups: int = LOOKUPS
) -> dict[str, tuple[float, float, float]]:
    from config.database import create_engine, session_factory
    from tickets.customers import customer_ids_for_caller
    from tickets.service import ServiceDesk

    rng = random.Random(7)
    picks = [rng.randrange(1, n + 1) for _ in range(lookups)]
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    sessions = session_factory(engine)
    desk = ServiceDesk(sessions, region="CN")
    results: dict[str, tuple[float, float, float]] = {}
    try:
        for i in picks[:500]:  # warm the pool, the statement cache and the page cache
            await desk.customers.match(caller_forms(i))
            async with sessions() as session:
                await customer_ids_for_caller(session, caller_forms(i), "CN")
        samples = []
        for i in picks:
            t0 = time.perf_counter()
            found = await desk.customers.match(caller_forms(i))
            samples.append(time.perf_counter() - t0)
            assert i in found, (i, caller_forms(i), found)
        results["match"] = percentiles(samples)
        samples = []
        for i in picks[: lookups // 4]:
            t0 = time.perf_counter()
            async with sessions() as session:
                found = await customer_ids_for_caller(session, caller_forms(i), "CN")
            samples.append(time.perf_counter() - t0)
            assert i in found
        results["match-aio"] = percentiles(samples)
        samples = []
        for i in picks[: lookups // 4]:
            t0 = time.perf_counter()
            records = await desk.customers.find_by_phone(caller_forms(i))
            samples.append(time.perf_counter() - t0)
            assert records
        results["records"] = percentiles(samples)
    finally:
        desk.close()
        await engine.dispose()
    conn = sqlite3.connect(path)
    samples = []
    for i in picks:
        t0 = time.perf_counter()
        rows = conn.execute(
            "SELECT DISTINCT customer_id FROM customer_phone WHERE e164 IN (?) ORDER BY customer_id",
            (mobile(i),),
        ).fetchall()
        samples.append(time.perf_counter() - t0)
        assert rows
    conn.close()
    results["sqlite3"] = percentiles(samples)
    return results


# ---------------------------------------------------------------- 2. read API


def serve(database_url: str, port: int) -> None:
    """Run in a subprocess: the real app plus /bench/bare, on 127.0.0.1:port."""
    import uvicorn

    from agent_ui.api import desk as desk_api
    from agent_ui.app import create_app
    from agent_ui.bootstrap import build
    from agent_ui.migrate import upgrade
    from agent_ui.seed import seed_demo
    from config.settings import load_settings
    from tickets.lifecycle import Actor
    from tickets.schemas import TicketCreate

    settings = load_settings(
        database_url=database_url, session_secret="bench-secret-7d1e9a-3c5f0b8e2a6d41f9", pbx="none"
    )
    upgrade(database_url)
    container = build(settings)

    async def prepare() -> None:
        await seed_demo(container.sessions, container.callcenter, settings.default_region)
        for n in range(N_TICKETS):
            await container.desk.tickets.create(
                TicketCreate(subject=f"电梯故障 {n}", description="三号楼电梯停在 5 楼"), Actor("1001")
            )
        await container.engine.dispose()

    asyncio.run(prepare())
    list_body = asyncio.run(_list_page(container))
    app = create_app(settings, container=container, serving=True)  # as `hotline serve` runs it
    bare_body = {
        "id": 1, "subject": "电梯故障 1", "description": "三号楼电梯停在 5 楼", "category": "general",
        "priority": "normal", "customer_id": None, "caller_e164": None, "state": "reported", "queue": None,
        "owner_agent_id": None, "department_id": None, "is_complaint": False, "flagged": False,
        "flag_reason": "", "version": 1,
        "created_at": "2026-12-01T01:00:00Z", "updated_at": "2026-12-01T01:00:00Z",
        "resolved_at": None, "closed_at": None, "waiting_since": None, "sla_policy": None,
        "accept_due_at": None, "dispatch_due_at": None, "resolve_due_at": None, "sla_status": "none",
    }  # fmt: skip

    async def bare() -> dict[str, object]:
        return bare_body

    async def bare_list() -> dict[str, object]:
        return list_body

    # Matched where the desk's routes are: right before the first of them in the app's route
    # list (agent_ui.app adds them flat). Since #18's route index (agent_ui.route_index) a
    # request is tried only against the top-level routes its first two path segments can
    # match, so neither side pays for the routes before it: each pays its own lookup.
    first_desk = desk_api.router.routes[0].endpoint
    for path, endpoint in (("/bench/bare", bare), ("/bench/bare-list", bare_list)):
        app.add_api_route(path, endpoint, methods=["GET"])
        routes = app.router.routes
        desk_at = next(i for i, r in enumerate(routes) if getattr(r, "endpoint", None) is first_desk)
        routes.insert(desk_at, routes.pop())

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


async def _list_page(container: Any) -> dict[str, object]:
    """The first page of `GET /api/tickets` (50 tickets) as plain data: what bare-list returns."""
    page = await container.desk.timeline.search(limit=LIST_LIMIT)
    body: dict[str, object] = json.loads(page.model_dump_json())
    await container.engine.dispose()
    return body


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, all threads (Linux /proc; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class _Conn(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection, one request in flight at a time (as wrk does):
    prebuilt request bytes; of the reply only the status and Content-Length are parsed."""

    def __init__(self, rnd: _Round) -> None:
        self.rnd = rnd
        self.buf = b""
        self.t0 = 0.0
        self.transport: asyncio.Transport | None = None
        self.idle: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def send(self) -> None:
        assert self.transport is not None
        self.t0 = time.perf_counter()
        self.transport.write(self.rnd.next_request())

    def data_received(self, data: bytes) -> None:
        buf = self.buf + data
        end = buf.find(b"\r\n\r\n")
        if end < 0:
            self.buf = buf
            return
        head = buf[:end].lower()
        at = head.find(b"\r\ncontent-length:")
        if at < 0:
            raise RuntimeError(f"reply without content-length: {head[:200]!r}")
        stop = head.find(b"\r\n", at + 17)
        length = int(head[at + 17 : stop if stop >= 0 else len(head)])
        if len(buf) < end + 4 + length:
            self.buf = buf
            return
        self.buf = buf[end + 4 + length :]
        now = time.perf_counter()
        self.rnd.done(now - self.t0, now, head[9:12] == b"200")
        if now < self.rnd.deadline:
            self.send()
        elif not self.idle.done():
            self.idle.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.idle.done():
            self.idle.set_exception(exc or ConnectionError("closed by the server"))


class _Round:
    def __init__(self, requests: list[bytes], seconds: float, seed: int) -> None:
        self.requests = requests
        self.seconds = seconds
        self.rng = random.Random(seed)
        self.deadline = float("inf")
        self.latencies: list[float] = []
        self.errors = 0

    def next_request(self) -> bytes:
        return self.requests[self.rng.randrange(len(self.requests))]

    def done(self, latency: float, now: float, ok: bool) -> None:
        if now <= self.deadline:
            self.latencies.append(latency)
            self.errors += not ok


async def _run_round(port: int, requests: list[bytes], seconds: float, seed: int) -> _Round:
    loop = asyncio.get_running_loop()
    rnd = _Round(requests, seconds, seed)
    conns = []
    for _ in range(CONCURRENCY):
        _transport, conn = await loop.create_connection(lambda: _Conn(rnd), "127.0.0.1", port)
        conns.append(conn)
    rnd.deadline = time.perf_counter() + seconds
    for conn in conns:
        conn.send()
    try:
        await asyncio.gather(*(c.idle for c in conns))
    finally:
        for conn in conns:
            assert conn.transport is not None
            conn.transport.close()
    return rnd


def loadgen() -> None:
    """Run in a subprocess of its own (its CPU is not the bench process's, nor the server's):
    reads a schedule as JSON on stdin, prints one JSON line per round."""
    spec = json.load(sys.stdin)
    port, pid, cookie = spec["port"], spec["server_pid"], spec["cookie"]

    def request(path: str) -> bytes:
        return (
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: application/json\r\n"
            f"Cookie: {cookie}\r\n\r\n"
        ).encode()

    async def run() -> None:
        for n, (name, paths, seconds) in enumerate(spec["schedule"]):
            requests = [request(p) for p in paths]
            cpu0, client0, wall0 = cpu_seconds(pid), time.process_time(), time.perf_counter()
            rnd = await _run_round(port, requests, seconds, seed=n)
            wall = time.perf_counter() - wall0
            server_cpu, client_cpu = cpu_seconds(pid) - cpu0, time.process_time() - client0
            count = len(rnd.latencies)
            row = {
                "name": name,
                "rate": count / seconds,
                "p99_ms": percentiles(rnd.latencies)[1] if count else float("nan"),
                "errors": rnd.errors,
                "server_cpu_us": server_cpu / max(count, 1) * 1e6,  # per request
                "server_share": server_cpu / wall,  # of one core
                "client_share": client_cpu / wall,
            }
            print(json.dumps(row), flush=True)

    try:
        import uvloop  # uvicorn[standard] brings it; the server runs on it too

        uvloop.run(run())
    except ImportError:
        asyncio.run(run())


def http_call(port: int, method: str, path: str, body: dict[str, str] | None = None) -> tuple[int, str]:
    """(status, Set-Cookie name=value) of one plain request (stdlib: no client library needed)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        payload = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json"} if payload else {}
        conn.request(method, path, body=payload, headers=headers)
        reply = conn.getresponse()
        reply.read()
        return reply.status, (reply.getheader("set-cookie") or "").split(";", 1)[0]
    finally:
        conn.close()


def wait_up(port: int, server: subprocess.Popen[bytes], timeout: float = 900.0) -> None:
    deadline = time.perf_counter() + timeout
    while True:
        try:
            if http_call(port, "GET", "/api/health")[0] == 200:
                return
        except OSError:
            pass
        if server.poll() is not None:
            raise RuntimeError(f"the bench server exited with {server.returncode}")
        if time.perf_counter() > deadline:
            raise TimeoutError("the bench server did not start")
        time.sleep(0.2)


def sign_in(port: int) -> str:
    status, cookie = http_call(port, "POST", "/api/auth/login", {"login": "1001", "password": "demo"})
    assert status == 200 and cookie.startswith("hotline_session="), (status, cookie)
    return cookie


PATHS = {
    "bare": ["/bench/bare"],
    "ticket": [f"/api/tickets/{i}" for i in range(1, N_TICKETS + 1)],
    "bare-list": ["/bench/bare-list"],
    "list": [f"/api/tickets?limit={LIST_LIMIT}"],
}


def measure_api(database_url: str, comparisons: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """For each (baseline, endpoint): interleaved rounds, ABBA order (bare ticket, ticket bare,
    ...) so a drift in machine load weighs on both; one warm-up round of each first (not reported)."""
    port = free_port()
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    code = f"from tests.bench.bench_tickets import serve; serve({database_url!r}, {port})"
    server = subprocess.Popen([sys.executable, "-c", code], env=env)
    try:
        wait_up(port, server)
        cookie = sign_in(port)
        schedule: list[tuple[str, list[str], float]] = []
        warmups = 0
        for base, name in comparisons:
            order = [(base, name), (name, base)]
            schedule += [(n, PATHS[n], 1.0) for n in order[0]]  # warm-up
            warmups += 2
            for pair in range(PAIRS):
                schedule += [(n, PATHS[n], ROUND_S) for n in order[pair % 2]]
        spec = {"port": port, "server_pid": server.pid, "cookie": cookie, "schedule": schedule}
        code = "from tests.bench.bench_tickets import loadgen; loadgen()"
        gen = subprocess.run(
            [sys.executable, "-c", code], env=env, input=json.dumps(spec), capture_output=True, text=True
        )
        if gen.returncode:
            raise RuntimeError(f"load generator failed:\n{gen.stderr}")
        rows = [json.loads(line) for line in gen.stdout.splitlines()]
        rows = [r for r, (_, _, seconds) in zip(rows, schedule, strict=True) if seconds == ROUND_S]
    finally:
        server.terminate()
        server.wait(timeout=10)
    failed = sum(r["errors"] for r in rows)
    if failed:
        raise RuntimeError(f"{failed} requests failed during the load run")
    return rows


def api_summary(
    rows: list[dict[str, Any]], base: str = "bare", name: str = "ticket"
) -> tuple[float, float, float]:
    """(ticket/bare of the median rates, median of the per-pair ratios, bare/ticket server CPU
    per request): the last is what the ratio would be if the server had a core to itself."""
    bare = [r for r in rows if r["name"] == base]
    ticket = [r for r in rows if r["name"] == name]
    of_medians = statistics.median(r["rate"] for r in ticket) / statistics.median(r["rate"] for r in bare)
    pairs = statistics.median(t["rate"] / b["rate"] for b, t in zip(bare, ticket, strict=True))
    cpu = statistics.median(r["server_cpu_us"] for r in bare) / statistics.median(
        r["server_cpu_us"] for r in ticket
    )
    return of_medians, pairs, cpu


def main() -> None:
    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    built = build_lookup_db()
    how = f"built in {built:.1f} s" if built else "reused"
    print(f"lookup database: {N_CUSTOMERS:,} customers ({how})")
    results = asyncio.run(measure_lookup())
    print(f"{'lookup':<10} {'p50 ms':>8} {'p99 ms':>8} {'p99.9 ms':>9}")
    for name, (p50, p99, p999) in results.items():
        print(f"{name:<10} {p50:8.3f} {p99:8.3f} {p999:9.3f}")
    p99 = results["match"][1]
    print(f"match p99 {p99:.3f} ms: {'OK' if p99 <= 1.0 else 'ABOVE'} the 1 ms goal")

    ratios: dict[str, float] = {}
    for backend, url, cleanup in _api_databases():
        try:
            print(f"\nread API on {backend}: load average {os.getloadavg()[0]:.1f}")
            rows = measure_api(url, COMPARISONS)
        finally:
            cleanup()
        print(
            f"{'endpoint':<9} {'req/s':>7} {'p99 ms':>7} {'server µs/req':>13} {'server cpu':>10}"
            f" {'client cpu':>10}   ({CONCURRENCY} connections, {PAIRS} pairs of {ROUND_S:.0f} s rounds)"
        )
        for r in rows:
            print(
                f"{r['name']:<9} {r['rate']:7.0f} {r['p99_ms']:7.1f} {r['server_cpu_us']:13.0f}"
                f" {r['server_share']:10.0%} {r['client_share']:10.0%}"
            )
        for base, name in COMPARISONS:
            ratio, pairs, cpu = api_summary(rows, base, name)
            goal = GOALS[name]
            verdict = "OK" if min(ratio, pairs) >= goal else "BELOW"
            print(
                f"{backend} {name} / {base}: {ratio:.2f}x (medians), {pairs:.2f}x (median of pairs),"
                f" {cpu:.2f}x (server CPU per request): {verdict} the {goal}x goal"
            )
            ratios[f"{backend}_{name}"] = round(ratio, 2)
    print(f"load average at end: {os.getloadavg()[0]:.1f}")
    print(json.dumps({"match_p99_ms": round(p99, 3), **ratios}))


COMPARISONS = [("bare", "ticket"), ("bare-list", "list")]
GOALS = {"ticket": 0.8, "list": 0.5}  # #18


def _api_databases() -> Iterator[tuple[str, str, Callable[[], None]]]:
    """(backend, URL, cleanup) of an empty database per backend: SQLite under var/bench/, and
    a PostgreSQL database of its own (`HOTLINE_BENCH_PG_URL`; skipped when it does not answer)."""
    API_DB.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{API_DB}{suffix}").unlink(missing_ok=True)
    yield "SQLite", f"sqlite+aiosqlite:///{API_DB}", lambda: None
    import psycopg
    from sqlalchemy.engine import make_url

    server = make_url(PG_SERVER)
    name = f"hotline_bench_api_{os.getpid()}"

    def libpq(database: str | None) -> str:
        return server.set(drivername="postgresql", database=database).render_as_string(hide_password=False)

    try:
        with psycopg.connect(libpq(server.database), autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.Error as exc:
        print(f"\nread API on PostgreSQL: skipped ({exc})")
        return

    def drop() -> None:
        with psycopg.connect(libpq(server.database), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    yield "PostgreSQL", server.set(database=name).render_as_string(hide_password=False), drop


if __name__ == "__main__":
    main()
