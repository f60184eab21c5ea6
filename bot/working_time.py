"""Working time in a person's own time zone: Monday to Friday, 09:00-17:00 local, minus holidays.

Everything is computed on local dates and local wall-clock times, then converted to UTC at the edge, so a
daylight-saving change never moves or doubles a nudge."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache

from bot.people import zone


@dataclass(frozen=True)
class WorkingHours:
    start: time = time(9, 0)
    end: time = time(17, 0)
    days: frozenset[int] = frozenset({0, 1, 2, 3, 4})  # Monday is 0
    holidays: frozenset[date] = field(default_factory=frozenset)

    def is_working_day(self, day: date) -> bool:
        return day.weekday() in self.days and day not in self.holidays

    def window(self, day: date, tz: str) -> tuple[datetime, datetime]:
        """The working window of a local day, as UTC instants."""
        return _window(self, day, tz)

    def in_window(self, at: datetime, tz: str) -> bool:
        day = at.astimezone(zone(tz)).date()
        if not self.is_working_day(day):
            return False
        opens, closes = self.window(day, tz)
        return opens <= at < closes

    def next_open(self, at: datetime, tz: str) -> datetime:
        """`at` itself when it falls in a working window, else the start of the next one."""
        return _next_open(self, at, tz)

    def working_day_after(self, day: date, n: int) -> date:
        """The n-th working day strictly after `day` (n >= 1)."""
        return _working_day_after(self, day, n)

    def working_day_before(self, day: date) -> date:
        for _ in range(3700):
            day -= timedelta(days=1)
            if self.is_working_day(day):
                return day
        raise ValueError("no working days configured")

    def start_of_working_day_after(self, at: datetime, n: int, tz: str) -> datetime:
        """The opening of the n-th working day after the local day of `at`."""
        return _start_of_working_day_after(self, at, n, tz)

    def working_days_between(self, earlier: datetime, later: datetime, tz: str) -> int:
        """Whole working days from the local day of `earlier` to the local day of `later`."""
        start, end = earlier.astimezone(zone(tz)).date(), later.astimezone(zone(tz)).date()
        days, count = (end - start).days, 0
        for offset in range(1, max(0, days) + 1):
            if self.is_working_day(start + timedelta(days=offset)):
                count += 1
        return count


# A pass asks the same few questions for thousands of actions: remember the answers.
@lru_cache(maxsize=65536)
def _window(hours: WorkingHours, day: date, tz: str) -> tuple[datetime, datetime]:
    local = zone(tz)
    return (
        datetime.combine(day, hours.start, tzinfo=local).astimezone(UTC),
        datetime.combine(day, hours.end, tzinfo=local).astimezone(UTC),
    )


@lru_cache(maxsize=65536)
def _next_open(hours: WorkingHours, at: datetime, tz: str) -> datetime:
    # Asked with the pass's own instant for every step it chooses.
    if hours.in_window(at, tz):
        return at
    day = at.astimezone(zone(tz)).date()
    if hours.is_working_day(day) and at < hours.window(day, tz)[0]:
        return hours.window(day, tz)[0]
    return hours.window(hours.working_day_after(day, 1), tz)[0]


@lru_cache(maxsize=65536)
def _start_of_working_day_after(hours: WorkingHours, at: datetime, n: int, tz: str) -> datetime:
    # Asked with deadlines, which many actions share (the end of the same day in the same zone).
    return hours.window(hours.working_day_after(at.astimezone(zone(tz)).date(), n), tz)[0]


@lru_cache(maxsize=65536)
def _working_day_after(hours: WorkingHours, day: date, n: int) -> date:
    count = 0
    for _ in range(3700):  # ten years of holidays cannot stop this loop
        day += timedelta(days=1)
        if hours.is_working_day(day):
            count += 1
            if count == n:
                return day
    raise ValueError("no working days configured")
