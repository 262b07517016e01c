"""The user's own page (/profile): notification channels, kinds, quiet hours, Telegram."""

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from app.auth import CurrentUser
from app.config import SettingsDep
from app.db import SessionDep
from app.services import preferences
from app.services.admin import FormErrors
from app.services.preferences import LinkCode, PreferencesInput
from app.templating import render

router = APIRouter(prefix="/profile", include_in_schema=False)

NOTICES = {
    "channels-saved": "Pengaturan pemberitahuan disimpan.",
    "telegram-unlinked": "Akun Telegram dilepas dari Seratus.",
}

PreferencesForm = Annotated[PreferencesInput, Form()]


def _profile(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    settings: SettingsDep,
    *,
    ok: str = "",
    form: PreferencesInput | None = None,
    errors: dict[str, str] | None = None,
    link_code: LinkCode | None = None,
) -> Response:
    context: dict[str, Any] = {
        "notice": NOTICES.get(ok),
        "channels": preferences.channels_view(
            session, actor=user, settings=settings, form=form, link_code=link_code
        ),
        "channel_errors": errors or {},
    }
    return render(request, "profile/profile.html", context, status_code=422 if errors else 200)


@router.get("")
def profile(
    request: Request, session: SessionDep, user: CurrentUser, settings: SettingsDep, ok: str = ""
) -> Response:
    return _profile(request, session, user, settings, ok=ok)


@router.post("/channels")
def save_channels(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    settings: SettingsDep,
    form: PreferencesForm,
) -> Response:
    try:
        preferences.save_preferences(session, actor=user, user_id=user.id or 0, data=form)
    except FormErrors as exc:
        session.rollback()
        return _profile(request, session, user, settings, form=form, errors=exc.errors)
    return RedirectResponse("/profile?ok=channels-saved#pemberitahuan", status_code=303)


@router.post("/telegram/code")
def telegram_code(
    request: Request, session: SessionDep, user: CurrentUser, settings: SettingsDep
) -> Response:
    """A new one-time code, shown once on the page (only its hash is stored)."""
    code = preferences.new_link_code(session, actor=user)
    return _profile(request, session, user, settings, link_code=code)


@router.post("/telegram/unlink")
def telegram_unlink(session: SessionDep, user: CurrentUser) -> RedirectResponse:
    preferences.unlink_telegram(session, actor=user)
    return RedirectResponse("/profile?ok=telegram-unlinked#pemberitahuan", status_code=303)
