"""The call center's configuration in the database, changed by admins while Hotline runs.

The YAML call-center file is the import/export format (`hotline config import|export`); what is in
force is the newest row of `center_config` (or, until the first import or admin change, the file
named by HOTLINE_CALLCENTER_FILE). Every change is validated as strictly as the file (the same
`parse_callcenter`, plus the router's and the service desk's checks), then applied to the running
router (`Router.reconfigure` through the ACD: waiting calls keep their place, agents their state),
then stored with an `admin.config_change` audit entry carrying before and after of what changed.
A change the running router refuses (removing a queue that holds calls, an agent who is logged in)
is refused whole: nothing stored, nothing changed.

A version stored by someone else — `hotline config import` in a shell, another web worker — is
followed (`follow_store`, every FOLLOW_S): applied the same way, or, if the running router refuses
it now, logged once and tried again until it can be applied.

What is applied while running: queues (strategy, timers, required skills, hours, overflow),
agents (queues, penalties, skills, wrap-up), supervisors' queues, the service desk's rules and SLA
policies, and with Twilio its IVR, the agents' Twilio identities and the hours it announces. What the
Asterisk link took at start-up needs a restart (RESTART_NEEDED).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import create_engine, desc, inspect, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col
from sqlmodel import select as select_model
from sqlmodel.ext.asyncio.session import AsyncSession

from agent_ui.models import CenterConfig
from agent_ui.trail import AuditTrail
from config.callcenter import CallCenter, CallCenterError, parse_callcenter
from config.database import sync_url
from config.router import router_config
from cti.acd import AcdService
from routing.errors import ConfigError
from tickets.config import desk_config

log = logging.getLogger(__name__)

FOLLOW_S = 5.0  # how often a running Hotline looks for a version stored by someone else

# Taken by the telephony link when it starts: changed in the document, they wait for a restart.
RESTART_NEEDED = (
    "mode (HOTLINE_MODE)",
    "agents' PBX interface (Asterisk)",
    "supervisors' phones",
    "queues' pbx_members (static/dynamic)",
    "new or removed queues on the PBX side (queues.conf, the simulated PBX)",
)


class CenterRefused(Exception):
    """The change is invalid (422) or the running router cannot take it now (409)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def document(center: CallCenter) -> dict[str, Any]:
    """The configuration as the YAML file writes it (defaults included, JSON types)."""
    return center.model_dump(mode="json")


def validate(raw: object, origin: str = "change") -> CallCenter:
    """As strict as loading the file, and the router's and the desk's views must hold too."""
    try:
        center = parse_callcenter(raw, origin=origin)
        router_config(center, "control")
        desk_config(center)
    except CallCenterError as exc:
        raise CenterRefused(422, str(exc)) from None
    return center


@dataclass
class Applied:
    center: CallCenter
    version: int


def stored_center(database_url: str) -> CallCenter | None:
    """The newest stored configuration, read once at start-up (synchronously, before the loop
    serves anything); None when nothing was stored yet (the file is then in force)."""
    found = stored_version(database_url)
    return None if found is None else found.center


def stored_version(database_url: str) -> Applied | None:
    """stored_center with its version (0: none stored)."""
    engine = create_engine(sync_url(database_url))
    try:
        with engine.connect() as conn:
            if not inspect(conn).has_table("center_config"):
                return None
            table = CenterConfig.__table__  # type: ignore[attr-defined]
            row = conn.execute(
                select(table.c.document, table.c.version).order_by(desc(table.c.version)).limit(1)
            ).first()
    except SQLAlchemyError:
        return None
    finally:
        engine.dispose()
    if row is None:
        return None
    return Applied(parse_callcenter(json.loads(row[0]), origin="center_config"), int(row[1]))


class CenterAdmin:
    """Stores, audits and applies configuration changes. `on_applied` refreshes the app's readers
    (the container's `callcenter`, the console's agent list, the wallboard's members)."""

    def __init__(
        self,
        db: async_sessionmaker[AsyncSession],
        trail: AuditTrail,
        acd: AcdService,
        mode: str,
        current: CallCenter,
        on_applied: Callable[[CallCenter], None],
        version: int = 0,
    ) -> None:
        """`version`: the stored version `current` is (0: the file, nothing stored yet)."""
        self._db = db
        self._trail = trail
        self._acd = acd
        self._mode = mode
        self.current = current
        self.version = version
        self._on_applied = on_applied
        self._refused_version = 0  # a followed version the router refused (logged once)

    async def _apply(self, center: CallCenter) -> None:
        """Into the running router; CenterRefused(409) when it cannot take it now."""
        try:
            await self._acd.reconfigure(router_config(center, self._mode))  # type: ignore[arg-type]
        except (CallCenterError, ConfigError) as exc:
            raise CenterRefused(409, str(exc)) from None

    async def follow_store(self) -> int | None:
        """Apply a version newer than the one in force that someone else stored (`hotline config
        import`, another worker). Returns the version applied, None if there was none to apply.
        A version the running router refuses now (a queue to remove still has calls) is logged
        once and tried again at the next call."""
        async with self._db() as session:
            row = (
                await session.exec(
                    select_model(CenterConfig).order_by(desc(col(CenterConfig.version))).limit(1)
                )
            ).first()
        if row is None or row.version is None or row.version <= self.version:
            return None
        try:
            center = validate(json.loads(row.document), origin=f"center_config version {row.version}")
            await self._apply(center)
        except CenterRefused as exc:
            if self._refused_version != row.version:
                self._refused_version = row.version
                log.warning(
                    "configuration version %s not applied yet (retrying): %s", row.version, exc.message
                )
            return None
        self.current, self.version = center, row.version
        self._on_applied(center)
        log.info("configuration version %s (%s, by %s) applied", row.version, row.change, row.saved_by)
        return row.version

    def install(self, scheduler: Any, *, interval_s: float = FOLLOW_S) -> None:
        """Follow the store from an APScheduler 3 AsyncIOScheduler."""
        scheduler.add_job(
            self.follow_store, "interval", seconds=interval_s, id="center-config-follow",
            replace_existing=True, coalesce=True, max_instances=1,
        )  # fmt: skip

    async def save(
        self,
        raw: dict[str, Any],
        *,
        actor: str,
        role: str,
        change: str,
        before: object,
        after: object,
        source_ip: str | None = None,
    ) -> Applied:
        center = validate(raw)
        await self._apply(center)
        async with self._db() as session:
            row = CenterConfig(
                document=json.dumps(document(center), ensure_ascii=False), saved_by=actor, change=change[:200]
            )
            session.add(row)
            await self._trail.append(
                session,
                actor=actor,
                action="admin.config_change",
                subject=f"config:{change}"[:200],
                role=role,
                source_ip=source_ip,
                before=before,
                after=after,
            )
            await session.commit()
            version = row.version or 0
        self.current, self.version = center, max(self.version, version)
        self._on_applied(center)
        return Applied(center, version)
