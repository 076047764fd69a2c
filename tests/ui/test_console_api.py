"""The console's REST side on a live call: picker, new customer, new ticket, follow-ups, recent calls."""

from __future__ import annotations

import contextlib
from datetime import timedelta
from pathlib import Path

from config.database import utcnow
from tests.harness import next_message, running_hotline
from tickets.lifecycle import Actor
from tickets.models import FollowUp, Ticket
from tickets.schemas import CustomerCreate, PhoneIn

SEED = Actor("seed", "system")


async def test_the_agent_picks_the_caller_among_customers_sharing_a_number(
    database_url: str, tmp_path: Path
) -> None:
    async with running_hotline(database_url, tmp_path) as hotline, contextlib.AsyncExitStack() as stack:
        desk = hotline.container.desk
        for name in ("张三", "张三的太太"):
            await desk.customers.create(
                CustomerCreate(name=name, phones=[PhoneIn(number="+8613600136000")]), SEED
            )
        alice, ws, _ = await hotline.console(stack, "1001")
        await hotline.place_call("+8613600136000", talk=60)
        pop = await next_message(ws, "pop")
        assert sorted(c["name"] for c in pop["customers"]) == ["张三", "张三的太太"]
        wife = next(c for c in pop["customers"] if c["name"] == "张三的太太")
        reply = await alice.post(
            f"/api/console/calls/{pop['call_id']}/customer", json={"customer_id": wife["id"]}
        )
        assert reply.status_code == 200, reply.text
        again = await next_message(ws, "pop")  # the pop is re-sent: every tab shows the choice
        assert again["call_id"] == pop["call_id"] and again["chosen_customer_id"] == wife["id"]
        assert again["customers"][0]["name"] == "张三的太太"
        async with hotline.container.sessions() as session:
            ticket = await session.get(Ticket, pop["ticket_id"])
        assert ticket is not None and ticket.customer_id == wife["id"]
        await alice.aclose()


async def test_an_unknown_caller_becomes_a_customer_and_a_different_issue_gets_its_own_ticket(
    database_url: str, tmp_path: Path
) -> None:
    async with running_hotline(database_url, tmp_path) as hotline, contextlib.AsyncExitStack() as stack:
        bob, ws, _ = await hotline.console(stack, "1002")
        await hotline.place_call("+8613911112222", talk=60)
        pop = await next_message(ws, "pop")
        assert pop["customers"] == []
        call = pop["call_id"]
        bad = await bob.post(f"/api/console/calls/{call}/new-customer", json={"name": ""})
        assert bad.status_code == 422 and bad.json()["details"][0]["field"] == "body.name"
        made = await bob.post(
            f"/api/console/calls/{call}/new-customer",
            json={"name": "李雷", "company": "韩梅梅物业", "tier": "vip"},
        )
        assert made.status_code == 201
        card = (await next_message(ws, "pop"))["customers"]
        assert [(c["name"], c["tier"], c["phones"]) for c in card] == [("李雷", "vip", ["+8613911112222"])]

        moved = await bob.post(f"/api/console/calls/{call}/ticket")
        assert moved.status_code == 200 and moved.json()["ticket_id"] != pop["ticket_id"]
        assert (await next_message(ws, "pop"))["ticket_id"] == moved.json()["ticket_id"]
        wrong = await bob.post(f"/api/console/calls/{call}/wrapup", json={"code": "teleported"})
        assert wrong.status_code == 422
        unavailable = await bob.post(f"/api/console/calls/{call}/control/hold", json={})
        assert unavailable.status_code == 501 and unavailable.json()["error_id"] == "not_available"
        bad_target = await bob.post(
            f"/api/console/calls/{call}/control/transfer_blind", json={"target": "1; rm"}
        )
        assert bad_target.status_code in (422, 501)
        await bob.aclose()


async def test_follow_ups_due_are_the_agents_own_or_unowned(database_url: str, tmp_path: Path) -> None:
    async with running_hotline(database_url, tmp_path) as hotline:
        past = utcnow() - timedelta(hours=1)
        async with hotline.container.sessions() as session:
            tickets = [
                Ticket(subject=s, owner_agent_id=o)
                for s, o in (("mine", "1001"), ("theirs", "1002"), ("nobody's", None))
            ]
            session.add_all(tickets)
            await session.flush()
            session.add_all([FollowUp(ticket_id=t.id, due_at=past) for t in tickets if t.id is not None])
            session.add(
                FollowUp(ticket_id=tickets[0].id or 0, due_at=utcnow() + timedelta(days=1))
            )  # not due yet
            await session.commit()
        alice = await hotline.sign_in("1001")
        due = (await alice.get("/api/console/followups")).json()
        assert sorted(f["subject"] for f in due) == ["mine", "nobody's"]
        assert (await alice.get("/api/console/calls")).json() == []
        await alice.aclose()
