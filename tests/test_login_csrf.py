"""Issue 11 item 7: the login form's CSRF check does not rest on a cookie a sibling subdomain
could plant — a `__Host-` cookie over https, and a cross-site or cross-origin post refused."""

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from app.auth import HOST_LOGIN_CSRF_COOKIE, LOGIN_CSRF_COOKIE
from app.config import Settings
from app.main import create_app
from tests.factories import PASSWORD, World

FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')
PLANTED = "ditanam-oleh-subdomain-lain-0123456789"


def _token(client: TestClient) -> str:
    found = FIELD.search(client.get("/login").text)
    assert found is not None
    return found.group(1)


def _login(client: TestClient, token: str, **headers: str) -> int:
    response = client.post(
        "/login",
        data={"username": "tim.transisi", "password": PASSWORD, "csrf_token": token},
        headers=headers,
        follow_redirects=False,
    )
    status: int = response.status_code
    return status


@pytest.fixture
def https_client(settings: Settings, engine: Engine) -> TestClient:
    return TestClient(create_app(settings, engine), base_url="https://seratus.example.go.id")


def test_over_https_the_token_lives_in_a_host_only_cookie(
    https_client: TestClient, world: World
) -> None:
    page = https_client.get("/login")

    cookie = next(
        c for c in page.headers.get_list("set-cookie") if c.startswith(HOST_LOGIN_CSRF_COOKIE)
    )
    assert "Secure" in cookie
    assert "Path=/;" in cookie or cookie.endswith("Path=/")
    assert "Domain" not in cookie
    assert _login(https_client, _token(https_client)) == 303


def test_over_https_a_planted_plain_cookie_is_worthless(
    https_client: TestClient, world: World
) -> None:
    # What a sibling subdomain can set for the parent domain: the plain cookie name.
    https_client.cookies.set(LOGIN_CSRF_COOKIE, PLANTED)

    assert _login(https_client, PLANTED) == 403


@pytest.mark.parametrize(
    "headers",
    [
        {"Sec-Fetch-Site": "same-site"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Origin": "http://jahat.banyuasinkab.go.id"},
        {"Origin": "null"},
    ],
    ids=["same-site", "cross-site", "sibling origin", "opaque origin"],
)
def test_a_post_from_a_sibling_subdomain_is_refused_even_with_a_planted_cookie(
    client: TestClient, world: World, headers: dict[str, str]
) -> None:
    client.cookies.set(LOGIN_CSRF_COOKIE, PLANTED, path="/login")

    assert _login(client, PLANTED, **headers) == 403


@pytest.mark.parametrize(
    "headers",
    [{}, {"Sec-Fetch-Site": "same-origin"}, {"Origin": "http://testserver"}],
    ids=["no fetch metadata", "same-origin", "own origin"],
)
def test_the_apps_own_login_form_still_works(
    client: TestClient, world: World, headers: dict[str, str]
) -> None:
    assert _login(client, _token(client), **headers) == 303
