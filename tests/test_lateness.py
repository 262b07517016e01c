""" "Late" means one thing everywhere: the card, the task page, the board's overdue filter,
the API's overdue filter and the dashboard's counts agree on every task on every day.

The Saturday test is the bug this definition fixed: in working-day mode the filters compared
the due date with today while the cards counted working days, so on a Saturday a task due on
Friday was "late" in /board?overdue=1 and the API's overdue=true but not on its card or the
dashboard.
"""

import random
from datetime import date, timedelta

import pytest
from sqlmodel import Session

from app.models import DayMode, Holiday, HolidayKind, Plan, Task, TaskStatus, User
from app.services import board, dashboard, task_detail, task_queries
from app.services.calendar import PlanCalendar
from app.services.filters import TaskFilter
from app.services.lateness import Lateness
from app.services.plans import plan_calendar
from tests.factories import World, make_task

FRIDAY = date(2025, 2, 28)
SATURDAY = date(2025, 3, 1)
MONDAY = date(2025, 3, 3)


def _views(session: Session, plan: Plan, user: User, today: date) -> dict[str, set[int]]:
    """The ids each view calls late on `today`."""
    calendar = plan_calendar(session, plan)
    built = board.build_board(
        session,
        plan=plan,
        user=user,
        filters=TaskFilter(),
        calendar=calendar,
        page_size=1000,
        today=today,
    )
    overdue_board = board.build_board(
        session,
        plan=plan,
        user=user,
        filters=TaskFilter(overdue=True),
        calendar=calendar,
        page_size=1000,
        today=today,
    )
    api_rows, api_total = task_queries.list_tasks(
        session,
        plan=plan,
        filters=TaskFilter(overdue=True),
        status=None,
        limit=1000,
        offset=0,
        today=today,
    )
    assert api_total == len(api_rows)
    # Without a card cache every card is loaded whole.
    cards = [slot.card for column in built.columns for slot in column.cards if slot.card]
    return {
        "card": {card.task.id or 0 for card in cards if card.is_late},
        "board filter": {
            slot.stamp.task_id for column in overdue_board.columns for slot in column.cards
        },
        "board filter count": {sum(c.count for c in overdue_board.columns)},
        "api filter": {t.id or 0 for t in api_rows},
    }


def _dashboard_late(session: Session, plan: Plan, today: date) -> int:
    stats = dashboard.group_stats(
        session,
        plan=plan,
        filters=TaskFilter(),
        calendar=plan_calendar(session, plan),
        today=today,
    )
    return stats.late


def test_a_task_due_on_friday_is_not_late_on_saturday_anywhere(
    session: Session, world: World
) -> None:
    plan = world.plan
    plan.start_date = date(2025, 2, 20)
    plan.day_mode = DayMode.working
    session.add(plan)
    session.commit()
    task = make_task(
        session,
        actor=world.team,
        plan=plan,
        lead=world.putr,
        status=TaskStatus.in_progress,
        due_date=FRIDAY,
    )
    for today, late in ((FRIDAY, False), (SATURDAY, False), (MONDAY, True)):
        views = _views(session, plan, world.team, today)
        expected = {task.id} if late else set()
        assert views["card"] == expected, today
        # Before the fix the two filters below called it late on Saturday already.
        assert views["board filter"] == expected, today
        assert views["api filter"] == expected, today
        assert views["board filter count"] == {len(expected)}, today
        assert _dashboard_late(session, plan, today) == len(expected), today
        detail = task_detail.task_detail(
            session,
            task_id=task.pk,
            user=world.team,
            today=today,
        )
        assert detail.is_late is late, today


def test_the_cutoff_skips_weekends_and_holidays_in_working_mode() -> None:
    calendar = PlanCalendar(
        start_date=date(2025, 2, 20),
        length_days=100,
        day_mode=DayMode.working,
        timezone="Asia/Jakarta",
        holidays=frozenset({FRIDAY}),
    )
    # Friday the 28th is a holiday, so the last working day on or before Saturday is Thursday.
    lateness = Lateness(calendar=calendar, today=SATURDAY)
    assert lateness.cutoff == date(2025, 2, 27)
    assert Lateness(calendar=calendar, today=MONDAY).cutoff == MONDAY
    for due in (date(2025, 2, 26), date(2025, 2, 27), FRIDAY):
        task = Task(plan_id=1, code="T", title="x", lead_unit_id=1, due_date=due)
        assert (due < lateness.cutoff) == lateness.is_late(task)


HOLIDAYS = {FRIDAY, date(2025, 3, 14)}


def _late_by_hand(task: Task, today: date, day_mode: DayMode) -> bool:
    """DESIGN §3 spelled out day by day: open, and a plan day has passed since its due date."""
    if task.due_date is None or task.status in (TaskStatus.done, TaskStatus.cancelled):
        return False
    day = task.due_date + timedelta(days=1)
    while day <= today:
        if day_mode == DayMode.calendar or (day.weekday() < 5 and day not in HOLIDAYS):
            return True
        day += timedelta(days=1)
    return False


@pytest.mark.parametrize("day_mode", [DayMode.calendar, DayMode.working])
def test_every_view_agrees_on_every_day_of_a_plan(
    session: Session, world: World, day_mode: DayMode
) -> None:
    """Random due dates and statuses (seeded); on each day from before the start to past the
    end, the card flag, both overdue filters and the dashboard count name the same tasks."""
    rng = random.Random(f"late-{day_mode.value}")
    plan = world.plan
    plan.start_date = date(2025, 2, 20)  # a Thursday; Friday 28 Feb is made a holiday below
    plan.length_days = 30
    plan.day_mode = day_mode
    session.add(plan)
    session.add(Holiday(holiday_date=FRIDAY, name="Libur uji", kind=HolidayKind.libur))
    session.add(
        Holiday(holiday_date=date(2025, 3, 14), name="Cuti uji", kind=HolidayKind.cuti_bersama)
    )
    session.commit()
    calendar = plan_calendar(session, plan)
    days = (calendar.end_date - plan.start_date).days
    statuses = [*TaskStatus]
    made: list[Task] = []
    for index in range(14):
        due = plan.start_date + timedelta(days=rng.randint(0, days))
        status = rng.choice([s for s in statuses if s != TaskStatus.cancelled])
        made.append(
            make_task(
                session,
                actor=world.team,
                plan=plan,
                lead=rng.choice([world.putr, world.dinkes]),
                title=f"Tugas {index}",
                status=status,
                due_date=due if index % 5 else None,
            )
        )
    late_days = 0
    day = plan.start_date - timedelta(days=2)
    while day <= calendar.end_date + timedelta(days=4):
        views = _views(session, plan, world.team, day)
        expected = {t.id for t in made if _late_by_hand(t, day, day_mode)}
        for name in ("card", "board filter", "api filter"):
            assert views[name] == expected, (name, day)
        assert views["board filter count"] == {len(expected)}, day
        assert _dashboard_late(session, plan, day) == len(expected), day
        late_days += bool(expected)
        day += timedelta(days=1)
    # The sample must actually contain late and not-late days to mean anything.
    assert late_days > 0
