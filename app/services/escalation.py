"""The escalation ladder, counted in working days (weekends and holidays pause the clock):

| stuck                          | after (default)          | rung              | told             |
|--------------------------------|--------------------------|-------------------|------------------|
| Terkendala                     | more than 2 working days | blocked_team      | the team         |
| Terkendala                     | more than 5 working days | blocked_executive | the executives   |
| Menunggu Verifikasi            | more than 2 working days | review_team       | the team         |
| directive without a follow-up  | 2 working days           | directive_unit    | the lead unit    |
| directive without a follow-up  | 5 working days           | directive_author  | its author       |

The thresholds are plan settings (the team edits them with the plan).

An episode starts with the event that put the task in its state (the move into Terkendala,
into Menunggu Verifikasi, or the directive itself); each rung fires once per task and episode
(a unique row in `escalation`), as a task event of kind `escalated` that the history shows and
that tells its audience through the outbox (app.services.recipients).
"""

from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from app.models import (
    DayMode,
    Escalation,
    EventKind,
    Holiday,
    Plan,
    Task,
    TaskEvent,
    TaskStatus,
)
from app.services import history
from app.services.calendar import PlanCalendar
from app.services.plans import lock_plan_for_writes

# Kinds added by the directive follow-up work (issue 13); compared by value.
FOLLOW_UP = "follow_up"

CLOSED_STATUSES = (TaskStatus.done, TaskStatus.cancelled)


def working_calendar(session: Session, plan: Plan) -> PlanCalendar:
    """The plan's calendar counted in working days whatever the plan's day mode: the ladder
    and the digest pause on weekends and holidays even in a calendar-day plan."""
    holidays = session.exec(select(col(Holiday.holiday_date))).all()
    calendar = PlanCalendar.of(plan, holidays)
    return PlanCalendar(
        start_date=calendar.start_date,
        length_days=calendar.length_days,
        day_mode=DayMode.working,
        timezone=calendar.timezone,
        holidays=calendar.holidays,
    )


def working_days_since(calendar: PlanCalendar, started: datetime, today: date) -> int:
    """Whole working days that have passed since `started` (its own day not counted)."""
    return calendar.days_late(calendar.local_date(started), today)


@dataclass(frozen=True)
class OpenDirective:
    event: TaskEvent
    task: Task


def open_directives(
    session: Session, *, plan_id: int, unit_id: int | None = None
) -> list[OpenDirective]:
    """Directives on open tasks that no follow-up answers yet, oldest first."""
    query = (
        select(TaskEvent, Task)
        .join(Task, col(Task.id) == TaskEvent.task_id)
        .where(
            TaskEvent.plan_id == plan_id,
            TaskEvent.kind == EventKind.directive,
            col(Task.status).not_in(CLOSED_STATUSES),
        )
        .order_by(col(TaskEvent.id))
    )
    if unit_id is not None:
        query = query.where(Task.lead_unit_id == unit_id)
    rows = session.exec(query).all()
    if not rows:
        return []
    answered = answered_directive_ids(session, task_ids={task.pk for _, task in rows})
    return [OpenDirective(event=e, task=t) for e, t in rows if e.id not in answered]


def answered_directive_ids(session: Session, *, task_ids: set[int]) -> set[int]:
    """Directive event ids that a follow-up event names in `changes.directive_id`."""
    changes = session.exec(
        select(TaskEvent.changes).where(
            sa.cast(TaskEvent.kind, sa.String) == FOLLOW_UP,
            col(TaskEvent.task_id).in_(task_ids),
        )
    ).all()
    found: set[int] = set()
    for change in changes:
        pair = (change or {}).get("directive_id")
        if isinstance(pair, list) and len(pair) == 2 and isinstance(pair[1], int):
            found.add(pair[1])
    return found


def _episode_starts(
    session: Session, *, plan_id: int, status: TaskStatus
) -> list[tuple[Task, TaskEvent]]:
    """Tasks now in `status`, each with the latest event that moved it there."""
    latest = (
        select(sa.func.max(TaskEvent.id).label("event_id"))
        .join(Task, col(Task.id) == TaskEvent.task_id)
        .where(
            Task.plan_id == plan_id,
            Task.status == status,
            TaskEvent.to_status == status,
        )
        .group_by(col(TaskEvent.task_id))
        .subquery()
    )
    rows = session.exec(
        select(Task, TaskEvent)
        .join(TaskEvent, col(TaskEvent.task_id) == Task.id)
        .where(col(TaskEvent.id).in_(select(latest.c.event_id)))
        .order_by(col(Task.id))
    ).all()
    return [(task, event) for task, event in rows]


@dataclass(frozen=True)
class Rung:
    task: Task
    episode: TaskEvent
    rung: str
    days: int
    threshold: int
    note: str
    directive_id: int | None = None


def due_rungs(session: Session, *, plan: Plan, today: date) -> list[Rung]:
    """Every rung whose threshold has passed (fired or not)."""
    calendar = working_calendar(session, plan)
    rungs: list[Rung] = []
    for task, event in _episode_starts(session, plan_id=plan.pk, status=TaskStatus.blocked):
        days = working_days_since(calendar, event.at, today)
        for name, limit, told in (
            ("blocked_team", plan.escalate_blocked_team_days, "Tim Transisi"),
            ("blocked_executive", plan.escalate_blocked_executive_days, "pimpinan"),
        ):
            if days > limit:
                rungs.append(
                    Rung(
                        task,
                        event,
                        name,
                        days,
                        limit,
                        f"Terkendala {days} hari kerja (batas {limit}); diteruskan ke {told}.",
                    )
                )
    for task, event in _episode_starts(session, plan_id=plan.pk, status=TaskStatus.review):
        days = working_days_since(calendar, event.at, today)
        limit = plan.escalate_review_team_days
        if days > limit:
            rungs.append(
                Rung(
                    task,
                    event,
                    "review_team",
                    days,
                    limit,
                    f"Menunggu verifikasi {days} hari kerja (batas {limit}); "
                    "diteruskan ke Tim Transisi.",
                )
            )
    for item in open_directives(session, plan_id=plan.pk):
        days = working_days_since(calendar, item.event.at, today)
        for name, limit, told in (
            ("directive_unit", plan.escalate_directive_unit_days, "penanggung jawab"),
            ("directive_author", plan.escalate_directive_author_days, "pemberi arahan"),
        ):
            if days >= limit:
                rungs.append(
                    Rung(
                        item.task,
                        item.event,
                        name,
                        days,
                        limit,
                        f"Arahan belum ditindaklanjuti {days} hari kerja (batas {limit}); "
                        f"pengingat kepada {told}.",
                        directive_id=item.event.id,
                    )
                )
    return rungs


def escalate(session: Session, *, plan: Plan, now: datetime) -> list[Escalation]:
    """Fire every due rung not yet fired in its episode; the caller commits."""
    lock_plan_for_writes(session, plan.pk)
    calendar = working_calendar(session, plan)
    today = calendar.today(now)
    if not calendar.is_working_day(today):
        # The clock is paused: nothing new can pass a threshold on a day that does not count.
        return []
    rungs = due_rungs(session, plan=plan, today=today)
    if not rungs:
        return []
    fired = {
        (row.task_id, row.rung, row.episode_event_id)
        for row in session.exec(
            select(Escalation).where(col(Escalation.task_id).in_({r.task.id for r in rungs}))
        ).all()
    }
    made: list[Escalation] = []
    for rung in rungs:
        key = (rung.task.pk, rung.rung, rung.episode.pk)
        if key in fired:
            continue
        changes: dict[str, list[object]] = {"escalation": [None, rung.rung]}
        if rung.directive_id is not None:
            changes["escalation_directive_id"] = [None, rung.directive_id]
        # The history shows the rung; its listener (the outbox) tells the rung's audience.
        event = history.record_system_event(
            session,
            rung.task,
            kind=EventKind.escalated,
            changes=changes,
            note=rung.note,
            at=now,
        )
        row = Escalation(
            task_id=rung.task.pk,
            rung=rung.rung,
            episode_event_id=rung.episode.pk,
            event_id=event.id,
            fired_at=now,
        )
        session.add(row)
        fired.add(key)
        made.append(row)
    return made
