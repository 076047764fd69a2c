"""FastAPI dependencies: each route declares the one service or view it uses, never the whole container.

    async def wrap_up(call_id: OwnCall, desk: Desk, views: DeskViewsDep, acd: Acd) -> None: ...

Every dependency is an `async def`: FastAPI runs a plain `def` dependency in a
worker thread, a hop that cost more than a ticket read (docs/BENCHMARKS.md,
Tickets). They read the container the app's lifespan built (agent_ui.bootstrap).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from fastapi import Depends
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.requests import HTTPConnection

from agent_ui.accounts import Accounts
from agent_ui.callcontrol import CallControls
from agent_ui.console import ConsoleService
from agent_ui.errors import ApiError
from agent_ui.hub import PushHub
from agent_ui.wallboard import WallboardService
from audit.checkpoint import CheckpointPublisher
from audit.log import AuditLog
from audit.views import AuditViews
from calls.views import CallViews
from config.callcenter import CallCenter
from config.settings import Settings
from cti.acd import AcdService
from recordings.archive import RecordingArchive
from recordings.views import RecordingViews
from recordings.wiring import Recordings
from routing import Router
from tickets.service import ServiceDesk
from tickets.views import DeskViews

if TYPE_CHECKING:
    from agent_ui.bootstrap import Container


def container_of(conn: HTTPConnection) -> Container:
    container: Container = conn.app.state.container
    return container


async def _sessions(conn: HTTPConnection) -> async_sessionmaker[AsyncSession]:
    return container_of(conn).sessions


async def _settings(conn: HTTPConnection) -> Settings:
    return container_of(conn).settings


async def _callcenter(conn: HTTPConnection) -> CallCenter:
    return container_of(conn).callcenter


async def _router(conn: HTTPConnection) -> Router:
    return container_of(conn).router


async def _acd(conn: HTTPConnection) -> AcdService:
    return container_of(conn).acd


async def _desk(conn: HTTPConnection) -> ServiceDesk:
    return container_of(conn).desk


async def _console(conn: HTTPConnection) -> ConsoleService:
    return container_of(conn).console


async def _wallboard(conn: HTTPConnection) -> WallboardService:
    return container_of(conn).wallboard


async def _hub(conn: HTTPConnection) -> PushHub:
    return container_of(conn).hub


async def _controls(conn: HTTPConnection) -> CallControls:
    return CallControls(container_of(conn).link)


def _recordings(conn: HTTPConnection) -> Recordings:
    recordings: Recordings | None = container_of(conn).recordings
    if recordings is None:  # an app assembled without recordings/ (some tests, tools)
        raise ApiError(503, "recordings_not_configured", "recordings are not configured on this server")
    return recordings


async def _archive(conn: HTTPConnection) -> RecordingArchive:
    return _recordings(conn).archive


async def _audit_log(conn: HTTPConnection) -> AuditLog:
    return _recordings(conn).audit


async def _checkpoints(conn: HTTPConnection) -> CheckpointPublisher | None:
    return _recordings(conn).checkpoints


async def _call_views(conn: HTTPConnection) -> CallViews:
    return container_of(conn).views.calls


async def _desk_views(conn: HTTPConnection) -> DeskViews:
    return container_of(conn).views.desk


async def _recording_views(conn: HTTPConnection) -> RecordingViews:
    return container_of(conn).views.recordings


async def _audit_views(conn: HTTPConnection) -> AuditViews:
    return container_of(conn).views.audit


async def _accounts(conn: HTTPConnection) -> Accounts:
    return container_of(conn).accounts


Sessions = Annotated[async_sessionmaker[AsyncSession], Depends(_sessions)]
SettingsDep = Annotated[Settings, Depends(_settings)]
Center = Annotated[CallCenter, Depends(_callcenter)]
RouterDep = Annotated[Router, Depends(_router)]
Acd = Annotated[AcdService, Depends(_acd)]
Desk = Annotated[ServiceDesk, Depends(_desk)]
Console = Annotated[ConsoleService, Depends(_console)]
Wallboard = Annotated[WallboardService, Depends(_wallboard)]
HubDep = Annotated[PushHub, Depends(_hub)]
Controls = Annotated[CallControls, Depends(_controls)]
Archive = Annotated[RecordingArchive, Depends(_archive)]
Audit = Annotated[AuditLog, Depends(_audit_log)]
Checkpoints = Annotated[CheckpointPublisher | None, Depends(_checkpoints)]  # None: no checkpoint key
CallViewsDep = Annotated[CallViews, Depends(_call_views)]
DeskViewsDep = Annotated[DeskViews, Depends(_desk_views)]
RecordingViewsDep = Annotated[RecordingViews, Depends(_recording_views)]
AuditViewsDep = Annotated[AuditViews, Depends(_audit_views)]
AccountsDep = Annotated[Accounts, Depends(_accounts)]
