"""Users, passwords, login throttling and login sessions (browser sessions and API tokens).

Sessions live in the database, so any app process can serve any request. Only the SHA-256 of
a session secret is stored; the secret itself exists only in the user's cookie or token.
"""

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from pwdlib import PasswordHash
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, col, select

from app import permissions, text_input
from app.config import Settings
from app.db import core_reader, retry_write, utcnow
from app.errors import NotAuthenticated, NotFound, RuleViolation
from app.forms.users import POSITION_NOT_EXECUTIVE, UserInput
from app.models import ExecutivePosition, LoginSession, Role, SessionKind, Unit, User
from app.services.password_hashing import BoundedPasswordHash
from app.services.rows import get_row
from app.sorting import text_order

password_hash = BoundedPasswordHash(PasswordHash.recommended())  # argon2id
# Verified against when the username is unknown, so timing does not reveal which names exist.
_DUMMY_HASH = password_hash.hash("seratus-dummy-password")

USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{2,59}$")
PASSWORD_MIN = 10
LAST_SEEN_GRANULARITY = timedelta(seconds=60)
WRONG_LOGIN = "Nama pengguna atau kata sandi salah."


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# --- users -----------------------------------------------------------------------------


def validate_password(password: str) -> None:
    if len(password) < PASSWORD_MIN:
        raise RuleViolation(f"Kata sandi minimal {PASSWORD_MIN} karakter.", field="password")
    if len(password) > 256:
        raise RuleViolation("Kata sandi terlalu panjang.", field="password")


def _check_user_fields(
    session: Session,
    *,
    username: str,
    full_name: str,
    role: Role,
    unit_id: int | None,
    position: ExecutivePosition | None = None,
    current_unit_id: int | None = None,
) -> None:
    if not USERNAME_RE.match(username):
        raise RuleViolation(
            "Nama pengguna 3–60 karakter: huruf kecil, angka, titik, garis bawah "
            "atau tanda hubung.",
            field="username",
        )
    if not full_name.strip():
        raise RuleViolation("Nama lengkap wajib diisi.", field="full_name")
    if len(full_name) > 120:
        raise RuleViolation("Nama lengkap terlalu panjang (maks. 120 karakter).", field="full_name")
    if role == Role.unit:
        unit = session.get(Unit, unit_id) if unit_id is not None else None
        if unit is None:
            raise RuleViolation(
                "Pengguna perangkat daerah/kecamatan harus terhubung ke satu unit.", field="unit_id"
            )
        # The forms offer active units only (and the user's own); the service holds to that.
        if not unit.is_active and unit_id != current_unit_id:
            raise RuleViolation(
                f"{unit.name} sudah nonaktif; pilih unit yang aktif.", field="unit_id"
            )
    elif unit_id is not None:
        raise RuleViolation(
            "Hanya pengguna perangkat daerah yang terhubung ke unit.", field="unit_id"
        )
    # An office labels directives in that office's name: on another role it is a mistake.
    if position is not None and role != Role.executive:
        raise RuleViolation(POSITION_NOT_EXECUTIVE, field="position")


def create_user(
    session: Session,
    *,
    actor: User | None,
    username: str,
    full_name: str,
    role: Role,
    password: str,
    unit_id: int | None = None,
    position: ExecutivePosition | None = None,
) -> User:
    """A new account. `actor` None is the command line (an operator of the server).
    `position` is an executive's office (it labels their directives)."""
    if actor is not None:
        permissions.ensure_team(actor)
    username = username.strip().lower()
    _check_user_fields(
        session,
        username=username,
        full_name=full_name,
        role=role,
        unit_id=unit_id,
        position=position,
    )
    validate_password(password)
    if session.exec(select(User.id).where(User.username == username)).first() is not None:
        raise RuleViolation(f"Nama pengguna '{username}' sudah dipakai.", field="username")
    user = User(
        username=username,
        full_name=full_name.strip(),
        role=role,
        unit_id=unit_id if role == Role.unit else None,
        position=position.value if position is not None else "",
        password_hash=password_hash.hash(password),
    )
    session.add(user)
    session.commit()
    return user


def update_user(
    session: Session,
    *,
    actor: User,
    user_id: int,
    full_name: str,
    role: Role,
    unit_id: int | None,
    is_active: bool,
    new_password: str = "",
    position: ExecutivePosition | None = None,
) -> User:
    """Edit an account (team only). Deactivating or a new password ends its sessions.
    `position` None leaves an executive without an office ("Arahan Pimpinan")."""
    permissions.ensure_team(actor)
    user = get_user(session, user_id=user_id)
    _check_user_fields(
        session,
        username=user.username,
        full_name=full_name,
        role=role,
        unit_id=unit_id,
        position=position,
        current_unit_id=user.unit_id,
    )
    if user.id == actor.id and (not is_active or role != Role.team):
        raise RuleViolation(
            "Anda tidak dapat menonaktifkan atau menurunkan peran akun Anda sendiri.", field="role"
        )
    revoke = False
    if new_password:
        validate_password(new_password)
        user.password_hash = password_hash.hash(new_password)
        user.failed_logins = 0
        user.locked_until = None
        revoke = True
    if user.is_active and not is_active:
        revoke = True
    user.full_name = full_name.strip()
    user.role = role
    user.unit_id = unit_id if role == Role.unit else None
    user.position = position.value if position is not None else ""
    user.is_active = is_active
    session.add(user)
    if revoke:
        revoke_all_sessions(session, user_id=user_id)
    session.commit()
    return user


def get_user(session: Session, *, user_id: int) -> User:
    return get_row(session, User, user_id, f"Pengguna #{user_id} tidak ditemukan.")


def get_user_by_username(session: Session, *, username: str) -> User:
    user = session.exec(select(User).where(User.username == username.strip().lower())).first()
    if user is None:
        raise NotFound(f"Pengguna '{username}' tidak ditemukan.")
    return user


def list_users(session: Session, *, actor: User) -> list[User]:
    permissions.ensure_team(actor)
    return list(
        session.exec(select(User).order_by(col(User.role), text_order(col(User.username)))).all()
    )


# --- the team's user pages -------------------------------------------------------------


@dataclass(frozen=True)
class UserListing:
    users: list[User]
    units: dict[int, Unit]


@dataclass(frozen=True)
class UserFormView:
    user: User | None
    form: UserInput
    units: list[Unit]


def user_listing(session: Session, *, actor: User) -> UserListing:
    """Every account with the unit each belongs to."""
    users = list_users(session, actor=actor)
    unit_ids = {u.unit_id for u in users if u.unit_id is not None}
    units = (
        {u.pk: u for u in session.exec(select(Unit).where(col(Unit.id).in_(unit_ids))).all()}
        if unit_ids
        else {}
    )
    return UserListing(users=users, units=units)


def user_form_view(
    session: Session, *, actor: User, user_id: int | None = None, form: UserInput | None = None
) -> UserFormView:
    """What the new/edit user form shows: the account, its values and the units to pick."""
    permissions.ensure_team(actor)
    user = get_user(session, user_id=user_id) if user_id is not None else None
    if form is None:
        form = (
            UserInput.of(user)
            if user is not None
            else UserInput(role=Role.unit.value, is_active=True)
        )
    current_unit = user.unit_id if user is not None else None
    units = session.exec(
        select(Unit)
        .where(sa.or_(col(Unit.is_active), col(Unit.id) == current_unit))
        .order_by(col(Unit.kind), text_order(col(Unit.name)), col(Unit.id))
    ).all()
    return UserFormView(user=user, form=form.without_passwords(), units=list(units))


# --- login -----------------------------------------------------------------------------


@retry_write
def authenticate(session: Session, *, username: str, password: str, settings: Settings) -> User:
    """The user with these credentials; failures count towards a temporary lock-out.

    The failure counter lives on the user row, so throttling holds across app processes.
    Commits (a failure must be counted even though the login is refused).
    """
    now = utcnow()
    if text_input.refused_character(username) is not None:
        # No account can have such a name (PostgreSQL could not even look it up).
        password_hash.verify(password, _DUMMY_HASH)
        raise NotAuthenticated(WRONG_LOGIN)
    user = session.exec(select(User).where(User.username == username.strip().lower())).first()
    if user is None:
        password_hash.verify(password, _DUMMY_HASH)
        raise NotAuthenticated(WRONG_LOGIN)
    if user.locked_until is not None and user.locked_until > now:
        minutes = max(1, int((user.locked_until - now).total_seconds() // 60) + 1)
        raise NotAuthenticated(
            f"Terlalu banyak percobaan masuk yang gagal. Coba lagi dalam {minutes} menit."
        )
    valid, new_hash = password_hash.verify_and_update(password, user.password_hash)
    if not valid or not user.is_active:
        user.failed_logins += 1
        if user.failed_logins >= settings.login_max_failures:
            user.locked_until = now + timedelta(minutes=settings.login_lockout_minutes)
            user.failed_logins = 0
        session.add(user)
        session.commit()
        raise NotAuthenticated(WRONG_LOGIN)
    if new_hash is not None:
        user.password_hash = new_hash
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    session.add(user)
    session.commit()
    return user


@dataclass
class NewSession:
    token: str
    login_session: LoginSession


@retry_write
def start_session(
    session: Session,
    *,
    user: User,
    kind: SessionKind,
    settings: Settings,
    user_agent: str = "",
) -> NewSession:
    """A fresh browser session or API token for `user`."""
    now = utcnow()
    token = secrets.token_urlsafe(32)
    lifetime = (
        timedelta(hours=settings.api_token_hours)
        if kind == SessionKind.api
        else timedelta(hours=settings.session_max_hours)
    )
    row = LoginSession(
        user_id=user.pk,
        token_hash=_digest(token),
        kind=kind,
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        last_seen_at=now,
        expires_at=now + lifetime,
        user_agent=text_input.header_text(user_agent)[:255],
    )
    session.add(row)
    session.commit()
    return NewSession(token=token, login_session=row)


# Built once: every request runs it, and building a select costs more than SQLite takes to
# answer it (bench/board.py's 304 poll).
_SESSION_BY_DIGEST = (
    select(LoginSession, User)
    .join(User, col(User.id) == LoginSession.user_id)
    .where(
        LoginSession.token_hash == sa.bindparam("digest"),
        LoginSession.kind == sa.bindparam("kind"),
    )
)


def resolve_session(
    session: Session, *, token: str, kind: SessionKind, settings: Settings
) -> tuple[User, LoginSession] | None:
    """The user behind a session secret, or None when unknown, expired, idle or revoked."""
    if not token or len(token) > 200:
        return None
    row = session.exec(_SESSION_BY_DIGEST, params={"digest": _digest(token), "kind": kind}).first()
    if row is None:
        return None
    login, user = row
    now = utcnow()
    if login.revoked_at is not None or login.expires_at <= now or not user.is_active:
        return None
    if (
        kind == SessionKind.web
        and login.last_seen_at + timedelta(minutes=settings.session_idle_minutes) <= now
    ):
        return None
    if now - login.last_seen_at >= LAST_SEEN_GRANULARITY:
        # Sliding idle expiry, written at most once a minute per session.
        login.last_seen_at = now
        session.add(login)
        try:
            session.commit()
        except OperationalError:
            # Best effort: a busy database must not fail the request over a timestamp.
            session.rollback()
    return user, login


# Built once and run on the connection (app.db.core_reader): every full page's header names
# the signed-in user's unit, and loading a whole Unit through the ORM cost more than the read.
_UNIT_NAMES = sa.select(col(Unit.name), col(Unit.short_name)).where(
    col(Unit.id) == sa.bindparam("unit_id")
)


UnitNames = sa.Row[str, str | None]


def unit_names(session: Session, unit_id: int) -> UnitNames | None:
    """A user's unit's `name` and `short_name` (a row with those attributes), or None."""
    return core_reader(session).execute(_UNIT_NAMES, {"unit_id": unit_id}).first()


def revoke_session(session: Session, *, login_session_id: int) -> None:
    row = session.get(LoginSession, login_session_id)
    if row is not None and row.revoked_at is None:
        row.revoked_at = utcnow()
        session.add(row)
        session.commit()


def revoke_all_sessions(session: Session, *, user_id: int, keep_id: int | None = None) -> None:
    """End every browser session and API token of a user (except `keep_id`); no commit."""
    now: datetime = utcnow()
    for row in session.exec(
        select(LoginSession).where(
            LoginSession.user_id == user_id,
            col(LoginSession.revoked_at).is_(None),
            col(LoginSession.id) != (keep_id or 0),
        )
    ).all():
        row.revoked_at = now
        session.add(row)
