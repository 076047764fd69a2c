"""Business hours as a supervisor writes them in the call-center file, turned into routing's BusinessHours.

    hours:
      timezone: Asia/Shanghai
      open: {mon-fri: "08:30-12:00, 13:00-18:00", sat: "09:00-12:00"}
      holidays: ["2026-10-01", "2026-10-02"]

Days not listed are closed. A span past midnight ("22:00-06:00") is split into
two. routing/ reads no time-zone database, so the zone's UTC offsets (and their
DST changes for the years around start-up) are computed here once, as data.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

from routing.hours import BusinessHours, OpenSpan, UtcOffsets

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SPAN = re.compile(r"^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$")
_YEARS_BACK, _YEARS_AHEAD = 1, 5


class HoursSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    timezone: str = "Asia/Shanghai"
    open: dict[str, str] = Field(default_factory=dict)  # "mon-fri" / "sat" -> "08:00-18:00, ..."
    holidays: list[str] = Field(default_factory=list)  # local dates YYYY-MM-DD, closed all day

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        return known_zone(name)

    @field_validator("open")
    @classmethod
    def _parse_check(cls, days: dict[str, str]) -> dict[str, str]:
        for key, spans in days.items():
            _days_of(key)
            _spans_of(spans)
        return days

    @field_validator("holidays")
    @classmethod
    def _iso_dates(cls, holidays: list[str]) -> list[str]:
        for day in holidays:
            date.fromisoformat(day)
        return holidays

    def business_hours(self, around: datetime | None = None) -> BusinessHours:
        """routing's BusinessHours, with the zone's offsets for the years around `around` (default: now)."""
        spans: list[OpenSpan] = []
        for key, text in self.open.items():
            for weekday in _days_of(key):
                for start, end in _spans_of(text):
                    if end > start:
                        spans.append(OpenSpan(weekday, start, end))
                    else:  # past midnight: the rest of today, the start of tomorrow
                        spans.append(OpenSpan(weekday, start, 24 * 60))
                        spans.append(OpenSpan((weekday + 1) % 7, 0, end))
        if not spans:  # `hours` without open days: always closed (no spans at all would mean always open)
            spans.append(OpenSpan(0, 0, 0))
        return BusinessHours(
            open_spans=tuple(spans),
            holidays=frozenset(self.holidays),
            utc_offsets=utc_offsets(self.timezone, around or datetime.now(UTC)),
        )


def _days_of(key: str) -> list[int]:
    first, _, last = key.strip().lower().partition("-")
    if first not in DAYS or (last and last not in DAYS):
        raise ValueError(f"{key!r}: days are {', '.join(DAYS)} or a range like mon-fri")
    a, b = DAYS.index(first), DAYS.index(last or first)
    return [d % 7 for d in range(a, b + 1 if b >= a else b + 8)]


def _spans_of(text: str) -> list[tuple[int, int]]:
    out = []
    for part in text.split(","):
        match = _SPAN.match(part.strip())
        if match is None:
            raise ValueError(f"{part.strip()!r}: write opening spans as HH:MM-HH:MM")
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        start, end = h1 * 60 + m1, h2 * 60 + m2
        if h1 > 23 or m1 > 59 or m2 > 59 or end > 24 * 60 or start == end:
            raise ValueError(f"{part.strip()!r}: not a span of the day")
        out.append((start, end))
    return out


def utc_offsets(zone: str, around: datetime) -> UtcOffsets:
    """The zone's UTC offset and its changes from a year before `around` to five years after."""
    tz = ZoneInfo(zone)
    start = around.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    start -= timedelta(days=365 * _YEARS_BACK)
    end = around.astimezone(UTC) + timedelta(days=365 * _YEARS_AHEAD)

    def offset(at: datetime) -> int:
        delta = at.astimezone(tz).utcoffset()
        return int(delta.total_seconds()) if delta is not None else 0

    base = offset(start)
    transitions: list[tuple[float, int]] = []
    current, at = base, start
    while at < end:
        nxt = at + timedelta(days=1)
        if offset(nxt) != current:
            lo, hi = at, nxt  # bisect the change to the second
            while hi - lo > timedelta(seconds=1):
                mid = lo + (hi - lo) / 2
                lo, hi = (mid, hi) if offset(mid) == current else (lo, mid)
            current = offset(hi)
            transitions.append((float(round(hi.timestamp())), current))
        at = nxt
    return UtcOffsets(base, tuple(transitions))


def known_zone(name: str) -> str:
    """`name` if it is an IANA time zone this machine knows; ValueError otherwise."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r}") from exc
    return name
