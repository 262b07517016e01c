"""The administration index's counts, and the team's user forms.

Every public function starts with `permissions.ensure_team(actor)`. Units, programs, plans and
holidays have their own modules (app.services.units, programs, plans, holidays).
"""

from dataclasses import dataclass

import sqlalchemy as sa
from pydantic import BaseModel, Field
from sqlmodel import Session, col, func, select

from app import permissions
from app.errors import NotFound, RuleViolation
from app.forms.checker import RAW_MAX, REQUIRED, Checker
from app.forms.errors import FormErrors
from app.models import ID_MAX, ExecutivePosition, Holiday, Plan, Program, Role, Unit, UnitKind, User
from app.services import accounts
from app.services.rows import bounded_id
from app.sorting import text_order

# --- overview --------------------------------------------------------------------------


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


# --- users -----------------------------------------------------------------------------


class UserInput(BaseModel):
    """The user form as typed. Passwords are never sent back to the browser."""

    username: str = Field(default="", max_length=RAW_MAX)
    full_name: str = Field(default="", max_length=RAW_MAX)
    role: str = Field(default="", max_length=RAW_MAX)
    unit_id: str = Field(default="", max_length=RAW_MAX)
    # An executive's office (ExecutivePosition value), "" for none.
    position: str = Field(default="", max_length=RAW_MAX)
    is_active: bool = False
    password: str = Field(default="", max_length=RAW_MAX)
    password_repeat: str = Field(default="", max_length=RAW_MAX)

    @classmethod
    def of(cls, user: User) -> "UserInput":
        return cls(
            username=user.username,
            full_name=user.full_name,
            role=user.role.value,
            unit_id=str(user.unit_id or ""),
            position=user.position,
            is_active=user.is_active,
        )

    def without_passwords(self) -> "UserInput":
        return self.model_copy(update={"password": "", "password_repeat": ""})


@dataclass(frozen=True)
class UserListing:
    users: list[User]
    units: dict[int, Unit]


@dataclass(frozen=True)
class UserFormView:
    user: User | None
    form: UserInput
    units: list[Unit]


def list_users(session: Session, *, actor: User) -> UserListing:
    """Every account with the unit each belongs to."""
    users = accounts.list_users(session, actor=actor)
    unit_ids = {u.unit_id for u in users if u.unit_id is not None}
    units = (
        {u.pk: u for u in session.exec(select(Unit).where(col(Unit.id).in_(unit_ids))).all()}
        if unit_ids
        else {}
    )
    return UserListing(users=users, units=units)


def user_form_view(
    session: Session, *, actor: User, user_id: int | None = None, form: UserInput | None = None
) -> UserFormView:
    """What the new/edit user form shows: the account, its values and the units to pick."""
    permissions.ensure_team(actor)
    user = _get_user(session, user_id=user_id) if user_id is not None else None
    if form is None:
        form = (
            UserInput.of(user)
            if user is not None
            else UserInput(role=Role.unit.value, is_active=True)
        )
    current_unit = user.unit_id if user is not None else None
    units = session.exec(
        select(Unit)
        .where(sa.or_(col(Unit.is_active), col(Unit.id) == current_unit))
        .order_by(col(Unit.kind), text_order(col(Unit.name)), col(Unit.id))
    ).all()
    return UserFormView(user=user, form=form.without_passwords(), units=list(units))


def _get_user(session: Session, *, user_id: int) -> User:
    if not bounded_id(user_id):
        raise NotFound(f"Pengguna #{user_id} tidak ditemukan.")
    return accounts.get_user(session, user_id=user_id)


@dataclass(frozen=True)
class _UserChoices:
    role: Role
    unit_id: int | None
    position: ExecutivePosition | None


def _parse_user(data: UserInput, *, password_required: bool) -> _UserChoices:
    """Role, unit and office from the form; the two passwords must match."""
    check = Checker()
    role = check.choice(data.role, field="role", enum=Role)
    unit_id: int | None = None
    # A unit chosen earlier and left selected does not matter once the role is not `unit`.
    if role == Role.unit and data.unit_id.strip():
        unit_id = check.number(data.unit_id, field="unit_id", low=1, high=ID_MAX)
    # An office, unlike a unit, is refused on another role rather than dropped: it puts
    # directives in that office's name, so a mismatch most likely means the wrong role.
    position: ExecutivePosition | None = None
    if data.position.strip():
        position = check.choice(data.position, field="position", enum=ExecutivePosition)
        if position is not None and role is not None and role != Role.executive:
            check.fail("position", accounts.POSITION_NOT_EXECUTIVE)
    if password_required and not data.password:
        check.fail("password", REQUIRED)
    elif data.password != data.password_repeat:
        check.fail("password_repeat", "Kedua kata sandi tidak sama.")
    check.done()
    return _UserChoices(role=role, unit_id=unit_id, position=position)  # type: ignore[arg-type]


def _ensure_unit_active(session: Session, unit_id: int | None, *, current: int | None) -> None:
    """The form offers active units only (and the user's own); the service holds to that."""
    if unit_id is None or unit_id == current:
        return
    unit = session.get(Unit, unit_id)
    if unit is not None and not unit.is_active:
        raise FormErrors({"unit_id": f"{unit.name} sudah nonaktif; pilih unit yang aktif."})


def create_user(session: Session, *, actor: User, data: UserInput) -> User:
    """A new account; the password is typed twice."""
    permissions.ensure_team(actor)
    choices = _parse_user(data, password_required=True)
    _ensure_unit_active(session, choices.unit_id, current=None)
    try:
        return accounts.create_user(
            session,
            actor=actor,
            username=data.username,
            full_name=data.full_name,
            role=choices.role,
            password=data.password,
            unit_id=choices.unit_id,
            position=choices.position,
        )
    except RuleViolation as exc:
        raise FormErrors.of(exc) from exc


def update_user(session: Session, *, actor: User, user_id: int, data: UserInput) -> User:
    """Edit an account. A new password or deactivation ends the user's sessions
    (accounts.update_user); nobody can deactivate or demote themselves."""
    permissions.ensure_team(actor)
    user = _get_user(session, user_id=user_id)
    choices = _parse_user(data, password_required=False)
    _ensure_unit_active(session, choices.unit_id, current=user.unit_id)
    try:
        return accounts.update_user(
            session,
            actor=actor,
            user_id=user_id,
            full_name=data.full_name,
            role=choices.role,
            unit_id=choices.unit_id,
            is_active=data.is_active,
            new_password=data.password,
            position=choices.position,
        )
    except RuleViolation as exc:
        raise FormErrors.of(exc) from exc
