"""Customer CSV import and export.

Import validates each row on its own (name, tier, e-mail, every phone number);
a bad row is reported with its line and field and skipped, never aborting the
rest. Good rows are written in batches, one transaction each; if a batch fails
in the database, its rows are retried one by one so only the guilty row is lost.
One audit entry per batch names the customers it created.

Headers may be English or Chinese (`name`/`姓名`, `phones`/`电话`, ...); phones in
one cell are separated by `;`, `,`, `|` or ` / ` (see `phones.split_numbers`).
Export writes the same columns, so an export imports again unchanged.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, TextIO

from pydantic import ValidationError
from sqlalchemy import insert
from sqlalchemy.exc import DBAPIError
from sqlmodel import col, select

from tickets.customers import phone_rows
from tickets.errors import InvalidPhoneNumber
from tickets.lifecycle import Actor
from tickets.models import Customer, CustomerPhone, CustomerTier
from tickets.phones import split_numbers
from tickets.schemas import CustomerCreate, PhoneIn
from tickets.uow import DeskContext

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
BATCH = 500


@dataclass(frozen=True, slots=True)
class RowError:
    line: int  # line number in the file (the header is line 1)
    field: str
    message: str


@dataclass
class ImportReport:
    imported: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def failed(self) -> int:
        return len({e.line for e in self.errors})


ProgressFn = Callable[[int], None]  # called with the number of rows just handled


def _canonical(header: str) -> str:
    key = header.strip().lstrip("\ufeff").lower()
    return ALIASES.get(key, key)


def parse_row(row: dict[str, str], region: str) -> tuple[CustomerCreate, list[CustomerPhone]]:
    """One CSV row → validated customer and normalised phones. Raises ValueError-like errors."""
    values = {k: (v or "").strip() for k, v in row.items() if k in COLUMNS}
    for key, value in values.items():
        if "\x00" in value:  # PostgreSQL text cannot hold NUL; refuse it on every backend alike
            raise ValueError(f"{key}: contains a NUL character")
    tier = values.get("tier", "").lower() or "ordinary"
    data = CustomerCreate.model_validate(
        {
            "name": values.get("name", ""),
            "company": values.get("company", ""),
            "tier": TIER_ALIASES.get(tier, tier),
            "address": values.get("address", ""),
            "email": values.get("email", ""),
            "notes": values.get("notes", ""),
            "tags": [t for t in values.get("tags", "").replace("；", ";").split(";") if t.strip()],
            "phones": [PhoneIn(number=n) for n in split_numbers(values.get("phones", ""))],
        }
    )
    return data, phone_rows(data.phones, region, field="phones")


def _row_errors(line: int, exc: Exception) -> list[RowError]:
    if isinstance(exc, InvalidPhoneNumber):
        return [RowError(line, exc.field or "phones", str(exc))]
    if isinstance(exc, ValidationError):
        return [
            RowError(line, ".".join(str(p) for p in err["loc"]) or "row", err["msg"])
            for err in exc.errors(include_url=False)
        ]
    return [RowError(line, "row", str(exc))]


def read_rows(stream: TextIO) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, row) with canonical column names. Raises ValueError without a name column."""
    reader = csv.reader(stream)
    try:
        header = [_canonical(h) for h in next(reader)]
    except StopIteration:
        return
    if "name" not in header:
        raise ValueError(
            f"the header has no name column (got {', '.join(header)}); expected {', '.join(COLUMNS)}"
        )
    for cells in reader:
        if not any(c.strip() for c in cells):
            continue
        yield reader.line_num, dict(zip(header, cells, strict=False))


async def import_customers(
    ctx: DeskContext,
    rows: Iterable[tuple[int, dict[str, str]]],
    *,
    actor: Actor,
    progress: ProgressFn | None = None,
    batch: int = BATCH,
) -> ImportReport:
    report = ImportReport()
    pending: list[tuple[int, CustomerCreate, list[CustomerPhone]]] = []
    for line, row in rows:
        try:
            data, phones = parse_row(row, ctx.config.region)
        except (ValidationError, InvalidPhoneNumber, ValueError) as exc:
            report.errors.extend(_row_errors(line, exc))
            if progress:
                progress(1)
            continue
        pending.append((line, data, phones))
        if len(pending) >= batch:
            await _flush(ctx, pending, actor, report, progress)
            pending = []
    if pending:
        await _flush(ctx, pending, actor, report, progress)
    report.errors.sort(key=lambda e: e.line)
    return report


async def _flush(
    ctx: DeskContext,
    rows: list[tuple[int, CustomerCreate, list[CustomerPhone]]],
    actor: Actor,
    report: ImportReport,
    progress: ProgressFn | None,
) -> None:
    try:
        await _write(ctx, rows, actor)
        report.imported += len(rows)
    except DBAPIError:
        for one in rows:  # isolate the row the database refused
            try:
                await _write(ctx, [one], actor)
                report.imported += 1
            except DBAPIError as exc:
                report.errors.append(RowError(one[0], "row", f"database refused the row: {exc.orig}"))
    if progress:
        progress(len(rows))


async def _write(
    ctx: DeskContext, rows: list[tuple[int, CustomerCreate, list[CustomerPhone]]], actor: Actor
) -> None:
    async with ctx.tx() as tx:
        now = tx.now
        values = [
            {**data.model_dump(exclude={"phones"}), "version": 1, "created_at": now, "updated_at": now}
            for _, data, _ in rows
        ]
        result = await tx.session.exec(
            insert(Customer).returning(col(Customer.id), sort_by_parameter_order=True), params=values
        )
        ids = [int(r[0]) for r in result.all()]
        phone_values = [
            {"customer_id": cid, "e164": p.e164, "extension": p.extension, "raw": p.raw, "label": p.label}
            for cid, (_, _, phones) in zip(ids, rows, strict=True)
            for p in phones
        ]
        if phone_values:
            await tx.session.exec(insert(CustomerPhone), params=phone_values)
        tx.audit(
            actor,
            "customer.import",
            f"customers:{ids[0]}-{ids[-1]}",
            count=len(ids),
            lines=[rows[0][0], rows[-1][0]],
            ids=ids,
        )


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


def _export_row(customer: Customer, phones: list[str]) -> list[Any]:
    tier = customer.tier.value if isinstance(customer.tier, CustomerTier) else str(customer.tier)
    return [
        customer.name,
        customer.company,
        "; ".join(phones),
        tier,
        customer.address,
        customer.email,
        "; ".join(customer.tags),
        customer.notes,
    ]
