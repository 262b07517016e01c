"""Card positions: every board column reads 1..n, in the order the moves asked for, and a
move writes a constant number of rows whatever the column's length.

Random sequences (seeded, so a failure replays) of creates, moves, reorders, cancels and
restores run against the services and against a plain model of the board (lists of ids);
after every step the database must match the model exactly: the stored numbers (sparse, see
services.positions) strictly increase down each column, and readers (the API's `position`)
see 1..n in that order.
"""

import random
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import Engine, event
from sqlmodel import Session, col, select

from app.db import open_session
from app.models import BOARD_STATUSES, Task, TaskCreate, TaskMove, TaskStatus
from app.services import task_reads, tasks
from tests.factories import World, make_plan
from tests.helpers import new_task

MISSING_TASK_ID = 999_999


@dataclass
class Board:
    """What the board should look like: each column's task ids, top first."""

    columns: dict[TaskStatus, list[int]] = field(
        default_factory=lambda: {s: [] for s in BOARD_STATUSES}
    )
    cancelled: set[int] = field(default_factory=set)

    def status_of(self, task_id: int) -> TaskStatus:
        for status, ids in self.columns.items():
            if task_id in ids:
                return status
        return TaskStatus.cancelled

    def place(self, task_id: int, status: TaskStatus, after_id: int | None) -> None:
        """After `after_id` when it is a card of that column, on top when None, else at the
        end (a card of another column, a cancelled or a missing task)."""
        for ids in self.columns.values():
            if task_id in ids:
                ids.remove(task_id)
        self.cancelled.discard(task_id)
        target = self.columns[status]
        if after_id is None or after_id == task_id:
            target.insert(0, task_id)
        elif after_id in target:
            target.insert(target.index(after_id) + 1, task_id)
        else:
            target.append(task_id)

    def cancel(self, task_id: int) -> None:
        for ids in self.columns.values():
            if task_id in ids:
                ids.remove(task_id)
        self.cancelled.add(task_id)


def board_in_db(engine: Engine, plan_id: int) -> tuple[dict[TaskStatus, list[int]], set[int]]:
    """The columns as stored, after asserting that no two cards of a column share a number
    (the order is the numbers' alone) and that readers see each column as 1..n."""
    with Session(engine) as session:
        rows = session.exec(
            select(Task.id, Task.status, Task.position)
            .where(Task.plan_id == plan_id)
            .order_by(col(Task.status), col(Task.position), col(Task.id))
        ).all()
        stored_tasks = session.exec(select(Task).where(Task.plan_id == plan_id)).all()
        seen = {t.id: t.position for t in task_reads.task_publics(session, stored_tasks)}
    columns: dict[TaskStatus, list[int]] = {s: [] for s in BOARD_STATUSES}
    cancelled: set[int] = set()
    for status in BOARD_STATUSES:
        numbers = [position for _, s, position in rows if s == status]
        assert numbers == sorted(set(numbers)), (status, numbers)
        ids = [task_id for task_id, s, _ in rows if s == status and task_id is not None]
        assert [seen[i] for i in ids] == list(range(1, len(ids) + 1)), (status, seen)
    for task_id, stored, _ in rows:
        assert task_id is not None
        if stored == TaskStatus.cancelled:
            cancelled.add(task_id)
        else:
            columns[TaskStatus(stored)].append(task_id)
    return columns, cancelled


def run_random_sequence(engine: Engine, world: World, seed: int, steps: int) -> None:
    rng = random.Random(seed)
    board = Board()
    plan_id = world.plan.pk
    for step in range(steps):
        live = [i for ids in board.columns.values() for i in ids]
        choice = rng.random()
        # A session per step, as each request has its own.
        with open_session(engine, write=True) as session:
            if not live or choice < 0.2:
                task = tasks.create_task(
                    session,
                    actor=world.team,
                    plan_id=plan_id,
                    data=TaskCreate(title=f"Tugas langkah {step}", lead_unit_id=world.putr.pk),
                )
                board.place(task.pk, TaskStatus.todo, None)
            elif choice < 0.8:
                task_id = rng.choice(live)
                status = rng.choice(BOARD_STATUSES)
                candidates: list[int | None] = [None, *board.columns[status]]
                others = [i for i in live if i not in board.columns[status]]
                if others:
                    candidates.append(rng.choice(others))
                if board.cancelled:
                    candidates.append(rng.choice(sorted(board.cancelled)))
                after_id = rng.choice([c for c in candidates if c != task_id])
                current = task_reads.get_task(session, task_id=task_id)
                tasks.move_task(
                    session,
                    actor=world.team,
                    task_id=task_id,
                    move=TaskMove(
                        version=current.version,
                        status=status,
                        after_id=after_id,
                        blocked_reason="Kendala acak",
                        note="Catatan acak",
                    ),
                )
                board.place(task_id, status, after_id)
            elif choice < 0.9:
                task_id = rng.choice(live)
                current = task_reads.get_task(session, task_id=task_id)
                tasks.cancel_task(
                    session, actor=world.team, task_id=task_id, version=current.version, note="x"
                )
                board.cancel(task_id)
            elif board.cancelled:
                task_id = rng.choice(sorted(board.cancelled))
                current = task_reads.get_task(session, task_id=task_id)
                tasks.restore_task(
                    session, actor=world.team, task_id=task_id, version=current.version
                )
                board.place(task_id, TaskStatus.todo, None)
        columns, cancelled = board_in_db(engine, plan_id)
        assert columns == board.columns, f"seed {seed}, step {step}"
        assert cancelled == board.cancelled, f"seed {seed}, step {step}"


@pytest.mark.parametrize("seed", range(6))
def test_random_sequences_keep_every_column_numbered_and_ordered(
    engine: Engine, world: World, seed: int
) -> None:
    run_random_sequence(engine, world, seed, steps=60)


# --- after_id that does not point into the target column -------------------------------


def _move_after(session: Session, world: World, task: Task, after_id: int) -> None:
    tasks.move_task(
        session,
        actor=world.team,
        task_id=task.pk,
        move=TaskMove(version=task.version, status=TaskStatus.in_progress, after_id=after_id),
    )


def _in_progress(engine: Engine, world: World) -> list[int]:
    return board_in_db(engine, world.plan.pk)[0][TaskStatus.in_progress]


def test_after_a_card_of_another_column_appends_at_the_end(
    session: Session, engine: Engine, world: World
) -> None:
    x, y = (new_task(session, world, status=TaskStatus.in_progress, title=f"T {n}") for n in "XY")
    elsewhere = new_task(session, world, status=TaskStatus.review)
    task = new_task(session, world)

    _move_after(session, world, task, elsewhere.pk)

    assert _in_progress(engine, world) == [y.pk, x.pk, task.pk]


def test_after_a_cancelled_card_appends_at_the_end(
    session: Session, engine: Engine, world: World
) -> None:
    x = new_task(session, world, status=TaskStatus.in_progress)
    gone = new_task(session, world)
    tasks.cancel_task(session, actor=world.team, task_id=gone.pk, version=1, note="x")
    task = new_task(session, world)

    _move_after(session, world, task, gone.pk)

    assert _in_progress(engine, world) == [x.pk, task.pk]


def test_after_a_card_of_another_plan_appends_at_the_end(
    session: Session, engine: Engine, world: World
) -> None:
    other_plan = make_plan(session, is_current=False)
    foreign = tasks.create_task(
        session,
        actor=world.team,
        plan_id=other_plan.pk,
        data=TaskCreate(title="Tugas rencana lain", lead_unit_id=world.putr.pk),
    )
    tasks.move_task(
        session,
        actor=world.team,
        task_id=foreign.pk,
        move=TaskMove(version=1, status=TaskStatus.in_progress),
    )
    x = new_task(session, world, status=TaskStatus.in_progress)
    task = new_task(session, world)

    _move_after(session, world, task, foreign.pk)

    assert _in_progress(engine, world) == [x.pk, task.pk]
    # The other plan's column is numbered on its own.
    assert board_in_db(engine, other_plan.pk)[0][TaskStatus.in_progress] == [foreign.pk]


def test_after_a_missing_task_appends_at_the_end(
    session: Session, engine: Engine, world: World
) -> None:
    x = new_task(session, world, status=TaskStatus.in_progress)
    task = new_task(session, world)

    _move_after(session, world, task, MISSING_TASK_ID)

    assert _in_progress(engine, world) == [x.pk, task.pk]


# --- constant writes --------------------------------------------------------------------


class RowsWritten:
    """Rows of `task` changed by UPDATE statements while active (cursor row counts), and the
    most any one statement changed."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.rows = 0
        self.widest = 0

    def _count(self, _conn: Any, cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("UPDATE TASK "):
            self.rows += max(0, cursor.rowcount)
            self.widest = max(self.widest, cursor.rowcount)

    def __enter__(self) -> "RowsWritten":
        event.listen(self.engine, "after_cursor_execute", self._count)
        return self

    def __exit__(self, *_exc: object) -> None:
        event.remove(self.engine, "after_cursor_execute", self._count)


def test_a_move_writes_one_task_row_whatever_the_column_length(
    session: Session, engine: Engine, world: World
) -> None:
    column = [new_task(session, world, title=f"Tugas {i}") for i in range(120)]
    order = board_in_db(engine, world.plan.pk)[0][TaskStatus.todo]
    mover = new_task(session, world, status=TaskStatus.in_progress, title="Yang dipindah")
    middle = order[60]
    for after_id in (None, middle, order[-1], MISSING_TASK_ID):
        current = task_reads.get_task(session, task_id=mover.pk)
        with RowsWritten(engine) as written:
            tasks.move_task(
                session,
                actor=world.team,
                task_id=mover.pk,
                move=TaskMove(
                    version=current.version,
                    status=TaskStatus.todo
                    if current.status != TaskStatus.todo
                    else TaskStatus.blocked,
                    after_id=after_id,
                    blocked_reason="Kendala",
                ),
            )
        # Only the moved card's row (updated in a few statements: place, then its event).
        assert written.widest == 1, (after_id, written.widest)
        assert written.rows <= 4, (after_id, written.rows)
    assert len(column) == 120


class TaskUpdates:
    """UPDATE statements on `task` while active."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.count = 0

    def _count(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("UPDATE TASK "):
            self.count += 1

    def __enter__(self) -> "TaskUpdates":
        event.listen(self.engine, "before_cursor_execute", self._count)
        return self

    def __exit__(self, *_exc: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._count)


@pytest.mark.parametrize(
    ("start", "to_status", "note"),
    [
        (TaskStatus.todo, TaskStatus.in_progress, ""),
        (TaskStatus.in_progress, TaskStatus.review, "Bukti diserahkan langsung."),
        (TaskStatus.review, TaskStatus.done, ""),
        (TaskStatus.in_progress, TaskStatus.in_progress, ""),  # a reorder
    ],
)
def test_a_move_writes_the_cards_row_in_one_statement(
    session: Session,
    engine: Engine,
    world: World,
    start: TaskStatus,
    to_status: TaskStatus,
    note: str,
) -> None:
    """Status, position, version and change number go to the database together (placing the
    card leaves its write to the change's flush)."""
    neighbours = [
        new_task(session, world, status=to_status, title=f"Tetangga {i}") for i in range(3)
    ]
    mover = new_task(session, world, status=start, title="Yang dipindah")
    current = task_reads.get_task(session, task_id=mover.pk)
    after = neighbours[1].pk  # between two cards, wherever the card stood

    # A fresh session, as a request has: nothing of the plan is held yet.
    with TaskUpdates(engine) as updates, open_session(engine, write=True) as fresh:
        tasks.move_task(
            fresh,
            actor=world.team,
            task_id=mover.pk,
            move=TaskMove(version=current.version, status=to_status, after_id=after, note=note),
        )

    assert updates.count == 1
    column = board_in_db(engine, world.plan.pk)[0][to_status]
    assert column[column.index(after) + 1] == mover.pk


def test_creating_and_cancelling_write_the_cards_row_once(
    session: Session, engine: Engine, world: World
) -> None:
    new_task(session, world, title="Tetangga")
    with TaskUpdates(engine) as created:
        task = tasks.create_task(
            session,
            actor=world.team,
            plan_id=world.plan.pk,
            data=TaskCreate(title="Baru", lead_unit_id=world.putr.pk),
        )
    assert board_in_db(engine, world.plan.pk)[0][TaskStatus.todo][0] == task.pk
    with TaskUpdates(engine) as cancelled:
        tasks.cancel_task(
            session, actor=world.team, task_id=task.pk, version=task.version, note="Batal"
        )

    assert task.pk in board_in_db(engine, world.plan.pk)[1]
    # The new row is inserted, then placed and numbered in one UPDATE; cancelling is one.
    assert (created.count, cancelled.count) == (1, 1)


def test_a_full_gap_renumbers_the_column_and_keeps_the_order(
    session: Session, engine: Engine, world: World
) -> None:
    """Dropping card after card right behind the same card halves its gap each time; when it
    is used up the column is spaced out again, in the same order."""
    anchor, below = (new_task(session, world, title=t) for t in ("Bawah", "Jangkar"))
    expected = [below.pk, anchor.pk]
    for i in range(14):  # more than log2(GAP) drops into the same gap
        task = new_task(session, world, status=TaskStatus.in_progress, title=f"Sisip {i}")
        tasks.move_task(
            session,
            actor=world.team,
            task_id=task.pk,
            move=TaskMove(version=task.version, status=TaskStatus.todo, after_id=below.pk),
        )
        expected.insert(1, task.pk)
        assert board_in_db(engine, world.plan.pk)[0][TaskStatus.todo] == expected
