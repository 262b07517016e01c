"""Our own static files are linked by the digest of their content, so a release that changes
board.js or a stylesheet changes its URL and no browser pairs an old copy with new markup."""

import hashlib
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.config import BASE_DIR
from app.templating import STATIC_DIR, static_url
from tests.factories import World, login

LINKED = re.compile(r'(?:href|src)="(/static/[^"]+)"')


def test_a_static_url_names_the_digest_of_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = static_url("board.js")
    digest = hashlib.sha256((STATIC_DIR / "board.js").read_bytes()).hexdigest()[:12]
    assert url == f"/static/board.js?v={digest}"
    # Another content, another URL.
    (tmp_path / "board.js").write_text("// changed")
    monkeypatch.setattr("app.templating.STATIC_DIR", tmp_path)
    static_url.cache_clear()
    try:
        assert static_url("board.js") != url
    finally:
        static_url.cache_clear()


def test_templates_link_static_files_only_through_static_url() -> None:
    sources = "".join(p.read_text() for p in (BASE_DIR / "templates").rglob("*.html"))
    assert "/static/" not in sources


def test_every_linked_static_file_is_served(client: TestClient, world: World) -> None:
    login(client, world.team)
    linked: set[str] = set()
    for page in ("/board", "/dashboard", "/my-tasks", "/login"):
        linked |= set(LINKED.findall(client.get(page).text))
    assert any(url.startswith("/static/board.js?v=") for url in linked)
    for url in linked:
        response = client.get(url)
        assert response.status_code == 200, url
        name = url.removeprefix("/static/").split("?")[0]
        assert response.content == (STATIC_DIR / name).read_bytes()
