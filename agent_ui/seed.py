"""Demo seed: sign-in accounts for the call-center file's agents and users, and its sample customers.

Idempotent: running the demo twice does not duplicate anyone.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from agent_ui.auth import hash_password
from agent_ui.models import Role, User
from config.callcenter import CallCenter
from tickets.models import Customer, CustomerPhone, CustomerTier
from tickets.phones import normalize


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
        await session.commit()
        return list((await session.exec(select(User).order_by(User.login))).all())
