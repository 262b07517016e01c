"""National holidays and cuti bersama from the `holidays` package, for every year a plan touches.

The package (Indonesia, categories public and government, Indonesian names) is maintained
upstream, including each year's SKB on cuti bersama, so nobody keeps a list by hand. A year is
loaded once and recorded in `holiday_year`: the team's later edits (a regional day added, a
national day removed) are never overwritten by a second load.
"""

from datetime import date, timedelta

import holidays
from holidays.constants import GOVERNMENT, PUBLIC
from sqlalchemy import extract
from sqlmodel import Session, col, func, select

from app.models import DayMode, Holiday, HolidayKind, HolidayYear, Plan
from app.services.calendar import PlanCalendar
from app.services.plans import plan_calendar

NATIONAL = "national"
COUNTRY = "ID"
# Working days run longer than calendar days: 100 working days are about 20 weeks, and
# holidays push the end further. This margin makes sure the end's year is loaded too.
_WORKING_MARGIN = timedelta(days=60)


def national_holidays(year: int) -> list[tuple[date, str, HolidayKind]]:
    """Indonesia's national holidays (libur) and cuti bersama of `year`, in date order."""
    days = holidays.country_holidays(
        COUNTRY, years=year, categories=(PUBLIC, GOVERNMENT), language="id"
    )
    leave = holidays.country_holidays(COUNTRY, years=year, categories=(GOVERNMENT,), language="id")
    return [
        (day, name, HolidayKind.cuti_bersama if day in leave else HolidayKind.libur)
        for day, name in sorted(days.items())
    ]


def plan_years(plan: Plan) -> list[int]:
    """The calendar years a plan touches, from day 1 to (a safe bound on) its last day."""
    last = PlanCalendar.of(plan).end_date
    if plan.day_mode == DayMode.working:
        last += _WORKING_MARGIN
    return list(range(plan.start_date.year, last.year + 1))


def load_national_holidays(session: Session, *, years: list[int]) -> int:
    """Add the national holidays of each year not loaded before; returns how many rows were
    added. Dates the team already recorded are kept as they are. Does not commit: the caller's
    transaction (creating or changing a plan, loading the demo) includes it."""
    loaded = set(
        session.exec(select(col(HolidayYear.year)).where(col(HolidayYear.year).in_(years))).all()
    )
    todo = [y for y in sorted(set(years)) if y not in loaded]
    if not todo:
        return 0
    taken = set(
        session.exec(
            select(col(Holiday.holiday_date)).where(
                col(Holiday.holiday_date) >= date(todo[0], 1, 1),
                col(Holiday.holiday_date) <= date(todo[-1], 12, 31),
            )
        ).all()
    )
    added = 0
    for year in todo:
        for day, name, kind in national_holidays(year):
            if day not in taken:
                session.add(Holiday(holiday_date=day, name=name[:120], kind=kind, source=NATIONAL))
                added += 1
        session.add(HolidayYear(year=year))
    session.flush()
    return added


def load_plan_holidays(session: Session, plan: Plan) -> int:
    """`load_national_holidays` for the years of `plan` (no commit)."""
    return load_national_holidays(session, years=plan_years(plan))


def years_without_holidays(session: Session, plan: Plan) -> list[int]:
    """Years a working-day plan covers that have no holiday at all: its day numbers would count
    national holidays as working days. Empty for calendar-day plans, where holidays do not count.
    """
    if plan.day_mode != DayMode.working:
        return []
    calendar = plan_calendar(session, plan)
    years = range(plan.start_date.year, calendar.end_date.year + 1)
    year_of = extract("year", col(Holiday.holiday_date))
    present = {
        int(y)
        for y, _ in session.exec(
            select(year_of, func.count()).where(year_of.in_(list(years))).group_by(year_of)
        ).all()
    }
    return [y for y in years if y not in present]
