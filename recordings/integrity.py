"""`hotline audit verify`: re-hash the audit chain and every stored recording, check the checkpoints.

One report for both, with the position of every break, so an operator (or a
cron job checking the exit status) sees at once whether the evidence is intact.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from audit.checkpoint import CheckpointPublisher, CheckpointReport
from audit.log import AuditLog, VerifyReport
from recordings.archive import FilesReport, RecordingArchive
from recordings.storage import BlobStore


@dataclass(frozen=True, slots=True)
class IntegrityReport:
    chain: VerifyReport
    files: FilesReport
    checkpoints: CheckpointReport | None = None  # None: no checkpoint key configured

    @property
    def ok(self) -> bool:
        return self.chain.ok and self.files.ok and (self.checkpoints is None or self.checkpoints.ok)

    def lines(self) -> list[str]:
        chain = self.chain
        out = [f"audit log: {chain.entries} entries, head seq {chain.head_seq}, head hash {chain.head_hash}"]
        if chain.first_break is None:
            out.append("audit log: OK")
        else:
            brk = chain.first_break
            out.append(f"audit log: BROKEN at seq {brk.seq} ({brk.reason}): {brk.message}")
        out.append(f"recording files: {self.files.checked} checked")
        for problem in self.files.problems:
            blob = f" (blob {problem.storage_key})" if problem.storage_key else ""
            why = f" - {problem.message}" if problem.message else ""
            out.append(
                f"recording files: BROKEN recording {problem.recording_id}{blob}: "
                f"{problem.reason.replace('_', ' ')}{why}"
            )
        if self.files.ok:
            out.append("recording files: OK")
        if self.checkpoints is None:
            out.append(
                "checkpoints: not configured (HOTLINE_AUDIT_CHECKPOINT_KEY): "
                "entries removed from the end of the log cannot be detected"
            )
        else:
            out += self.checkpoints.lines()
        return out


async def verify_integrity(
    sessions: async_sessionmaker[AsyncSession],
    store: BlobStore,
    audit: AuditLog | None = None,
    checkpoints: CheckpointPublisher | None = None,
) -> IntegrityReport:
    log = audit or AuditLog()
    async with sessions() as session:
        chain = await log.verify(session)
    files = await RecordingArchive(sessions=sessions, store=store, audit=log).verify_files()
    published = await checkpoints.verify() if checkpoints is not None else None
    return IntegrityReport(chain, files, published)
