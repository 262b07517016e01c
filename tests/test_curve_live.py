"""The plan-wide live curve (app.services.curve, `now` not given) keeps its replay and adds
only the events recorded since: after any sequence of writes it must equal a whole replay
of the history, by count and by weight."""

import random
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, delete, func, select

from app.config import Settings
from app.models import (
    CurveCheckpoint,
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
from app.worker import run_routines
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


# --- the worker's checkpoint: where a process with nothing kept starts ------------------


def _replayed_rows(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many rows each replay step is given, from now on."""
    seen: list[int] = []
    add = curve._Replay.add

    def counting(self: curve._Replay, rows: Sequence[Any], **kwargs: Any) -> None:
        seen.append(len(rows))
        add(self, rows, **kwargs)

    monkeypatch.setattr(curve._Replay, "add", counting)
    return seen


def _checkpoint(session: Session, world: World, measure: str = "count") -> CurveCheckpoint:
    row = session.get(CurveCheckpoint, (world.plan.id, measure))
    assert row is not None
    return row


def _write_checkpoints(session: Session, world: World, now: datetime) -> list[str]:
    written = curve.write_checkpoints(session, plan=world.plan, now=now)
    session.commit()
    return list(written)


@pytest.mark.parametrize("seed", [4, 5])
def test_a_process_with_nothing_kept_starts_from_the_checkpoint(
    session: Session, world: World, seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = random.Random(seed)
    made: list[Task] = []
    for _ in range(20):
        _step(session, world, rng, made)
    assert _write_checkpoints(session, world, datetime.now(UTC)) == ["count", "weight"]
    curve.forget_live_curves()  # a new process
    for _ in range(6):
        _step(session, world, rng, made)
    replayed = _replayed_rows(monkeypatch)
    _assert_live_equals_whole(session, world)
    # The live curves (one per measure) replayed only what came after the checkpoint; the
    # whole replays beside them, everything.
    whole = replayed[1]
    assert replayed[0] < whole
    assert replayed[2] < whole
    after = session.exec(
        select(func.count())
        .select_from(TaskEvent)
        .where(col(TaskEvent.id) > _checkpoint(session, world).last_event_id)
    ).one()
    assert replayed[0] <= after


def test_a_checkpoint_that_does_not_fit_is_not_used(
    session: Session, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another frame (the plan's dates changed), a history that went back behind it, or a
    payload it cannot read: the history is replayed whole, and the figures stay right."""
    rng = random.Random(6)
    made: list[Task] = []
    for _ in range(15):
        _step(session, world, rng, made)
    _write_checkpoints(session, world, datetime.now(UTC))
    written = _checkpoint(session, world)
    good = (written.frame_key, written.last_event_id, written.payload)
    damaged: list[dict[str, Any]] = [
        {"frame_key": "0" * 64},
        {"last_event_id": (session.exec(select(func.max(TaskEvent.id))).one() or 0) + 1},
        {"payload": "{"},
        {"payload": good[2].replace('"v":1', '"v":2')},
        {"payload": good[2].replace('"sums":[[', '"sums":[[0.0,')},
        {"payload": '{"v":1,"sums":[],"tasks":[]}'},
        {"payload": good[2].replace('"tasks":[[', '"tasks":[["x",')},
    ]
    for change in damaged:
        row = _checkpoint(session, world)
        for field, value in change.items():
            setattr(row, field, value)
        session.add(row)
        session.commit()
        curve.forget_live_curves()
        replayed = _replayed_rows(monkeypatch)
        live = curve_series(session, plan=world.plan, filters=TaskFilter())
        whole = curve_series(
            session,
            plan=world.plan,
            filters=TaskFilter(),
            now=datetime.now(UTC) + timedelta(seconds=1),
        )
        assert _figures(live) == _figures(whole), change
        assert replayed[0] == replayed[1], change  # the live curve replayed everything too
        monkeypatch.undo()
        row.frame_key, row.last_event_id, row.payload = good
        session.add(row)
        session.commit()


def test_the_worker_writes_a_checkpoint_when_it_is_missing_or_old_and_behind(
    session: Session, world: World, engine: Engine, settings: Settings
) -> None:
    now = datetime.now(UTC)
    make_task(session, actor=world.team, plan=world.plan, lead=world.putr, title="Jalan poros")
    assert run_routines(engine, settings=settings, now=now) == ["Kurva S disimpan (count, weight)"]
    written = _checkpoint(session, world).last_event_id
    task = make_task(session, actor=world.team, plan=world.plan, lead=world.putr, title="Pasar")
    # Events came, but the checkpoint is fresh: not written again yet.
    assert run_routines(engine, settings=settings, now=now + timedelta(seconds=60)) == []
    later = now + timedelta(seconds=curve.CHECKPOINT_EVERY_SECONDS + 1)
    assert run_routines(engine, settings=settings, now=later) == [
        "Kurva S disimpan (count, weight)"
    ]
    session.expire_all()
    assert _checkpoint(session, world).last_event_id > written
    # Old, but nothing came since: nothing to write.
    much_later = later + timedelta(seconds=curve.CHECKPOINT_EVERY_SECONDS + 1)
    assert run_routines(engine, settings=settings, now=much_later) == []
    assert task.id is not None
