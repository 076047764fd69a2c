"""Twilio retries webhooks: the same request twice must have one effect and get the same answer.

A webhook's identity is Twilio's `I-Twilio-Idempotency-Token` header when sent,
else a hash of the URL and the whole form (CallSid, CallStatus, Digits,
SequenceNumber ... and our own query such as the hold-loop counter), so a
retry matches and a genuinely new request (the next status of the call, the
caller's next key) does not. The first answer is kept (bounded, oldest
dropped) and replayed; a retry that arrives while the first is still being
handled waits for it instead of running it again. Failed handling is not kept,
so Twilio's retry after an error does run again (every effect is idempotent
by event id too, so a partly done first attempt is safe to repeat).

In-process: the Twilio link runs with the router, in one process. Across a
restart: with `recall`/`remember` hooks (the link's database ledger,
replay_store.py) a request answered before the restart is answered the same way
again and has no second effect; without them only this process remembers.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")


def request_key(url: str, items: Sequence[tuple[str, str]], token: str | None) -> str:
    if token:
        return "token:" + token
    digest = hashlib.sha256(url.encode())
    for key, value in sorted(items):
        digest.update(b"\0" + key.encode() + b"\1" + value.encode())
    return "form:" + digest.hexdigest()


Recall = Callable[[str], Awaitable[T | None]]
Remember = Callable[[str, T], Awaitable[None]]


class ReplayCache(Generic[T]):
    def __init__(
        self, size: int = 20_000, *, recall: Recall[T] | None = None, remember: Remember[T] | None = None
    ) -> None:
        """`recall(key)` finds an answer a previous process gave (None: new); `remember(key,
        answer)` keeps one for the next. Both must bound their own time."""
        self._size = size
        self._done: OrderedDict[str, T] = OrderedDict()
        self._running: dict[str, asyncio.Future[T]] = {}
        self._recall, self._remember = recall, remember
        self.replayed = 0
        self.recalled = 0  # replays answered from before a restart

    async def once(self, key: str, produce: Callable[[], Awaitable[T]]) -> T:
        if key in self._done:
            self.replayed += 1
            return self._done[key]
        running = self._running.get(key)
        if running is not None:
            self.replayed += 1
            return await asyncio.shield(running)
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._running[key] = future
        try:
            result = await self._produce_once(key, produce)
        except BaseException as exc:
            if isinstance(exc, asyncio.CancelledError):
                future.cancel()
            else:
                future.set_exception(exc)
                future.exception()  # marked retrieved: only waiting retries re-raise it
            raise
        finally:
            self._running.pop(key, None)
        future.set_result(result)
        self._done[key] = result
        if len(self._done) > self._size:
            self._done.popitem(last=False)
        return result

    async def _produce_once(self, key: str, produce: Callable[[], Awaitable[T]]) -> T:
        earlier = await self._recall(key) if self._recall is not None else None
        if earlier is not None:
            self.replayed += 1
            self.recalled += 1
            return earlier
        result = await produce()
        if self._remember is not None:
            await self._remember(key, result)
        return result
