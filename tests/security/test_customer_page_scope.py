"""The customer page lists the tickets of the customer the viewer may see by the same scope as
the API (`agent_ui.api.desk_common.viewer_of`: the agent's queues from the call-center file),
not a scope of its own: in `service_desk.access: queue` an agent sees their queues' tickets
there, and never another queue's.

Sample center: agent 1002 works support only.
"""

from __future__ import annotations

from pathlib import Path

from tests.tickets.api_harness import running_api
from tickets.access import DeskAccess


async def test_the_customer_page_shows_the_tickets_the_api_shows_in_queue_scope(
    database_url: str, tmp_path: Path
) -> None:
    async with running_api(database_url, tmp_path) as api:
        ctx = api.container.desk.ctx
        ctx.config = ctx.config.model_copy(update={"access": DeskAccess.QUEUE})
        sup, bob = await api.client("sup"), await api.client("1002")
        customer = (await sup.post("/api/customers", json={"name": "Scope Customer"})).json()
        subjects = {"support": "support-ticket-7f3a", "billing": "billing-ticket-9c1d"}
        for queue, subject in subjects.items():
            made = await sup.post(
                "/api/tickets", json={"subject": subject, "queue": queue, "customer_id": customer["id"]}
            )
            assert made.status_code == 201, made.text
        history = (await bob.get(f"/api/customers/{customer['id']}/history")).json()
        assert [t["subject"] for t in history["tickets"]] == [subjects["support"]]
        page = await bob.get(f"/customers/{customer['id']}")
        assert page.status_code == 200
        assert subjects["support"] in page.text
        assert subjects["billing"] not in page.text
