"""Fencing: what lets a leader act, and stops a deposed one before its successor starts.

A leader's right to act is a *lease* on its own clock: the moment its last successful
keepalive was sent plus `lease_s`. `Fence.check()` is called before every act that must
not be doubled (an AMI action frame written, a commit of the router's state) and raises
`Deposed` once the lease ran out without a new keepalive, or once the lock connection
failed. It reads only the local monotonic clock: a leader cut off from PostgreSQL stops
acting on time even while its keepalive query hangs on a dead socket.

Why this is enough (cluster.leadership holds the other half): the old leader's last
keepalive was sent before its session lost the lock, so its lease ends less than
`lease_s` after the lock became free; the new leader waits `lease_s` after winning the
lock before it acts. The two never act at the same time, provided both clocks run at
about the same rate (they need not agree on the time). Frames already handed to the
kernel before the lease ended may still be on the wire; the PBX is on the LAN, so that
is far below the margin of the poll interval.

One Fence per process: built before the election (the AMI link is wired with its
`check` then) and armed by the elector once this process leads. Until then `check()`
refuses, so a standby can never act by accident.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable


class Deposed(Exception):
    """This process does not (or no longer) lead: it must not act. Not an AMI or database error:
    nothing below cluster/ catches it, so it ends what was acting."""


class Fence:
    def __init__(self, *, lease_s: float = 1.0, clock: Callable[[], float] = time.monotonic) -> None:
        if lease_s <= 0:
            raise ValueError("lease_s must be positive")
        self.lease_s = lease_s
        self._clock = clock
        self._until = -math.inf  # not armed: refuses
        self._armed = False
        self._lost: str | None = None
        self.epoch: int | None = None  # the leadership epoch this fence guards, once armed
        self.deposed_at: float | None = None  # clock() when it first refused after being armed

    @property
    def clock(self) -> Callable[[], float]:
        return self._clock

    def arm(self, epoch: int, sent_at: float) -> None:
        """This process leads under `epoch`: its lease runs from the keepalive sent at `sent_at`."""
        if self._lost is not None:
            raise Deposed(f"a deposed fence is not re-armed ({self._lost}); restart as a standby")
        self.epoch = epoch
        self._armed = True
        self.renew(sent_at)

    def renew(self, sent_at: float) -> None:
        """A keepalive sent at `sent_at` was answered: the lease runs to `sent_at + lease_s`.
        Measured from the send, not the answer, so a slow answer never stretches the lease."""
        if self._armed and self._lost is None:
            self._until = max(self._until, sent_at + self.lease_s)

    def lose(self, reason: str) -> None:
        """The lock connection failed (or the lease was seen to run out): refuse from now on."""
        if self._lost is None:
            self._lost = reason
            if self._armed and self.deposed_at is None:
                self.deposed_at = self._clock()

    def remaining(self) -> float:
        """Seconds of lease left (<= 0: expired or lost)."""
        if self._lost is not None:
            return 0.0
        return self._until - self._clock()

    @property
    def valid(self) -> bool:
        return self._armed and self.remaining() > 0

    def check_not_deposed(self) -> None:
        """Raise Deposed only if this process led and no longer does: for what a standby may
        do too (its start-up writes) but a deposed leader must not."""
        if self._armed:
            self.check()

    def check(self) -> None:
        """Raise Deposed unless this process leads now. Cheap: one clock read."""
        if self._lost is not None:
            raise Deposed(f"deposed (epoch {self.epoch}): {self._lost}")
        if not self._armed:
            raise Deposed("not the leader (standby)")
        if self._clock() >= self._until:
            self.lose(f"lease of {self.lease_s:g} s expired without a keepalive")
            raise Deposed(f"deposed (epoch {self.epoch}): {self._lost}")
