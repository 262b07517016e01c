"""The plan's tasks as the dashboard judges them: one small row per task in scope, and the
RAG figures (`GroupStats`) of any grouping of them — the plan, each program, each unit (tasks
it leads or supports), each district.

Three queries whatever the size (tasks, their program links, their supporting units), read
as plain rows; the grouping is one pass in Python, so every group's figures come from the same
rows and the same rule: the headline, the tables, the attention list and the public page
cannot disagree.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col

from app.models import (
    BOARD_STATUSES,
    Plan,
    Task,
    TaskEvent,
    TaskProgram,
    TaskStatus,
    TaskSupportingUnit,
)
from app.services.burndown import plain_rows
from app.services.calendar import PlanCalendar
from app.services.lateness import Lateness
from app.services.rag import GroupStats

_SINCE_STATUSES = (TaskStatus.blocked.value,)
_STATUS_OF = {status.value: status for status in TaskStatus}


@dataclass(frozen=True)
class TaskFact:
    """A task in scope, with what the rule needs of it today."""

    id: int
    status: TaskStatus
    due_date: date | None
    weight: int
    needs_decision: bool
    lead_unit_id: int
    district_id: int | None
    status_since: date | None  # blocked or in review: the local date it entered that status
    days_late: int  # plan days past its due date when late, else 0
    status_days: int  # days in its current status (blocked or review), else 0
    programs: tuple[int, ...] = ()
    units: tuple[int, ...] = ()  # lead unit first, then supporting units

    @property
    def is_open(self) -> bool:
        return self.status != TaskStatus.done

    @property
    def is_late(self) -> bool:
        return self.days_late > 0

    @property
    def is_blocked(self) -> bool:
        return self.status == TaskStatus.blocked

    @property
    def is_waiting_review(self) -> bool:
        return self.status == TaskStatus.review


# GroupStats' fields, in the order of Facts._row's figures: the sums, then the longest waits.
_STATS_FIELDS = tuple(f.name for f in fields(GroupStats))


@dataclass
class _Tally:
    """One group's task rows (the figures of `Facts._row`, then days late and days blocked),
    summed column by column at the end: appending is all the per-task work, and the sums run
    in C, which matters when every task is counted in five or six groups."""

    rows: list[tuple[int, ...]] = field(default_factory=list)

    def add(self, row: tuple[int, ...]) -> None:
        self.rows.append(row)

    def stats(self) -> GroupStats:
        if not self.rows:
            return GroupStats()
        columns = list(zip(*self.rows, strict=True))
        *sums, days_late, blocked_days = columns
        values = [*(sum(column) for column in sums), max(0, *days_late), max(0, *blocked_days)]
        return GroupStats(**dict(zip(_STATS_FIELDS, values, strict=True)))


@dataclass(frozen=True)
class Facts:
    """The tasks in scope and the day they are judged on."""

    today: date
    cutoff: date
    end_date: date
    tasks: list[TaskFact]

    def _row(self, t: TaskFact) -> tuple[int, ...]:
        done = t.status == TaskStatus.done
        delivered = done or t.status == TaskStatus.review
        due_by = t.due_date or self.end_date
        planned = due_by <= self.today
        due = due_by < self.cutoff
        open_task = not done
        exception = open_task and (t.is_blocked or t.is_late or t.needs_decision)
        return (
            1,
            int(done),
            t.weight,
            t.weight if done else 0,
            int(planned),
            t.weight if planned else 0,
            int(due),
            int(due and delivered),
            int(delivered),
            int(t.is_late),
            int(t.is_blocked),
            int(t.is_waiting_review),
            int(open_task and t.needs_decision),
            int(exception),
            t.days_late,
            t.status_days if t.is_blocked else 0,
        )

    def stats(self, tasks: Iterable[TaskFact] | None = None) -> GroupStats:
        tally = _Tally()
        for t in self.tasks if tasks is None else tasks:
            tally.add(self._row(t))
        return tally.stats()

    def grouped(self) -> "GroupedStats":
        """Every grouping in one pass: per program, per unit (lead or supporting), per
        district, and the whole plan."""
        plan = _Tally()
        programs: dict[int, _Tally] = defaultdict(_Tally)
        units: dict[int, _Tally] = defaultdict(_Tally)
        districts: dict[int, _Tally] = defaultdict(_Tally)
        for t in self.tasks:
            row = self._row(t)
            plan.add(row)
            for pid in t.programs:
                programs[pid].add(row)
            for uid in t.units:
                units[uid].add(row)
            if t.district_id is not None:
                districts[t.district_id].add(row)
        return GroupedStats(
            plan=plan.stats(),
            programs={k: v.stats() for k, v in programs.items()},
            units={k: v.stats() for k, v in units.items()},
            districts={k: v.stats() for k, v in districts.items()},
        )


@dataclass(frozen=True)
class GroupedStats:
    plan: GroupStats
    programs: dict[int, GroupStats]
    units: dict[int, GroupStats]
    districts: dict[int, GroupStats]


def _status_since() -> Any:
    """When a blocked task entered that status: its latest event that moved it there (one
    index seek per blocked task). A task in review carries the date itself."""
    events = TaskEvent.__table__
    latest = (
        sa.select(sa.type_coerce(sa.func.max(events.c.at), sa.String()))
        .where(events.c.task_id == Task.id, events.c.to_status == Task.status)
        .correlate(Task)
        .scalar_subquery()
    )
    return sa.case((col(Task.status).in_(_SINCE_STATUSES), latest), else_=None)


def _as_date(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _local_date(calendar: PlanCalendar, value: Any) -> date | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return calendar.local_date(value) if isinstance(value, datetime) else None


def load_facts(session: Session, *, plan: Plan, lateness: Lateness) -> Facts:
    """The plan's tasks in scope (not cancelled) with their links: three queries. Late is
    `lateness`'s rule (the one definition)."""
    calendar, today = lateness.calendar, lateness.today
    in_scope = [col(Task.plan_id) == plan.id, col(Task.status).in_(BOARD_STATUSES)]
    tasks = Task.__table__
    rows = plain_rows(
        session,
        sa.select(
            tasks.c.id,
            tasks.c.status,
            tasks.c.due_date,
            tasks.c.weight,
            tasks.c.needs_decision,
            tasks.c.lead_unit_id,
            tasks.c.district_id,
            tasks.c.review_since_date,
            _status_since(),
        ).where(*in_scope),
    )
    links = TaskProgram.__table__
    program_rows = plain_rows(
        session,
        sa.select(links.c.task_id, links.c.program_id)
        .select_from(links.join(tasks, tasks.c.id == links.c.task_id))
        .where(tasks.c.plan_id == plan.id, tasks.c.status.in_([s.value for s in BOARD_STATUSES])),
    )
    support = TaskSupportingUnit.__table__
    support_rows = plain_rows(
        session,
        sa.select(support.c.task_id, support.c.unit_id)
        .select_from(support.join(tasks, tasks.c.id == support.c.task_id))
        .where(tasks.c.plan_id == plan.id, tasks.c.status.in_([s.value for s in BOARD_STATUSES])),
    )
    programs: dict[int, list[int]] = defaultdict(list)
    for task_id, program_id in program_rows:
        programs[task_id].append(program_id)
    supporting: dict[int, list[int]] = defaultdict(list)
    for task_id, unit_id in support_rows:
        supporting[task_id].append(unit_id)
    facts = []
    for task_id, status, due, weight, needs_decision, lead, district, review, since_at in rows:
        status = _STATUS_OF[status]  # a dict lookup: TaskStatus(value) costs ~1 µs a row
        due = _as_date(due)
        review_since = _as_date(review)
        since = review_since if status == TaskStatus.review else _local_date(calendar, since_at)
        units = (lead, *(u for u in supporting.get(task_id, ()) if u != lead))
        facts.append(
            TaskFact(
                id=task_id,
                status=status,
                due_date=due,
                weight=weight,
                needs_decision=bool(needs_decision),
                lead_unit_id=lead,
                district_id=district,
                status_since=since,
                days_late=lateness.days_late_of(
                    status=status, due_date=due, review_since_date=review_since
                ),
                status_days=max((today - since).days, 0) if since is not None else 0,
                programs=tuple(programs.get(task_id, ())),
                units=units,
            )
        )
    return Facts(today=today, cutoff=lateness.cutoff, end_date=calendar.end_date, tasks=facts)
