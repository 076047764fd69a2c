"""Sign-in throttling: so many attempts per login and per address, then 429 with Retry-After.

`LoginThrottle` is the seam: the in-memory `MemoryThrottle` serves one process; several
web workers (issue #17) share one count in Redis behind the same three calls
(agent_ui.shared_throttle.RedisThrottle, wired for `--role router|web`).

An attempt is counted *before* the password is checked, so 200 concurrent wrong logins
cannot all slip past the count while the first hash is still running; a successful
sign-in then gives its attempts back (`succeeded`), so an office whose agents share one
NAT address is not locked out by its own morning sign-ins.

Why not the `limits` package: its asyncio memory storage expires keys from
fire-and-forget tasks that hop to a worker thread per key, its synchronous one from a
`threading.Timer`, and neither takes a clock, so a lockout's end cannot be tested
without sleeping. What we need is a bounded log of timestamps per key, below.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

Key = tuple[str, str]  # (kind, value): ("login", "1001"), ("address", "10.0.0.7")


@dataclass(frozen=True, slots=True)
class Limit:
    attempts: int
    window_s: float


class LoginThrottle(Protocol):
    async def attempt(self, keys: Sequence[Key]) -> float | None:
        """Count one attempt under every key, or, if any key is at its limit, count nothing
        and return the seconds until it may try again."""
        ...

    async def succeeded(self, keys: Sequence[Key]) -> None:
        """The attempt was a correct sign-in: give it back under every key."""
        ...

    async def retry_after(self, key: Key) -> float | None:
        """Seconds until `key` may try again; None if it may now."""
        ...


class MemoryThrottle:
    """A sliding log of attempt times per key, for one process.

    Memory is bounded: each key keeps at most its limit's number of timestamps, and at
    most `max_keys` keys are kept (the least recently used go first: an attacker cycling
    addresses forgets the oldest of them, never a key counted in the last window unless
    there are more than `max_keys` of those).
    """

    def __init__(
        self,
        limits: Mapping[str, Limit],
        *,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 100_000,
    ) -> None:
        self._limits = dict(limits)
        self._clock = clock
        self._max_keys = max_keys
        self._log: OrderedDict[Key, deque[float]] = OrderedDict()

    def _wait(self, key: Key, now: float) -> float | None:
        limit = self._limits.get(key[0])
        times = self._log.get(key)
        if limit is None or times is None:
            return None
        while times and times[0] <= now - limit.window_s:
            times.popleft()
        if len(times) < limit.attempts:
            return None
        return times[0] + limit.window_s - now

    async def attempt(self, keys: Sequence[Key]) -> float | None:
        now = self._clock()
        waits = [w for w in (self._wait(k, now) for k in keys) if w is not None]
        if waits:
            return max(waits)
        for key in keys:
            limit = self._limits.get(key[0])
            if limit is None:
                continue
            times = self._log.get(key)
            if times is None:
                times = self._log[key] = deque(maxlen=limit.attempts)
            times.append(now)
            self._log.move_to_end(key)
        while len(self._log) > self._max_keys:
            self._log.popitem(last=False)
        return None

    async def succeeded(self, keys: Sequence[Key]) -> None:
        for key in keys:
            times = self._log.get(key)
            if times:
                times.pop()

    async def retry_after(self, key: Key) -> float | None:
        return self._wait(key, self._clock())
