"""Admin pages of the notifications (team only): messages that failed, with "kirim ulang",
and a user's addresses and channels."""

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from app.auth import CurrentUser
from app.config import SettingsDep
from app.db import SessionDep
from app.forms.errors import FormErrors
from app.path_ids import DeliveryId, UserId
from app.services import delivery, preferences
from app.services.preferences import ContactInput
from app.templating import render

router = APIRouter(prefix="/admin", include_in_schema=False)

NOTICES = {
    "resent": "Pesan dimasukkan kembali ke antrean dan akan dikirim worker.",
    "contact-saved": "Kontak dan kanal pemberitahuan pengguna disimpan.",
}

ContactForm = Annotated[ContactInput, Form()]


@router.get("/deliveries")
def failed_deliveries(
    request: Request, session: SessionDep, user: CurrentUser, settings: SettingsDep, ok: str = ""
) -> Response:
    rows = delivery.failed_deliveries(session, actor=user)
    return render(
        request,
        "admin/deliveries.html",
        {"rows": rows, "notice": NOTICES.get(ok), "settings": settings, "errors": {}},
    )


@router.post("/deliveries/{delivery_id}/retry")
def retry(delivery_id: DeliveryId, session: SessionDep, user: CurrentUser) -> RedirectResponse:
    delivery.retry_delivery(session, actor=user, delivery_id=delivery_id)
    return RedirectResponse("/admin/deliveries?ok=resent", status_code=303)


@router.get("/users/{user_id}/channels")
def user_channels(
    request: Request, session: SessionDep, user: CurrentUser, user_id: UserId, ok: str = ""
) -> Response:
    account, form = preferences.contact_form(session, actor=user, user_id=user_id)
    return render(
        request,
        "admin/user_channels.html",
        {"account": account, "form": form, "errors": {}, "notice": NOTICES.get(ok)},
    )


@router.post("/users/{user_id}/channels")
def save_user_channels(
    request: Request, session: SessionDep, user: CurrentUser, user_id: UserId, form: ContactForm
) -> Response:
    account, _ = preferences.contact_form(session, actor=user, user_id=user_id)
    try:
        preferences.save_contact(session, actor=user, user_id=user_id, data=form)
    except FormErrors as exc:
        session.rollback()
        return render(
            request,
            "admin/user_channels.html",
            {"account": account, "form": form, "errors": exc.errors, "notice": None},
            status_code=422,
        )
    return RedirectResponse(f"/admin/users/{user_id}/channels?ok=contact-saved", status_code=303)
