"""Demo seed: sign-in accounts for the call-center file's agents and users, its sample customers,
and a service desk to dispatch to: departments, technicians (李师傅 signs in as `tech`,
张师傅 as `tech2`, 王师傅 has no account: an agent reports for him) and categories with their
dispatch rules (plumbing is dispatched to 王师傅 as soon as it is accepted), and a few knowledge-base
articles for those categories (shown in the pop and on the ticket page), in Chinese and English.

Idempotent: running the demo twice does not duplicate anyone.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from agent_ui.auth import hash_password
from agent_ui.models import Role, User
from config.callcenter import CallCenter
from tickets.models import Category, Customer, CustomerPhone, CustomerTier, Department, KbArticle, Technician
from tickets.phones import normalize

# (code, name) of the demo's departments; category rules (service_desk.category_departments) name the codes.
DEMO_DEPARTMENTS = (
    ("facilities", "维修部 Maintenance"),
    ("aircon", "空调组 Air conditioning"),
    ("care", "客服部 Customer care"),
)
# (code, 中文, English, department code, auto-dispatch to this technician's name or None): the
# dispatch rules set in advance; the supervisors' page /desk/categories edits them.
DEMO_CATEGORIES = (
    ("aircon", "空调维修", "Air conditioning", "aircon", None),
    ("plumbing", "水电维修", "Plumbing and power", "facilities", "王师傅 Wang"),
    ("complaint", "投诉", "Complaint", "care", None),
)
# (name, department code, phone, sign-in login or None)
DEMO_TECHNICIANS = (
    ("李师傅 Li", "facilities", "+8613900139001", "tech"),
    ("张师傅 Zhang", "aircon", "+8613900139002", "tech2"),
    ("王师傅 Wang", "facilities", "+8613900139003", None),
)

# (category, 中文标题, English title, 中文正文, English body): markdown, as a supervisor writes it on /kb.
DEMO_ARTICLES = (
    (
        "aircon",
        "空调不制冷：电话中先排查",
        "Air conditioner not cooling: checks on the phone",
        "## 先请客户检查\n\n1. 遥控器是否为**制冷**模式，温度设在 26 ℃ 以下\n"
        "2. 室内机滤网是否积灰（脏了会明显减弱风量）\n3. 室外机是否运转、周围有无遮挡\n\n"
        "## 需要派单的情况\n\n- 室外机不转，或有异响、焦味：**请客户断电**，派空调组上门\n"
        "- 滴水、漏水：记录位置，派单时注明\n\n回访时确认温度是否恢复正常。",
        "## Ask the caller to check\n\n1. The remote is on **cool**, set below 26 °C\n"
        "2. The indoor filter is not clogged with dust (it cuts the air flow)\n"
        "3. The outdoor unit runs and nothing blocks it\n\n## Dispatch when\n\n"
        "- the outdoor unit does not run, or there is a noise or a burning smell: **ask them to switch "
        "it off**, dispatch the air-conditioning team\n"
        "- it drips or leaks: note where, put it in the order\n\n"
        "On the follow-up, confirm the room cools again.",
    ),
    (
        "plumbing",
        "漏水：先止水，再派单",
        "Water leak: stop the water, then dispatch",
        "## 电话中\n\n1. 请客户**关闭总阀**（通常在水表旁）\n2. 漏水靠近插座或电器时，先**断开电源**\n"
        "3. 问清位置：厨房、卫生间、天花板（楼上渗漏）\n\n## 派单\n\n- 楼上渗漏：同时联系楼上住户\n"
        "- 预约时间窗口写在派单备注里，师傅出发时客户会收到短信",
        "## On the phone\n\n1. Ask the caller to **close the main valve** (usually next to the meter)\n"
        "2. If water is near sockets or appliances, **switch the power off** first\n"
        "3. Ask where: kitchen, bathroom, ceiling (a leak from upstairs)\n\n## Dispatch\n\n"
        "- From upstairs: contact the neighbours above too\n"
        "- Put the appointment window in the dispatch note: the customer is texted when the "
        "technician sets off",
    ),
    (
        "plumbing",
        "停电或跳闸",
        "Power cut or tripped breaker",
        "1. 先问：**只有这一户**，还是整栋楼都停电？整栋楼停电可能是片区故障，请通知班长\n"
        "2. 只有一户：请客户查看配电箱，跳闸的空开推回一次即可；**再次跳闸不要反复推**\n"
        "3. 再次跳闸或有焦味：派维修部上门，提醒客户不要自行拆修",
        "1. Ask first: **only this flat**, or the whole building? A whole building may be a wider fault: "
        "tell the supervisor\n2. Only this flat: ask them to look at the breaker box and push a tripped "
        "breaker back up once; **if it trips again, do not keep trying**\n"
        "3. It trips again or smells burnt: dispatch maintenance, and ask them not to open anything",
    ),
    (
        "complaint",
        "受理投诉的要点",
        "Taking a complaint",
        "- 先让客户说完，**不打断**，复述要点确认理解\n- 记录时间、地点、涉及人员和客户的诉求\n"
        "- 告知处理时限（见工单上的 SLA 时钟），不作无法兑现的承诺\n"
        "- 投诉工单由客服部处理，只有班长可以关闭",
        "- Let the caller finish **without interrupting**; repeat the main points back\n"
        "- Note when, where, who was involved and what the customer asks for\n"
        "- Tell them the time to expect (the SLA clocks on the ticket); promise nothing you cannot keep\n"
        "- Complaint tickets go to customer care; only a supervisor closes them",
    ),
)


async def _seed_articles(session: AsyncSession) -> None:
    titles = set((await session.exec(select(KbArticle.title_zh))).all())
    for category, title_zh, title_en, body_zh, body_en in DEMO_ARTICLES:
        if title_zh not in titles:
            session.add(
                KbArticle(
                    category=category, title_zh=title_zh, title_en=title_en, body_zh=body_zh,
                    body_en=body_en, updated_by="demo",
                )
            )  # fmt: skip


async def _seed_desk(session: AsyncSession) -> None:
    known = {d.code: d for d in (await session.exec(select(Department))).all()}
    for code, name in DEMO_DEPARTMENTS:
        if code not in known:
            known[code] = Department(code=code, name=name)
            session.add(known[code])
    await session.flush()
    techs = {t.name: t for t in (await session.exec(select(Technician))).all()}
    for name, code, phone, login in DEMO_TECHNICIANS:
        if name not in techs:
            techs[name] = Technician(name=name, phone=phone, department_id=known[code].id, login=login)
            session.add(techs[name])
    await session.flush()
    categories = set((await session.exec(select(Category.code))).all())
    for code, zh, en, department, technician in DEMO_CATEGORIES:
        if code not in categories:
            session.add(
                Category(
                    code=code,
                    name_zh=zh,
                    name_en=en,
                    department_id=known[department].id,
                    auto_dispatch=technician is not None,
                    technician_id=techs[technician].id if technician else None,
                )
            )


async def seed_demo(
    sessions: async_sessionmaker[AsyncSession], center: CallCenter, region: str
) -> list[User]:
    password = center.demo_password or "demo"
    hashed = hash_password(password)  # one Argon2 hash for all demo accounts: seeding stays fast
    wanted = [(a.id, a.name, Role.AGENT, a.language) for a in center.agents]
    wanted += [(u.login, u.name, Role(u.role), "zh-CN") for u in center.users]
    async with sessions() as session:
        existing = set((await session.exec(select(User.login))).all())
        for login, name, role, language in wanted:
            if login not in existing:
                session.add(User(login=login, name=name, role=role, password_hash=hashed, language=language))
        for spec in center.customers:
            if (await session.exec(select(Customer).where(Customer.name == spec.name))).first():
                continue
            customer = Customer(
                name=spec.name,
                company=spec.company,
                tier=CustomerTier(spec.tier),
                address=spec.address,
                notes=spec.notes,
            )
            session.add(customer)
            await session.flush()
            assert customer.id is not None
            for raw in spec.phones:
                number = normalize(raw, region)
                session.add(
                    CustomerPhone(
                        customer_id=customer.id, e164=number.e164, extension=number.extension or "", raw=raw
                    )
                )
        await _seed_desk(session)
        await _seed_articles(session)
        await session.commit()
        return list((await session.exec(select(User).order_by(User.login))).all())
