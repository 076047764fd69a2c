"""The reports page: queue and agent figures over an interval, with their definitions."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from agent_ui.api.reports import interval, report
from agent_ui.deps import Acd, Center, Sessions
from agent_ui.errors import ApiError
from agent_ui.i18n import fmt_duration, fmt_number, fmt_percent, supported, translator
from agent_ui.pages.common import gate, queue_title, render
from agent_ui.pages.nav import REPORTS
from calls.reports import DEFINITIONS

router = APIRouter(include_in_schema=False)


@router.get("/reports", response_class=HTMLResponse)
async def reports_page(
    request: Request,
    center: Center,
    sessions: Sessions,
    acd: Acd,
    start: Annotated[str | None, Query(alias="from", max_length=40)] = None,
    end: Annotated[str | None, Query(alias="to", max_length=40)] = None,
) -> Response:
    user, refusal = await gate(request, REPORTS)
    if refusal is not None or user is None:
        return refusal  # type: ignore[return-value]
    lang = supported(user.language)
    t = translator(lang)
    queues = center.supervised_queues(user.login)
    error = None
    try:
        begin, finish = interval(acd, start, end)
    except ApiError:
        error = t("rep.bad_interval")
        begin, finish = interval(acd, None, None)
    queue_rows, agent_rows = await report(sessions, acd, queues, begin, finish)
    offset = timedelta(seconds=acd.router.config.utc_offsets.at(acd.clock()))
    form = {"start": f"{begin + offset:%Y-%m-%dT%H:%M}", "end": f"{finish + offset:%Y-%m-%dT%H:%M}"}
    titles = {q.name: queue_title(q, lang) for q in center.queues}
    names = {a.id: a.name for a in center.agents}
    first = acd.router.config.queues[0]
    return render(
        request,
        "reports.html",
        user,
        error=error,
        form=form,
        query=urlencode({"from": form["start"], "to": form["end"]}),
        definitions=DEFINITIONS,
        sl_text=fmt_number(first.service_level_s, lang),
        short_text=fmt_number(first.short_abandon_s, lang),
        queues=[
            {
                "title": titles.get(r.queue, r.queue),
                "offered": fmt_number(r.offered, lang),
                "answered": fmt_number(r.answered, lang),
                "abandoned": fmt_number(r.abandoned, lang),
                "service_level": fmt_percent(r.service_level, lang),
                "service_level_asterisk": fmt_percent(r.service_level_asterisk, lang),
                "service_level_asterisk_sl2": fmt_percent(r.service_level_asterisk_sl2, lang),
                "asa": fmt_duration(r.asa_s, lang),
                "aht": fmt_duration(r.aht_s, lang),
                "abandon_rate": fmt_percent(r.abandon_rate, lang),
                "longest_wait": fmt_duration(r.longest_wait_s, lang),
            }
            for r in queue_rows
        ],
        agents=[
            {
                "name": f"{names.get(r.agent_id, r.agent_id)} ({r.agent_id})",
                "answered": fmt_number(r.answered, lang),
                "talk": fmt_duration(r.talk_s, lang),
                "hold": fmt_duration(r.hold_s, lang),
                "wrap": fmt_duration(r.wrap_s, lang),
                "aht": fmt_duration(r.aht_s, lang),
                "asa": fmt_duration(r.asa_s, lang),
            }
            for r in agent_rows
        ],
    )
