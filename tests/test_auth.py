"""Logging in and out, sessions, lock-out, redirects and CSRF, through the HTTP interface."""

import hashlib
import re
from datetime import timedelta
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import Engine
from sqlmodel import Session, col, func, select

from app.auth import HOST_LOGIN_CSRF_COOKIE, LOGIN_CSRF_COOKIE, SESSION_COOKIE
from app.config import Settings
from app.db import utcnow
from app.main import create_app
from app.models import LoginSession, Task, TaskEvent, TaskStatus, User
from app.services.accounts import WRONG_LOGIN
from tests.factories import PASSWORD, World, login, make_task

HTMX = {"HX-Request": "true"}
_LOGIN_CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


# --- helpers ---------------------------------------------------------------------------


def login_form_token(client: TestClient, path: str = "/login") -> str:
    page = client.get(path)
    assert page.status_code == 200
    found = _LOGIN_CSRF_FIELD.search(page.text)
    assert found is not None
    return found.group(1)


def post_login(
    client: TestClient,
    username: str,
    password: str = PASSWORD,
    *,
    next_url: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    data = {"username": username, "password": password, "csrf_token": login_form_token(client)}
    if next_url is not None:
        data["next"] = next_url
    response: Response = client.post("/login", data=data, headers=headers, follow_redirects=False)
    return response


def set_cookies(response: Response) -> list[str]:
    return response.headers.get_list("set-cookie")


def session_cookie(response: Response) -> str | None:
    """The Set-Cookie line for the session cookie, if the response sets one."""
    lines = [c for c in set_cookies(response) if c.startswith(f"{SESSION_COOKIE}=")]
    return lines[0] if lines else None


def login_row(engine: Engine, token: str) -> LoginSession:
    digest = hashlib.sha256(token.encode()).hexdigest()
    with Session(engine) as fresh:
        row = fresh.exec(select(LoginSession).where(LoginSession.token_hash == digest)).one()
        fresh.expunge(row)
    return row


def fetch_user(engine: Engine, user: User) -> User:
    with Session(engine, expire_on_commit=False) as fresh:
        found = fresh.get(User, user.id)
        assert found is not None
        return found


def update_row(engine: Engine, row: LoginSession | User) -> None:
    with Session(engine) as fresh:
        fresh.merge(row)
        fresh.commit()


def is_signed_in(client: TestClient) -> bool:
    """GET / sends a signed-in user on to their home page and anyone else to the login page."""
    response = client.get("/", follow_redirects=False)
    assert response.status_code == 303
    return bool(response.headers["location"] in ("/board", "/my-tasks", "/dashboard"))


# --- the login page --------------------------------------------------------------------


def test_the_login_page_renders_with_its_csrf_token(client: TestClient) -> None:
    response = client.get("/login")

    assert response.status_code == 200
    assert "Masuk ke Seratus" in response.text
    token = _LOGIN_CSRF_FIELD.search(response.text)
    assert token is not None
    cookie = next(c for c in set_cookies(response) if c.startswith(f"{LOGIN_CSRF_COOKIE}="))
    assert f"{LOGIN_CSRF_COOKIE}={token.group(1)}" in cookie
    assert "HttpOnly" in cookie
    assert "Path=/login" in cookie
    assert session_cookie(response) is None


def test_healthz_answers_anonymously(client: TestClient) -> None:
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


# --- failures and lock-out -------------------------------------------------------------


def test_a_wrong_password_answers_401_with_the_message_and_no_cookie(
    client: TestClient, engine: Engine, world: World
) -> None:
    response = post_login(client, world.team.username, "salah-sekali-123")

    assert response.status_code == 401
    assert WRONG_LOGIN in response.text
    assert f'value="{world.team.username}"' in response.text
    assert session_cookie(response) is None
    assert not is_signed_in(client)
    assert fetch_user(engine, world.team).failed_logins == 1


def test_an_unknown_username_gets_the_same_answer(client: TestClient, world: World) -> None:
    response = post_login(client, "tidak.ada")

    assert response.status_code == 401
    assert WRONG_LOGIN in response.text
    assert session_cookie(response) is None


def test_repeated_failures_lock_the_account_in_the_database(
    client: TestClient, engine: Engine, settings: Settings, world: World
) -> None:
    for _ in range(settings.login_max_failures):
        assert post_login(client, world.team.username, "salah-sekali-123").status_code == 401

    refused = post_login(client, world.team.username)  # the right password, too late

    assert refused.status_code == 401
    assert "Coba lagi dalam" in refused.text
    assert session_cookie(refused) is None
    locked = fetch_user(engine, world.team)
    assert locked.locked_until is not None
    assert locked.locked_until > utcnow() + timedelta(minutes=settings.login_lockout_minutes - 1)
    # The lock lives in the database: another app process refuses too.
    with TestClient(create_app(settings, engine)) as other_process:
        again = post_login(other_process, world.team.username)
    assert again.status_code == 401
    assert "Coba lagi dalam" in again.text
    # Once the lock has run out the right password works again.
    locked.locked_until = utcnow() - timedelta(seconds=1)
    update_row(engine, locked)
    assert post_login(client, world.team.username).status_code == 303


def test_a_successful_login_resets_the_failure_count(
    client: TestClient, engine: Engine, settings: Settings, world: World
) -> None:
    almost = settings.login_max_failures - 1
    for _ in range(almost):
        post_login(client, world.team.username, "salah-sekali-123")

    assert post_login(client, world.team.username).status_code == 303
    assert fetch_user(engine, world.team).failed_logins == 0

    for _ in range(almost):
        post_login(client, world.team.username, "salah-sekali-123")
    assert post_login(client, world.team.username).status_code == 303


# --- success: the cookie and the redirect ----------------------------------------------


def test_login_sets_an_httponly_samesite_lax_cookie(client: TestClient, world: World) -> None:
    response = post_login(client, world.team.username)

    assert response.status_code == 303
    assert response.headers["location"] == "/"
    cookie = session_cookie(response)
    assert cookie is not None
    assert "HttpOnly" in cookie
    assert "samesite=lax" in cookie.lower()
    assert "Path=/" in cookie
    # Plain http (a developer's machine): Secure would make the browser drop the cookie.
    assert "Secure" not in cookie
    assert is_signed_in(client)


def test_the_cookie_is_secure_behind_an_https_proxy(client: TestClient, world: World) -> None:
    # Every request of the browser comes through the proxy. The login form's token cookie is
    # then a Secure `__Host-` one, which httpx keeps to itself over the test's plain http:
    # handed back here as the browser (speaking https to the proxy) would.
    client.headers["X-Forwarded-Proto"] = "https"
    token = login_form_token(client)
    client.cookies.set(HOST_LOGIN_CSRF_COOKIE, token)
    response = client.post(
        "/login",
        data={"username": world.team.username, "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )

    cookie = session_cookie(response)
    assert cookie is not None
    assert "Secure" in cookie


def test_the_cookie_is_secure_over_https(settings: Settings, engine: Engine, world: World) -> None:
    with TestClient(create_app(settings, engine), base_url="https://testserver") as client:
        response = post_login(client, world.team.username)

    cookie = session_cookie(response)
    assert cookie is not None
    assert "Secure" in cookie


@pytest.mark.parametrize(
    ("next_url", "location"),
    [
        ("/board?unit_id=2", "/board?unit_id=2"),
        ("/tasks/7", "/tasks/7"),
        ("//evil.example", "/"),
        ("https://evil.example/board", "/"),
        ("/\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
        ("", "/"),
    ],
)
def test_next_only_leads_to_local_paths(
    client: TestClient, world: World, next_url: str, location: str
) -> None:
    response = post_login(client, world.team.username, next_url=next_url)

    assert response.status_code == 303
    assert response.headers["location"] == location


def test_the_login_page_does_not_carry_a_foreign_next(client: TestClient) -> None:
    page = client.get("/login", params={"next": "//evil.example"})

    assert 'name="next" value="/"' in page.text
    assert "evil.example" not in page.text


# --- CSRF on the login form ------------------------------------------------------------


def test_login_without_the_csrf_field_is_refused(client: TestClient, world: World) -> None:
    login_form_token(client)  # the cookie is there; the field is not

    response = client.post(
        "/login",
        data={"username": world.team.username, "password": PASSWORD},
        follow_redirects=False,
    )

    assert response.status_code == 403
    assert session_cookie(response) is None
    assert not is_signed_in(client)


def test_login_without_the_csrf_cookie_is_refused(client: TestClient, world: World) -> None:
    token = login_form_token(client)
    client.cookies.clear()

    response = client.post(
        "/login",
        data={"username": world.team.username, "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )

    assert response.status_code == 403
    assert session_cookie(response) is None


def test_login_with_a_mismatched_csrf_token_is_refused(client: TestClient, world: World) -> None:
    login_form_token(client)

    response = client.post(
        "/login",
        data={
            "username": world.team.username,
            "password": PASSWORD,
            "csrf_token": "x" * 43,
        },
        follow_redirects=False,
    )

    assert response.status_code == 403
    assert session_cookie(response) is None


# --- logout ----------------------------------------------------------------------------


def test_logout_revokes_the_session(client: TestClient, engine: Engine, world: World) -> None:
    csrf = login(client, world.team)
    token = client.cookies[SESSION_COOKIE]

    response = client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["location"] == "/login"
    assert login_row(engine, token).revoked_at is not None
    # The old cookie, sent again (a copy kept elsewhere), no longer works.
    client.cookies.set(SESSION_COOKIE, token)
    assert not is_signed_in(client)


@pytest.mark.parametrize("sent", [None, "salah", ""])
def test_logout_needs_the_csrf_token(
    client: TestClient, engine: Engine, world: World, sent: str | None
) -> None:
    login(client, world.team)
    token = client.cookies[SESSION_COOKIE]
    data = {} if sent is None else {"csrf_token": sent}

    response = client.post("/logout", data=data, follow_redirects=False)

    assert response.status_code == 403
    assert login_row(engine, token).revoked_at is None
    assert is_signed_in(client)


def test_logout_accepts_the_csrf_header(client: TestClient, world: World) -> None:
    csrf = login(client, world.team)

    response = client.post("/logout", headers={"X-CSRF-Token": csrf}, follow_redirects=False)

    assert response.status_code == 303
    assert not is_signed_in(client)


# --- expiry ----------------------------------------------------------------------------


def test_an_idle_session_expires(
    client: TestClient, engine: Engine, settings: Settings, world: World
) -> None:
    login(client, world.team)
    row = login_row(engine, client.cookies[SESSION_COOKIE])
    row.last_seen_at = utcnow() - timedelta(minutes=settings.session_idle_minutes + 1)
    update_row(engine, row)

    response = client.get("/board", follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Fboard"


def test_a_session_still_in_use_stays_alive(
    client: TestClient, engine: Engine, settings: Settings, world: World
) -> None:
    login(client, world.team)
    row = login_row(engine, client.cookies[SESSION_COOKIE])
    row.last_seen_at = utcnow() - timedelta(minutes=settings.session_idle_minutes - 5)
    update_row(engine, row)

    assert is_signed_in(client)
    # Seen again just now: the idle clock restarted.
    assert login_row(engine, client.cookies[SESSION_COOKIE]).last_seen_at > row.last_seen_at


def test_a_session_past_its_absolute_lifetime_expires(
    client: TestClient, engine: Engine, world: World
) -> None:
    login(client, world.team)
    row = login_row(engine, client.cookies[SESSION_COOKIE])
    row.expires_at = utcnow() - timedelta(seconds=1)
    update_row(engine, row)

    assert not is_signed_in(client)


def test_the_session_of_a_deactivated_user_stops_working(
    client: TestClient, engine: Engine, world: World
) -> None:
    login(client, world.putr_head)
    user = fetch_user(engine, world.putr_head)
    user.is_active = False
    update_row(engine, user)

    assert not is_signed_in(client)


def test_a_deactivated_user_cannot_log_in(client: TestClient, engine: Engine, world: World) -> None:
    user = fetch_user(engine, world.putr_head)
    user.is_active = False
    update_row(engine, user)

    response = post_login(client, world.putr_head.username)

    assert response.status_code == 401
    assert session_cookie(response) is None


def test_a_made_up_cookie_is_not_a_session(client: TestClient, world: World) -> None:
    client.cookies.set(SESSION_COOKIE, "x" * 43)

    assert not is_signed_in(client)


# --- anonymous requests ----------------------------------------------------------------


@pytest.mark.parametrize("path", ["/board", "/board?q=jalan&unit_id=2", "/"])
def test_anonymous_pages_redirect_to_login_with_next(client: TestClient, path: str) -> None:
    response = client.get(path, follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["location"] == f"/login?next={quote(path, safe='')}"


def test_an_anonymous_htmx_request_gets_401_with_hx_redirect(client: TestClient) -> None:
    response = client.get("/board", headers=HTMX, follow_redirects=False)

    assert response.status_code == 401
    assert response.headers["HX-Redirect"] == "/login?next=%2Fboard"


def test_an_anonymous_post_redirects_to_login(client: TestClient) -> None:
    response = client.post("/logout", follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["location"] == "/login"


# --- CSRF on state-changing page routes ------------------------------------------------


def _event_count(engine: Engine) -> int:
    with Session(engine) as fresh:
        return fresh.exec(select(func.count()).select_from(TaskEvent)).one()


@pytest.mark.parametrize(
    ("headers", "data"),
    [
        ({}, {}),
        ({}, {"csrf_token": "salah"}),
        (HTMX, {}),
        ({**HTMX, "X-CSRF-Token": "salah"}, {}),
    ],
    ids=["form without token", "form with a wrong token", "htmx without", "htmx wrong header"],
)
def test_a_move_without_the_right_csrf_token_is_refused_and_changes_nothing(
    client: TestClient,
    session: Session,
    engine: Engine,
    world: World,
    headers: dict[str, str],
    data: dict[str, str],
) -> None:
    task = make_task(session, actor=world.team, plan=world.plan, lead=world.putr)
    login(client, world.team)
    events = _event_count(engine)

    response = client.post(
        f"/board/tasks/{task.pk}/move",
        data={"status": "in_progress", "version": "1", **data},
        headers=headers,
        follow_redirects=False,
    )

    assert response.status_code == 403
    session.expire_all()
    stored = session.exec(select(Task).where(col(Task.id) == task.id)).one()
    assert (stored.status, stored.version) == (TaskStatus.todo, 1)
    assert _event_count(engine) == events


def test_the_same_move_with_the_token_goes_through(
    client: TestClient, session: Session, engine: Engine, world: World
) -> None:
    """The control for the test above: the refusal was about the token and nothing else."""
    task = make_task(session, actor=world.team, plan=world.plan, lead=world.putr)
    csrf = login(client, world.team)

    response = client.post(
        f"/board/tasks/{task.pk}/move",
        data={"status": "in_progress", "version": "1", "csrf_token": csrf},
        follow_redirects=False,
    )

    assert response.status_code == 303
    session.expire_all()
    stored = session.exec(select(Task).where(col(Task.id) == task.id)).one()
    assert stored.status == TaskStatus.in_progress
