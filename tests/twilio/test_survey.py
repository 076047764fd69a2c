"""After a ticket is resolved and its follow-up falls due, a survey call asks for a 1–5 score."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from config.database import utcnow
from tests.twilio.harness import twilio_hotline
from tickets.lifecycle import Actor
from tickets.schemas import TicketCreate

AGENT = Actor("1001", "agent")


async def test_a_survey_call_after_resolve_stores_the_score_on_the_ticket(
    database_url: str, tmp_path: Path
) -> None:
    async with twilio_hotline(database_url, tmp_path) as hotline:
        desk = hotline.container.desk
        ticket = await desk.tickets.create(TicketCreate(subject="电梯故障", caller="+8613800138000"), AGENT)
        ticket = await desk.tickets.accept(ticket.id, version=ticket.version, actor=AGENT)
        ticket = await desk.tickets.resolve(ticket.id, version=ticket.version, actor=AGENT)
        await desk.follow_ups.announce_due(utcnow() + timedelta(days=2))  # what the SLA job does when due

        create = await hotline.standin.wait_for(lambda r: r.path.endswith("/Calls.json"))
        sid = next(s for s, c in hotline.standin.calls.items() if c["to"] == "+8613800138000")
        call = {"CallSid": sid, "AccountSid": hotline.standin.account_sid, "To": "+8613800138000"}
        prompt = await hotline.twiml(create.get("Url") or "", {**call, "CallStatus": "in-progress"})
        gather = prompt.find("Gather")
        assert gather is not None
        retry = await hotline.twiml(gather.attrib["action"], {**call, "Digits": "7"})
        gather = retry.find("Gather")
        assert gather is not None
        thanks = await hotline.twiml(gather.attrib["action"], {**call, "Digits": "4"})
        again = await hotline.twiml(gather.attrib["action"], {**call, "Digits": "4"})  # Twilio's retry
        await hotline.settle()
        follow_ups = await desk.follow_ups.for_ticket(ticket.id)
    assert create.get("From") == "+861058001000" and create.get("To") == "+8613800138000"
    assert "请为本次服务打分" in (prompt.findtext("Gather/Say") or "")
    assert "请按 1 到 5" in " ".join(s.text or "" for s in retry.iter("Say"))
    assert "感谢您的评价" in " ".join(s.text or "" for s in thanks.iter("Say"))
    assert again.findtext("Say") == thanks.findtext("Say")
    assert [(f.score, f.channel, f.recorded_by) for f in follow_ups] == [(4, "ivr", "ivr")]
