"""The team's administration pages: units, programs, users, plan settings, holidays.

Every form posts back, redirects (303) to a page that shows a fixed message on success, and
re-renders with 422 and messages next to the fields when the service refuses the input.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.auth import CurrentUser
from app.db import SessionDep
from app.errors import RuleViolation
from app.htmx import is_htmx, trigger, vary_on_htmx
from app.models import UnitKind
from app.path_ids import HolidayId, PlanId, ProgramId, UnitId, UserId
from app.services import admin, passwords
from app.services.admin import (
    FormErrors,
    HolidayInput,
    PlanInput,
    ProgramInput,
    UnitInput,
    UserInput,
)
from app.templating import render

router = APIRouter(prefix="/admin", include_in_schema=False)

# Success messages by key: the redirect names a key, never the text itself.
NOTICES = {
    "unit-created": "Unit baru ditambahkan.",
    "unit-saved": "Perubahan unit disimpan.",
    "unit-deactivated": "Unit dinonaktifkan.",
    "unit-activated": "Unit diaktifkan kembali.",
    "program-created": "Program baru ditambahkan.",
    "program-saved": "Perubahan program disimpan.",
    "program-deactivated": "Program dinonaktifkan.",
    "program-activated": "Program diaktifkan kembali.",
    "user-created": "Pengguna baru ditambahkan.",
    "user-saved": "Perubahan pengguna disimpan.",
    "plan-created": "Rencana kerja baru dibuat.",
    "plan-saved": "Pengaturan rencana kerja disimpan.",
    "plan-current": "Rencana kerja aktif telah diganti.",
    "holiday-created": "Hari libur ditambahkan.",
    "holiday-saved": "Perubahan hari libur disimpan.",
    "holiday-deleted": "Hari libur dihapus.",
}

UnitForm = Annotated[UnitInput, Form()]
ProgramForm = Annotated[ProgramInput, Form()]
UserForm = Annotated[UserInput, Form()]
PlanForm = Annotated[PlanInput, Form()]
HolidayForm = Annotated[HolidayInput, Form()]


def _done(url: str, notice: str) -> RedirectResponse:
    return RedirectResponse(f"{url}?ok={notice}", status_code=303)


def _page(
    request: Request,
    name: str,
    context: dict[str, Any],
    *,
    ok: str = "",
    error: RuleViolation | None = None,
) -> HTMLResponse:
    """A full admin page; with `error` it is the form again, 422, messages by field."""
    context = {
        "notice": NOTICES.get(ok),
        "errors": FormErrors.of(error).errors if error is not None else {},
        **context,
    }
    return render(request, name, context, status_code=422 if error is not None else 200)


def _row_or_redirect(
    request: Request, template: str, context: dict[str, Any], *, url: str, notice: str
) -> Response:
    """htmx swaps the changed table row in place; without JS the list is loaded again."""
    if not is_htmx(request):
        return _done(url, notice)
    response = render(request, template, context)
    trigger(response, "toast", message=NOTICES[notice], kind="ok")
    return response


# --- index -----------------------------------------------------------------------------


@router.get("")
def index(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    return _page(request, "admin/index.html", {"overview": admin.overview(session, actor=user)})


# --- units -----------------------------------------------------------------------------


def _unit_kind(kind: str) -> UnitKind | None:
    return UnitKind(kind) if kind in UnitKind.__members__ else None


@router.get("/units")
def units(
    request: Request, session: SessionDep, user: CurrentUser, kind: str = "", ok: str = ""
) -> Response:
    selected = _unit_kind(kind)
    context = {
        "units": admin.list_units(session, actor=user, kind=selected),
        "kind": selected.value if selected else "",
    }
    if is_htmx(request):
        return render(request, "admin/_units_table.html", context)
    return _page(request, "admin/units.html", context, ok=ok)


@router.get("/units/new")
def unit_new(request: Request, user: CurrentUser) -> Response:
    return _page(
        request, "admin/unit_form.html", {"unit": None, "form": admin.blank_unit(actor=user)}
    )


@router.post("/units/new")
def unit_create(
    request: Request, session: SessionDep, user: CurrentUser, form: UnitForm
) -> Response:
    try:
        admin.create_unit(session, actor=user, data=form)
    except RuleViolation as exc:
        return _page(request, "admin/unit_form.html", {"unit": None, "form": form}, error=exc)
    return _done("/admin/units", "unit-created")


@router.get("/units/{unit_id:int}/edit")
def unit_edit(
    request: Request, session: SessionDep, user: CurrentUser, unit_id: UnitId
) -> Response:
    unit = admin.get_unit(session, actor=user, unit_id=unit_id)
    return _page(request, "admin/unit_form.html", {"unit": unit, "form": UnitInput.of(unit)})


@router.post("/units/{unit_id:int}/edit")
def unit_update(
    request: Request, session: SessionDep, user: CurrentUser, unit_id: UnitId, form: UnitForm
) -> Response:
    try:
        admin.update_unit(session, actor=user, unit_id=unit_id, data=form)
    except RuleViolation as exc:
        unit = admin.get_unit(session, actor=user, unit_id=unit_id)
        return _page(request, "admin/unit_form.html", {"unit": unit, "form": form}, error=exc)
    return _done("/admin/units", "unit-saved")


def _unit_active(
    request: Request, session: SessionDep, user: CurrentUser, unit_id: UnitId, *, active: bool
) -> Response:
    unit = admin.set_unit_active(session, actor=user, unit_id=unit_id, active=active)
    notice = "unit-activated" if active else "unit-deactivated"
    return _row_or_redirect(
        request, "admin/_unit_row.html", {"unit": unit}, url="/admin/units", notice=notice
    )


@router.post("/units/{unit_id:int}/deactivate")
def unit_deactivate(
    request: Request, session: SessionDep, user: CurrentUser, unit_id: UnitId
) -> Response:
    return _unit_active(request, session, user, unit_id, active=False)


@router.post("/units/{unit_id:int}/activate")
def unit_activate(
    request: Request, session: SessionDep, user: CurrentUser, unit_id: UnitId
) -> Response:
    return _unit_active(request, session, user, unit_id, active=True)


# --- programs --------------------------------------------------------------------------


@router.get("/programs")
def programs(request: Request, session: SessionDep, user: CurrentUser, ok: str = "") -> Response:
    groups = admin.list_programs(session, actor=user)
    return _page(request, "admin/programs.html", {"groups": groups}, ok=ok)


@router.get("/programs/new")
def program_new(request: Request, user: CurrentUser) -> Response:
    form = admin.blank_program(actor=user)
    return _page(request, "admin/program_form.html", {"program": None, "form": form})


@router.post("/programs/new")
def program_create(
    request: Request, session: SessionDep, user: CurrentUser, form: ProgramForm
) -> Response:
    try:
        admin.create_program(session, actor=user, data=form)
    except RuleViolation as exc:
        context = {"program": None, "form": form}
        return _page(request, "admin/program_form.html", context, error=exc)
    return _done("/admin/programs", "program-created")


@router.get("/programs/{program_id:int}/edit")
def program_edit(
    request: Request, session: SessionDep, user: CurrentUser, program_id: ProgramId
) -> Response:
    program = admin.get_program(session, actor=user, program_id=program_id)
    context = {"program": program, "form": ProgramInput.of(program)}
    return _page(request, "admin/program_form.html", context)


@router.post("/programs/{program_id:int}/edit")
def program_update(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    program_id: ProgramId,
    form: ProgramForm,
) -> Response:
    try:
        admin.update_program(session, actor=user, program_id=program_id, data=form)
    except RuleViolation as exc:
        program = admin.get_program(session, actor=user, program_id=program_id)
        context = {"program": program, "form": form}
        return _page(request, "admin/program_form.html", context, error=exc)
    return _done("/admin/programs", "program-saved")


def _program_active(
    request: Request, session: SessionDep, user: CurrentUser, program_id: ProgramId, *, active: bool
) -> Response:
    program = admin.set_program_active(session, actor=user, program_id=program_id, active=active)
    notice = "program-activated" if active else "program-deactivated"
    return _row_or_redirect(
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


# --- users -----------------------------------------------------------------------------


@router.get("/users")
def users(request: Request, session: SessionDep, user: CurrentUser, ok: str = "") -> Response:
    listing = admin.list_users(session, actor=user)
    return _page(request, "admin/users.html", {"listing": listing}, ok=ok)


@router.get("/users/new")
def user_new(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    return _page(
        request, "admin/user_form.html", {"view": admin.user_form_view(session, actor=user)}
    )


@router.post("/users/new")
def user_create(
    request: Request, session: SessionDep, user: CurrentUser, form: UserForm
) -> Response:
    try:
        admin.create_user(session, actor=user, data=form)
    except RuleViolation as exc:
        view = admin.user_form_view(session, actor=user, form=form)
        return _page(request, "admin/user_form.html", {"view": view}, error=exc)
    return _done("/admin/users", "user-created")


@router.get("/users/{user_id:int}/edit")
def user_edit(
    request: Request, session: SessionDep, user: CurrentUser, user_id: UserId
) -> Response:
    view = admin.user_form_view(session, actor=user, user_id=user_id)
    return _page(request, "admin/user_form.html", {"view": view})


@router.post("/users/{user_id:int}/edit")
def user_update(
    request: Request, session: SessionDep, user: CurrentUser, user_id: UserId, form: UserForm
) -> Response:
    try:
        admin.update_user(session, actor=user, user_id=user_id, data=form)
    except RuleViolation as exc:
        view = admin.user_form_view(session, actor=user, user_id=user_id, form=form)
        return _page(request, "admin/user_form.html", {"view": view}, error=exc)
    return _done("/admin/users", "user-saved")


@router.post("/users/{user_id:int}/reset-password")
def user_reset_password(
    request: Request, session: SessionDep, user: CurrentUser, user_id: UserId
) -> Response:
    """A one-time password, shown on this answer only (never stored in clear, never cached)."""
    try:
        account, password = passwords.reset_password(session, actor=user, user_id=user_id)
    except RuleViolation as exc:
        view = admin.user_form_view(session, actor=user, user_id=user_id)
        return _page(request, "admin/user_form.html", {"view": view}, error=exc)
    response = render(
        request, "admin/password_reset.html", {"account": account, "password": password}
    )
    response.headers["Cache-Control"] = "no-store"
    return response


# --- plan ------------------------------------------------------------------------------


@router.get("/plan")
def plan_current(
    request: Request, session: SessionDep, user: CurrentUser, ok: str = ""
) -> Response:
    return _page(request, "admin/plan.html", {"view": admin.plan_view(session, actor=user)}, ok=ok)


@router.get("/plan/{plan_id:int}")
def plan_settings(
    request: Request, session: SessionDep, user: CurrentUser, plan_id: PlanId, ok: str = ""
) -> Response:
    view = admin.plan_view(session, actor=user, plan_id=plan_id)
    return _page(request, "admin/plan.html", {"view": view}, ok=ok)


@router.post("/plan/{plan_id:int}")
def plan_update(
    request: Request, session: SessionDep, user: CurrentUser, plan_id: PlanId, form: PlanForm
) -> Response:
    try:
        admin.update_plan(session, actor=user, plan_id=plan_id, data=form)
    except RuleViolation as exc:
        view = admin.plan_view(session, actor=user, plan_id=plan_id, form=form)
        return _page(request, "admin/plan.html", {"view": view}, error=exc)
    return _done(f"/admin/plan/{plan_id}", "plan-saved")


@router.post("/plan/{plan_id:int}/current")
def plan_make_current(
    request: Request, session: SessionDep, user: CurrentUser, plan_id: PlanId
) -> Response:
    admin.set_current_plan(session, actor=user, plan_id=plan_id)
    return _done("/admin/plan", "plan-current")


@router.get("/plan/new")
def plan_new(request: Request, user: CurrentUser) -> Response:
    return _page(request, "admin/plan_new.html", {"form": admin.blank_plan(actor=user)})


@router.post("/plan/new")
def plan_create(
    request: Request, session: SessionDep, user: CurrentUser, form: PlanForm
) -> Response:
    try:
        plan = admin.create_plan(session, actor=user, data=form)
    except RuleViolation as exc:
        return _page(request, "admin/plan_new.html", {"form": form}, error=exc)
    return _done(f"/admin/plan/{plan.id}", "plan-created")


# --- holidays --------------------------------------------------------------------------


@router.get("/holidays")
def holidays(request: Request, session: SessionDep, user: CurrentUser, ok: str = "") -> Response:
    context = {
        "holidays": admin.list_holidays(session, actor=user),
        "form": admin.blank_holiday(actor=user),
    }
    return _page(request, "admin/holidays.html", context, ok=ok)


@router.post("/holidays")
def holiday_create(
    request: Request, session: SessionDep, user: CurrentUser, form: HolidayForm
) -> Response:
    try:
        admin.create_holiday(session, actor=user, data=form)
    except RuleViolation as exc:
        context = {"holidays": admin.list_holidays(session, actor=user), "form": form}
        return _page(request, "admin/holidays.html", context, error=exc)
    return _done("/admin/holidays", "holiday-created")


@router.get("/holidays/{holiday_id:int}/edit")
def holiday_edit(
    request: Request, session: SessionDep, user: CurrentUser, holiday_id: HolidayId
) -> Response:
    holiday = admin.get_holiday(session, actor=user, holiday_id=holiday_id)
    context = {"holiday": holiday, "form": HolidayInput.of(holiday)}
    return _page(request, "admin/holiday_form.html", context)


@router.post("/holidays/{holiday_id:int}/edit")
def holiday_update(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    holiday_id: HolidayId,
    form: HolidayForm,
) -> Response:
    try:
        admin.update_holiday(session, actor=user, holiday_id=holiday_id, data=form)
    except RuleViolation as exc:
        holiday = admin.get_holiday(session, actor=user, holiday_id=holiday_id)
        context = {"holiday": holiday, "form": form}
        return _page(request, "admin/holiday_form.html", context, error=exc)
    return _done("/admin/holidays", "holiday-saved")


@router.post("/holidays/{holiday_id:int}/delete")
def holiday_delete(
    request: Request, session: SessionDep, user: CurrentUser, holiday_id: HolidayId
) -> Response:
    admin.delete_holiday(session, actor=user, holiday_id=holiday_id)
    if not is_htmx(request):
        return _done("/admin/holidays", "holiday-deleted")
    # An empty answer: htmx swaps the row away.
    response = HTMLResponse("")
    vary_on_htmx(response)
    trigger(response, "toast", message=NOTICES["holiday-deleted"], kind="ok")
    return response
