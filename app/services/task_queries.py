"""Read-side queries behind the JSON API: task lists and details, history, the plan, the
reference lists (units, programs) and the caller's own unit.

Each function costs a fixed number of queries whatever the number of rows, and none writes.
"""

from datetime import date

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from app.models import (
    BOARD_STATUSES,
    Plan,
    PlanPublic,
    Program,
    ProgramKind,
    Task,
    TaskEventPublic,
    TaskPage,
    TaskPublic,
    TaskStatus,
    Unit,
    UnitKind,
    User,
)
from app.services.filters import TaskFilter
from app.services.lateness import Lateness
from app.services.plans import plan_calendar
from app.services.task_reads import get_task, task_events, task_public, task_publics
from app.sorting import text_order

# The board's column order, with cancelled tasks after every column.
STATUS_ORDER: dict[TaskStatus, int] = {
    status: index for index, status in enumerate((*BOARD_STATUSES, TaskStatus.cancelled))
}


def list_tasks(
    session: Session,
    *,
    plan: Plan,
    filters: TaskFilter,
    status: TaskStatus | None,
    limit: int,
    offset: int,
    today: date | None = None,
) -> tuple[list[Task], int]:
    """One page of the plan's tasks under `filters`, and how many match in all (two queries).

    Without `status` these are the board's tasks (cancelled ones are out of the scope and are
    listed only when asked for by status), ordered by column and then position. `today` is the
    plan-local date the overdue filter compares against (default: today in the plan's zone).
    """
    calendar = plan_calendar(session, plan)
    lateness = Lateness(calendar=calendar, today=today or calendar.today())
    statuses = [status] if status is not None else list(BOARD_STATUSES)
    conditions = [
        Task.plan_id == plan.id,
        col(Task.status).in_(statuses),
        *filters.conditions(lateness=lateness),
    ]
    total = session.exec(select(func.count()).select_from(Task).where(*conditions)).one()
    column_order = sa.case(
        {s.value: rank for s, rank in STATUS_ORDER.items()},
        value=col(Task.status),
        else_=len(STATUS_ORDER),
    )
    rows = session.exec(
        select(Task)
        .where(*conditions)
        .order_by(column_order, col(Task.position), col(Task.id))
        .offset(offset)
        .limit(limit)
    ).all()
    return list(rows), int(total)


def task_page(
    session: Session,
    *,
    plan: Plan,
    filters: TaskFilter,
    status: TaskStatus | None,
    limit: int,
    offset: int,
    today: date | None = None,
) -> TaskPage:
    """`list_tasks` as the API's page of TaskPublic (four queries: count, rows, two for links)."""
    tasks, total = list_tasks(
        session,
        plan=plan,
        filters=filters,
        status=status,
        limit=limit,
        offset=offset,
        today=today,
    )
    return TaskPage(items=task_publics(session, tasks), total=total, limit=limit, offset=offset)


def task_detail(session: Session, *, task_id: int) -> TaskPublic:
    """One task of any plan, by id (NotFound when unknown)."""
    return task_public(session, get_task(session, task_id=task_id))


def task_history(session: Session, *, task_id: int) -> list[TaskEventPublic]:
    """The task's events, oldest first, with the actors' names (NotFound when unknown)."""
    get_task(session, task_id=task_id)
    return [
        TaskEventPublic.model_validate(view.event, update={"actor_name": view.actor_name})
        for view in task_events(session, task_id=task_id)
    ]


def plan_public(session: Session, plan: Plan) -> PlanPublic:
    """The plan with its computed end date and today's plan day (in the plan's timezone)."""
    calendar = plan_calendar(session, plan)
    today = calendar.today()
    return PlanPublic.model_validate(
        plan,
        update={
            "end_date": calendar.end_date,
            "today_day": calendar.day_number(today),
            "today_label": calendar.day_label(today),
        },
    )


def list_units(session: Session, *, kind: UnitKind | None = None) -> list[Unit]:
    """Agencies and districts (inactive ones too: old tasks still point at them)."""
    query = select(Unit).order_by(col(Unit.kind), text_order(col(Unit.name)), col(Unit.id))
    if kind is not None:
        query = query.where(Unit.kind == kind)
    return list(session.exec(query).all())


def list_programs(session: Session, *, kind: ProgramKind | None = None) -> list[Program]:
    """The administration's programs: priority, movement, pro_people, each in agenda order."""
    kind_order = sa.case(
        {k.value: rank for rank, k in enumerate(ProgramKind)},
        value=col(Program.kind),
        else_=len(ProgramKind),
    )
    query = select(Program).order_by(kind_order, col(Program.sort_order), col(Program.id))
    if kind is not None:
        query = query.where(Program.kind == kind)
    return list(session.exec(query).all())


def unit_of(session: Session, *, user: User) -> Unit | None:
    """The unit a `unit` user belongs to (None for the team and executives)."""
    if user.unit_id is None:
        return None
    return session.get(Unit, user.unit_id)
