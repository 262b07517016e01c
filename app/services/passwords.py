"""A user changes their own password; the team resets one to a one-time password.

Changing ends every other session and API token of the user (whoever knew the old password is
out); the session that made the change stays. A reset ends all of them, and the one-time
password must be replaced at the next login before anything else (`must_change_password`).
"""

import secrets
from dataclasses import dataclass

from sqlmodel import Session

from app import permissions
from app.errors import RuleViolation
from app.models import User
from app.services import accounts

# Easy to read aloud or type from a phone call: no 0/O, 1/l/I.
_ONE_TIME_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"
ONE_TIME_GROUPS = 3
ONE_TIME_GROUP_LENGTH = 4
# The form's field names (the messages are keyed by them).
CURRENT, NEW, REPEAT = "current_password", "new_password", "new_password_repeat"


@dataclass(frozen=True)
class PasswordChange:
    """The password form as typed."""

    current: str
    new: str
    repeat: str


class PasswordErrors(RuleViolation):
    """The password form's messages by field (nothing was changed)."""

    def __init__(self, errors: dict[str, str]) -> None:
        field, message = next(iter(errors.items()))
        super().__init__(message, field=field)
        self.errors = errors


def strength_problem(password: str, *, username: str) -> str | None:
    """Why `password` is too weak for `username`, or None. The rule: at least
    `accounts.PASSWORD_MIN` characters, letters and something else (digits or signs), and not
    the user name."""
    try:
        accounts.validate_password(password)
    except RuleViolation as exc:
        return exc.message
    if username and username.lower() in password.lower():
        return "Kata sandi tidak boleh memuat nama pengguna."
    if not any(c.isalpha() for c in password) or all(c.isalpha() for c in password):
        return "Kata sandi harus memuat huruf dan juga angka atau tanda baca."
    return None


def change_own_password(
    session: Session, *, user: User, login_session_id: int | None, data: PasswordChange
) -> User:
    """Replace the user's password after checking the current one; every other session and
    API token of the user ends. Commits."""
    errors: dict[str, str] = {}
    valid, _ = accounts.password_hash.verify_and_update(data.current, user.password_hash)
    if not valid:
        errors[CURRENT] = "Kata sandi saat ini salah."
    problem = strength_problem(data.new, username=user.username)
    if problem:
        errors[NEW] = problem
    elif valid and data.new == data.current:
        errors[NEW] = "Kata sandi baru harus berbeda dari kata sandi saat ini."
    if not errors and data.new != data.repeat:
        errors[REPEAT] = "Ulangan kata sandi tidak sama."
    if errors:
        raise PasswordErrors(errors)
    user.password_hash = accounts.password_hash.hash(data.new)
    user.must_change_password = False
    session.add(user)
    accounts.revoke_all_sessions(session, user_id=user.pk, keep_id=login_session_id)
    session.commit()
    return user


def one_time_password() -> str:
    """A random password such as "k7pa-x3mq-9dte" (about 60 bits)."""
    groups = (
        "".join(secrets.choice(_ONE_TIME_ALPHABET) for _ in range(ONE_TIME_GROUP_LENGTH))
        for _ in range(ONE_TIME_GROUPS)
    )
    return "-".join(groups)


def reset_password(session: Session, *, actor: User, user_id: int) -> tuple[User, str]:
    """Team only: give the account a one-time password (returned once, never stored in
    clear), end all its sessions and tokens, lift a lock-out, and require a new password at
    the next login. Commits."""
    permissions.ensure_team(actor)
    user = accounts.get_user(session, user_id=user_id)
    if user.id == actor.id:
        raise RuleViolation("Ganti kata sandi Anda sendiri di halaman Profil.", field="password")
    password = one_time_password()
    user.password_hash = accounts.password_hash.hash(password)
    user.must_change_password = True
    user.failed_logins = 0
    user.locked_until = None
    session.add(user)
    accounts.revoke_all_sessions(session, user_id=user_id)
    session.commit()
    return user, password
