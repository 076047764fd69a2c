"""Sign-in throttling shared by every web worker: the same sliding log as `MemoryThrottle`, in Redis.

Several web workers behind a proxy each see a share of one attacker's attempts; counted per
process, five attempts per login would become five per worker. Here each key is a Redis
sorted set of attempt times (`hotline:signin:<kind>:<value>`), and one Lua script checks
every key and counts the attempt under all of them atomically, so concurrent attempts on
two workers cannot both slip past the last free place. Each set expires with its window
(memory is bounded by the attempts of the last window, as in `MemoryThrottle`).

Time comes from the injected clock (wall time, not monotonic: the workers compare their
times), so a lockout's end is tested without sleeping; workers' clocks are assumed to agree
within a second or so (NTP), which moves a lockout's end by as much.

What can go wrong: Redis unreachable raises `redis.exceptions.ConnectionError` from
`attempt`, which the sign-in route answers as an error — sign-in is refused rather than
left unthrottled.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping, Sequence

from redis.asyncio import Redis

from agent_ui.throttle import Key, Limit

PREFIX = "hotline:signin:"

# KEYS: the sets; ARGV: now, member, mode ("count" or "check"), then limit and window per key.
# Returns the seconds to wait (as a string: Lua numbers come back truncated to integers) or nil.
_SCRIPT = """
local now = tonumber(ARGV[1])
local wait = nil
for i, key in ipairs(KEYS) do
  local limit = tonumber(ARGV[2 + 2 * i])
  local window = tonumber(ARGV[3 + 2 * i])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  if redis.call('ZCARD', key) >= limit then
    local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
    local w = tonumber(oldest[2]) + window - now
    if wait == nil or w > wait then wait = w end
  end
end
if wait ~= nil then return tostring(wait) end
if ARGV[3] == 'count' then
  for i, key in ipairs(KEYS) do
    redis.call('ZADD', key, now, ARGV[2])
    redis.call('PEXPIRE', key, math.ceil(tonumber(ARGV[3 + 2 * i]) * 1000))
  end
end
return nil
"""


class RedisThrottle:
    """`LoginThrottle` over Redis, for `--role web` (and `router`): one count cluster-wide."""

    def __init__(
        self,
        redis: Redis,
        limits: Mapping[str, Limit],
        *,
        clock: Callable[[], float] = time.time,
        prefix: str = PREFIX,
    ) -> None:
        self._redis = redis
        self._limits = dict(limits)
        self._clock = clock
        self._prefix = prefix
        self._script = redis.register_script(_SCRIPT)

    def _name(self, key: Key) -> str:
        return f"{self._prefix}{key[0]}:{key[1]}"

    async def _run(self, keys: Sequence[Key], mode: str) -> float | None:
        limited = [k for k in keys if k[0] in self._limits]
        if not limited:
            return None
        args: list[str | float] = [self._clock(), uuid.uuid4().hex, mode]
        for key in limited:
            limit = self._limits[key[0]]
            args += [limit.attempts, limit.window_s]
        wait = await self._script(keys=[self._name(k) for k in limited], args=args)
        return None if wait is None else float(wait)

    async def attempt(self, keys: Sequence[Key]) -> float | None:
        return await self._run(keys, "count")

    async def succeeded(self, keys: Sequence[Key]) -> None:
        """Give back the latest attempt under each key (as `MemoryThrottle` does)."""
        names = [self._name(k) for k in keys if k[0] in self._limits]
        if names:
            async with self._redis.pipeline(transaction=True) as pipe:
                for name in names:
                    pipe.zpopmax(name)
                await pipe.execute()

    async def retry_after(self, key: Key) -> float | None:
        return await self._run([key], "check")
