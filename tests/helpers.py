"""Helpers shared by the test modules: make and move a task, and check that a refused change
wrote nothing.

A persisted row's id is `row.pk` (app.models.Row), so there is no id helper here.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine
from sqlmodel import Session, SQLModel, col, select

from app.errors import DomainError
from app.models import Task, TaskEvent, TaskMove, TaskStatus, User
from app.services import tasks
from tests.factories import World, make_task

# Tables a task change may touch; a refused change must leave all of them as they were.
TASK_TABLES = ("plan", "task", "task_event", "task_supporting_unit", "task_program")


def snapshot(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the task tables, through a connection of its own (committed state)."""
    result: dict[str, list[tuple[Any, ...]]] = {}
    with engine.connect() as conn:
        for name in TASK_TABLES:
            table = SQLModel.metadata.tables[name]
            rows = conn.execute(sa.select(table).order_by(*table.primary_key.columns)).all()
            result[name] = [tuple(row) for row in rows]
    return result


@dataclass
class Commits:
    count: int = 0


@contextmanager
def counting_commits(session: Session) -> Iterator[Commits]:
    commits = Commits()

    def on_commit(_session: Any) -> None:
        commits.count += 1

    sa.event.listen(session, "after_commit", on_commit)
    try:
        yield commits
    finally:
        sa.event.remove(session, "after_commit", on_commit)


def assert_refused(
    session: Session,
    engine: Engine,
    call: Callable[[], object],
    error: type[DomainError],
    *,
    field: str | None = None,
) -> DomainError:
    """`call` raises `error` (naming `field`), commits nothing and changes no row."""
    before = snapshot(engine)
    with counting_commits(session) as commits, pytest.raises(error) as info:
        call()
    assert commits.count == 0
    if field is not None:
        assert info.value.field == field
    # A request's session is discarded after an error; do the same before comparing.
    session.rollback()
    session.expire_all()
    assert snapshot(engine) == before
    return info.value


def events_of(session: Session, task_id: int) -> list[TaskEvent]:
    return list(
        session.exec(
            select(TaskEvent).where(TaskEvent.task_id == task_id).order_by(col(TaskEvent.id))
        ).all()
    )


def new_task(
    session: Session, world: World, status: TaskStatus = TaskStatus.todo, **fields: Any
) -> Task:
    """A task of the world's plan led by Dinas PUTR, created by the team, in `status`."""
    fields.setdefault("title", "Pembangunan jembatan Rantau Bayur")
    return make_task(
        session, actor=world.team, plan=world.plan, lead=world.putr, status=status, **fields
    )


def move(
    session: Session,
    actor: User,
    task: Task,
    status: TaskStatus,
    *,
    version: int | None = None,
    **fields: Any,
) -> Task:
    """Move `task` through the service, at its current version unless `version` is given."""
    return tasks.move_task(
        session,
        actor=actor,
        task_id=task.pk,
        move=TaskMove(
            version=task.version if version is None else version, status=status, **fields
        ),
    )
