"""Start-up reconciliation: what happened while Hotline was not running, told to every package.

A `kill -9` loses what was in memory: calls in progress, events on the bus not
yet handled, the AMI link. The PBX went on. Once the link is up again (its
resync has rebuilt the calls that are live now), this runs once:

1. The open calls of the call log, plus calls whose recordings still wait for a
   hang-up, go to the link's `reconcile` (cti.telephony.Reconciler) together with
   the calls the log already knows since shortly before it last saw anything.
   The link answers with the events Hotline missed (HUNG_UP with the PBX's
   figures, whole calls only the PBX's CDRs have), with the ids the live events
   would have had.
2. Those events go onto the bus like live ones: the call log closes its rows,
   the service desk opens or closes tickets, recordings takes files in.
3. When the bus has handled them, recordings retries PENDING files of ended
   calls and registers files in the PBX folder no row knows.

It glues packages that must not import each other (calls, recordings, cti),
which is why it sits next to the composition root; it holds no state.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from calls import recovery as log_side
from calls.recovery import UnfinishedCall
from config.database import utcnow
from cti.telephony import OpenCall, Reconciler, TelephonyError, TelephonyLink
from recordings.recovery import RecordingRecovery, ScanReport
from routing.events import Event

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RecoveryReport:
    since: datetime
    open_calls: int
    events: int
    retried: int
    scan: ScanReport | None


@dataclass
class StartupRecovery:
    sessions: async_sessionmaker[AsyncSession]
    publish: Callable[[Event], Awaitable[None]]
    settle: Callable[[], Awaitable[None]]  # returns when the bus has handled everything published
    recordings: RecordingRecovery | None = None
    clock: Callable[[], datetime] = utcnow
    margin: timedelta = timedelta(minutes=10)  # calls may have begun a little before the last one seen
    first_window: timedelta = timedelta(hours=24)  # an empty log: look this far back

    async def run_once_connected(self, link: TelephonyLink, done: asyncio.Event) -> None:
        """Wait for the link's first login (its resync is done then), run once, set `done`.
        A failure is logged, never fatal: Hotline serves calls without it."""
        while True:
            try:
                await link.wait_connected(timeout=60)
                break
            except (TimeoutError, TelephonyError):
                log.warning("start-up recovery waits for the PBX link")
        try:
            await self.run(link)
        except Exception:
            log.exception("start-up recovery failed: calls it did not close stay open until the next start")
        finally:
            done.set()

    async def run(self, link: Reconciler) -> RecoveryReport:
        seen = await log_side.last_seen(self.sessions)
        since = seen - self.margin if seen is not None else self.clock() - self.first_window
        unfinished = await log_side.open_calls(self.sessions)
        pending = await self.recordings.open_calls() if self.recordings is not None else []
        listed = {c.call_id for c in unfinished}
        waiting = {p.call_id: p for p in pending if p.call_id not in listed}
        closed_rows = await log_side.calls_by_id(self.sessions, waiting)
        opened = [_open_call(c) for c in (*unfinished, *closed_rows)]
        opened += [
            OpenCall(p.call_id, p.source) for p in waiting.values() if p.call_id not in _ids(closed_rows)
        ]
        known = await log_side.known_since(self.sessions, since)
        events = await link.reconcile(opened, known, since)
        for event in events:
            await self.publish(event)
        await self.settle()
        retried, scan = 0, None
        if self.recordings is not None:
            retried = await self.recordings.retry_pending()
            scan = await self.recordings.scan(since)
        report = RecoveryReport(since, len(opened), len(events), retried, scan)
        files = "no PBX folder"
        if scan is not None:
            files = f"{scan.registered} unknown files registered ({scan.stored} stored)"
            files += f", {len(scan.unmatched)} matching no call"
        log.info(
            "recovery since %s: %d open calls, %d missed events, %d pending recordings retried, %s",
            since.isoformat(timespec="seconds"),
            report.open_calls,
            report.events,
            retried,
            files,
        )
        return report


def _open_call(call: UnfinishedCall) -> OpenCall:
    return OpenCall(
        call_id=call.call_id,
        source=call.source,
        pbx_ref=call.pbx_ref,
        offered_at=call.offered_at,
        answered_at=call.answered_at,
        agent=call.agent_id,
        queue=call.queue,
        caller=call.caller,
    )


def _ids(calls: list[UnfinishedCall]) -> set[str]:
    return {c.call_id for c in calls}
