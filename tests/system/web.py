"""Logging in to a live server over HTTP, as a browser and as an API client."""

import re

import httpx

from tests.factories import PASSWORD

_LOGIN_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')


def csrf_of(page: httpx.Response) -> str:
    found = _CSRF_META.search(page.text)
    assert found is not None, page.text[:500]
    return found.group(1)


def web_login(client: httpx.Client, username: str, password: str = PASSWORD) -> str:
    """Log `client` in through the login form; returns the session's CSRF token."""
    page = client.get("/login")
    token = _LOGIN_CSRF.search(page.text)
    assert token is not None, page.text[:500]
    response = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token.group(1)},
    )
    assert response.status_code == 303, response.text[:500]
    return csrf_of(client.get("/board"))


def token_headers(base_url: str, username: str, password: str = PASSWORD) -> dict[str, str]:
    """Bearer headers from POST /api/v1/auth/token."""
    response = httpx.post(
        f"{base_url}/api/v1/auth/token",
        data={"username": username, "password": password},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}
