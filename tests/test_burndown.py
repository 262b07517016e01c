"""The burndown series (DESIGN §3) against hand-computed fixtures, plus a randomised history
driven through the real task services and checked against a naive day-by-day replay.

Fixtures write tasks and their events directly, with exact instants, the way the task
services write them (kinds, from/to status, `{"field": [old, new]}` changes). Every plan day
boundary is midnight WIB (UTC+7): 00:30 WIB on day 3 is still the UTC date of day 2.
"""

import random
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from sqlmodel import Session, col, select

from app.models import (
    DayMode,
    EventKind,
    Holiday,
    Plan,
    Program,
    ProgramKind,
    Task,
    TaskEvent,
    TaskMove,
    TaskProgram,
    TaskStatus,
    TaskSupportingUnit,
    TaskUpdate,
    Unit,
    User,
)
from app.services import demo, task_reads, tasks
from app.services.burndown import (
    FORECAST_WINDOW_DAYS,
    MEASURES,
    BurndownSeries,
    Forecast,
    Measure,
    burndown_csv,
    burndown_series,
    date_frame,
    expected_done_fraction,
)
from app.services.calendar import PlanCalendar
from app.services.filters import TaskFilter
from app.timefmt import WIB
from tests.factories import World, make_plan, make_program, make_task, make_unit

START = date(2025, 2, 20)  # Thursday, day 1 in Banyuasin
NO_FILTER = TaskFilter()


# --- helpers ---------------------------------------------------------------------------


def wib(day: int, clock: str, *, start: date = START) -> datetime:
    """The instant at `clock` (HH:MM, WIB) on calendar day `day` of a plan starting `start`
    (day 0 is the day before day 1, negative days before that)."""
    hours, minutes = (int(part) for part in clock.split(":"))
    local = datetime.combine(start + timedelta(days=day - 1), time(hours, minutes), tzinfo=WIB)
    return local.astimezone(UTC)


def small_plan(
    session: Session,
    *,
    length: int = 10,
    start: date = START,
    day_mode: DayMode = DayMode.calendar,
    baseline_at: datetime | None = None,
) -> Plan:
    plan = make_plan(session, start_date=start, length_days=length, day_mode=day_mode)
    plan.baseline_at = baseline_at
    session.add(plan)
    session.commit()
    return plan


# One scripted event: (instant, kind, to_status or None, changes).
Step = tuple[datetime, EventKind, TaskStatus | None, dict[str, Any]]


def created(at: datetime) -> Step:
    return (at, EventKind.created, TaskStatus.todo, {})


def to(at: datetime, status: TaskStatus, kind: EventKind = EventKind.moved) -> Step:
    return (at, kind, status, {})


def done(at: datetime) -> Step:
    return (at, EventKind.verified, TaskStatus.done, {})


def cancelled(at: datetime) -> Step:
    return (at, EventKind.cancelled, TaskStatus.cancelled, {})


def reweighed(at: datetime, old: int, new: int) -> Step:
    return (at, EventKind.edited, None, {"weight": [old, new]})


@dataclass
class Scripted:
    """Writes tasks with exact histories, numbering them T-001, T-002, …"""

    session: Session
    plan: Plan
    actor: User
    lead: Unit
    count: int = 0
    ids: dict[str, int] = field(default_factory=dict)

    def task(
        self,
        name: str,
        steps: Sequence[Step],
        *,
        weight: int = 1,
        lead: Unit | None = None,
        district: Unit | None = None,
        supporting: Sequence[Unit] = (),
        programs: Sequence[Program] = (),
    ) -> Task:
        """A task whose history is `steps` (the first one its creation); its row holds the
        state those events leave, and `weight` is its weight NOW (after any edits)."""
        self.count += 1
        status = TaskStatus.todo
        for _at, _kind, to_status, _changes in steps:
            status = to_status or status
        task = Task(
            plan_id=id_of(self.plan),
            code=f"T-{self.count:03d}",
            title=f"Tugas {name}",
            lead_unit_id=id_of(lead or self.lead),
            district_id=district.id if district else None,
            status=status,
            position=self.count,
            weight=weight,
            version=len(steps),
            created_at=steps[0][0],
        )
        self.session.add(task)
        self.session.flush()
        assert task.id is not None
        self.session.add_all(
            TaskSupportingUnit(task_id=task.id, unit_id=id_of(u)) for u in supporting
        )
        self.session.add_all(TaskProgram(task_id=task.id, program_id=id_of(p)) for p in programs)
        previous: TaskStatus | None = None
        for at, kind, to_status, changes in steps:
            from_status = None
            if to_status is not None and kind != EventKind.created:
                from_status = previous
                changes = {"status": [str(previous), to_status.value], **changes}
            self.session.add(
                TaskEvent(
                    plan_id=task.plan_id,
                    task_id=task.id,
                    actor_id=self.actor.id,
                    at=at,
                    kind=kind,
                    from_status=from_status,
                    to_status=to_status,
                    changes=changes,
                )
            )
            previous = to_status or previous
        self.session.commit()
        self.ids[name] = task.id
        return task


def id_of(row: Unit | Program | Task | Plan) -> int:
    assert row.id is not None
    return row.id


def series_of(
    session: Session,
    plan: Plan,
    *,
    now: datetime,
    filters: TaskFilter = NO_FILTER,
    measure: Measure = "count",
) -> BurndownSeries:
    return burndown_series(session, plan=plan, filters=filters, measure=measure, now=now)


def column(series: BurndownSeries, name: str) -> list[Any]:
    return [getattr(p, name) for p in series.points]


def days(*values: float | None) -> list[float | None]:
    return [None if v is None else float(v) for v in values]


# --- the 10-day plan: WIB day boundaries, additions, cancellations, re-opening ------------


@pytest.fixture
def ten_days(session: Session, world: World) -> tuple[Plan, Scripted]:
    """A 10-day calendar plan (20 Feb – 1 Mar 2025), baseline at the start of day 1.

    T1 verified at 23:30 WIB on day 2 (done on day 2); T2 verified at 00:30 WIB on day 3
    (done on day 3, though it is still 21 Feb in UTC); T3 created at 23:30 WIB on day 0 (in
    the baseline); T4 created at 00:30 WIB on day 1 (an addition, though 19 Feb in UTC) and
    verified on day 5; T5 added on day 4; T6 cancelled at 00:30 on day 3 and restored at
    23:30 on day 5; T7 verified on day 2 and re-opened on day 4.
    """
    plan = small_plan(session)
    s = Scripted(session, plan, world.team, world.putr)
    before = wib(-2, "09:00")
    s.task(
        "T1",
        [
            created(before),
            to(wib(1, "10:00"), TaskStatus.in_progress),
            to(wib(2, "15:00"), TaskStatus.review),
            done(wib(2, "23:30")),
        ],
    )
    s.task(
        "T2",
        [
            created(before),
            to(wib(1, "11:00"), TaskStatus.in_progress),
            to(wib(2, "16:00"), TaskStatus.review),
            done(wib(3, "00:30")),
        ],
    )
    s.task("T3", [created(wib(0, "23:30")), to(wib(2, "09:00"), TaskStatus.in_progress)])
    s.task(
        "T4",
        [
            created(wib(1, "00:30")),
            to(wib(5, "09:00"), TaskStatus.in_progress),
            to(wib(5, "10:00"), TaskStatus.review),
            done(wib(5, "12:00")),
        ],
    )
    s.task("T5", [created(wib(4, "10:00"))])
    s.task(
        "T6",
        [
            created(before),
            cancelled(wib(3, "00:30")),
            to(wib(5, "23:30"), TaskStatus.todo),
        ],
    )
    s.task(
        "T7",
        [
            created(before),
            to(wib(1, "09:00"), TaskStatus.in_progress),
            to(wib(1, "14:00"), TaskStatus.review),
            done(wib(2, "10:00")),
            to(wib(4, "09:00"), TaskStatus.in_progress),
        ],
    )
    return plan, s


def test_ten_day_plan_by_hand(session: Session, ten_days: tuple[Plan, Scripted]) -> None:
    plan, _ = ten_days

    series = series_of(session, plan, now=wib(6, "12:00"))

    assert series.measure == "count"
    assert series.length_days == 10
    assert series.today_day == 6
    assert series.baseline_scope == 5  # T1, T2, T3, T6, T7
    assert column(series, "day") == list(range(11))
    assert column(series, "date") == [START + timedelta(days=d - 1) for d in range(11)]
    assert all(column(series, "is_working_day"))
    #                                   d0  d1  d2  d3  d4  d5  d6  d7 … d10
    assert column(series, "scope") == days(5, 6, 6, 5, 6, 7, 7, None, None, None, None)
    assert column(series, "remaining") == days(5, 6, 4, 2, 4, 4, 4, None, None, None, None)
    assert column(series, "added") == days(0, 1, 0, 0, 1, 1, 0, 0, 0, 0, 0)
    assert column(series, "removed") == days(0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0)
    assert column(series, "ideal") == pytest.approx([5, 4.5, 4, 3.5, 3, 2.5, 2, 1.5, 1, 0.5, 0])
    assert (series.current_scope, series.current_remaining, series.current_done) == (7, 4, 3)
    assert series.done_fraction == pytest.approx(3 / 7)
    assert (series.added_total, series.removed_total) == (3, 1)
    assert series.today_point is series.points[6]


def test_day_boundary_is_wib_midnight_not_utc(
    session: Session, ten_days: tuple[Plan, Scripted]
) -> None:
    plan, _ = ten_days
    # 00:30 WIB on day 3 is 17:30 UTC on 21 Feb, the UTC date of day 2.
    assert wib(3, "00:30").date() == START + timedelta(days=1)

    series = series_of(session, plan, now=wib(6, "12:00"))

    # T2, verified at 00:30 WIB on day 3, is still remaining at the end of day 2 …
    assert series.points[2].remaining == 4
    # … and T4, created at 00:30 WIB on day 1, is an addition on day 1, not part of day 0.
    assert series.points[0].scope == 5
    assert series.points[1].added == 1


def test_a_task_added_after_the_baseline_raises_scope_not_the_ideal_line(
    session: Session, ten_days: tuple[Plan, Scripted]
) -> None:
    plan, script = ten_days
    before = series_of(session, plan, now=wib(6, "12:00"))

    script.task("late", [created(wib(6, "08:00"))])
    after = series_of(session, plan, now=wib(6, "12:00"))

    assert (before.points[6].scope, before.points[6].remaining) == (7, 4)
    assert (after.points[6].scope, after.points[6].remaining) == (8, 5)
    assert after.points[6].added == 1
    assert column(after, "ideal") == column(before, "ideal")
    assert after.baseline_scope == before.baseline_scope == 5


def test_a_cancelled_task_leaves_the_scope_from_that_day_and_a_restored_one_returns(
    session: Session, ten_days: tuple[Plan, Scripted]
) -> None:
    plan, _ = ten_days

    series = series_of(session, plan, now=wib(6, "12:00"))

    scope = column(series, "scope")
    # T6: cancelled at 00:30 WIB on day 3, restored at 23:30 WIB on day 5.
    assert scope[2] - scope[3] == 1
    assert series.points[3].removed == 1
    assert series.points[5].added == 1  # the restore (and nothing else was added that day)
    for d in range(1, 7):
        point = series.points[d]
        assert scope[d] - scope[d - 1] == point.added - point.removed


def test_a_verified_task_reopened_goes_back_into_remaining(
    session: Session, ten_days: tuple[Plan, Scripted]
) -> None:
    plan, script = ten_days
    # T7 alone, under a lead unit of its own: verified on day 2, re-opened on day 4.
    solo = make_unit(session, code="SOLO")
    t7 = session.get(Task, script.ids["T7"])
    assert t7 is not None
    t7.lead_unit_id = id_of(solo)
    session.add(t7)
    session.commit()

    series = series_of(session, plan, now=wib(6, "12:00"), filters=TaskFilter(unit_id=solo.id))

    assert column(series, "remaining")[:7] == days(1, 1, 0, 0, 1, 1, 1)
    assert column(series, "scope")[:7] == days(1, 1, 1, 1, 1, 1, 1)


def test_no_actual_points_after_today(session: Session, ten_days: tuple[Plan, Scripted]) -> None:
    plan, _ = ten_days

    for today in range(0, 11):
        series = series_of(session, plan, now=wib(today, "12:00"))
        actual = [p.day for p in series.points if p.remaining is not None]
        assert actual == list(range(today + 1))
        assert all(p.scope is None for p in series.points[today + 1 :])
        # The day before day 1 is "H-1" on the plan's calendar, and the baseline point here.
        assert series.today_day == (today if today >= 1 else -1)


def test_events_after_now_are_not_counted(
    session: Session, ten_days: tuple[Plan, Scripted]
) -> None:
    plan, _ = ten_days

    # At 23:00 WIB on day 2 T1 is not verified yet (23:30); by the end of the day it is.
    at_2300 = series_of(session, plan, now=wib(2, "23:00"))
    at_2359 = series_of(session, plan, now=wib(2, "23:59"))

    assert (at_2300.points[2].remaining, at_2359.points[2].remaining) == (5, 4)
    assert at_2300.current_remaining == 5


def test_baseline_at_an_instant_takes_the_scope_then(
    session: Session, ten_days: tuple[Plan, Scripted]
) -> None:
    plan, _ = ten_days
    # Approved at 12:00 WIB on day 4: T4 (day 1) is in the baseline, T5 (10:00 day 4) too.
    plan.baseline_at = wib(4, "12:00")
    session.add(plan)
    session.commit()

    series = series_of(session, plan, now=wib(6, "12:00"))

    # At 12:00 on day 4: T1 T2 T3 T4 T5 T7 exist, T6 is cancelled.
    assert series.baseline_scope == 6
    assert series.baseline_at == wib(4, "12:00")
    assert column(series, "added") == days(0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0)
    assert column(series, "removed") == days(0) * 11
    assert series.points[0].ideal == 6
    assert series.points[10].ideal == 0


def test_baseline_before_day_one_shows_earlier_additions_on_day_zero(
    session: Session, ten_days: tuple[Plan, Scripted]
) -> None:
    plan, _ = ten_days
    plan.baseline_at = wib(-1, "08:00")  # approved two days before day 1
    session.add(plan)
    session.commit()

    series = series_of(session, plan, now=wib(6, "12:00"))

    assert series.baseline_scope == 4  # T1, T2, T6, T7 (created on day -2)
    assert series.points[0].added == 1  # T3, created at 23:30 on day 0
    assert series.points[0].scope == 5


# --- working-day mode ------------------------------------------------------------------


@pytest.fixture
def working_week(session: Session, world: World) -> tuple[Plan, Scripted]:
    """Five working days from Monday 24 Mar 2025 with a holiday on Thursday 27 Mar: day 1
    Mon 24, 2 Tue 25, 3 Wed 26, (Thu 27 holiday), 4 Fri 28, (Sat 29, Sun 30), 5 Mon 31.
    Ten tasks from before day 1; one verified each working day at 10:00 until Fri 28, and
    one at 08:00 on Mon 31."""
    start = date(2025, 3, 24)
    session.add(Holiday(holiday_date=date(2025, 3, 27), name="Libur uji"))
    session.commit()
    plan = small_plan(session, length=5, start=start, day_mode=DayMode.working)
    s = Scripted(session, plan, world.team, world.putr)
    verified = {
        "A": wib(1, "10:00", start=start),
        "B": wib(2, "10:00", start=start),
        "C": wib(3, "10:00", start=start),
        "D": wib(5, "10:00", start=start),  # Fri 28 is calendar day 5
        "E": wib(8, "08:00", start=start),  # Mon 31
    }
    for name in "ABCDEFGHIJ":
        steps = [created(wib(-3, "09:00", start=start))]
        if name in verified:
            steps.append(done(verified[name]))
        s.task(name, steps)
    return plan, s


def test_working_mode_ideal_is_flat_across_a_holiday_and_a_weekend(
    session: Session, working_week: tuple[Plan, Scripted]
) -> None:
    plan, _ = working_week
    start = plan.start_date

    series = series_of(session, plan, now=wib(8, "12:00", start=start))

    assert column(series, "date") == [start + timedelta(days=d) for d in range(-1, 8)]
    #                                       Sun Mon Tue Wed Thu Fri Sat Sun Mon
    assert column(series, "day") == [0, 1, 2, 3, 3, 4, 4, 4, 5]
    assert column(series, "is_working_day") == [0, 1, 1, 1, 0, 1, 0, 0, 1]
    assert column(series, "ideal") == pytest.approx([10, 8, 6, 4, 4, 2, 2, 2, 0])
    assert column(series, "remaining") == days(10, 9, 8, 7, 7, 6, 6, 6, 5)
    assert series.today_day == 5
    assert series.length_days == 5


def test_working_mode_forecast_counts_working_days(
    session: Session, working_week: tuple[Plan, Scripted]
) -> None:
    plan, _ = working_week

    series = series_of(session, plan, now=wib(8, "12:00", start=plan.start_date))

    # Five working days (not eight calendar days) from 10 remaining to 5: one a day; the
    # last five are done on working days 6..10: Tue 1, Wed 2, Thu 3, Fri 4, Mon 7 Apr.
    assert series.forecast.window_days == 5
    assert series.forecast.burn_per_day == 1
    assert series.forecast.day == 10
    assert series.forecast.date == date(2025, 4, 7)
    assert series.forecast.label == "Proyeksi selesai: Hari ke-10 (7 Apr 2025)"


# --- weight ----------------------------------------------------------------------------


@pytest.fixture
def weighted(session: Session, world: World) -> tuple[Plan, Scripted]:
    """Four tasks from before day 1: A (weight 3) verified on day 2; B (2) re-weighed to 5 on
    day 3 and verified on day 6; C (1) cancelled on day 4; D (4) verified on day 1 and
    re-weighed to 2 on day 5."""
    plan = small_plan(session)
    s = Scripted(session, plan, world.team, world.putr)
    before = wib(-1, "09:00")
    s.task("A", [created(before), done(wib(2, "10:00"))], weight=3)
    s.task(
        "B",
        [created(before), reweighed(wib(3, "23:30"), 2, 5), done(wib(6, "00:30"))],
        weight=5,
    )
    s.task("C", [created(before), cancelled(wib(4, "10:00"))], weight=1)
    s.task(
        "D", [created(before), done(wib(1, "10:00")), reweighed(wib(5, "10:00"), 4, 2)], weight=2
    )
    return plan, s


def test_weight_versus_count(session: Session, weighted: tuple[Plan, Scripted]) -> None:
    plan, _ = weighted
    now = wib(7, "12:00")

    by_count = series_of(session, plan, now=now, measure="count")
    by_weight = series_of(session, plan, now=now, measure="weight")

    assert by_count.baseline_scope == 4
    assert column(by_count, "scope")[:8] == days(4, 4, 4, 4, 3, 3, 3, 3)
    assert column(by_count, "remaining")[:8] == days(4, 3, 2, 2, 1, 1, 0, 0)
    assert by_weight.measure == "weight"
    assert by_weight.baseline_scope == 10  # 3 + 2 + 1 + 4, the weights in force then
    #                                             d0  d1  d2  d3  d4  d5  d6  d7
    assert column(by_weight, "scope")[:8] == days(10, 10, 10, 13, 12, 10, 10, 10)
    assert column(by_weight, "remaining")[:8] == days(10, 6, 3, 6, 5, 5, 0, 0)
    # A raised weight is an addition to the scope, a lowered one (or a cancellation) a removal.
    assert column(by_weight, "added")[:8] == days(0, 0, 0, 3, 0, 0, 0, 0)
    assert column(by_weight, "removed")[:8] == days(0, 0, 0, 0, 1, 2, 0, 0)
    assert column(by_weight, "ideal")[:3] == pytest.approx([10, 9, 8])
    assert by_weight.forecast.label == "Semua tugas selesai"
    assert by_weight.forecast.day is None


def test_weight_edits_through_the_service_are_read(session: Session, world: World) -> None:
    plan = small_plan(session, start=datetime.now(WIB).date() - timedelta(days=2), length=10)
    task = make_task(session, actor=world.team, plan=plan, lead=world.putr, weight=2)
    tasks.update_task(
        session,
        actor=world.team,
        task_id=id_of(task),
        data=TaskUpdate(version=task.version, weight=7, lead_unit_id=world.dinkes.id),
    )
    make_task(session, actor=world.team, plan=plan, lead=world.putr, weight=3)

    series = burndown_series(session, plan=plan, filters=NO_FILTER, measure="weight")

    # The lead unit changed too, so the event is `assigned`, and it still carries the weight.
    kinds = session.exec(select(TaskEvent.kind).where(TaskEvent.task_id == task.id)).all()
    assert EventKind.assigned in kinds
    assert (series.current_scope, series.current_remaining) == (10, 10)
    assert series.points[3].added == 2 + 5 + 3  # created (2), raised by 5, created (3)


# --- forecast --------------------------------------------------------------------------


def _burn(session: Session, world: World, *, length: int, total: int, done_on: list[int]) -> Plan:
    """`total` tasks from before day 1; one verified at 10:00 WIB on each day of `done_on`."""
    plan = small_plan(session, length=length)
    s = Scripted(session, plan, world.team, world.putr)
    for n in range(total):
        steps = [created(wib(-1, "09:00"))]
        if n < len(done_on):
            steps.append(done(wib(done_on[n], "10:00")))
        s.task(str(n), steps)
    return plan


def test_forecast_on_a_steady_burn(session: Session, world: World) -> None:
    plan = _burn(session, world, length=10, total=10, done_on=[1, 2, 3, 4, 5])

    forecast = series_of(session, plan, now=wib(5, "12:00")).forecast

    # Five a day-5 window: 10 → 5, one a day; five left: day 5 + 5.
    assert forecast == Forecast(
        window_days=5,
        burn_per_day=1.0,
        day=10,
        date=date(2025, 3, 1),
        remaining=5,
        scope=10,
        length_days=10,
    )
    assert forecast.label == "Proyeksi selesai: Hari ke-10 (1 Mar 2025)"


def test_forecast_window_is_the_last_fourteen_plan_days(session: Session, world: World) -> None:
    # Nothing for ten days, then one a day on days 11..20.
    plan = _burn(session, world, length=30, total=30, done_on=list(range(11, 21)))

    forecast = series_of(session, plan, now=wib(20, "12:00")).forecast

    # From the end of day 6 (30 left) to now (20 left): 10 in 14 days; 20 left take
    # ⌈20 · 14 / 10⌉ = 28 more days.
    assert FORECAST_WINDOW_DAYS == 14
    assert forecast.window_days == 14
    assert forecast.burn_per_day == pytest.approx(10 / 14)
    assert forecast.day == 48
    assert forecast.date == START + timedelta(days=47)


def test_forecast_on_a_stalled_burn(session: Session, world: World) -> None:
    plan = _burn(session, world, length=30, total=10, done_on=[1, 2])

    forecast = series_of(session, plan, now=wib(20, "12:00")).forecast

    assert forecast.window_days == 14
    assert forecast.burn_per_day == 0
    assert (forecast.day, forecast.date) == (None, None)
    assert forecast.label.startswith("Dengan laju saat ini, tugas tidak selesai sampai Hari ke-")


def test_forecast_when_scope_grows_faster_than_the_burn(session: Session, world: World) -> None:
    plan = _burn(session, world, length=10, total=4, done_on=[1])
    s = Scripted(session, plan, world.team, world.putr, count=4)
    s.task("extra-1", [created(wib(2, "09:00"))])
    s.task("extra-2", [created(wib(3, "09:00"))])

    forecast = series_of(session, plan, now=wib(3, "12:00")).forecast

    assert forecast.burn_per_day == pytest.approx(-1 / 3)  # 4 → 5 over three days
    assert forecast.day is None


def test_forecast_far_beyond_the_plan_is_not_at_this_rate(session: Session, world: World) -> None:
    # One task in ten days with 20 left: day 10 + 200, beyond 10 plan lengths (day 100).
    plan = _burn(session, world, length=10, total=21, done_on=[1])

    forecast = series_of(session, plan, now=wib(10, "12:00")).forecast

    assert forecast.window_days == 10
    assert forecast.burn_per_day == pytest.approx(0.1)
    assert forecast.day is None
    assert forecast.label.startswith("Dengan laju saat ini, tugas tidak selesai sampai Hari ke-")


# --- today before day 1 and after day L ------------------------------------------------


def test_today_before_day_one(session: Session, ten_days: tuple[Plan, Scripted]) -> None:
    plan, _ = ten_days

    series = series_of(session, plan, now=wib(-2, "12:00"))  # H-3

    assert series.today_day == -3
    assert all(p.scope is None and p.remaining is None for p in series.points)
    assert series.today_point is None
    assert (series.current_scope, series.current_remaining) == (4, 4)  # created at 09:00
    assert series.forecast.window_days == 0
    assert series.forecast.label == "Proyeksi tersedia mulai Hari ke-1"
    assert expected_done_fraction(series) == 0


def test_today_after_the_last_day(session: Session, ten_days: tuple[Plan, Scripted]) -> None:
    plan, script = ten_days
    script.task("after", [created(wib(12, "09:00"))])

    series = series_of(session, plan, now=wib(15, "12:00"))

    assert series.today_day == 15
    assert len(series.points) == 11
    assert all(p.remaining is not None for p in series.points)
    assert series.points[10].scope == 7  # at the end of day 10
    assert series.current_scope == 8  # now, with the task added on day 12
    assert series.today_point is series.points[10]
    assert expected_done_fraction(series) == 1
    # From the end of day 1 (6 left) to now (5 left), over 14 days: 5 more take 70 days.
    assert series.forecast.window_days == 14
    assert series.forecast.day == 15 + 70


def test_expected_done_fraction_follows_the_ideal_line(
    session: Session, ten_days: tuple[Plan, Scripted]
) -> None:
    plan, _ = ten_days

    series = series_of(session, plan, now=wib(6, "12:00"))

    assert expected_done_fraction(series) == pytest.approx(0.6)
    assert series.ideal_at(6) == pytest.approx(2)
    assert series.ideal_at(-5) == 5
    assert series.ideal_at(40) == 0


def test_empty_scope(session: Session, world: World) -> None:
    plan = small_plan(session)

    series = series_of(session, plan, now=wib(3, "12:00"))

    assert series.baseline_scope == 0
    assert column(series, "ideal") == [0.0] * 11
    assert column(series, "remaining")[:4] == days(0, 0, 0, 0)
    assert series.forecast.label == "Belum ada tugas dalam lingkup ini"
    assert expected_done_fraction(series) == 0


# --- filters ---------------------------------------------------------------------------


@dataclass
class FilterCase:
    world: World
    plan: Plan
    movement: Program


@pytest.fixture
def filter_case(session: Session, world: World) -> FilterCase:
    """F1 PUTR, in the district, Sehat; F2 Dinkes supported by PUTR, Gema (movement), done on
    day 2; F3 Dinkes, Membangun; F4 PUTR, cancelled on day 1."""
    plan = small_plan(session)
    movement = make_program(session, code="GEMA", kind=ProgramKind.movement)
    s = Scripted(session, plan, world.team, world.putr)
    before = wib(-1, "09:00")
    s.task("F1", [created(before)], district=world.district, programs=[world.sehat])
    s.task(
        "F2",
        [created(before), done(wib(2, "10:00"))],
        lead=world.dinkes,
        supporting=[world.putr],
        programs=[movement],
        weight=4,
    )
    s.task("F3", [created(before)], lead=world.dinkes, programs=[world.membangun])
    s.task("F4", [created(before), cancelled(wib(1, "10:00"))])
    return FilterCase(world=world, plan=plan, movement=movement)


@pytest.mark.parametrize(
    ("make_filter", "baseline", "scope_now", "remaining_now"),
    [
        pytest.param(lambda c: TaskFilter(), 4, 3, 2, id="none"),
        pytest.param(
            lambda c: TaskFilter(unit_id=c.world.putr.id), 3, 2, 1, id="unit-lead-or-support"
        ),
        pytest.param(lambda c: TaskFilter(unit_id=c.world.dinkes.id), 2, 2, 1, id="unit-dinkes"),
        pytest.param(lambda c: TaskFilter(program_id=c.world.sehat.id), 1, 1, 1, id="program"),
        pytest.param(
            lambda c: TaskFilter(program_kind=ProgramKind.movement), 1, 1, 0, id="kind-movement"
        ),
        pytest.param(
            lambda c: TaskFilter(program_kind=ProgramKind.priority), 2, 2, 2, id="kind-priority"
        ),
        pytest.param(
            lambda c: TaskFilter(program_kind=ProgramKind.pro_people), 0, 0, 0, id="kind-none"
        ),
        pytest.param(lambda c: TaskFilter(district_id=c.world.district.id), 1, 1, 1, id="district"),
        pytest.param(
            lambda c: TaskFilter(unit_id=c.world.dinkes.id, program_kind=ProgramKind.priority),
            1,
            1,
            1,
            id="unit-and-kind",
        ),
    ],
)
def test_filters(
    session: Session,
    filter_case: FilterCase,
    make_filter: Any,
    baseline: int,
    scope_now: int,
    remaining_now: int,
) -> None:
    series = series_of(
        session, filter_case.plan, now=wib(3, "12:00"), filters=make_filter(filter_case)
    )

    assert series.baseline_scope == baseline
    assert (series.current_scope, series.current_remaining) == (scope_now, remaining_now)


def test_board_only_filters_are_ignored(session: Session, filter_case: FilterCase) -> None:
    putr = filter_case.world.putr.id
    plain = series_of(
        session, filter_case.plan, now=wib(3, "12:00"), filters=TaskFilter(unit_id=putr)
    )

    noisy = series_of(
        session,
        filter_case.plan,
        now=wib(3, "12:00"),
        filters=TaskFilter(unit_id=putr, overdue=True, needs_decision=True, q="tidak ada"),
    )

    assert noisy == plain


def test_filters_use_the_tasks_current_attributes(
    session: Session, filter_case: FilterCase
) -> None:
    world = filter_case.world
    f3 = session.exec(
        select(Task).where(Task.plan_id == filter_case.plan.id, Task.code == "T-003")
    ).one()
    f3.lead_unit_id = id_of(world.putr)
    session.add(f3)
    session.commit()

    series = series_of(
        session, filter_case.plan, now=wib(3, "12:00"), filters=TaskFilter(unit_id=world.putr.id)
    )

    # F3 now belongs to PUTR, and counts for PUTR from its creation on.
    assert series.baseline_scope == 4
    assert series.points[0].scope == 4


def test_filter_and_weight_together(session: Session, filter_case: FilterCase) -> None:
    series = series_of(
        session,
        filter_case.plan,
        now=wib(3, "12:00"),
        filters=TaskFilter(program_kind=ProgramKind.movement),
        measure="weight",
    )

    assert column(series, "remaining")[:4] == days(4, 4, 0, 0)


def test_filter_query_params_and_activity() -> None:
    kind = TaskFilter(program_kind=ProgramKind.pro_people)

    assert kind.active
    assert kind.query_params() == {"kind": "pro_people"}
    assert not TaskFilter().active


# --- cost ------------------------------------------------------------------------------


@pytest.mark.parametrize("measure", ["count", "weight"])
@pytest.mark.parametrize("day_mode", [DayMode.calendar, DayMode.working])
def test_a_fixed_number_of_statements_whatever_the_history(
    session: Session,
    world: World,
    statements: list[str],
    measure: Measure,
    day_mode: DayMode,
) -> None:
    plan = small_plan(session, day_mode=day_mode, length=30)
    s = Scripted(session, plan, world.team, world.putr)
    putr = TaskFilter(unit_id=world.putr.id)

    def cost() -> int:
        session.expire_all()
        session.refresh(plan)
        statements.clear()
        series_of(session, plan, now=wib(20, "12:00"), filters=putr, measure=measure)
        return len(statements)

    s.task("one", [created(wib(-1, "09:00")), done(wib(2, "10:00"))], weight=2)
    few = cost()
    for n in range(25):
        s.task(
            f"many-{n}",
            [
                created(wib(-1, "09:00")),
                to(wib(2, "09:00"), TaskStatus.in_progress),
                reweighed(wib(3, "09:00"), 1, 3),
                to(wib(4, "09:00"), TaskStatus.review),
                done(wib(5, "10:00")),
                cancelled(wib(6, "10:00")),
            ],
            weight=3,
        )
    many = cost()

    assert many == few
    assert few == (1 if day_mode == DayMode.calendar else 2)  # + the holidays in working mode


# --- CSV -------------------------------------------------------------------------------


def test_csv_rows(session: Session, ten_days: tuple[Plan, Scripted]) -> None:
    plan, _ = ten_days

    text = burndown_csv(series_of(session, plan, now=wib(6, "12:00")))

    lines = text.split("\r\n")
    assert lines[0] == "hari,tanggal,hari_kerja,ideal,lingkup,sisa,ditambah,dikurangi"
    assert lines[1] == "0,2025-02-19,ya,5.00,5,5,0,0"
    assert lines[4] == "3,2025-02-22,ya,3.50,5,2,0,1"
    assert lines[7] == "6,2025-02-25,ya,2.00,7,4,0,0"
    assert lines[8] == "7,2025-02-26,ya,1.50,,,0,0"
    assert lines[11] == "10,2025-03-01,ya,0.00,,,0,0"
    assert lines[12:] == [""]


# --- randomised history through the real services --------------------------------------


def _random_history(session: Session, world: World, plan: Plan, rng: random.Random) -> None:
    """Thirty tasks pushed around by the task services the way people would."""
    users = {"team": world.team, "putr": world.putr_head, "dinkes": world.dinkes_head}
    created_ids: list[int] = []
    for n in range(30):
        lead = world.putr if n % 2 else world.dinkes
        task = make_task(
            session,
            actor=world.team,
            plan=plan,
            lead=lead,
            title=f"Tugas acak {n}",
            weight=rng.randint(1, 5),
            program_ids=[world.sehat.id] if n % 3 == 0 else [],
        )
        created_ids.append(id_of(task))
    for _ in range(300):
        task = task_reads.get_task(session, task_id=rng.choice(created_ids))
        assert task.id is not None
        status = TaskStatus(task.status)
        roll = rng.random()
        lead_user = users["putr"] if task.lead_unit_id == world.putr.id else users["dinkes"]
        if status == TaskStatus.cancelled:
            if roll < 0.3:
                tasks.restore_task(session, actor=world.team, task_id=task.id, version=task.version)
        elif roll < 0.03:
            tasks.cancel_task(
                session, actor=world.team, task_id=task.id, version=task.version, note="Batal"
            )
        elif roll < 0.1:
            tasks.update_task(
                session,
                actor=world.team,
                task_id=task.id,
                data=TaskUpdate(version=task.version, weight=rng.randint(1, 9)),
            )
        elif status == TaskStatus.review:
            if roll < 0.7:
                tasks.verify_task(session, actor=world.team, task_id=task.id, version=task.version)
            else:
                tasks.reject_task(
                    session, actor=world.team, task_id=task.id, version=task.version, note="Ulang"
                )
        elif status == TaskStatus.done:
            if roll < 0.15:  # the team re-opens verified work
                tasks.move_task(
                    session,
                    actor=world.team,
                    task_id=task.id,
                    move=TaskMove(version=task.version, status=TaskStatus.in_progress),
                )
        else:
            target = rng.choice(
                [TaskStatus.todo, TaskStatus.in_progress, TaskStatus.blocked, TaskStatus.review]
            )
            if target != status:
                tasks.move_task(
                    session,
                    actor=lead_user,
                    task_id=task.id,
                    move=TaskMove(
                        version=task.version,
                        status=target,
                        blocked_reason="Menunggu lahan",
                        note="Bukti dukung via surat" if target == TaskStatus.review else "",
                    ),
                )


def _spread_over_days(session: Session, plan: Plan, rng: random.Random, *, until: datetime) -> None:
    """Rewrite every event's instant so the history spans from a week before day 1 to
    `until` in the order the events were written, many of them at 23:30 or 00:30 WIB."""
    events = session.exec(
        select(TaskEvent).where(TaskEvent.plan_id == plan.id).order_by(col(TaskEvent.id))
    ).all()
    first = wib(-6, "09:00", start=plan.start_date)
    span = (until - first).total_seconds()
    instants = []
    for _ in events:
        local = (first + timedelta(seconds=rng.uniform(0, span))).astimezone(WIB)
        if rng.random() < 0.3:
            hour, minute = rng.choice([(23, 30), (0, 30)])
            local = local.replace(hour=hour, minute=minute)
        instants.append(local.astimezone(UTC))
    for row, instant in zip(events, sorted(instants), strict=True):
        row.at = instant
        session.add(row)
    session.commit()


def _initial_weight(history: Sequence[TaskEvent], *, current: int) -> int:
    """The weight a task was created with: from its created event when that says, else from
    its first weight edit, else the weight it has now."""
    for e in history:
        change = e.changes.get("weight")
        if change is not None:
            return int(change[1] if e.kind == EventKind.created else change[0])
    return current


def _naive_points(
    session: Session, plan: Plan, series: BurndownSeries, *, measure: Measure, now: datetime
) -> list[tuple[float, float]]:
    """(scope, remaining) at the end of each point's date, replaying every task's events one
    by one in the plan's timezone: slow and obvious, independent of the service's method."""
    events = session.exec(
        select(TaskEvent)
        .where(TaskEvent.plan_id == plan.id, col(TaskEvent.at) <= now)
        .order_by(col(TaskEvent.task_id), col(TaskEvent.at), col(TaskEvent.id))
    ).all()
    by_task: dict[int, list[TaskEvent]] = {}
    for e in events:
        by_task.setdefault(e.task_id, []).append(e)
    current_weight = {t.id: t.weight for t in session.exec(select(Task))}
    result = []
    for point in series.points:
        if point.scope is None:
            break
        scope = remaining = 0.0
        for task_id, history in by_task.items():
            weight = _initial_weight(history, current=current_weight[task_id])
            status: TaskStatus | None = None
            for e in history:
                if e.at.astimezone(WIB).date() > point.date:
                    break
                if e.to_status is not None:
                    status = TaskStatus(e.to_status)
                if e.kind != EventKind.created and "weight" in e.changes:
                    weight = e.changes["weight"][1]
            if status is None or status == TaskStatus.cancelled:
                continue
            amount = weight if measure == "weight" else 1
            scope += amount
            if status != TaskStatus.done:
                remaining += amount
        result.append((scope, remaining))
    return result


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_randomised_history_matches_a_naive_replay(
    session: Session, world: World, seed: int
) -> None:
    rng = random.Random(seed)
    plan = small_plan(session, start=date(2025, 2, 20), length=20)
    _random_history(session, world, plan, rng)
    now = wib(14, "12:00")
    _spread_over_days(session, plan, rng, until=now)

    for measure in MEASURES:
        series = series_of(session, plan, now=now, measure=measure)
        actual = [(p.scope, p.remaining) for p in series.points if p.scope is not None]
        assert actual == _naive_points(session, plan, series, measure=measure, now=now)
        for d in range(1, len(actual)):
            point = series.points[d]
            assert actual[d][0] - actual[d - 1][0] == point.added - point.removed


def test_remaining_today_equals_the_open_tasks_now(session: Session, world: World) -> None:
    """On the world's plan (today is day 45) after a random history by the services."""
    _random_history(session, world, world.plan, random.Random(7))
    rows = session.exec(select(Task).where(Task.plan_id == world.plan.id)).all()
    in_scope = [t for t in rows if t.status != TaskStatus.cancelled]
    open_now = [t for t in in_scope if t.status != TaskStatus.done]

    by_count = burndown_series(session, plan=world.plan, filters=NO_FILTER)
    by_weight = burndown_series(session, plan=world.plan, filters=NO_FILTER, measure="weight")

    point = by_count.today_point
    assert point is not None
    assert point.day == by_count.today_day
    assert (point.scope, point.remaining) == (len(in_scope), len(open_now))
    assert (by_count.current_scope, by_count.current_remaining) == (len(in_scope), len(open_now))
    assert by_weight.current_scope == sum(t.weight for t in in_scope)
    assert by_weight.current_remaining == sum(t.weight for t in open_now)
    # Everything happened today, after the baseline (the start of day 1): 30 created, some
    # cancelled and some of those restored.
    assert by_count.baseline_scope == 0
    assert point.added - point.removed == len(in_scope)
    assert point.added >= 30


def test_the_demo_plan_has_a_believable_burndown(session: Session) -> None:
    summary = demo.load_demo(session, start_date=None)
    plan = summary.plan
    rows = session.exec(select(Task).where(Task.plan_id == plan.id)).all()
    in_scope = [t for t in rows if t.status != TaskStatus.cancelled]
    open_now = [t for t in in_scope if t.status != TaskStatus.done]

    series = burndown_series(session, plan=plan, filters=NO_FILTER)
    by_weight = burndown_series(session, plan=plan, filters=NO_FILTER, measure="weight")

    assert series.today_day == demo.TODAY_DAY
    assert (series.current_scope, series.current_remaining) == (len(in_scope), len(open_now))
    assert by_weight.current_remaining == sum(t.weight for t in open_now)
    assert series.baseline_scope > 0
    assert 0 < series.current_remaining < series.current_scope
    assert series.forecast.burn_per_day > 0
    assert series.forecast.day is not None


def test_the_date_frame_is_made_once_per_calendar_day_and_key() -> None:
    """date_frame is kept (every dashboard build lays its series out on it): the same
    calendar, day and key give the same frame; another day, holiday or key, another one."""
    calendar = PlanCalendar(
        start_date=date(2025, 2, 20),
        length_days=10,
        day_mode=DayMode.working,
        timezone="Asia/Jakarta",
    )
    today = date(2025, 2, 25)
    frame = date_frame(calendar, today=today, key=str)

    assert date_frame(calendar, today=today, key=str) is frame
    later = date_frame(calendar, today=date(2025, 3, 10), key=str)  # past the end: longer
    assert len(later.dates) > len(frame.dates)
    holiday = replace(calendar, holidays=frozenset({date(2025, 2, 24)}))
    assert date_frame(holiday, today=today, key=str).day_numbers != frame.day_numbers
    assert date_frame(calendar, today=today, key=repr).bounds != frame.bounds
