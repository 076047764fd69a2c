"""Audit entries for web actions that have no transaction of their own.

Sign-ins, sign-outs and supervisors' orders to agents change no row of ours (or only a
session row), yet who did them matters: each is one entry on the hash-chained log,
written and committed before the action is answered. Actor, role and address follow the
service desk's convention: `actor` is the login, the role goes in `detail`.

Action names (stable: auditors filter on them):
    auth.sign_in, auth.sign_in_failed, auth.sign_in_throttled, auth.sign_out,
    auth.sessions_ended, admin.user_update,
    supervisor.pause, supervisor.ready, supervisor.logout, supervisor.listen,
    supervisor.whisper, supervisor.barge
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from audit.log import AuditLog


class AuditTrail:
    def __init__(self, db: async_sessionmaker[AsyncSession], log: AuditLog | None = None) -> None:
        self._db = db
        self.log = log or AuditLog()

    async def record(
        self,
        *,
        actor: str,
        action: str,
        subject: str,
        role: str | None = None,
        source_ip: str | None = None,
        outcome: str = "ok",
        **detail: object,
    ) -> None:
        async with self._db() as session:
            await self.append(
                session,
                actor=actor,
                action=action,
                subject=subject,
                role=role,
                source_ip=source_ip,
                outcome=outcome,
                **detail,
            )
            await session.commit()

    async def append(
        self,
        session: AsyncSession,
        *,
        actor: str,
        action: str,
        subject: str,
        role: str | None = None,
        source_ip: str | None = None,
        outcome: str = "ok",
        **detail: object,
    ) -> None:
        """The same entry inside the caller's transaction (it lands exactly when that commits)."""
        body: dict[str, object] = {"role": role, **detail} if role is not None else dict(detail)
        await self.log.append(
            session,
            actor=actor[:120],
            action=action,
            subject=subject[:200],
            detail=body,
            source_ip=source_ip,
            outcome=outcome,
        )
