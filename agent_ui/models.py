"""Sign-in accounts. An agent is a user with role `agent` whose login is the agent id; a technician
is a user with role `technician` whose login a `tickets.models.Technician` row names."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import String, Text
from sqlmodel import Field, SQLModel

from config.database import UTCDateTime, utcnow


class Role(enum.StrEnum):
    AGENT = "agent"
    SUPERVISOR = "supervisor"
    AUDITOR = "auditor"
    ADMIN = "admin"
    TECHNICIAN = "technician"  # field staff: their own work orders only (tickets.access)


class User(SQLModel, table=True):
    __tablename__ = "user_account"

    id: int | None = Field(default=None, primary_key=True)
    login: str = Field(unique=True, index=True, max_length=40)
    name: str = Field(max_length=200)
    role: Role = Field(default=Role.AGENT, sa_type=String(20))
    password_hash: str = Field(max_length=300)
    language: str = Field(default="zh-CN", max_length=10)
    active: bool = Field(default=True)
    # Set when an admin (or `hotline users`/`db upgrade`) chose the password: the person must
    # pick their own at the first sign-in before any page or API answers them.
    must_change_password: bool = Field(default=False)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class WebSession(SQLModel, table=True):
    """A signed-in browser or script: the cookie holds a random token, this row its SHA-256.

    Kept server-side so that signing out, disabling an account or changing a role
    ends the session on the next request (a signed cookie cannot be taken back), and
    a stolen database copy holds no usable cookie.
    """

    __tablename__ = "web_session"

    id: str = Field(primary_key=True, max_length=64)  # sha256 hex of the cookie's token
    user_id: int = Field(foreign_key="user_account.id", index=True, ondelete="CASCADE")
    created_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime, index=True)
    last_seen_at: datetime = Field(sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    source_ip: str | None = Field(default=None, max_length=45)
    user_agent: str = Field(default="", max_length=200)


class CenterConfig(SQLModel, table=True):
    """The call center's configuration (queues, agents, IVR, SLA...): one row per saved version,
    the newest is in force. `document` is the validated call-center document as JSON, the same
    shape as the YAML file (`hotline config import|export`)."""

    __tablename__ = "center_config"

    version: int | None = Field(default=None, primary_key=True)
    document: str = Field(sa_type=Text)
    saved_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    saved_by: str = Field(max_length=120)
    change: str = Field(default="", max_length=200)  # what changed, for people: "queues[support]"
