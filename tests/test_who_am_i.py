"""Who am I, and the small fixes: the header names the user and their unit (once), the menu
says "Unduh" to those who cannot import, the login page names the organisation."""

import re

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from app.config import Settings
from app.main import create_app
from tests.factories import World, login


def _whoami(html: str) -> str:
    found = re.search(r'<div class="whoami">(.*?)<form', html, re.S)
    assert found is not None
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", found.group(1))).strip()


def test_the_header_names_the_user_and_their_unit_once(client: TestClient, world: World) -> None:
    login(client, world.putr_head)
    header = _whoami(client.get("/my-tasks").text)
    assert header == f"{world.putr_head.full_name} Dinas PUTR"
    assert "Perangkat Daerah / Kecamatan" not in header

    login(client, world.team)
    assert world.team.full_name == "Tim Transisi"
    assert _whoami(client.get("/board").text) == "Tim Transisi"  # not "Tim Transisi [Tim Transisi]"

    login(client, world.executive)
    assert _whoami(client.get("/dashboard").text) == f"{world.executive.full_name} Pimpinan"


def test_the_menu_says_unduh_to_those_who_cannot_import(client: TestClient, world: World) -> None:
    login(client, world.putr_head)
    assert '<summary class="btn btn-small">Unduh</summary>' in client.get("/board").text
    login(client, world.team)
    assert '<summary class="btn btn-small">Unduh / impor</summary>' in client.get("/board").text


def test_the_login_page_names_the_organisation(settings: Settings, engine: Engine) -> None:
    named = settings.model_copy(update={"organisation": "Pemerintah Kabupaten Banyuasin"})
    with TestClient(create_app(named, engine)) as client:
        page = client.get("/login").text
    assert '<p class="login-org">Pemerintah Kabupaten Banyuasin</p>' in page
    assert "Rencana kerja 100 hari Pemerintah Kabupaten Banyuasin." in page
