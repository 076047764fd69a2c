"""Incidents and ticket merge over REST: supervisors declare and resolve, staff merge; bad input is
a 422 naming the field, a stale version a 409, and the roles are the API's own."""

from __future__ import annotations

from pathlib import Path

from tests.tickets.api_harness import running_api

DECLARE = {
    "category": "power",
    "area": "阳光花园",
    "description_zh": "阳光花园停电",
    "description_en": "a power cut at Sunshine Garden",
    "expected_at": "2026-12-01T18:00:00+08:00",
}


async def test_a_supervisor_declares_and_resolves_an_incident_over_http(
    database_url: str, tmp_path: Path
) -> None:
    async with running_api(database_url, tmp_path) as api:
        sup, agent = await api.client("sup"), await api.client("1001")
        customer = {"name": "赵住户", "address": "阳光花园 5栋", "phones": [{"number": "+8613911112222"}]}
        assert (await agent.post("/api/customers", json=customer)).status_code == 201
        assert (await agent.post("/api/incidents", json=DECLARE)).status_code == 403
        nobody = await sup.post("/api/incidents", json={**DECLARE, "area": ""})
        assert nobody.status_code == 422 and nobody.json()["details"][0]["field"] == "body.customer_tag"
        naive = await sup.post("/api/incidents", json={**DECLARE, "expected_at": "2026-12-01T18:00:00"})
        assert naive.status_code == 422 and naive.json()["details"][0]["field"] == "body.expected_at"
        declared = await sup.post("/api/incidents", json=DECLARE)
        assert declared.status_code == 201, declared.text
        incident = declared.json()
        assert (incident["state"], incident["affected"]) == ("open", 1)
        listed = (await sup.get("/api/incidents", params={"open_only": True})).json()
        assert [i["id"] for i in listed] == [incident["id"]]
        stale = await sup.post(f"/api/incidents/{incident['id']}/resolve", json={"version": 9})
        assert stale.status_code == 409 and stale.json()["error_id"] == "version_conflict"
        done = await sup.post(f"/api/incidents/{incident['id']}/resolve", json={"version": 1, "note": "ok"})
        assert done.status_code == 200 and done.json()["state"] == "resolved"
        again = await sup.post(f"/api/incidents/{incident['id']}/resolve", json={"version": 2})
        assert again.status_code == 409 and again.json()["error_id"] == "invalid_transition"
        assert (await sup.get("/api/incidents/999")).status_code == 404
        assert (await sup.get(f"/api/incidents/{incident['id']}/tickets")).json() == []


async def test_staff_merge_two_tickets_over_http(database_url: str, tmp_path: Path) -> None:
    async with running_api(database_url, tmp_path) as api:
        agent, auditor = await api.client("1001"), await api.client("audit")
        first = (await agent.post("/api/tickets", json={"subject": "漏水"})).json()
        second = (await agent.post("/api/tickets", json={"subject": "渗水"})).json()
        body = {"version": 1, "into": second["id"], "into_version": 1}
        assert (await auditor.post(f"/api/tickets/{first['id']}/merge", json=body)).status_code == 403
        missing = await agent.post(
            f"/api/tickets/{first['id']}/merge", json={"version": 1, "into_version": 1}
        )
        assert missing.status_code == 422 and missing.json()["details"][0]["field"] == "body.into"
        stale = await agent.post(f"/api/tickets/{first['id']}/merge", json={**body, "into_version": 4})
        assert stale.status_code == 409 and stale.json()["error_id"] == "version_conflict"
        merged = await agent.post(f"/api/tickets/{first['id']}/merge", json=body)
        assert merged.status_code == 200 and merged.json()["id"] == second["id"]
        gone = (await agent.get(f"/api/tickets/{first['id']}")).json()
        assert (gone["state"], gone["merged_into_id"]) == ("merged", second["id"])
        nowhere = await agent.post(
            f"/api/tickets/{second['id']}/merge", json={"version": 2, "into": 999, "into_version": 1}
        )
        assert nowhere.status_code == 404
