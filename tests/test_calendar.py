"""The plan calendar (app/services/calendar.py) on Banyuasin's real dates.

Day 1 is Thursday 20 February 2025. Counted in calendar days (as Banyuasin does) day 100 is
Friday 30 May 2025; counted in working days (Monday–Friday minus the 2025 holidays and cuti
bersama of the SKB 3 Menteri) it is 31 July 2025 (REFERENCE.md).
"""

from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import Session

from app.models import DayMode, Holiday, HolidayKind, Plan
from app.services.calendar import PlanCalendar
from app.services.holiday_source import national_holidays
from app.services.plans import plan_calendar
from app.timefmt import format_day_date, format_long_date, format_wib_time

START = date(2025, 2, 20)


def holidays_2025() -> list[tuple[date, str, str]]:
    return [(day, name, kind.value) for day, name, kind in national_holidays(2025)]


def banyuasin(day_mode: DayMode = DayMode.calendar, *, holidays: bool = True) -> PlanCalendar:
    plan = Plan(name="Program 100 Hari Kerja", start_date=START, length_days=100, day_mode=day_mode)
    return PlanCalendar.of(plan, [d for d, _, _ in holidays_2025()] if holidays else [])


def wib(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    """An instant given in WIB (UTC+7), as an aware UTC datetime."""
    return datetime(year, month, day, hour, minute, tzinfo=UTC) - timedelta(hours=7)


# --- calendar mode ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "number"),
    [
        (date(2025, 2, 20), 1),
        (date(2025, 2, 21), 2),
        (date(2025, 3, 1), 10),
        (date(2025, 4, 5), 45),
        (date(2025, 5, 30), 100),
        (date(2025, 6, 11), 112),
    ],
)
def test_calendar_day_numbers(value: date, number: int) -> None:
    calendar = banyuasin()

    assert calendar.day_number(value) == number
    assert calendar.date_of_day(number) == value


def test_days_before_the_start_are_not_plan_days() -> None:
    calendar = banyuasin()

    assert calendar.day_number(date(2025, 2, 19)) < 1
    assert calendar.day_number(date(2025, 2, 17)) < calendar.day_number(date(2025, 2, 19))


def test_calendar_mode_ignores_holidays_and_weekends() -> None:
    calendar = banyuasin()

    assert calendar.is_working_day(date(2025, 2, 22))  # a Saturday
    assert calendar.is_working_day(date(2025, 3, 31))  # Idul Fitri
    assert calendar.end_date == date(2025, 5, 30)


def test_the_plan_contains_exactly_its_days() -> None:
    calendar = banyuasin()

    assert calendar.contains(date(2025, 2, 20))
    assert calendar.contains(date(2025, 5, 30))
    assert not calendar.contains(date(2025, 2, 19))
    assert not calendar.contains(date(2025, 5, 31))


# --- the WIB day boundary --------------------------------------------------------------


def test_the_day_changes_at_midnight_wib_not_utc() -> None:
    calendar = banyuasin()
    late_evening = wib(2025, 3, 1, 23, 30)  # 16:30 UTC
    after_midnight = wib(2025, 3, 2, 0, 30)  # 17:30 UTC, still 1 March in UTC

    assert after_midnight.astimezone(UTC).date() == date(2025, 3, 1)
    assert calendar.local_date(late_evening) == date(2025, 3, 1)
    assert calendar.local_date(after_midnight) == date(2025, 3, 2)
    assert calendar.day_number(calendar.today(after_midnight)) == (
        calendar.day_number(calendar.today(late_evening)) + 1
    )


def test_17_30_utc_is_00_30_wib_of_the_next_day() -> None:
    calendar = banyuasin()

    assert calendar.today(datetime(2025, 2, 19, 17, 30, tzinfo=UTC)) == date(2025, 2, 20)
    assert calendar.today(datetime(2025, 2, 19, 16, 59, tzinfo=UTC)) == date(2025, 2, 19)
    assert calendar.day_number(calendar.today(datetime(2025, 2, 19, 17, 30, tzinfo=UTC))) == 1


def test_another_timezone_moves_the_boundary() -> None:
    plan = Plan(name="x", start_date=START, timezone="Asia/Jayapura")  # WIT, UTC+9
    calendar = PlanCalendar.of(plan)

    assert calendar.today(datetime(2025, 2, 19, 15, 30, tzinfo=UTC)) == date(2025, 2, 20)


# --- labels ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "label"),
    [
        (date(2025, 2, 17), "H-3"),
        (date(2025, 2, 19), "H-1"),
        (date(2025, 2, 20), "Hari ke-1 dari 100"),
        (date(2025, 4, 5), "Hari ke-45 dari 100"),
        (date(2025, 5, 30), "Hari ke-100 dari 100"),
        (date(2025, 5, 31), "Hari ke-101 (rencana berakhir 30 Mei 2025)"),
        (date(2025, 6, 11), "Hari ke-112 (rencana berakhir 30 Mei 2025)"),
    ],
)
def test_day_labels(value: date, label: str) -> None:
    assert banyuasin().day_label(value) == label


def test_day_label_after_a_working_day_plan() -> None:
    assert banyuasin(DayMode.working).day_label(date(2025, 8, 1)) == (
        "Hari ke-101 (rencana berakhir 31 Jul 2025)"
    )


# --- working-day mode ------------------------------------------------------------------


def _working_days_by_hand(first: date, last: date, holidays: set[date]) -> list[date]:
    """The working days in [first, last], counted one by one (independent of the code)."""
    days = []
    current = first
    while current <= last:
        if current.weekday() < 5 and current not in holidays:
            days.append(current)
        current += timedelta(days=1)
    return days


def test_the_holiday_source_holds_the_2025_skb() -> None:
    rows = holidays_2025()

    # SKB 3 Menteri of 14 Oct 2024: 17 national holidays and 11 days of cuti bersama.
    assert Counter(kind for _, _, kind in rows) == {"libur": 17, "cuti_bersama": 11}
    assert (date(2025, 3, 31), "Hari Raya Idul Fitri", "libur") in rows
    assert (date(2025, 4, 7), "Cuti Bersama Hari Raya Idul Fitri", "cuti_bersama") in rows


def test_working_day_100_is_31_july_2025() -> None:
    calendar = banyuasin(DayMode.working)
    by_hand = _working_days_by_hand(START, date(2025, 12, 31), {d for d, _, _ in holidays_2025()})

    assert by_hand[99] == date(2025, 7, 31)
    assert calendar.date_of_day(100) == date(2025, 7, 31)
    assert calendar.end_date == date(2025, 7, 31)
    assert calendar.day_number(date(2025, 7, 31)) == 100


def test_every_working_day_has_its_own_number() -> None:
    calendar = banyuasin(DayMode.working)
    holidays = {d for d, _, _ in holidays_2025()}

    for number, value in enumerate(
        _working_days_by_hand(START, date(2025, 8, 29), holidays), start=1
    ):
        assert calendar.day_number(value) == number, value
        assert calendar.date_of_day(number) == value


@pytest.mark.parametrize(
    ("value", "same_as"),
    [
        (date(2025, 2, 22), date(2025, 2, 21)),  # Saturday → Friday
        (date(2025, 2, 23), date(2025, 2, 21)),  # Sunday → Friday
        (date(2025, 3, 28), date(2025, 3, 27)),  # cuti bersama Nyepi → Thursday
        (date(2025, 4, 7), date(2025, 3, 27)),  # the long Idul Fitri break
        (date(2025, 5, 1), date(2025, 4, 30)),  # Hari Buruh
    ],
)
def test_a_non_working_day_carries_the_last_working_days_number(value: date, same_as: date) -> None:
    calendar = banyuasin(DayMode.working)

    assert not calendar.is_working_day(value)
    assert calendar.day_number(value) == calendar.day_number(same_as)


def test_working_mode_without_holidays_skips_only_weekends() -> None:
    calendar = banyuasin(DayMode.working, holidays=False)
    by_hand = _working_days_by_hand(START, date(2025, 12, 31), set())

    assert calendar.date_of_day(100) == by_hand[99]
    assert calendar.is_working_day(date(2025, 3, 31))


def test_plan_calendar_reads_holidays_only_in_working_mode(session: Session) -> None:
    for holiday_date, name, kind in holidays_2025():
        session.add(Holiday(holiday_date=holiday_date, name=name, kind=HolidayKind(kind)))
    working = Plan(name="Kerja", start_date=START, day_mode=DayMode.working)
    calendar_days = Plan(name="Kalender", start_date=START)
    session.add_all([working, calendar_days])
    session.commit()

    assert plan_calendar(session, working).end_date == date(2025, 7, 31)
    assert plan_calendar(session, calendar_days).end_date == date(2025, 5, 30)


# --- days late -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("due", "today", "late"),
    [
        (date(2025, 3, 10), date(2025, 3, 10), 0),
        (date(2025, 3, 10), date(2025, 3, 9), 0),
        (date(2025, 3, 10), date(2025, 3, 11), 1),
        (date(2025, 3, 10), date(2025, 3, 15), 5),
        (date(2025, 3, 28), date(2025, 4, 8), 11),
    ],
)
def test_days_late_in_calendar_mode(due: date, today: date, late: int) -> None:
    assert banyuasin().days_late(due, today) == late


@pytest.mark.parametrize(
    ("due", "today", "late"),
    [
        (date(2025, 2, 21), date(2025, 2, 21), 0),
        (date(2025, 2, 21), date(2025, 2, 23), 0),  # Friday → Sunday: no working day missed
        (date(2025, 2, 21), date(2025, 2, 24), 1),  # → Monday
        (date(2025, 2, 21), date(2025, 2, 28), 5),
        (date(2025, 3, 27), date(2025, 4, 7), 0),  # across Nyepi and Idul Fitri
        (date(2025, 3, 27), date(2025, 4, 8), 1),
        (date(2025, 3, 29), date(2025, 4, 9), 2),  # due on a holiday
    ],
)
def test_days_late_in_working_mode(due: date, today: date, late: int) -> None:
    assert banyuasin(DayMode.working).days_late(due, today) == late


# --- formatting ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (date(2025, 5, 30), "30 Mei 2025"),
        (date(2025, 2, 20), "20 Feb 2025"),
        (date(2025, 8, 17), "17 Agu 2025"),
        (date(2025, 10, 1), "1 Okt 2025"),
        (date(2025, 12, 25), "25 Des 2025"),
    ],
)
def test_format_day_date(value: date, text: str) -> None:
    assert format_day_date(value) == text


def test_long_dates_and_wib_times() -> None:
    assert format_long_date(date(2025, 2, 20)) == "Kamis, 20 Februari 2025"
    assert format_wib_time(datetime(2025, 2, 20, 7, 5, tzinfo=UTC)) == "20 Feb 2025 14.05 WIB"
    assert format_wib_time(datetime(2025, 2, 19, 17, 30, tzinfo=UTC)) == "20 Feb 2025 00.30 WIB"
