""" "Late", the one definition (DESIGN §3): an open task is late when at least one plan day
(a working day in working-day mode) has passed since its due date.

Cards, the task page, every dashboard count, the board's and the API's overdue filter and the
exports all ask a `Lateness` for the day they show, in Python (`days_late`, `is_late`) or in
SQL (`condition`); the two agree by construction, and tests/test_lateness.py checks it on
every day of a plan in both day modes.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cached_property

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col

from app.models import Task
from app.services.calendar import PlanCalendar
from app.services.workflow import OPEN_STATUSES, is_open

# Bounded search for the last working day: no real calendar has two months without one.
_CUTOFF_SEARCH_DAYS = 60


@dataclass(frozen=True)
class Lateness:
    """Lateness on the plan-local date `today`."""

    calendar: PlanCalendar
    today: date

    @classmethod
    def now(cls, calendar: PlanCalendar, instant: datetime | None = None) -> "Lateness":
        """Lateness today in the plan's timezone (or on the plan-local date of `instant`)."""
        return cls(calendar=calendar, today=calendar.today(instant))

    @cached_property
    def cutoff(self) -> date:
        """An open task is late when its due date is before this date: the last plan day on
        or before today (a working day in working-day mode; today itself in calendar mode).
        Exactly `days_late(task) > 0`."""
        cutoff = self.today
        for _ in range(_CUTOFF_SEARCH_DAYS):
            if self.calendar.is_working_day(cutoff):
                return cutoff
            cutoff -= timedelta(days=1)
        return cutoff

    def days_late(self, task: Task) -> int:
        """Plan days past the task's due date (0 when not late, done, cancelled or undated)."""
        if task.due_date is None or not is_open(task.status):
            return 0
        return self.calendar.days_late(task.due_date, self.today)

    def is_late(self, task: Task) -> bool:
        return self.days_late(task) > 0

    def condition(self) -> ColumnElement[bool]:
        """The same rule as an SQL condition on `task`."""
        return sa.and_(
            col(Task.status).in_(OPEN_STATUSES),
            col(Task.due_date).is_not(None),
            col(Task.due_date) < self.cutoff,
        )
