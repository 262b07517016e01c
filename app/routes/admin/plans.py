"""The plan settings pages: the current plan, any plan, a new plan, the printed letterhead."""

from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import Response

from app import permissions
from app.auth import CurrentUser
from app.db import SessionDep
from app.errors import RuleViolation
from app.forms.plans import PlanInput, parse_plan
from app.path_ids import PlanId
from app.routes.admin.pages import done, page
from app.services import letterhead
from app.services.plans import settings as plan_settings

router = APIRouter()
PlanForm = Annotated[PlanInput, Form()]


@router.get("/plan")
def plan_current(
    request: Request, session: SessionDep, user: CurrentUser, ok: str = ""
) -> Response:
    return page(
        request, "admin/plan.html", {"view": plan_settings.plan_view(session, actor=user)}, ok=ok
    )


@router.get("/plan/{plan_id:int}")
def plan_page(
    request: Request, session: SessionDep, user: CurrentUser, plan_id: PlanId, ok: str = ""
) -> Response:
    view = plan_settings.plan_view(session, actor=user, plan_id=plan_id)
    return page(request, "admin/plan.html", {"view": view}, ok=ok)


@router.post("/plan/{plan_id:int}")
def plan_update(
    request: Request, session: SessionDep, user: CurrentUser, plan_id: PlanId, form: PlanForm
) -> Response:
    try:
        plan_settings.update_plan(session, actor=user, plan_id=plan_id, data=parse_plan(form))
    except RuleViolation as exc:
        view = plan_settings.plan_view(session, actor=user, plan_id=plan_id, form=form)
        return page(request, "admin/plan.html", {"view": view}, error=exc)
    return done(f"/admin/plan/{plan_id}", "plan-saved")


@router.post("/plan/{plan_id:int}/letterhead")
def plan_letterhead(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    plan_id: PlanId,
    organisation_name: Annotated[str, Form(max_length=1000)] = "",
    remove_logo: Annotated[str, Form(max_length=10)] = "",
    logo: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """The printed pack's letterhead: organisation name and logo (PNG/JPEG, 512 KB)."""
    plan = plan_settings.plan_view(session, actor=user, plan_id=plan_id).plan
    assert plan is not None
    content = logo.file.read(letterhead.LOGO_MAX_BYTES + 1) if logo and logo.filename else None
    try:
        letterhead.set_letterhead(
            session,
            actor=user,
            plan=plan,
            organisation_name=organisation_name,
            logo_content=content,
            remove_logo=bool(remove_logo),
        )
    except RuleViolation as exc:
        session.rollback()
        view = plan_settings.plan_view(session, actor=user, plan_id=plan_id)
        context = {"view": view, "letterhead_name": organisation_name}
        return page(request, "admin/plan.html", context, error=exc)
    return done(f"/admin/plan/{plan_id}", "letterhead-saved")


@router.post("/plan/{plan_id:int}/current")
def plan_make_current(
    request: Request, session: SessionDep, user: CurrentUser, plan_id: PlanId
) -> Response:
    plan_settings.set_current_plan(session, actor=user, plan_id=plan_id)
    return done("/admin/plan", "plan-current")


@router.get("/plan/new")
def plan_new(request: Request, user: CurrentUser) -> Response:
    return page(request, "admin/plan_new.html", {"form": plan_settings.blank_plan(actor=user)})


@router.post("/plan/new")
def plan_create(
    request: Request, session: SessionDep, user: CurrentUser, form: PlanForm
) -> Response:
    permissions.ensure_team(user)  # before the form is read: outsiders learn nothing
    try:
        plan = plan_settings.create_plan(session, actor=user, data=parse_plan(form))
    except RuleViolation as exc:
        return page(request, "admin/plan_new.html", {"form": form}, error=exc)
    return done(f"/admin/plan/{plan.id}", "plan-created")
