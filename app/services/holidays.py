"""National holidays and cuti bersama as the team keeps them (the national list is loaded by
app.services.holiday_source); working-day plans count their days by them."""

from datetime import date

from sqlmodel import Session, col, select

from app import permissions
from app.forms.checker import YEAR_MIN
from app.forms.errors import FormErrors
from app.forms.holidays import HolidayData, HolidayInput
from app.models import Holiday, HolidayKind, User
from app.services.publishing import touch_public
from app.services.rows import commit_unique, get_row
from app.timefmt import format_day_date


def blank_holiday(*, actor: User) -> HolidayInput:
    """The empty form for a new holiday."""
    permissions.ensure_team(actor)
    return HolidayInput(kind=HolidayKind.libur.value)


def list_holidays(session: Session, *, actor: User) -> list[Holiday]:
    permissions.ensure_team(actor)
    return list(session.exec(select(Holiday).order_by(col(Holiday.holiday_date))).all())


def get_holiday(session: Session, *, actor: User, holiday_id: int) -> Holiday:
    permissions.ensure_team(actor)
    return get_row(session, Holiday, holiday_id, f"Hari libur #{holiday_id} tidak ditemukan.")


def _apply_holiday(session: Session, data: HolidayData, holiday: Holiday) -> Holiday:
    """The holiday with the parsed values applied, after the one-per-date rule."""
    taken = session.exec(
        select(Holiday.id).where(Holiday.holiday_date == data.holiday_date)
    ).first()
    if taken is not None and taken != holiday.id:
        message = f"Tanggal {format_day_date(data.holiday_date)} sudah tercatat."
        raise FormErrors({"holiday_date": message})
    holiday.holiday_date = data.holiday_date
    holiday.name = data.name
    holiday.kind = data.kind
    touch_public(session)  # working-day plans count days by the holidays
    return holiday


def create_holiday(session: Session, *, actor: User, data: HolidayData) -> Holiday:
    """A national holiday (libur) or collective leave day (cuti bersama)."""
    permissions.ensure_team(actor)
    holiday = _apply_holiday(session, data, Holiday(holiday_date=date(YEAR_MIN, 1, 1), name=""))
    session.add(holiday)
    commit_unique(session, field="holiday_date", message="Tanggal ini sudah tercatat.")
    return holiday


def update_holiday(session: Session, *, actor: User, holiday_id: int, data: HolidayData) -> Holiday:
    holiday = get_holiday(session, actor=actor, holiday_id=holiday_id)
    _apply_holiday(session, data, holiday)
    session.add(holiday)
    commit_unique(session, field="holiday_date", message="Tanggal ini sudah tercatat.")
    return holiday


def delete_holiday(session: Session, *, actor: User, holiday_id: int) -> Holiday:
    """Remove a holiday: reference data, nothing else points at it."""
    holiday = get_holiday(session, actor=actor, holiday_id=holiday_id)
    session.delete(holiday)
    touch_public(session)
    session.commit()
    return holiday
