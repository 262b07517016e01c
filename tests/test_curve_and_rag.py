"""The planned curve (Kurva S) by hand, the RAG rule table, the verification-wait rule, the
lists behind the headline figures, the dashboard and curve JSON, and the demo's two cases."""

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.models import DayMode, EventKind, Holiday, Plan, Program, Rag, TaskStatus
from app.services import demo
from app.services.calendar import PlanCalendar
from app.services.chart import curve_chart, forget_kept_curve_charts, kept_curve_chart
from app.services.curve import CurveSeries, curve_csv, curve_series
from app.services.dashboard import (
    Show,
    build_dashboard,
    plan_headline,
    program_rags,
    reference,
    task_list,
)
from app.services.filters import TaskFilter
from app.services.lateness import Lateness
from app.services.rag import RED_BLOCKED_DAYS, RED_LAG, RED_LATE_SHARE, GroupStats, judge
from app.timefmt import WIB
from tests.factories import World, api_token, login
from tests.test_burndown import (
    Scripted,
    Step,
    created,
    done,
    small_plan,
    to,
    wib,
)

START = date(2025, 2, 20)
NO_FILTER = TaskFilter()


def _day(n: int) -> date:
    return START + timedelta(days=n - 1)


def due_changed(at: datetime, old: date, new: date) -> Step:
    return (at, EventKind.edited, None, {"due_date": [old.isoformat(), new.isoformat()]})


def progressed(at: datetime, old: int, new: int) -> Step:
    return (at, EventKind.progress, None, {"progress_pct": [old, new]})


def cancelled(at: datetime) -> Step:
    return (at, EventKind.cancelled, TaskStatus.cancelled, {})


def _scripted(
    session: Session,
    s: Scripted,
    name: str,
    steps: list[Step],
    *,
    due: date | None,
    weight: int = 1,
    progress: int = 0,
    review_since: date | None = None,
) -> int:
    task = s.task(name, steps, weight=weight)
    task.due_date = due
    task.progress_pct = progress
    task.review_since_date = review_since  # as the write path records a move into review
    session.add(task)
    session.commit()
    assert task.id is not None
    return task.id


@pytest.fixture
def curve_plan(session: Session, world: World) -> Plan:
    """Ten calendar days from 20 Feb 2025, baseline at the start of day 1; now is day 6.

    T1 (weight 2) due day 2, verified day 3 · T2 (1) due day 4, progress 0 → 50 on day 3 ·
    T3 (1) due day 3, moved on day 4 to day 9 · T4 (4) added on day 2, no due date (the last
    day) · T5 (2) due day 5, cancelled on day 3 and restored on day 5.
    """
    plan = small_plan(session)
    s = Scripted(session, plan, world.team, world.putr)
    before = wib(-2, "09:00")
    _scripted(
        session,
        s,
        "T1",
        [
            created(before),
            to(wib(2, "10:00"), TaskStatus.review),
            (wib(3, "10:00"), EventKind.verified, TaskStatus.done, {"progress_pct": [0, 100]}),
        ],
        due=_day(2),
        weight=2,
        progress=100,
    )
    _scripted(
        session,
        s,
        "T2",
        [
            created(before),
            to(wib(1, "09:00"), TaskStatus.in_progress),
            progressed(wib(3, "11:00"), 0, 50),
        ],
        due=_day(4),
        progress=50,
    )
    _scripted(
        session,
        s,
        "T3",
        [created(before), due_changed(wib(4, "09:00"), _day(3), _day(9))],
        due=_day(9),
    )
    _scripted(session, s, "T4", [created(wib(2, "08:00"))], due=None, weight=4)
    _scripted(
        session,
        s,
        "T5",
        [created(before), cancelled(wib(3, "12:00")), to(wib(5, "09:00"), TaskStatus.todo)],
        due=_day(5),
        weight=2,
    )
    return plan


NOW = wib(6, "12:00")


def _column(series: CurveSeries, name: str) -> list[float | None]:
    return [None if getattr(p, name) is None else round(getattr(p, name), 4) for p in series.points]


def test_curve_by_count_by_hand(session: Session, curve_plan: Plan) -> None:
    series = curve_series(session, plan=curve_plan, filters=NO_FILTER, now=NOW)

    assert [p.day for p in series.points] == list(range(11))
    assert _column(series, "scope") == [4, 4, 5, 4, 4, 5, 5, 5, 5, 5, 5]
    # Rencana: T1 due day 2; T3 due day 3 until moved on day 4 to day 9; T2 due day 4; T5
    # due day 5 (out of scope on days 3–4); T4 undated, due on the last day.
    assert _column(series, "planned") == [0, 0, 0.2, 0.5, 0.5, 0.6, 0.6, 0.6, 0.6, 0.8, 1.0]
    assert _column(series, "actual") == [0, 0, 0, 0.25, 0.25, 0.2, 0.2, *[None] * 4]
    # Realisasi fisik: T1 done plus T2 at 50 % from day 3.
    assert _column(series, "physical") == [0, 0, 0, 0.375, 0.375, 0.3, 0.3, *[None] * 4]
    assert (series.planned_today, series.actual_today) == (0.6, 0.2)


def test_curve_by_weight_by_hand(session: Session, curve_plan: Plan) -> None:
    series = curve_series(session, plan=curve_plan, filters=NO_FILTER, measure="weight", now=NOW)

    assert _column(series, "scope") == [6, 6, 10, 8, 8, 10, 10, 10, 10, 10, 10]
    assert _column(series, "planned") == [0, 0, 0.2, 0.375, 0.375, 0.5, 0.5, 0.5, 0.5, 0.6, 1.0]
    assert _column(series, "actual")[:7] == [0, 0, 0, 0.25, 0.25, 0.2, 0.2]
    assert _column(series, "physical")[:7] == [0, 0, 0, 0.3125, 0.3125, 0.25, 0.25]


def test_curve_today_matches_the_headline(session: Session, curve_plan: Plan) -> None:
    series = curve_series(session, plan=curve_plan, filters=NO_FILTER, now=NOW)
    headline = plan_headline(session, plan=curve_plan, now=NOW)

    assert headline.stats.planned_share == pytest.approx(series.planned_today)
    assert headline.stats.done_share == pytest.approx(series.actual_today)


def test_curve_csv_has_a_row_per_day(session: Session, curve_plan: Plan) -> None:
    text = curve_csv(curve_series(session, plan=curve_plan, filters=NO_FILTER, now=NOW))

    lines = text.splitlines()
    assert lines[0] == "hari,tanggal,hari_kerja,rencana,realisasi,realisasi_fisik"
    assert lines[4] == "3,2025-02-22,ya,50.00,25.00,37.50"
    assert lines[-1] == "10,2025-03-01,ya,100.00,,"


def test_a_kept_curve_drawing_is_reused_only_for_an_equal_series(
    session: Session, curve_plan: Plan
) -> None:
    forget_kept_curve_charts()
    series = curve_series(session, plan=curve_plan, filters=NO_FILTER, now=NOW)
    drawn = kept_curve_chart(series, day_label="Hari ke-3")
    assert drawn == curve_chart(series, day_label="Hari ke-3")

    # An equal series read again (another object) gets the same drawing back.
    again = curve_series(session, plan=curve_plan, filters=NO_FILTER, now=NOW)
    assert again is not series
    assert kept_curve_chart(again, day_label="Hari ke-3") is drawn
    # Another label, or one share moved, is drawn afresh.
    assert kept_curve_chart(series, day_label="Hari ke-4") is not drawn
    points = list(series.points)
    last, actual = next((i, p.actual) for i, p in enumerate(points) if p.actual)
    points[last] = replace(points[last], actual=actual / 2)
    moved = replace(series, points=points)
    redrawn = kept_curve_chart(moved, day_label="Hari ke-3")
    assert redrawn is not drawn
    assert redrawn == curve_chart(moved, day_label="Hari ke-3")
    assert redrawn.actual_points != drawn.actual_points


def test_curve_in_working_day_mode(session: Session, world: World) -> None:
    """Mon 24 – Mon 31 Mar 2025 with Thursday 27 a holiday: five working days."""
    start = date(2025, 3, 24)
    session.add(Holiday(holiday_date=date(2025, 3, 27), name="Libur uji"))
    session.commit()
    plan = small_plan(session, length=5, start=start, day_mode=DayMode.working)
    s = Scripted(session, plan, world.team, world.putr)
    before = wib(-3, "09:00", start=start)
    _scripted(session, s, "A", [created(before), done(wib(1, "10:00", start=start))], due=start)
    _scripted(session, s, "B", [created(before)], due=date(2025, 3, 26))
    _scripted(session, s, "C", [created(before)], due=date(2025, 3, 28))
    _scripted(session, s, "D", [created(before)], due=None)

    series = curve_series(session, plan=plan, filters=NO_FILTER, now=wib(8, "12:00", start=start))

    by_date = {p.date: p for p in series.points}
    assert [p.day for p in series.points] == [0, 1, 2, 3, 3, 4, 4, 4, 5]
    assert not by_date[date(2025, 3, 27)].is_working_day
    assert by_date[date(2025, 3, 26)].planned == 0.5  # A and B
    assert by_date[date(2025, 3, 27)].planned == 0.5  # the holiday adds nothing
    assert by_date[date(2025, 3, 28)].planned == 0.75
    assert by_date[date(2025, 3, 31)].planned == 1.0  # D, undated, due on the last day
    assert by_date[date(2025, 3, 24)].actual == 0.25


def test_curve_filters_select_by_current_unit(
    session: Session, curve_plan: Plan, world: World
) -> None:
    nothing = curve_series(
        session, plan=curve_plan, filters=TaskFilter(unit_id=world.dinkes.id), now=NOW
    )

    assert all(p.planned == 0 and p.scope == 0 for p in nothing.points)


# --- the RAG rule table ------------------------------------------------------------------


def _stats(**values: int) -> GroupStats:
    values.setdefault("total", 10)
    return GroupStats(**values)


def test_thresholds_are_as_documented() -> None:
    assert (RED_LATE_SHARE, RED_BLOCKED_DAYS, RED_LAG) == (0.25, 7, 0.20)


def test_no_tasks_is_grey() -> None:
    assert judge(GroupStats()).rag == Rag.grey


@pytest.mark.parametrize(
    ("name", "stats"),
    [
        # "Pro Rakyat": six tasks due on days 70–95, 30–100 % progress, none late or blocked.
        ("Pro Rakyat", GroupStats(total=6, weight=6)),
        # "Gema": one task due on day 90.
        ("Gema", GroupStats(total=1, weight=1)),
    ],
)
def test_nothing_due_yet_is_green_never_red(name: str, stats: GroupStats) -> None:
    judgement = judge(stats)

    assert judgement.rag == Rag.green, name
    assert judgement.reason == "Belum ada tugas yang jatuh tempo; tidak ada yang terkendala"


@pytest.mark.parametrize(
    ("due", "late", "colour"),
    [(4, 1, Rag.red), (5, 1, Rag.amber), (8, 2, Rag.red), (9, 2, Rag.amber), (1, 1, Rag.red)],
)
def test_late_share_boundary(due: int, late: int, colour: Rag) -> None:
    stats = _stats(
        total=40,
        planned=due,
        due=due,
        due_delivered=due - late,
        delivered=due - late,
        late=late,
        most_days_late=2,
    )

    judgement = judge(stats)

    assert judgement.rag == colour
    assert judgement.reason.startswith(f"{late} dari {due} tugas yang jatuh tempo belum selesai")


@pytest.mark.parametrize(
    ("days", "colour"),
    [(RED_BLOCKED_DAYS, Rag.red), (RED_BLOCKED_DAYS - 1, Rag.amber), (0, Rag.amber)],
)
def test_blocked_days_boundary(days: int, colour: Rag) -> None:
    judgement = judge(_stats(blocked=1, longest_blocked_days=days))

    assert judgement.rag == colour
    assert judgement.reason == f"1 terkendala, terlama sejak {days} hari"


@pytest.mark.parametrize(("delivered", "colour"), [(0, Rag.red), (1, Rag.green)])
def test_lag_behind_its_own_plan_boundary(delivered: int, colour: Rag) -> None:
    # Two of ten due, none late (both sent for verification late, say): 20 points is Red.
    judgement = judge(_stats(planned=2, due=2, delivered=delivered))

    assert judgement.rag == colour
    if colour == Rag.red:
        assert judgement.reason.startswith("Tertinggal 20 poin dari rencananya sendiri")


def test_reason_names_every_problem() -> None:
    stats = _stats(
        total=20,
        planned=5,
        due=5,
        due_delivered=3,
        delivered=3,
        late=2,
        blocked=1,
        most_days_late=4,
        longest_blocked_days=9,
    )

    assert judge(stats).reason == (
        "2 dari 5 tugas yang jatuh tempo belum selesai (terlama 4 hari);"
        " 1 terkendala, terlama sejak 9 hari"
    )


def test_green_reasons() -> None:
    assert judge(_stats(done=10, delivered=10, planned=3, due=3)).reason == "Semua 10 tugas selesai"
    on_track = judge(_stats(done=3, planned=3, due=2, delivered=3, due_delivered=2))
    assert on_track.rag == Rag.green
    assert on_track.reason == "Sesuai rencana: selesai 30 %, rencana hari ini 30 %"


# --- verification time is the team's ------------------------------------------------------


def test_late_days_rule() -> None:
    calendar = PlanCalendar(
        start_date=START, length_days=100, day_mode=DayMode.calendar, timezone="Asia/Jakarta"
    )
    today, due = _day(10), _day(7)

    lateness = Lateness(calendar=calendar, today=today)

    def late(status: TaskStatus, since: date | None) -> int:
        return lateness.days_late_of(status=status, due_date=due, review_since_date=since)

    assert late(TaskStatus.in_progress, None) == 3
    assert late(TaskStatus.review, _day(7)) == 0  # sent on its due date: not late
    assert late(TaskStatus.review, _day(5)) == 0
    assert late(TaskStatus.review, _day(8)) == 3  # sent after its due date: stays late
    assert late(TaskStatus.done, None) == 0
    assert late(TaskStatus.blocked, _day(2)) == 3


@pytest.fixture
def review_plan(session: Session, world: World) -> Plan:
    """Now is day 10. On time: sent on day 6, due day 7. Late: sent on day 9, due day 7.
    Blocked since day 5."""
    plan = small_plan(session, length=20)
    s = Scripted(session, plan, world.team, world.putr)
    before = wib(-2, "09:00")
    _scripted(
        session,
        s,
        "ontime",
        [created(before), to(wib(6, "15:00"), TaskStatus.review)],
        due=_day(7),
        review_since=_day(6),
    )
    _scripted(
        session,
        s,
        "tardy",
        [created(before), to(wib(9, "15:00"), TaskStatus.review)],
        due=_day(7),
        review_since=_day(9),
    )
    _scripted(
        session,
        s,
        "stuck",
        [created(before), to(wib(5, "10:00"), TaskStatus.blocked)],
        due=_day(15),
    )
    return plan


def test_review_waits_count_for_the_team_not_the_agency(
    session: Session, review_plan: Plan
) -> None:
    now = wib(10, "12:00")
    d = build_dashboard(
        session, plan=review_plan, filters=NO_FILTER, reference_data=reference(session), now=now
    )

    assert d.headline.stats.late == 1  # only the one sent after its due date
    assert (d.review.count, d.review.oldest_days) == (2, 4)
    assert d.headline.stats.longest_blocked_days == 5
    late = task_list(
        session,
        plan=review_plan,
        show=Show.late,
        filters=NO_FILTER,
        reference_data=reference(session),
        now=now,
    )
    assert [line.task.title for line in late.lines] == ["Tugas tardy"]
    review = task_list(
        session,
        plan=review_plan,
        show=Show.review,
        filters=NO_FILTER,
        reference_data=reference(session),
        now=now,
    )
    assert sorted(line.status_days for line in review.lines) == [1, 4]


# --- the lists behind the figures, the page, the API -----------------------------------------


def test_tiles_lead_to_their_lists(
    client: TestClient, review_plan: Plan, world: World, session: Session
) -> None:
    review_plan.is_current = True
    session.add(review_plan)
    world.plan.is_current = False
    session.add(world.plan)
    session.commit()
    login(client, world.executive)

    html = client.get("/dashboard").text

    for show in ("done", "planned", "late", "blocked", "decision", "review"):
        assert f'href="/dashboard/tasks?show={show}" data-figure="{show}"' in html
    review = client.get("/dashboard/tasks", params={"show": "review"})
    assert review.status_code == 200
    assert 'Tugas menunggu verifikasi <span class="muted">(2)</span>' in review.text
    assert "menunggu verifikasi sejak" in review.text
    blocked = client.get("/dashboard/tasks", params={"show": "blocked"}).text
    assert "Tugas stuck" in blocked
    assert "Tugas tardy" not in blocked
    unknown = client.get("/dashboard/tasks", params={"show": "<script>"})
    assert unknown.status_code == 200
    assert "<script>" not in unknown.text


def test_dashboard_and_curve_json(client: TestClient, world: World, session: Session) -> None:
    headers = api_token(client, world.executive)

    body = client.get("/api/v1/dashboard", headers=headers).json()
    curve = client.get("/api/v1/curve", params={"measure": "weight"}, headers=headers).json()
    csv = client.get("/dashboard/curve.csv")

    assert set(body["headline"]) >= {"day", "done_pct", "planned_pct", "rag", "reason", "counts"}
    assert {"programs", "units", "districts", "attention", "review_queue"} <= set(body)
    row = body["programs"][0]
    assert set(row) == {"id", "name", "rag", "reason", "planned_share", "done_share", "counts"}
    assert curve["measure"] == "weight"
    assert set(curve["points"][0]) == {
        "day",
        "date",
        "is_working_day",
        "planned",
        "actual",
        "physical",
        "scope",
    }
    assert csv.status_code in (401, 303, 200)  # a page route: needs the session cookie
    assert client.get("/api/v1/dashboard").status_code == 401
    schema = client.get("/openapi.json").json()
    assert "/api/v1/dashboard" in schema["paths"]
    assert "/api/v1/curve" in schema["paths"]


# --- the demo's two cases --------------------------------------------------------------------


def test_demo_pro_rakyat_and_gema_are_not_red(session: Session) -> None:
    today = date(2025, 4, 5)  # day 45 of a plan starting 20 Feb 2025
    summary = demo.load_demo(session, start_date=START, today=today)
    now = datetime.combine(today, time(12), tzinfo=WIB).astimezone(UTC)

    rows = {row.name: row for row in program_rags(session, plan=summary.plan, now=now)}

    for name in ("Pro Rakyat", "Gema"):
        program = session.exec(select(Program).where(Program.short_name == name)).first()
        assert program is not None, name
        assert rows[name].rag == Rag.green, (name, rows[name].reason)
        assert rows[name].stats.planned == 0
    # Every Red names its reason.
    assert all(row.reason for row in rows.values())


def test_every_view_agrees_a_task_sent_in_time_is_not_late(session: Session, world: World) -> None:
    """Sent through the write path on its due date, waiting since: not late on the card, the
    board's and the API's overdue filters, the task page or the dashboard; the one sent late
    stays late everywhere."""
    from app.models import TaskMove
    from app.services import task_detail, tasks
    from tests.factories import make_task
    from tests.test_lateness import _dashboard_late, _views

    today = datetime.now(WIB).date()
    in_time = make_task(
        session,
        actor=world.team,
        plan=world.plan,
        lead=world.putr,
        status=TaskStatus.in_progress,
        due_date=today,
    )
    tasks.move_task(
        session,
        actor=world.team,
        task_id=in_time.id or 0,
        move=TaskMove(status=TaskStatus.review, version=in_time.version, note="Berita acara"),
    )
    session.refresh(in_time)
    assert in_time.review_since_date == today
    late_one = make_task(
        session,
        actor=world.team,
        plan=world.plan,
        lead=world.putr,
        status=TaskStatus.in_progress,
        due_date=today - timedelta(days=5),
    )
    tasks.move_task(
        session,
        actor=world.team,
        task_id=late_one.id or 0,
        move=TaskMove(status=TaskStatus.review, version=late_one.version, note="Terlambat"),
    )
    later = today + timedelta(days=3)  # the first task's due date has passed by now

    views = _views(session, world.plan, world.team, later)

    for name in ("card", "board filter", "api filter"):
        assert views[name] == {late_one.id}, name
    assert _dashboard_late(session, world.plan, later) == 1
    detail = task_detail.task_detail(session, task_id=in_time.id or 0, user=world.team, today=later)
    assert not detail.is_late
