"""Tables owned by recordings/: the recorded calls, their agents, the recordings.

The audit log's tables moved to `audit.models` (every service appends to it).
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, BigInteger, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from config.database import UTCDateTime, utcnow


class RecordingStatus(enum.StrEnum):
    PENDING = "pending"  # the PBX started recording; the file is not taken in yet
    FAILED = "failed"  # fetching failed; `retry_failed` tries again at `next_attempt_at`
    STORED = "stored"  # in the blob store, hashed, audited
    DELETED = "deleted"  # removed by retention or an admin; the row and its hash stay


class RecordedCall(SQLModel, table=True):
    """What recordings/ knows about a call: who may hear it and what it belongs to.

    Kept from the CallEvents themselves (queue, vendor leg ids, PCI pauses; the
    agents in `recorded_call_agent`) so access checks need no other package's
    tables; the ticket and customer come from `RecordingService.link_ticket`.
    """

    __tablename__ = "recorded_call"

    call_id: str = Field(primary_key=True, max_length=64)
    queue: str | None = Field(default=None, max_length=60, index=True)
    caller: str | None = Field(default=None, max_length=64)
    legs: list[str] = Field(default_factory=list, sa_type=JSON)
    # [{"paused_at": iso, "resumed_at": iso | null}], wall-clock, in event order
    pauses: list[dict[str, str | None]] = Field(default_factory=list, sa_type=JSON)
    customer_id: int | None = Field(default=None, index=True)
    ticket_id: int | None = Field(default=None, index=True)
    category: str | None = Field(default=None, max_length=60)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # when the source said the call hung up: its files are complete (or as complete as they will get)
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)


class CallAgent(SQLModel, table=True):
    """An agent who took part in a recorded call (answered it or took a transfer)."""

    __tablename__ = "recorded_call_agent"

    call_id: str = Field(foreign_key="recorded_call.call_id", primary_key=True, max_length=64)
    agent_id: str = Field(primary_key=True, max_length=40, index=True)


class Recording(SQLModel, table=True):
    __tablename__ = "recording"
    __table_args__ = (UniqueConstraint("source", "source_ref"),)

    id: int | None = Field(default=None, primary_key=True)
    call_id: str = Field(foreign_key="recorded_call.call_id", index=True, max_length=64)
    source: str = Field(max_length=20)  # asterisk | twilio | simulator
    source_ref: str = Field(max_length=500)  # file path or URL at the source: the idempotency key
    # which PBX recorded it (settings HOTLINE_PBX_LINKS; "main" with one PBX, and for rows from before)
    pbx: str = Field(default="main", max_length=20, index=True, sa_column_kwargs={"server_default": "main"})
    status: RecordingStatus = Field(default=RecordingStatus.PENDING, sa_type=String(20), index=True)
    agent_id: str | None = Field(default=None, max_length=40, index=True)  # first answering agent
    queue: str | None = Field(default=None, max_length=60, index=True)
    started_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)  # when the source said "ready"
    duration_s: float | None = None
    format: str | None = Field(default=None, max_length=40)  # e.g. wav/pcm_s16le/8000Hz/1ch
    size_bytes: int | None = Field(default=None, sa_type=BigInteger)
    sha256: str | None = Field(default=None, max_length=64, index=True)
    storage_key: str | None = Field(default=None, max_length=200)
    # PCI pauses inside this file: [{"from_s", "to_s", "paused_at", "resumed_at"}]
    gaps: list[dict[str, object]] = Field(default_factory=list, sa_type=JSON)
    ingested_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    attempts: int = 0
    next_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    last_error: str | None = Field(default=None, max_length=500)
    purge_after: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    legal_hold: bool = Field(default=False, index=True)
    hold_reason: str | None = Field(default=None, max_length=500)
    hold_by: str | None = Field(default=None, max_length=120)
    hold_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    deleted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    deleted_by: str | None = Field(default=None, max_length=120)


class RecordingEvent(SQLModel, table=True):
    """CallEvent ids already applied, so a resent event changes nothing."""

    __tablename__ = "recording_event"

    event_id: str = Field(primary_key=True, max_length=200)
    call_id: str = Field(max_length=64, index=True)
    applied_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class RecordingPublic(SQLModel):
    """What the API shows of a recording: metadata, hash and hold state, never paths or keys."""

    id: int
    call_id: str
    source: str
    status: str
    agent_id: str | None
    queue: str | None
    started_at: datetime | None
    duration_s: float | None
    format: str | None
    size_bytes: int | None
    sha256: str | None
    gaps: list[dict[str, object]]
    purge_after: datetime | None
    legal_hold: bool
    hold_reason: str | None
    hold_by: str | None
    hold_at: datetime | None
    deleted_at: datetime | None
