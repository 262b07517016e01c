"""Logging in to a live server over HTTP, as a browser and as an API client."""

import httpx

from bench import live
from bench.live import csrf_of
from tests.factories import PASSWORD

__all__ = ["csrf_of", "token_headers", "web_login"]


def web_login(client: httpx.Client, username: str, password: str = PASSWORD) -> str:
    """Log `client` in through the login form; returns the session's CSRF token."""
    return live.web_login(client, username, password)


def token_headers(base_url: str, username: str, password: str = PASSWORD) -> dict[str, str]:
    """Bearer headers from POST /api/v1/auth/token."""
    response = httpx.post(
        f"{base_url}/api/v1/auth/token",
        data={"username": username, "password": password},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}
