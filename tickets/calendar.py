"""Business time: adding and measuring durations that count only open hours.

"Accept within 4 business hours" on a Friday 17:00 report means Monday 12:00
(with 09:00-18:00 hours). Holidays close whole local days; make-up workdays
(调休: a Saturday worked instead of a holiday) open them. Pure: no clock reads.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from tickets.config import WEEKDAYS, CalendarSpec, parse_span

_MAX_DAYS = 3700  # a deadline ten years out means the calendar is (nearly) always closed


class CalendarError(ValueError):
    pass


class BusinessCalendar:
    def __init__(self, spec: CalendarSpec) -> None:
        self.zone = ZoneInfo(spec.timezone)
        self._hours = {WEEKDAYS.index(d): [parse_span(s) for s in spans] for d, spans in spec.hours.items()}
        self._holidays = frozenset(spec.holidays)
        self._workdays = frozenset(spec.workdays)
        self._workday_hours = [parse_span(s) for s in spec.workday_hours]
        if not any(self._hours.values()) and not self._workdays:
            raise CalendarError("the business calendar has no open hours")

    def _spans(self, day: date) -> list[tuple[time, time]]:
        if day in self._holidays:
            return []
        if day in self._workdays:
            return self._workday_hours
        return self._hours.get(day.weekday(), [])

    def _open_intervals(self, start: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Open intervals in UTC, in order, from the local day containing `start`."""
        day = start.astimezone(self.zone).date()
        for _ in range(_MAX_DAYS):
            for begin_t, end_t in self._spans(day):
                begin = datetime.combine(day, begin_t, self.zone).astimezone(UTC)
                end_day = day + timedelta(days=1) if end_t == time(0) else day
                end = datetime.combine(end_day, end_t, self.zone).astimezone(UTC)
                yield begin, end
            day += timedelta(days=1)
        raise CalendarError(f"no open business time within {_MAX_DAYS} days of {start.isoformat()}")

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The instant when `duration` of open time has passed since `start`."""
        remaining = duration
        for begin, end in self._open_intervals(start):
            if end <= start:
                continue
            begin = max(begin, start)
            if begin + remaining <= end:
                return begin + remaining
            remaining -= end - begin
        raise AssertionError("unreachable")  # _open_intervals raises first

    def between(self, start: datetime, stop: datetime) -> timedelta:
        """Open time in [start, stop)."""
        total = timedelta(0)
        if stop <= start:
            return total
        for begin, end in self._open_intervals(start):
            if begin >= stop:
                return total
            overlap = min(end, stop) - max(begin, start)
            if overlap > timedelta(0):
                total += overlap
        return total


class AlwaysOpen:
    """24x7: business time is wall-clock time."""

    def add(self, start: datetime, duration: timedelta) -> datetime:
        return start + duration

    def between(self, start: datetime, stop: datetime) -> timedelta:
        return max(stop - start, timedelta(0))


Calendar = BusinessCalendar | AlwaysOpen
