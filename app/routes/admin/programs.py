"""Administration of the agenda's programs."""

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from app import permissions
from app.auth import CurrentUser
from app.db import SessionDep
from app.errors import RuleViolation
from app.forms.programs import ProgramInput, parse_program
from app.path_ids import ProgramId
from app.routes.admin.pages import done, page, row_or_redirect
from app.services import programs

router = APIRouter()
ProgramForm = Annotated[ProgramInput, Form()]


@router.get("/programs")
def program_list(
    request: Request, session: SessionDep, user: CurrentUser, ok: str = ""
) -> Response:
    groups = programs.list_programs(session, actor=user)
    return page(request, "admin/programs.html", {"groups": groups}, ok=ok)


@router.get("/programs/new")
def program_new(request: Request, user: CurrentUser) -> Response:
    form = programs.blank_program(actor=user)
    return page(request, "admin/program_form.html", {"program": None, "form": form})


@router.post("/programs/new")
def program_create(
    request: Request, session: SessionDep, user: CurrentUser, form: ProgramForm
) -> Response:
    permissions.ensure_team(user)  # before the form is read: outsiders learn nothing
    try:
        programs.create_program(session, actor=user, data=parse_program(form))
    except RuleViolation as exc:
        context = {"program": None, "form": form}
        return page(request, "admin/program_form.html", context, error=exc)
    return done("/admin/programs", "program-created")


@router.get("/programs/{program_id:int}/edit")
def program_edit(
    request: Request, session: SessionDep, user: CurrentUser, program_id: ProgramId
) -> Response:
    program = programs.get_program(session, actor=user, program_id=program_id)
    context = {"program": program, "form": ProgramInput.of(program)}
    return page(request, "admin/program_form.html", context)


@router.post("/programs/{program_id:int}/edit")
def program_update(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    program_id: ProgramId,
    form: ProgramForm,
) -> Response:
    try:
        programs.update_program(
            session, actor=user, program_id=program_id, data=parse_program(form)
        )
    except RuleViolation as exc:
        program = programs.get_program(session, actor=user, program_id=program_id)
        context = {"program": program, "form": form}
        return page(request, "admin/program_form.html", context, error=exc)
    return done("/admin/programs", "program-saved")


def _program_active(
    request: Request, session: SessionDep, user: CurrentUser, program_id: ProgramId, *, active: bool
) -> Response:
    program = programs.set_program_active(session, actor=user, program_id=program_id, active=active)
    notice = "program-activated" if active else "program-deactivated"
    return row_or_redirect(
        request,
        "admin/_program_row.html",
        {"program": program},
        url="/admin/programs",
        notice=notice,
    )


@router.post("/programs/{program_id:int}/deactivate")
def program_deactivate(
    request: Request, session: SessionDep, user: CurrentUser, program_id: ProgramId
) -> Response:
    return _program_active(request, session, user, program_id, active=False)


@router.post("/programs/{program_id:int}/activate")
def program_activate(
    request: Request, session: SessionDep, user: CurrentUser, program_id: ProgramId
) -> Response:
    return _program_active(request, session, user, program_id, active=True)
