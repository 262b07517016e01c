"""Every rule of app/services/tasks.py, at the service level.

Each successful change must write exactly one `task_event` (actor, time) in one commit; each
refused change must write nothing and change nothing, which `assert_refused` checks by
comparing every task-related row, read through a separate connection, before and after.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from app.errors import Conflict, DomainError, Forbidden, NotFound, RuleViolation
from app.models import (
    EventKind,
    ProgressUpdate,
    Task,
    TaskCreate,
    TaskEvent,
    TaskMove,
    TaskPublic,
    TaskStatus,
    TaskUpdate,
    User,
)
from app.services import task_reads, tasks
from app.services.plans import plan_calendar
from app.services.positions import ranks as position_ranks
from tests.factories import World, make_unit
from tests.helpers import assert_refused, counting_commits, events_of, move, new_task, snapshot

# --- helpers ---------------------------------------------------------------------------


def event_total(session: Session) -> int:
    return len(session.exec(select(TaskEvent.id)).all())


def column(session: Session, world: World, status: TaskStatus) -> list[int]:
    """Task ids of a board column, top first."""
    return [
        t.id
        for t in session.exec(
            select(Task)
            .where(Task.plan_id == world.plan.id, Task.status == status)
            .order_by(col(Task.position))
        ).all()
        if t.id is not None
    ]


def positions(session: Session, world: World, status: TaskStatus) -> list[int]:
    """The column's positions as readers (the API) see them, top first: 1..n. The stored
    numbers are sparse (services.positions); these must follow the stored order."""
    stored = session.exec(
        select(Task)
        .where(Task.plan_id == world.plan.id, Task.status == status)
        .order_by(col(Task.position), col(Task.id))
    ).all()
    places = position_ranks(session, stored)
    return [places[t.id] for t in stored if t.id is not None]


def in_plan(world: World, day: int) -> date:
    return world.plan.start_date + timedelta(days=day - 1)


# --- create ----------------------------------------------------------------------------


def test_create_hands_out_sequential_codes_and_puts_each_new_task_on_top(
    session: Session, world: World
) -> None:
    created = [new_task(session, world, title=f"Tugas nomor {n}") for n in range(3)]

    assert [t.code for t in created] == ["T-001", "T-002", "T-003"]
    assert column(session, world, TaskStatus.todo) == [t.pk for t in reversed(created)]
    assert positions(session, world, TaskStatus.todo) == [1, 2, 3]
    assert all(t.status == TaskStatus.todo and t.version == 1 for t in created)


def test_create_skips_a_code_already_taken(session: Session, world: World) -> None:
    first = new_task(session, world)
    # As after an import that brought its own codes: the counter points at a taken code.
    world.plan.next_task_number = 1
    session.add(world.plan)
    session.commit()

    second = new_task(session, world)

    assert (first.code, second.code) == ("T-001", "T-002")


def test_create_records_a_created_event_with_the_given_fields(
    session: Session, world: World
) -> None:
    due = in_plan(world, 60)
    before = datetime.now(UTC)
    task = new_task(
        session,
        world,
        title="  Perbaikan jalan Desa Lebung  ",
        program_ids=[world.sehat.id, world.membangun.id],
        district_id=world.district.id,
        due_date=due,
        target="3,3 km",
        weight=3,
    )

    (event,) = events_of(session, task.pk)
    assert event.kind == EventKind.created
    assert (event.from_status, event.to_status) == (None, TaskStatus.todo)
    assert event.actor_id == world.team.id
    assert before <= event.at <= datetime.now(UTC)
    assert event.changes["title"] == [None, "Perbaikan jalan Desa Lebung"]
    assert event.changes["lead_unit_id"] == [None, world.putr.id]
    assert event.changes["program_ids"] == [
        None,
        sorted([world.sehat.pk, world.membangun.pk]),
    ]
    assert event.changes["district_id"] == [None, world.district.id]
    assert event.changes["due_date"] == [None, due.isoformat()]
    assert event.changes["target"] == [None, "3,3 km"]
    assert event.changes["weight"] == [None, 3]
    # Fields left empty are not part of the diff.
    assert "description" not in event.changes
    assert "needs_decision" not in event.changes
    assert task.title == "Perbaikan jalan Desa Lebung"


def test_create_stores_links_without_the_lead_among_the_supporting_units(
    session: Session, world: World
) -> None:
    task = new_task(
        session,
        world,
        supporting_unit_ids=[world.putr.id, world.dinkes.id, world.dinkes.id],
        program_ids=[world.membangun.id],
    )

    public = task_reads.task_public(session, task)
    assert public.lead_unit_id == world.putr.id
    assert public.supporting_unit_ids == [world.dinkes.id]
    assert public.program_ids == [world.membangun.id]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"lead_unit_id": 9999}, "lead_unit_id"),
        ({"district_id": 9999}, "district_id"),
        ({"district_id": "agency"}, "district_id"),
        ({"supporting_unit_ids": [9999]}, "supporting_unit_ids"),
        ({"program_ids": [9999]}, "program_ids"),
        ({"lead_unit_id": "inactive"}, "lead_unit_id"),
        ({"due_date": "day 0"}, "due_date"),
        ({"due_date": "day 101"}, "due_date"),
    ],
    ids=[
        "unknown lead",
        "unknown district",
        "agency as district",
        "unknown supporting unit",
        "unknown program",
        "inactive lead",
        "due before day 1",
        "due after the last day",
    ],
)
def test_create_refuses_unknown_references_and_due_dates_outside_the_plan(
    session: Session, engine: Engine, world: World, fields: dict[str, Any], field: str
) -> None:
    inactive = make_unit(session, code="OLD", name="Dinas Lama")
    inactive.is_active = False
    session.add(inactive)
    session.commit()
    resolved = {
        "title": "Tugas baru",
        "lead_unit_id": world.putr.id,
        **fields,
    }
    special = {
        "agency": world.dinkes.id,
        "inactive": inactive.id,
        "day 0": in_plan(world, 0),
        "day 101": in_plan(world, 101),
    }
    resolved = {k: special.get(v, v) if isinstance(v, str) else v for k, v in resolved.items()}
    assert_refused(
        session,
        engine,
        lambda: tasks.create_task(
            session,
            actor=world.team,
            plan_id=world.plan.pk,
            data=TaskCreate(**resolved),
        ),
        RuleViolation,
        field=field,
    )


def test_create_accepts_due_dates_on_the_first_and_last_plan_day(
    session: Session, world: World
) -> None:
    calendar = plan_calendar(session, world.plan)

    first = new_task(session, world, due_date=calendar.start_date)
    last = new_task(session, world, due_date=calendar.end_date)

    assert (first.due_date, last.due_date) == (in_plan(world, 1), in_plan(world, 100))


@pytest.mark.parametrize("who", ["putr_head", "executive"])
def test_only_the_team_creates_tasks(
    session: Session, engine: Engine, world: World, who: str
) -> None:
    actor: User = getattr(world, who)
    assert_refused(
        session,
        engine,
        lambda: tasks.create_task(
            session,
            actor=actor,
            plan_id=world.plan.pk,
            data=TaskCreate(title="Tugas baru", lead_unit_id=world.putr.pk),
        ),
        Forbidden,
    )


def test_create_in_a_missing_plan_is_not_found(session: Session, world: World) -> None:
    with pytest.raises(NotFound):
        tasks.create_task(
            session,
            actor=world.team,
            plan_id=9999,
            data=TaskCreate(title="Tugas baru", lead_unit_id=world.putr.pk),
        )


# --- update ----------------------------------------------------------------------------


def test_partial_edit_changes_only_the_given_field_and_records_the_diff(
    session: Session, world: World
) -> None:
    task = new_task(session, world, target="250 KK", weight=2)
    before = task_reads.task_public(session, task)

    edited = tasks.update_task(
        session,
        actor=world.team,
        task_id=task.pk,
        data=TaskUpdate(version=1, title="Listrik untuk 100 KK di Desa Paldas"),
    )

    after = task_reads.task_public(session, edited)
    assert after.title == "Listrik untuk 100 KK di Desa Paldas"
    assert after.version == 2
    unchanged = {"title", "version", "updated_at"}
    assert after.model_dump(exclude=unchanged) == before.model_dump(exclude=unchanged)
    last = events_of(session, task.pk)[-1]
    assert last.kind == EventKind.edited
    assert last.actor_id == world.team.id
    assert last.changes == {
        "title": ["Pembangunan jembatan Rantau Bayur", "Listrik untuk 100 KK di Desa Paldas"]
    }


def test_edit_records_old_and_new_values_of_every_changed_field(
    session: Session, world: World
) -> None:
    old_due = in_plan(world, 30)
    new_due = in_plan(world, 90)
    task = new_task(session, world, due_date=old_due, program_ids=[world.membangun.id])

    tasks.update_task(
        session,
        actor=world.team,
        task_id=task.pk,
        data=TaskUpdate(
            version=1,
            due_date=new_due,
            program_ids=[world.sehat.pk, world.membangun.pk],
            supporting_unit_ids=[world.dinkes.pk],
            district_id=world.district.id,
            needs_decision=True,
            weight=5,
            # Unchanged values are not part of the diff.
            title="Pembangunan jembatan Rantau Bayur",
        ),
    )

    last = events_of(session, task.pk)[-1]
    assert last.kind == EventKind.edited
    assert last.changes == {
        "due_date": [old_due.isoformat(), new_due.isoformat()],
        "program_ids": [[world.membangun.id], sorted([world.sehat.pk, world.membangun.pk])],
        "supporting_unit_ids": [[], [world.dinkes.id]],
        "district_id": [None, world.district.id],
        "needs_decision": [False, True],
        "weight": [1, 5],
    }
    public = task_reads.task_public(session, task)
    assert public.program_ids == sorted([world.sehat.pk, world.membangun.pk])
    assert public.supporting_unit_ids == [world.dinkes.id]
    assert (public.due_date, public.weight, public.needs_decision) == (new_due, 5, True)


def test_clearing_an_optional_field_is_an_edit(session: Session, world: World) -> None:
    due = in_plan(world, 30)
    task = new_task(session, world, due_date=due)

    tasks.update_task(
        session, actor=world.team, task_id=task.pk, data=TaskUpdate(version=1, due_date=None)
    )

    assert task.due_date is None
    assert events_of(session, task.pk)[-1].changes == {"due_date": [due.isoformat(), None]}


def test_changing_the_lead_unit_is_recorded_as_assigned(session: Session, world: World) -> None:
    task = new_task(session, world)

    tasks.update_task(
        session,
        actor=world.team,
        task_id=task.pk,
        data=TaskUpdate(version=1, lead_unit_id=world.dinkes.id, title="Penanganan stunting"),
    )

    last = events_of(session, task.pk)[-1]
    assert last.kind == EventKind.assigned
    assert last.changes["lead_unit_id"] == [world.putr.id, world.dinkes.id]
    assert last.changes["title"] == ["Pembangunan jembatan Rantau Bayur", "Penanganan stunting"]
    assert task.lead_unit_id == world.dinkes.id


def test_new_lead_unit_is_no_longer_a_supporting_unit(session: Session, world: World) -> None:
    task = new_task(session, world, supporting_unit_ids=[world.dinkes.id])

    tasks.update_task(
        session,
        actor=world.team,
        task_id=task.pk,
        data=TaskUpdate(version=1, lead_unit_id=world.dinkes.id),
    )

    assert task_reads.task_public(session, task).supporting_unit_ids == []


def test_an_edit_that_changes_nothing_writes_no_event(
    session: Session, engine: Engine, world: World
) -> None:
    task = new_task(session, world, target="250 KK")
    before = snapshot(engine)

    same = tasks.update_task(
        session,
        actor=world.team,
        task_id=task.pk,
        data=TaskUpdate(
            version=1,
            title="Pembangunan jembatan Rantau Bayur",
            target="250 KK",
            program_ids=[],
        ),
    )

    assert same.version == 1
    assert snapshot(engine) == before


def test_a_stale_edit_is_a_conflict_showing_the_current_task(
    session: Session, engine: Engine, world: World
) -> None:
    task = new_task(session, world)
    tasks.update_task(
        session,
        actor=world.team,
        task_id=task.pk,
        data=TaskUpdate(version=1, title="Judul dari pengguna pertama"),
    )

    error = assert_refused(
        session,
        engine,
        lambda: tasks.update_task(
            session,
            actor=world.team,
            task_id=task.pk,
            data=TaskUpdate(version=1, title="Judul dari pengguna kedua"),
        ),
        Conflict,
    )

    assert isinstance(error, Conflict)
    current = error.current
    assert isinstance(current, TaskPublic)
    assert (current.id, current.version, current.title) == (
        task.id,
        2,
        "Judul dari pengguna pertama",
    )
    assert task.code in error.message


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"lead_unit_id": 9999}, "lead_unit_id"),
        ({"district_id": 9999}, "district_id"),
        ({"supporting_unit_ids": [9999]}, "supporting_unit_ids"),
        ({"program_ids": [9999]}, "program_ids"),
        ({"due_date": "day 101"}, "due_date"),
    ],
    ids=[
        "unknown lead",
        "unknown district",
        "unknown supporting unit",
        "unknown program",
        "due after the plan",
    ],
)
def test_edit_refuses_bad_values(
    session: Session, engine: Engine, world: World, data: dict[str, Any], field: str
) -> None:
    task = new_task(session, world)
    values = {k: in_plan(world, 101) if v == "day 101" else v for k, v in data.items()}

    assert_refused(
        session,
        engine,
        lambda: tasks.update_task(
            session,
            actor=world.team,
            task_id=task.pk,
            data=TaskUpdate.model_validate({"version": 1, **values}),
        ),
        RuleViolation,
        field=field,
    )


def test_a_cancelled_task_cannot_be_edited(session: Session, engine: Engine, world: World) -> None:
    task = new_task(session, world)
    tasks.cancel_task(session, actor=world.team, task_id=task.pk, version=1, note="Ganda")

    assert_refused(
        session,
        engine,
        lambda: tasks.update_task(
            session,
            actor=world.team,
            task_id=task.pk,
            data=TaskUpdate(version=task.version, title="Judul baru"),
        ),
        RuleViolation,
    )


def test_editing_a_missing_task_is_not_found(session: Session, world: World) -> None:
    with pytest.raises(NotFound):
        tasks.update_task(
            session, actor=world.team, task_id=9999, data=TaskUpdate(version=1, title="Judul")
        )


# --- move: the transition table --------------------------------------------------------

ALL = (
    TaskStatus.todo,
    TaskStatus.in_progress,
    TaskStatus.blocked,
    TaskStatus.review,
    TaskStatus.done,
)
UNIT_COLUMNS = {TaskStatus.todo, TaskStatus.in_progress, TaskStatus.blocked, TaskStatus.review}


def _allowed(who: str, source: TaskStatus, target: TaskStatus) -> bool:
    """DESIGN §1/§2: the team moves anything; the lead unit moves its own tasks among the
    first four columns (never into or out of Selesai); nobody else moves anything."""
    if who == "team":
        return True
    if who == "putr_head":
        return source in UNIT_COLUMNS and target in UNIT_COLUMNS
    return False


ACTORS = ("team", "putr_head", "dinkes_head", "executive")


@pytest.mark.parametrize("source", ALL, ids=[s.value for s in ALL])
@pytest.mark.parametrize("who", ACTORS)
def test_move_transitions(
    session: Session, engine: Engine, world: World, who: str, source: TaskStatus
) -> None:
    """From `source` into every other column; putr_head leads the tasks (unit-own),
    dinkes_head belongs to another unit (unit-other)."""
    actor: User = getattr(world, who)
    for target in (t for t in ALL if t != source):
        task = new_task(session, world, status=source)

        def call(task: Task = task, target: TaskStatus = target) -> Task:
            return move(
                session, actor, task, target, blocked_reason="Lahan belum bebas", note="Cek"
            )

        if not _allowed(who, source, target):
            assert_refused(session, engine, call, Forbidden)
            continue
        version = task.version
        moved = call()
        place = position_ranks(session, [moved])[moved.pk]
        assert (moved.status, moved.version, place) == (target, version + 1, 1), target
        last = events_of(session, task.pk)[-1]
        assert (last.from_status, last.to_status) == (source, target)
        assert last.changes["status"] == [source.value, target.value]
        assert last.actor_id == actor.id


@pytest.mark.parametrize("who", ["team", "putr_head", "executive"])
def test_moving_into_cancelled_is_refused_for_everyone(
    session: Session, engine: Engine, world: World, who: str
) -> None:
    task = new_task(session, world)

    error = assert_refused(
        session,
        engine,
        lambda: move(session, getattr(world, who), task, TaskStatus.cancelled, note="x"),
        DomainError,
    )

    assert isinstance(error, RuleViolation | Forbidden)


# --- move: the rules of each column ----------------------------------------------------


@pytest.mark.parametrize("reason", ["", "   "])
@pytest.mark.parametrize("who", ["team", "putr_head"])
def test_blocked_needs_a_reason(
    session: Session, engine: Engine, world: World, who: str, reason: str
) -> None:
    task = new_task(session, world, status=TaskStatus.in_progress)

    assert_refused(
        session,
        engine,
        lambda: move(session, getattr(world, who), task, TaskStatus.blocked, blocked_reason=reason),
        RuleViolation,
        field="blocked_reason",
    )


def test_blocked_stores_the_reason_and_records_it(session: Session, world: World) -> None:
    task = new_task(session, world, status=TaskStatus.in_progress)

    move(session, world.putr_head, task, TaskStatus.blocked, blocked_reason=" Lahan belum bebas ")

    assert task.blocked_reason == "Lahan belum bebas"
    last = events_of(session, task.pk)[-1]
    assert last.kind == EventKind.moved
    assert last.actor_id == world.putr_head.id
    assert last.note == "Lahan belum bebas"
    assert last.changes == {
        "status": ["in_progress", "blocked"],
        "blocked_reason": ["", "Lahan belum bebas"],
    }


@pytest.mark.parametrize("target", [TaskStatus.todo, TaskStatus.in_progress, TaskStatus.review])
def test_leaving_blocked_clears_the_reason(
    session: Session, world: World, target: TaskStatus
) -> None:
    task = new_task(session, world, status=TaskStatus.blocked)
    assert task.blocked_reason

    note = "Bukti dukung diserahkan langsung." if target == TaskStatus.review else ""
    move(session, world.putr_head, task, target, note=note)

    assert task.blocked_reason == ""
    assert events_of(session, task.pk)[-1].changes["blocked_reason"] == [
        "Menunggu pembebasan lahan",
        "",
    ]


def test_done_is_verification_with_done_at_and_full_progress(
    session: Session, world: World
) -> None:
    task = new_task(session, world, status=TaskStatus.review)
    tasks.update_progress(
        session,
        actor=world.team,
        task_id=task.pk,
        data=ProgressUpdate(version=task.version, progress_pct=80),
    )
    before = datetime.now(UTC)

    move(session, world.team, task, TaskStatus.done, note="Sesuai bukti foto")

    assert task.status == TaskStatus.done
    assert task.done_at is not None
    assert before <= task.done_at <= datetime.now(UTC)
    assert task.progress_pct == 100
    last = events_of(session, task.pk)[-1]
    assert last.kind == EventKind.verified
    assert last.note == "Sesuai bukti foto"
    assert last.changes == {"status": ["review", "done"], "progress_pct": [80, 100]}


@pytest.mark.parametrize("target", [TaskStatus.todo, TaskStatus.in_progress, TaskStatus.review])
def test_reopening_a_done_task_clears_done_at(
    session: Session, world: World, target: TaskStatus
) -> None:
    task = new_task(session, world, status=TaskStatus.done)
    assert task.done_at is not None

    move(session, world.team, task, target, note="Dibuka kembali")

    assert task.status == target
    assert task.done_at is None


@pytest.mark.parametrize("target", [TaskStatus.in_progress, TaskStatus.todo])
def test_the_team_sending_work_back_from_review_needs_a_note(
    session: Session, engine: Engine, world: World, target: TaskStatus
) -> None:
    task = new_task(session, world, status=TaskStatus.review)

    assert_refused(
        session,
        engine,
        lambda: move(session, world.team, task, target, note="  "),
        RuleViolation,
        field="note",
    )


def test_the_team_sending_work_back_from_review_is_a_rejection(
    session: Session, world: World
) -> None:
    task = new_task(session, world, status=TaskStatus.review)

    move(session, world.team, task, TaskStatus.in_progress, note="Foto bukti belum ada")

    last = events_of(session, task.pk)[-1]
    assert last.kind == EventKind.rejected
    assert last.note == "Foto bukti belum ada"
    assert (last.from_status, last.to_status) == (TaskStatus.review, TaskStatus.in_progress)


def test_a_unit_withdrawing_its_own_report_is_a_plain_move(session: Session, world: World) -> None:
    task = new_task(session, world, status=TaskStatus.review)

    move(session, world.putr_head, task, TaskStatus.in_progress)

    last = events_of(session, task.pk)[-1]
    assert last.kind == EventKind.moved
    assert last.actor_id == world.putr_head.id
    assert task.status == TaskStatus.in_progress


def test_a_stale_move_is_a_conflict(session: Session, engine: Engine, world: World) -> None:
    task = new_task(session, world)
    move(session, world.putr_head, task, TaskStatus.in_progress)

    error = assert_refused(
        session,
        engine,
        lambda: move(session, world.team, task, TaskStatus.review, version=1),
        Conflict,
    )

    assert isinstance(error, Conflict)
    assert isinstance(error.current, TaskPublic)
    assert (error.current.status, error.current.version) == (TaskStatus.in_progress, 2)
    # The message names who changed it last, so the second user knows whom to ask.
    assert world.putr_head.full_name in error.message


def test_moving_a_missing_task_is_not_found(session: Session, world: World) -> None:
    with pytest.raises(NotFound):
        tasks.move_task(
            session,
            actor=world.team,
            task_id=9999,
            move=TaskMove(version=1, status=TaskStatus.in_progress),
        )


# --- move: placement -------------------------------------------------------------------


def test_reordering_within_a_column_writes_no_event_and_keeps_the_version(
    session: Session, world: World
) -> None:
    a, b, c = (new_task(session, world, title=f"Tugas {n}") for n in "ABC")
    assert column(session, world, TaskStatus.todo) == [c.pk, b.pk, a.pk]
    events = event_total(session)
    session.expire_all()  # as in a request of its own (see the test below for why)

    move(session, world.putr_head, c, TaskStatus.todo, after_id=a.pk)

    assert column(session, world, TaskStatus.todo) == [b.pk, a.pk, c.pk]
    assert positions(session, world, TaskStatus.todo) == [1, 2, 3]
    assert c.version == 1
    assert event_total(session) == events


def test_placement_is_right_in_a_long_lived_session(session: Session, world: World) -> None:
    """The CLI, the demo loader and imports run many service calls in one session."""
    a, b, c = (new_task(session, world, title=f"Tugas {n}") for n in "ABC")

    move(session, world.team, c, TaskStatus.todo, after_id=a.pk)

    assert column(session, world, TaskStatus.todo) == [b.pk, a.pk, c.pk]


def test_reordering_without_after_id_puts_the_card_on_top(session: Session, world: World) -> None:
    a, b, c = (new_task(session, world, title=f"Tugas {n}") for n in "ABC")

    move(session, world.team, a, TaskStatus.todo)

    assert column(session, world, TaskStatus.todo) == [a.pk, c.pk, b.pk]


def test_a_stale_reorder_is_still_a_conflict(
    session: Session, engine: Engine, world: World
) -> None:
    a = new_task(session, world, title="Tugas A")
    new_task(session, world, title="Tugas B")

    assert_refused(
        session,
        engine,
        lambda: move(session, world.team, a, TaskStatus.todo, version=5),
        Conflict,
    )


def test_a_move_places_the_card_after_the_given_card(session: Session, world: World) -> None:
    x, y = (new_task(session, world, status=TaskStatus.in_progress, title=f"T {n}") for n in "XY")
    task = new_task(session, world)
    assert column(session, world, TaskStatus.in_progress) == [y.pk, x.pk]

    move(session, world.team, task, TaskStatus.in_progress, after_id=y.pk)

    assert column(session, world, TaskStatus.in_progress) == [y.pk, task.pk, x.pk]
    assert positions(session, world, TaskStatus.in_progress) == [1, 2, 3]
    assert column(session, world, TaskStatus.todo) == []


def test_moving_out_renumbers_the_old_column(session: Session, world: World) -> None:
    a, b, c = (new_task(session, world, title=f"Tugas {n}") for n in "ABC")

    move(session, world.team, b, TaskStatus.in_progress)

    assert column(session, world, TaskStatus.todo) == [c.pk, a.pk]
    assert positions(session, world, TaskStatus.todo) == [1, 2]


# --- progress --------------------------------------------------------------------------


@pytest.mark.parametrize("pct", [0, 1, 55, 100])
def test_progress_and_realisation_are_recorded(session: Session, world: World, pct: int) -> None:
    task = new_task(session, world, status=TaskStatus.in_progress, target="250 KK")
    start = task.progress_pct

    tasks.update_progress(
        session,
        actor=world.putr_head,
        task_id=task.pk,
        data=ProgressUpdate(
            version=task.version, progress_pct=pct, realisation=" 120 KK ", note="Tahap 1"
        ),
    )

    assert (task.progress_pct, task.realisation) == (pct, "120 KK")
    last = events_of(session, task.pk)[-1]
    assert last.kind == EventKind.progress
    assert last.actor_id == world.putr_head.id
    assert last.note == "Tahap 1"
    expected: dict[str, Any] = {"realisation": ["", "120 KK"]}
    if pct != start:
        expected["progress_pct"] = [start, pct]
    assert last.changes == expected


@pytest.mark.parametrize("pct", [-1, 101])
def test_progress_outside_0_to_100_is_invalid(pct: int) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        ProgressUpdate(version=1, progress_pct=pct)


def test_progress_without_any_change_writes_no_event(
    session: Session, engine: Engine, world: World
) -> None:
    task = new_task(session, world, status=TaskStatus.in_progress)
    before = snapshot(engine)

    tasks.update_progress(
        session,
        actor=world.team,
        task_id=task.pk,
        data=ProgressUpdate(version=task.version, progress_pct=0),
    )

    assert snapshot(engine) == before


@pytest.mark.parametrize("status", [TaskStatus.done, TaskStatus.cancelled])
def test_progress_is_frozen_on_done_and_cancelled_tasks(
    session: Session, engine: Engine, world: World, status: TaskStatus
) -> None:
    task = new_task(session, world, status=TaskStatus.done)
    if status == TaskStatus.cancelled:
        tasks.cancel_task(
            session, actor=world.team, task_id=task.pk, version=task.version, note="Ganda"
        )

    assert_refused(
        session,
        engine,
        lambda: tasks.update_progress(
            session,
            actor=world.team,
            task_id=task.pk,
            data=ProgressUpdate(version=task.version, progress_pct=50),
        ),
        RuleViolation,
        field="progress_pct",
    )


@pytest.mark.parametrize("who", ["dinkes_head", "executive"])
def test_progress_by_another_unit_or_the_executive_is_forbidden(
    session: Session, engine: Engine, world: World, who: str
) -> None:
    task = new_task(session, world, status=TaskStatus.in_progress)

    assert_refused(
        session,
        engine,
        lambda: tasks.update_progress(
            session,
            actor=getattr(world, who),
            task_id=task.pk,
            data=ProgressUpdate(version=task.version, progress_pct=50),
        ),
        Forbidden,
    )


def test_a_stale_progress_update_is_a_conflict(
    session: Session, engine: Engine, world: World
) -> None:
    task = new_task(session, world, status=TaskStatus.in_progress)

    assert_refused(
        session,
        engine,
        lambda: tasks.update_progress(
            session,
            actor=world.putr_head,
            task_id=task.pk,
            data=ProgressUpdate(version=task.version - 1, progress_pct=50),
        ),
        Conflict,
    )


# --- comments and directives -----------------------------------------------------------


@pytest.mark.parametrize("who", ["team", "putr_head"])
def test_comment_by_the_team_or_the_lead_unit(session: Session, world: World, who: str) -> None:
    task = new_task(session, world)
    actor: User = getattr(world, who)

    tasks.add_comment(session, actor=actor, task_id=task.pk, note="  Menunggu DAK cair  ")

    last = events_of(session, task.pk)[-1]
    assert (last.kind, last.note, last.actor_id) == (
        EventKind.comment,
        "Menunggu DAK cair",
        actor.id,
    )


@pytest.mark.parametrize("who", ["team", "executive"])
def test_directive_by_the_executive_or_the_team(session: Session, world: World, who: str) -> None:
    task = new_task(session, world)
    actor: User = getattr(world, who)

    tasks.add_directive(session, actor=actor, task_id=task.pk, note="Selesaikan sebelum Juni")

    last = events_of(session, task.pk)[-1]
    assert (last.kind, last.note, last.actor_id) == (
        EventKind.directive,
        "Selesaikan sebelum Juni",
        actor.id,
    )


@pytest.mark.parametrize("note", ["", "   "])
@pytest.mark.parametrize("kind", ["comment", "directive"])
def test_an_empty_note_is_refused(
    session: Session, engine: Engine, world: World, kind: str, note: str
) -> None:
    task = new_task(session, world)
    service = tasks.add_comment if kind == "comment" else tasks.add_directive

    assert_refused(
        session,
        engine,
        lambda: service(session, actor=world.team, task_id=task.pk, note=note),
        RuleViolation,
        field="note",
    )


@pytest.mark.parametrize(
    ("kind", "who"),
    [
        ("comment", "dinkes_head"),
        ("comment", "executive"),
        ("directive", "putr_head"),
        ("directive", "dinkes_head"),
    ],
)
def test_notes_by_the_wrong_role_are_forbidden(
    session: Session, engine: Engine, world: World, kind: str, who: str
) -> None:
    task = new_task(session, world)
    service = tasks.add_comment if kind == "comment" else tasks.add_directive

    assert_refused(
        session,
        engine,
        lambda: service(session, actor=getattr(world, who), task_id=task.pk, note="Catatan"),
        Forbidden,
    )


# --- verify and reject -----------------------------------------------------------------


def test_verify_moves_review_to_done(session: Session, world: World) -> None:
    task = new_task(session, world, status=TaskStatus.review)

    tasks.verify_task(
        session, actor=world.team, task_id=task.pk, version=task.version, note="Lengkap"
    )

    assert task.status == TaskStatus.done
    assert task.done_at is not None
    last = events_of(session, task.pk)[-1]
    assert (last.kind, last.note, last.from_status) == (
        EventKind.verified,
        "Lengkap",
        TaskStatus.review,
    )


def test_reject_sends_review_back_to_in_progress_with_the_note(
    session: Session, world: World
) -> None:
    task = new_task(session, world, status=TaskStatus.review)

    tasks.reject_task(
        session, actor=world.team, task_id=task.pk, version=task.version, note="Kurang foto"
    )

    assert task.status == TaskStatus.in_progress
    last = events_of(session, task.pk)[-1]
    assert (last.kind, last.note, last.to_status) == (
        EventKind.rejected,
        "Kurang foto",
        TaskStatus.in_progress,
    )


@pytest.mark.parametrize(
    "status", [TaskStatus.todo, TaskStatus.in_progress, TaskStatus.blocked, TaskStatus.done]
)
@pytest.mark.parametrize("action", ["verify", "reject"])
def test_verify_and_reject_only_from_review(
    session: Session, engine: Engine, world: World, action: str, status: TaskStatus
) -> None:
    task = new_task(session, world, status=status)
    service = tasks.verify_task if action == "verify" else tasks.reject_task

    assert_refused(
        session,
        engine,
        lambda: service(
            session, actor=world.team, task_id=task.pk, version=task.version, note="Catatan"
        ),
        RuleViolation,
    )


@pytest.mark.parametrize("note", ["", "  "])
def test_reject_needs_a_note(session: Session, engine: Engine, world: World, note: str) -> None:
    task = new_task(session, world, status=TaskStatus.review)

    assert_refused(
        session,
        engine,
        lambda: tasks.reject_task(
            session, actor=world.team, task_id=task.pk, version=task.version, note=note
        ),
        RuleViolation,
        field="note",
    )


# --- cancel and restore ----------------------------------------------------------------


def test_cancel_takes_the_task_off_the_board_and_renumbers_its_column(
    session: Session, world: World
) -> None:
    a, b, c = (
        new_task(session, world, status=TaskStatus.in_progress, title=f"T {n}") for n in "ABC"
    )

    tasks.cancel_task(
        session, actor=world.team, task_id=b.pk, version=b.version, note=" Digabung ke T-001 "
    )

    assert b.status == TaskStatus.cancelled
    assert column(session, world, TaskStatus.in_progress) == [c.pk, a.pk]
    assert positions(session, world, TaskStatus.in_progress) == [1, 2]
    last = events_of(session, b.pk)[-1]
    assert last.kind == EventKind.cancelled
    assert (last.from_status, last.to_status) == (TaskStatus.in_progress, TaskStatus.cancelled)
    assert last.note == "Digabung ke T-001"
    assert last.changes == {"status": ["in_progress", "cancelled"]}


def test_cancelling_a_done_task_clears_done_at(session: Session, world: World) -> None:
    task = new_task(session, world, status=TaskStatus.done)

    tasks.cancel_task(session, actor=world.team, task_id=task.pk, version=task.version, note="x")

    assert task.done_at is None


@pytest.mark.parametrize("note", ["", "   "])
def test_cancel_needs_a_reason(session: Session, engine: Engine, world: World, note: str) -> None:
    task = new_task(session, world)

    assert_refused(
        session,
        engine,
        lambda: tasks.cancel_task(session, actor=world.team, task_id=task.pk, version=1, note=note),
        RuleViolation,
        field="note",
    )


def test_cancelling_twice_is_refused(session: Session, engine: Engine, world: World) -> None:
    task = new_task(session, world)
    tasks.cancel_task(session, actor=world.team, task_id=task.pk, version=1, note="Ganda")

    assert_refused(
        session,
        engine,
        lambda: tasks.cancel_task(
            session, actor=world.team, task_id=task.pk, version=task.version, note="Lagi"
        ),
        RuleViolation,
    )


def test_restore_brings_the_task_back_on_top_of_todo(session: Session, world: World) -> None:
    task = new_task(session, world, status=TaskStatus.blocked)
    other = new_task(session, world)
    tasks.cancel_task(session, actor=world.team, task_id=task.pk, version=task.version, note="x")

    tasks.restore_task(session, actor=world.team, task_id=task.pk, version=task.version)

    assert task.status == TaskStatus.todo
    assert column(session, world, TaskStatus.todo) == [task.pk, other.pk]
    last = events_of(session, task.pk)[-1]
    assert last.kind == EventKind.moved
    assert (last.from_status, last.to_status) == (TaskStatus.cancelled, TaskStatus.todo)


def test_restoring_a_task_that_is_not_cancelled_is_refused(
    session: Session, engine: Engine, world: World
) -> None:
    task = new_task(session, world)

    assert_refused(
        session,
        engine,
        lambda: tasks.restore_task(session, actor=world.team, task_id=task.pk, version=1),
        RuleViolation,
    )


@pytest.mark.parametrize("action", ["cancel", "restore"])
def test_stale_cancel_and_restore_are_conflicts(
    session: Session, engine: Engine, world: World, action: str
) -> None:
    task = new_task(session, world, status=TaskStatus.in_progress)
    if action == "restore":
        tasks.cancel_task(
            session, actor=world.team, task_id=task.pk, version=task.version, note="x"
        )

    def call() -> Task:
        if action == "cancel":
            return tasks.cancel_task(
                session, actor=world.team, task_id=task.pk, version=1, note="x"
            )
        return tasks.restore_task(session, actor=world.team, task_id=task.pk, version=1)

    assert_refused(session, engine, call, Conflict)


# --- every change: one event, one commit; every refusal: nothing -----------------------


Operation = Callable[[Session, World, Task], object]

SUCCESSFUL: dict[str, tuple[TaskStatus, str, Operation]] = {
    "edit": (
        TaskStatus.todo,
        "team",
        lambda s, w, t: tasks.update_task(
            s, actor=w.team, task_id=t.pk, data=TaskUpdate(version=t.version, weight=4)
        ),
    ),
    "assign": (
        TaskStatus.todo,
        "team",
        lambda s, w, t: tasks.update_task(
            s,
            actor=w.team,
            task_id=t.pk,
            data=TaskUpdate(version=t.version, lead_unit_id=w.dinkes.id),
        ),
    ),
    "move": (
        TaskStatus.todo,
        "putr_head",
        lambda s, w, t: move(s, w.putr_head, t, TaskStatus.in_progress),
    ),
    "block": (
        TaskStatus.in_progress,
        "putr_head",
        lambda s, w, t: move(s, w.putr_head, t, TaskStatus.blocked, blocked_reason="Hujan"),
    ),
    "progress": (
        TaskStatus.in_progress,
        "putr_head",
        lambda s, w, t: tasks.update_progress(
            s,
            actor=w.putr_head,
            task_id=t.pk,
            data=ProgressUpdate(version=t.version, progress_pct=30),
        ),
    ),
    "comment": (
        TaskStatus.todo,
        "putr_head",
        lambda s, w, t: tasks.add_comment(s, actor=w.putr_head, task_id=t.pk, note="Catatan"),
    ),
    "directive": (
        TaskStatus.todo,
        "executive",
        lambda s, w, t: tasks.add_directive(s, actor=w.executive, task_id=t.pk, note="Arahan"),
    ),
    "verify": (
        TaskStatus.review,
        "team",
        lambda s, w, t: tasks.verify_task(s, actor=w.team, task_id=t.pk, version=t.version),
    ),
    "reject": (
        TaskStatus.review,
        "team",
        lambda s, w, t: tasks.reject_task(
            s, actor=w.team, task_id=t.pk, version=t.version, note="Perbaiki"
        ),
    ),
    "cancel": (
        TaskStatus.blocked,
        "team",
        lambda s, w, t: tasks.cancel_task(
            s, actor=w.team, task_id=t.pk, version=t.version, note="Ganda"
        ),
    ),
}


@pytest.mark.parametrize("name", list(SUCCESSFUL))
def test_every_change_writes_exactly_one_event_in_one_commit(
    session: Session, world: World, name: str
) -> None:
    status, who, operation = SUCCESSFUL[name]
    task = new_task(session, world, status=status)
    actor: User = getattr(world, who)
    count = event_total(session)
    start = datetime.now(UTC)

    with counting_commits(session) as commits:
        operation(session, world, task)

    assert commits.count == 1
    assert event_total(session) == count + 1
    last = events_of(session, task.pk)[-1]
    assert last.actor_id == actor.id
    assert last.plan_id == world.plan.id
    assert start <= last.at <= datetime.now(UTC)
    assert task.updated_at == last.at


def test_restore_writes_exactly_one_event_in_one_commit(session: Session, world: World) -> None:
    task = new_task(session, world)
    tasks.cancel_task(session, actor=world.team, task_id=task.pk, version=1, note="x")
    count = event_total(session)

    with counting_commits(session) as commits:
        tasks.restore_task(session, actor=world.team, task_id=task.pk, version=task.version)

    assert (commits.count, event_total(session)) == (1, count + 1)


@dataclass
class Refusal:
    status: TaskStatus
    operation: Operation
    error: type[DomainError]


REFUSALS: dict[str, Refusal] = {
    "unit edits": Refusal(
        TaskStatus.todo,
        lambda s, w, t: tasks.update_task(
            s, actor=w.putr_head, task_id=t.pk, data=TaskUpdate(version=t.version, weight=3)
        ),
        Forbidden,
    ),
    "unit marks done": Refusal(
        TaskStatus.review,
        lambda s, w, t: move(s, w.putr_head, t, TaskStatus.done),
        Forbidden,
    ),
    "blocked without reason": Refusal(
        TaskStatus.in_progress,
        lambda s, w, t: move(s, w.team, t, TaskStatus.blocked),
        RuleViolation,
    ),
    "rejection without note, into blocked": Refusal(
        TaskStatus.review,
        lambda s, w, t: move(s, w.team, t, TaskStatus.blocked, blocked_reason="Hujan"),
        RuleViolation,
    ),
    "stale move": Refusal(
        TaskStatus.in_progress,
        lambda s, w, t: move(s, w.team, t, TaskStatus.review, version=1),
        Conflict,
    ),
    "progress on done": Refusal(
        TaskStatus.done,
        lambda s, w, t: tasks.update_progress(
            s,
            actor=w.team,
            task_id=t.pk,
            data=ProgressUpdate(version=t.version, progress_pct=5),
        ),
        RuleViolation,
    ),
    "executive comments": Refusal(
        TaskStatus.todo,
        lambda s, w, t: tasks.add_comment(s, actor=w.executive, task_id=t.pk, note="x"),
        Forbidden,
    ),
    "cancel without note": Refusal(
        TaskStatus.todo,
        lambda s, w, t: tasks.cancel_task(s, actor=w.team, task_id=t.pk, version=1, note=""),
        RuleViolation,
    ),
    "unit cancels": Refusal(
        TaskStatus.todo,
        lambda s, w, t: tasks.cancel_task(s, actor=w.putr_head, task_id=t.pk, version=1, note="x"),
        Forbidden,
    ),
    "edit with unknown program": Refusal(
        TaskStatus.todo,
        lambda s, w, t: tasks.update_task(
            s, actor=w.team, task_id=t.pk, data=TaskUpdate(version=1, program_ids=[9999])
        ),
        RuleViolation,
    ),
}


@pytest.mark.parametrize("name", list(REFUSALS))
def test_every_refusal_changes_nothing(
    session: Session, engine: Engine, world: World, name: str
) -> None:
    refusal = REFUSALS[name]
    task = new_task(session, world, status=refusal.status)

    assert_refused(session, engine, lambda: refusal.operation(session, world, task), refusal.error)


@pytest.mark.parametrize("name", list(REFUSALS))
def test_a_refusal_leaves_no_pending_change_in_the_session(
    session: Session, engine: Engine, world: World, name: str
) -> None:
    """A caller that handles the error and goes on (an import, the CLI) must not persist half
    a change when it next commits."""
    refusal = REFUSALS[name]
    task = new_task(session, world, status=refusal.status)
    before = snapshot(engine)

    with pytest.raises(refusal.error):
        refusal.operation(session, world, task)
    session.commit()

    assert snapshot(engine) == before
