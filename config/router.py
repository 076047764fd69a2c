"""The router's configuration from the call-center file: queues, agents, business hours, time zone.

The call-center file (config.callcenter) is what people edit; `routing` takes a
validated `RouterConfig` and knows nothing of files. This is the one
translation between them, checked at start-up (and by `hotline check`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from config.callcenter import CallCenter, CallCenterError
from config.hours import utc_offsets
from routing.config import AgentConfig, Mode, RouterConfig
from routing.errors import ConfigError
from routing.loading import queue_config


def router_config(center: CallCenter, mode: Mode, now: datetime | None = None) -> RouterConfig:
    """The router's configuration from the call-center file. Raises CallCenterError naming the queue."""
    around = now or datetime.now(UTC)
    queues = []
    for q in center.queues:
        data: dict[str, Any] = {
            "name": q.name,
            "strategy": q.strategy,
            "ring_timeout_s": q.ring_timeout_s,
            "wrapup_s": q.wrapup_s,
            "wrapup_ends": q.wrapup_ends,
            "required_skills": dict(q.required_skills),
            **q.routing,
        }
        if q.hours is not None:
            data["hours"] = q.hours.business_hours(around)
        try:
            queues.append(queue_config(data))
        except ConfigError as exc:
            raise CallCenterError(f"queues[{q.name}]: {exc}") from exc
    agents = [
        AgentConfig(id=a.id, name=a.name, queues=a.queues, skills=a.skills, wrapup_s=a.wrapup_s)
        for a in center.agents
    ]
    try:
        return RouterConfig(
            mode=mode,
            queues=queues,
            agents=agents,
            utc_offsets=utc_offsets(center.timezone, around),
            kpi_window_s=center.kpi_window_min * 60.0,
            choice_skills=choice_skills(center),
        )
    except ConfigError as exc:
        raise CallCenterError(str(exc)) from exc


def choice_skills(center: CallCenter) -> dict[str, dict[str, int]]:
    """IVR choice -> the skills its calls need. Two menu entries reported as one choice need
    the higher minimum of each skill."""
    out: dict[str, dict[str, int]] = {}
    for option in center.ivr.options:
        if option.skills:
            needs = out.setdefault(option.choice_name, {})
            for skill, level in option.skills.items():
                needs[skill] = max(needs.get(skill, 0), level)
    return out
