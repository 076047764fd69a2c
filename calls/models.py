"""The call log: one row per call, kept up to date from CallEvents.

Written idempotently (upsert by `call_id`, timestamps only ever filled once), so
a replayed or resent event never changes a finished record.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from config.database import UTCDateTime


class CallRecord(SQLModel, table=True):
    __tablename__ = "call"

    call_id: str = Field(primary_key=True, max_length=64)
    source: str = Field(default="unknown", max_length=20)
    # the call at the PBX: the caller channel's Uniqueid (Asterisk), the CallSid (Twilio); what
    # reconciliation after a restart asks the PBX about and finds its CDRs and recordings by
    pbx_ref: str | None = Field(default=None, max_length=64, index=True)
    # which PBX carried it (settings HOTLINE_PBX_LINKS; "main" with one PBX, and for rows from before)
    pbx: str = Field(default="main", max_length=20, index=True, sa_column_kwargs={"server_default": "main"})
    caller: str | None = Field(default=None, max_length=64)  # as the network gave it
    caller_e164: str | None = Field(default=None, max_length=20, index=True)
    caller_name: str | None = Field(default=None, max_length=200)
    dialed: str | None = Field(default=None, max_length=64)
    queue: str | None = Field(default=None, max_length=60, index=True)
    agent_id: str | None = Field(default=None, max_length=40, index=True)
    offered_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    ringing_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    answered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    outcome: str | None = Field(default=None, max_length=20)  # answered | abandoned | ...
    hangup_cause: str | None = Field(default=None, max_length=60)
    recording: str | None = Field(default=None, max_length=500)
    # The handling's parts as the router measured them when the agent's wrap-up ended, so the
    # report's AHT is the wallboard's (docs/KPIS.md): talk (answer → agent leg end, minus hold),
    # hold, wrap-up. Empty for calls nobody handled, or whose wrap-up Hotline did not see end.
    talk_s: float | None = Field(default=None)
    hold_s: float | None = Field(default=None)
    wrap_s: float | None = Field(default=None)
