"""Signed checkpoints of the audit head, published outside the database.

The chain proves that no entry was changed or removed in the middle; it cannot
prove that the newest entries were not cut off together with the head row (or
the whole tail rewritten). A checkpoint is the head (seq, hash) at a moment,
signed with HMAC-SHA256 under a key the database never sees
(`HOTLINE_AUDIT_CHECKPOINT_KEY`) and appended to a file outside the database
(`HOTLINE_AUDIT_CHECKPOINT_FILE`). Whoever can rewrite the database but not
that file (the database user, a DBA, an SQL injection) cannot make a checkpoint
disappear or forge a new one, so `verify` catches:

* a truncated tail: the log ends before a published seq;
* a rewritten tail: the entry at a published seq has another hash;
* an edited or forged checkpoint line: its signature does not match.

Lines are appended with O_APPEND and fsynced, one line per write (atomic on a
local file system). A checkpoint is written only when the head moved, so an
idle system does not grow the file. Put the file where the database user has
no write access (another host's mount, `chattr +a`); the scheduler writes one
at start-up and then every `HOTLINE_AUDIT_CHECKPOINT_EVERY_S`.

What it cannot catch: entries appended after the newest checkpoint and removed
before the next one (at most one interval), or an attacker holding the key and
the file too.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from audit.log import canonical_json
from audit.models import AuditEntry, AuditHead
from config.database import utcnow

log = logging.getLogger(__name__)

VERSION = 1
_BATCH = 500


@dataclass(frozen=True, slots=True)
class Checkpoint:
    seq: int
    hash: str
    at: str  # ISO 8601, UTC
    key_id: str

    def payload(self) -> dict[str, object]:
        return {"v": VERSION, "seq": self.seq, "hash": self.hash, "at": self.at, "kid": self.key_id}


class CheckpointKey:
    """The signing key; `key_id` (a hash prefix) tells which key signed a line, never the key."""

    def __init__(self, secret: str) -> None:
        if len(secret) < 16:
            raise ValueError("an audit checkpoint key needs at least 16 characters")
        self._secret = secret.encode()
        self.key_id = hashlib.sha256(b"hotline-checkpoint-kid:" + self._secret).hexdigest()[:12]

    def sign(self, checkpoint: Checkpoint) -> str:
        message = canonical_json(checkpoint.payload()).encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    def valid(self, checkpoint: Checkpoint, signature: str) -> bool:
        return hmac.compare_digest(self.sign(checkpoint), signature)

    def __repr__(self) -> str:
        return f"CheckpointKey(key_id={self.key_id!r})"


@dataclass(frozen=True, slots=True)
class CheckpointProblem:
    line: int  # 1-based line of the checkpoint file (0: the file as a whole)
    reason: str  # unreadable | bad_signature | other_key | out_of_order | truncated | removed | rewritten
    message: str


@dataclass(frozen=True, slots=True)
class CheckpointReport:
    path: Path
    checkpoints: int
    newest: Checkpoint | None
    problems: list[CheckpointProblem]

    @property
    def ok(self) -> bool:
        return not self.problems

    def lines(self) -> list[str]:
        if self.newest is None and self.ok:
            return [f"checkpoints: none published yet in {self.path}"]
        out = [f"checkpoints: {self.checkpoints} in {self.path}"]
        if self.newest is not None:
            out[0] += f", newest seq {self.newest.seq} at {self.newest.at}"
        out += [f"checkpoints: BROKEN at line {p.line} ({p.reason}): {p.message}" for p in self.problems]
        if self.ok:
            out.append("checkpoints: OK")
        return out


class CheckpointFile:
    """Append-only JSON lines: {"v", "seq", "hash", "at", "kid", "sig"}."""

    def __init__(self, path: Path, key: CheckpointKey) -> None:
        self.path, self.key = path, key

    def append(self, checkpoint: Checkpoint) -> None:
        """Blocking (run in a thread): one write of one line, then fsync."""
        line = canonical_json({**checkpoint.payload(), "sig": self.key.sign(checkpoint)}) + "\n"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line.encode())
            os.fsync(fd)
        finally:
            os.close(fd)

    def read(self) -> Iterator[tuple[int, Checkpoint | CheckpointProblem]]:
        """Each line as a checked checkpoint, or the problem with it (blocking)."""
        try:
            with self.path.open("rb") as src:
                for number, raw in enumerate(src, start=1):
                    if raw.strip():
                        yield number, self._parse(number, raw)
        except FileNotFoundError:
            return

    def newest(self) -> Checkpoint | None:
        found = None
        for _, item in self.read():
            if isinstance(item, Checkpoint):
                found = item
        return found

    def _parse(self, number: int, raw: bytes) -> Checkpoint | CheckpointProblem:
        try:
            data = json.loads(raw)
            checkpoint = Checkpoint(
                seq=int(data["seq"]), hash=str(data["hash"]), at=str(data["at"]), key_id=str(data["kid"])
            )
            signature = str(data["sig"])
        except (ValueError, KeyError, TypeError):
            return CheckpointProblem(number, "unreadable", "not a checkpoint line")
        if checkpoint.key_id != self.key.key_id:
            why = f"signed with key {checkpoint.key_id}, not the configured key {self.key.key_id}"
            return CheckpointProblem(number, "other_key", why)
        if not self.key.valid(checkpoint, signature):
            return CheckpointProblem(number, "bad_signature", "the signature does not match: line altered")
        return checkpoint


class CheckpointPublisher:
    """Writes the head when it moved (scheduler job) and checks the log against the file."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        file: CheckpointFile,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sessions, self.file, self._clock = sessions, file, clock
        self._last_seq: int | None = None

    async def publish(self) -> Checkpoint | None:
        """Append the current head unless the newest checkpoint already has it."""
        async with self._sessions() as session:
            head = await session.get(AuditHead, 1)
        if head is None or head.seq == 0:
            return None
        if self._last_seq is None:
            newest = await asyncio.to_thread(self.file.newest)
            self._last_seq = newest.seq if newest else -1
        if head.seq == self._last_seq:
            return None
        checkpoint = Checkpoint(head.seq, head.hash, self._clock().isoformat(), self.file.key.key_id)
        await asyncio.to_thread(self.file.append, checkpoint)
        self._last_seq = head.seq
        log.info("audit checkpoint: seq %d published to %s", head.seq, self.file.path)
        return checkpoint

    def install(self, scheduler: Any, every_s: float) -> None:
        """APScheduler 3 (AsyncIOScheduler): at once, then every `every_s` (idempotent)."""
        scheduler.add_job(
            self.publish,
            trigger="interval",
            seconds=every_s,
            id="audit.checkpoint",
            replace_existing=True,
            next_run_time=datetime.now(UTC),
            max_instances=1,
            coalesce=True,
            misfire_grace_time=max(30, int(every_s)),
        )

    async def verify(self) -> CheckpointReport:
        items = await asyncio.to_thread(lambda: list(self.file.read()))
        problems = [item for _, item in items if isinstance(item, CheckpointProblem)]
        good = [(number, item) for number, item in items if isinstance(item, Checkpoint)]
        previous = 0
        for number, checkpoint in good:
            if checkpoint.seq < previous:
                why = f"seq {checkpoint.seq} after a checkpoint of seq {previous}: lines reordered"
                problems.append(CheckpointProblem(number, "out_of_order", why))
            previous = max(previous, checkpoint.seq)
        async with self._sessions() as session:
            problems += await _against_the_log(session, good)
        problems.sort(key=lambda p: p.line)
        newest = good[-1][1] if good else None
        return CheckpointReport(self.file.path, len(good), newest, problems)


async def _against_the_log(
    session: AsyncSession, checkpoints: list[tuple[int, Checkpoint]]
) -> list[CheckpointProblem]:
    head = await session.get(AuditHead, 1)
    head_seq = head.seq if head else 0
    problems = []
    for start in range(0, len(checkpoints), _BATCH):
        batch = checkpoints[start : start + _BATCH]
        seqs = sorted({c.seq for _, c in batch})
        rows = await session.exec(
            select(AuditEntry.seq, AuditEntry.hash).where(col(AuditEntry.seq).in_(seqs))
        )
        hashes = {int(seq): str(digest) for seq, digest in rows.all()}
        for number, checkpoint in batch:
            digest = hashes.get(checkpoint.seq)
            if checkpoint.seq > head_seq:
                why = (
                    f"the checkpoint of {checkpoint.at} saw entry {checkpoint.seq}; the log now ends at "
                    f"seq {head_seq}: entries were removed from the end"
                )
                problems.append(CheckpointProblem(number, "truncated", why))
            elif digest is None:
                why = f"entry {checkpoint.seq}, published at {checkpoint.at}, is gone"
                problems.append(CheckpointProblem(number, "removed", why))
            elif digest != checkpoint.hash:
                why = f"entry {checkpoint.seq} no longer has the hash published at {checkpoint.at}: rewritten"
                problems.append(CheckpointProblem(number, "rewritten", why))
    return problems
