"""A user's notification settings: addresses, channels, kinds, quiet hours, Telegram link.

Users change their own on /profile; the team may set anyone's addresses and channels in admin.
"""

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import BaseModel, Field
from sqlmodel import Session, select

from app import permissions
from app.config import Settings
from app.db import utcnow
from app.errors import NotFound
from app.forms.errors import FormErrors
from app.models import (
    QUIET_END_DEFAULT,
    QUIET_START_DEFAULT,
    NoticeKind,
    NotificationSettings,
    User,
)
from app.services.outbox import NOTICE_LABELS

RAW_MAX = 400
EMAIL_RE = re.compile(
    r"^[^@\s<>\"',;]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$"
)
TIME_RE = re.compile(r"^([01]?\d|2[0-3])[.:]([0-5]\d)$")
# Linking codes: 8 characters a person can type on a phone, valid for 15 minutes.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8
CODE_MINUTES = 15

EMAIL_MESSAGE = "Alamat email tidak valid; tulis seperti nama@banyuasinkab.go.id."
WHATSAPP_MESSAGE = (
    "Nomor WhatsApp tidak valid; tulis nomor Indonesia seperti 0812-3456-7890 atau "
    "+62 812 3456 7890."
)
TIME_MESSAGE = "Jam tidak valid; tulis seperti 21.00."


def normalise_whatsapp(raw: str) -> str | None:
    """An Indonesian mobile number as +62…, or None when it is not one. Empty stays empty."""
    digits = re.sub(r"[\s\-().]", "", raw)
    if not digits:
        return ""
    if digits.startswith("+"):
        digits = digits[1:]
    if digits.startswith("0"):
        digits = "62" + digits[1:]
    if not digits.isdigit() or not digits.startswith("628") or not 10 <= len(digits) <= 15:
        return None
    return "+" + digits


def valid_email(raw: str) -> str | None:
    value = raw.strip()
    if not value:
        return ""
    if len(value) > 254 or not EMAIL_RE.match(value):
        return None
    return value


def _minutes(raw: str) -> int | None:
    found = TIME_RE.match(raw.strip())
    if found is None:
        return None
    return int(found.group(1)) * 60 + int(found.group(2))


def format_minutes(value: int) -> str:
    return f"{value // 60:02d}.{value % 60:02d}"


class PreferencesInput(BaseModel):
    """The channels form as typed."""

    email: str = Field(default="", max_length=RAW_MAX)
    whatsapp: str = Field(default="", max_length=RAW_MAX)
    email_on: bool = False
    telegram_on: bool = False
    webhook_on: bool = False
    kinds: list[str] = Field(default_factory=list, max_length=40)
    quiet_hours_on: bool = False
    quiet_start: str = Field(default="21.00", max_length=RAW_MAX)
    quiet_end: str = Field(default="06.00", max_length=RAW_MAX)

    @classmethod
    def of(cls, prefs: NotificationSettings) -> "PreferencesInput":
        muted = set(prefs.muted_kinds or [])
        return cls(
            email=prefs.email,
            whatsapp=prefs.whatsapp,
            email_on=prefs.email_on,
            telegram_on=prefs.telegram_on,
            webhook_on=prefs.webhook_on,
            kinds=[k.value for k in NoticeKind if k.value not in muted],
            quiet_hours_on=prefs.quiet_hours_on,
            quiet_start=format_minutes(prefs.quiet_start_minute),
            quiet_end=format_minutes(prefs.quiet_end_minute),
        )


def preferences_of(session: Session, *, user_id: int) -> NotificationSettings:
    """The user's row, or the defaults (not saved) when they never set anything."""
    return session.get(NotificationSettings, user_id) or NotificationSettings(user_id=user_id)


def _ensure_may_edit(actor: User, user_id: int) -> None:
    if actor.id != user_id:
        permissions.ensure_team(actor)


def save_preferences(
    session: Session, *, actor: User, user_id: int, data: PreferencesInput
) -> NotificationSettings:
    """Validate the whole form (every wrong field gets its message) and save it."""
    _ensure_may_edit(actor, user_id)
    if session.get(User, user_id) is None:
        raise NotFound(f"Pengguna #{user_id} tidak ditemukan.")
    prefs = preferences_of(session, user_id=user_id)
    errors: dict[str, str] = {}
    email = valid_email(data.email)
    if email is None:
        errors["email"] = EMAIL_MESSAGE
    whatsapp = normalise_whatsapp(data.whatsapp)
    if whatsapp is None:
        errors["whatsapp"] = WHATSAPP_MESSAGE
    if data.email_on and email == "":
        errors["email"] = "Isi alamat email untuk menerima pemberitahuan lewat email."
    if data.webhook_on and whatsapp == "":
        errors["whatsapp"] = "Isi nomor WhatsApp untuk menerima pemberitahuan lewat WhatsApp."
    if data.telegram_on and not prefs.telegram_chat_id:
        errors["telegram_on"] = "Tautkan akun Telegram lebih dulu (kode di bawah)."
    known = {k.value for k in NoticeKind}
    unknown = [k for k in data.kinds if k not in known]
    if unknown:
        errors["kinds"] = "Pilih jenis pemberitahuan dari daftar."
    start = _minutes(data.quiet_start)
    end = _minutes(data.quiet_end)
    if start is None:
        errors["quiet_start"] = TIME_MESSAGE
    if end is None:
        errors["quiet_end"] = TIME_MESSAGE
    if errors:
        raise FormErrors(errors)
    prefs.email = email or ""
    prefs.whatsapp = whatsapp or ""
    prefs.email_on = data.email_on
    prefs.telegram_on = data.telegram_on
    prefs.webhook_on = data.webhook_on
    prefs.muted_kinds = sorted(known - set(data.kinds))
    prefs.quiet_hours_on = data.quiet_hours_on
    prefs.quiet_start_minute = start if start is not None else QUIET_START_DEFAULT
    prefs.quiet_end_minute = end if end is not None else QUIET_END_DEFAULT
    session.add(prefs)
    session.commit()
    return prefs


class ContactInput(BaseModel):
    """The team's form for someone's addresses and channels (kinds and quiet hours stay)."""

    email: str = Field(default="", max_length=RAW_MAX)
    whatsapp: str = Field(default="", max_length=RAW_MAX)
    email_on: bool = False
    telegram_on: bool = False
    webhook_on: bool = False

    @classmethod
    def of(cls, prefs: NotificationSettings) -> "ContactInput":
        return cls(
            email=prefs.email,
            whatsapp=prefs.whatsapp,
            email_on=prefs.email_on,
            telegram_on=prefs.telegram_on,
            webhook_on=prefs.webhook_on,
        )


def contact_form(session: Session, *, actor: User, user_id: int) -> tuple[User, ContactInput]:
    permissions.ensure_team(actor)
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"Pengguna #{user_id} tidak ditemukan.")
    return user, ContactInput.of(preferences_of(session, user_id=user_id))


def save_contact(
    session: Session, *, actor: User, user_id: int, data: ContactInput
) -> NotificationSettings:
    """The team sets a user's email, WhatsApp number and channels (admin)."""
    permissions.ensure_team(actor)
    current = PreferencesInput.of(preferences_of(session, user_id=user_id))
    merged = current.model_copy(update=data.model_dump())
    return save_preferences(session, actor=actor, user_id=user_id, data=merged)


def set_contact(
    session: Session,
    *,
    user_id: int,
    email: str = "",
    whatsapp: str = "",
    email_on: bool = False,
) -> NotificationSettings:
    """For the demo and the command line: set addresses without a form; the caller commits."""
    prefs = preferences_of(session, user_id=user_id)
    prefs.email = email
    prefs.whatsapp = whatsapp
    prefs.email_on = email_on and bool(email)
    session.add(prefs)
    return prefs


# --- Telegram linking ------------------------------------------------------------------


def _code_hash(code: str) -> str:
    return hashlib.sha256(code.strip().upper().encode()).hexdigest()


@dataclass(frozen=True)
class LinkCode:
    code: str
    expires_at: datetime


def new_link_code(session: Session, *, actor: User, now: datetime | None = None) -> LinkCode:
    """A one-time code the user sends to the bot as `/start CODE` (replaces any earlier one)."""
    now = now or utcnow()
    code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    prefs = preferences_of(session, user_id=actor.pk)
    prefs.telegram_code_hash = _code_hash(code)
    prefs.telegram_code_expires_at = now + timedelta(minutes=CODE_MINUTES)
    session.add(prefs)
    session.commit()
    return LinkCode(code=code, expires_at=prefs.telegram_code_expires_at)


def redeem_link_code(
    session: Session, *, code: str, chat_id: str, now: datetime | None = None
) -> User | None:
    """Link `chat_id` to the user whose valid code this is; the code is spent. The caller
    commits. None for an unknown or expired code."""
    now = now or utcnow()
    if not code.strip():
        return None
    row = session.exec(
        select(NotificationSettings).where(
            NotificationSettings.telegram_code_hash == _code_hash(code)
        )
    ).first()
    if row is None or row.telegram_code_expires_at is None or row.telegram_code_expires_at < now:
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.is_active:
        return None
    # A chat links to one account: another account linked to it lets go.
    for held in session.exec(
        select(NotificationSettings).where(
            NotificationSettings.telegram_chat_id == chat_id,
            NotificationSettings.user_id != row.user_id,
        )
    ).all():
        held.telegram_chat_id = None
        held.telegram_on = False
        session.add(held)
    session.flush()
    row.telegram_chat_id = chat_id
    row.telegram_on = True
    row.telegram_code_hash = None
    row.telegram_code_expires_at = None
    session.add(row)
    return user


def unlink_telegram(session: Session, *, actor: User) -> None:
    prefs = session.get(NotificationSettings, actor.id)
    if prefs is None:
        return
    prefs.telegram_chat_id = None
    prefs.telegram_on = False
    prefs.pending_action = ""
    prefs.pending_task_id = None
    prefs.pending_version = None
    session.add(prefs)
    session.commit()


def user_for_chat(session: Session, *, chat_id: str) -> tuple[User, NotificationSettings] | None:
    """The active user linked to this Telegram chat."""
    row = session.exec(
        select(NotificationSettings).where(NotificationSettings.telegram_chat_id == chat_id)
    ).first()
    if row is None:
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.is_active:
        return None
    return user, row


# --- the profile page's view -----------------------------------------------------------


@dataclass(frozen=True)
class ChannelsView:
    prefs: NotificationSettings
    form: PreferencesInput
    kinds: list[tuple[str, str]]
    email_ready: bool
    telegram_ready: bool
    webhook_ready: bool
    telegram_bot: str
    link_code: LinkCode | None = None


def channels_view(
    session: Session,
    *,
    actor: User,
    settings: Settings,
    form: PreferencesInput | None = None,
    link_code: LinkCode | None = None,
) -> ChannelsView:
    prefs = preferences_of(session, user_id=actor.pk)
    return ChannelsView(
        prefs=prefs,
        form=form or PreferencesInput.of(prefs),
        kinds=[(k.value, NOTICE_LABELS[k]) for k in NoticeKind],
        email_ready=bool(settings.smtp_host),
        telegram_ready=bool(settings.telegram_bot_token),
        webhook_ready=bool(settings.webhook_url and settings.webhook_secret),
        telegram_bot=settings.telegram_bot_username,
        link_code=link_code,
    )
