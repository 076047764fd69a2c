"""The customer page: profile with tickets and calls, edit, and merging a duplicate (on the audit log)."""

from __future__ import annotations

import contextlib
from pathlib import Path

from tests.forms import form_token, post_form
from tests.harness import next_message, running_hotline


async def test_a_merge_moves_phones_tickets_and_calls_to_the_survivor_and_is_audited(
    database_url: str, tmp_path: Path
) -> None:
    async with running_hotline(database_url, tmp_path) as hotline, contextlib.AsyncExitStack() as stack:
        alice, alice_ws, _ = await hotline.console(stack, "1001")
        sup = await hotline.sign_in("sup")
        survivor = (
            await sup.post("/api/customers", json={"name": "王小明", "phones": [{"number": "13800138000"}]})
        ).json()
        duplicate = (
            await sup.post(
                "/api/customers",
                json={
                    "name": "王小明 (重复)",
                    "address": "天河路 1 号",
                    "tags": ["lang:en"],
                    "phones": [{"number": "13900139000"}, {"number": "+86 138 0013 8000"}],
                },
            )
        ).json()
        await hotline.place_call("+8613900139000", name="王小明", talk=30)  # the duplicate's number calls
        pop = await next_message(alice_ws, "pop", timeout=20)  # a loaded CI machine routes slowly
        dup_ticket = pop["ticket_id"]

        page = await sup.get(f"/customers/{survivor['id']}")
        assert page.status_code == 200 and 'id="customer-merge"' in page.text
        token = form_token(page.text)
        self_merge = await sup.post(
            f"/customers/{survivor['id']}/merge",
            data={
                "version": str(survivor["version"]),
                "duplicate_id": str(survivor["id"]),
                "csrf_token": token,
            },
        )
        assert self_merge.status_code == 409 and 'id="message"' in self_merge.text
        merged = await sup.post(
            f"/customers/{survivor['id']}/merge",
            data={
                "version": str(survivor["version"]),
                "duplicate_id": str(duplicate["id"]),
                "csrf_token": token,
            },
        )
        assert merged.status_code == 303, merged.text
        assert (await sup.get(f"/api/customers/{duplicate['id']}")).status_code == 404
        after = (await sup.get(f"/api/customers/{survivor['id']}")).json()
        assert sorted(p["e164"] for p in after["phones"]) == ["+8613800138000", "+8613900139000"]
        assert after["address"] == "天河路 1 号" and "lang:en" in after["tags"]
        history = (await sup.get(f"/api/customers/{survivor['id']}/history")).json()
        assert [t["id"] for t in history["tickets"]] == [dup_ticket]
        assert [c["ticket_id"] for c in history["calls"]] == [dup_ticket]
        profile = (await sup.get(f"/customers/{survivor['id']}")).text
        assert (
            f'data-ticket="{dup_ticket}"' in profile
            and 'id="done"' in (await sup.get(f"/customers/{survivor['id']}?done=merged")).text
        )

        auditor = await hotline.sign_in("audit")
        entries = (await auditor.get("/api/audit/entries", params={"limit": 500})).json()
        (entry,) = [e for e in entries if e["action"] == "customer.merge"]
        assert entry["actor"] == "sup" and entry["subject"] == f"customer:{survivor['id']}"
        assert entry["detail"]["tickets"] == [dup_ticket] and entry["detail"]["calls"] == 1
        assert entry["detail"]["dropped_phones"] == ["+8613800138000"]
        # the moved ticket's timeline says so
        timeline = (await sup.get(f"/api/tickets/{dup_ticket}/timeline")).json()
        assert any(e["kind"] == "customer_merged" for e in timeline)

        # an agent edits but may not merge
        agent_page = await alice.get(f"/customers/{survivor['id']}")
        assert 'id="customer-merge"' not in agent_page.text
        refused = await alice.post(
            f"/api/customers/{survivor['id']}/merge",
            json={"duplicate_id": 1, "version": after["version"]},
        )
        assert refused.status_code == 403
        for client in (sup, auditor):
            await client.aclose()


async def test_editing_a_customer_on_the_page_saves_and_a_stale_form_shows_the_conflict(
    database_url: str, tmp_path: Path
) -> None:
    async with running_hotline(database_url, tmp_path) as hotline:
        agent = await hotline.sign_in("1001")
        customer = (
            await agent.post("/api/customers", json={"name": "李雷", "phones": [{"number": "13700137000"}]})
        ).json()
        form = {
            "version": str(customer["version"]),
            "name": "李雷",
            "tier": "vip",
            "phones": "137 0013 7000\n010 6552 9988",
            "address": "海淀区中关村大街 1 号",
        }
        saved = await post_form(
            agent, f"/customers/{customer['id']}", form, page=f"/customers/{customer['id']}"
        )
        assert saved.status_code == 303 and saved.headers["location"].endswith("?done=saved")
        fresh = (await agent.get(f"/api/customers/{customer['id']}")).json()
        assert fresh["tier"] == "vip" and len(fresh["phones"]) == 2
        stale = await post_form(
            agent, f"/customers/{customer['id']}", form, page=f"/customers/{customer['id']}"
        )
        assert stale.status_code == 409 and 'id="message"' in stale.text
        bad = await post_form(
            agent,
            f"/customers/{customer['id']}",
            {**form, "version": str(fresh["version"]), "phones": "12"},
            page=f"/customers/{customer['id']}",
        )
        assert bad.status_code == 422
        listing = await agent.get("/customers", params={"q": "137 0013 7000"})
        assert f'data-customer="{customer["id"]}"' in listing.text
        assert (await agent.get("/customers/999999")).status_code == 404
        tech = await hotline.sign_in("tech")
        assert (await tech.get(f"/customers/{customer['id']}")).status_code == 403
        for client in (agent, tech):
            await client.aclose()


async def test_an_agent_reports_a_ticket_without_a_call_from_the_customer_page(
    database_url: str, tmp_path: Path
) -> None:
    async with running_hotline(database_url, tmp_path) as hotline:
        agent = await hotline.sign_in("1001")
        customer = (await agent.post("/api/customers", json={"name": "王小明"})).json()
        page = f"/customers/{customer['id']}"
        form = (await agent.get(page)).text
        assert 'id="customer-new-ticket"' in form
        assert '<option value="general" selected>' in form  # the center's default category first
        opened = await post_form(
            agent,
            f"{page}/tickets",
            {
                "subject": "<b>门锁坏了</b>",
                "category": "general",
                "priority": "high",
                "description": "来信反映",
            },
            page=page,
        )
        assert opened.status_code == 303, opened.text
        ticket_page = opened.headers["location"]
        assert ticket_page.endswith("?done=created")
        ticket_id = int(ticket_page.split("/")[2].split("?")[0])
        ticket = (await agent.get(f"/api/tickets/{ticket_id}")).json()
        assert (ticket["customer_id"], ticket["state"], ticket["owner_agent_id"]) == (
            customer["id"],
            "reported",
            "1001",
        )
        assert (ticket["priority"], ticket["description"]) == ("high", "来信反映")
        shown = (await agent.get(ticket_page)).text
        assert "工单已新建" in shown and "&lt;b&gt;门锁坏了&lt;/b&gt;" in shown

        empty = await post_form(agent, f"{page}/tickets", {"subject": " ", "category": "general"}, page=page)
        assert empty.status_code == 422 and "请检查以下字段：主题" in empty.text
