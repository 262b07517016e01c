"""The plan-wide live curve (app.services.curve, `now` not given) keeps its replay and adds
only the events recorded since: after any sequence of writes it must equal a whole replay
of the history, by count and by weight."""

import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import Session, col, delete

from app.models import (
    EventKind,
    ProgressUpdate,
    Task,
    TaskEvent,
    TaskMove,
    TaskStatus,
    TaskUpdate,
)
from app.services import curve, tasks
from app.services.curve import CurveSeries, curve_series
from app.services.filters import TaskFilter
from app.services.history import load_for_write
from tests.factories import World, make_task

OPEN = (TaskStatus.todo, TaskStatus.in_progress, TaskStatus.blocked)


@pytest.fixture(autouse=True)
def no_kept_curves() -> Iterator[None]:
    curve.forget_live_curves()
    yield
    curve.forget_live_curves()


def _figures(series: CurveSeries) -> list[tuple[object, ...]]:
    def close(x: float | None) -> float | None:
        return None if x is None else round(x, 9)  # the same sums, added in another order

    return [
        (p.day, p.date, close(p.planned), close(p.actual), close(p.physical), close(p.scope))
        for p in series.points
    ]


def _assert_live_equals_whole(session: Session, world: World) -> None:
    for measure in ("count", "weight"):
        live = curve_series(session, plan=world.plan, filters=TaskFilter(), measure=measure)
        whole = curve_series(
            session,
            plan=world.plan,
            filters=TaskFilter(),
            measure=measure,
            now=datetime.now(UTC) + timedelta(seconds=1),
        )
        assert _figures(live) == _figures(whole), measure


def _step(session: Session, world: World, rng: random.Random, made: list[Task]) -> None:
    """One random write a user could make."""
    if not made or rng.random() < 0.15:
        made.append(
            make_task(
                session,
                actor=world.team,
                plan=world.plan,
                lead=world.putr,
                title=f"Tugas acak {len(made)}",
                weight=rng.randint(1, 5),
                due_date=date.today() + timedelta(days=rng.randint(-10, 40)),
            )
        )
        return
    task_id = rng.choice(made).id
    assert task_id is not None
    task = load_for_write(session, task_id=task_id)
    version, status = task.version, TaskStatus(task.status)
    team = world.team
    choice = rng.random()
    if status == TaskStatus.cancelled:
        tasks.restore_task(session, actor=team, task_id=task_id, version=version)
    elif status == TaskStatus.done or choice < 0.1:
        tasks.cancel_task(session, actor=team, task_id=task_id, version=version, note="Dibatalkan")
    elif status == TaskStatus.review:
        tasks.verify_task(session, actor=team, task_id=task_id, version=version)
    elif choice < 0.35:
        data = ProgressUpdate(version=version, progress_pct=rng.randint(0, 100))
        tasks.update_progress(session, actor=team, task_id=task_id, data=data)
    elif choice < 0.55:
        edit = TaskUpdate(
            version=version,
            weight=rng.randint(1, 5),
            due_date=date.today() + timedelta(days=rng.randint(-10, 40)),
        )
        tasks.update_task(session, actor=team, task_id=task_id, data=edit)
    else:
        target = TaskStatus.review if status == TaskStatus.in_progress else TaskStatus.in_progress
        move = TaskMove(version=version, status=target, note="Selesai dikerjakan")
        tasks.move_task(session, actor=team, task_id=task_id, move=move)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_live_curve_equals_a_whole_replay_after_any_writes(
    session: Session, world: World, seed: int
) -> None:
    rng = random.Random(seed)
    made: list[Task] = []
    for _ in range(4):
        _step(session, world, rng, made)
    _assert_live_equals_whole(session, world)
    for _ in range(12):
        for _ in range(rng.randint(1, 4)):
            _step(session, world, rng, made)
        _assert_live_equals_whole(session, world)
    # One kept replay per measure, moved forward rather than rebuilt.
    assert curve.live_curves_kept() == 2


def test_a_scope_filter_or_a_given_time_is_never_kept(session: Session, world: World) -> None:
    make_task(session, actor=world.team, plan=world.plan, lead=world.putr, title="Jalan poros")
    curve_series(session, plan=world.plan, filters=TaskFilter(unit_id=world.putr.id))
    curve_series(session, plan=world.plan, filters=TaskFilter(), now=datetime.now(UTC))
    assert curve.live_curves_kept() == 0
    curve_series(session, plan=world.plan, filters=TaskFilter())
    assert curve.live_curves_kept() == 1


def test_a_history_that_went_back_is_replayed_whole(session: Session, world: World) -> None:
    """A restored backup holds fewer events than the kept replay has seen."""
    task = make_task(session, actor=world.team, plan=world.plan, lead=world.putr, title="Jalan")
    whole_before = _figures(curve_series(session, plan=world.plan, filters=TaskFilter()))
    tasks.cancel_task(
        session, actor=world.team, task_id=task.pk, version=task.version, note="Dibatalkan"
    )
    curve_series(session, plan=world.plan, filters=TaskFilter())  # kept replay saw the cancel
    # "Restore": the cancel never happened.
    session.exec(delete(TaskEvent).where(col(TaskEvent.kind) == EventKind.cancelled))
    restored = session.get(Task, task.pk)
    assert restored is not None
    restored.status = TaskStatus.todo
    session.add(restored)
    session.commit()
    assert _figures(curve_series(session, plan=world.plan, filters=TaskFilter())) == whole_before
