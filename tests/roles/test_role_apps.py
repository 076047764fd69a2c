"""What each role's app serves: the router only health, metrics and the PBX's webhooks; web the rest.

Probed over HTTP without the lifespan (no container: nothing is connected); a route that exists
answers a GET to a POST-only path with 405, one that does not with 404."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from agent_ui.app import create_app
from config.settings import load_settings

PG = "postgresql+psycopg://hotline@db.example/hotline"  # never connected: the app is only assembled
TWILIO = {
    "pbx": "twilio", "twilio_account_sid": "AC" + "0" * 32, "twilio_auth_token": "a-real-token",
    "public_base_url": "https://hotline.example",
}  # fmt: skip


def _app(role: str, **overrides: object) -> FastAPI:
    given: dict[str, object] = {"database_url": PG, "redis_url": "redis://127.0.0.1:6379/0", **overrides}
    settings = load_settings(session_secret="s" * 32, ami_secret="a-real-secret", role=role, **given)
    return create_app(settings)


async def _status(app: FastAPI, path: str) -> int:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hotline.test") as client:
        return (await client.get(path)).status_code


def _api_paths(app: FastAPI) -> set[str]:
    return set(app.openapi().get("paths", {}))


async def test_the_router_serves_no_page_no_api_and_no_static_file() -> None:
    router = _app("router")
    assert _api_paths(router) <= {"/api/health"}
    for path in ("/", "/login", "/console", "/api/tickets", "/static/console.js", "/docs"):
        assert await _status(router, path) == 404, path


async def test_the_router_answers_twilio_webhooks_and_web_workers_do_not() -> None:
    assert await _status(_app("router", **TWILIO), "/twilio/voice") == 405  # there, POST only
    assert await _status(_app("web", **TWILIO), "/twilio/voice") == 404


async def test_a_web_worker_serves_the_api_a_single_process_serves() -> None:
    web, one = _app("web"), _app("all", database_url="sqlite+aiosqlite:///:memory:")
    assert _api_paths(web) == _api_paths(one)
    assert len(_api_paths(web)) > 20
    assert await _status(web, "/docs") == 200
