"""Password hashing off the event loop, with bounded concurrency.

Argon2 (pwdlib's recommended parameters: 64 MiB, t=3, p=4) costs ~0.15 s of wall time and
~0.24 s of CPU per check here. On the event loop, 100 concurrent wrong logins held
`/api/health` for 13 s and a waiting call was never routed. So every check runs in a
small dedicated thread pool (argon2-cffi releases the GIL), its threads at a lower OS
priority where the platform allows it, so the loop's thread wins the CPU when both want
it; and at most `max_waiting` checks may queue: beyond that the sign-in is refused at
once (`Busy`) instead of building a backlog that outlives the attack.

Unknown logins are checked against a dummy hash with the hasher's own parameters (the
cost of a check is set by the parameters written in the hash), so a wrong login and a wrong
password take the same time.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import threading
from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher as Argon2
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

_hasher = PasswordHash.recommended()


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii").rstrip("=")


def _dummy_hash() -> str:
    """An Argon2id hash that no password matches, costing what a real one costs to check."""
    first = _hasher.hashers[0]
    params = first._hasher if isinstance(first, Argon2Hasher) else Argon2()
    return (
        f"$argon2id$v=19$m={params.memory_cost},t={params.time_cost},p={params.parallelism}"
        f"${_b64(bytes(params.salt_len))}${_b64(bytes(params.hash_len))}"
    )


DUMMY_HASH = _dummy_hash()


def hash_password(password: str) -> str:
    """Blocking; for seeding and tools. Request paths use `PasswordChecker`."""
    return _hasher.hash(password)


def _lower_priority() -> None:
    """Nice the pool's thread (Linux: per thread; argon2's lane threads inherit it)."""
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)


class Busy(Exception):
    """Too many password checks are waiting already."""


class PasswordChecker:
    def __init__(self, *, workers: int = 1, max_waiting: int = 16) -> None:
        self._pool = ThreadPoolExecutor(
            max_workers=workers, thread_name_prefix="password-hash", initializer=_lower_priority
        )
        self._slots = max_waiting + workers
        self._in_use = 0

    async def _run(self, password: str, hashed: str | None) -> bool:
        if self._in_use >= self._slots:
            raise Busy
        self._in_use += 1
        try:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._pool, _hasher.verify, password, hashed or DUMMY_HASH)
        finally:
            self._in_use -= 1

    async def verify(self, password: str, hashed: str | None) -> bool:
        """True if `password` matches `hashed`; with `hashed=None` (no such account) the same
        work is done against a dummy and the answer is False. Raises Busy."""
        matched = await self._run(password, hashed)
        return matched and hashed is not None

    async def hash(self, password: str) -> str:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, _hasher.hash, password)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
