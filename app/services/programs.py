"""The programs of the agenda (Unggulan, Gerakan, Pro Rakyat), with their public title and
text. Programs are deactivated, never deleted: tasks keep their links to them."""

from sqlmodel import Session, col, func, select

from app import permissions
from app.forms.errors import FormErrors
from app.forms.programs import ProgramData, ProgramInput
from app.models import Program, ProgramKind, User
from app.services.publishing import touch_public
from app.services.rows import commit_unique, get_row
from app.sorting import text_order


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


def _apply_program(session: Session, data: ProgramData, *, program: Program | None) -> Program:
    """The program with the parsed values applied, after the unique code is checked."""
    taken = session.exec(select(Program.id).where(Program.code == data.code)).first()
    if taken is not None and (program is None or taken != program.id):
        raise FormErrors({"code": f"Kode {data.code} sudah dipakai program lain."})
    sort_order = data.sort_order
    if sort_order is None:
        # Left empty: keep the current place, or come last among the programs of its kind.
        sort_order = (
            program.sort_order
            if program is not None
            else session.exec(
                select(func.coalesce(func.max(Program.sort_order), 0)).where(
                    Program.kind == data.kind
                )
            ).one()
            + 1
        )
    target = program or Program(code=data.code, kind=data.kind, short_name="", name="")
    target.kind = data.kind
    target.code = data.code
    target.short_name = data.short_name
    target.name = data.name
    target.sort_order = sort_order
    target.is_public = data.is_public
    target.public_title = data.public_title
    target.public_description = data.public_description
    return target


def create_program(session: Session, *, actor: User, data: ProgramData) -> Program:
    """A new program of the agenda."""
    permissions.ensure_team(actor)
    program = _apply_program(session, data, program=None)
    session.add(program)
    touch_public(session)
    commit_unique(session, field="code", message="Kode ini sudah dipakai program lain.")
    return program


def update_program(session: Session, *, actor: User, program_id: int, data: ProgramData) -> Program:
    program = get_program(session, actor=actor, program_id=program_id)
    _apply_program(session, data, program=program)
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
