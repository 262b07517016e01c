from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from app.auth import (
    PageAuth,
    check_login_csrf,
    clear_session_cookie,
    login_csrf_token,
    set_login_csrf_cookie,
    set_session_cookie,
)
from app.config import SettingsDep
from app.db import SessionDep
from app.errors import NotAuthenticated
from app.models import SessionKind
from app.services import accounts
from app.templating import render

router = APIRouter(include_in_schema=False)


def _safe_next(target: str) -> str:
    """Only local paths: never redirect a fresh login to another site."""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def _login_page(
    request: Request,
    settings: SettingsDep,
    *,
    next_url: str,
    username: str = "",
    error: str = "",
    status_code: int = 200,
) -> Response:
    token = login_csrf_token(request, settings)
    response = render(
        request,
        "auth/login.html",
        {
            "login_csrf": token,
            "next_url": next_url,
            "username": username,
            "error": error,
            "organisation": settings.organisation,
        },
        status_code=status_code,
    )
    set_login_csrf_cookie(response, token=token, request=request, settings=settings)
    return response


@router.get("/login")
def login_form(request: Request, settings: SettingsDep, next: str = "/") -> Response:
    return _login_page(request, settings, next_url=_safe_next(next))


@router.post("/login")
def login(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    username: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=256)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    check_login_csrf(request, csrf_token, settings)
    try:
        user = accounts.authenticate(
            session, username=username, password=password, settings=settings
        )
    except NotAuthenticated as exc:
        return _login_page(
            request,
            settings,
            next_url=_safe_next(next),
            username=username,
            error=exc.message,
            status_code=401,
        )
    new = accounts.start_session(
        session,
        user=user,
        kind=SessionKind.web,
        settings=settings,
        user_agent=request.headers.get("user-agent", ""),
    )
    response = RedirectResponse(_safe_next(next), status_code=303)
    set_session_cookie(response, token=new.token, request=request, settings=settings)
    return response


@router.post("/logout")
def logout(auth: PageAuth, session: SessionDep) -> Response:
    accounts.revoke_session(session, login_session_id=auth.login_session.pk)
    response = RedirectResponse("/login", status_code=303)
    clear_session_cookie(response)
    return response
