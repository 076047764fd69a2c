"""CSV import with bad rows (reported, never fatal) and export that imports again."""

from __future__ import annotations

import asyncio
import csv
import gc
import io
import signal
import sys
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from audit.models import AuditEntry
from tests.tickets.conftest import AGENT
from tickets.csv_io import export_customers, import_customers, read_rows
from tickets.models import Customer, CustomerImport, CustomerPhone, CustomerTier
from tickets.offer import OfferWriter
from tickets.service import ServiceDesk

GOOD_AND_BAD = """\ufeff姓名,公司,电话,等级,地址,邮箱,标签,备注
王小明,阳光物业,"+86 138 0013 8000; 010-6552 9988/8021",VIP,朝阳区建国路 88 号,w@example.cn,物业;合同,大客户
,没有名字,13900139000,,,,,
Anna Caller,Example GmbH,+49 30 123456,ordinary,,anna@example.de,,
坏号码,X,12345,,,,,
Bad Tier,X,13700137000,gold,,,,
Bad Mail,X,13600136000,,,not-an-email,,

李四,,"138 0013 8000 / 139 0013 9000",战略,,,,
"""


async def test_import_keeps_good_rows_and_reports_each_bad_one(desk: ServiceDesk) -> None:
    done: list[int] = []
    report = await import_customers(
        desk.ctx, read_rows(io.StringIO(GOOD_AND_BAD)), actor=AGENT, progress=done.append, batch=2
    )
    assert report.imported == 3 and report.failed == 4
    assert [(e.line, e.field) for e in report.errors] == [
        (3, "name"),
        (5, "phones[0].number"),
        (6, "tier"),
        (7, "email"),
    ]
    assert sum(done) == 7
    wang = await desk.customers.find_by_phone("13800138000")
    assert sorted(c.name for c in wang) == ["李四", "王小明"]
    record = next(c for c in wang if c.name == "王小明")
    assert record.tier is CustomerTier.VIP and record.tags == ["物业", "合同"]
    assert [(p.e164, p.extension) for p in record.phones] == [
        ("+8613800138000", ""),
        ("+861065529988", "8021"),
    ]
    lisi = next(c for c in wang if c.name == "李四")
    assert lisi.tier is CustomerTier.STRATEGIC and len(lisi.phones) == 2


async def test_import_is_audited_per_batch(
    desk: ServiceDesk, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await import_customers(desk.ctx, read_rows(io.StringIO(GOOD_AND_BAD)), actor=AGENT, batch=2)
    async with sessions() as session:
        entries = (
            await session.exec(
                select(AuditEntry).where(AuditEntry.action == "customer.import").order_by(col(AuditEntry.seq))
            )
        ).all()
    assert sum(int(str(e.detail["count"])) for e in entries) == 3
    # one entry per batch of 2 good rows, each naming its lines and a digest of its rows
    assert [e.detail["lines"] for e in entries] == [[2, 4], [9, 9]]
    assert all(len(str(e.detail["digest"])) == 64 for e in entries)
    assert [e.detail["created"] for e in entries] == [2, 1]


async def test_export_then_import_round_trips(desk: ServiceDesk) -> None:
    await import_customers(desk.ctx, read_rows(io.StringIO(GOOD_AND_BAD)), actor=AGENT)
    first = io.StringIO()
    assert await export_customers(desk.ctx, first, page=2) == 3
    before = await desk.customers.search()
    report = await import_customers(desk.ctx, read_rows(io.StringIO(first.getvalue())), actor=AGENT)
    assert report.imported == 3 and report.errors == []
    assert (report.created, report.updated, report.unchanged, report.phones_added) == (0, 0, 3, 0)
    assert await desk.customers.search() == before  # same ids, versions, fields and numbers


def test_a_file_without_a_name_column_is_refused_up_front() -> None:
    with pytest.raises(ValueError, match="no name column"):
        list(read_rows(io.StringIO("phone,company\n13800138000,x\n")))


def test_the_cli_imports_reports_bad_rows_and_exports(database_url: str, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from tickets.cli import app

    source = tmp_path / "in.csv"
    source.write_text(GOOD_AND_BAD, encoding="utf-8")
    runner = CliRunner()
    errors = tmp_path / "errors.csv"
    result = runner.invoke(
        app, ["import", str(source), "--database-url", database_url, "--errors", str(errors)]
    )
    assert result.exit_code == 1, result.output
    assert "imported 3 customers; refused 4 rows" in result.output
    assert errors.read_text(encoding="utf-8").count("\n") == 5
    exported = tmp_path / "out.csv"
    result = runner.invoke(app, ["export", str(exported), "--database-url", database_url])
    assert result.exit_code == 0, result.output
    assert "王小明" in exported.read_text(encoding="utf-8-sig")


async def test_reimporting_a_file_changes_nothing(
    desk: ServiceDesk, sessions: async_sessionmaker[AsyncSession]
) -> None:
    first = await import_customers(desk.ctx, read_rows(io.StringIO(GOOD_AND_BAD)), actor=AGENT, batch=2)
    assert (first.created, first.updated, first.unchanged) == (3, 0, 0)
    before = await _snapshot(sessions)
    again = await import_customers(desk.ctx, read_rows(io.StringIO(GOOD_AND_BAD)), actor=AGENT, batch=2)
    assert again.imported == 3 and again.failed == 4  # the same bad rows, reported again
    assert (again.created, again.updated, again.unchanged, again.phones_added) == (0, 0, 3, 0)
    assert await _snapshot(sessions) == before


async def test_a_changed_row_updates_its_customer_and_adds_numbers(desk: ServiceDesk) -> None:
    await import_customers(desk.ctx, read_rows(io.StringIO(GOOD_AND_BAD)), actor=AGENT)
    changed = GOOD_AND_BAD.replace(
        "Anna Caller,Example GmbH,+49 30 123456,ordinary,",
        "Anna Caller,Example AG,+49 30 123456; +49 30 654321,vip,",
    )
    report = await import_customers(desk.ctx, read_rows(io.StringIO(changed)), actor=AGENT)
    assert (report.created, report.updated, report.unchanged, report.phones_added) == (0, 1, 2, 1)
    [anna] = await desk.customers.find_by_phone("+49 30 123456")
    assert anna.company == "Example AG" and anna.tier is CustomerTier.VIP and anna.version == 2
    assert [p.e164 for p in anna.phones] == ["+4930123456", "+4930654321"]


async def test_the_same_number_with_another_name_is_another_customer(desk: ServiceDesk) -> None:
    """王小明 and 李四 share +86 138 0013 8000 (first number of both): two people, two records."""
    await import_customers(desk.ctx, read_rows(io.StringIO(GOOD_AND_BAD)), actor=AGENT)
    assert len(await desk.customers.find_by_phone("13800138000")) == 2


async def test_import_adopts_a_customer_made_on_the_desk(
    desk: ServiceDesk, make_customer: Callable[..., Awaitable[int]]
) -> None:
    made = await make_customer("Anna Caller", "+49 30 123456")
    report = await import_customers(desk.ctx, read_rows(io.StringIO(GOOD_AND_BAD)), actor=AGENT)
    assert (report.created, report.updated) == (2, 1)
    [anna] = await desk.customers.find_by_phone("+49 30 123456")
    assert anna.id == made and anna.company == "Example GmbH"
    again = await import_customers(desk.ctx, read_rows(io.StringIO(GOOD_AND_BAD)), actor=AGENT)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)


async def test_one_customer_twice_in_a_file_is_one_record(desk: ServiceDesk) -> None:
    text = "name,phones,tier\nZhao,13900139000,vip\nZhao,13900139000; 13700137000,risk\n"
    report = await import_customers(desk.ctx, read_rows(io.StringIO(text)), actor=AGENT)
    assert report.imported == 2 and report.errors == []
    [zhao] = await desk.customers.find_by_phone("13900139000")
    assert zhao.tier is CustomerTier.RISK and len(zhao.phones) == 2


async def test_export_escapes_formula_cells_and_imports_them_back(desk: ServiceDesk) -> None:
    text = 'name,company,phones,notes\n"=HYPERLINK(""http://x"")",@SUM(A1),13900139000,-1+1\n'
    await import_customers(desk.ctx, read_rows(io.StringIO(text)), actor=AGENT)
    out = io.StringIO()
    await export_customers(desk.ctx, out)
    row = list(csv.reader(io.StringIO(out.getvalue())))[1]
    assert row[:3] == ['\'=HYPERLINK("http://x")', "'@SUM(A1)", "'+8613900139000"]
    assert row[7] == "'-1+1"
    report = await import_customers(desk.ctx, read_rows(io.StringIO(out.getvalue())), actor=AGENT)
    assert (report.created, report.unchanged) == (0, 1)
    [found] = await desk.customers.find_by_phone("13900139000")
    assert (found.name, found.company, found.notes) == ('=HYPERLINK("http://x")', "@SUM(A1)", "-1+1")


async def _snapshot(sessions: async_sessionmaker[AsyncSession]) -> list[object]:
    async with sessions() as session:
        customers = (await session.exec(select(Customer).order_by(col(Customer.id)))).all()
        phones = (await session.exec(select(CustomerPhone).order_by(col(CustomerPhone.id)))).all()
        return [c.model_dump() for c in customers] + [p.model_dump() for p in phones]


def _big_file(path: Path, rows: int) -> None:
    with path.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["name", "phones", "tier"])
        for i in range(rows):
            writer.writerow([f"客户{i}", f"139{i:08d}", "vip" if i % 7 == 0 else "ordinary"])


async def test_a_killed_import_resumes_after_its_last_committed_batch(
    database_url: str, tmp_path: Path, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """kill -9 a real `hotline customers import` mid-way; the rerun skips what was committed."""
    rows, batch = 20_000, 200
    source = tmp_path / "big.csv"
    _big_file(source, rows)
    hotline = Path(sys.executable).parent / "hotline"
    command = [str(hotline), "customers", "import", str(source), "--database-url", database_url]
    command += ["--batch", str(batch)]
    proc = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
    )
    try:
        committed = await _poll_progress(sessions, proc, at_least=5 * batch)
        proc.send_signal(signal.SIGKILL)
        await asyncio.wait_for(proc.wait(), 30)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == -signal.SIGKILL
    async with sessions() as session:
        [job] = (await session.exec(select(CustomerImport))).all()
        assert job.finished_at is None and job.lines_done >= committed
        killed_at = job.lines_done
        count = len((await session.exec(select(Customer.id))).all())
    assert count == killed_at - 1 < rows  # every committed batch, nothing of the one in flight

    rerun = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
    )
    _, stderr = await asyncio.wait_for(rerun.communicate(), 600)
    assert rerun.returncode == 0, stderr.decode()
    assert f"after line {killed_at}" in stderr.decode()
    async with sessions() as session:
        names = (await session.exec(select(Customer.name))).all()
        entries = (
            await session.exec(
                select(AuditEntry).where(AuditEntry.action == "customer.import").order_by(col(AuditEntry.seq))
            )
        ).all()
        [job] = (await session.exec(select(CustomerImport))).all()
    assert sorted(names) == sorted(f"客户{i}" for i in range(rows))
    assert job.finished_at is not None and job.lines_done == rows + 1
    covered = [line for e in entries for line in range(e.detail["lines"][0], e.detail["lines"][1] + 1)]  # type: ignore[index]
    assert covered == list(range(2, rows + 2))  # each line in exactly one committed batch, in order
    assert sum(int(str(e.detail["created"])) for e in entries) == rows


async def _poll_progress(
    sessions: async_sessionmaker[AsyncSession], proc: asyncio.subprocess.Process, at_least: int
) -> int:
    while True:
        assert proc.returncode is None, "the import ended before the test could kill it"
        async with sessions() as session:
            done = (await session.exec(select(CustomerImport.lines_done))).first()
        if done is not None and done >= at_least:
            return done
        await asyncio.sleep(0.01)


async def test_customers_without_a_number_are_matched_by_name_and_mail_or_address(
    desk: ServiceDesk, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """No number, no key: a re-import made each such row again. They are matched by name and
    e-mail (any case), or with no e-mail by name, company and address; a namesake elsewhere
    stays another person."""
    text = (
        "name,company,address,email,tier\n"
        "Wu Fang,Acme,,wu@example.cn,vip\n"
        "Lin Tao,Blue Co,Harbour Road 1,,ordinary\n"
        "Lin Tao,Red Co,Hill Street 9,,ordinary\n"
    )
    first = await import_customers(desk.ctx, read_rows(io.StringIO(text)), actor=AGENT)
    assert (first.created, first.updated, first.unchanged) == (3, 0, 0)
    before = await _snapshot(sessions)
    again = await import_customers(desk.ctx, read_rows(io.StringIO(text)), actor=AGENT)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
    assert await _snapshot(sessions) == before

    changed = text.replace("Wu Fang,Acme,,wu@example.cn,vip", "Wu Fang,Acme Ltd,,WU@example.cn,vip")
    report = await import_customers(desk.ctx, read_rows(io.StringIO(changed)), actor=AGENT)
    assert (report.created, report.updated, report.unchanged) == (0, 1, 2)
    async with sessions() as session:
        wu = (await session.exec(select(Customer).where(Customer.name == "Wu Fang"))).one()
        assert (wu.company, wu.email, wu.version) == ("Acme Ltd", "WU@example.cn", 2)
        assert len((await session.exec(select(Customer).where(Customer.name == "Lin Tao"))).all()) == 2


class _Stop(Exception):
    """Raised by a progress callback to break an import off mid-way."""


async def test_the_collector_is_paused_during_an_import_and_restored_even_when_it_fails(
    desk: ServiceDesk,
) -> None:
    seen: list[bool] = []

    def progress(rows: int) -> None:
        seen.append(gc.isenabled())
        if len(seen) == 3:
            raise _Stop

    assert gc.isenabled()
    with pytest.raises(_Stop):
        await import_customers(
            desk.ctx, read_rows(io.StringIO(_numbered(40))), actor=AGENT, progress=progress, batch=5
        )
    assert seen == [False, False, False]
    assert gc.isenabled()
    done = await import_customers(desk.ctx, read_rows(io.StringIO(_numbered(40))), actor=AGENT, batch=5)
    assert done.imported == 40 and done.errors == []  # what the broken run committed is upserted again


def _numbered(rows: int) -> str:
    return "name,phones\n" + "".join(f"客户{i},139{i:08d}\n" for i in range(rows))


async def test_an_import_batch_is_written_off_the_event_loop_on_a_sqlite_file(
    database_url: str, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """The writer of a bulk write never runs it in the loop thread (where it would hold the loop
    and the parsing of the next batch for its whole length)."""
    if not database_url.startswith("sqlite"):
        pytest.skip("the writer thread is SQLite's; PostgreSQL writes through the pool")
    writer = OfferWriter(sessions)
    try:
        ran_in = await writer.run(lambda conn: threading.get_ident())
    finally:
        writer.close()
    assert ran_in != threading.get_ident()
