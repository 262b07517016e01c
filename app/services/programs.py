"""The programs of the agenda (Unggulan, Gerakan, Pro Rakyat), with their public title and
text. Programs are deactivated, never deleted: tasks keep their links to them."""

from sqlmodel import Session, col, func, select

from app import permissions
from app.forms.checker import Checker
from app.forms.programs import ProgramInput
from app.models import PUBLIC_TEXT_MAX, SHORT_MAX, Program, ProgramKind, User
from app.services.publishing import touch_public
from app.services.rows import commit_unique, get_row
from app.sorting import text_order

SORT_ORDER_MAX = 9999


def list_programs(session: Session, *, actor: User) -> list[tuple[ProgramKind, list[Program]]]:
    """Every program, grouped by kind in the agenda's order (Unggulan, Gerakan, Pro Rakyat)."""
    permissions.ensure_team(actor)
    programs = session.exec(
        select(Program).order_by(col(Program.sort_order), text_order(col(Program.code)))
    ).all()
    return [(kind, [p for p in programs if p.kind == kind]) for kind in ProgramKind]


def get_program(session: Session, *, actor: User, program_id: int) -> Program:
    permissions.ensure_team(actor)
    return get_row(session, Program, program_id, f"Program #{program_id} tidak ditemukan.")


def blank_program(*, actor: User) -> ProgramInput:
    permissions.ensure_team(actor)
    return ProgramInput(kind=ProgramKind.priority.value)


def _check_program(session: Session, data: ProgramInput, *, program: Program | None) -> Program:
    check = Checker()
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
    target.kind = check.checked(kind)
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
    commit_unique(session, field="code", message="Kode ini sudah dipakai program lain.")
    return program


def update_program(
    session: Session, *, actor: User, program_id: int, data: ProgramInput
) -> Program:
    program = get_program(session, actor=actor, program_id=program_id)
    _check_program(session, data, program=program)
    session.add(program)
    touch_public(session)
    commit_unique(session, field="code", message="Kode ini sudah dipakai program lain.")
    return program


def set_program_active(session: Session, *, actor: User, program_id: int, active: bool) -> Program:
    """Deactivate (or reactivate) a program; tasks keep their links to it."""
    program = get_program(session, actor=actor, program_id=program_id)
    program.is_active = active
    session.add(program)
    touch_public(session)
    session.commit()
    return program
