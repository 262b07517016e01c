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

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from app import permissions
from app.db import core_reader, retry_write
from app.errors import Forbidden, NotFound, RuleViolation
from app.models import (
    ID_MAX,
    NOTE_MAX,
    EventKind,
    ExecutivePosition,
    Plan,
    Role,
    Task,
    TaskEvent,
    TaskStatus,
    User,
)
from app.services import history
from app.services.calendar import PlanCalendar
from app.services.plans import get_plan, plan_calendar
from app.services.task_reads import get_task

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


def _follow_ups(rows: Iterable[Any]) -> dict[int, FollowUp]:
    """Each directive's answer: the first follow-up (by id) naming it (rows of
    `_directive_rows`)."""
    found: dict[int, FollowUp] = {}
    for row in sorted(rows, key=lambda row: row.id):
        directive_id = answered_ids(row.changes)
        if directive_id is not None and directive_id not in found:
            found[directive_id] = FollowUp(
                event_id=row.id, actor_name=row.full_name or "", at=row.at, note=row.note
            )
    return found


_DirectiveRow = tuple[int, int, EventKind, datetime, str, Any, str, str, str, str, TaskStatus]


def _directive_rows(condition: Any) -> sa.Select[*_DirectiveRow]:
    """Directives and follow-ups with their author and task, under `condition`: one query,
    from the index on (plan_id, kind) for a plan's. Columns, not the ORM's events (the
    dashboard reads the plan's on every build); their names tell them apart."""
    author = aliased(User)
    return (
        sa.select(
            col(TaskEvent.id),
            col(TaskEvent.task_id),
            col(TaskEvent.kind),
            col(TaskEvent.at),
            col(TaskEvent.note),
            col(TaskEvent.changes),
            col(author.full_name),
            col(author.position),
            col(Task.code),
            col(Task.title),
            col(Task.status),
        )
        .join(Task, col(Task.id) == TaskEvent.task_id)
        .join(author, col(author.id) == TaskEvent.actor_id, isouter=True)
        .where(col(TaskEvent.kind).in_([EventKind.directive, EventKind.follow_up]), condition)
        .order_by(col(TaskEvent.at), col(TaskEvent.id))
    )


# Built once (every dashboard build reads the plan's: building it cost more than the read).
_OF_PLAN = _directive_rows(col(TaskEvent.plan_id) == sa.bindparam("plan_id"))
_OF_TASK = _directive_rows(col(TaskEvent.task_id) == sa.bindparam("task_id"))


def _views(
    session: Session,
    query: sa.Select[*_DirectiveRow],
    params: dict[str, int],
    *,
    calendar: PlanCalendar,
    today: date,
) -> list[DirectiveView]:
    found = core_reader(session).execute(query, params).all()
    answers = _follow_ups(row for row in found if row.kind == EventKind.follow_up)
    views = []
    for row in found:
        if row.kind != EventKind.directive:
            continue
        follow_up = answers.get(row.id)
        given = calendar.local_date(row.at)
        until = calendar.local_date(follow_up.at) if follow_up is not None else today
        views.append(
            DirectiveView(
                event_id=row.id,
                task_id=row.task_id,
                task_code=row.code,
                task_title=row.title,
                task_status=TaskStatus(row.status),
                author_name=row.full_name or "",
                label=directive_label(row.position),
                at=row.at,
                note=row.note,
                age_days=max((until - given).days, 0),
                follow_up=follow_up,
            )
        )
    return views


def task_directives(
    session: Session, *, task_id: int, calendar: PlanCalendar, today: date
) -> list[DirectiveView]:
    """One task's directives, oldest first, each with its follow-up if answered."""
    return _views(session, _OF_TASK, {"task_id": task_id}, calendar=calendar, today=today)


def directives_of_task(
    session: Session, *, task_id: int, now: datetime | None = None
) -> list[DirectiveView]:
    """One task's directives as of `now` (ages in its plan's calendar); NotFound when the
    task is unknown."""
    task = get_task(session, task_id=task_id)
    calendar = plan_calendar(session, get_plan(session, plan_id=task.plan_id))
    return task_directives(session, task_id=task_id, calendar=calendar, today=calendar.today(now))


def plan_directives(
    session: Session, *, plan: Plan, calendar: PlanCalendar, today: date
) -> DirectiveSummary:
    """The plan's directives on tasks in scope (a cancelled task's directives are moot)."""
    views = [
        v
        for v in _views(session, _OF_PLAN, {"plan_id": plan.pk}, calendar=calendar, today=today)
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


# Built once and run on the connection (app.services.task_reads._EVIDENCE_COUNTS says why).
_DIRECTIVE_EVENTS = sa.select(
    col(TaskEvent.id), col(TaskEvent.task_id), col(TaskEvent.kind), col(TaskEvent.changes)
).where(
    col(TaskEvent.task_id).in_(sa.bindparam("task_ids", expanding=True)),
    col(TaskEvent.kind).in_([EventKind.directive, EventKind.follow_up]),
)


def open_directive_counts(session: Session, task_ids: Sequence[int]) -> dict[int, int]:
    """Open directives per task among `task_ids` (the board's cards): one query."""
    if not task_ids:
        return {}
    rows = core_reader(session).execute(_DIRECTIVE_EVENTS, {"task_ids": list(task_ids)}).all()
    answered = {
        answered_ids(changes) for _, _, kind, changes in rows if kind == EventKind.follow_up
    }
    counts: dict[int, int] = {}
    for event_id, task_id, kind, _ in rows:
        if kind == EventKind.directive and event_id not in answered:
            counts[task_id] = counts.get(task_id, 0) + 1
    return counts


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


# --- writing: follow-ups and decisions -------------------------------------------------

FOLLOW_UP_FORBIDDEN = "Hanya unit penanggung jawab atau Tim Transisi yang menindaklanjuti arahan."
DECISION_FORBIDDEN = "Hanya pimpinan (Bupati, Wakil Bupati, Sekda) yang mencatat keputusan."


def can_answer_directives(user: User, task: Task) -> bool:
    """The lead unit or the team, on a task not cancelled."""
    return task.status != TaskStatus.cancelled and permissions.can_work_on(user, task)


def can_decide(user: User, task: Task) -> bool:
    """An executive, on an open task flagged "perlu keputusan"."""
    return (
        user.role == Role.executive
        and task.needs_decision
        and task.status not in (TaskStatus.done, TaskStatus.cancelled)
    )


def _note(note: str) -> str:
    text = note.strip()
    if not text:
        raise RuleViolation("Tuliskan tindak lanjut atau keputusannya.", field="note")
    if len(text) > NOTE_MAX:
        raise RuleViolation(f"Paling panjang {NOTE_MAX} karakter.", field="note")
    return text


@retry_write
def answer_directive(
    session: Session, *, actor: User, task_id: int, directive_id: int, note: str
) -> Task:
    """The lead unit (or the team) answers a directive with a follow-up (tindak lanjut),
    which closes it: a `follow_up` event naming the directive. One commit."""
    task = history.load_for_write(session, task_id=task_id)
    if not permissions.can_work_on(actor, task):
        raise Forbidden(
            permissions.READ_ONLY_MESSAGE if actor.role == Role.executive else FOLLOW_UP_FORBIDDEN
        )
    if task.status == TaskStatus.cancelled:
        raise RuleViolation("Tugas ini sudah dibatalkan.", field="note")
    text = _note(note)
    directive = session.get(TaskEvent, directive_id) if 1 <= directive_id <= ID_MAX else None
    if directive is None or directive.task_id != task.id or directive.kind != EventKind.directive:
        raise NotFound("Arahan tidak ditemukan pada tugas ini.", field="directive_id")
    answered = session.exec(
        select(col(TaskEvent.changes)).where(
            TaskEvent.task_id == task.id, TaskEvent.kind == EventKind.follow_up
        )
    ).all()
    if any(answered_ids(changes) == directive_id for changes in answered):
        raise RuleViolation("Arahan ini sudah ditindaklanjuti.", field="note")
    history.record_event(
        session,
        task,
        actor=actor,
        kind=EventKind.follow_up,
        changes={"directive_id": [None, directive_id]},
        note=text,
    )
    session.commit()
    return task


@retry_write
def record_decision(
    session: Session, *, actor: User, task_id: int, version: int, note: str
) -> Task:
    """An executive settles "perlu keputusan" with a recorded decision (keputusan): a
    `decision` event that clears the flag. One commit; a stale version is a Conflict."""
    if actor.role != Role.executive:
        raise Forbidden(DECISION_FORBIDDEN)
    task = history.load_for_write(session, task_id=task_id)
    history.ensure_version(session, task, version)
    # As `can_decide`: the page offers the form on open tasks only, and so does every path.
    if task.status in (TaskStatus.done, TaskStatus.cancelled):
        raise RuleViolation(
            "Tugas ini sudah selesai atau dibatalkan; keputusan tidak dicatat lagi.", field="note"
        )
    if not task.needs_decision:
        raise RuleViolation("Tugas ini tidak sedang menunggu keputusan.", field="note")
    text = _note(note)
    task.needs_decision = False
    history.record_event(
        session,
        task,
        actor=actor,
        kind=EventKind.decision,
        changes={"needs_decision": [True, False]},
        note=text,
    )
    session.commit()
    return task
