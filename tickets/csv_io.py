"""Customer CSV import and export.

Import validates each row on its own (name, tier, e-mail, every phone number);
a bad row is reported with its line and field and skipped, never aborting the
rest. Good rows are written in batches, one transaction each; if a batch fails
in the database, its rows are retried one by one so only the guilty row is lost.
One audit entry per batch gives its line range, what it did and a digest of its rows.
The import is an upsert (see `import_customers`): importing a file again changes nothing,
and a killed import of a file resumes after its last committed batch.

Headers may be English or Chinese (`name`/`姓名`, `phones`/`电话`, ...); phones in
one cell are separated by `;`, `,`, `|` or ` / ` (see `phones.split_numbers`).
Export writes the same columns, so an export imports again unchanged; a cell that a
spreadsheet would run as a formula (`= + - @`) is written with a leading `'`, which
import removes again.
"""

from __future__ import annotations

import asyncio
import csv
import gc
import hashlib
import json
import sqlite3
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from dataclasses import field as dc_field
from datetime import datetime
from functools import partial
from operator import itemgetter
from pathlib import Path
from typing import Annotated, Any, NamedTuple, TextIO

from pydantic import AfterValidator, Field, StringConstraints, TypeAdapter, ValidationError
from sqlalchemy import Connection, update
from sqlalchemy import select as sa_select
from sqlalchemy.exc import DBAPIError
from sqlmodel import col, select
from typing_extensions import TypedDict

from tickets.errors import InvalidPhoneNumber
from tickets.lifecycle import Actor
from tickets.models import Customer, CustomerImport, CustomerPhone, CustomerTier
from tickets.offer import OfferWriter
from tickets.phones import fast_e164, normalize_fast, split_numbers
from tickets.schemas import check_email, check_tags
from tickets.uow import AuditSink, DeskContext, Pending, audit_entries

COLUMNS = ("name", "company", "phones", "tier", "address", "email", "tags", "notes")
ALIASES = {
    "姓名": "name",
    "客户": "name",
    "公司": "company",
    "单位": "company",
    "电话": "phones",
    "phone": "phones",
    "等级": "tier",
    "地址": "address",
    "邮箱": "email",
    "标签": "tags",
    "备注": "notes",
}
TIER_ALIASES = {"战略": "strategic", "利润": "profitable", "普通": "ordinary", "风险": "risk", "贵宾": "vip"}
BATCH = 10_000


@dataclass(frozen=True, slots=True)
class RowError:
    line: int  # line number in the file (the header is line 1)
    field: str
    message: str


@dataclass
class Counts:
    """What one batch did: rows written, and how the customers among them fared."""

    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    phones_added: int = 0


@dataclass
class ImportReport:
    imported: int = 0  # rows written (created, updated or already up to date)
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    phones_added: int = 0
    resumed_after: int = 0  # lines up to here were committed by an earlier, interrupted run
    errors: list[RowError] = dc_field(default_factory=list)

    def add(self, counts: Counts) -> None:
        self.imported += counts.rows
        self.created += counts.created
        self.updated += counts.updated
        self.unchanged += counts.unchanged
        self.phones_added += counts.phones_added

    @property
    def failed(self) -> int:
        return len({e.line for e in self.errors})


ProgressFn = Callable[[int], None]  # called with the number of rows just handled


def _canonical(header: str) -> str:
    key = header.strip().lstrip("\ufeff").lower()
    return ALIASES.get(key, key)


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def escape_cell(value: str) -> str:
    """A cell a spreadsheet would run as a formula gets a leading `'` (OWASP "CSV injection")."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def unescape_cell(value: str) -> str:
    """The inverse of `escape_cell`, so an export imports again unchanged."""
    return value[1:] if value.startswith("'") and value[1:].startswith(_FORMULA_START) else value


class PhoneRow(NamedTuple):
    e164: str
    extension: str
    raw: str


class CustomerRow(TypedDict):
    """A row's customer fields, validated with the same rules as `CustomerCreate` (same field
    names in errors) but into a plain dict: no model object per row on a bulk path."""

    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    company: Annotated[str, StringConstraints(max_length=200)]
    tier: CustomerTier
    address: Annotated[str, StringConstraints(max_length=500)]
    email: Annotated[str, StringConstraints(max_length=320), AfterValidator(check_email)]
    notes: Annotated[str, StringConstraints(max_length=4000)]
    tags: Annotated[list[str], Field(max_length=30), AfterValidator(check_tags)]
    phones: Annotated[
        list[Annotated[str, StringConstraints(min_length=1, max_length=64)]], Field(max_length=20)
    ]


_CUSTOMER_ROW = TypeAdapter(CustomerRow)


def parse_row(row: dict[str, str], region: str) -> tuple[CustomerRow, list[PhoneRow]]:
    """One CSV row → validated customer fields and normalised phones (each number normalised
    once; repeats across rows hit `normalize_fast`'s cache). Raises ValueError-like errors."""
    values = {k: unescape_cell(v.strip()) for k in COLUMNS if (v := row.get(k))}
    if any("\x00" in v for v in values.values()):  # PostgreSQL text cannot hold NUL: refuse it everywhere
        key = next(k for k, v in values.items() if "\x00" in v)
        raise ValueError(f"{key}: contains a NUL character")
    tier = values.get("tier", "").lower() or "ordinary"
    tags = values.get("tags", "")
    data = _CUSTOMER_ROW.validate_python(
        {
            "name": values.get("name", ""),
            "company": values.get("company", ""),
            "tier": TIER_ALIASES.get(tier, tier),
            "address": values.get("address", ""),
            "email": values.get("email", ""),
            "notes": values.get("notes", ""),
            "tags": [t for t in tags.replace("；", ";").split(";") if t.strip()] if tags else [],
            "phones": split_numbers(values.get("phones", "")),
        }
    )
    phones: dict[str, PhoneRow] = {}
    for index, number in enumerate(data["phones"]):
        try:
            parts = normalize_fast(number, region)
        except InvalidPhoneNumber as exc:
            refused = InvalidPhoneNumber(exc.raw, exc.reason)
            refused.field = f"phones[{index}].number"
            raise refused from None
        phones.setdefault(parts.e164, PhoneRow(parts.e164, parts.extension, number))
    return data, list(phones.values())


def _row_errors(line: int, exc: Exception) -> list[RowError]:
    if isinstance(exc, InvalidPhoneNumber):
        return [RowError(line, exc.field or "phones", str(exc))]
    if isinstance(exc, ValidationError):
        return [
            RowError(line, ".".join(str(p) for p in err["loc"]) or "row", err["msg"])
            for err in exc.errors(include_url=False)
        ]
    return [RowError(line, "row", str(exc))]


class CsvRows:
    """A customer CSV read with `csv.reader`: the header is mapped to columns once, each row is
    handed on as its list of cells (no dict per row on a bulk path). Raises ValueError when the
    header has no name column; an empty file has no rows."""

    def __init__(self, stream: TextIO) -> None:
        self._reader = csv.reader(stream)
        try:
            header = [_canonical(h) for h in next(self._reader)]
        except StopIteration:
            header = ["name"]
        if "name" not in header:
            raise ValueError(
                f"the header has no name column (got {', '.join(header)}); expected {', '.join(COLUMNS)}"
            )
        self.header = header

    def __iter__(self) -> Iterator[tuple[int, list[str]]]:
        """(line number, cells) of each row that is not blank."""
        reader = self._reader
        for cells in reader:
            if "".join(cells).strip():
                yield reader.line_num, cells


def read_rows(stream: TextIO) -> CsvRows:
    return CsvRows(stream)


_TIERS: dict[str, CustomerTier] = {
    "": CustomerTier.ORDINARY,
    **{t.value: t for t in CustomerTier},
    **{alias: CustomerTier(value) for alias, value in TIER_ALIASES.items()},
}
_LIMITS = {"name": 200, "company": 200, "address": 500, "email": 320, "notes": 4000}
_MAX_PHONES, _MAX_TAGS, _MAX_NUMBER = 20, 30, 64


class RowParser:
    """Turns one file's rows into validated customer fields and normalised phones.

    A common row (no cell to unescape, no NUL, a known tier, every field within its limit, a
    well-formed e-mail address, valid numbers) is checked here with the rules of `CustomerRow`
    directly; any other row goes through `parse_row` (pydantic), which decides and names the
    field at fault. Both lanes give the same answer for every row
    (`tests/tickets/test_csv_rows.py` compares them); the fast one only skips the per-row
    pydantic call and dict."""

    def __init__(self, header: list[str], region: str) -> None:
        self.header = header
        self.region = region
        # a column named twice: the later one counts, as in `dict(zip(header, cells))`
        index = {name: i for i, name in enumerate(header) if name in COLUMNS}
        self._width = max(index.values(), default=-1) + 1
        # missing columns read the "" appended to the row
        self._get = itemgetter(*(index.get(c, -1) for c in COLUMNS))
        self._tags: dict[str, list[str] | None] = {}

    def __call__(self, cells: list[str]) -> tuple[CustomerRow, list[PhoneRow]]:
        fast = self.fast(cells) if len(cells) >= self._width else None
        if fast is not None:
            return fast
        return parse_row(dict(zip(self.header, cells, strict=False)), self.region)

    def fast(self, cells: list[str]) -> tuple[CustomerRow, list[PhoneRow]] | None:
        """The row parsed, or None when it needs `parse_row` (it may be fine or refused)."""
        name, company, phones, tier, address, email, tags, notes = self._get([*cells, ""])
        name, company, phones, address = name.strip(), company.strip(), phones.strip(), address.strip()
        tier, email, tags, notes = tier.strip(), email.strip(), tags.strip(), notes.strip()
        text = name + company + phones + tier + address + email + tags + notes
        if "'" in text or "\x00" in text:
            return None
        level = _TIERS.get(tier) or _TIERS.get(tier.lower())
        if (
            level is None
            or not 0 < len(name) <= _LIMITS["name"]
            or len(company) > _LIMITS["company"]
            or len(address) > _LIMITS["address"]
            or len(email) > _LIMITS["email"]
            or len(notes) > _LIMITS["notes"]
        ):
            return None
        try:
            check_email(email)
        except ValueError:
            return None
        tag_list = self._tag_list(tags) if tags else []
        numbers = split_numbers(phones) if phones else []
        if tag_list is None or len(numbers) > _MAX_PHONES or any(len(n) > _MAX_NUMBER for n in numbers):
            return None
        found: dict[str, PhoneRow] = {}
        region = self.region
        try:
            for number in numbers:
                # the common number straight from the region's patterns: normalize_fast's cache
                # only pays for numbers seen again, and a file's mobiles are all different
                e164 = fast_e164(number, region)
                if e164 is None:
                    parts = normalize_fast(number, region)
                    e164, extension = parts.e164, parts.extension
                else:
                    extension = ""
                if e164 not in found:
                    found[e164] = PhoneRow(e164, extension, number)
        except InvalidPhoneNumber:
            return None
        data: CustomerRow = {
            "name": name,
            "company": company,
            "tier": level,
            "address": address,
            "email": email,
            "notes": notes,
            "tags": tag_list,
            "phones": numbers,
        }
        return data, list(found.values())

    def _tag_list(self, cell: str) -> list[str] | None:
        """The tags of a cell as `CustomerRow` validates them (cached per cell), None if refused."""
        if cell not in self._tags:
            tags = [t for t in cell.replace("；", ";").split(";") if t.strip()]
            try:
                self._tags[cell] = check_tags(tags) if len(tags) <= _MAX_TAGS else None
            except ValueError:
                self._tags[cell] = None
        known = self._tags[cell]
        return None if known is None else list(known)


@dataclass(frozen=True, slots=True)
class ImportSource:
    """Which file this is (sha256 of its bytes): progress is kept per file so a killed run resumes."""

    digest: str
    filename: str = ""


def file_digest(path: Path) -> str:
    sha = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(1 << 20):
            sha.update(chunk)
    return sha.hexdigest()


_CUSTOMER = Customer.__table__  # type: ignore[attr-defined]
_PHONE = CustomerPhone.__table__  # type: ignore[attr-defined]
_PROGRESS = CustomerImport.__table__  # type: ignore[attr-defined]
_FIELDS = ("company", "tier", "address", "email", "notes", "tags")
_Row = tuple[int, CustomerRow, list[PhoneRow]]


async def import_customers(
    ctx: DeskContext,
    rows: CsvRows,
    *,
    actor: Actor,
    progress: ProgressFn | None = None,
    batch: int = BATCH,
    source: ImportSource | None = None,
) -> ImportReport:
    """Upsert the rows in batches, one transaction and one audit entry each.

    A row is the same customer as an existing one when its first number (normalised) and its
    name agree (`Customer.primary_phone` + `name`, a unique key): its other fields are updated
    when they differ, new numbers are added, nothing is touched when all agree, so importing a
    file twice changes nothing. A customer made elsewhere (no key yet) with that name and number
    is adopted rather than duplicated. A row without a number is the same customer as an
    existing customer without a number of the same name and e-mail address (any case) or, with
    no address either, of the same name, company and postal address (`_loose_key`).
    With `source`, the last committed line is kept per file: a rerun after a crash skips it.
    """
    report = ImportReport()
    job, skip = (await _start(ctx, source)) if source else (None, 0)
    report.resumed_after = skip
    pending: list[_Row] = []
    parse = RowParser(rows.header, ctx.config.region)
    writes = _Writes(ctx, actor, report, progress, job)
    try:
        with _collection_paused():
            for line, cells in rows:
                if line <= skip:
                    if progress:
                        progress(1)
                    continue
                try:
                    data, phones = parse(cells)
                except (ValidationError, InvalidPhoneNumber, ValueError) as exc:
                    report.errors.extend(_row_errors(line, exc))
                    if progress:
                        progress(1)
                    continue
                pending.append((line, data, phones))
                if len(pending) >= batch:
                    await writes.submit(pending)
                    pending = []
            if pending:
                await writes.submit(pending)
            await writes.drain()
    finally:
        await writes.close()
    if job is not None:
        async with ctx.sessions() as session:
            await session.exec(
                update(CustomerImport).where(col(CustomerImport.id) == job).values(finished_at=ctx.clock())
            )
            await session.commit()
    report.errors.sort(key=lambda e: e.line)
    return report


@contextmanager
def _collection_paused() -> Iterator[None]:
    """The garbage collector's automatic runs paused for the import, and restored after it
    (also when it fails). A bulk load keeps a batch of rows alive at a time, and each
    promotion of them set off collections of the whole heap (about a fifth of the import's
    CPU); collecting the young generations after each batch still walked every live row once
    (~10%). Rows make no reference cycles and a batch's unit of work is Core statements on one
    connection, so little cyclic garbage is left to wait for the collector's next run."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


async def _start(ctx: DeskContext, source: ImportSource) -> tuple[int, int]:
    """(progress row id, last committed line): a finished file starts over, an unfinished one resumes."""
    async with ctx.sessions() as session:
        found = (
            await session.exec(select(CustomerImport).where(CustomerImport.digest == source.digest))
        ).first()
        now = ctx.clock()
        if found is None:
            found = CustomerImport(
                digest=source.digest, filename=source.filename[:255], started_at=now, updated_at=now
            )
            session.add(found)
        elif found.finished_at is not None:
            found.lines_done, found.batches, found.started_at, found.finished_at = 0, 0, now, None
        await session.commit()
        assert found.id is not None
        return found.id, found.lines_done


class _Writes:
    """The batches' writes, one at a time, each overlapped with parsing the next batch.

    Each batch is one synchronous unit of work (`_write`) run by an `OfferWriter` of the
    import's own (not the desk's intake thread, which an import must not hold up): on a SQLite
    file in a worker thread on a plain sqlite3 connection, where each of its statements takes
    the whole batch as one JSON parameter and steps once, so the thread holds the GIL only
    between statements and the parser runs beside it; on PostgreSQL through `run_sync` on a
    pooled connection. Batches commit in file order (the next is handed over only after the
    last one's outcome is known), so the progress row never runs ahead of the rows."""

    def __init__(
        self,
        ctx: DeskContext,
        actor: Actor,
        report: ImportReport,
        progress: ProgressFn | None,
        job: int | None,
    ) -> None:
        self._ctx, self._actor, self._report, self._progress, self._job = ctx, actor, report, progress, job
        self._writer = OfferWriter(ctx.sessions)
        self._inflight: tuple[list[_Row], asyncio.Future[Counts]] | None = None

    async def submit(self, rows: list[_Row]) -> None:
        await self.drain()
        self._inflight = rows, asyncio.ensure_future(self._run(rows))

    def _run(self, rows: list[_Row]) -> Awaitable[Counts]:
        return self._writer.run(
            partial(_write, rows, self._actor, self._job, self._ctx.clock(), self._ctx.audit)
        )

    async def drain(self) -> None:
        """Wait for the batch in flight; if the database refused it, its rows one by one."""
        if self._inflight is None:
            return
        rows, future = self._inflight
        self._inflight = None
        try:
            self._report.add(await future)
        except DBAPIError:
            for one in rows:  # isolate the row the database refused
                try:
                    self._report.add(await self._run([one]))
                except DBAPIError as exc:
                    self._report.errors.append(
                        RowError(one[0], "row", f"database refused the row: {exc.orig}")
                    )
        if self._progress:
            self._progress(len(rows))

    async def close(self) -> None:
        """The batch in flight finishes (committed or not) before the writer goes; on an error
        already on its way out, that batch's own outcome is not reported."""
        try:
            if self._inflight is not None:
                await asyncio.wait([self._inflight[1]])
                self._inflight[1].exception()  # retrieved: the caller's error is the one to raise
        finally:
            self._writer.close()


def _batch_digest(rows: list[_Row]) -> str:
    """sha256 over the batch's rows as imported (line, fields, numbers): what the audit entry
    vouches for. Each row is its cells joined by US (0x1f) and ended by RS (0x1e), hashed in one go."""
    text = "".join(
        "\x1f".join(
            (
                str(line),
                data["name"],
                data["company"],
                data["tier"],
                data["address"],
                data["email"],
                data["notes"],
                ";".join(data["tags"]),
                *[f"{p.e164}/{p.extension}" for p in phones],
            )
        )
        + "\x1e"
        for line, data, phones in rows
    )
    return hashlib.sha256(text.encode()).hexdigest()


_UPDATED = ("company", "tier", "address", "email", "notes", "tags")
_ON_CONFLICT = (
    " ON CONFLICT (primary_phone, name) DO UPDATE SET "
    + ", ".join(f"{f} = excluded.{f}" for f in _UPDATED)
    + ", version = customer.version + 1, updated_at = excluded.updated_at WHERE "
    + " OR ".join(f"customer.{f} <> excluded.{f}" for f in _UPDATED if f != "tags")
    + " OR CAST(customer.tags AS TEXT) <> CAST(excluded.tags AS TEXT)"
)
_COLUMNS = "name, company, tier, address, email, notes, tags, version, created_at, updated_at, primary_phone"
# PostgreSQL: written by hand, the rows go to the driver's executemany in one call per batch,
# without a per-row trip through SQLAlchemy.
_UPSERT = (
    f"INSERT INTO customer ({_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, 1, %s, %s, %s)" + _ON_CONFLICT
)
_INSERT = f"INSERT INTO customer ({_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, 1, %s, %s, NULL)"
_PHONES = (
    "INSERT INTO customer_phone (customer_id, e164, extension, raw, label) VALUES (%s, %s, %s, %s, '')"
    " ON CONFLICT (customer_id, e164) DO NOTHING"
)
# SQLite: each statement takes the batch as one JSON array (`?2`, `?1`) and runs in one step:
# no per-row parameter binding in Python, and the GIL free for the parser while it runs.
# `WHERE true` keeps SQLite from reading ON CONFLICT as a join's ON; CROSS JOIN keeps the
# array the outer loop, so rows are written in file order.
_SQLITE_UPSERT = (
    f"INSERT INTO customer ({_COLUMNS}) SELECT value->>0, value->>1, value->>2, value->>3, value->>4,"
    " value->>5, value->>6, 1, ?1, ?1, value->>7 FROM json_each(?2) WHERE true" + _ON_CONFLICT
)
_SQLITE_INSERT = (
    f"INSERT INTO customer ({_COLUMNS}) SELECT value->>0, value->>1, value->>2, value->>3, value->>4,"
    " value->>5, value->>6, 1, ?1, ?1, NULL FROM json_each(?2)"
)
_SQLITE_PHONES = (
    "INSERT INTO customer_phone (customer_id, e164, extension, raw, label)"
    " SELECT customer.id, value->>2, value->>3, value->>4, '' FROM json_each(?1)"
    " CROSS JOIN customer ON customer.primary_phone = value->>0 AND customer.name = value->>1"
    " WHERE true ON CONFLICT (customer_id, e164) DO NOTHING"
)
_SQLITE_PHONES_BY_ID = (
    "INSERT INTO customer_phone (customer_id, e164, extension, raw, label)"
    " SELECT value->>0, value->>1, value->>2, value->>3, '' FROM json_each(?1)"
    " WHERE true ON CONFLICT (customer_id, e164) DO NOTHING"
)
_SQLITE_CREATED = "SELECT count(*), max(id) FROM customer WHERE id > ?"
_SQLITE_KEYLESS = "SELECT EXISTS (SELECT 1 FROM customer WHERE primary_phone IS NULL)"
# customers made elsewhere (no key) holding one of the batch's (number, name) keys that no
# customer holds yet, as one JSON row: [[id, number, name], ...] by id
_SQLITE_ADOPTABLE = (
    "SELECT json_group_array(json_array(id, e164, name)) FROM (SELECT customer.id AS id,"
    " customer_phone.e164 AS e164, customer.name AS name FROM json_each(?1)"
    " CROSS JOIN customer_phone ON customer_phone.e164 = value->>0"
    " JOIN customer ON customer.id = customer_phone.customer_id AND customer.name = value->>1"
    " WHERE customer.primary_phone IS NULL AND NOT EXISTS (SELECT 1 FROM customer AS held"
    " WHERE held.primary_phone = value->>0 AND held.name = value->>1) ORDER BY customer.id)"
)
_ADOPT = "UPDATE customer SET primary_phone = %s WHERE id = %s"


class _Driver:
    """The batch's statements on the driver connection of the unit of work's transaction."""

    def __init__(self, conn: Connection) -> None:
        dialect = conn.dialect
        self.sqlite = dialect.name == "sqlite"
        self.raw: Any = conn.connection.dbapi_connection
        if isinstance(self.raw, sqlite3.Connection) and not self.raw.in_transaction:
            # take the write lock first: the batch's reads (max id, keys) must see what it writes over
            self.raw.execute("BEGIN IMMEDIATE")
        created = _CUSTOMER.c.created_at.type.dialect_impl(dialect).bind_processor(dialect)
        tags = _CUSTOMER.c.tags.type.dialect_impl(dialect).bind_processor(dialect)
        self.datetime: Callable[[Any], Any] = created or (lambda v: v)
        self.tags: Callable[[Any], Any] = tags or (lambda v: v)

    def execute(self, sql: str, params: tuple[Any, ...]) -> tuple[int, list[Any]]:
        """(rows changed, rows returned) of one statement."""
        cursor = self.raw.cursor()
        try:
            cursor.execute(sql, params)
            return int(cursor.rowcount), list(cursor.fetchall()) if cursor.description else []
        finally:
            cursor.close()

    def executemany(self, sql: str, params: list[tuple[Any, ...]]) -> int:
        """Rows changed (sqlite3 and psycopg both sum executemany's rowcount)."""
        if not params:
            return 0
        if self.sqlite:
            sql = sql.replace("%s", "?")
        cursor = self.raw.cursor()
        try:
            cursor.executemany(sql, params)
            return int(cursor.rowcount)
        finally:
            cursor.close()


def _loose_key(name: str, email: str, company: str, address: str) -> tuple[str, ...]:
    """Who a customer without a number is: their name and e-mail address, or, with no address,
    their name, company and postal address (two such rows alike in all three are one person
    as far as the file can tell; importing it twice must not make two)."""
    if email:
        return (name, email.casefold())
    return (name, "", company, address)


def _loose_ids(conn: Connection, loose: dict[tuple[str, ...], CustomerRow]) -> dict[tuple[str, ...], int]:
    """Existing customers without any number that hold these keys: one query per batch."""
    names = sorted({data["name"] for data in loose.values()})
    has_phone = sa_select(_PHONE.c.id).where(_PHONE.c.customer_id == _CUSTOMER.c.id).exists()
    found = conn.execute(
        sa_select(
            _CUSTOMER.c.id, _CUSTOMER.c.name, _CUSTOMER.c.email, _CUSTOMER.c.company, _CUSTOMER.c.address
        )
        .where(_CUSTOMER.c.name.in_(names), _CUSTOMER.c.primary_phone.is_(None), ~has_phone)
        .order_by(_CUSTOMER.c.id)
    )
    ids: dict[tuple[str, ...], int] = {}
    for cid, name, email, company, address in found.all():
        ids.setdefault(_loose_key(name, email or "", company or "", address or ""), int(cid))
    return {key: cid for key, cid in ids.items() if key in loose}


def _differs(stored: Any, data: CustomerRow) -> bool:
    """Whether an import row would change the stored customer (the upsert's WHERE, in Python)."""
    values: dict[str, Any] = dict(data)
    return any(getattr(stored, f) != values[f] for f in _UPDATED if f != "tags") or list(
        stored.tags or []
    ) != list(values["tags"])


_Keyed = dict[tuple[str, str], tuple[CustomerRow, list[PhoneRow]]]


def _write(
    rows: list[_Row], actor: Actor, job: int | None, now: datetime, audit: AuditSink, conn: Connection
) -> Counts:
    """One batch in the unit of work's transaction: customers, numbers, progress, audit entry."""
    keyed: _Keyed = {}
    loose: dict[tuple[str, ...], CustomerRow] = {}
    for _, data, phones in rows:
        if not phones:  # the same customer twice in one batch: the later row wins
            loose[_loose_key(data["name"], data["email"], data["company"], data["address"])] = data
            continue
        key = (phones[0].e164, data["name"])
        earlier = keyed.get(key)
        if earlier is not None:  # the same customer twice in one batch: the later row wins
            known = {p.e164 for p in earlier[1]}
            phones = earlier[1] + [p for p in phones if p.e164 not in known]
        keyed[key] = (data, phones)
    counts = Counts(rows=len(rows))
    driver = _Driver(conn)
    stamp = driver.datetime(now)
    no_tags = driver.tags([])
    tags_cache: dict[tuple[str, ...], Any] = {}

    def fields(data: CustomerRow) -> tuple[Any, ...]:
        stored = no_tags
        if data["tags"]:  # most rows have none: no tuple, no lookup
            tags = tuple(data["tags"])
            stored = tags_cache.get(tags)
            if stored is None:
                stored = tags_cache[tags] = driver.tags(list(tags))
        return (data["name"], data["company"], data["tier"].value, data["address"], data["email"],
                data["notes"], stored)  # fmt: skip

    if keyed:
        if driver.sqlite:
            _upsert_sqlite(driver, keyed, fields, stamp, counts)
        else:
            _upsert_pg(driver, keyed, fields, stamp, counts)
    if loose:
        _write_loose(conn, driver, loose, fields, now, stamp, counts)
    if job is not None:
        conn.execute(
            update(_PROGRESS)
            .where(_PROGRESS.c.id == job)
            .values(lines_done=rows[-1][0], batches=_PROGRESS.c.batches + 1, updated_at=now)
        )
    entry = Pending(now)
    entry.audit(
        actor,
        "customer.import",
        f"customers:lines {rows[0][0]}-{rows[-1][0]}",
        count=len(rows),
        lines=[rows[0][0], rows[-1][0]],
        created=counts.created,
        updated=counts.updated,
        unchanged=counts.unchanged,
        phones_added=counts.phones_added,
        digest=_batch_digest(rows),
    )
    audit.append_many_sync(conn, audit_entries(entry.audits))
    return counts


_Fields = Callable[[CustomerRow], tuple[Any, ...]]


def _upsert_sqlite(driver: _Driver, keyed: _Keyed, fields: _Fields, stamp: Any, counts: Counts) -> None:
    """Adopt, upsert and add numbers with one statement each over the batch as JSON; the
    customers created are those past the highest id before (the write lock is held)."""
    _, [[keyless]] = driver.execute(_SQLITE_KEYLESS, ())
    if keyless:  # one index probe; a first import into an empty desk has no one to adopt
        _adopt_sqlite(driver, keyed)
    _, [[highest]] = driver.execute("SELECT max(id) FROM customer", ())
    highest = highest or 0
    batch = json.dumps([(*fields(d), key[0]) for key, (d, _) in keyed.items()], ensure_ascii=False)
    changed, _ = driver.execute(_SQLITE_UPSERT, (stamp, batch))
    _, [[created, top]] = driver.execute(_SQLITE_CREATED, (highest,))
    counts.created = int(created)
    counts.updated = changed - counts.created
    counts.unchanged = len(keyed) - changed
    if counts.created == len(keyed) and top == highest + len(keyed):
        # every row new: SQLite gave them the ids after the highest, one by one in the array's
        # order (ids distinct, all above `highest`, the last `highest + n`), so the numbers
        # need no lookup of their customer by key
        numbers: list[tuple[Any, ...]] = [
            (highest + index, p.e164, p.extension, p.raw)
            for index, (_, phones) in enumerate(keyed.values(), start=1)
            for p in phones
        ]
        sql = _SQLITE_PHONES_BY_ID
    else:
        numbers = [
            (k[0], k[1], p.e164, p.extension, p.raw) for k, (_, phones) in keyed.items() for p in phones
        ]
        sql = _SQLITE_PHONES
    counts.phones_added, _ = driver.execute(sql, (json.dumps(numbers, ensure_ascii=False),))


def _adopt_sqlite(driver: _Driver, keyed: _Keyed) -> None:
    """Give a customer made elsewhere (no key) this row's key when its name and a number match."""
    _, [[found]] = driver.execute(_SQLITE_ADOPTABLE, (json.dumps(list(keyed), ensure_ascii=False),))
    adopt: dict[tuple[str, str], int] = {}
    for cid, phone, name in json.loads(found):
        if (phone, name) not in adopt and cid not in adopt.values():
            adopt[(phone, name)] = cid
    driver.executemany(_ADOPT, [(key[0], cid) for key, cid in adopt.items()])


_BY_KEY = "SELECT id, primary_phone, name FROM customer WHERE primary_phone = ANY(%s)"
_BY_NUMBER = (
    "SELECT customer.id, customer_phone.e164, customer.name FROM customer"
    " JOIN customer_phone ON customer_phone.customer_id = customer.id"
    " WHERE customer_phone.e164 = ANY(%s) AND customer.primary_phone IS NULL ORDER BY customer.id"
)


def _upsert_pg(driver: _Driver, keyed: _Keyed, fields: _Fields, stamp: Any, counts: Counts) -> None:
    """Adopt, upsert and add numbers with a driver executemany each; ids by two key lookups
    (each one array parameter, not thousands of placeholders)."""
    ids = _ids(driver, keyed)
    _adopt(driver, keyed, ids)
    before = set(ids)
    changed = driver.executemany(
        _UPSERT, [(*fields(d), stamp, stamp, key[0]) for key, (d, _) in keyed.items()]
    )
    ids.update(_ids(driver, keyed))
    counts.created = len(ids) - len(before)
    counts.updated = changed - counts.created
    counts.unchanged = len(keyed) - counts.created - counts.updated
    counts.phones_added = driver.executemany(
        _PHONES,
        [(ids[key], p.e164, p.extension, p.raw) for key, (_, phones) in keyed.items() for p in phones],
    )


def _ids(driver: _Driver, keyed: _Keyed) -> dict[tuple[str, str], int]:
    """Ids of the customers that already hold these keys: one indexed query per batch."""
    _, found = driver.execute(_BY_KEY, (sorted({p for p, _ in keyed}),))
    return {(p, n): int(i) for i, p, n in found if (p, n) in keyed}


def _adopt(driver: _Driver, keyed: _Keyed, ids: dict[tuple[str, str], int]) -> None:
    """Give a customer made elsewhere (no key) this row's key when its name and a number match."""
    missing = {p for (p, n) in keyed if (p, n) not in ids}
    if not missing:
        return
    adopt: dict[tuple[str, str], int] = {}
    _, found = driver.execute(_BY_NUMBER, (sorted(missing),))
    for cid, phone, name in found:
        key = (phone, name)
        if key in keyed and key not in ids and key not in adopt and int(cid) not in adopt.values():
            adopt[key] = int(cid)
    driver.executemany(_ADOPT, [(key[0], cid) for key, cid in adopt.items()])
    ids.update(adopt)


def _write_loose(
    conn: Connection,
    driver: _Driver,
    loose: dict[tuple[str, ...], CustomerRow],
    fields: _Fields,
    now: datetime,
    stamp: Any,
    counts: Counts,
) -> None:
    """Rows without a number: matched by `_loose_key`, updated one by one, new ones inserted."""
    matched = _loose_ids(conn, loose)
    if matched:
        stored = {
            r.id: r
            for r in conn.execute(
                sa_select(_CUSTOMER).where(_CUSTOMER.c.id.in_(sorted(matched.values())))
            ).all()
        }
        for lkey, cid in matched.items():
            data = loose[lkey]
            if not _differs(stored[cid], data):
                counts.unchanged += 1
                continue
            conn.execute(
                update(_CUSTOMER)
                .where(_CUSTOMER.c.id == cid)
                .values(
                    {
                        **{f: data[f] for f in _UPDATED},  # type: ignore[literal-required]
                        "version": _CUSTOMER.c.version + 1,
                        "updated_at": now,
                    }
                )
            )
            counts.updated += 1
    new = [d for lkey, d in loose.items() if lkey not in matched]
    if driver.sqlite:
        if new:
            driver.execute(_SQLITE_INSERT, (stamp, json.dumps([fields(d) for d in new], ensure_ascii=False)))
    else:
        driver.executemany(_INSERT, [(*fields(d), stamp, stamp) for d in new])
    counts.created += len(new)


async def export_customers(ctx: DeskContext, stream: TextIO, *, page: int = 1000) -> int:
    """Write every customer, ordered by id, in pages (constant memory). Returns the count."""
    writer = csv.writer(stream)
    writer.writerow(COLUMNS)
    count, last_id = 0, 0
    while True:
        async with ctx.sessions() as session:
            customers = (
                await session.exec(
                    select(Customer).where(col(Customer.id) > last_id).order_by(col(Customer.id)).limit(page)
                )
            ).all()
            if not customers:
                return count
            phones: dict[int, list[str]] = {}
            rows = await session.exec(
                select(CustomerPhone)
                .where(col(CustomerPhone.customer_id).in_([c.id for c in customers]))
                .order_by(col(CustomerPhone.id))
            )
            for phone in rows:
                phones.setdefault(phone.customer_id, []).append(_phone_cell(phone))
        for customer in customers:
            writer.writerow(_export_row(customer, phones.get(customer.id or 0, [])))
        count += len(customers)
        last_id = customers[-1].id or last_id


def _phone_cell(phone: CustomerPhone) -> str:
    return f"{phone.e164}/{phone.extension}" if phone.extension else phone.e164


def _export_row(customer: Customer, phones: list[str]) -> list[str]:
    tier = customer.tier.value if isinstance(customer.tier, CustomerTier) else str(customer.tier)
    cells = [
        customer.name,
        customer.company,
        "; ".join(phones),
        tier,
        customer.address,
        customer.email,
        "; ".join(customer.tags),
        customer.notes,
    ]
    return [escape_cell(c) for c in cells]
