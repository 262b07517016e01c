"""The user's own profile: /profile shows the sections (the password first, then the
notification channels); each section posts to its own path and comes back to its own anchor."""

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from app.auth import CurrentUser, PageAuth
from app.config import Settings, SettingsDep
from app.db import SessionDep
from app.forms.errors import FormErrors
from app.models import User
from app.services import passwords, preferences
from app.services.passwords import PasswordChange, PasswordErrors
from app.services.preferences import LinkCode, PreferencesInput
from app.templating import render

router = APIRouter(prefix="/profile", tags=["profile"], include_in_schema=False)

OK_MESSAGES = {
    "password": "Kata sandi diganti. Semua sesi lain dan token API Anda telah diakhiri.",
}
# The notification section's own messages (templates/profile/_channels.html).
CHANNEL_NOTICES = {
    "channels-saved": "Pengaturan pemberitahuan disimpan.",
    "telegram-unlinked": "Akun Telegram dilepas dari Seratus.",
}

PreferencesForm = Annotated[PreferencesInput, Form()]


def _render_profile(
    request: Request,
    session: Session,
    user: User,
    settings: Settings,
    *,
    ok: str = "",
    password_errors: dict[str, str] | None = None,
    form: PreferencesInput | None = None,
    channel_errors: dict[str, str] | None = None,
    link_code: LinkCode | None = None,
    status_code: int = 200,
) -> Response:
    context: dict[str, Any] = {
        "ok_section": ok if ok in OK_MESSAGES else "",
        "ok_message": OK_MESSAGES.get(ok, ""),
        "password_errors": password_errors or {},
        "channels_notice": CHANNEL_NOTICES.get(ok),
        "channels": preferences.channels_view(
            session, actor=user, settings=settings, form=form, link_code=link_code
        ),
        "channel_errors": channel_errors or {},
    }
    return render(request, "profile/profile.html", context, status_code=status_code)


@router.get("")
def profile_page(
    request: Request, session: SessionDep, auth: PageAuth, settings: SettingsDep, ok: str = ""
) -> Response:
    return _render_profile(request, session, auth.user, settings, ok=ok)


@router.post("/password")
def change_password(
    request: Request,
    session: SessionDep,
    auth: PageAuth,
    settings: SettingsDep,
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
        return _render_profile(
            request,
            session,
            auth.user,
            settings,
            password_errors=exc.errors,
            status_code=422,
        )
    return RedirectResponse("/profile?ok=password#password", status_code=303)


@router.post("/channels")
def save_channels(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    settings: SettingsDep,
    form: PreferencesForm,
) -> Response:
    try:
        preferences.save_preferences(session, actor=user, user_id=user.pk, data=form)
    except FormErrors as exc:
        session.rollback()
        return _render_profile(
            request, session, user, settings, form=form, channel_errors=exc.errors, status_code=422
        )
    return RedirectResponse("/profile?ok=channels-saved#pemberitahuan", status_code=303)


@router.post("/telegram/code")
def telegram_code(
    request: Request, session: SessionDep, user: CurrentUser, settings: SettingsDep
) -> Response:
    """A new one-time code, shown once on the page (only its hash is stored)."""
    code = preferences.new_link_code(session, actor=user)
    return _render_profile(request, session, user, settings, link_code=code)


@router.post("/telegram/unlink")
def telegram_unlink(session: SessionDep, user: CurrentUser) -> RedirectResponse:
    preferences.unlink_telegram(session, actor=user)
    return RedirectResponse("/profile?ok=telegram-unlinked#pemberitahuan", status_code=303)
