"""Passwords: a user changes their own (current one required, strength rule, every other
session and token ends); the team resets one to a one-time password that must be changed at
the next login before anything else."""

import re

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from app.config import Settings
from app.errors import Forbidden, RuleViolation
from app.main import create_app
from app.models import LoginSession, User
from app.services import passwords
from app.services.passwords import PasswordChange, PasswordErrors
from tests.factories import PASSWORD, World, api_token, login

NEW = "sungai-musi-2026"


def _post_login(client: TestClient, username: str, password: str) -> int:
    client.cookies.clear()
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    response = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token.group(1)},
        follow_redirects=False,
    )
    status: int = response.status_code
    return status


def _change(client: TestClient, csrf: str, **fields: str) -> Response:
    data = {
        "csrf_token": csrf,
        "current_password": PASSWORD,
        "new_password": NEW,
        "new_password_repeat": NEW,
    }
    data.update(fields)
    response: Response = client.post("/profile/password", data=data, follow_redirects=False)
    return response


@pytest.mark.parametrize(
    ("new", "message"),
    [
        ("pendek-1", "minimal 10 karakter"),
        ("hanyahurufsaja", "huruf dan juga angka"),
        ("1234567890123", "huruf dan juga angka"),
        ("kadis.putr-2026", "nama pengguna"),
    ],
)
def test_a_weak_password_is_refused_with_its_reason(
    session: Session, world: World, new: str, message: str
) -> None:
    with pytest.raises(PasswordErrors) as refused:
        passwords.change_own_password(
            session,
            user=world.putr_head,
            login_session_id=None,
            data=PasswordChange(current=PASSWORD, new=new, repeat=new),
        )
    assert message in refused.value.errors["new_password"]


def test_the_current_password_and_the_repeat_are_checked(session: Session, world: World) -> None:
    before = world.putr_head.password_hash
    with pytest.raises(PasswordErrors) as refused:
        passwords.change_own_password(
            session,
            user=world.putr_head,
            login_session_id=None,
            data=PasswordChange(current="salah-sekali-1", new=NEW, repeat=NEW),
        )
    assert refused.value.errors == {"current_password": "Kata sandi saat ini salah."}
    with pytest.raises(PasswordErrors) as refused:
        passwords.change_own_password(
            session,
            user=world.putr_head,
            login_session_id=None,
            data=PasswordChange(current=PASSWORD, new=NEW, repeat=NEW + "x"),
        )
    assert refused.value.errors == {"new_password_repeat": "Ulangan kata sandi tidak sama."}
    session.refresh(world.putr_head)
    assert world.putr_head.password_hash == before


def test_changing_the_password_ends_the_other_sessions_and_tokens_but_not_this_one(
    client: TestClient, settings: Settings, engine: Engine, session: Session, world: World
) -> None:
    other_app = create_app(settings, engine)
    with TestClient(other_app) as phone:
        login(phone, world.putr_head)
        headers = api_token(client, world.putr_head)
        csrf = login(client, world.putr_head)
        assert phone.get("/board", follow_redirects=False).status_code == 200

        page = client.get("/profile")
        assert page.status_code == 200
        assert 'id="password"' in page.text
        assert "Kata sandi saat ini" in page.text

        wrong = _change(client, csrf, current_password="bukan-sandinya-1")
        assert wrong.status_code == 422
        assert "Kata sandi saat ini salah." in wrong.text
        assert phone.get("/board", follow_redirects=False).status_code == 200

        done = _change(client, csrf)
        assert done.status_code == 303
        assert done.headers["location"] == "/profile?ok=password#password"
        assert "Kata sandi diganti" in client.get("/profile?ok=password").text

        # This browser stays in; the phone and the API token are out.
        assert client.get("/board", follow_redirects=False).status_code == 200
        assert phone.get("/board", follow_redirects=False).status_code == 303
        assert client.get("/api/v1/tasks", headers=headers).status_code == 401

    assert _post_login(client, "kadis.putr", PASSWORD) == 401
    assert _post_login(client, "kadis.putr", NEW) == 303


def test_only_the_team_resets_and_not_its_own_account(session: Session, world: World) -> None:
    with pytest.raises(Forbidden):
        passwords.reset_password(session, actor=world.putr_head, user_id=world.dinkes_head.id or 0)
    with pytest.raises(RuleViolation):
        passwords.reset_password(session, actor=world.team, user_id=world.team.id or 0)


def test_a_one_time_password_must_be_changed_at_the_next_login(
    client: TestClient, session: Session, world: World
) -> None:
    target = world.dinkes_head
    headers = api_token(client, target)
    victim_csrf = login(client, target)
    assert victim_csrf

    team_csrf = login(client, world.team)
    shown = client.post(f"/admin/users/{target.id}/reset-password", data={"csrf_token": team_csrf})
    assert shown.status_code == 200
    assert shown.headers["cache-control"] == "no-store"
    found = re.search(r'<code id="one-time-password">([a-z0-9-]+)</code>', shown.text)
    assert found is not None
    one_time = found.group(1)
    assert len(one_time) == 14
    # Shown once: the user list and the edit page never show it again.
    assert one_time not in client.get(f"/admin/users/{target.id}/edit").text

    session.rollback()  # a fresh snapshot (SQLite) …
    session.expire_all()  # … and fresh rows
    stored = session.exec(select(User).where(User.id == target.id)).one()
    assert stored.must_change_password
    assert one_time not in stored.password_hash
    live = session.exec(
        select(LoginSession).where(
            LoginSession.user_id == target.id, col(LoginSession.revoked_at).is_(None)
        )
    ).all()
    assert live == []
    assert client.get("/api/v1/tasks", headers=headers).status_code == 401

    # The old password no longer works; the one-time password logs in, to the profile only.
    assert _post_login(client, target.username, PASSWORD) == 401
    assert _post_login(client, target.username, one_time) == 303
    board = client.get("/board", follow_redirects=False)
    assert board.status_code == 303
    assert board.headers["location"] == "/profile#password"
    assert client.get("/dashboard", follow_redirects=False).status_code == 303
    profile = client.get("/profile")
    assert "kata sandi sementara" in profile.text
    csrf = re.search(r'<meta name="csrf-token" content="([^"]+)">', profile.text)
    assert csrf is not None
    # htmx requests are sent to the profile too, and the API refuses with the reason.
    hx = client.get("/board", headers={"HX-Request": "true"}, follow_redirects=False)
    assert hx.headers["HX-Redirect"] == "/profile#password"
    # The board's poll checks the login in its own thread, with the same rule.
    poll = client.get("/board/columns", headers={"HX-Request": "true"}, follow_redirects=False)
    assert poll.headers["HX-Redirect"] == "/profile#password"
    token = client.post(
        "/api/v1/auth/token", data={"username": target.username, "password": one_time}
    ).json()["access_token"]
    api = client.get("/api/v1/tasks", headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 403
    assert "kata sandi sementara" in api.json()["detail"]

    changed = _change(client, csrf.group(1), current_password=one_time)
    assert changed.status_code == 303
    assert client.get("/board", follow_redirects=False).status_code == 200
    session.rollback()  # a fresh snapshot (SQLite) …
    session.expire_all()  # … and fresh rows
    assert not session.exec(select(User).where(User.id == target.id)).one().must_change_password
