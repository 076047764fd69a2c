"""Models and migrations on every backend under test."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from agent_ui.migrate import downgrade, upgrade
from agent_ui.schema import metadata
from config.database import create_engine
from tickets.models import Customer, CustomerPhone, CustomerTier, Ticket, TicketState


async def test_migrations_create_every_model_table(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        tables = await conn.run_sync(lambda sync: set(inspect(sync).get_table_names()))
    assert set(metadata.tables) <= tables
    assert "alembic_version" in tables


async def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'pragmas.db'}")
    try:
        async with engine.connect() as conn:
            assert (await conn.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
            assert (await conn.execute(text("PRAGMA foreign_keys"))).scalar() == 1
            assert (await conn.execute(text("PRAGMA busy_timeout"))).scalar() == 5000
    finally:
        await engine.dispose()


async def test_customer_with_several_phone_numbers_round_trips(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session:
        customer = Customer(name="王小明", company="阳光物业", tier=CustomerTier.VIP)
        session.add(customer)
        await session.flush()
        assert customer.id is not None
        session.add_all(
            [
                CustomerPhone(customer_id=customer.id, e164="+8613800138000", raw="138 0013 8000"),
                CustomerPhone(customer_id=customer.id, e164="+861065529988", raw="010-6552 9988"),
            ]
        )
        session.add(Ticket(customer_id=customer.id, subject="电梯故障"))
        await session.commit()

    async with sessions() as session:
        phones = (await session.exec(select(CustomerPhone.e164).order_by(CustomerPhone.e164))).all()
        ticket = (await session.exec(select(Ticket))).one()
        loaded = await session.get(Customer, ticket.customer_id)
    assert phones == ["+861065529988", "+8613800138000"]
    assert ticket.state == TicketState.REPORTED
    assert loaded is not None and loaded.name == "王小明" and loaded.tier == "vip"
    assert loaded.created_at.tzinfo is UTC


async def test_phone_of_unknown_customer_is_refused(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as session:
        session.add(CustomerPhone(customer_id=999, e164="+8613800138000"))
        with pytest.raises(IntegrityError):
            await session.commit()


async def test_naive_datetimes_are_refused(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as session:
        session.add(Customer(name="x", created_at=datetime(2026, 1, 1)))
        with pytest.raises(Exception, match="naive datetime"):
            await session.commit()


def test_migrations_downgrade_to_base_and_upgrade_again(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'm.db'}"
    upgrade(url)
    downgrade(url, "base")
    upgrade(url)

    async def tables() -> set[str]:
        eng = create_engine(url)
        async with eng.connect() as conn:
            names = await conn.run_sync(lambda sync: set(inspect(sync).get_table_names()))
        await eng.dispose()
        return names

    assert set(metadata.tables) <= asyncio.run(tables())
