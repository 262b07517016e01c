"""The printed pack's letterhead: set by the team in the plan settings, printed on the
dashboard, the logo checked by content and served only to signed-in users."""

import struct
import zlib

import httpx
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.models import PlanLogo
from tests.factories import World, login


def _png() -> bytes:
    """A 1×1 PNG made here (no file from elsewhere)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def _post(
    client: TestClient, world: World, token: str, **files: tuple[str, bytes, str]
) -> httpx.Response:
    response: httpx.Response = client.post(
        f"/admin/plan/{world.plan.id}/letterhead",
        data={"csrf_token": token, "organisation_name": "  Pemerintah   Kabupaten Banyuasin "},
        files=files or {"logo": ("", b"", "application/octet-stream")},
        follow_redirects=False,
    )
    return response


def test_team_sets_the_letterhead_and_the_dashboard_prints_it(
    client: TestClient, session: Session, world: World
) -> None:
    token = login(client, world.team)

    response = _post(client, world, token, logo=("logo.png", _png(), "image/png"))

    assert response.status_code == 303
    session.refresh(world.plan)
    assert world.plan.organisation_name == "Pemerintah Kabupaten Banyuasin"
    assert world.plan.logo_type == "image/png"
    html = client.get("/dashboard").text
    assert '<p class="letterhead-org">Pemerintah Kabupaten Banyuasin</p>' in html
    assert '<img class="letterhead-logo" src="/dashboard/letterhead-logo" alt="">' in html
    assert "Dicetak " in html
    logo = client.get("/dashboard/letterhead-logo")
    assert logo.status_code == 200
    assert logo.headers["content-type"] == "image/png"
    assert logo.content == _png()
    client.cookies.clear()
    assert client.get("/dashboard/letterhead-logo", follow_redirects=False).status_code in (
        303,
        401,
    )


def test_a_logo_that_is_not_an_image_is_refused_and_nothing_changes(
    client: TestClient, session: Session, world: World
) -> None:
    token = login(client, world.team)

    response = _post(client, world, token, logo=("logo.png", b"<svg onload=alert(1)>", "image/png"))

    assert response.status_code == 422
    assert "Logo harus berupa gambar PNG atau JPEG." in response.text
    session.refresh(world.plan)
    assert world.plan.organisation_name == ""
    assert world.plan.logo_type == ""
    assert session.get(PlanLogo, world.plan.id) is None


def test_only_the_team_sets_the_letterhead(
    client: TestClient, session: Session, world: World
) -> None:
    for user in (world.executive, world.putr_head):
        token = login(client, user)

        response = _post(client, world, token)

        assert response.status_code == 403, user.username
    session.refresh(world.plan)
    assert world.plan.organisation_name == ""


def test_without_a_csrf_token_nothing_changes(
    client: TestClient, session: Session, world: World
) -> None:
    login(client, world.team)

    response = _post(client, world, "wrong")

    assert response.status_code == 403
    session.refresh(world.plan)
    assert world.plan.organisation_name == ""
