"""The team's administration: units, programs, users, plan settings and holidays.

Every public function starts with `permissions.ensure_team(actor)`. Inputs arrive as the
text the team typed (`*Input` models); the service parses and checks every field, raises
`FormErrors` naming each wrong field (nothing is written then), and commits once.
"""

import re
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import TypeVar
from zoneinfo import available_timezones

import sqlalchemy as sa
from pydantic import BaseModel, Field
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from app import permissions, text_input
from app.errors import NotFound, RuleViolation
from app.models import (
    PUBLIC_TEXT_MAX,
    SHORT_MAX,
    DayMode,
    ExecutivePosition,
    Holiday,
    HolidayKind,
    Plan,
    Program,
    ProgramKind,
    Role,
    Task,
    TaskStatus,
    Unit,
    UnitKind,
    User,
)
from app.services import accounts, holiday_source
from app.services.calendar import PlanCalendar
from app.services.plans import plan_calendar
from app.services.publishing import touch_public
from app.sorting import text_order
from app.timefmt import WIB, format_day_date, parse_typed_date

# Ids beyond a 32-bit INTEGER cannot exist; looking them up would overflow the driver.
MAX_ID = 2_147_483_647
# Form fields are capped well above any real value; the service gives the precise limits.
RAW_MAX = 1000
CODE_RE = re.compile(r"^[A-Z0-9][A-Z0-9._-]{1,31}$")
REGION_CODE_RE = re.compile(r"^\d{2}\.\d{2}\.\d{2}$")
NUMBER_RE = re.compile(r"^[0-9]{1,9}$")
PLAN_LENGTH_MAX = 2000
SORT_ORDER_MAX = 9999
# Plans and holidays outside these years are typing mistakes, not plans.
YEAR_MIN, YEAR_MAX = 2000, 2100
REQUIRED = "Wajib diisi."

E = TypeVar("E", UnitKind, ProgramKind, DayMode, HolidayKind, Role, ExecutivePosition)
M = TypeVar("M", Unit, Program, Plan, Holiday)


class FormErrors(RuleViolation):
    """Several fields are wrong at once; `errors` maps each field to its message."""

    def __init__(self, errors: dict[str, str]) -> None:
        field, message = next(iter(errors.items()))
        super().__init__(message, field=field)
        self.errors = errors

    @classmethod
    def of(cls, exc: RuleViolation) -> "FormErrors":
        """The same shape for a single-field violation (from another service)."""
        if isinstance(exc, FormErrors):
            return exc
        return cls({exc.field or "form": exc.message})


class _Checker:
    """Collects one message per field while parsing a form."""

    def __init__(self) -> None:
        self.errors: dict[str, str] = {}

    def fail(self, field: str, message: str) -> None:
        self.errors.setdefault(field, message)

    def done(self) -> None:
        if self.errors:
            raise FormErrors(self.errors)

    def text(self, raw: str, *, field: str, max_length: int, required: bool = True) -> str:
        try:
            raw = text_input.clean_text(raw, multiline=False)
        except text_input.TextRefused as exc:
            self.fail(field, exc.message)
            return ""
        value = " ".join(raw.split())
        if required and not value:
            self.fail(field, REQUIRED)
        elif len(value) > max_length:
            self.fail(field, f"Terlalu panjang (maks. {max_length} karakter).")
        return value

    def code(self, raw: str, *, field: str = "code") -> str:
        try:
            raw = text_input.clean_text(raw, multiline=False)
        except text_input.TextRefused as exc:
            self.fail(field, exc.message)
            return ""
        value = raw.strip().upper()
        if not value:
            self.fail(field, REQUIRED)
        elif not CODE_RE.match(value):
            self.fail(
                field,
                "Kode 2–32 karakter: huruf, angka, titik, garis bawah atau tanda hubung "
                "(tanpa spasi).",
            )
        return value

    def number(self, raw: str, *, field: str, low: int, high: int) -> int | None:
        value = raw.strip()
        if not value:
            self.fail(field, REQUIRED)
            return None
        if not NUMBER_RE.match(value) or not low <= int(value) <= high:
            self.fail(field, f"Isi bilangan bulat {low}–{high}.")
            return None
        return int(value)

    def choice(self, raw: str, *, field: str, enum: type[E]) -> E | None:
        try:
            return enum(raw.strip())
        except ValueError:
            self.fail(field, "Pilih salah satu pilihan yang tersedia.")
            return None

    def day(self, raw: str, *, field: str) -> date | None:
        value = raw.strip()
        if not value:
            self.fail(field, REQUIRED)
            return None
        try:
            parsed = parse_typed_date(value)
        except ValueError:
            self.fail(field, "Tanggal tidak valid; gunakan format HH/BB/TTTT, misalnya 15/12/2026.")
            return None
        if not YEAR_MIN <= parsed.year <= YEAR_MAX:
            self.fail(field, f"Tahun harus antara {YEAR_MIN} dan {YEAR_MAX}.")
            return None
        return parsed


def _bounded_id(value: int) -> bool:
    return 0 < value <= MAX_ID


def _get(session: Session, model: type[M], item_id: int, message: str) -> M:
    item = session.get(model, item_id) if _bounded_id(item_id) else None
    if item is None:
        raise NotFound(message)
    return item


def _commit_unique(session: Session, *, field: str, message: str) -> None:
    """Commit; a unique constraint lost to a concurrent save becomes a field error."""
    try:
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise FormErrors({field: message}) from exc


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


# --- units -----------------------------------------------------------------------------


class UnitInput(BaseModel):
    """The unit form as typed.

    Every field of the `*Input` models defaults to "": FastAPI treats an empty form field as
    absent and substitutes the default, so any other default would silently replace a value
    the user cleared (a cleared plan length would become 100). The blank forms set their
    initial values explicitly (`blank_unit`, `blank_plan`, …)."""

    kind: str = Field(default="", max_length=RAW_MAX)
    code: str = Field(default="", max_length=RAW_MAX)
    name: str = Field(default="", max_length=RAW_MAX)
    short_name: str = Field(default="", max_length=RAW_MAX)
    head_title: str = Field(default="", max_length=RAW_MAX)
    head_name: str = Field(default="", max_length=RAW_MAX)
    region_code: str = Field(default="", max_length=RAW_MAX)

    @classmethod
    def of(cls, unit: Unit) -> "UnitInput":
        return cls(
            kind=unit.kind.value,
            code=unit.code,
            name=unit.name,
            short_name=unit.short_name,
            head_title=unit.head_title,
            head_name=unit.head_name,
            region_code=unit.region_code or "",
        )


def list_units(session: Session, *, actor: User, kind: UnitKind | None = None) -> list[Unit]:
    """Agencies, then districts in Kemendagri code order; optionally only one kind."""
    permissions.ensure_team(actor)
    query = select(Unit)
    if kind is not None:
        query = query.where(Unit.kind == kind)
    return list(
        session.exec(
            query.order_by(
                col(Unit.kind),
                text_order(col(Unit.region_code)),
                text_order(col(Unit.name)),
                col(Unit.id),
            )
        ).all()
    )


def get_unit(session: Session, *, actor: User, unit_id: int) -> Unit:
    permissions.ensure_team(actor)
    return _get(session, Unit, unit_id, f"Unit #{unit_id} tidak ditemukan.")


def blank_unit(*, actor: User) -> UnitInput:
    """The empty form for a new unit."""
    permissions.ensure_team(actor)
    return UnitInput(kind=UnitKind.agency.value)


def _check_unit(session: Session, data: UnitInput, *, unit: Unit | None) -> Unit:
    """The unit with the typed values applied (not added to the session)."""
    check = _Checker()
    kind = check.choice(data.kind, field="kind", enum=UnitKind)
    code = check.code(data.code)
    name = check.text(data.name, field="name", max_length=SHORT_MAX)
    short_name = check.text(data.short_name, field="short_name", max_length=60)
    head_title = check.text(data.head_title, field="head_title", max_length=60, required=False)
    head_name = check.text(data.head_name, field="head_name", max_length=SHORT_MAX, required=False)
    region_code = data.region_code.strip()
    if kind == UnitKind.district and not REGION_CODE_RE.match(region_code):
        check.fail("region_code", "Kecamatan wajib memiliki kode wilayah Kemendagri (16.07.xx).")
    elif kind == UnitKind.agency and region_code:
        check.fail("region_code", "Kode wilayah hanya diisi untuk kecamatan.")
    if "code" not in check.errors:
        taken = session.exec(select(Unit.id).where(Unit.code == code)).first()
        if taken is not None and (unit is None or taken != unit.id):
            check.fail("code", f"Kode {code} sudah dipakai unit lain.")
    if kind == UnitKind.district and "region_code" not in check.errors:
        # One Kemendagri code names one kecamatan; a second one is a typing mistake.
        same_code = select(Unit.name).where(Unit.region_code == region_code)
        if unit is not None:
            same_code = same_code.where(col(Unit.id) != unit.id)
        holder = session.exec(same_code).first()
        if holder is not None:
            check.fail("region_code", f"Kode wilayah {region_code} sudah dipakai {holder}.")
    if unit is not None and unit.kind == UnitKind.district and kind == UnitKind.agency:
        located = session.exec(
            select(func.count()).select_from(Task).where(Task.district_id == unit.id)
        ).one()
        if located:
            check.fail(
                "kind",
                f"{located} tugas berlokasi di kecamatan ini; jenisnya tidak dapat diubah.",
            )
    check.done()
    target = unit or Unit(code=code, name=name, short_name=short_name, kind=UnitKind.agency)
    target.kind = kind  # type: ignore[assignment]
    target.code = code
    target.name = name
    target.short_name = short_name
    target.head_title = head_title
    target.head_name = head_name
    target.region_code = region_code or None
    return target


def create_unit(session: Session, *, actor: User, data: UnitInput) -> Unit:
    """A new agency or district."""
    permissions.ensure_team(actor)
    unit = _check_unit(session, data, unit=None)
    session.add(unit)
    touch_public(session)  # district names show on the public page
    _commit_unique(session, field="code", message="Kode ini sudah dipakai unit lain.")
    return unit


def update_unit(session: Session, *, actor: User, unit_id: int, data: UnitInput) -> Unit:
    """Edit a unit's code, names and head (officials rotate)."""
    unit = get_unit(session, actor=actor, unit_id=unit_id)
    _check_unit(session, data, unit=unit)
    session.add(unit)
    touch_public(session)  # district names show on the public page
    _commit_unique(session, field="code", message="Kode ini sudah dipakai unit lain.")
    return unit


def set_unit_active(session: Session, *, actor: User, unit_id: int, active: bool) -> Unit:
    """Deactivate (or reactivate) a unit. Units are never deleted: tasks refer to them."""
    unit = get_unit(session, actor=actor, unit_id=unit_id)
    unit.is_active = active
    session.add(unit)
    touch_public(session)
    session.commit()
    return unit


# --- programs --------------------------------------------------------------------------


class ProgramInput(BaseModel):
    """The program form as typed."""

    kind: str = Field(default="", max_length=RAW_MAX)
    code: str = Field(default="", max_length=RAW_MAX)
    short_name: str = Field(default="", max_length=RAW_MAX)
    name: str = Field(default="", max_length=RAW_MAX)
    sort_order: str = Field(default="", max_length=RAW_MAX)
    # The public page (/publik): published or not, under which title and text.
    is_public: bool = False
    public_title: str = Field(default="", max_length=RAW_MAX)
    public_description: str = Field(default="", max_length=4 * RAW_MAX)

    @classmethod
    def of(cls, program: Program) -> "ProgramInput":
        return cls(
            kind=program.kind.value,
            code=program.code,
            short_name=program.short_name,
            name=program.name,
            sort_order=str(program.sort_order),
            is_public=program.is_public,
            public_title=program.public_title,
            public_description=program.public_description,
        )


def list_programs(session: Session, *, actor: User) -> list[tuple[ProgramKind, list[Program]]]:
    """Every program, grouped by kind in the agenda's order (Unggulan, Gerakan, Pro Rakyat)."""
    permissions.ensure_team(actor)
    programs = session.exec(
        select(Program).order_by(col(Program.sort_order), text_order(col(Program.code)))
    ).all()
    return [(kind, [p for p in programs if p.kind == kind]) for kind in ProgramKind]


def get_program(session: Session, *, actor: User, program_id: int) -> Program:
    permissions.ensure_team(actor)
    return _get(session, Program, program_id, f"Program #{program_id} tidak ditemukan.")


def blank_program(*, actor: User) -> ProgramInput:
    permissions.ensure_team(actor)
    return ProgramInput(kind=ProgramKind.priority.value)


def _check_program(session: Session, data: ProgramInput, *, program: Program | None) -> Program:
    check = _Checker()
    kind = check.choice(data.kind, field="kind", enum=ProgramKind)
    code = check.code(data.code)
    short_name = check.text(data.short_name, field="short_name", max_length=60)
    name = check.text(data.name, field="name", max_length=SHORT_MAX)
    # A published program needs its public title; the text is optional.
    public_title = check.text(
        data.public_title, field="public_title", max_length=SHORT_MAX, required=data.is_public
    )
    public_description = check.text(
        data.public_description,
        field="public_description",
        max_length=PUBLIC_TEXT_MAX,
        required=False,
    )
    sort_order: int | None = None
    if data.sort_order.strip():
        sort_order = check.number(data.sort_order, field="sort_order", low=0, high=SORT_ORDER_MAX)
    if "code" not in check.errors:
        taken = session.exec(select(Program.id).where(Program.code == code)).first()
        if taken is not None and (program is None or taken != program.id):
            check.fail("code", f"Kode {code} sudah dipakai program lain.")
    check.done()
    if sort_order is None:
        # Left empty: keep the current place, or come last among the programs of its kind.
        sort_order = (
            program.sort_order
            if program is not None
            else session.exec(
                select(func.coalesce(func.max(Program.sort_order), 0)).where(Program.kind == kind)
            ).one()
            + 1
        )
    target = program or Program(code=code, kind=ProgramKind.priority, short_name="", name="")
    target.kind = kind  # type: ignore[assignment]
    target.code = code
    target.short_name = short_name
    target.name = name
    target.sort_order = sort_order
    target.is_public = data.is_public
    target.public_title = public_title
    target.public_description = public_description
    return target


def create_program(session: Session, *, actor: User, data: ProgramInput) -> Program:
    """A new program of the agenda."""
    permissions.ensure_team(actor)
    program = _check_program(session, data, program=None)
    session.add(program)
    touch_public(session)
    _commit_unique(session, field="code", message="Kode ini sudah dipakai program lain.")
    return program


def update_program(
    session: Session, *, actor: User, program_id: int, data: ProgramInput
) -> Program:
    program = get_program(session, actor=actor, program_id=program_id)
    _check_program(session, data, program=program)
    session.add(program)
    touch_public(session)
    _commit_unique(session, field="code", message="Kode ini sudah dipakai program lain.")
    return program


def set_program_active(session: Session, *, actor: User, program_id: int, active: bool) -> Program:
    """Deactivate (or reactivate) a program; tasks keep their links to it."""
    program = get_program(session, actor=actor, program_id=program_id)
    program.is_active = active
    session.add(program)
    touch_public(session)
    session.commit()
    return program


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
        {u.id: u for u in session.exec(select(Unit).where(col(Unit.id).in_(unit_ids))).all()}
        if unit_ids
        else {}
    )
    return UserListing(users=users, units=units)  # type: ignore[arg-type]


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
    if not _bounded_id(user_id):
        raise NotFound(f"Pengguna #{user_id} tidak ditemukan.")
    return accounts.get_user(session, user_id=user_id)


@dataclass(frozen=True)
class _UserChoices:
    role: Role
    unit_id: int | None
    position: ExecutivePosition | None


def _parse_user(data: UserInput, *, password_required: bool) -> _UserChoices:
    """Role, unit and office from the form; the two passwords must match."""
    check = _Checker()
    role = check.choice(data.role, field="role", enum=Role)
    unit_id: int | None = None
    # A unit chosen earlier and left selected does not matter once the role is not `unit`.
    if role == Role.unit and data.unit_id.strip():
        unit_id = check.number(data.unit_id, field="unit_id", low=1, high=MAX_ID)
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


# --- plans -----------------------------------------------------------------------------


ESCALATION_FIELDS = (
    "escalate_blocked_team_days",
    "escalate_blocked_executive_days",
    "escalate_review_team_days",
    "escalate_directive_unit_days",
    "escalate_directive_author_days",
)
ESCALATION_DAYS_MAX = 60


class PlanInput(BaseModel):
    """The plan form as typed; `baseline_at` is a WIB date-time ("2025-02-20T08:00")."""

    name: str = Field(default="", max_length=RAW_MAX)
    start_date: str = Field(default="", max_length=RAW_MAX)
    length_days: str = Field(default="", max_length=RAW_MAX)
    day_mode: str = Field(default="", max_length=RAW_MAX)
    timezone: str = Field(default="", max_length=RAW_MAX)
    baseline_at: str = Field(default="", max_length=RAW_MAX)
    make_current: bool = False
    # The escalation ladder, in working days (app.services.escalation).
    escalate_blocked_team_days: str = Field(default="2", max_length=RAW_MAX)
    escalate_blocked_executive_days: str = Field(default="5", max_length=RAW_MAX)
    escalate_review_team_days: str = Field(default="2", max_length=RAW_MAX)
    escalate_directive_unit_days: str = Field(default="2", max_length=RAW_MAX)
    escalate_directive_author_days: str = Field(default="5", max_length=RAW_MAX)
    # The public promise page (/publik) of this plan, while it is the current one.
    public_enabled: bool = False

    @classmethod
    def of(cls, plan: Plan) -> "PlanInput":
        baseline = ""
        if plan.baseline_at is not None:
            baseline = plan.baseline_at.astimezone(WIB).strftime("%Y-%m-%dT%H:%M")
        return cls(
            name=plan.name,
            start_date=plan.start_date.isoformat(),
            length_days=str(plan.length_days),
            day_mode=plan.day_mode.value,
            timezone=plan.timezone,
            baseline_at=baseline,
            make_current=plan.is_current,
            **{name: str(getattr(plan, name)) for name in ESCALATION_FIELDS},
            public_enabled=plan.public_enabled,
        )


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


@lru_cache
def _timezones() -> frozenset[str]:
    return frozenset(available_timezones())


def _parse_baseline(check: _Checker, raw: str) -> datetime | None:
    value = raw.strip()
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        check.fail("baseline_at", "Waktu tidak valid; isi tanggal dan jam (WIB).")
        return None
    if not YEAR_MIN <= parsed.year <= YEAR_MAX:
        check.fail("baseline_at", f"Tahun harus antara {YEAR_MIN} dan {YEAR_MAX}.")
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=WIB)
    return parsed.astimezone(UTC)


def _apply_plan(data: PlanInput, plan: Plan) -> Plan:
    check = _Checker()
    name = check.text(data.name, field="name", max_length=SHORT_MAX)
    start = check.day(data.start_date, field="start_date")
    length = check.number(data.length_days, field="length_days", low=1, high=PLAN_LENGTH_MAX)
    mode = check.choice(data.day_mode, field="day_mode", enum=DayMode)
    timezone = data.timezone.strip()
    if timezone not in _timezones():
        check.fail("timezone", "Pilih zona waktu: WIB, WITA atau WIT.")
    baseline = _parse_baseline(check, data.baseline_at)
    ladder = {
        name: check.number(getattr(data, name), field=name, low=1, high=ESCALATION_DAYS_MAX)
        for name in ESCALATION_FIELDS
    }
    for lower, upper in (
        ("escalate_blocked_team_days", "escalate_blocked_executive_days"),
        ("escalate_directive_unit_days", "escalate_directive_author_days"),
    ):
        low, high = ladder[lower], ladder[upper]
        if low is not None and high is not None and high <= low:
            check.fail(upper, f"Harus lebih dari {low} hari kerja (anak tangga sebelumnya).")
    check.done()
    for field_name, days in ladder.items():
        setattr(plan, field_name, days)
    plan.name = name
    plan.start_date = start  # type: ignore[assignment]
    plan.length_days = length  # type: ignore[assignment]
    plan.day_mode = mode  # type: ignore[assignment]
    plan.timezone = timezone
    plan.baseline_at = baseline
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
        plan: Plan | None = _get(session, Plan, plan_id, "Rencana kerja tidak ditemukan.")
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


def create_plan(session: Session, *, actor: User, data: PlanInput) -> Plan:
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


def update_plan(session: Session, *, actor: User, plan_id: int, data: PlanInput) -> Plan:
    """Change a plan's settings. Moving its days may leave due dates outside them: that is
    allowed, and `plan_view` lists those tasks so the team can fix them."""
    permissions.ensure_team(actor)
    plan = _get(session, Plan, plan_id, "Rencana kerja tidak ditemukan.")
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
    plan = _get(session, Plan, plan_id, "Rencana kerja tidak ditemukan.")
    _make_current(session, plan)
    session.commit()
    return plan


# --- holidays --------------------------------------------------------------------------


class HolidayInput(BaseModel):
    """The holiday form as typed."""

    holiday_date: str = Field(default="", max_length=RAW_MAX)
    name: str = Field(default="", max_length=RAW_MAX)
    kind: str = Field(default="", max_length=RAW_MAX)

    @classmethod
    def of(cls, holiday: Holiday) -> "HolidayInput":
        return cls(
            holiday_date=holiday.holiday_date.isoformat(),
            name=holiday.name,
            kind=holiday.kind.value,
        )


def blank_holiday(*, actor: User) -> HolidayInput:
    """The empty form for a new holiday."""
    permissions.ensure_team(actor)
    return HolidayInput(kind=HolidayKind.libur.value)


def list_holidays(session: Session, *, actor: User) -> list[Holiday]:
    permissions.ensure_team(actor)
    return list(session.exec(select(Holiday).order_by(col(Holiday.holiday_date))).all())


def get_holiday(session: Session, *, actor: User, holiday_id: int) -> Holiday:
    permissions.ensure_team(actor)
    return _get(session, Holiday, holiday_id, f"Hari libur #{holiday_id} tidak ditemukan.")


def _apply_holiday(session: Session, data: HolidayInput, holiday: Holiday) -> Holiday:
    check = _Checker()
    day = check.day(data.holiday_date, field="holiday_date")
    name = check.text(data.name, field="name", max_length=SHORT_MAX)
    kind = check.choice(data.kind, field="kind", enum=HolidayKind)
    if day is not None:
        taken = session.exec(select(Holiday.id).where(Holiday.holiday_date == day)).first()
        if taken is not None and taken != holiday.id:
            check.fail("holiday_date", f"Tanggal {format_day_date(day)} sudah tercatat.")
    check.done()
    holiday.holiday_date = day  # type: ignore[assignment]
    holiday.name = name
    holiday.kind = kind  # type: ignore[assignment]
    touch_public(session)  # working-day plans count days by the holidays
    return holiday


def create_holiday(session: Session, *, actor: User, data: HolidayInput) -> Holiday:
    """A national holiday (libur) or collective leave day (cuti bersama)."""
    permissions.ensure_team(actor)
    holiday = _apply_holiday(session, data, Holiday(holiday_date=date(YEAR_MIN, 1, 1), name=""))
    session.add(holiday)
    _commit_unique(session, field="holiday_date", message="Tanggal ini sudah tercatat.")
    return holiday


def update_holiday(
    session: Session, *, actor: User, holiday_id: int, data: HolidayInput
) -> Holiday:
    holiday = get_holiday(session, actor=actor, holiday_id=holiday_id)
    _apply_holiday(session, data, holiday)
    session.add(holiday)
    _commit_unique(session, field="holiday_date", message="Tanggal ini sudah tercatat.")
    return holiday


def delete_holiday(session: Session, *, actor: User, holiday_id: int) -> Holiday:
    """Remove a holiday: reference data, nothing else points at it."""
    holiday = get_holiday(session, actor=actor, holiday_id=holiday_id)
    session.delete(holiday)
    touch_public(session)
    session.commit()
    return holiday
