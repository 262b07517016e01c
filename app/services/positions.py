"""Card positions: 1-based integers per board column, renumbered for every column a change
touches, in the same transaction.
"""

from enum import Enum
from typing import Final, Literal

import sqlalchemy as sa
from sqlmodel import Session

from app.models import BOARD_STATUSES, Task, TaskStatus

# A position past any real one: "append at the end of the column" before renumbering.
END_OF_COLUMN = 2_000_000_000


class _Missing(Enum):
    MISSING = "missing"


# A drop "after" a card that no longer exists: the moved card goes to the end of the column.
Missing = Literal[_Missing.MISSING]
MISSING: Final = _Missing.MISSING


def renumber(session: Session, *, task: Task, statuses: set[TaskStatus]) -> None:
    """Renumber the given columns 1..n in one statement; `task` sorts just after any card
    that has the same position (the card it was dropped behind)."""
    table = Task.__table__  # type: ignore[attr-defined]
    statuses = {s for s in statuses if s in BOARD_STATUSES}
    if not statuses:
        return
    ranked = (
        sa.select(
            table.c.id.label("id"),
            sa.func.row_number()
            .over(
                partition_by=table.c.status,
                order_by=(
                    table.c.position,
                    sa.case((table.c.id == task.id, 1), else_=0),
                    table.c.id,
                ),
            )
            .label("rn"),
        )
        .where(table.c.plan_id == task.plan_id, table.c.status.in_([s.value for s in statuses]))
        .subquery()
    )
    session.execute(
        sa.update(table)
        .where(table.c.id == ranked.c.id, table.c.position != ranked.c.rn)
        .values(position=ranked.c.rn),
        execution_options={"synchronize_session": False},
    )
    # Cards this session holds reload their position when next read, so a later placement in
    # the same session does not use a stale one. (Returning every shifted row instead would
    # cost a fetch of the whole column on each move.)
    for held in list(session.identity_map.values()):
        if isinstance(held, Task) and held.status in statuses:
            session.expire(held, ["position"])


def place(
    session: Session,
    *,
    task: Task,
    after: Task | Missing | None,
    from_status: TaskStatus,
) -> None:
    """Put `task` (already in its new status) right after `after` (top when None) and
    renumber the columns it left and entered. A card that is gone or now in another column
    (`MISSING`, or a stale drop) appends at the end."""
    to_status = TaskStatus(task.status)
    if to_status not in BOARD_STATUSES or after is None:
        task.position = 0
    elif isinstance(after, Task) and after.status == to_status and after.plan_id == task.plan_id:
        task.position = after.position
    else:
        task.position = END_OF_COLUMN
    session.add(task)
    session.flush()
    renumber(session, task=task, statuses={from_status, to_status})


def append(tasks: list[Task], *, start: int = END_OF_COLUMN) -> None:
    """Give `tasks` positions past every card, in their order (renumber afterwards)."""
    for offset, task in enumerate(tasks):
        task.position = start + offset
