"""CSV import with bad rows (reported, never fatal) and export that imports again."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from audit.models import AuditEntry
from tests.tickets.conftest import AGENT
from tickets.csv_io import export_customers, import_customers, read_rows
from tickets.models import CustomerTier
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
        entries = (await session.exec(select(AuditEntry).where(AuditEntry.action == "customer.import"))).all()
    assert sum(int(str(e.detail["count"])) for e in entries) == 3


async def test_export_then_import_round_trips(desk: ServiceDesk) -> None:
    await import_customers(desk.ctx, read_rows(io.StringIO(GOOD_AND_BAD)), actor=AGENT)
    first = io.StringIO()
    assert await export_customers(desk.ctx, first, page=2) == 3
    before = await desk.customers.search()
    report = await import_customers(desk.ctx, read_rows(io.StringIO(first.getvalue())), actor=AGENT)
    assert report.imported == 3 and report.errors == []
    after = await desk.customers.search()
    strip = [(c.name, c.tier, c.tags, [(p.e164, p.extension) for p in c.phones]) for c in before]
    again = [(c.name, c.tier, c.tags, [(p.e164, p.extension) for p in c.phones]) for c in after[3:]]
    assert again == strip


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
