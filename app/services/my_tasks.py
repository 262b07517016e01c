""" "Tugas saya": a unit user's tasks, most urgent first, for the phone home page.

Urgency, in this order: late, rejected (sent back by the team), an open directive (an arahan
with no note after it), blocked, due within `DUE_SOON_DAYS`, then the rest (in progress, not
started, waiting for verification, done). A fixed number of queries whatever the number of
tasks; nothing here writes.
"""

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import IntEnum

import sqlalchemy as sa
from sqlmodel import Session, col, select

from app import permissions
from app.models import (
    BOARD_STATUSES,
    EventKind,
    Plan,
    Task,
    TaskEvent,
    TaskStatus,
    TaskSupportingUnit,
    User,
)
from app.services.calendar import PlanCalendar
from app.services.plans import get_plan, plan_calendar
from app.services.task_reads import evidence_counts

DUE_SOON_DAYS = 7
# Events that answer a directive: a note, and a recorded follow-up where that kind exists.
ANSWER_KINDS = frozenset(
    k for k in EventKind if k in (EventKind.comment,) or k.value == "follow_up"
)
# Statuses in the order "the rest" is listed (work in hand first, finished work last).
_REST_ORDER = {
    TaskStatus.in_progress: 0,
    TaskStatus.todo: 1,
    TaskStatus.blocked: 2,
    TaskStatus.review: 3,
    TaskStatus.done: 4,
}


class Urgency(IntEnum):
    late = 0
    rejected = 1
    directive = 2
    blocked = 3
    due_soon = 4
    rest = 5


URGENCY_LABELS = {
    Urgency.late: "Terlambat",
    Urgency.rejected: "Dikembalikan Tim Transisi",
    Urgency.directive: "Ada arahan pimpinan",
    Urgency.blocked: "Terkendala",
    Urgency.due_soon: "Tenggat sudah dekat",
    Urgency.rest: "",
}


@dataclass
class LastChange:
    at: datetime
    kind: EventKind
    actor_name: str | None


@dataclass
class MyTask:
    task: Task
    urgency: Urgency
    due_day: int | None
    days_late: int
    days_to_due: int | None
    last_change: LastChange | None
    evidence_count: int
    move_targets: list[TaskStatus] = field(default_factory=list)
    can_work: bool = False

    @property
    def urgency_label(self) -> str:
        return URGENCY_LABELS[self.urgency]


@dataclass
class MyTasks:
    plan: Plan
    calendar: PlanCalendar
    today: date
    led: list[MyTask]
    supported: list[MyTask]

    def find(self, task_id: int) -> MyTask | None:
        return next((item for item in self.led if item.task.id == task_id), None)


def _latest_events(session: Session, task_ids: list[int]) -> dict[int, LastChange]:
    """Each task's newest event, with its author's name (one query)."""
    if not task_ids:
        return {}
    newest = (
        select(sa.func.max(TaskEvent.id))
        .where(col(TaskEvent.task_id).in_(task_ids))
        .group_by(col(TaskEvent.task_id))
    )
    rows = session.exec(
        select(TaskEvent.task_id, TaskEvent.at, TaskEvent.kind, User.full_name)
        .join(User, col(User.id) == TaskEvent.actor_id, isouter=True)
        .where(col(TaskEvent.id).in_(newest))
    ).all()
    return {task_id: LastChange(at, EventKind(kind), name) for task_id, at, kind, name in rows}


def _signals(session: Session, task_ids: list[int]) -> tuple[set[int], set[int]]:
    """(rejected, open directive): tasks whose last status change was a rejection, and tasks
    whose newest directive has no note (comment) after it. One query."""
    if not task_ids:
        return set(), set()
    rows = session.exec(
        select(TaskEvent.task_id, TaskEvent.kind, sa.func.max(TaskEvent.id))
        .where(
            col(TaskEvent.task_id).in_(task_ids),
            sa.or_(
                col(TaskEvent.to_status).is_not(None),
                col(TaskEvent.kind).in_([EventKind.directive, *ANSWER_KINDS]),
            ),
        )
        .group_by(col(TaskEvent.task_id), col(TaskEvent.kind))
    ).all()
    newest: dict[int, dict[EventKind, int]] = {}
    for task_id, kind, event_id in rows:
        newest.setdefault(task_id, {})[EventKind(kind)] = event_id or 0
    rejected, directive = set(), set()
    status_kinds = set(EventKind) - {EventKind.directive, *ANSWER_KINDS}
    for task_id, by_kind in newest.items():
        status_ids = {k: v for k, v in by_kind.items() if k in status_kinds}
        if status_ids and max(status_ids, key=lambda k: status_ids[k]) == EventKind.rejected:
            rejected.add(task_id)
        answered = max((by_kind.get(k, 0) for k in ANSWER_KINDS), default=0)
        if by_kind.get(EventKind.directive, 0) > answered:
            directive.add(task_id)
    return rejected, directive


def _urgency(
    task: Task, *, days_late: int, days_to_due: int | None, rejected: bool, directive: bool
) -> Urgency:
    status = TaskStatus(task.status)
    if status == TaskStatus.done:
        return Urgency.rest
    if days_late > 0:
        return Urgency.late
    if rejected and status == TaskStatus.in_progress:
        return Urgency.rejected
    if directive:
        return Urgency.directive
    if status == TaskStatus.blocked:
        return Urgency.blocked
    if days_to_due is not None and days_to_due <= DUE_SOON_DAYS and status != TaskStatus.review:
        return Urgency.due_soon
    return Urgency.rest


def _items(
    session: Session, tasks: list[Task], *, user: User, calendar: PlanCalendar, today: date
) -> list[MyTask]:
    ids = [t.pk for t in tasks]
    latest = _latest_events(session, ids)
    rejected, directive = _signals(session, ids)
    evidence = evidence_counts(session, ids)
    items = []
    for task in tasks:
        task_id = task.pk
        open_task = task.status not in (TaskStatus.done, TaskStatus.cancelled)
        late = calendar.days_late(task.due_date, today) if task.due_date and open_task else 0
        to_due = (task.due_date - today).days if task.due_date and open_task else None
        items.append(
            MyTask(
                task=task,
                urgency=_urgency(
                    task,
                    days_late=late,
                    days_to_due=to_due,
                    rejected=task_id in rejected,
                    directive=task_id in directive,
                ),
                due_day=calendar.day_number(task.due_date) if task.due_date else None,
                days_late=late,
                days_to_due=to_due,
                last_change=latest.get(task_id),
                evidence_count=evidence.get(task_id, 0),
                move_targets=permissions.move_targets(user, task),
                can_work=permissions.can_work_on(user, task),
            )
        )
    far = date.max

    def order(item: MyTask) -> tuple[int, int, int, date, str]:
        status_rank = _REST_ORDER.get(TaskStatus(item.task.status), 9)
        return (
            item.urgency,
            -item.days_late,
            status_rank if item.urgency == Urgency.rest else 0,
            item.task.due_date or far,
            item.task.code,
        )

    return sorted(items, key=order)


def my_tasks(session: Session, *, user: User, plan: Plan) -> MyTasks:
    """The tasks `user`'s unit leads (most urgent first) and those it supports, in `plan`.
    Empty lists for a user without a unit (the page says so)."""
    calendar = plan_calendar(session, plan)
    today = calendar.today()
    if user.unit_id is None:
        return MyTasks(plan, calendar, today, [], [])
    on_board = col(Task.status).in_(BOARD_STATUSES)
    led = list(
        session.exec(
            select(Task).where(Task.plan_id == plan.id, Task.lead_unit_id == user.unit_id, on_board)
        ).all()
    )
    supported = list(
        session.exec(
            select(Task)
            .join(TaskSupportingUnit, col(TaskSupportingUnit.task_id) == Task.id)
            .where(
                Task.plan_id == plan.id,
                TaskSupportingUnit.unit_id == user.unit_id,
                Task.lead_unit_id != user.unit_id,
                on_board,
            )
        ).all()
    )
    items = _items(session, led + supported, user=user, calendar=calendar, today=today)
    led_ids = {t.id for t in led}
    return MyTasks(
        plan=plan,
        calendar=calendar,
        today=today,
        led=[i for i in items if i.task.id in led_ids],
        supported=[i for i in items if i.task.id not in led_ids],
    )


def plan_today(session: Session, *, task: Task) -> date:
    """Today in the task's plan's timezone (for a default photo caption)."""
    return plan_calendar(session, get_plan(session, plan_id=task.plan_id)).today()
