"""Directives (arahan) as a feature (DESIGN §2 "Directive"): who gave each one, labelled by
their office; whether it is still open or was answered by a follow-up (tindak lanjut), by whom
and when; and the executives' decisions (keputusan) that settle "perlu keputusan".

All of it is task events: a `directive` by an executive (or the team recording one), a
`follow_up` by the lead unit or the team whose `changes` {"directive_id": [None, id]} names
the directive it answers and closes, and a `decision` by an executive whose `changes`
{"needs_decision": [True, False]} clears the flag, the decision in its note.

Reading costs two queries whatever the size (the plan's directives with their authors and
tasks, and the plan's follow-ups with theirs).
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from app.models import EventKind, ExecutivePosition, Plan, Task, TaskEvent, TaskStatus, User
from app.services.calendar import PlanCalendar

DIRECTIVE_LABELS = {
    ExecutivePosition.bupati.value: "Arahan Bupati",
    ExecutivePosition.wakil_bupati.value: "Arahan Wakil Bupati",
    ExecutivePosition.sekretaris_daerah.value: "Arahan Sekretaris Daerah",
}
# The team recording a directive, or an executive whose office is not set.
DEFAULT_LABEL = "Arahan Pimpinan"
SECTION_TITLE = "Arahan Pimpinan"


def directive_label(position: str | None) -> str:
    """'Arahan Bupati', 'Arahan Wakil Bupati', 'Arahan Sekretaris Daerah' or the default."""
    return DIRECTIVE_LABELS.get(position or "", DEFAULT_LABEL)


@dataclass(frozen=True)
class FollowUp:
    event_id: int
    actor_name: str
    at: datetime
    note: str


@dataclass(frozen=True)
class DirectiveView:
    event_id: int
    task_id: int
    task_code: str
    task_title: str
    task_status: TaskStatus
    author_name: str
    label: str
    at: datetime
    note: str
    age_days: int  # days since it was given (open) or until it was answered
    follow_up: FollowUp | None = None

    @property
    def is_open(self) -> bool:
        return self.follow_up is None


@dataclass(frozen=True)
class DirectiveSummary:
    """The plan's directives: open ones oldest first, answered ones newest first."""

    open: list[DirectiveView]
    answered: list[DirectiveView]

    @property
    def open_count(self) -> int:
        return len(self.open)

    @property
    def answered_count(self) -> int:
        return len(self.answered)

    @property
    def oldest_open_days(self) -> int:
        return max((d.age_days for d in self.open), default=0)


def answered_ids(changes: Any) -> int | None:
    """The directive a follow-up's `changes` answer, or None."""
    if not isinstance(changes, dict):
        return None
    pair = changes.get("directive_id")
    if isinstance(pair, list) and len(pair) == 2 and isinstance(pair[1], int):
        return pair[1]
    return None


def _follow_ups(session: Session, conditions: Iterable[Any]) -> dict[int, FollowUp]:
    rows = session.exec(
        select(TaskEvent, User.full_name)
        .join(User, col(User.id) == TaskEvent.actor_id, isouter=True)
        .where(TaskEvent.kind == EventKind.follow_up, *conditions)
        .order_by(col(TaskEvent.id))
    ).all()
    found: dict[int, FollowUp] = {}
    for event, name in rows:
        directive_id = answered_ids(event.changes)
        if directive_id is not None and directive_id not in found:
            found[directive_id] = FollowUp(
                event_id=event.id or 0, actor_name=name or "", at=event.at, note=event.note
            )
    return found


def _views(
    session: Session, conditions: Iterable[Any], *, calendar: PlanCalendar, today: date
) -> list[DirectiveView]:
    conditions = list(conditions)
    author = aliased(User)
    rows = session.execute(
        sa.select(
            TaskEvent,
            col(author.full_name),
            col(author.position),
            col(Task.code),
            col(Task.title),
            col(Task.status),
        )
        .join(Task, col(Task.id) == TaskEvent.task_id)
        .join(author, col(author.id) == TaskEvent.actor_id, isouter=True)
        .where(col(TaskEvent.kind) == EventKind.directive, *conditions)
        .order_by(col(TaskEvent.at), col(TaskEvent.id))
    ).all()
    answers = _follow_ups(session, conditions)
    views = []
    for event, name, position, code, title, status in rows:
        follow_up = answers.get(event.id or 0)
        given = calendar.local_date(event.at)
        until = calendar.local_date(follow_up.at) if follow_up is not None else today
        views.append(
            DirectiveView(
                event_id=event.id or 0,
                task_id=event.task_id,
                task_code=code,
                task_title=title,
                task_status=TaskStatus(status),
                author_name=name or "",
                label=directive_label(position),
                at=event.at,
                note=event.note,
                age_days=max((until - given).days, 0),
                follow_up=follow_up,
            )
        )
    return views


def task_directives(
    session: Session, *, task_id: int, calendar: PlanCalendar, today: date
) -> list[DirectiveView]:
    """One task's directives, oldest first, each with its follow-up if answered."""
    return _views(session, [TaskEvent.task_id == task_id], calendar=calendar, today=today)


def plan_directives(
    session: Session, *, plan: Plan, calendar: PlanCalendar, today: date
) -> DirectiveSummary:
    """The plan's directives on tasks in scope (a cancelled task's directives are moot)."""
    views = [
        v
        for v in _views(session, [TaskEvent.plan_id == plan.id], calendar=calendar, today=today)
        if v.task_status != TaskStatus.cancelled
    ]
    return DirectiveSummary(
        open=[v for v in views if v.is_open],
        answered=sorted(
            (v for v in views if not v.is_open),
            key=lambda v: v.follow_up.at if v.follow_up else v.at,
            reverse=True,
        ),
    )


def open_directive_task_ids(session: Session, *, plan_id: int) -> set[int]:
    """Tasks with at least one directive not yet answered (the cards' badge): two queries."""
    directives = session.exec(
        select(col(TaskEvent.id), col(TaskEvent.task_id)).where(
            TaskEvent.plan_id == plan_id, TaskEvent.kind == EventKind.directive
        )
    ).all()
    if not directives:
        return set()
    answered = {
        answered_ids(changes)
        for changes in session.exec(
            select(col(TaskEvent.changes)).where(
                TaskEvent.plan_id == plan_id, TaskEvent.kind == EventKind.follow_up
            )
        ).all()
    }
    return {task_id for event_id, task_id in directives if event_id not in answered}
