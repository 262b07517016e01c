"""The plan calendar: which plan day an instant or a date falls on, in the plan's timezone.

Calendar mode counts every day from `start_date` (day 1). Working mode counts Monday–Friday
minus holidays (libur and cuti bersama); a non-working day carries the number of the last
working day before it. Day numbers are computed, never stored.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from app.models import DayMode, Plan
from app.timefmt import format_day_date


@dataclass(frozen=True)
class PlanCalendar:
    start_date: date
    length_days: int
    day_mode: DayMode
    timezone: str
    holidays: frozenset[date] = field(default_factory=frozenset)

    @classmethod
    def of(cls, plan: Plan, holidays: Iterable[date] = ()) -> "PlanCalendar":
        return cls(
            start_date=plan.start_date,
            length_days=plan.length_days,
            day_mode=DayMode(plan.day_mode),
            timezone=plan.timezone,
            holidays=frozenset(holidays),
        )

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def local_date(self, instant: datetime) -> date:
        """The date in the plan's timezone (WIB for Banyuasin) at `instant`."""
        return instant.astimezone(self.tz).date()

    def today(self, now: datetime | None = None) -> date:
        return self.local_date(now or datetime.now(UTC))

    def is_working_day(self, value: date) -> bool:
        if self.day_mode == DayMode.calendar:
            return True
        return value.weekday() < 5 and value not in self.holidays

    def day_number(self, value: date) -> int:
        """Plan day of `value`: 1 on the first day; 0 or negative before it (calendar days)."""
        if value < self.start_date:
            return (value - self.start_date).days
        if self.day_mode == DayMode.calendar:
            return (value - self.start_date).days + 1
        return self._working_days_between(self.start_date, value)

    def date_of_day(self, number: int) -> date:
        """The date on which plan day `number` (≥ 1) falls."""
        if number < 1:
            return self.start_date + timedelta(days=number - 1)
        if self.day_mode == DayMode.calendar:
            return self.start_date + timedelta(days=number - 1)
        current = self.start_date
        count = 1 if self.is_working_day(current) else 0
        while count < number:
            current += timedelta(days=1)
            if self.is_working_day(current):
                count += 1
        return current

    @property
    def end_date(self) -> date:
        return self.date_of_day(self.length_days)

    def contains(self, value: date) -> bool:
        return self.start_date <= value <= self.end_date

    def days_late(self, due: date, today: date) -> int:
        """How many plan days past `due` today is (0 when not late)."""
        if today <= due:
            return 0
        if self.day_mode == DayMode.calendar:
            return (today - due).days
        return self._working_days_between(due + timedelta(days=1), today)

    def day_label(self, value: date) -> str:
        """'H-3' before day 1, 'Hari ke-45 dari 100' during, and after the end
        'Hari ke-112 (rencana berakhir 30 Mei 2025)'."""
        number = self.day_number(value)
        if number < 1:
            return f"H-{(self.start_date - value).days}"
        if value <= self.end_date:
            return f"Hari ke-{number} dari {self.length_days}"
        return f"Hari ke-{number} (rencana berakhir {format_day_date(self.end_date)})"

    def _working_days_between(self, first: date, last: date) -> int:
        """Working days in [first, last], both included."""
        if last < first:
            return 0
        total_days = (last - first).days + 1
        full_weeks, rest = divmod(total_days, 7)
        count = full_weeks * 5
        for offset in range(rest):
            if (first + timedelta(days=full_weeks * 7 + offset)).weekday() < 5:
                count += 1
        count -= sum(1 for h in self.holidays if first <= h <= last and h.weekday() < 5)
        return count
