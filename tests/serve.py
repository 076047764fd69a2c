"""The one way tests run the web app: real uvicorn on 127.0.0.1, or in-process with no socket.

* `serving(app)`: uvicorn on an ephemeral loopback port in this event loop,
  yielding the base URL. For what needs a real socket: websockets, a browser,
  another process or server calling back.
* `in_process(app)`: the app's lifespan (the container's tasks run), then an
  `httpx.ASGITransport` to it. For REST-only tests: no port, no socket, the
  same middleware, routes and error handlers. As under uvicorn, the lifespan
  runs in a task of its own and so does each request: httpx's transport runs
  the app inside the caller's task, and a lifespan entered in the test's own
  task (whose TaskGroup then takes the test task for its parent) hung the
  shutdown after a request had written to the database.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import httpx
import uvicorn
from fastapi import FastAPI
from starlette.types import ASGIApp

IN_PROCESS_URL = "http://testserver"


@contextlib.asynccontextmanager
async def serving(app: ASGIApp) -> AsyncIterator[str]:
    """uvicorn on 127.0.0.1:<ephemeral>; yields "http://127.0.0.1:<port>" once it accepts connections."""
    # websockets-sansio: the legacy websockets implementation warns (an error under filterwarnings).
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", ws="websockets-sansio")
    server = uvicorn.Server(config)
    async with asyncio.TaskGroup() as group:
        task = group.create_task(server.serve())
        while not server.started:
            if task.done():
                task.result()  # the reason it could not start
                raise RuntimeError("uvicorn stopped before it started")
            await asyncio.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            server.should_exit = True


class TaskPerRequest(httpx.ASGITransport):
    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await asyncio.create_task(super().handle_async_request(request))


@contextlib.asynccontextmanager
async def in_process(app: FastAPI) -> AsyncIterator[httpx.ASGITransport]:
    """Run the app's lifespan and yield a transport to it (clients: `base_url=IN_PROCESS_URL`)."""
    started, stop = asyncio.Event(), asyncio.Event()

    async def lifespan() -> None:
        async with app.router.lifespan_context(app):
            started.set()
            await stop.wait()

    async with asyncio.TaskGroup() as group:
        task = group.create_task(lifespan(), name="lifespan")
        waiting = group.create_task(started.wait())
        await asyncio.wait({task, waiting}, return_when=asyncio.FIRST_COMPLETED)
        if not started.is_set():
            waiting.cancel()
            task.result()  # the reason the app could not start
            raise RuntimeError("the app's lifespan ended before it started")
        try:
            yield TaskPerRequest(app=app)
        finally:
            stop.set()
