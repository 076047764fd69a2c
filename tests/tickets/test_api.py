"""The service desk over HTTP: roles, 422 naming the field, 409 on conflicts, the whole path."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.tickets.api_harness import running_api


async def test_a_ticket_goes_report_accept_dispatch_resolve_close_over_http(
    database_url: str, tmp_path: Path
) -> None:
    async with running_api(database_url, tmp_path) as api:
        agent = await api.client("1001")
        sup = await api.client("sup")
        customer = (
            await agent.post(
                "/api/customers",
                json={
                    "name": "王小明",
                    "tier": "vip",
                    "phones": [{"number": "139 1234 5678"}],
                    "tags": ["物业"],
                },
            )
        ).json()
        assert customer["phones"][0]["e164"] == "+8613912345678"
        found = (await agent.get("/api/customers/lookup", params={"phone": "008613912345678"})).json()
        assert [c["id"] for c in found] == [customer["id"]]
        ticket = await agent.post("/api/tickets", json={"subject": "漏水", "customer_id": customer["id"]})
        assert ticket.status_code == 201
        tid = ticket.json()["id"]
        accepted = await agent.post(f"/api/tickets/{tid}/accept", json={"version": 1, "note": "受理"})
        assert accepted.json()["state"] == "accepted" and accepted.json()["owner_agent_id"] == "1001"
        dept = (await sup.post("/api/departments", json={"code": "maint", "name": "维修部"})).json()
        tech = (
            await sup.post("/api/technicians", json={"name": "张师傅", "department_id": dept["id"]})
        ).json()
        order = await agent.post(
            f"/api/tickets/{tid}/work-orders", json={"version": 2, "technician_id": tech["id"]}
        )
        assert order.status_code == 201, order.text
        oid = order.json()["id"]
        assert (await agent.post(f"/api/work-orders/{oid}/arrive", json={"version": 1})).status_code == 200
        done = await agent.post(f"/api/work-orders/{oid}/complete", json={"version": 2, "note": "修好了"})
        assert done.json()["state"] == "completed"
        resolved = (await agent.get(f"/api/tickets/{tid}")).json()
        assert resolved["state"] == "resolved"
        closed = await agent.post(f"/api/tickets/{tid}/close", json={"version": resolved["version"]})
        assert closed.json()["state"] == "closed"
        timeline = (await agent.get(f"/api/tickets/{tid}/timeline")).json()
        assert [e["to_state"] for e in timeline if e["kind"] == "transition"] == [
            "accepted",
            "dispatched",
            "resolved",
            "closed",
        ]
        page = (await agent.get("/api/tickets", params={"q": "漏水", "state": ["closed"]})).json()
        assert page["total"] == 1
        below = (await agent.get("/api/tickets", params={"before_id": tid})).json()
        assert all(t["id"] < tid for t in below["items"]) and below["total"] >= 1


async def test_invalid_input_is_422_naming_the_field(database_url: str, tmp_path: Path) -> None:
    async with running_api(database_url, tmp_path) as api:
        agent = await api.client("1001")
        bad_tier = await agent.post("/api/customers", json={"name": "X", "tier": "gold"})
        assert bad_tier.status_code == 422 and bad_tier.json()["details"][0]["field"] == "body.tier"
        bad_phone = await agent.post(
            "/api/customers", json={"name": "X", "phones": [{"number": "13800138000"}, {"number": "12"}]}
        )
        assert bad_phone.status_code == 422
        assert bad_phone.json()["error_id"] == "invalid_phone_number"
        assert bad_phone.json()["message"].startswith("phones[1].number:")
        no_version = await agent.post("/api/tickets/1/accept", json={})
        assert no_version.status_code == 422 and no_version.json()["details"][0]["field"] == "body.version"
        bad_step = await agent.post("/api/tickets/1/teleport", json={"version": 1})
        assert bad_step.status_code == 404  # each step is a route of its own: there is no 'teleport'
        big = await agent.get(f"/api/tickets/{2**63}")
        assert big.status_code == 422 and big.json()["details"][0]["field"] == "path.ticket_id"
        missing = await agent.get("/api/tickets/999")
        assert missing.status_code == 404 and missing.json()["error_id"] == "not_found"


async def test_two_agents_transitioning_at_once_one_wins_the_other_gets_409(
    database_url: str, tmp_path: Path
) -> None:
    async with running_api(database_url, tmp_path) as api:
        one, two = await api.client("1001"), await api.client("1002")
        for _ in range(3):
            tid = (await one.post("/api/tickets", json={"subject": "race"})).json()["id"]
            replies = await asyncio.gather(
                one.post(f"/api/tickets/{tid}/accept", json={"version": 1}),
                two.post(f"/api/tickets/{tid}/cancel", json={"version": 1}),
            )
            assert sorted(r.status_code for r in replies) == [200, 409]
            loser = next(r for r in replies if r.status_code == 409).json()
            assert loser["error_id"] == "version_conflict"
            assert "now at version 2" in loser["message"]
        illegal = await one.post(f"/api/tickets/{tid}/close", json={"version": 2})
        assert illegal.status_code == 409 and illegal.json()["error_id"] == "invalid_transition"


async def test_roles_are_enforced(database_url: str, tmp_path: Path) -> None:
    async with running_api(database_url, tmp_path) as api:
        anonymous = await api.client()
        assert (await anonymous.get("/api/tickets")).status_code == 401
        agent, auditor, sup = await api.client("1001"), await api.client("audit"), await api.client("sup")
        assert (await agent.post("/api/departments", json={"code": "q", "name": "Q"})).status_code == 403
        assert (await auditor.get("/api/tickets")).status_code == 200  # auditors read
        assert (await auditor.post("/api/tickets", json={"subject": "x"})).status_code == 403
        complaint = (
            await agent.post("/api/tickets", json={"subject": "投诉", "category": "complaint"})
        ).json()
        tid = complaint["id"]
        await agent.post(f"/api/tickets/{tid}/accept", json={"version": 1})
        await agent.post(f"/api/tickets/{tid}/resolve", json={"version": 2})
        refused = await agent.post(f"/api/tickets/{tid}/close", json={"version": 3})
        assert refused.status_code == 403 and refused.json()["error_id"] == "forbidden"
        assert (await sup.post(f"/api/tickets/{tid}/close", json={"version": 3})).status_code == 200


async def test_openapi_documents_the_desk_models(database_url: str, tmp_path: Path) -> None:
    async with running_api(database_url, tmp_path) as api:
        client = await api.client()
        schema = (await client.get("/openapi.json")).json()
    names = set(schema["components"]["schemas"])
    assert {"TicketCreate", "TicketUpdate", "TicketPublic", "CustomerCreate", "WorkOrderCreate"} <= names
    assert all(
        f"/api/tickets/{{ticket_id}}/{step}" in schema["paths"] for step in ("accept", "resolve", "close")
    )


async def test_a_bad_list_query_is_422_naming_the_parameter(database_url: str, tmp_path: Path) -> None:
    async with running_api(database_url, tmp_path) as api:
        agent = await api.client("1001")
        for query, field in (
            ({"limit": "0"}, "query.limit"),
            ({"limit": "x"}, "query.limit"),
            ({"state": ["closed", "teleported"]}, "query.state.1"),
            ({"before_id": "0"}, "query.before_id"),
            ({"flagged": "maybe"}, "query.flagged"),
            ({"q": "x" * 201}, "query.q"),
        ):
            reply = await agent.get("/api/tickets", params=query)
            assert reply.status_code == 422, (query, reply.text)
            body = reply.json()
            assert body["error_id"] == "invalid_input" and [d["field"] for d in body["details"]] == [field]
        ok = await agent.get(
            "/api/tickets", params={"state": ["closed", "reported"], "flagged": "false", "x": "1"}
        )
        assert ok.status_code == 200, ok.text  # repeated states, a lax boolean, an unknown parameter ignored
        anonymous = await api.client()
        assert (await anonymous.get("/api/tickets", params={"limit": "0"})).status_code == 401


async def test_openapi_lists_the_ticket_list_query_parameters(database_url: str, tmp_path: Path) -> None:
    async with running_api(database_url, tmp_path) as api:
        schema = (await (await api.client()).get("/openapi.json")).json()
    operation = schema["paths"]["/api/tickets"]["get"]
    params = {p["name"]: p for p in operation["parameters"]}
    assert list(params) == [
        "q", "state", "category", "assignee", "customer_id",
        "sla_status", "flagged", "limit", "offset", "before_id",
    ]  # fmt: skip
    assert all(p["in"] == "query" and not p["required"] for p in params.values())
    assert params["limit"]["schema"]["maximum"] == 200 and params["limit"]["schema"]["default"] == 50
    assert params["state"]["schema"]["anyOf"][0]["items"] == {"$ref": "#/components/schemas/TicketState"}
    assert "SlaStatus" in schema["components"]["schemas"] and "TicketState" in schema["components"]["schemas"]
    assert "422" in operation["responses"] and "401" in operation["responses"]
