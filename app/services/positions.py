"""Card positions: the order of the cards in each board column.

Stored positions are sparse integers (renumbering leaves GAP between neighbours), so a move
writes one row whatever the column's length: the card takes a number between its new
neighbours, read with two small indexed queries. Only when two neighbours have no number
left between them is the column renumbered (GAP apart again), which a column of n cards
needs about once every log2(GAP) moves into the same spot. Readers never see the stored
numbers: `ranks` turns them into 1..n per column (the API's `position`), and the order is
(position, id), exact and the same for every reader.
"""

from collections.abc import Sequence
from enum import Enum
from typing import Any, Final, Literal

import sqlalchemy as sa
from sqlmodel import Session, col, select

from app.models import BOARD_STATUSES, Task, TaskStatus

# A position past any real one: "append at the end of the column" before renumbering.
END_OF_COLUMN = 2_000_000_000
# Room left between neighbours by a renumbering.
GAP = 1024
# Positions stay well inside a 32-bit integer (PostgreSQL's INTEGER).
LOWEST = -2_000_000_000
HIGHEST = 1_900_000_000


class _Missing(Enum):
    MISSING = "missing"


# A drop "after" a card that no longer exists: the moved card goes to the end of the column.
Missing = Literal[_Missing.MISSING]
MISSING: Final = _Missing.MISSING


def renumber(session: Session, *, task: Task, statuses: set[TaskStatus]) -> None:
    """Renumber the given columns GAP, 2·GAP, … in their order, in one statement; `task`
    sorts just after any card that has the same position (the card it was dropped behind)."""
    table = Task.__table__
    statuses = {s for s in statuses if s in BOARD_STATUSES}
    if not statuses:
        return
    session.flush()
    ranked = (
        sa.select(
            table.c.id.label("id"),
            (
                sa.func.row_number().over(
                    partition_by=table.c.status,
                    order_by=(
                        table.c.position,
                        sa.case((table.c.id == task.id, 1), else_=0),
                        table.c.id,
                    ),
                )
                * GAP
            ).label("spaced"),
        )
        .where(table.c.plan_id == task.plan_id, table.c.status.in_([s.value for s in statuses]))
        .subquery()
    )
    session.execute(
        sa.update(table)
        .where(table.c.id == ranked.c.id, table.c.position != ranked.c.spaced)
        .values(position=ranked.c.spaced),
        execution_options={"synchronize_session": False},
    )
    # Cards this session holds reload their position when next read, so a later placement in
    # the same session does not use a stale one. (Returning every shifted row instead would
    # cost a fetch of the whole column on each move.)
    for held in list(session.identity_map.values()):
        if isinstance(held, Task) and held.status in statuses:
            session.expire(held, ["position"])


_TASKS = Task.__table__
# The other cards of the task's column. The neighbour reads below are built once and run on
# the session's connection: they leave the moving task out, so it need not be flushed first,
# and its row is then written once, with the rest of the change (the writer's next flush).
_OTHERS_IN_COLUMN = (
    _TASKS.c.plan_id == sa.bindparam("plan_id"),
    _TASKS.c.status == sa.bindparam("status"),
    _TASKS.c.id != sa.bindparam("task_id"),
)
_FIRST = (
    sa.select(_TASKS.c.position)
    .where(*_OTHERS_IN_COLUMN)
    .order_by(_TASKS.c.position, _TASKS.c.id)
    .limit(1)
)
_LAST = (
    sa.select(_TASKS.c.position)
    .where(*_OTHERS_IN_COLUMN)
    .order_by(_TASKS.c.position.desc(), _TASKS.c.id.desc())
    .limit(1)
)
# The card that follows `after` in its column.
_FOLLOWING = (
    sa.select(_TASKS.c.position)
    .where(
        *_OTHERS_IN_COLUMN,
        sa.or_(
            _TASKS.c.position > sa.bindparam("after_position"),
            sa.and_(
                _TASKS.c.position == sa.bindparam("after_position"),
                _TASKS.c.id > sa.bindparam("after_id"),
            ),
        ),
    )
    .order_by(_TASKS.c.position, _TASKS.c.id)
    .limit(1)
)


def _neighbour(session: Session, statement: sa.Select[Any], task: Task, **more: int) -> int | None:
    """The position `statement` finds among the other cards of `task`'s column, if any."""
    params = {"plan_id": task.plan_id, "status": task.status, "task_id": task.id, **more}
    position: int | None = session.connection().execute(statement, params).scalar()
    return position


def _slot(session: Session, *, task: Task, after: Task | Missing | None) -> int | None:
    """A free number for `task` at the asked place in its (new) column, or None when the
    neighbours have none left between them."""
    if after is None:
        first = _neighbour(session, _FIRST, task)
        number = GAP if first is None else first - GAP
    elif isinstance(after, Task) and after.status == task.status and after.plan_id == task.plan_id:
        following = _neighbour(
            session, _FOLLOWING, task, after_position=after.position, after_id=after.pk
        )
        if following is None:
            number = after.position + GAP
        elif following - after.position >= 2:
            number = (after.position + following) // 2
        else:
            return None
    else:
        last = _neighbour(session, _LAST, task)
        number = GAP if last is None else last + GAP
    return number if LOWEST <= number <= HIGHEST else None


def place(
    session: Session,
    *,
    task: Task,
    after: Task | Missing | None,
    from_status: TaskStatus,
) -> None:
    """Put `task` (already in its new status) right after `after` (top when None); a card
    that is gone or now in another column (`MISSING`, or a stale drop) appends at the end.
    Writes the task's row only, unless its column has to be renumbered to make room, and
    leaves that write to the session's next flush (record_event's, or the commit), so a
    change writes the row once: status, position, version and change number together."""
    to_status = TaskStatus(task.status)
    if to_status not in BOARD_STATUSES:
        task.position = 0
    else:
        number = _slot(session, task=task, after=after)
        if number is None:
            # No room between the neighbours: space the column out, then take a number.
            if isinstance(after, Task):
                session.refresh(after, ["position"])
            renumber(session, task=task, statuses={to_status})
            if isinstance(after, Task):
                session.refresh(after, ["position"])
            number = _slot(session, task=task, after=after)
            assert number is not None, "a renumbered column has room"
        task.position = number
    session.add(task)


def append(tasks: list[Task], *, start: int = END_OF_COLUMN) -> None:
    """Give `tasks` positions past every card, in their order (renumber afterwards)."""
    for offset, task in enumerate(tasks):
        task.position = start + offset


def ranks(session: Session, tasks: Sequence[Task]) -> dict[int, int]:
    """{task id: its place 1..n in its column} for `tasks` (0 off the board: cancelled), as
    readers see positions; one query whatever the number of tasks."""
    ids = [t.pk for t in tasks if t.status in BOARD_STATUSES]
    result = {t.pk: 0 for t in tasks}
    if not ids:
        return result
    plan_ids = {t.plan_id for t in tasks}
    ranked = (
        select(
            col(Task.id).label("id"),
            sa.func.row_number()
            .over(
                partition_by=(col(Task.plan_id), col(Task.status)),
                order_by=(col(Task.position), col(Task.id)),
            )
            .label("rank"),
        )
        .where(col(Task.plan_id).in_(plan_ids), col(Task.status).in_(BOARD_STATUSES))
        .subquery()
    )
    for task_id, rank in session.execute(
        sa.select(ranked.c.id, ranked.c.rank).where(ranked.c.id.in_(ids))
    ):
        result[task_id] = int(rank)
    return result


def column_order(session: Session, *, plan_id: int) -> dict[TaskStatus, list[int]]:
    """Each board column's task ids, top first (the order every reader sees)."""
    rows = session.exec(
        select(Task.id_column(), Task.status)
        .where(Task.plan_id == plan_id, col(Task.status).in_(BOARD_STATUSES))
        .order_by(col(Task.status), col(Task.position), col(Task.id))
    ).all()
    columns: dict[TaskStatus, list[int]] = {s: [] for s in BOARD_STATUSES}
    for task_id, status in rows:
        columns[TaskStatus(status)].append(task_id)
    return columns
