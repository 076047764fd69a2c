"""One definition per KPI (issue #15 item 9, docs/KPIS.md): the wallboard, the report and the
CSV give the same AHT and the same Asterisk service levels for the same calls.

A real call over the simulated PBX: the agent talks, hangs up, wraps up and says Done.
The router's figures (wallboard) and the call table's (report, CSV) must agree.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import json
from pathlib import Path

from sqlmodel import select

from calls.models import CallRecord
from tests.harness import next_message, running_hotline
from tests.ui.live import open_socket, view_until


async def test_the_report_and_its_csv_give_the_wallboards_aht_and_service_levels(
    database_url: str, tmp_path: Path
) -> None:
    async with running_hotline(database_url, tmp_path) as hotline, contextlib.AsyncExitStack() as stack:
        sup = await hotline.sign_in("sup")
        board = await stack.enter_async_context(await open_socket(hotline, sup, "/ws/supervisor"))
        alice, alice_ws, _ = await hotline.console(stack, "1001")
        await hotline.place_call("+8613800138000", name="王小明", talk=600)  # the agent hangs up
        pop = await next_message(alice_ws, "pop")
        call_id = pop["call_id"]
        control = f"/api/console/calls/{call_id}/control"
        await asyncio.sleep(0.5)
        assert (await alice.post(f"{control}/hangup", json={})).status_code == 204
        state = await next_message(alice_ws, "state")
        while state["state"] != "wrap_up":
            state = await next_message(alice_ws, "state")
        await asyncio.sleep(0.4)  # some after-call work
        await alice_ws.send(json.dumps({"type": "ready"}))  # Done: the handling is over

        async with asyncio.timeout(10):
            while True:
                async with hotline.container.sessions() as session:
                    row = (await session.exec(select(CallRecord).where(CallRecord.call_id == call_id))).one()
                if row.wrap_s is not None:
                    break
                await asyncio.sleep(0.05)
        assert row.talk_s is not None and row.hold_s is not None
        assert row.talk_s > 0 and row.wrap_s > 0.3  # the parts were measured, not zeros

        view = await view_until(board, lambda v: v["queues"][0]["aht_s"] is not None)
        wallboard = view["queues"][0]
        [report] = [q for q in (await sup.get("/api/reports/queues")).json() if q["queue"] == "support"]
        assert report["handled"] == 1
        assert abs(report["aht_s"] - wallboard["aht_s"]) < 0.01, (report, wallboard)
        assert abs(report["aht_s"] - (row.talk_s + row.hold_s + row.wrap_s)) < 0.01
        for name in ("service_level", "service_level_asterisk", "service_level_asterisk_sl2"):
            assert report[name] == wallboard[name], name

        text = (await sup.get("/api/reports/queues.csv")).text.lstrip("\ufeff")
        rows = list(csv.DictReader(io.StringIO(text)))
        [line] = [r for r in rows if r["queue"] == "support"]
        assert abs(float(line["aht_s"]) - wallboard["aht_s"]) < 0.01
        [agent] = (await sup.get("/api/reports/agents")).json()
        assert abs(agent["aht_s"] - wallboard["aht_s"]) < 0.01
