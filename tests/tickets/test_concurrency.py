"""Two agents, one ticket, the same moment: exactly one wins, the other gets a TicketConflict."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from audit.log import AuditLog
from tests.tickets.conftest import AGENT, AGENT2, FakeClock
from tickets.errors import TicketConflict
from tickets.lifecycle import Actor
from tickets.models import TicketState
from tickets.schemas import TicketCreate, TicketUpdate
from tickets.service import ServiceDesk
from tickets.workflow import load_ticket, write_ticket


async def _outcomes(*coros: object) -> tuple[list[object], list[BaseException]]:
    results = await asyncio.gather(*coros, return_exceptions=True)  # type: ignore[arg-type]
    errors = [r for r in results if isinstance(r, BaseException)]
    return [r for r in results if not isinstance(r, BaseException)], errors


@pytest.mark.parametrize("rounds", [5])
async def test_two_concurrent_transitions_exactly_one_wins(desk: ServiceDesk, rounds: int) -> None:
    for _ in range(rounds):
        ticket = await desk.tickets.create(TicketCreate(subject="race"), AGENT)
        wins, errors = await _outcomes(
            desk.tickets.accept(ticket.id, version=1, actor=AGENT),
            desk.tickets.cancel(ticket.id, version=1, actor=AGENT2),
        )
        assert len(wins) == 1 and len(errors) == 1
        assert isinstance(errors[0], TicketConflict), errors[0]
        assert "reload and retry" in str(errors[0])
        after = await desk.tickets.get(ticket.id)
        assert after.version == 2 and after.state in (TicketState.ACCEPTED, TicketState.CANCELLED)
        transitions = [e for e in await desk.timeline.for_ticket(ticket.id) if e.kind == "transition"]
        assert len(transitions) == 1


async def test_two_concurrent_edits_never_silently_overwrite(desk: ServiceDesk) -> None:
    ticket = await desk.tickets.create(TicketCreate(subject="first"), AGENT)
    wins, errors = await _outcomes(
        desk.tickets.update(ticket.id, TicketUpdate(version=1, subject="agent one"), AGENT),
        desk.tickets.update(ticket.id, TicketUpdate(version=1, subject="agent two"), AGENT2),
    )
    assert len(wins) == 1 and [type(e) for e in errors] == [TicketConflict]
    assert (await desk.tickets.get(ticket.id)).subject in ("agent one", "agent two")


async def test_a_writer_that_read_before_another_committed_loses_at_the_compare_and_set(
    desk: ServiceDesk, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    """Both read version 1; the second write finds version 2 in the row (not only in its copy)."""
    created = await desk.tickets.create(TicketCreate(subject="cas"), AGENT)
    async with sessions() as reader:
        stale = await load_ticket(reader, created.id)  # version 1, read before the other commit
    await desk.tickets.accept(created.id, version=1, actor=AGENT)
    async with desk.ctx.tx() as tx:
        with pytest.raises(TicketConflict) as caught:
            await write_ticket(tx, stale, 1, {"subject": "lost update"})
    assert (caught.value.expected, caught.value.actual) == (1, 2)
    assert (await desk.tickets.get(created.id)).subject == "cas"


async def test_every_transition_and_edit_is_in_the_audit_chain(
    desk: ServiceDesk, sessions: async_sessionmaker[AsyncSession]
) -> None:
    ticket = await desk.tickets.create(TicketCreate(subject="audit"), AGENT)
    await desk.tickets.update(ticket.id, TicketUpdate(version=1, subject="audited"), AGENT)
    await desk.tickets.accept(ticket.id, version=2, actor=Actor("1001", "agent", "10.0.0.7"))
    await desk.tickets.add_note(ticket.id, "客户说明天在家", AGENT)
    from sqlmodel import select

    from audit.models import AuditEntry

    async with sessions() as session:
        entries = (await session.exec(select(AuditEntry).order_by(AuditEntry.seq))).all()
        report = await AuditLog().verify(session)
    actions = [e.action for e in entries if e.subject == f"ticket:{ticket.id}"]
    assert actions == ["ticket.create", "ticket.update", "ticket.accepted", "ticket.note"]
    accepted = next(e for e in entries if e.action == "ticket.accepted")
    assert accepted.actor == "1001" and accepted.source_ip == "10.0.0.7"
    assert accepted.detail["from_state"] == "reported" and accepted.detail["to_state"] == "accepted"
    assert report.ok


async def test_a_refused_transition_leaves_no_audit_entry(
    desk: ServiceDesk, sessions: async_sessionmaker[AsyncSession]
) -> None:
    ticket = await desk.tickets.create(TicketCreate(subject="x"), AGENT)
    with pytest.raises(TicketConflict):
        await desk.tickets.accept(ticket.id, version=9, actor=AGENT)
    async with sessions() as session:
        report = await AuditLog().verify(session)
    assert report.entries == 1  # the create only
