"""The web app on a real port with no PBX: enough to drive the service desk over HTTP."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import uvicorn

from agent_ui.app import create_app
from agent_ui.bootstrap import Container, build
from agent_ui.seed import seed_demo
from config.settings import load_settings

PASSWORD = "demo"


@dataclass
class Api:
    container: Container
    base_url: str
    clients: contextlib.AsyncExitStack

    async def client(self, login: str | None = None) -> httpx.AsyncClient:
        """A signed-in client (anonymous without a login), closed when the app stops."""
        client = await self.clients.enter_async_context(httpx.AsyncClient(base_url=self.base_url, timeout=10))
        if login is None:
            return client
        reply = await client.post("/api/auth/login", json={"login": login, "password": PASSWORD})
        reply.raise_for_status()
        return client


@contextlib.asynccontextmanager
async def running_api(database_url: str, tmp_path: Path) -> AsyncIterator[Api]:
    settings = load_settings(
        database_url=database_url,
        session_secret="desk-api-test-secret-5c1d-0e8b7a6f4d2c19",
        pbx="none",
        recordings_dir=tmp_path / "recordings",
    )
    container = build(settings)
    await seed_demo(container.sessions, container.callcenter, settings.default_region)
    app = create_app(settings, container=container)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    async with asyncio.TaskGroup() as group:
        task = group.create_task(server.serve())
        while not server.started:
            await asyncio.sleep(0.01)
            if task.done():
                task.result()
        port = server.servers[0].sockets[0].getsockname()[1]
        try:
            async with contextlib.AsyncExitStack() as clients:
                yield Api(container, f"http://127.0.0.1:{port}", clients)
        finally:
            server.should_exit = True
