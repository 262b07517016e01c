"""Holidays from the `holidays` package for every year a plan touches; regional days added by
the team; removals that stick; the warning for a working-day plan with a year without holidays."""

from datetime import date

from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from app.forms.holidays import HolidayInput, parse_holiday
from app.forms.plans import PlanInput, parse_plan
from app.models import DayMode, Holiday, HolidayKind, HolidayYear, Plan
from app.services import demo, holiday_source, holidays
from app.services.plans import plan_calendar
from app.services.plans import settings as plan_settings
from tests.factories import World, login, make_plan


def _plan_input(**overrides: str) -> PlanInput:
    data = {
        "name": "Program 100 Hari Kerja 2026",
        "start_date": "2026-10-05",
        "length_days": "100",
        "day_mode": "working",
        "timezone": "Asia/Jakarta",
        "make_current": "true",
    }
    data.update(overrides)
    return PlanInput.model_validate(data)


def _holidays(session: Session, year: int) -> dict[date, Holiday]:
    rows = session.exec(
        select(Holiday).where(
            col(Holiday.holiday_date) >= date(year, 1, 1),
            col(Holiday.holiday_date) <= date(year, 12, 31),
        )
    ).all()
    return {h.holiday_date: h for h in rows}


def test_the_source_has_2026_and_2027_cuti_bersama_with_indonesian_names() -> None:
    for year, leave_day, name in [
        (2026, date(2026, 3, 20), "Cuti Bersama Hari Raya Idul Fitri"),
        (2026, date(2026, 12, 24), "Cuti Bersama Hari Raya Natal"),
        (2027, date(2027, 3, 12), "Cuti Bersama Hari Raya Idul Fitri"),
        (2027, date(2027, 12, 24), "Cuti Bersama Hari Raya Natal"),
    ]:
        rows = {day: (label, kind) for day, label, kind in holiday_source.national_holidays(year)}
        assert rows[leave_day] == (name, HolidayKind.cuti_bersama)
        assert rows[date(year, 8, 17)] == ("Hari Kemerdekaan Republik Indonesia", HolidayKind.libur)
        assert sum(kind == HolidayKind.cuti_bersama for _, kind in rows.values()) >= 5


def test_a_plan_over_two_years_loads_the_holidays_of_both(session: Session, world: World) -> None:
    plan = plan_settings.create_plan(session, actor=world.team, data=parse_plan(_plan_input()))

    assert holiday_source.plan_years(plan)[:2] == [2026, 2027]
    h2026, h2027 = _holidays(session, 2026), _holidays(session, 2027)
    assert h2026[date(2026, 12, 24)].kind == HolidayKind.cuti_bersama
    assert h2026[date(2026, 12, 25)].name == "Hari Raya Natal"
    assert h2027[date(2027, 1, 1)].source == holiday_source.NATIONAL
    # The working-day calendar skips them: 24–25 Dec 2026 and 1 Jan 2027 are not working days.
    calendar = plan_calendar(session, plan)
    assert not calendar.is_working_day(date(2026, 12, 24))
    assert not calendar.is_working_day(date(2027, 1, 1))
    assert calendar.is_working_day(date(2026, 12, 23))
    assert holiday_source.years_without_holidays(session, plan) == []


def test_a_regional_day_is_added_and_a_removed_national_day_stays_removed(
    session: Session, world: World
) -> None:
    plan = plan_settings.create_plan(session, actor=world.team, data=parse_plan(_plan_input()))
    anniversary = holidays.create_holiday(
        session,
        actor=world.team,
        data=parse_holiday(
            HolidayInput(holiday_date="2026-11-02", name="Hari Jadi Kabupaten", kind="libur")
        ),
    )
    assert anniversary.source == "team"
    christmas_leave = _holidays(session, 2026)[date(2026, 12, 24)]
    holidays.delete_holiday(session, actor=world.team, holiday_id=christmas_leave.id or 0)

    # Saving the plan again (or a second plan over the same years) loads nothing twice.
    plan_settings.update_plan(
        session, actor=world.team, plan_id=plan.id or 0, data=parse_plan(_plan_input())
    )
    plan_settings.create_plan(
        session, actor=world.team, data=parse_plan(_plan_input(name="Rencana kedua"))
    )

    h2026 = _holidays(session, 2026)
    assert date(2026, 12, 24) not in h2026
    assert h2026[date(2026, 11, 2)].name == "Hari Jadi Kabupaten"
    calendar = plan_calendar(session, plan)
    assert not calendar.is_working_day(date(2026, 11, 2))
    assert calendar.is_working_day(date(2026, 12, 24))
    assert len(session.exec(select(HolidayYear)).all()) == len(holiday_source.plan_years(plan))


def test_a_working_day_plan_over_a_year_without_holidays_is_warned_about(
    session: Session, world: World, client: TestClient
) -> None:
    # A plan written straight to the database (as before this source existed): no holidays.
    world.plan.is_current = False
    session.add(world.plan)
    plan = make_plan(session, start_date=date(2026, 10, 5), day_mode=DayMode.working)
    session.add(Holiday(holiday_date=date(2026, 12, 25), name="Hari Raya Natal"))
    session.commit()

    assert holiday_source.years_without_holidays(session, plan) == [2027]
    calendar_plan = Plan(name="Kalender", start_date=date(2026, 10, 5))
    assert holiday_source.years_without_holidays(session, calendar_plan) == []

    login(client, world.team)
    for page in ("/dashboard", "/admin/plan"):
        html = client.get(page).text
        assert "belum ada hari libur untuk tahun 2027" in html, page
    login(client, world.putr_head)
    assert "belum ada hari libur untuk tahun 2027" in client.get("/dashboard").text

    # Loading the plan's years (saving its settings does it) clears the warning.
    session.rollback()  # end this session's read snapshot before writing (SQLite)
    holiday_source.load_plan_holidays(session, plan)
    session.commit()
    assert holiday_source.years_without_holidays(session, plan) == []
    login(client, world.team)
    assert "belum ada hari libur" not in client.get("/dashboard").text


def test_the_demo_plan_has_the_holidays_of_its_own_years(session: Session) -> None:
    summary = demo.load_demo(session, start_date=date(2026, 10, 12), today=date(2026, 11, 25))

    assert summary.reference.holidays > 0
    assert date(2026, 12, 24) in _holidays(session, 2026)
    assert date(2027, 1, 1) in _holidays(session, 2027)
