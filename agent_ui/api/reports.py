"""Reports over HTTP: per queue and per agent over an interval, as JSON or CSV.

`from` and `to` are ISO date-times; without an offset they are local time of
the call center (the router's UTC offsets), which is what a `datetime-local`
field sends. A supervisor sees their queues only.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime, timedelta, timezone
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from agent_ui.api.supervisor import Queues
from agent_ui.deps import Acd, Sessions
from agent_ui.errors import ApiError
from calls.reports import AgentRow, QueueRow, Thresholds, by_agent, by_queue, csv_text, load_calls
from cti.acd import AcdService

router = APIRouter(prefix="/reports", tags=["reports"])

MAX_SPAN = timedelta(days=366)


def parse_moment(raw: str, field: str, utc_offset_s: int) -> datetime:
    try:
        value = datetime.fromisoformat(raw)
    except ValueError as exc:
        raise ApiError(
            422, "invalid_input", f"invalid input: {field}", [{"field": field, "message": "not a date-time"}]
        ) from exc
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone(timedelta(seconds=utc_offset_s)))
    return value.astimezone(UTC)


def interval(acd: AcdService, start: str | None, end: str | None) -> tuple[datetime, datetime]:
    """[start, end) in UTC; defaults: local midnight today until now."""
    now = acd.clock()
    offsets = acd.router.config.utc_offsets
    offset = offsets.at(now)
    begin = (
        parse_moment(start, "from", offset)
        if start
        else datetime.fromtimestamp(offsets.local_midnight(now), tz=UTC)
    )
    finish = parse_moment(end, "to", offset) if end else datetime.fromtimestamp(now + 1, tz=UTC)
    problem = (
        "must be after from" if finish <= begin else "at most 366 days" if finish - begin > MAX_SPAN else None
    )
    if problem is not None:
        raise ApiError(422, "invalid_input", "invalid input: to", [{"field": "to", "message": problem}])
    return begin, finish


async def report(
    sessions: Sessions, acd: AcdService, queues: frozenset[str], begin: datetime, finish: datetime
) -> tuple[list[QueueRow], list[AgentRow]]:
    calls = await load_calls(sessions, begin, finish, queues=queues)
    limits = {q.name: Thresholds(q.service_level_s, q.short_abandon_s) for q in acd.router.config.queues}
    return by_queue(calls, limits), by_agent(calls)


From = Annotated[str | None, Query(alias="from", max_length=40)]
To = Annotated[str | None, Query(alias="to", max_length=40)]


async def _rows(
    sessions: Sessions, acd: Acd, queues: Queues, start: From = None, end: To = None
) -> tuple[list[QueueRow], list[AgentRow]]:
    begin, finish = interval(acd, start, end)
    return await report(sessions, acd, queues, begin, finish)


Rows = Annotated[tuple[list[QueueRow], list[AgentRow]], Depends(_rows)]


@router.get("/queues")
async def queue_report(rows: Rows) -> list[dict[str, Any]]:
    return [asdict(r) for r in rows[0]]


@router.get("/agents")
async def agent_report(rows: Rows) -> list[dict[str, Any]]:
    return [asdict(r) for r in rows[1]]


def _csv(text: str, name: str) -> Response:
    # A BOM so spreadsheet programs read the Chinese queue names as UTF-8.
    return Response(
        "\ufeff" + text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
    )


@router.get("/queues.csv")
async def queue_csv(rows: Rows) -> Response:
    return _csv(csv_text(rows[0]), "hotline-queues.csv")


@router.get("/agents.csv")
async def agent_csv(rows: Rows) -> Response:
    return _csv(csv_text(rows[1]), "hotline-agents.csv")
