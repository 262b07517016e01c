"""Administration of units: agencies (OPD) and districts (kecamatan)."""

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from app import permissions
from app.auth import CurrentUser
from app.db import SessionDep
from app.errors import RuleViolation
from app.forms.units import UnitInput, parse_unit
from app.htmx import is_htmx
from app.models import UnitKind
from app.path_ids import UnitId
from app.routes.admin.pages import done, page, row_or_redirect
from app.services import units
from app.templating import render

router = APIRouter()
UnitForm = Annotated[UnitInput, Form()]


def _unit_kind(kind: str) -> UnitKind | None:
    return UnitKind(kind) if kind in UnitKind.__members__ else None


@router.get("/units")
def unit_list(
    request: Request, session: SessionDep, user: CurrentUser, kind: str = "", ok: str = ""
) -> Response:
    selected = _unit_kind(kind)
    context = {
        "units": units.list_units(session, actor=user, kind=selected),
        "kind": selected.value if selected else "",
    }
    if is_htmx(request):
        return render(request, "admin/_units_table.html", context)
    return page(request, "admin/units.html", context, ok=ok)


@router.get("/units/new")
def unit_new(request: Request, user: CurrentUser) -> Response:
    return page(
        request, "admin/unit_form.html", {"unit": None, "form": units.blank_unit(actor=user)}
    )


@router.post("/units/new")
def unit_create(
    request: Request, session: SessionDep, user: CurrentUser, form: UnitForm
) -> Response:
    permissions.ensure_team(user)  # before the form is read: outsiders learn nothing
    try:
        units.create_unit(session, actor=user, data=parse_unit(form))
    except RuleViolation as exc:
        return page(request, "admin/unit_form.html", {"unit": None, "form": form}, error=exc)
    return done("/admin/units", "unit-created")


@router.get("/units/{unit_id:int}/edit")
def unit_edit(
    request: Request, session: SessionDep, user: CurrentUser, unit_id: UnitId
) -> Response:
    unit = units.get_unit(session, actor=user, unit_id=unit_id)
    return page(request, "admin/unit_form.html", {"unit": unit, "form": UnitInput.of(unit)})


@router.post("/units/{unit_id:int}/edit")
def unit_update(
    request: Request, session: SessionDep, user: CurrentUser, unit_id: UnitId, form: UnitForm
) -> Response:
    try:
        units.update_unit(session, actor=user, unit_id=unit_id, data=parse_unit(form))
    except RuleViolation as exc:
        unit = units.get_unit(session, actor=user, unit_id=unit_id)
        return page(request, "admin/unit_form.html", {"unit": unit, "form": form}, error=exc)
    return done("/admin/units", "unit-saved")


def _unit_active(
    request: Request, session: SessionDep, user: CurrentUser, unit_id: UnitId, *, active: bool
) -> Response:
    unit = units.set_unit_active(session, actor=user, unit_id=unit_id, active=active)
    notice = "unit-activated" if active else "unit-deactivated"
    return row_or_redirect(
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
