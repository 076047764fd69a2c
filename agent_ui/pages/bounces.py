"""Bounced work orders and who is responsible (#20): the arbitration list and the figures.

    GET  /arbitration                 supervisors: orders bounced too often, with every refusal
    POST /arbitration/{id}            the decision: a technician and a note, final for the order
    GET  /responsibility              per department and technician: received, refused (by
                                      reason), bounced, arbitrated, reopened, first-time-right,
                                      stage times, SLA breaches (`tickets.figures`)
    GET  /responsibility.csv          the same rows, in the reader's language (UTF-8 with a BOM)

Plain forms (CSRF token) answered by a redirect; a stale version or an order decided meanwhile
shows a message and the fresh list. The decision is on the ticket's timeline and the audit log.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from agent_ui.api.desk_common import Desk, actor_of
from agent_ui.api.reports import parse_moment
from agent_ui.deps import Acd, DeskViewsDep
from agent_ui.errors import ApiError
from agent_ui.i18n import Translate, fmt_datetime, fmt_duration, fmt_percent, supported, translator
from agent_ui.pages.common import gate, render, work_order_refusal
from agent_ui.pages.nav import ARBITRATION, RESPONSIBILITY
from config.database import RowId, Version
from cti.acd import AcdService
from tickets.csv_io import escape_cell
from tickets.errors import DeskError
from tickets.figures import STAGES, Responsibility
from tickets.schemas import ArbitrationDecision, TimelineEntry
from tickets.service import ServiceDesk

router = APIRouter(include_in_schema=False)

DEFAULT_SPAN = timedelta(days=30)


def reason_label(desk: ServiceDesk, code: str, lang: str) -> str:
    reason = desk.config.refusal_reason(code)
    return reason.label(lang) if reason else code


async def _arbitration(
    request: Request, desk: Desk, views: DeskViewsDep, acd: Acd, error: str | None = None, status: int = 200
) -> Response:
    user, refusal = await gate(request, ARBITRATION)
    if refusal is not None or user is None:
        return refusal  # type: ignore[return-value]
    lang = supported(user.language)
    offset = acd.router.config.utc_offsets.at(acd.clock())
    departments = {d.id: d.name for d in await desk.work_orders.departments()}
    technicians = [
        {"id": x.id, "name": x.name, "department": departments.get(x.department_id or 0, "")}
        for x in await desk.work_orders.technicians()
    ]
    orders = [
        {
            "o": o,
            "refusals": [
                {
                    "at": fmt_datetime(r.at, lang, offset),
                    "who": " · ".join(x for x in (r.technician, r.department) if x) or r.by,
                    "reason": reason_label(desk, r.reason, lang),
                    "note": r.note,
                }
                for r in o.refusals
            ],
        }
        for o in await views.arbitration_list()
    ]
    return render(
        request,
        "arbitration.html",
        user,
        status_code=status,
        error=error,
        done=request.query_params.get("done", ""),
        orders=orders,
        technicians=technicians,
    )


@router.get("/arbitration", response_class=HTMLResponse)
async def arbitration_page(request: Request, desk: Desk, views: DeskViewsDep, acd: Acd) -> Response:
    return await _arbitration(request, desk, views, acd)


@router.post("/arbitration/{work_order_id}", response_class=HTMLResponse)
async def decide(
    request: Request,
    work_order_id: RowId,
    version: Annotated[Version, Form()],
    desk: Desk,
    views: DeskViewsDep,
    acd: Acd,
    technician_id: Annotated[str, Form(max_length=12)] = "",
    note: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    user, refusal = await gate(request, ARBITRATION)
    if refusal is not None or user is None:
        return refusal  # type: ignore[return-value]
    t = translator(user.language)
    if not technician_id.isdigit() or not note.strip():
        missing = [t("arb.f_technician")] if not technician_id.isdigit() else []
        missing += [t("arb.f_note")] if not note.strip() else []
        return await _arbitration(request, desk, views, acd, t("arb.missing", fields=", ".join(missing)), 422)
    decision = ArbitrationDecision(version=version, technician_id=int(technician_id), note=note.strip())
    try:
        await desk.work_orders.decide(work_order_id, decision, actor_of(user, request))
    except DeskError as exc:
        key, status = work_order_refusal(exc, "arb")
        return await _arbitration(request, desk, views, acd, t(key), status)
    return RedirectResponse("/arbitration?done=decided", status_code=303)


def timeline_summary(entry: TimelineEntry, t: Translate, desk: ServiceDesk, lang: str) -> str | None:
    """The ticket page's line for a refusal, override, arbitration or reopen, in the page's
    language (the journal keeps the English summary); None for every other entry."""
    action, order = entry.data.get("action"), entry.data.get("work_order_id")
    if entry.kind == "work_order" and action == "refused":
        reason = reason_label(desk, str(entry.data.get("reason", "")), lang)
        return t("tl.refused", id=order, reason=reason, note=entry.data.get("refusal_note", ""))
    who = entry.data.get("technician_name", "")
    if entry.kind == "work_order" and action in ("overridden", "reassigned") and who:
        line = t(f"tl.{action}", id=order, who=who)
        return line + (f": {entry.summary}" if entry.summary and entry.summary != "work order" else "")
    if entry.kind == "work_order" and action == "reopened":
        return t("tl.reopened_order", id=order)
    if entry.kind == "arbitration" and action == "opened":
        return t("tl.arbitration_opened", id=order)
    if entry.kind == "arbitration" and action == "decided":
        return t("tl.arbitration_decided", id=order, who=who, note=entry.summary)
    if entry.kind == "follow_up" and entry.data.get("fixed") is not None:
        answer = t("fup.fixed_yes" if entry.data["fixed"] else "fup.fixed_no")
        return f"{t('fup.fixed')} {answer}" + (f" — {entry.summary}" if entry.summary else "")
    return None


# ---------------------------------------------------------------- responsibility figures


def _interval(acd: AcdService, start: str | None, end: str | None) -> tuple[datetime, datetime]:
    """[start, end) in UTC, center time in the form; default: the last 30 days until now."""
    now = acd.clock()
    offset = acd.router.config.utc_offsets.at(now)
    finish = parse_moment(end, "to", offset) if end else datetime.fromtimestamp(now + 1, tz=UTC)
    begin = parse_moment(start, "from", offset) if start else finish - DEFAULT_SPAN
    if finish <= begin:
        raise ApiError(
            422, "invalid_input", "invalid input: to", [{"field": "to", "message": "must be after from"}]
        )
    return begin, finish


def _cells(row: Responsibility, codes: list[str], lang: str) -> dict[str, Any]:
    return {
        "name": row.name,
        "received": row.received,
        "refused": row.refused,
        "by_reason": [row.refused_by_reason.get(c, 0) for c in codes],
        "bounced": row.bounced,
        "arbitrated": row.arbitrated,
        "reopened": row.reopened,
        "completed": row.completed,
        "ftr": fmt_percent(row.first_time_right_rate, lang),
        "stages": [fmt_duration(row.stage_seconds.get(s), lang) for s in STAGES],
        "sla": row.sla_breaches,
    }


def _headers(t: Translate, desk: ServiceDesk, lang: str) -> list[str]:
    return (
        [t("rsp.received"), t("rsp.refused")]
        + [t("rsp.refused_for", reason=r.label(lang)) for r in desk.config.refusal_reasons]
        + [t("rsp.bounced"), t("rsp.arbitrated"), t("rsp.reopened"), t("rsp.completed"), t("rsp.ftr")]
        + [t(f"rsp.stage.{s}") for s in STAGES]
        + [t("rsp.sla")]
    )


async def _figures(
    desk: ServiceDesk, acd: AcdService, lang: str, start: str | None, end: str | None
) -> tuple[Translate, dict[str, Any]]:
    t = translator(lang)
    error = None
    try:
        begin, finish = _interval(acd, start, end)
    except ApiError:
        error = t("rsp.bad_interval")
        begin, finish = _interval(acd, None, None)
    rows = await desk.figures.responsibility(begin, finish)
    codes = [r.code for r in desk.config.refusal_reasons]
    offset = timedelta(seconds=acd.router.config.utc_offsets.at(acd.clock()))
    form = {"start": f"{begin + offset:%Y-%m-%dT%H:%M}", "end": f"{finish + offset:%Y-%m-%dT%H:%M}"}
    return t, {
        "error": error,
        "form": form,
        "query": urlencode({"from": form["start"], "to": form["end"]}),
        "rows": rows,
        "codes": codes,
        "departments": [_cells(r, codes, lang) for r in rows.departments],
        "technicians": [_cells(r, codes, lang) for r in rows.technicians],
    }


@router.get("/responsibility", response_class=HTMLResponse)
async def responsibility_page(
    request: Request,
    desk: Desk,
    acd: Acd,
    start: Annotated[str | None, Query(alias="from", max_length=40)] = None,
    end: Annotated[str | None, Query(alias="to", max_length=40)] = None,
) -> Response:
    user, refusal = await gate(request, RESPONSIBILITY)
    if refusal is not None or user is None:
        return refusal  # type: ignore[return-value]
    lang = supported(user.language)
    t, context = await _figures(desk, acd, lang, start, end)
    return render(
        request,
        "responsibility.html",
        user,
        headers=_headers(t, desk, lang),
        nobody=t("rsp.nobody"),
        **context,
    )


@router.get("/responsibility.csv")
async def responsibility_csv(
    request: Request,
    desk: Desk,
    acd: Acd,
    start: Annotated[str | None, Query(alias="from", max_length=40)] = None,
    end: Annotated[str | None, Query(alias="to", max_length=40)] = None,
) -> Response:
    """One line per department, then per technician; durations as h:mm:ss, the rate in %."""
    user, refusal = await gate(request, RESPONSIBILITY)
    if refusal is not None or user is None:
        return refusal  # type: ignore[return-value]
    lang = supported(user.language)
    _interval(acd, start, end)  # a file cannot say "period not understood" as the page does: 422
    t, context = await _figures(desk, acd, lang, start, end)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([t("rsp.level"), t("rsp.name"), *_headers(t, desk, lang)])
    for level, cells in (("department", context["departments"]), ("technician", context["technicians"])):
        for c in cells:
            writer.writerow(
                [
                    t(f"rsp.level.{level}"),
                    escape_cell(c["name"]) if c["name"] else t("rsp.nobody"),  # names people typed
                    c["received"],
                    c["refused"],
                    *c["by_reason"],
                    c["bounced"],
                    c["arbitrated"],
                    c["reopened"],
                    c["completed"],
                    c["ftr"],
                    *c["stages"],
                    c["sla"],
                ]
            )
    name = f"hotline-responsibility_{context['form']['start'][:10]}_{context['form']['end'][:10]}.csv"
    return Response(
        "\ufeff" + out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
    )
