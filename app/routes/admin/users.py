"""Administration of user accounts, and the one-time password of a reset. The form is parsed
by app.forms.users; the account rules (username, password, unit, office, not demoting
oneself) are app.services.accounts', shared with the command line."""

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from app.auth import CurrentUser
from app.db import SessionDep
from app.errors import RuleViolation
from app.forms.users import UserInput, parse_user
from app.path_ids import UserId
from app.routes.admin.pages import done, page
from app.services import accounts, passwords
from app.templating import render

router = APIRouter()
UserForm = Annotated[UserInput, Form()]


@router.get("/users")
def user_list(request: Request, session: SessionDep, user: CurrentUser, ok: str = "") -> Response:
    listing = accounts.user_listing(session, actor=user)
    return page(request, "admin/users.html", {"listing": listing}, ok=ok)


@router.get("/users/new")
def user_new(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    return page(
        request, "admin/user_form.html", {"view": accounts.user_form_view(session, actor=user)}
    )


@router.post("/users/new")
def user_create(
    request: Request, session: SessionDep, user: CurrentUser, form: UserForm
) -> Response:
    try:
        data = parse_user(form, password_required=True)
        accounts.create_user(
            session,
            actor=user,
            username=data.username,
            full_name=data.full_name,
            role=data.role,
            password=data.password,
            unit_id=data.unit_id,
            position=data.position,
        )
    except RuleViolation as exc:
        view = accounts.user_form_view(session, actor=user, form=form)
        return page(request, "admin/user_form.html", {"view": view}, error=exc)
    return done("/admin/users", "user-created")


@router.get("/users/{user_id:int}/edit")
def user_edit(
    request: Request, session: SessionDep, user: CurrentUser, user_id: UserId
) -> Response:
    view = accounts.user_form_view(session, actor=user, user_id=user_id)
    return page(request, "admin/user_form.html", {"view": view})


@router.post("/users/{user_id:int}/edit")
def user_update(
    request: Request, session: SessionDep, user: CurrentUser, user_id: UserId, form: UserForm
) -> Response:
    try:
        data = parse_user(form, password_required=False)
        accounts.update_user(
            session,
            actor=user,
            user_id=user_id,
            full_name=data.full_name,
            role=data.role,
            unit_id=data.unit_id,
            is_active=data.is_active,
            new_password=data.password,
            position=data.position,
        )
    except RuleViolation as exc:
        view = accounts.user_form_view(session, actor=user, user_id=user_id, form=form)
        return page(request, "admin/user_form.html", {"view": view}, error=exc)
    return done("/admin/users", "user-saved")


@router.post("/users/{user_id:int}/reset-password")
def user_reset_password(
    request: Request, session: SessionDep, user: CurrentUser, user_id: UserId
) -> Response:
    """A one-time password, shown on this answer only (never stored in clear, never cached)."""
    try:
        account, password = passwords.reset_password(session, actor=user, user_id=user_id)
    except RuleViolation as exc:
        view = accounts.user_form_view(session, actor=user, user_id=user_id)
        return page(request, "admin/user_form.html", {"view": view}, error=exc)
    response = render(
        request, "admin/password_reset.html", {"account": account, "password": password}
    )
    response.headers["Cache-Control"] = "no-store"
    return response
