"""Service-desk fixtures: a desk on the real test database, a clock the test moves."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from itertools import count

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from routing.events import CallEvent, CallEventKind
from tickets.config import DeskConfig
from tickets.events import DeskEvent
from tickets.lifecycle import Actor
from tickets.schemas import CustomerCreate, PhoneIn
from tickets.service import ServiceDesk

T0 = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)  # Tuesday 09:00 in Shanghai


class FakeClock:
    """Virtual time: tests move it; nothing sleeps."""

    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


AGENT = Actor("1001", "agent")
AGENT2 = Actor("1002", "agent")
SUPERVISOR = Actor("sup", "supervisor")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def desk_config() -> DeskConfig:
    return DeskConfig()


@pytest.fixture
def desk(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock, desk_config: DeskConfig
) -> Iterator[ServiceDesk]:
    desk = ServiceDesk(sessions, config=desk_config, clock=clock)
    yield desk
    desk.close()


@pytest.fixture
def published(desk: ServiceDesk) -> list[DeskEvent]:
    events: list[DeskEvent] = []

    async def listen(event: DeskEvent) -> None:
        events.append(event)

    desk.subscribe(listen)
    return events


_ids = count(1)


def call_event(
    kind: CallEventKind = CallEventKind.OFFERED,
    *,
    call_id: str = "call-1",
    caller: str | None = "13800138000",
    at: datetime = T0,
    **fields: object,
) -> CallEvent:
    return CallEvent(call_id=call_id, kind=kind, at=at, event_id=f"e{next(_ids)}", caller=caller, **fields)  # type: ignore[arg-type]


@pytest.fixture
def make_customer(desk: ServiceDesk) -> Callable[..., object]:
    async def make(name: str = "王小明", *phones: str, **fields: object) -> int:
        data = CustomerCreate(name=name, phones=[PhoneIn(number=p) for p in phones], **fields)  # type: ignore[arg-type]
        customer = await desk.customers.create(data, AGENT)
        return customer.id

    return make
