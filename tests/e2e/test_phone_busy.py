"""An agent who picks up their phone for a call of their own is not offered queue calls.

The simulated PBX sends DeviceStateChange as a real Asterisk does when the agent's
device (`Local/1001@agents`, the sample interface) goes off-hook and back, and lists
device states on DeviceStateList after a reconnect.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from tests.harness import Hotline, next_message, no_message, running_hotline

PHONE = "Local/1001@agents"


async def phone_busy_seen(hotline: Hotline, busy: bool = True) -> None:
    """Wait until the router has the DeviceStateChange (it travels over TCP and the bus)."""
    router = hotline.container.router
    async with asyncio.timeout(5):
        while router.snapshot(hotline.container.acd.clock()).agent("1001").phone_busy is not busy:  # noqa: ASYNC110
            await asyncio.sleep(0.02)


async def test_a_call_waits_while_the_agents_phone_is_in_use_and_pops_when_it_is_free(
    database_url: str, tmp_path: Path
) -> None:
    async with running_hotline(database_url, tmp_path) as hotline, contextlib.AsyncExitStack() as stack:
        alice, ws, _ = await hotline.console(stack, "1001")
        hotline.pbx.set_device_state(PHONE, "INUSE")  # Alice calls a colleague
        await phone_busy_seen(hotline)

        await hotline.place_call("+8613800138000", name="王小明", talk=100)  # 10 s on the line
        assert await no_message(ws, "pop", wait=1.0)
        assert not [a for a in hotline.pbx.actions_received if a["Action"] == "Redirect"]
        view = hotline.container.wallboard.view(hotline.container.acd.clock())
        [row] = [a for a in view["agents"] if a["id"] == "1001"]
        assert row["state"] == "available" and row["phone_busy"] is True  # the wallboard says why

        hotline.pbx.set_device_state(PHONE, "NOT_INUSE")  # she hangs up
        pop = await next_message(ws, "pop", timeout=5)
        assert [c["name"] for c in pop["customers"]] == ["王小明"]
        await alice.aclose()


async def test_a_phone_freed_while_the_link_was_down_is_read_back_by_the_resync(
    database_url: str, tmp_path: Path
) -> None:
    async with running_hotline(database_url, tmp_path) as hotline, contextlib.AsyncExitStack() as stack:
        alice, ws, _ = await hotline.console(stack, "1001")
        hotline.pbx.set_device_state(PHONE, "INUSE")
        await phone_busy_seen(hotline)
        await hotline.place_call("+8613800138000", name="王小明", talk=300)
        assert await no_message(ws, "pop", wait=0.5)

        async with hotline.pbx_unreachable():  # Alice hangs up: the NOT_INUSE reaches nobody
            hotline.pbx.set_device_state(PHONE, "NOT_INUSE")

        pop = await next_message(ws, "pop", timeout=5)  # DeviceStateList told: she is free
        assert [c["name"] for c in pop["customers"]] == ["王小明"]
        assert [a for a in hotline.pbx.actions_received if a["Action"] == "DeviceStateList"]
        await alice.aclose()
