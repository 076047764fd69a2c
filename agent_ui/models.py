"""Sign-in accounts. An agent is a user with role `agent` whose login is the agent id."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import String
from sqlmodel import Field, SQLModel

from config.database import UTCDateTime, utcnow


class Role(enum.StrEnum):
    AGENT = "agent"
    SUPERVISOR = "supervisor"
    AUDITOR = "auditor"
    ADMIN = "admin"


class User(SQLModel, table=True):
    __tablename__ = "user_account"

    id: int | None = Field(default=None, primary_key=True)
    login: str = Field(unique=True, index=True, max_length=40)
    name: str = Field(max_length=200)
    role: Role = Field(default=Role.AGENT, sa_type=String(20))
    password_hash: str = Field(max_length=300)
    language: str = Field(default="zh-CN", max_length=10)
    active: bool = Field(default=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
