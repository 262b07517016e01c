"""Plans and their calendar: which plan is current, and the calendar its days follow.

The team's plan settings (create, edit, switch the current plan) are in `plans.settings`; this
module stays light because the write path (app.services.history) depends on it."""

from sqlmodel import Session, col, select

from app.errors import NotFound
from app.models import DayMode, Holiday, Plan
from app.services.calendar import PlanCalendar

# Built once: every page reads it (app.services.accounts._SESSION_BY_DIGEST says why).
_CURRENT_PLAN = select(Plan).where(col(Plan.is_current)).order_by(col(Plan.id).desc()).limit(1)


def current_plan(session: Session) -> Plan:
    """The plan marked current (the newest one if several are marked)."""
    plan = session.exec(_CURRENT_PLAN).first()
    if plan is None:
        raise NotFound("Belum ada rencana kerja aktif. Tim Transisi perlu membuatnya lebih dulu.")
    return plan


def get_plan(session: Session, *, plan_id: int) -> Plan:
    plan = session.get(Plan, plan_id)
    if plan is None:
        raise NotFound("Rencana kerja tidak ditemukan.")
    return plan


def plan_calendar(session: Session, plan: Plan) -> PlanCalendar:
    """The plan's calendar; holidays are read only in working-day mode, where they count."""
    if plan.day_mode == DayMode.working:
        holidays = session.exec(select(col(Holiday.holiday_date))).all()
        return PlanCalendar.of(plan, holidays)
    return PlanCalendar.of(plan)


def lock_plan_for_writes(session: Session, plan_id: int) -> None:
    """Serialise task writes within one plan (column renumbering reads then writes a column).

    SQLite already serialises writers (write requests BEGIN IMMEDIATE); PostgreSQL takes a row
    lock on the plan for the rest of the transaction.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.exec(select(Plan.id).where(Plan.id == plan_id).with_for_update())
