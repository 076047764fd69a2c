"""A cancellation redis-py swallowed, noticed by the loop that must stop.

redis-py can hand a cancelled task back a normal answer, so a loop around Redis commands that
only awaits them never stops: the TaskGroup stopping it (a router deposed, a process shutting
down) then waits for ever. Two ways it happens:
- a cancel that reaches a command as its send completes is lost: redis-py sends through
  `asyncio.wait_for`, which on Python 3.11 returns the finished send instead of raising
  (CPython gh-86296);
- a blocked read cancelled closes its connection, and redis-py's retry sends the read again on
  a new one, which then answers (None, or its ConnectionError / TimeoutError).
Every such loop asks here after each command and before it goes round again.
"""

from __future__ import annotations

import asyncio


def cancelled() -> bool:
    """The current task was asked to stop (whatever the Redis command it awaited answered)."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


def stop_if_cancelled() -> None:
    """Raise the cancellation a Redis command swallowed."""
    if cancelled():
        raise asyncio.CancelledError


__all__ = ["cancelled", "stop_if_cancelled"]
