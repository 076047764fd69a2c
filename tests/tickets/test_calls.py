"""A call comes in: caller match, open or update the ticket, idempotent per call."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from routing.events import CallEventKind
from tests.tickets.conftest import AGENT, T0, FakeClock, call_event
from tickets.models import CustomerTier, TicketState
from tickets.service import ServiceDesk

MakeCustomer = Callable[..., Any]


async def test_known_caller_gets_a_new_ticket_with_the_call_attached(
    desk: ServiceDesk, make_customer: MakeCustomer
) -> None:
    customer_id = await make_customer("王小明", "+86 138 0013 8000", tier=CustomerTier.VIP)
    context = await desk.on_call_offered(call_event(caller="013800138000"))
    assert [c.id for c in context.customers] == [customer_id]
    assert context.ticket_is_new and context.tier is CustomerTier.VIP
    ticket = await desk.tickets.get(context.ticket_id)
    assert ticket.state is TicketState.REPORTED and ticket.customer_id == customer_id
    assert ticket.caller_e164 == "+8613800138000"


async def test_offering_the_same_call_twice_returns_the_same_context(desk: ServiceDesk) -> None:
    first = await desk.on_call_offered(call_event())
    again = await desk.on_call_offered(call_event())
    assert again == first
    page = await desk.timeline.search()
    assert page.total == 1


async def test_a_second_call_within_the_window_updates_the_open_ticket(
    desk: ServiceDesk, make_customer: MakeCustomer
) -> None:
    await make_customer("王小明", "13800138000")
    first = await desk.on_call_offered(call_event(call_id="a"))
    second = await desk.on_call_offered(
        call_event(call_id="b", caller="+8613800138000", at=T0 + timedelta(hours=5))
    )
    assert second.ticket_id == first.ticket_id and not second.ticket_is_new


async def test_a_call_after_the_window_opens_a_new_ticket(desk: ServiceDesk) -> None:
    first = await desk.on_call_offered(call_event(call_id="a"))
    later = await desk.on_call_offered(call_event(call_id="b", at=T0 + timedelta(hours=73)))
    assert later.ticket_id != first.ticket_id and later.ticket_is_new


async def test_unknown_caller_is_offered_a_new_customer_and_becomes_one(desk: ServiceDesk) -> None:
    context = await desk.on_call_offered(call_event(caller="+49 30 123456"))
    assert context.unknown_caller and context.caller_e164 == "+4930123456"
    assert context.model_dump(mode="json")["unknown_caller"] is True  # the pop gets it
    from tickets.schemas import CustomerCreate

    after = await desk.calls.new_customer_from_call("call-1", CustomerCreate(name="Anna"), AGENT)
    assert [c.name for c in after.customers] == ["Anna"]
    assert after.customers[0].phones == ("+4930123456",)
    assert (await desk.tickets.get(context.ticket_id)).customer_id == after.customers[0].id


async def test_answer_records_the_agent_who_then_is_the_last_agent_for_the_caller(
    desk: ServiceDesk, clock: FakeClock
) -> None:
    first = await desk.on_call_offered(call_event(call_id="a"))
    await desk.handle(
        call_event(CallEventKind.ANSWERED, call_id="a", agent="1001", at=T0 + timedelta(seconds=20))
    )
    ticket = await desk.tickets.get(first.ticket_id)
    assert ticket.owner_agent_id == "1001"
    second = await desk.on_call_offered(call_event(call_id="b", at=T0 + timedelta(hours=1)))
    assert second.last_agent_id == "1001" and second.ticket_owner_agent_id == "1001"


async def test_the_answer_does_not_make_the_ticket_opened_from_the_ringing_pop_stale(
    desk: ServiceDesk,
) -> None:
    """The pop shows the ticket while the phone rings; the agent opens it, answers, accepts. The
    answer makes the agent the owner, but must not refuse that accept as "changed since"."""
    offered = await desk.on_call_offered(call_event(call_id="a"))
    seen = (await desk.tickets.get(offered.ticket_id)).version
    await desk.handle(
        call_event(CallEventKind.ANSWERED, call_id="a", agent="1001", at=T0 + timedelta(seconds=5))
    )
    accepted = await desk.tickets.accept(offered.ticket_id, version=seen, actor=AGENT)
    assert accepted.state is TicketState.ACCEPTED and accepted.owner_agent_id == "1001"


async def test_with_ivr_category_matching_another_category_opens_a_new_ticket(
    sessions: Any, clock: FakeClock
) -> None:
    from tickets.config import DeskConfig

    desk = ServiceDesk(
        sessions, config=DeskConfig(ivr_categories={"1": "repair", "2": "billing"}), clock=clock
    )
    repair = await desk.on_call_offered(call_event(call_id="a", ivr_choice="1"))
    billing = await desk.on_call_offered(call_event(call_id="b", ivr_choice="2"))
    again = await desk.on_call_offered(call_event(call_id="c", ivr_choice="1"))
    assert billing.ticket_id != repair.ticket_id and billing.category == "billing"
    assert again.ticket_id == repair.ticket_id


async def test_closed_or_resolved_tickets_are_not_updated_by_a_new_call(desk: ServiceDesk) -> None:
    first = await desk.on_call_offered(call_event(call_id="a"))
    await desk.tickets.accept(first.ticket_id, version=1, actor=AGENT)
    await desk.tickets.resolve(first.ticket_id, version=2, actor=AGENT)
    second = await desk.on_call_offered(call_event(call_id="b", at=T0 + timedelta(minutes=5)))
    assert second.ticket_is_new and second.ticket_id != first.ticket_id


async def test_several_customers_on_one_number_are_listed_and_the_agent_picks(
    desk: ServiceDesk, make_customer: MakeCustomer
) -> None:
    reception = await make_customer("前台", "010-65529988")
    boss = await make_customer("总经理", "010 6552 9988", tier=CustomerTier.STRATEGIC)
    context = await desk.on_call_offered(call_event(caller="01065529988"))
    assert {c.id for c in context.customers} == {reception, boss}
    assert context.tier is CustomerTier.STRATEGIC  # highest among the candidates until one is picked
    assert (await desk.tickets.get(context.ticket_id)).customer_id is None
    picked = await desk.calls.choose_customer("call-1", reception, AGENT)
    assert picked.customers[0].id == reception and picked.tier is CustomerTier.ORDINARY
    assert (await desk.tickets.get(context.ticket_id)).customer_id == reception


async def test_the_agent_can_move_the_call_to_a_new_ticket_or_back(desk: ServiceDesk) -> None:
    first = await desk.on_call_offered(call_event(call_id="a"))
    second = await desk.on_call_offered(call_event(call_id="b", at=T0 + timedelta(minutes=10)))
    assert second.ticket_id == first.ticket_id
    moved = await desk.calls.attach_call("b", None, AGENT)  # "this is a different problem"
    assert moved.ticket_id != first.ticket_id and moved.ticket_is_new
    back = await desk.calls.attach_call("b", first.ticket_id, AGENT)  # changed their mind
    assert back.ticket_id == first.ticket_id
    orphan = await desk.tickets.get(moved.ticket_id)
    assert orphan.state is TicketState.CANCELLED  # the untouched ticket opened by mistake


async def test_withheld_numbers_always_open_a_new_ticket(desk: ServiceDesk) -> None:
    a = await desk.on_call_offered(call_event(call_id="a", caller="anonymous"))
    b = await desk.on_call_offered(call_event(call_id="b", caller=None))
    assert a.ticket_id != b.ticket_id and a.caller_e164 is None and a.unknown_caller


async def test_recording_and_hangup_are_recorded_once_and_show_in_the_timeline(desk: ServiceDesk) -> None:
    context = await desk.on_call_offered(call_event())
    for _ in range(2):  # vendors resend
        await desk.handle(call_event(CallEventKind.ANSWERED, agent="1001", at=T0 + timedelta(seconds=5)))
        await desk.handle(
            call_event(CallEventKind.RECORDING_READY, detail="/var/x.wav", at=T0 + timedelta(minutes=3))
        )
        await desk.handle(call_event(CallEventKind.HUNG_UP, at=T0 + timedelta(minutes=3)))
    timeline = await desk.timeline.for_ticket(context.ticket_id)
    kinds = [e.kind for e in timeline]
    assert kinds == ["created", "call", "call_answered", "recording"]
    assert timeline[1].link == "/api/recordings?call_id=call-1"


async def test_an_answer_for_a_call_never_offered_attaches_it_first(desk: ServiceDesk) -> None:
    await desk.handle(call_event(CallEventKind.ANSWERED, call_id="late", agent="1002"))
    context = await desk.calls.context("late")
    assert context.ticket_owner_agent_id == "1002"


async def test_concurrent_offers_of_one_call_attach_it_once(desk: ServiceDesk) -> None:
    import asyncio

    results = await asyncio.gather(*(desk.on_call_offered(call_event(call_id="dup")) for _ in range(4)))
    assert len({r.ticket_id for r in results}) == 1
    assert (await desk.timeline.search()).total == 1


# ---------------------------------------------------------------- abandoned calls


def abandoned(call_id: str = "call-1", seconds: int = 30) -> Any:
    return call_event(CallEventKind.ABANDONED, call_id=call_id, at=T0 + timedelta(seconds=seconds))


async def test_an_abandoned_call_cancels_the_ticket_it_opened_if_nobody_worked_on_it(
    desk: ServiceDesk, sessions: Any
) -> None:
    from sqlmodel import select

    from audit.models import AuditEntry
    from tickets.models import TicketEvent

    context = await desk.on_call_offered(call_event())
    await desk.handle(abandoned())
    await desk.handle(abandoned())  # re-delivered: one cancellation
    ticket = await desk.tickets.get(context.ticket_id)
    assert ticket.state is TicketState.CANCELLED
    async with sessions() as session:
        moves = (
            await session.exec(
                select(TicketEvent).where(
                    TicketEvent.ticket_id == context.ticket_id, TicketEvent.kind == "transition"
                )
            )
        ).all()
        audit = (await session.exec(select(AuditEntry).where(AuditEntry.action == "ticket.cancelled"))).all()
    assert [(m.actor, m.from_state, m.to_state) for m in moves] == [("system", "reported", "cancelled")]
    assert "hung up before an agent answered" in moves[0].note
    assert [(a.actor, a.subject) for a in audit] == [("system", f"ticket:{context.ticket_id}")]


async def test_an_abandoned_call_leaves_a_ticket_that_someone_touched_or_shares(
    desk: ServiceDesk, make_customer: MakeCustomer
) -> None:
    from tickets.schemas import TicketUpdate

    # An agent wrote on the ticket while the phone rang: the work is kept.
    edited = await desk.on_call_offered(call_event(call_id="a"))
    await desk.tickets.update(edited.ticket_id, TicketUpdate(version=1, subject="漏水 Leak"), AGENT)
    await desk.handle(abandoned("a"))
    assert (await desk.tickets.get(edited.ticket_id)).state is TicketState.REPORTED

    # A repeat caller's call joined their open ticket: abandoning it cancels nothing.
    await make_customer("王小明", "13900139000")
    first = await desk.on_call_offered(call_event(call_id="b", caller="13900139000"))
    second = await desk.on_call_offered(
        call_event(call_id="c", caller="13900139000", at=T0 + timedelta(minutes=5))
    )
    assert second.ticket_id == first.ticket_id and not second.ticket_is_new
    await desk.handle(abandoned("c", seconds=400))
    assert (await desk.tickets.get(first.ticket_id)).state is TicketState.REPORTED

    # An answered call that ends is no abandon.
    answered = await desk.on_call_offered(call_event(call_id="d", caller="+4930123456"))
    await desk.handle(
        call_event(CallEventKind.ANSWERED, call_id="d", agent="1001", at=T0 + timedelta(seconds=9))
    )
    await desk.handle(call_event(CallEventKind.HUNG_UP, call_id="d", at=T0 + timedelta(seconds=99)))
    assert (await desk.tickets.get(answered.ticket_id)).state is TicketState.REPORTED


async def test_abandoned_complaints_and_the_keep_setting_leave_the_ticket_reported(
    sessions: Any, clock: FakeClock
) -> None:
    from tickets.config import DeskConfig

    desk = ServiceDesk(sessions, config=DeskConfig(ivr_categories={"9": "complaint"}), clock=clock)
    complaint = await desk.on_call_offered(call_event(call_id="a", ivr_choice="9"))
    await desk.handle(abandoned("a"))
    assert (await desk.tickets.get(complaint.ticket_id)).state is TicketState.REPORTED
    desk.close()

    keep = ServiceDesk(sessions, config=DeskConfig(abandoned_tickets="keep"), clock=clock)
    kept = await keep.on_call_offered(call_event(call_id="b", caller="+4930999999"))
    await keep.handle(abandoned("b"))
    assert (await keep.tickets.get(kept.ticket_id)).state is TicketState.REPORTED
    keep.close()


async def test_a_caller_from_the_same_city_sent_without_area_code_pops_the_customer(
    sessions: Any, clock: FakeClock
) -> None:
    from tickets.config import DeskConfig
    from tickets.schemas import CustomerCreate, PhoneIn

    desk = ServiceDesk(sessions, config=DeskConfig(area_code="10"), clock=clock)
    data = CustomerCreate(name="前台", phones=[PhoneIn(number="010-6552 9988")])
    customer = await desk.customers.create(data, AGENT)
    context = await desk.on_call_offered(call_event(caller="65529988"))
    assert [c.id for c in context.customers] == [customer.id]
    assert context.caller_e164 == "+861065529988"
    assert [c.id for c in await desk.customers.find_by_phone("6552-9988")] == [customer.id]
    desk.close()


async def test_the_pop_card_shows_the_call_before_this_one_as_the_last_call(
    desk: ServiceDesk, clock: FakeClock, make_customer: MakeCustomer
) -> None:
    await make_customer("王小明", "13800138000")
    first = await desk.on_call_offered(call_event(call_id="a"))
    assert first.customers[0].last_call_at is None  # the call ringing now is not "the last call"
    earlier = clock.now
    clock.advance(hours=2)
    second = await desk.on_call_offered(call_event(call_id="b", at=T0 + timedelta(hours=2)))
    assert second.customers[0].last_call_at == earlier


async def test_a_batch_of_many_calls_is_booked_as_each_event_alone_and_again_changes_nothing(
    desk: ServiceDesk,
) -> None:
    """The bus's lane behind hands the desk the events of many calls together (one transaction):
    each ticket's timeline is what one event at a time gives, and the batch again adds nothing."""
    calls = [f"batch-{n}" for n in range(4)]
    contexts = [
        await desk.on_call_offered(call_event(call_id=c, caller=f"1380013{n:04d}"))
        for n, c in enumerate(calls)
    ]
    batch = [
        call_event(CallEventKind.ANSWERED, call_id=c, agent="1001", at=T0 + timedelta(seconds=5))
        for c in calls
    ]
    batch += [
        call_event(
            CallEventKind.RECORDING_READY, call_id=c, detail=f"/var/{c}.wav", at=T0 + timedelta(minutes=3)
        )
        for c in calls
    ]
    batch += [call_event(CallEventKind.HUNG_UP, call_id=c, at=T0 + timedelta(minutes=3)) for c in calls]
    batch.append(call_event(CallEventKind.ANSWERED, call_id="batch-late", agent="1002"))  # never offered
    for _ in range(2):
        await desk.handle_batch(batch)
    for context in contexts:
        timeline = await desk.timeline.for_ticket(context.ticket_id)
        assert [e.kind for e in timeline] == ["created", "call", "call_answered", "recording"]
        assert (await desk.tickets.get(context.ticket_id)).owner_agent_id == "1001"
    assert (await desk.calls.context("batch-late")).ticket_owner_agent_id == "1002"
