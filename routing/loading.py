"""Plain data (a parsed YAML/JSON mapping) -> router configuration objects.

For the call-center file loader in config/: it can pass each queue's mapping here
instead of knowing the nested types. Every error is a ConfigError naming the field.

    queue_config({"name": "support", "strategy": "longest-idle", "wrapup_s": 5,
                  "skill_widening": [{"after_s": 30, "min_proficiency": 50},
                                     {"after_s": 60, "min_proficiency": 0}],
                  "hours": {"utc_offset_s": 28800,
                            "open": [{"days": ["mon", "tue", "wed", "thu", "fri"],
                                      "from": "09:00", "to": "18:00"}],
                            "holidays": ["2025-10-01"]}})
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from routing.config import QueueConfig, WideningStep
from routing.errors import ConfigError
from routing.hours import BusinessHours, OpenSpan, UtcOffsets

DAYS = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}
_QUEUE_FIELDS = {f.name for f in dataclasses.fields(QueueConfig)}


def queue_config(data: Mapping[str, Any]) -> QueueConfig:
    unknown = set(data) - _QUEUE_FIELDS
    if unknown:
        raise ConfigError(f"queue {data.get('name')!r}: unknown field(s) {sorted(unknown)}")
    values = dict(data)
    if "skill_widening" in values:
        values["skill_widening"] = tuple(_widening_step(s) for s in values["skill_widening"] or ())
    if values.get("hours") is not None and not isinstance(values["hours"], BusinessHours):
        values["hours"] = business_hours(values["hours"])
    try:
        return QueueConfig(**values)
    except TypeError as exc:
        raise ConfigError(f"queue {data.get('name')!r}: {exc}") from exc


def _widening_step(step: Any) -> WideningStep:
    if isinstance(step, WideningStep):
        return step
    if not isinstance(step, Mapping) or "after_s" not in step:
        raise ConfigError(f"skill_widening: each step needs after_s, got {step!r}")
    try:
        return WideningStep(**step)
    except TypeError as exc:
        raise ConfigError(f"skill_widening: {exc}") from exc


def business_hours(data: Mapping[str, Any]) -> BusinessHours:
    """{"utc_offset_s": int, "utc_transitions": [[epoch, offset_s], ...],
    "open": [{"days": [...], "from": "HH:MM", "to": "HH:MM"}], "holidays": ["YYYY-MM-DD"]}.
    "to": "24:00" closes at midnight; days are mon..sun or 0..6."""
    spans = []
    for item in data.get("open", ()):
        start, end = _minutes(item.get("from", "00:00")), _minutes(item.get("to", "24:00"))
        if end <= start:
            raise ConfigError(f"hours: {item!r} must end after it starts (split spans past midnight)")
        for day in item.get("days", list(DAYS)):
            spans.append(OpenSpan(_weekday(day), start, end))
    transitions = tuple((float(t), int(o)) for t, o in data.get("utc_transitions", ()))
    return BusinessHours(
        open_spans=tuple(spans),
        holidays=frozenset(str(d) for d in data.get("holidays", ())),
        utc_offsets=UtcOffsets(int(data.get("utc_offset_s", 0)), tuple(sorted(transitions))),
    )


def _minutes(text: str) -> int:
    try:
        hours, minutes = str(text).split(":")
        value = int(hours) * 60 + int(minutes)
    except ValueError as exc:
        raise ConfigError(f"hours: {text!r} is not HH:MM") from exc
    if not 0 <= value <= 24 * 60:
        raise ConfigError(f"hours: {text!r} is outside 00:00-24:00")
    return value


def _weekday(day: Any) -> int:
    if isinstance(day, int) and 0 <= day <= 6:
        return day
    key = str(day).strip().lower()[:3]
    if key not in DAYS:
        raise ConfigError(f"hours: unknown day {day!r}")
    return DAYS[key]
