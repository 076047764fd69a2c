"""Fencing the elected router's database writes.

What is fenced, exactly:

* **Every commit on the router's engine** checks the process's `Fence` first
  (`guard_commits`): a router whose lease ran out commits nothing more, its transaction
  is rolled back instead. Before it is first elected a router commits freely: its writers
  (bus, ACD, scheduler) have not started, and what it writes then (start-up, health) is
  not the leader's. This is the same local-clock guarantee as the AMI action path
  (cluster.fence): commits sent before the lease ended reach the server well before the
  successor, which waits a whole lease, starts.
* **Not yet fenced on the server**: a COMMIT already sent that hangs in a frozen network path
  and is delivered after the successor started. `epoch_is_current` is the server-side token
  for that case (a row lock on the election's row, which the successor's epoch increment
  must wait for); no write of the router uses it yet, and it should go into the writes that
  must never be doubled before they are trusted to a path that can freeze.
* Twilio's REST calls are not fenced (the Asterisk link is, action by action).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from cluster.fence import Deposed, Fence


def guard_commits(engine: AsyncEngine, fence: Fence) -> None:
    """Check `fence` before every COMMIT on `engine`; Deposed (raised in the caller's commit)
    leaves the transaction uncommitted, and the pool rolls it back."""

    def before_commit(_conn: Any) -> None:
        fence.check_not_deposed()

    event.listen(engine.sync_engine, "commit", before_commit)


async def epoch_is_current(conn: AsyncConnection, name: str, epoch: int) -> None:
    """Inside a transaction: raise Deposed unless `epoch` is still the election's, and hold the
    row (FOR SHARE) until commit, so a successor's increment waits for this transaction and
    any transaction of the old leader that starts after it sees the new epoch and stops."""
    found = await conn.execute(
        text("SELECT epoch FROM cluster_leader WHERE name = :name FOR SHARE"), {"name": name}
    )
    current = found.scalar_one_or_none()
    if current != epoch:
        raise Deposed(f"epoch {epoch} of {name!r} is over (now {current})")
