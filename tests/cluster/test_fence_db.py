"""The router's commits pass the fence: a deposed router's transaction is not committed (both
databases: the guard is an engine event, whatever the backend)."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from cluster.fence import Deposed, Fence
from cluster.fence_db import guard_commits


class Clock:
    def __init__(self) -> None:
        self.now = 10.0

    def __call__(self) -> float:
        return self.now


async def _epochs(engine: AsyncEngine) -> list[int]:
    async with engine.connect() as conn:
        return list((await conn.execute(text("SELECT epoch FROM cluster_leader ORDER BY epoch"))).scalars())


async def _write(engine: AsyncEngine, epoch: int) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO cluster_leader (name, epoch, holder, since) VALUES (:n, :e, 'x', '2026-12-03')"
            ),
            {"n": f"e{epoch}", "e": epoch},
        )


async def test_a_deposed_routers_transaction_is_rolled_back_instead_of_committed(engine: AsyncEngine) -> None:
    clock = Clock()
    fence = Fence(lease_s=1.0, clock=clock)
    guard_commits(engine, fence)
    await _write(engine, 1)  # before the election: a standby's own start-up writes
    fence.arm(epoch=1, sent_at=10.0)
    await _write(engine, 2)  # leading
    clock.now = 11.5  # no keepalive answered for longer than the lease
    with pytest.raises(Deposed):
        await _write(engine, 3)
    assert await _epochs(engine) == [1, 2]
