"""cti.ami.members: Hotline's sign-in/out and pauses as app_queue member actions (simulated PBX over TCP)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from cti.ami.client import AmiClient
from cti.ami.errors import ActionRefused
from cti.ami.members import SIGNED_OUT_REASON, Member, MemberSync
from cti.simulator import SimulatedPbx
from cti.simulator.queues import SimMember, SimQueue

SECRET = "members-secret"
ALICE = Member("Local/1001@agents/n", "Alice Agent")


@pytest.fixture
async def pbx_and_sync() -> AsyncIterator[tuple[SimulatedPbx, MemberSync]]:
    queues = [
        SimQueue("support", members=[SimMember(ALICE.interface, ALICE.name)]),
        SimQueue("sales", strategy="ringall"),  # no static members: QueueAdd/QueueRemove
    ]
    pbx = SimulatedPbx(secret=SECRET, queues=queues)
    async with asyncio.TaskGroup() as group:
        pbx_task = group.create_task(pbx.run())
        await pbx.wait_ready()
        client = AmiClient("127.0.0.1", pbx.port, "hotline", SECRET, action_timeout=2)
        client_task = group.create_task(client.run())
        await client.wait_connected(5)
        yield pbx, MemberSync(client, {"1001": ALICE}, dynamic_queues=["sales"])
        client_task.cancel()
        pbx_task.cancel()


def members(pbx: SimulatedPbx, queue: str) -> list[tuple[str, str, bool, str, int]]:
    return [(m.interface, m.name, m.paused, m.reason, m.penalty) for m in pbx.core.queues[queue].members]


async def test_sign_in_adds_dynamic_members_and_unpauses_static_ones(
    pbx_and_sync: tuple[SimulatedPbx, MemberSync],
) -> None:
    pbx, sync = pbx_and_sync
    await sync.sign_out("1001", ["support"])
    assert members(pbx, "support") == [(ALICE.interface, ALICE.name, True, SIGNED_OUT_REASON, 0)]
    await sync.sign_in("1001", {"support": 0, "sales": 2})
    assert members(pbx, "support") == [(ALICE.interface, ALICE.name, False, "", 0)]
    assert members(pbx, "sales") == [(ALICE.interface, ALICE.name, False, "", 2)]
    await sync.sign_in("1001", {"sales": 2})  # 'Already there' is what we wanted: no error
    assert len(members(pbx, "sales")) == 1

    await sync.sign_out("1001", ["support", "sales"])
    assert members(pbx, "sales") == []
    await sync.sign_out("1001", ["sales"])  # 'Not there': already signed out
    assert members(pbx, "support")[0][2:4] == (True, SIGNED_OUT_REASON)


async def test_sign_in_paused_and_pause_everywhere(pbx_and_sync: tuple[SimulatedPbx, MemberSync]) -> None:
    pbx, sync = pbx_and_sync
    await sync.sign_in("1001", {"sales": 0}, paused=True, reason="logging-in")
    assert members(pbx, "sales") == [(ALICE.interface, ALICE.name, True, "logging-in", 0)]
    await sync.unpause("1001")
    assert not members(pbx, "sales")[0][2] and not members(pbx, "support")[0][2]
    await sync.pause("1001", "lunch")
    assert members(pbx, "sales")[0][2:4] == members(pbx, "support")[0][2:4] == (True, "lunch")


async def test_an_agent_without_an_interface_is_skipped_and_real_refusals_surface(
    pbx_and_sync: tuple[SimulatedPbx, MemberSync],
) -> None:
    pbx, sync = pbx_and_sync
    await sync.pause("9999", "lunch")  # no PBX interface known: nothing sent
    assert not [a for a in pbx.actions_received if a.get("Interface", "").startswith("Local/9999")]
    sync.dynamic_queues = frozenset({"nosuch"})
    with pytest.raises(ActionRefused, match="No such queue"):  # not an 'already there': it surfaces
        await sync.sign_in("1001", {"nosuch": 0})
