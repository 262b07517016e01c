"""Administration of user accounts, and the one-time password of a reset."""

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from app.auth import CurrentUser
from app.db import SessionDep
from app.errors import RuleViolation
from app.path_ids import UserId
from app.routes.admin.pages import done, page
from app.services import admin, passwords
from app.services.admin import UserInput
from app.templating import render

router = APIRouter()
UserForm = Annotated[UserInput, Form()]


@router.get("/users")
def user_list(request: Request, session: SessionDep, user: CurrentUser, ok: str = "") -> Response:
    listing = admin.list_users(session, actor=user)
    return page(request, "admin/users.html", {"listing": listing}, ok=ok)


@router.get("/users/new")
def user_new(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    return page(
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
        return page(request, "admin/user_form.html", {"view": view}, error=exc)
    return done("/admin/users", "user-created")


@router.get("/users/{user_id:int}/edit")
def user_edit(
    request: Request, session: SessionDep, user: CurrentUser, user_id: UserId
) -> Response:
    view = admin.user_form_view(session, actor=user, user_id=user_id)
    return page(request, "admin/user_form.html", {"view": view})


@router.post("/users/{user_id:int}/edit")
def user_update(
    request: Request, session: SessionDep, user: CurrentUser, user_id: UserId, form: UserForm
) -> Response:
    try:
        admin.update_user(session, actor=user, user_id=user_id, data=form)
    except RuleViolation as exc:
        view = admin.user_form_view(session, actor=user, user_id=user_id, form=form)
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
        view = admin.user_form_view(session, actor=user, user_id=user_id)
        return page(request, "admin/user_form.html", {"view": view}, error=exc)
    response = render(
        request, "admin/password_reset.html", {"account": account, "password": password}
    )
    response.headers["Cache-Control"] = "no-store"
    return response
