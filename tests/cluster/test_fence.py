"""The fence on its own clock: refuses until armed, for as long as a keepalive answers, and for good
once lost (the clock is injected: no sleeping)."""

from __future__ import annotations

import pytest

from cluster.fence import Deposed, Fence


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_fence_refuses_until_this_process_leads() -> None:
    with pytest.raises(Deposed, match="standby"):
        Fence(clock=Clock()).check()


def test_the_lease_runs_from_the_keepalive_sent_not_from_its_answer() -> None:
    clock = Clock()
    fence = Fence(lease_s=1.0, clock=clock)
    fence.arm(epoch=7, sent_at=100.0)
    clock.now = 100.9
    fence.check()
    fence.renew(sent_at=100.2)  # answered late: the lease is 100.2 + 1.0, not now + 1.0
    clock.now = 101.2
    with pytest.raises(Deposed, match=r"epoch 7.*lease of 1 s expired"):
        fence.check()
    assert fence.deposed_at == 101.2


def test_a_deposed_fence_stays_deposed_whatever_answers_later() -> None:
    clock = Clock()
    fence = Fence(lease_s=1.0, clock=clock)
    fence.arm(epoch=1, sent_at=100.0)
    fence.lose("the lock connection failed")
    fence.renew(sent_at=100.5)
    with pytest.raises(Deposed, match="lock connection failed"):
        fence.check()
    with pytest.raises(Deposed, match="not re-armed"):
        fence.arm(epoch=2, sent_at=100.5)
    assert fence.remaining() == 0.0 and not fence.valid


def test_only_a_fence_that_was_armed_refuses_what_a_standby_may_do() -> None:
    clock = Clock()
    fence = Fence(lease_s=1.0, clock=clock)
    fence.check_not_deposed()  # a standby's own start-up writes
    fence.arm(epoch=3, sent_at=100.0)
    fence.check_not_deposed()
    clock.now = 101.5
    with pytest.raises(Deposed, match="epoch 3"):
        fence.check_not_deposed()
