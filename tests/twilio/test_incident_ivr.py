"""An outage on Twilio: 50 affected callers hear it is known (in their language, with the expected
time), their calls become 50 children of the incident with no work order, and resolving it texts
each of them once (through the real SDK to the stand-in) and resolves their tickets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.twilio.harness import CALLCENTER, MONDAY_10_SHANGHAI, spoken, twilio_hotline
from tests.ui.desk_center import texts_sent
from tickets.lifecycle import Actor
from tickets.models import IncidentState, TicketState
from tickets.schemas import CustomerCreate, IncidentCreate, IncidentResolveIn, PhoneIn

SUPERVISOR = Actor("sup", "supervisor")
AREA = "阳光花园"
EXPECTED = datetime.fromtimestamp(MONDAY_10_SHANGHAI, UTC) + timedelta(hours=3)  # 13:00 in Shanghai
CALLERS = 50


def _mobile(n: int) -> str:
    return f"+86137{n:08d}"


def _center_with_texts(tmp_path: Path) -> Path:
    path = tmp_path / "callcenter.yaml"
    text = CALLCENTER.read_text(encoding="utf-8")
    path.write_text(text + "\nservice_desk:\n  notifications: {sms: true, sender_name: 物业热线}\n", "utf-8")
    return path


async def test_fifty_affected_callers_hear_it_is_known_become_children_and_are_texted_once(
    database_url: str, tmp_path: Path
) -> None:
    async with twilio_hotline(
        database_url, tmp_path, callcenter_file=_center_with_texts(tmp_path)
    ) as hotline:
        hotline.link.lookup_budget_s = 30.0  # a budget, not a timing assert: this machine is shared
        desk = hotline.container.desk
        for n in range(CALLERS):
            tags = ["lang:en"] if n % 2 else ["lang:zh-CN"]
            data = CustomerCreate(
                name=f"住户{n}", phones=[PhoneIn(number=_mobile(n))], address=f"{AREA} {n}号", tags=tags
            )
            await desk.customers.create(data, SUPERVISOR)
        outsider = "+8613600000001"
        await desk.customers.create(
            CustomerCreate(name="李娜", phones=[PhoneIn(number=outsider)]), SUPERVISOR
        )
        declared = await desk.incidents.declare(
            IncidentCreate(
                category="power",
                area=AREA,
                description_zh="阳光花园停电",
                description_en="a power cut at Sunshine Garden",
                expected_at=EXPECTED,
            ),
            SUPERVISOR,
        )
        menus = {}
        for n in range(CALLERS):
            sid, menu = await hotline.incoming(_mobile(n))
            menus[n] = spoken(menu)
            await hotline.choose(menu, sid, _mobile(n), Digits="1")
        _, outsider_menu = await hotline.incoming(outsider)
        await hotline.settle()

        listed = await desk.incidents.listing(open_only=True)
        children = (await desk.timeline.search(customer_id=None, limit=200)).items
        children = [t for t in children if t.incident_id == declared.id]
        orders = [o for t in children for o in await desk.work_orders.for_ticket(t.id)]

        resolved = await desk.incidents.resolve(
            declared.id, IncidentResolveIn(version=declared.version, note="供电恢复"), SUPERVISOR
        )
        await texts_sent(desk)
        after = [await desk.tickets.get(t.id) for t in children]
        texts = {n: hotline.standin.texts_to(_mobile(n)) for n in range(CALLERS)}

    for n, said in menus.items():
        if n % 2:
            assert "We already know about this problem: a power cut at Sunshine Garden." in said
            assert "back on Nov 23 at 13:00" in said
        else:
            assert "我们已经知道这个故障：阳光花园停电" in said and "预计11月23日 13:00恢复" in said
    assert "知道这个故障" not in spoken(outsider_menu)
    assert [(i.id, i.calls, i.children) for i in listed] == [(declared.id, CALLERS, CALLERS)]
    assert len(children) == CALLERS and orders == []
    assert resolved.state is IncidentState.RESOLVED
    assert {t.state for t in after} == {TicketState.RESOLVED}
    for n, got in texts.items():
        assert len(got) == 1, (n, got)
        assert ("Sunshine Garden - fixed now" if n % 2 else "阳光花园停电已恢复") in got[0]
