"""A customer's text answering the resolve message reaches the ticket's follow-up (#20)."""

from __future__ import annotations

from pathlib import Path

from tests.twilio.harness import twilio_hotline
from tickets.lifecycle import Actor
from tickets.schemas import TicketCreate

AGENT = Actor("1001", "agent")


async def test_a_text_reply_is_recorded_once_on_the_senders_pending_follow_up(
    database_url: str, tmp_path: Path
) -> None:
    async with twilio_hotline(database_url, tmp_path) as hotline:
        desk = hotline.container.desk
        ticket = await desk.tickets.create(TicketCreate(subject="电梯故障", caller="+8613800138000"), AGENT)
        ticket = await desk.tickets.accept(ticket.id, version=ticket.version, actor=AGENT)
        ticket = await desk.tickets.resolve(ticket.id, version=ticket.version, actor=AGENT)
        account = hotline.standin.account_sid
        stranger = {"MessageSid": "SM1", "AccountSid": account, "From": "+8613900139000", "Body": "5"}
        chat = {"MessageSid": "SM2", "AccountSid": account, "From": "+8613800138000", "Body": "师傅辛苦了"}
        answer = {"MessageSid": "SM3", "AccountSid": account, "From": "+8613800138000", "Body": "4"}
        for form in (stranger, chat, answer, answer):  # the last: Twilio's retry of the same webhook
            reply = await hotline.twiml("/twilio/sms-reply", form)
            assert reply.tag == "Response" and list(reply) == []  # no text back
        await hotline.settle()
        follow_ups = await desk.follow_ups.for_ticket(ticket.id)
    assert [(f.score, f.channel, f.recorded_by) for f in follow_ups] == [(4, "sms", "sms")]
