"""FastAPI dependencies that hand routes the services built by the composition root."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from fastapi import Depends
from starlette.requests import HTTPConnection

if TYPE_CHECKING:
    from agent_ui.bootstrap import Container


async def get_container(conn: HTTPConnection) -> Container:
    # async: FastAPI runs a plain `def` dependency in a worker thread, a hop that cost
    # more than a ticket read (see docs/BENCHMARKS.md, Tickets).
    container: Container = conn.app.state.container
    return container


ContainerDep = Annotated["Container", Depends(get_container)]
