"""Control mode: each signed-in agent's queues and pause, in the database (issue #17 item 3).

In control mode the router alone knows who is signed in to which queues and who is paused:
app_queue is told nothing (cti/acd.py `_member_order`), so the PBX's queue members are not
Hotline's agents and adopting them would be wrong. A restart, or another Hotline taking over
as leader (cluster.leadership), would log every agent out. The ACD therefore writes one row
per signed-in agent (its queues with their penalties, and its pause reason when paused)
whenever that changes, and deletes the row when the agent signs out; a router that starts in
control mode puts the rows back into its router after the PBX's resync. An agent in wrap-up is
kept with it (since when, the queue and call it follows): restored, it stays in wrap-up until
the queue's wrap-up ends from then (or its "Done"), and is not offered a call meanwhile.

Writes go through the router's engine, so the leadership fence on commits applies: a deposed
router's write rolls back. A write is an upsert or a delete by agent id, so writing the same
state twice is harmless. On-call and ringing are not kept: the calls themselves are the PBX's
to tell (the resync).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import Field, SQLModel, Text, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from config.database import UTCDateTime, utcnow


class AcdAgentSignIn(SQLModel, table=True):
    __tablename__ = "acd_agent"

    agent_id: str = Field(primary_key=True, max_length=64)
    queues: str = Field(sa_type=Text)  # {"queue": penalty} as JSON
    paused: bool
    reason: str | None = Field(default=None, max_length=128)  # the pause reason, when paused
    updated_at: datetime = Field(sa_type=UTCDateTime)
    wrapup_since: float | None = Field(default=None)  # in wrap-up since (epoch seconds)
    wrapup_queue: str | None = Field(default=None, max_length=64)  # the queue of the call it follows
    wrapup_call: str | None = Field(default=None, max_length=128)  # that call


@dataclass(frozen=True, slots=True)
class SignIn:
    """What is kept of a signed-in agent: its queues (queue -> penalty), its pause, and its
    wrap-up (since, queue, call) when in one."""

    queues: tuple[tuple[str, int], ...]
    paused: bool
    reason: str | None
    wrapup: tuple[float, str, str | None] | None = None


class AgentSignInStore:
    """`save` an agent's sign-in (None: signed out, the row goes), `load` them all."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def save(self, agent_id: str, sign_in: SignIn | None) -> None:
        async with self._sessions.begin() as session:
            if sign_in is None:
                await session.exec(delete(AcdAgentSignIn).where(col(AcdAgentSignIn.agent_id) == agent_id))
                return
            dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
            row = {
                "agent_id": agent_id,
                "queues": json.dumps(dict(sign_in.queues), separators=(",", ":")),
                "paused": sign_in.paused,
                "reason": sign_in.reason,
                "updated_at": utcnow(),
                "wrapup_since": sign_in.wrapup[0] if sign_in.wrapup else None,
                "wrapup_queue": sign_in.wrapup[1] if sign_in.wrapup else None,
                "wrapup_call": sign_in.wrapup[2] if sign_in.wrapup else None,
            }
            insert = dialect.insert(AcdAgentSignIn).values(row)
            upsert = insert.on_conflict_do_update(
                index_elements=["agent_id"],
                set_={
                    "queues": insert.excluded.queues,
                    "paused": insert.excluded.paused,
                    "reason": insert.excluded.reason,
                    "updated_at": insert.excluded.updated_at,
                    "wrapup_since": insert.excluded.wrapup_since,
                    "wrapup_queue": insert.excluded.wrapup_queue,
                    "wrapup_call": insert.excluded.wrapup_call,
                },
            )
            await session.exec(upsert)

    async def load(self) -> dict[str, SignIn]:
        async with self._sessions() as session:
            rows = (await session.exec(select(AcdAgentSignIn).order_by(col(AcdAgentSignIn.agent_id)))).all()
        return {
            row.agent_id: SignIn(
                tuple(sorted((str(q), int(p)) for q, p in json.loads(row.queues).items())),
                row.paused,
                row.reason,
                (row.wrapup_since, row.wrapup_queue, row.wrapup_call)
                if row.wrapup_since is not None and row.wrapup_queue is not None
                else None,
            )
            for row in rows
        }
