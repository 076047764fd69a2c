"""Local time and business hours without reading a clock or a tz database.

`now` is a UTC epoch in seconds. The local offset is data: a fixed offset plus
optional transitions (the YAML loader may compute them from zoneinfo at start-up,
e.g. DST changes for the next years), so this module stays pure and fast.
"""

from __future__ import annotations

import bisect
import datetime as _dt
from dataclasses import dataclass, field

DAY_S = 86_400
_EPOCH_ORDINAL = _dt.date(1970, 1, 1).toordinal()


@dataclass(frozen=True, slots=True)
class UtcOffsets:
    """UTC offset in seconds: `base_s`, replaced by each (from_epoch_s, offset_s) once reached.

    `transitions` must be sorted by time. Example: China, no DST: `UtcOffsets(8 * 3600)`.
    """

    base_s: int = 0
    transitions: tuple[tuple[float, int], ...] = ()

    def at(self, now: float) -> int:
        if not self.transitions:
            return self.base_s
        i = bisect.bisect_right(self.transitions, now, key=lambda t: t[0])
        return self.base_s if i == 0 else self.transitions[i - 1][1]

    def local(self, now: float) -> float:
        """Seconds since 1970-01-01 00:00 local time."""
        return now + self.at(now)

    def local_midnight(self, now: float) -> float:
        """The UTC epoch of the last local midnight at or before `now`."""
        offset = self.at(now)
        return (now + offset) // DAY_S * DAY_S - offset


@dataclass(frozen=True, slots=True)
class OpenSpan:
    """Open on `weekday` (0 = Monday) from `start_min` to `end_min` minutes after local midnight."""

    weekday: int
    start_min: int
    end_min: int


@dataclass(frozen=True, slots=True)
class BusinessHours:
    """When a queue takes calls. `holidays` are local dates "YYYY-MM-DD" when it is closed all day.

    `open_spans` empty means open at all hours except on holidays. A span past
    midnight is written as two spans (Mon 22:00-24:00, Tue 00:00-06:00).
    """

    open_spans: tuple[OpenSpan, ...] = ()
    holidays: frozenset[str] = field(default_factory=frozenset)
    utc_offsets: UtcOffsets = field(default_factory=UtcOffsets)

    def is_open(self, now: float) -> bool:
        local = self.utc_offsets.local(now)
        days = int(local // DAY_S)
        if self.holidays and _dt.date.fromordinal(days + _EPOCH_ORDINAL).isoformat() in self.holidays:
            return False
        if not self.open_spans:
            return True
        weekday = (days + 3) % 7  # 1970-01-01 was a Thursday
        minute = (local - days * DAY_S) / 60
        return any(s.weekday == weekday and s.start_min <= minute < s.end_min for s in self.open_spans)
