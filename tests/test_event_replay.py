"""The history is the truth: replaying a task's events gives its current status and version.

Random sequences (seeded) of every kind of operation by every role, refusals included, run
against the services; after every step, for every task: the first event is `created` into
Belum Dimulai, each status change starts where the previous one ended, the last one ends at
the task's status, and version == 1 + the number of version-bumping events (all but
`created`). A refused operation writes no event.
"""

import random
from collections import defaultdict
from collections.abc import Callable

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, func, select

from app.db import open_session
from app.errors import DomainError
from app.models import (
    BOARD_STATUSES,
    EventKind,
    ProgressUpdate,
    Task,
    TaskCreate,
    TaskEvent,
    TaskMove,
    TaskStatus,
    TaskUpdate,
    User,
)
from app.services import history, task_reads, tasks
from tests.factories import World

Operation = Callable[[Session, User, Task, random.Random], object]


def _move(session: Session, actor: User, task: Task, rng: random.Random) -> object:
    return tasks.move_task(
        session,
        actor=actor,
        task_id=task.pk,
        move=TaskMove(
            version=task.version,
            status=rng.choice([*BOARD_STATUSES, TaskStatus.cancelled]),
            # Sometimes missing, so the "reason/note required" refusals happen too.
            blocked_reason=rng.choice(["", "Lahan belum bebas"]),
            note=rng.choice(["", "Catatan"]),
        ),
    )


def _edit(session: Session, actor: User, task: Task, rng: random.Random) -> object:
    # Sometimes another unit, sometimes one that does not exist (a refused edit).
    lead = rng.choice([task.lead_unit_id, task.lead_unit_id + 1, 9999])
    return tasks.update_task(
        session,
        actor=actor,
        task_id=task.pk,
        data=TaskUpdate(
            version=rng.choice([task.version, task.version, task.version - 1 or 1]),
            title=rng.choice([task.title, f"Judul {rng.randrange(100)}"]),
            lead_unit_id=lead,
        ),
    )


def _progress(session: Session, actor: User, task: Task, rng: random.Random) -> object:
    return tasks.update_progress(
        session,
        actor=actor,
        task_id=task.pk,
        data=ProgressUpdate(
            version=task.version,
            progress_pct=rng.randrange(101),
            realisation=rng.choice(["", "10 KK"]),
        ),
    )


OPERATIONS: list[Operation] = [
    _move,
    _move,
    _move,
    _edit,
    _progress,
    lambda s, a, t, r: tasks.add_comment(s, actor=a, task_id=t.pk, note=r.choice(["", "x"])),
    lambda s, a, t, r: tasks.add_directive(s, actor=a, task_id=t.pk, note="Arahan"),
    lambda s, a, t, r: tasks.verify_task(s, actor=a, task_id=t.pk, version=t.version),
    lambda s, a, t, r: tasks.reject_task(
        s, actor=a, task_id=t.pk, version=t.version, note=r.choice(["", "Ulangi"])
    ),
    lambda s, a, t, r: tasks.cancel_task(
        s, actor=a, task_id=t.pk, version=t.version, note="Dibatalkan"
    ),
    lambda s, a, t, r: tasks.restore_task(s, actor=a, task_id=t.pk, version=t.version),
]


def _event_count(engine: Engine) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(TaskEvent)).one()


def assert_history_replays(engine: Engine, plan_id: int) -> None:
    with Session(engine) as session:
        all_tasks = session.exec(select(Task).where(Task.plan_id == plan_id)).all()
        all_events = session.exec(
            select(TaskEvent).where(TaskEvent.plan_id == plan_id).order_by(col(TaskEvent.id))
        ).all()
    by_task: dict[int, list[TaskEvent]] = defaultdict(list)
    for event in all_events:
        by_task[event.task_id].append(event)
    for task in all_tasks:
        events = by_task[task.pk]
        assert events, task.code
        first, rest = events[0], events[1:]
        assert (first.kind, first.from_status, first.to_status) == (
            EventKind.created,
            None,
            TaskStatus.todo,
        )
        status = TaskStatus.todo
        for event in rest:
            assert event.kind != EventKind.created
            if event.to_status is not None:
                assert event.from_status == status, (task.code, event.kind)
                status = TaskStatus(event.to_status)
        assert status == task.status, task.code
        assert task.version == 1 + len(rest), task.code
        # history.replay, the one replay, rebuilds every replayable field (done_at: whether
        # set; its instant is taken a moment before the event's).
        state = history.replay(events)
        current = {name: getattr(task, name) for name in state}
        assert (state.pop("done_at") is None) == (current.pop("done_at") is None), task.code
        assert state == current, task.code


@pytest.mark.parametrize("seed", range(5))
def test_replaying_events_gives_the_current_status_and_version(
    engine: Engine, world: World, seed: int
) -> None:
    rng = random.Random(seed)
    plan_id = world.plan.pk
    actors = [world.team] * 4 + [world.putr_head, world.dinkes_head, world.executive]
    task_ids: list[int] = []
    refusals = 0
    for step in range(120):
        with open_session(engine, write=True) as session:
            if len(task_ids) < 3 or rng.random() < 0.1:
                created = tasks.create_task(
                    session,
                    actor=world.team,
                    plan_id=plan_id,
                    data=TaskCreate(
                        title=f"Tugas {step}",
                        lead_unit_id=(rng.choice([world.putr, world.dinkes])).pk,
                    ),
                )
                task_ids.append(created.pk)
            else:
                task = task_reads.get_task(session, task_id=rng.choice(task_ids))
                actor = rng.choice(actors)
                operation = rng.choice(OPERATIONS)
                before = _event_count(engine)
                try:
                    operation(session, actor, task, rng)
                except DomainError:
                    refusals += 1
                    session.rollback()
                    session.expire_all()
                    assert _event_count(engine) == before, f"seed {seed}, step {step}"
        assert_history_replays(engine, plan_id)
    # The sequences must exercise both paths, and most kinds of change, to mean anything.
    assert 0 < refusals < 120
    with Session(engine) as session:
        kinds = set(session.exec(select(TaskEvent.kind)).all())
    assert {EventKind.moved, EventKind.progress} <= kinds
    assert len(kinds) >= 7, kinds
