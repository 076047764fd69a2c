"""What the audit log says each recording was when it was archived, and whether it still is.

A recording's row is only a copy: whoever can write the database can swap the
blob and update `sha256`, or rewrite `agent_id` / the call's agents (which
decides who may listen). The hash-chained audit log is the witness: the
`recording.ingest` entry holds the hash, size, blob key, owner and agents at
archive time, and every later legitimate change of who took part in the call
is appended as `recording.agents` (`service._apply_context`). Folding those
entries in order gives the facts the row must still show; any difference is
tampering (or a bug writing the row behind the audit's back, just as bad).

Entries written before this module existed lack some keys: those keys are not
compared (reported as "not recorded", never as a match).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from audit.models import AuditEntry
from recordings.models import Recording

INGEST = "recording.ingest"
AGENTS_CHANGED = "recording.agents"
_ACTIONS = (INGEST, AGENTS_CHANGED)
_SUBJECT = "recording:"
_SCALARS = ("sha256", "size_bytes", "storage_key", "agent_id", "queue")


@dataclass(frozen=True, slots=True)
class ArchivedFacts:
    """A recording as the audit log recorded it (None: that entry did not record the field)."""

    recording_id: int
    seq: int  # the ingest entry
    sha256: str | None
    size_bytes: int | None
    storage_key: str | None
    agent_id: str | None
    agents: frozenset[str] | None
    queue: str | None
    recorded: frozenset[str] = field(default_factory=frozenset)  # which of the fields the log holds


@dataclass(frozen=True, slots=True)
class Discrepancy:
    """One way a recording's row differs from its archived facts."""

    recording_id: int
    reason: str  # row_hash_changed | size_changed | blob_key_changed | owner_changed | agents_changed | ...
    message: str


def subject_of(recording_id: int) -> str:
    return f"{_SUBJECT}{recording_id}"


async def archived_facts(
    session: AsyncSession, recording_ids: Collection[int] | None = None
) -> dict[int, ArchivedFacts]:
    """Fold the ingest and agent-change entries (all, or of these recordings) in chain order."""
    query = select(AuditEntry).where(col(AuditEntry.action).in_(_ACTIONS)).order_by(col(AuditEntry.seq))
    if recording_ids is not None:
        query = query.where(col(AuditEntry.subject).in_([subject_of(i) for i in recording_ids]))
    facts: dict[int, ArchivedFacts] = {}
    for entry in (await session.exec(query)).all():
        rec_id = _recording_id(entry.subject)
        if rec_id is None:
            continue
        detail = _detail(entry.detail_json)
        if entry.action == INGEST:
            facts[rec_id] = _from_ingest(rec_id, entry.seq, detail)
        elif rec_id in facts and isinstance(agents := detail.get("agents"), list):
            known = facts[rec_id]
            facts[rec_id] = replace(
                known, agents=frozenset(str(a) for a in agents), recorded=known.recorded | {"agents"}
            )
    return facts


def compare(recording: Recording, agents_now: Collection[str], facts: ArchivedFacts) -> list[Discrepancy]:
    """Every field the log recorded that the row (or the call's agent list) no longer shows."""
    assert recording.id is not None
    rec_id, out = recording.id, []
    checks: list[tuple[str, str, object, object]] = [
        ("sha256", "row_hash_changed", recording.sha256, facts.sha256),
        ("size_bytes", "size_changed", recording.size_bytes, facts.size_bytes),
        ("storage_key", "blob_key_changed", recording.storage_key, facts.storage_key),
        ("agent_id", "owner_changed", recording.agent_id, facts.agent_id),
        ("queue", "queue_changed", recording.queue, facts.queue),
    ]
    for name, reason, now, then in checks:
        if name in facts.recorded and now != then:
            why = f"{name} is {now!r} but was {then!r} when archived (seq {facts.seq})"
            out.append(Discrepancy(rec_id, reason, why))
    if "agents" in facts.recorded and facts.agents is not None and frozenset(agents_now) != facts.agents:
        out.append(
            Discrepancy(
                rec_id,
                "agents_changed",
                f"the call's agents are {sorted(agents_now)} but the audit log has {sorted(facts.agents)}",
            )
        )
    return out


async def check_against_archive(
    session: AsyncSession, recording: Recording, agents_now: Collection[str]
) -> list[Discrepancy]:
    """One recording's row against its archived facts (no ingest entry is a discrepancy too)."""
    assert recording.id is not None
    facts = (await archived_facts(session, [recording.id])).get(recording.id)
    if facts is None:
        why = "the audit log has no recording.ingest entry for it"
        return [Discrepancy(recording.id, "not_audited", why)]
    return compare(recording, agents_now, facts)


def _from_ingest(rec_id: int, seq: int, detail: Mapping[str, object]) -> ArchivedFacts:
    recorded = frozenset(k for k in _SCALARS if k in detail)
    agents = detail.get("agents")
    if isinstance(agents, list):
        recorded |= {"agents"}
    size = detail.get("size_bytes")
    return ArchivedFacts(
        recording_id=rec_id,
        seq=seq,
        sha256=_text(detail.get("sha256")),
        size_bytes=size if isinstance(size, int) else None,
        storage_key=_text(detail.get("storage_key")),
        agent_id=_text(detail.get("agent_id")),
        agents=frozenset(str(a) for a in agents) if isinstance(agents, list) else None,
        queue=_text(detail.get("queue")),
        recorded=recorded,
    )


def _recording_id(subject: str) -> int | None:
    tail = subject.removeprefix(_SUBJECT)
    return int(tail) if tail != subject and tail.isdigit() else None


def _detail(detail_json: str) -> dict[str, object]:
    try:
        value = json.loads(detail_json)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None
