"""Reading tasks: one task, its links, its API view, its evidence count and its history.

Shared by the write path (the version check answers a conflict with the current task) and
the read models of the pages and the API. Nothing here writes.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import Session, col, select

from app.db import core_reader
from app.errors import NotFound
from app.models import (
    Evidence,
    Task,
    TaskEvent,
    TaskProgram,
    TaskPublic,
    TaskSupportingUnit,
    User,
)
from app.services.positions import ranks


def get_task(session: Session, *, task_id: int) -> Task:
    task = session.get(Task, task_id)
    if task is None:
        raise NotFound("Tugas tidak ditemukan.")
    return task


def link_ids(
    session: Session, *, task_ids: Sequence[int]
) -> dict[int, tuple[list[int], list[int]]]:
    """{task_id: (supporting_unit_ids, program_ids)} for many tasks in two queries."""
    result: dict[int, tuple[list[int], list[int]]] = {tid: ([], []) for tid in task_ids}
    if not task_ids:
        return result
    for tid, uid in session.exec(
        select(TaskSupportingUnit.task_id, TaskSupportingUnit.unit_id).where(
            col(TaskSupportingUnit.task_id).in_(task_ids)
        )
    ):
        result[tid][0].append(uid)
    for tid, pid in session.exec(
        select(TaskProgram.task_id, TaskProgram.program_id).where(
            col(TaskProgram.task_id).in_(task_ids)
        )
    ):
        result[tid][1].append(pid)
    return result


def task_public(session: Session, task: Task) -> TaskPublic:
    """The API view of a task, with its supporting units and programs."""
    supporting, programs = link_ids(session, task_ids=[task.pk])[task.pk]
    return task_publics(session, [task], links={task.pk: (supporting, programs)})[0]


def task_publics(
    session: Session,
    tasks: Sequence[Task],
    *,
    links: dict[int, tuple[list[int], list[int]]] | None = None,
) -> list[TaskPublic]:
    """API views of many tasks (`position` is the place 1..n in the column); their links
    and places are read in three queries whatever their number."""
    if links is None:
        links = link_ids(session, task_ids=[t.pk for t in tasks])
    places = ranks(session, tasks)
    return [
        TaskPublic.model_validate(
            task,
            update={
                "position": places.get(task.pk, 0),
                "supporting_unit_ids": sorted(links[task.pk][0]),
                "program_ids": sorted(links[task.pk][1]),
            },
        )
        for task in tasks
    ]


# Built once and run on the connection: every card read (a board page, a move's answer)
# asks, and building the select cost about as much as running it.
_EVIDENCE_COUNTS = (
    sa.select(col(Evidence.task_id), sa.func.count())
    .where(
        col(Evidence.task_id).in_(sa.bindparam("task_ids", expanding=True)),
        col(Evidence.removed_at).is_(None),
    )
    .group_by(col(Evidence.task_id))
)


def evidence_counts(session: Session, task_ids: Sequence[int]) -> dict[int, int]:
    """Pieces of evidence not removed, per task (tasks without any are left out)."""
    if not task_ids:
        return {}
    rows = core_reader(session).execute(_EVIDENCE_COUNTS, {"task_ids": list(task_ids)})
    return {int(task_id): int(count) for task_id, count in rows}


def has_evidence(session: Session, *, task_id: int) -> bool:
    """The task has at least one piece of evidence that was not removed."""
    return task_id in evidence_counts(session, [task_id])


@dataclass
class EventView:
    event: TaskEvent
    actor_name: str | None


def task_events(session: Session, *, task_id: int) -> list[EventView]:
    """The task's history, oldest first, with the actors' names."""
    rows = session.exec(
        select(TaskEvent, User.full_name)
        .join(User, col(User.id) == TaskEvent.actor_id, isouter=True)
        .where(TaskEvent.task_id == task_id)
        .order_by(col(TaskEvent.id))
    ).all()
    return [EventView(event=event, actor_name=name) for event, name in rows]


def last_event(session: Session, *, task_id: int) -> EventView | None:
    """The task's latest event with its actor's name (None before any)."""
    row = session.exec(
        select(TaskEvent, User.full_name)
        .join(User, col(User.id) == TaskEvent.actor_id, isouter=True)
        .where(TaskEvent.task_id == task_id)
        .order_by(col(TaskEvent.id).desc())
        .limit(1)
    ).first()
    return None if row is None else EventView(event=row[0], actor_name=row[1])
