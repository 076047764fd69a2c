"""The follow-up page: the due list, call the customer through the PBX, record, reschedule; refusals."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import httpx

from cti.ami.client import AmiClient
from routing.commands import RecordSurveyScore
from tests.forms import form_token
from tests.harness import AMI_SECRET, running_hotline
from tests.ui.desk_center import desk_callcenter


async def _resolved_ticket(client: httpx.AsyncClient, caller: str = "13800138000") -> int:
    ticket = (await client.post("/api/tickets", json={"subject": "门锁坏了", "caller": caller})).json()
    ticket = (
        await client.post(f"/api/tickets/{ticket['id']}/accept", json={"version": ticket["version"]})
    ).json()
    resolved = await client.post(f"/api/tickets/{ticket['id']}/resolve", json={"version": ticket["version"]})
    assert resolved.status_code == 200, resolved.text
    return int(ticket["id"])


async def test_an_agent_calls_records_and_reschedules_follow_ups_from_the_page(
    database_url: str, tmp_path: Path
) -> None:
    center = desk_callcenter(tmp_path)
    async with running_hotline(database_url, tmp_path, callcenter_file=center) as hotline:
        agent = await hotline.sign_in("1001")
        first, second = await _resolved_ticket(agent), await _resolved_ticket(agent, "13900139000")
        page = await agent.get("/follow-ups")
        assert page.status_code == 200
        assert f'data-ticket="{first}"' in page.text and f'data-ticket="{second}"' in page.text
        follow = {f["ticket_id"]: f["id"] for f in (await agent.get("/api/follow-ups/due")).json()}
        token = form_token(page.text)

        # Listen on the PBX as a second AMI user: the originate for the customer's number shows up.
        watcher = AmiClient("127.0.0.1", hotline.pbx.port, "hotline", AMI_SECRET)
        async with asyncio.TaskGroup() as group:
            runner = group.create_task(watcher.run())
            await watcher.wait_connected(timeout=5)
            events = watcher.subscribe()
            calling = await agent.post(f"/follow-ups/{follow[first]}/call", data={"csrf_token": token})
            assert calling.status_code == 303 and "done=calling" in calling.headers["location"]
            async with asyncio.timeout(5):
                async for event in events:
                    if event.get("Event") == "OriginateResponse" and event.get("Exten") == "8613800138000":
                        assert event.get("Channel") == "Local/1001@agents/n"  # the agent's phone rings first
                        break
            runner.cancel()

        bad = await agent.post(
            f"/follow-ups/{follow[first]}/record", data={"score": "9", "outcome": "", "csrf_token": token}
        )
        assert bad.status_code == 422
        done = await agent.post(
            f"/follow-ups/{follow[first]}/record",
            data={"score": "4", "outcome": "已修好", "csrf_token": token},
        )
        assert done.status_code == 303
        again = await agent.post(
            f"/follow-ups/{follow[first]}/record", data={"score": "5", "outcome": "", "csrf_token": token}
        )
        assert again.status_code == 409 and 'id="message"' in again.text
        (recorded,) = (await agent.get(f"/api/tickets/{first}/follow-ups")).json()
        assert recorded["score"] == 4 and recorded["recorded_by"] == "1001"

        later = await agent.post(
            f"/follow-ups/{follow[second]}/reschedule", data={"due": "2030-01-02T15:30", "csrf_token": token}
        )
        assert later.status_code == 303
        (moved,) = (await agent.get(f"/api/tickets/{second}/follow-ups")).json()
        assert moved["due_at"].startswith("2030-01-02T07:30")  # 15:30 in Shanghai
        empty = (await agent.get("/follow-ups")).text
        assert f'data-ticket="{second}"' not in empty
        # The empty list says when there will be work, not only that there is none.
        assert 'id="follow-up-none"' in empty and "已安排 1 个回访，尚未到期" in empty
        assert "2030年1月2日 15:30" in empty
        nonsense = await agent.post(
            f"/follow-ups/{follow[second]}/reschedule", data={"due": "tomorrow", "csrf_token": token}
        )
        assert nonsense.status_code == 422

        steps = [
            (e["actor"], e["data"].get("action"))
            for e in (await agent.get(f"/api/tickets/{first}/timeline")).json()
            if e["kind"] == "follow_up"
        ]
        assert ("1001", "call") in steps
        tech = await hotline.sign_in("tech")
        assert (await tech.get("/follow-ups")).status_code == 403
        with contextlib.suppress(Exception):
            await tech.aclose()
        await agent.aclose()


async def test_a_survey_score_from_the_ivr_shows_on_the_ticket_page(
    database_url: str, tmp_path: Path
) -> None:
    center = desk_callcenter(tmp_path)
    async with running_hotline(database_url, tmp_path, callcenter_file=center) as hotline:
        agent = await hotline.sign_in("1001")
        ticket_id = await _resolved_ticket(agent)
        # The IVR's survey call reports its digit as a command on the bus (cti.twilio.flow does).
        reply = await hotline.container.bus.send(
            RecordSurveyScore(call_id="CA-survey", ticket_id=ticket_id, score=4)
        )
        await reply
        (row,) = (await agent.get(f"/api/tickets/{ticket_id}/follow-ups")).json()
        assert row["score"] == 4 and row["channel"] == "ivr" and row["state"] == "done"
        page = (await agent.get(f"/tickets/{ticket_id}")).text
        table = page.split('id="follow-ups"', 1)[1].split("</table>", 1)[0]
        assert "<td>4</td>" in table
        assert f'data-ticket="{ticket_id}"' not in (await agent.get("/follow-ups")).text
        await agent.aclose()
