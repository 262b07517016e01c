"""The administration index: how many units, programs, users, holidays and plans there are.

Each domain the index links to has its own module: app.services.units, programs, holidays,
plans.settings, and accounts for the users."""

from dataclasses import dataclass

from sqlmodel import Session, col, func, select

from app import permissions
from app.models import Holiday, Plan, Program, Unit, UnitKind, User


@dataclass(frozen=True)
class AdminOverview:
    agencies: int
    districts: int
    inactive_units: int
    programs: int
    users: int
    inactive_users: int
    holidays: int
    plans: int
    current_plan: Plan | None


def overview(session: Session, *, actor: User) -> AdminOverview:
    """Counts for the administration index."""
    permissions.ensure_team(actor)
    unit_counts = {
        (kind, active): count
        for kind, active, count in session.exec(
            select(Unit.kind, Unit.is_active, func.count()).group_by(
                col(Unit.kind), col(Unit.is_active)
            )
        ).all()
    }
    user_counts = dict(
        session.exec(select(User.is_active, func.count()).group_by(col(User.is_active))).all()
    )
    current = session.exec(
        select(Plan).where(col(Plan.is_current)).order_by(col(Plan.id).desc()).limit(1)
    ).first()
    return AdminOverview(
        agencies=unit_counts.get((UnitKind.agency, True), 0),
        districts=unit_counts.get((UnitKind.district, True), 0),
        inactive_units=sum(n for (_, active), n in unit_counts.items() if not active),
        programs=session.exec(
            select(func.count()).select_from(Program).where(col(Program.is_active))
        ).one(),
        users=user_counts.get(True, 0),
        inactive_users=user_counts.get(False, 0),
        holidays=session.exec(select(func.count()).select_from(Holiday)).one(),
        plans=session.exec(select(func.count()).select_from(Plan)).one(),
        current_plan=current,
    )
