"""Reports over HTTP: per queue and per agent over an interval, as JSON or CSV.

`from` and `to` are ISO date-times; without an offset they are local time of
the call center (the router's UTC offsets), which is what a `datetime-local`
field sends. A supervisor sees their queues only.

A CSV says what it covers: its file name carries the period (center time), and
every row starts with the period, then the queue's title or the agent's name
beside the id, so a row pasted into another sheet is still readable.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime, timedelta, timezone
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from agent_ui.api.supervisor import Queues
from agent_ui.auth import SupervisorUser
from agent_ui.deps import Acd, Center, Sessions
from agent_ui.errors import ApiError
from agent_ui.i18n import supported
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


_MOMENT = {"format": "date-time", "description": "ISO 8601; without an offset: the center's local time"}
From = Annotated[str | None, Query(alias="from", min_length=1, max_length=40, json_schema_extra=_MOMENT)]
To = Annotated[str | None, Query(alias="to", min_length=1, max_length=40, json_schema_extra=_MOMENT)]
_CSV: dict[int | str, dict[str, Any]] = {
    200: {"description": "CSV, UTF-8 with a BOM", "content": {"text/csv": {"schema": {"type": "string"}}}}
}


async def _period(acd: Acd, start: From = None, end: To = None) -> tuple[datetime, datetime]:
    return interval(acd, start, end)


Period = Annotated[tuple[datetime, datetime], Depends(_period)]


async def _rows(
    sessions: Sessions, acd: Acd, queues: Queues, period: Period
) -> tuple[list[QueueRow], list[AgentRow]]:
    return await report(sessions, acd, queues, *period)


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


def _local(moment: datetime, acd: AcdService) -> datetime:
    offset = acd.router.config.utc_offsets.at(moment.timestamp())
    return moment.astimezone(timezone(timedelta(seconds=offset)))


def _period_columns(period: tuple[datetime, datetime], acd: AcdService) -> list[tuple[str, Any]]:
    start, end = (_local(m, acd).isoformat(timespec="minutes") for m in period)
    return [("from", lambda _row: start), ("to", lambda _row: end)]


def _file_name(kind: str, period: tuple[datetime, datetime], acd: AcdService) -> str:
    start, end = (_local(m, acd).strftime("%Y%m%dT%H%M") for m in period)
    return f"hotline-{kind}_{start}-{end}.csv"


@router.get("/queues.csv", response_class=Response, responses=_CSV)
async def queue_csv(rows: Rows, period: Period, acd: Acd, center: Center, user: SupervisorUser) -> Response:
    """Per queue: from, to (center time), the queue's title in the reader's language, its id, the figures."""
    language = supported(user.language)
    specs = {q.name: q for q in center.queues}

    def title(row: QueueRow) -> str:
        spec = specs.get(row.queue)
        if spec is None:
            return row.queue
        chinese = language == "zh-CN" and spec.title_zh
        return (spec.title_zh if chinese else spec.title_en) or row.queue

    columns = [*_period_columns(period, acd), ("queue_title", title)]
    return _csv(csv_text(rows[0], before=columns), _file_name("queues", period, acd))


@router.get("/agents.csv", response_class=Response, responses=_CSV)
async def agent_csv(rows: Rows, period: Period, acd: Acd, center: Center) -> Response:
    """Per agent: from, to (center time), the agent's name, their id, the figures."""
    names = {a.id: a.name for a in center.agents}
    columns = [*_period_columns(period, acd), ("agent_name", lambda r: names.get(r.agent_id, ""))]
    return _csv(csv_text(rows[1], before=columns), _file_name("agents", period, acd))
