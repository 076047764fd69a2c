"""The web app in-process with no PBX and no socket: enough to drive the service desk over HTTP."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from agent_ui.app import create_app
from agent_ui.bootstrap import Container, build
from agent_ui.seed import seed_demo
from config.settings import load_settings
from tests.serve import IN_PROCESS_URL, in_process

PASSWORD = "demo"


@dataclass
class Api:
    container: Container
    transport: httpx.ASGITransport
    clients: contextlib.AsyncExitStack
    base_url: str = IN_PROCESS_URL

    async def client(self, login: str | None = None) -> httpx.AsyncClient:
        """A signed-in client (anonymous without a login), closed when the app stops."""
        client = await self.clients.enter_async_context(
            httpx.AsyncClient(transport=self.transport, base_url=self.base_url, timeout=10)
        )
        if login is None:
            return client
        reply = await client.post("/api/auth/login", json={"login": login, "password": PASSWORD})
        reply.raise_for_status()
        return client


@contextlib.asynccontextmanager
async def running_api(database_url: str, tmp_path: Path) -> AsyncIterator[Api]:
    settings = load_settings(
        database_url=database_url,
        session_secret="desk-api-test-secret-5c1d",
        pbx="none",
        recordings_dir=tmp_path / "recordings",
    )
    container = build(settings)
    await seed_demo(container.sessions, container.callcenter, settings.default_region)
    async with (
        in_process(create_app(settings, container=container)) as transport,
        contextlib.AsyncExitStack() as clients,
    ):
        yield Api(container, transport, clients)
