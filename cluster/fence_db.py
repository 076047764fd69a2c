"""Fencing the elected router's database writes.

What is fenced, exactly:

* **Every commit on the router's engine** checks the process's `Fence` first
  (`guard_commits`): a router whose lease ran out commits nothing more, its transaction
  is rolled back instead. Before it is first elected a router commits freely: its writers
  (bus, ACD, scheduler) have not started, and what it writes then (start-up, health) is
  not the leader's. This is the same local-clock guarantee as the AMI action path
  (cluster.fence): commits sent before the lease ended reach the server well before the
  successor, which waits a whole lease, starts.
* **On the server**: the successor ends every session of the old leader's engine (tagged
  with its holder, cluster.leadership.session_tag) in the transaction that increments the
  epoch. A transaction the old leader left open (cut off mid-way: its row locks would block
  the successor for as long as the session lives) rolls back, and a COMMIT of it stuck in a
  frozen network path finds no session when it arrives.
* Not fenced here: Twilio's REST orders and the AMI actions (fenced in their links, each
  request and each action frame, cti.twilio.http and cti.ami.client); the desk's
  autocommit libpq readers (tickets.reads: reads only, untagged); what other processes (web
  workers) write on the router's behalf.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from cluster.fence import Fence


def guard_commits(engine: AsyncEngine, fence: Fence) -> None:
    """Check `fence` before every COMMIT on `engine`; Deposed (raised in the caller's commit)
    leaves the transaction uncommitted, and the pool rolls it back."""

    def before_commit(_conn: Any) -> None:
        fence.check_not_deposed()

    event.listen(engine.sync_engine, "commit", before_commit)
