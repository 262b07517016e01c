"""The user's own profile: /profile shows the sections (the password first); each section
posts to its own path and comes back to its own anchor."""

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from app.auth import PageAuth
from app.db import SessionDep
from app.services import passwords
from app.services.passwords import PasswordChange, PasswordErrors
from app.templating import render

router = APIRouter(prefix="/profile", tags=["profile"], include_in_schema=False)

OK_MESSAGES = {
    "password": "Kata sandi diganti. Semua sesi lain dan token API Anda telah diakhiri.",
}


def _render_profile(
    request: Request,
    *,
    ok: str = "",
    password_errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "profile/profile.html",
        {
            "ok_section": ok if ok in OK_MESSAGES else "",
            "ok_message": OK_MESSAGES.get(ok, ""),
            "password_errors": password_errors or {},
        },
        status_code=status_code,
    )


@router.get("")
def profile_page(request: Request, auth: PageAuth, ok: str = "") -> Response:
    return _render_profile(request, ok=ok)


@router.post("/password")
def change_password(
    request: Request,
    session: SessionDep,
    auth: PageAuth,
    current_password: Annotated[str, Form(max_length=256)] = "",
    new_password: Annotated[str, Form(max_length=256)] = "",
    new_password_repeat: Annotated[str, Form(max_length=256)] = "",
) -> Response:
    try:
        passwords.change_own_password(
            session,
            user=auth.user,
            login_session_id=auth.login_session.id,
            data=PasswordChange(
                current=current_password, new=new_password, repeat=new_password_repeat
            ),
        )
    except PasswordErrors as exc:
        session.rollback()
        return _render_profile(request, password_errors=exc.errors, status_code=422)
    return RedirectResponse("/profile?ok=password#password", status_code=303)
