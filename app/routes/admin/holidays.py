"""Administration of holidays (libur and cuti bersama)."""

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from app import permissions
from app.auth import CurrentUser
from app.db import SessionDep
from app.errors import RuleViolation
from app.forms.holidays import HolidayInput, parse_holiday
from app.htmx import is_htmx, trigger, vary_on_htmx
from app.path_ids import HolidayId
from app.routes.admin.pages import NOTICES, done, page
from app.services import holidays

router = APIRouter()
HolidayForm = Annotated[HolidayInput, Form()]


@router.get("/holidays")
def holiday_list(
    request: Request, session: SessionDep, user: CurrentUser, ok: str = ""
) -> Response:
    context = {
        "holidays": holidays.list_holidays(session, actor=user),
        "form": holidays.blank_holiday(actor=user),
    }
    return page(request, "admin/holidays.html", context, ok=ok)


@router.post("/holidays")
def holiday_create(
    request: Request, session: SessionDep, user: CurrentUser, form: HolidayForm
) -> Response:
    permissions.ensure_team(user)  # before the form is read: outsiders learn nothing
    try:
        holidays.create_holiday(session, actor=user, data=parse_holiday(form))
    except RuleViolation as exc:
        context = {"holidays": holidays.list_holidays(session, actor=user), "form": form}
        return page(request, "admin/holidays.html", context, error=exc)
    return done("/admin/holidays", "holiday-created")


@router.get("/holidays/{holiday_id:int}/edit")
def holiday_edit(
    request: Request, session: SessionDep, user: CurrentUser, holiday_id: HolidayId
) -> Response:
    holiday = holidays.get_holiday(session, actor=user, holiday_id=holiday_id)
    context = {"holiday": holiday, "form": HolidayInput.of(holiday)}
    return page(request, "admin/holiday_form.html", context)


@router.post("/holidays/{holiday_id:int}/edit")
def holiday_update(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    holiday_id: HolidayId,
    form: HolidayForm,
) -> Response:
    try:
        holidays.update_holiday(
            session, actor=user, holiday_id=holiday_id, data=parse_holiday(form)
        )
    except RuleViolation as exc:
        holiday = holidays.get_holiday(session, actor=user, holiday_id=holiday_id)
        context = {"holiday": holiday, "form": form}
        return page(request, "admin/holiday_form.html", context, error=exc)
    return done("/admin/holidays", "holiday-saved")


@router.post("/holidays/{holiday_id:int}/delete")
def holiday_delete(
    request: Request, session: SessionDep, user: CurrentUser, holiday_id: HolidayId
) -> Response:
    holidays.delete_holiday(session, actor=user, holiday_id=holiday_id)
    if not is_htmx(request):
        return done("/admin/holidays", "holiday-deleted")
    # An empty answer: htmx swaps the row away.
    response = HTMLResponse("")
    vary_on_htmx(response)
    trigger(response, "toast", message=NOTICES["holiday-deleted"], kind="ok")
    return response
