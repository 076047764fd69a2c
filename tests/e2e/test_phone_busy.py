"""An agent who picks up their phone for a call of their own is not offered queue calls.

The simulated PBX sends the DeviceStateChange frames a real Asterisk sends when the
agent's device goes off-hook and back (`Local/1001@agents`, the sample interface).
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from tests.harness import next_message, no_message, running_hotline


def device_state(device: str, state: str) -> bytes:
    frame = f"Event: DeviceStateChange\r\nPrivilege: call,all\r\nDevice: {device}\r\nState: {state}\r\n\r\n"
    return frame.encode()


async def test_a_call_waits_while_the_agents_phone_is_in_use_and_pops_when_it_is_free(
    database_url: str, tmp_path: Path
) -> None:
    async with running_hotline(database_url, tmp_path) as hotline, contextlib.AsyncExitStack() as stack:
        alice = await hotline.sign_in("1001")
        ws = await stack.enter_async_context(await hotline.agent_socket(alice))
        await next_message(ws, "hello")
        hotline.pbx.send_raw(device_state("Local/1001@agents", "INUSE"))  # Alice calls a colleague
        await hotline.container.bus.join()

        await hotline.place_call("+8613800138000", name="王小明", talk=100)  # 10 s on the line
        assert await no_message(ws, "pop", wait=1.0)
        assert not [a for a in hotline.pbx.actions_received if a["Action"] == "Redirect"]
        view = hotline.container.wallboard.view(hotline.container.acd.clock())
        [row] = [a for a in view["agents"] if a["id"] == "1001"]
        assert row["state"] == "available" and row["phone_busy"] is True  # the wallboard says why

        hotline.pbx.send_raw(device_state("Local/1001@agents", "NOT_INUSE"))  # she hangs up
        pop = await next_message(ws, "pop", timeout=5)
        assert [c["name"] for c in pop["customers"]] == ["王小明"]
        await alice.aclose()
