"""Operations: /api/health names each component with a reason (503 when calls cannot go on); /metrics."""

from __future__ import annotations

import contextlib
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from agent_ui.dbprobe import DatabaseProbe
from config.database import create_engine
from tests.harness import next_message, running_hotline
from tests.tickets.api_harness import running_api

COMPONENTS = {"database", "pbx", "scheduler", "bus", "router"}


async def test_health_reports_every_component_with_a_reason_and_503_while_the_pbx_is_away(
    database_url: str, tmp_path: Path
) -> None:
    async with running_hotline(database_url, tmp_path) as hotline:
        client = await hotline.sign_in("1001")
        healthy = await client.get("/api/health")
        async with hotline.pbx_unreachable():
            away = await client.get("/api/health")
        back = await client.get("/api/health")
        await client.aclose()
    body = healthy.json()
    assert healthy.status_code == 200 and body["status"] == "ok"
    assert set(body["components"]) == COMPONENTS
    assert all(c["ok"] and c["reason"] for c in body["components"].values())
    assert body["components"]["pbx"]["counters"]["logins"] >= 1
    assert away.status_code == 503 and away.json()["status"] == "down"
    pbx = away.json()["components"]["pbx"]
    assert not pbx["ok"] and "AMI" in pbx["reason"] and away.json()["components"]["database"]["ok"]
    assert back.status_code == 200


async def test_health_is_503_naming_the_database_when_it_cannot_be_reached(
    database_url: str, tmp_path: Path
) -> None:
    async with running_api(database_url, tmp_path) as api:
        client = await api.client()
        fine = await client.get("/api/health")
        unreachable = create_engine("postgresql+psycopg://postgres@127.0.0.1:1/gone")  # nothing listens
        assert api.container.database_probe is not None  # made by the first probe
        await api.container.database_probe.aclose()
        api.container.database_probe = DatabaseProbe(unreachable)  # an error: down at once, not "slow"
        down = await client.get("/api/health")
        await api.container.database_probe.aclose()
        await unreachable.dispose()
    assert fine.status_code == 200 and fine.json()["components"]["pbx"]["ok"]  # pbx: none is fine
    assert down.status_code == 503 and down.json()["status"] == "down"
    database = down.json()["components"]["database"]
    assert not database["ok"] and "unreachable" in database["reason"]


async def test_metrics_scrape_has_the_bus_the_pbx_link_and_the_queue_figures(
    database_url: str, tmp_path: Path
) -> None:
    async with running_hotline(database_url, tmp_path) as hotline, contextlib.AsyncExitStack() as stack:
        agent, ws, _ = await hotline.console(stack, "1001")
        await hotline.place_call("+8613800138000", talk=30)
        await next_message(ws, "pop")
        scrape = await agent.get("/metrics")
    assert scrape.status_code == 200 and scrape.headers["content-type"].startswith("text/plain")
    families = {f.name: f for f in text_string_to_metric_families(scrape.text)}
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value for f in families.values() for s in f.samples
    }
    assert samples[("hotline_pbx_up", ())] == 1.0
    assert samples[("hotline_bus_events_published_total", ())] > 0
    assert samples[("hotline_pbx_link_total", (("counter", "logins"),))] >= 1
    assert ("hotline_queue_waiting", (("queue", "support"),)) in samples
    assert samples[("hotline_agents", (("state", "logged_out"),))] >= 0
    assert {"hotline_router_ignored_events", "hotline_bus_queue_depth"} <= set(families)
