"""Accounts (app/services/accounts.py): validation, password hashing, edits, session kinds."""

import hashlib
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from app.auth import SESSION_COOKIE
from app.config import Settings
from app.db import utcnow
from app.errors import Forbidden, NotAuthenticated, RuleViolation
from app.models import LoginSession, Role, SessionKind, User
from app.services import accounts
from tests.factories import PASSWORD, World, login

# Captured at import, before the autouse fixture swaps in a cheap hasher for speed.
PRODUCTION_HASHER = accounts.password_hash
NEW_PASSWORD = "kata-sandi-baru-456"


def _create(session: Session, world: World, **overrides: object) -> User:
    values: dict[str, Any] = {
        "actor": world.team,
        "username": "operator.putr",
        "full_name": "Operator PUTR",
        "role": Role.unit,
        "password": PASSWORD,
        "unit_id": world.putr.id,
    }
    values.update(overrides)
    return accounts.create_user(session, **values)


def _user_count(session: Session) -> int:
    return len(session.exec(select(User.id)).all())


# --- create_user -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "username",
    ["camat.rantau-bayur", "sekda_2025", "abc", "a" * 60, "  Kadis.Baru  "],
)
def test_valid_usernames(session: Session, world: World, username: str) -> None:
    user = _create(session, world, username=username)

    assert user.username == username.strip().lower()


@pytest.mark.parametrize(
    "username",
    ["ab", "a" * 61, ".putr", "-putr", "kadis putr", "kadis@putr", "kadis/putr", ""],
)
def test_invalid_usernames_are_refused(session: Session, world: World, username: str) -> None:
    before = _user_count(session)

    with pytest.raises(RuleViolation) as info:
        _create(session, world, username=username)

    assert info.value.field == "username"
    assert _user_count(session) == before


@pytest.mark.parametrize(
    ("password", "ok"),
    [("a" * 9, False), ("a" * 10, True), ("a" * 256, True), ("a" * 257, False)],
)
def test_password_length(session: Session, world: World, password: str, ok: bool) -> None:
    if ok:
        assert _create(session, world, password=password).id is not None
        return
    with pytest.raises(RuleViolation) as info:
        _create(session, world, password=password)
    assert info.value.field == "password"


@pytest.mark.parametrize(
    ("role", "unit"),
    [
        (Role.unit, None),
        (Role.unit, 9999),
        (Role.team, "putr"),
        (Role.executive, "putr"),
    ],
    ids=["unit without unit", "unit with unknown unit", "team with unit", "executive with unit"],
)
def test_a_unit_is_required_for_unit_users_and_forbidden_for_others(
    session: Session, world: World, role: Role, unit: object
) -> None:
    unit_id = world.putr.pk if unit == "putr" else unit

    with pytest.raises(RuleViolation) as info:
        _create(session, world, role=role, unit_id=unit_id)

    assert info.value.field == "unit_id"


@pytest.mark.parametrize("role", [Role.team, Role.executive])
def test_team_and_executive_users_have_no_unit(session: Session, world: World, role: Role) -> None:
    user = _create(session, world, role=role, unit_id=None)

    assert (user.role, user.unit_id) == (role, None)


@pytest.mark.parametrize("username", ["kadis.putr", "KADIS.PUTR", " kadis.putr "])
def test_a_username_is_taken_once_whatever_its_case(
    session: Session, world: World, username: str
) -> None:
    with pytest.raises(RuleViolation) as info:
        _create(session, world, username=username)

    assert info.value.field == "username"
    assert "sudah dipakai" in info.value.message


@pytest.mark.parametrize("full_name", ["", "   ", "x" * 121])
def test_a_full_name_is_required_and_bounded(
    session: Session, world: World, full_name: str
) -> None:
    with pytest.raises(RuleViolation) as info:
        _create(session, world, full_name=full_name)

    assert info.value.field == "full_name"


@pytest.mark.parametrize("who", ["putr_head", "executive"])
def test_only_the_team_creates_users(session: Session, world: World, who: str) -> None:
    before = _user_count(session)

    with pytest.raises(Forbidden):
        _create(session, world, actor=getattr(world, who))

    assert _user_count(session) == before


def test_the_command_line_creates_users_without_an_actor(session: Session, world: World) -> None:
    assert _create(session, world, actor=None).id is not None


# --- password hashes -------------------------------------------------------------------


def test_passwords_are_stored_as_argon2id_hashes(
    session: Session, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(accounts, "password_hash", PRODUCTION_HASHER)

    user = _create(session, world)

    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash
    assert PRODUCTION_HASHER.verify(PASSWORD, user.password_hash)


def test_a_weak_hash_is_upgraded_at_the_next_login(
    session: Session, world: World, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    weak = world.putr_head.password_hash  # made by the cheap test hasher (m=1024, t=1)
    monkeypatch.setattr(accounts, "password_hash", PRODUCTION_HASHER)

    user = accounts.authenticate(
        session, username=world.putr_head.username, password=PASSWORD, settings=settings
    )

    assert user.password_hash != weak
    assert user.password_hash.startswith("$argon2id$")
    assert not PRODUCTION_HASHER.current_hasher.check_needs_rehash(user.password_hash)


# --- update_user -----------------------------------------------------------------------


def _update(session: Session, actor: User, user: User, **overrides: object) -> User:
    values: dict[str, Any] = {
        "full_name": user.full_name,
        "role": user.role,
        "unit_id": user.unit_id,
        "is_active": user.is_active,
    }
    values.update(overrides)
    return accounts.update_user(session, actor=actor, user_id=user.pk, **values)


def _sessions(session: Session, user: User, settings: Settings) -> list[str]:
    """A browser session and an API token for `user`; returns their secrets."""
    return [
        accounts.start_session(session, user=user, kind=kind, settings=settings).token
        for kind in (SessionKind.web, SessionKind.api)
    ]


def _alive(session: Session, tokens: list[str], settings: Settings) -> list[bool]:
    return [
        accounts.resolve_session(session, token=token, kind=kind, settings=settings) is not None
        for token, kind in zip(tokens, (SessionKind.web, SessionKind.api), strict=True)
    ]


@pytest.mark.parametrize(
    "change",
    [{"role": Role.executive}, {"role": Role.unit, "unit_id": "putr"}, {"is_active": False}],
    ids=["to executive", "to unit", "deactivate"],
)
def test_the_team_cannot_demote_or_deactivate_itself(
    session: Session, world: World, change: dict[str, object]
) -> None:
    values = {k: world.putr.pk if v == "putr" else v for k, v in change.items()}

    with pytest.raises(RuleViolation) as info:
        _update(session, world.team, world.team, **values)

    assert info.value.field == "role"
    session.rollback()
    session.expire_all()
    session.refresh(world.team)
    assert (world.team.role, world.team.is_active) == (Role.team, True)


def test_the_team_can_rename_itself(session: Session, world: World) -> None:
    user = _update(session, world.team, world.team, full_name="Ketua Tim Transisi")

    assert user.full_name == "Ketua Tim Transisi"


def test_another_team_member_can_change_a_role(session: Session, world: World) -> None:
    user = _update(session, world.team, world.putr_head, role=Role.executive, unit_id=None)

    assert (user.role, user.unit_id) == (Role.executive, None)


@pytest.mark.parametrize("who", ["putr_head", "executive"])
def test_only_the_team_edits_users(session: Session, world: World, who: str) -> None:
    with pytest.raises(Forbidden):
        _update(session, getattr(world, who), world.dinkes_head, full_name="Nama Baru")


def test_a_new_password_ends_every_session_and_replaces_the_old_one(
    session: Session, world: World, settings: Settings
) -> None:
    user = world.putr_head
    tokens = _sessions(session, user, settings)
    user.failed_logins = 3
    user.locked_until = utcnow() + timedelta(minutes=5)
    session.add(user)
    session.commit()

    updated = _update(session, world.team, user, new_password=NEW_PASSWORD)

    assert _alive(session, tokens, settings) == [False, False]
    assert (updated.failed_logins, updated.locked_until) == (0, None)
    with pytest.raises(NotAuthenticated):
        accounts.authenticate(session, username=user.username, password=PASSWORD, settings=settings)
    assert (
        accounts.authenticate(
            session, username=user.username, password=NEW_PASSWORD, settings=settings
        ).id
        == user.id
    )


def test_deactivating_ends_every_session(
    session: Session, world: World, settings: Settings
) -> None:
    tokens = _sessions(session, world.putr_head, settings)

    _update(session, world.team, world.putr_head, is_active=False)

    assert _alive(session, tokens, settings) == [False, False]


def test_an_edit_without_a_new_password_keeps_the_sessions(
    session: Session, world: World, settings: Settings
) -> None:
    tokens = _sessions(session, world.putr_head, settings)

    _update(session, world.team, world.putr_head, full_name="Kepala Dinas PUTR")

    assert _alive(session, tokens, settings) == [True, True]


def test_a_too_short_new_password_changes_nothing(
    session: Session, world: World, settings: Settings
) -> None:
    tokens = _sessions(session, world.putr_head, settings)
    old_hash = world.putr_head.password_hash

    with pytest.raises(RuleViolation) as info:
        _update(session, world.team, world.putr_head, new_password="pendek")

    assert info.value.field == "password"
    session.rollback()
    session.expire_all()
    session.refresh(world.putr_head)
    assert world.putr_head.password_hash == old_hash
    assert _alive(session, tokens, settings) == [True, True]


# --- sessions: web and API are different keys ------------------------------------------


def test_session_secrets_are_stored_only_as_sha256(
    session: Session, world: World, settings: Settings
) -> None:
    new = accounts.start_session(session, user=world.team, kind=SessionKind.web, settings=settings)

    row = session.exec(select(LoginSession).where(LoginSession.id == new.login_session.id)).one()
    assert row.token_hash == hashlib.sha256(new.token.encode()).hexdigest()
    assert new.token not in row.model_dump_json()


@pytest.mark.parametrize(
    ("issued", "presented"),
    [(SessionKind.api, SessionKind.web), (SessionKind.web, SessionKind.api)],
    ids=["api token as browser session", "browser session as api token"],
)
def test_web_and_api_sessions_are_not_interchangeable(
    session: Session, world: World, settings: Settings, issued: SessionKind, presented: SessionKind
) -> None:
    new = accounts.start_session(session, user=world.team, kind=issued, settings=settings)

    assert (
        accounts.resolve_session(session, token=new.token, kind=presented, settings=settings)
        is None
    )
    assert accounts.resolve_session(session, token=new.token, kind=issued, settings=settings)


def test_lifetimes_follow_the_settings(session: Session, world: World, settings: Settings) -> None:
    web = accounts.start_session(session, user=world.team, kind=SessionKind.web, settings=settings)
    api = accounts.start_session(session, user=world.team, kind=SessionKind.api, settings=settings)

    web_row, api_row = web.login_session, api.login_session
    assert web_row.expires_at - web_row.created_at == timedelta(hours=settings.session_max_hours)
    assert api_row.expires_at - api_row.created_at == timedelta(hours=settings.api_token_hours)


def test_idle_expiry_applies_to_browser_sessions_only(
    session: Session, world: World, settings: Settings
) -> None:
    web, api = (
        accounts.start_session(session, user=world.team, kind=kind, settings=settings)
        for kind in (SessionKind.web, SessionKind.api)
    )
    for new in (web, api):
        new.login_session.last_seen_at = utcnow() - timedelta(
            minutes=settings.session_idle_minutes + 1
        )
        session.add(new.login_session)
    session.commit()

    assert _alive(session, [web.token, api.token], settings) == [False, True]


@pytest.mark.parametrize("token", ["", "x" * 201, "bukan-token-yang-sah"])
def test_unknown_tokens_resolve_to_nobody(
    session: Session, world: World, settings: Settings, token: str
) -> None:
    for kind in SessionKind:
        assert accounts.resolve_session(session, token=token, kind=kind, settings=settings) is None


def test_revoke_session_ends_it(session: Session, world: World, settings: Settings) -> None:
    new = accounts.start_session(session, user=world.team, kind=SessionKind.web, settings=settings)

    assert new.login_session.id is not None
    accounts.revoke_session(session, login_session_id=new.login_session.id)

    assert (
        accounts.resolve_session(session, token=new.token, kind=SessionKind.web, settings=settings)
        is None
    )


def test_over_http_an_api_token_is_no_session_cookie_and_a_cookie_no_bearer_token(
    client: TestClient, session: Session, engine: Engine, world: World, settings: Settings
) -> None:
    api = accounts.start_session(session, user=world.team, kind=SessionKind.api, settings=settings)
    login(client, world.team)
    web_token = client.cookies[SESSION_COOKIE]

    # Control: each works where it belongs.
    assert (
        client.get("/api/v1/me", headers={"Authorization": f"Bearer {api.token}"}).status_code
        == 200
    )
    assert client.get("/", follow_redirects=False).headers["location"] == "/board"

    as_bearer = client.get("/api/v1/me", headers={"Authorization": f"Bearer {web_token}"})
    client.cookies.set(SESSION_COOKIE, api.token)
    as_cookie = client.get("/", follow_redirects=False)

    assert as_bearer.status_code == 401
    assert as_cookie.status_code == 303
    assert as_cookie.headers["location"].startswith("/login")
