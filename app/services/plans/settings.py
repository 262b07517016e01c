"""The team's plan settings: a new plan, a plan's days, calendar, escalation ladder and public
page switch, and which plan is current. Team only."""

from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import UTC, date, datetime

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from app import permissions
from app.forms.checker import YEAR_MIN
from app.forms.plans import PlanData, PlanInput
from app.models import DayMode, Plan, Task, TaskStatus, User
from app.services import holiday_source
from app.services.calendar import PlanCalendar
from app.services.plans import plan_calendar
from app.services.publishing import touch_public
from app.services.rows import get_row
from app.sorting import text_order
from app.timefmt import WIB


@dataclass(frozen=True)
class PlanView:
    """The plan settings page: one plan being edited, and every plan to switch between."""

    plan: Plan | None
    form: PlanInput
    plans: list[Plan]
    start_date: date | None
    end_date: date | None
    task_count: int
    # Codes of the plan's open tasks whose due date lies outside the plan's days.
    due_outside: list[str]
    # Years of a working-day plan with no holiday recorded (its day numbers would be wrong).
    years_without_holidays: list[int] = dataclass_field(default_factory=list)


def _apply_plan(data: PlanData, plan: Plan) -> Plan:
    for field_name, days in data.ladder.items():
        setattr(plan, field_name, days)
    plan.name = data.name
    plan.start_date = data.start_date
    plan.length_days = data.length_days
    plan.day_mode = data.day_mode
    plan.timezone = data.timezone
    plan.baseline_at = data.baseline_at
    plan.public_enabled = data.public_enabled
    return plan


def _due_outside(session: Session, plan: Plan, calendar: PlanCalendar) -> list[str]:
    rows = session.exec(
        select(Task.code)
        .where(
            Task.plan_id == plan.id,
            Task.status != TaskStatus.cancelled,
            col(Task.due_date).is_not(None),
            sa.or_(
                col(Task.due_date) < calendar.start_date, col(Task.due_date) > calendar.end_date
            ),
        )
        .order_by(text_order(col(Task.code)))
    ).all()
    return list(rows)


def plan_view(
    session: Session, *, actor: User, plan_id: int | None = None, form: PlanInput | None = None
) -> PlanView:
    """A plan's settings (the current plan when `plan_id` is None) with the list of plans."""
    permissions.ensure_team(actor)
    plans = list(session.exec(select(Plan).order_by(col(Plan.start_date), col(Plan.id))).all())
    if plan_id is not None:
        plan: Plan | None = get_row(session, Plan, plan_id, "Rencana kerja tidak ditemukan.")
    else:
        current = [p for p in plans if p.is_current]
        plan = current[-1] if current else None
    if plan is None:
        return PlanView(None, form or PlanInput(), plans, None, None, 0, [])
    calendar = plan_calendar(session, plan)
    task_count = session.exec(
        select(func.count())
        .select_from(Task)
        .where(Task.plan_id == plan.id, Task.status != TaskStatus.cancelled)
    ).one()
    return PlanView(
        plan=plan,
        form=form or PlanInput.of(plan),
        plans=plans,
        start_date=calendar.start_date,
        end_date=calendar.end_date,
        task_count=task_count,
        due_outside=_due_outside(session, plan, calendar),
        years_without_holidays=holiday_source.years_without_holidays(session, plan),
    )


def blank_plan(*, actor: User) -> PlanInput:
    """The form for a new plan: starts today (WIB), 100 calendar days."""
    permissions.ensure_team(actor)
    return PlanInput(
        start_date=datetime.now(UTC).astimezone(WIB).date().isoformat(),
        length_days="100",
        day_mode=DayMode.calendar.value,
        timezone="Asia/Jakarta",
    )


def _make_current(session: Session, plan: Plan) -> None:
    session.execute(sa.update(Plan).where(col(Plan.id) != plan.id).values(is_current=False))
    plan.is_current = True
    session.add(plan)


def create_plan(session: Session, *, actor: User, data: PlanData) -> Plan:
    """A new plan (e.g. "Tahun Pertama"); current when asked, or when it is the first."""
    permissions.ensure_team(actor)
    plan = _apply_plan(data, Plan(name="", start_date=date(YEAR_MIN, 1, 1)))
    session.add(plan)
    session.flush()
    has_current = session.exec(select(Plan.id).where(col(Plan.is_current))).first() is not None
    if data.make_current or not has_current:
        _make_current(session, plan)
    holiday_source.load_plan_holidays(session, plan)
    touch_public(session)
    session.commit()
    return plan


def update_plan(session: Session, *, actor: User, plan_id: int, data: PlanData) -> Plan:
    """Change a plan's settings. Moving its days may leave due dates outside them: that is
    allowed, and `plan_view` lists those tasks so the team can fix them."""
    permissions.ensure_team(actor)
    plan = get_row(session, Plan, plan_id, "Rencana kerja tidak ditemukan.")
    _apply_plan(data, plan)
    session.add(plan)
    holiday_source.load_plan_holidays(session, plan)
    session.flush()
    touch_public(session)
    session.commit()
    return plan


def set_current_plan(session: Session, *, actor: User, plan_id: int) -> Plan:
    """Make this plan the one the board and dashboard show."""
    permissions.ensure_team(actor)
    plan = get_row(session, Plan, plan_id, "Rencana kerja tidak ditemukan.")
    _make_current(session, plan)
    session.commit()
    return plan
