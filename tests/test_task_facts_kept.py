"""The dashboard's task facts kept between calls (app.services.task_facts.kept_facts): after
any write, from this process or another, on any day and calendar, they and their groups'
figures must equal the facts read whole (`load_facts`), and a call with nothing written
since costs one statement."""

from datetime import date, timedelta

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, col

from app.db import make_engine, open_session
from app.models import DayMode, Plan, Task, TaskMove, TaskStatus, TaskUpdate, User
from app.services import tasks
from app.services.calendar import PlanCalendar
from app.services.lateness import Lateness
from app.services.plans import plan_calendar
from app.services.task_facts import Facts, TaskFact, kept_facts, load_facts
from tests.factories import World, login, make_task


def _lateness(session: Session, plan: Plan, today: date | None = None) -> Lateness:
    calendar = plan_calendar(session, plan)
    return Lateness(calendar=calendar, today=today or calendar.today())


def _sorted(facts: Facts) -> list[TaskFact]:
    return sorted(facts.tasks, key=lambda fact: fact.id)


def _assert_kept_equals_whole(session: Session, plan: Plan, lateness: Lateness) -> Facts:
    kept = kept_facts(session, plan=plan, lateness=lateness)
    whole = load_facts(session, plan=plan, lateness=lateness)
    assert _sorted(kept) == _sorted(whole)
    assert (kept.today, kept.cutoff, kept.end_date) == (whole.today, whole.cutoff, whole.end_date)
    # The groups' figures kept up to date write by write equal those summed afresh.
    assert whole.kept_grouped is None
    assert kept.grouped() == whole.grouped()
    assert kept.grouped().plan == whole.stats()  # summed task by task, without shapes
    return kept


def _fact(facts: Facts, task: Task) -> TaskFact | None:
    return next((fact for fact in facts.tasks if fact.id == task.id), None)


def _move(session: Session, actor: User, task: Task, status: TaskStatus) -> Task:
    current = session.get(Task, task.id)
    assert current is not None
    session.refresh(current)
    return tasks.move_task(
        session,
        actor=actor,
        task_id=current.pk,
        move=TaskMove(
            version=current.version,
            status=status,
            blocked_reason="Menunggu lahan" if status == TaskStatus.blocked else "",
        ),
    )


def _block_elsewhere(engine: Engine, world: World, task: Task) -> None:
    """The team moves `task` into Terkendala through an engine of its own (another process's
    connections on the same database)."""
    other = make_engine(str(engine.url))
    try:
        with open_session(other) as session:
            team = session.get(User, world.team.id)
            assert team is not None
            _move(session, team, task, TaskStatus.blocked)
    finally:
        other.dispose()


def _edit(session: Session, actor: User, task: Task, **fields: object) -> Task:
    current = session.get(Task, task.id)
    assert current is not None
    session.refresh(current)
    data = TaskUpdate.model_validate({"version": current.version, **fields})
    return tasks.update_task(session, actor=actor, task_id=current.pk, data=data)


def test_kept_facts_follow_every_kind_of_task_write(session: Session, world: World) -> None:
    today = _lateness(session, world.plan).today
    road = make_task(
        session,
        actor=world.team,
        plan=world.plan,
        lead=world.putr,
        title="Jalan poros",
        program_ids=[world.membangun.id],
        due_date=today - timedelta(days=3),
    )
    clinic = make_task(
        session, actor=world.team, plan=world.plan, lead=world.dinkes, title="Puskesmas"
    )
    make_task(
        session,
        actor=world.team,
        plan=world.plan,
        lead=world.putr,
        title="Jembatan",
        status=TaskStatus.blocked,
    )
    lateness = _lateness(session, world.plan)
    first = _assert_kept_equals_whole(session, world.plan, lateness)
    assert len(first.tasks) == 3

    # A status, the links (programs, supporting units), the due date and the decision flag.
    _move(session, world.team, clinic, TaskStatus.blocked)
    _assert_kept_equals_whole(session, world.plan, lateness)
    _edit(
        session,
        world.team,
        road,
        program_ids=[world.sehat.id],
        supporting_unit_ids=[world.dinkes.id, world.district.id],
        district_id=world.district.id,
    )
    facts = _assert_kept_equals_whole(session, world.plan, lateness)
    fact = _fact(facts, road)
    assert fact is not None
    assert (fact.programs, fact.units) == (
        (world.sehat.id,),
        (world.putr.id, world.dinkes.id, world.district.id),
    )
    _edit(session, world.team, road, due_date=None, needs_decision=True, weight=4)
    _assert_kept_equals_whole(session, world.plan, lateness)

    # A cancelled task leaves the facts, a restored one comes back, a new one arrives.
    current = session.get(Task, clinic.id)
    assert current is not None
    session.refresh(current)
    tasks.cancel_task(
        session, actor=world.team, task_id=current.pk, version=current.version, note="Batal"
    )
    facts = _assert_kept_equals_whole(session, world.plan, lateness)
    assert _fact(facts, clinic) is None
    session.refresh(current)
    tasks.restore_task(session, actor=world.team, task_id=current.pk, version=current.version)
    facts = _assert_kept_equals_whole(session, world.plan, lateness)
    assert _fact(facts, clinic) is not None
    make_task(session, actor=world.team, plan=world.plan, lead=world.dinkes, title="Posyandu")
    facts = _assert_kept_equals_whole(session, world.plan, lateness)
    assert len(facts.tasks) == 4


def test_a_write_by_another_process_is_seen(engine: Engine, world: World) -> None:
    with open_session(engine) as session:
        task = make_task(
            session, actor=world.team, plan=world.plan, lead=world.putr, title="Jalan poros"
        )
        plan = session.get(Plan, world.plan.id)
        assert plan is not None
        facts = _assert_kept_equals_whole(session, plan, _lateness(session, plan))
        assert _fact(facts, task) is not None
        assert _fact(facts, task).status == TaskStatus.todo  # type: ignore[union-attr]

    # Another process: its own engine (and connections) on the same database.
    _block_elsewhere(engine, world, task)

    with open_session(engine) as session:
        plan = session.get(Plan, world.plan.id)
        assert plan is not None
        facts = _assert_kept_equals_whole(session, plan, _lateness(session, plan))
        assert _fact(facts, task).status == TaskStatus.blocked  # type: ignore[union-attr]


def test_another_day_judges_the_kept_facts_again(session: Session, world: World) -> None:
    today = _lateness(session, world.plan).today
    due = make_task(
        session,
        actor=world.team,
        plan=world.plan,
        lead=world.putr,
        title="Jalan poros",
        due_date=today,
    )
    blocked = make_task(
        session,
        actor=world.team,
        plan=world.plan,
        lead=world.putr,
        title="Jembatan",
        status=TaskStatus.blocked,
    )
    now = _assert_kept_equals_whole(session, world.plan, _lateness(session, world.plan, today))
    assert _fact(now, due).days_late == 0  # type: ignore[union-attr]
    assert _fact(now, blocked).status_days == 0  # type: ignore[union-attr]

    later = today + timedelta(days=3)
    then = _assert_kept_equals_whole(session, world.plan, _lateness(session, world.plan, later))
    assert _fact(then, due).days_late == 3  # type: ignore[union-attr]
    assert _fact(then, blocked).status_days == 3  # type: ignore[union-attr]
    # And back: nothing of the other day is kept in the facts.
    again = _assert_kept_equals_whole(session, world.plan, _lateness(session, world.plan, today))
    assert _fact(again, due).days_late == 0  # type: ignore[union-attr]


def test_another_calendar_judges_the_kept_facts_again(session: Session, world: World) -> None:
    # Reference data the facts depend on: the plan's day mode and its holidays.
    today = _lateness(session, world.plan).today
    friday = today - timedelta(days=(today.weekday() - 4) % 7 or 7)
    task = make_task(
        session,
        actor=world.team,
        plan=world.plan,
        lead=world.putr,
        title="Jalan poros",
        due_date=friday - timedelta(days=7),
    )
    calendar = plan_calendar(session, world.plan)
    working = PlanCalendar(
        start_date=calendar.start_date,
        length_days=calendar.length_days,
        day_mode=DayMode.working,
        timezone=calendar.timezone,
    )
    holiday = PlanCalendar(
        start_date=calendar.start_date,
        length_days=calendar.length_days,
        day_mode=DayMode.working,
        timezone=calendar.timezone,
        holidays=frozenset({friday - timedelta(days=1)}),
    )
    days = []
    for each in (calendar, working, holiday, calendar):
        facts = _assert_kept_equals_whole(session, world.plan, Lateness(each, friday))
        days.append(_fact(facts, task).days_late)  # type: ignore[union-attr]
    assert days == [7, 5, 4, 7]


def test_a_plan_whose_number_went_back_is_read_whole(
    session: Session, world: World, engine: Engine
) -> None:
    task = make_task(session, actor=world.team, plan=world.plan, lead=world.putr, title="Jalan")
    lateness = _lateness(session, world.plan)
    _assert_kept_equals_whole(session, world.plan, lateness)
    # A restored backup: an older state under lower change numbers.
    with engine.begin() as conn:
        conn.execute(
            sa.update(Task).where(col(Task.id) == task.id).values(status="blocked", change_seq=0)
        )
        conn.execute(sa.update(Plan).where(col(Plan.id) == world.plan.id).values(change_seq=0))
    session.rollback()
    facts = _assert_kept_equals_whole(session, world.plan, lateness)
    assert _fact(facts, task).status == TaskStatus.blocked  # type: ignore[union-attr]


def test_a_task_written_without_a_change_number_is_noticed(
    session: Session, world: World, engine: Engine
) -> None:
    make_task(session, actor=world.team, plan=world.plan, lead=world.putr, title="Jalan")
    lateness = _lateness(session, world.plan)
    _assert_kept_equals_whole(session, world.plan, lateness)
    with engine.begin() as conn:
        conn.execute(
            sa.insert(Task).values(
                plan_id=world.plan.id,
                code="T-900",
                title="Dimasukkan langsung",
                lead_unit_id=world.dinkes.id,
                status="todo",
                change_seq=0,
            )
        )
    session.rollback()
    facts = _assert_kept_equals_whole(session, world.plan, lateness)
    assert len(facts.tasks) == 2


def test_nothing_written_since_costs_one_statement(
    session: Session, world: World, statements: list[str]
) -> None:
    task = make_task(session, actor=world.team, plan=world.plan, lead=world.putr, title="Jalan")
    lateness = _lateness(session, world.plan)
    kept_facts(session, plan=world.plan, lateness=lateness)
    statements.clear()
    kept_facts(session, plan=world.plan, lateness=lateness)
    assert len(statements) == 1
    _move(session, world.team, task, TaskStatus.in_progress)
    statements.clear()
    facts = kept_facts(session, plan=world.plan, lateness=lateness)
    assert len(statements) == 4  # the plan's number, then the task written since and its links
    assert _fact(facts, task).status == TaskStatus.in_progress  # type: ignore[union-attr]


def test_the_dashboard_shows_a_write_by_another_process(
    client: TestClient, engine: Engine, session: Session, world: World
) -> None:
    task = make_task(
        session, actor=world.team, plan=world.plan, lead=world.putr, title="Jembatan Sungai Musi"
    )
    login(client, world.executive)
    assert 'Perlu perhatian <span class="muted small">(0 tugas)' in client.get("/dashboard").text
    _block_elsewhere(engine, world, task)
    page = client.get("/dashboard").text
    assert 'Perlu perhatian <span class="muted small">(1 tugas)' in page
    assert "Terkendala sejak 0 hari: Menunggu lahan" in page
