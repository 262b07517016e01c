"""/profile, the notification section: channels, kinds, quiet hours; field messages for bad
addresses and numbers, and nothing saved then."""

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.models import NotificationSettings
from app.services.preferences import normalise_whatsapp, valid_email
from tests.factories import World, login

GOOD = {
    "email": "kadis.putr@banyuasin.example",
    "email_on": "on",
    "whatsapp": "0812-3456-7890",
    "webhook_on": "on",
    "kinds": ["rejected", "directive", "digest"],
    "quiet_hours_on": "on",
    "quiet_start": "22.00",
    "quiet_end": "05.30",
}


def _prefs(session: Session, world: World) -> NotificationSettings | None:
    session.rollback()
    session.expire_all()
    return session.get(NotificationSettings, world.putr_head.id)


def test_the_profile_shows_the_notification_section(client: TestClient, world: World) -> None:
    login(client, world.putr_head)
    page = client.get("/profile")
    assert page.status_code == 200
    assert 'id="pemberitahuan"' in page.text
    assert "Jam tenang (WIB)" in page.text
    # Defaults: quiet hours 21.00–06.00, every kind chosen.
    assert 'value="21.00"' in page.text
    assert 'value="06.00"' in page.text
    assert page.text.count('name="kinds"') == page.text.count('name="kinds" value=')
    assert 'value="rejected" checked' in page.text


def test_saving_channels_kinds_and_quiet_hours(
    client: TestClient, session: Session, world: World
) -> None:
    csrf = login(client, world.putr_head)
    response = client.post(
        "/profile/channels", data={**GOOD, "csrf_token": csrf}, follow_redirects=False
    )
    assert response.status_code == 303
    prefs = _prefs(session, world)
    assert prefs is not None
    assert prefs.email == "kadis.putr@banyuasin.example"
    assert prefs.whatsapp == "+6281234567890"
    assert (prefs.email_on, prefs.webhook_on, prefs.telegram_on) == (True, True, False)
    assert "comment" in prefs.muted_kinds
    assert "rejected" not in prefs.muted_kinds
    assert (prefs.quiet_start_minute, prefs.quiet_end_minute) == (22 * 60, 5 * 60 + 30)
    page = client.get(response.headers["location"])
    assert "Pengaturan pemberitahuan disimpan." in page.text
    assert 'value="+6281234567890"' in page.text


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("email", "kadis putr@", "Alamat email tidak valid"),
        ("whatsapp", "12345", "Nomor WhatsApp tidak valid"),
        ("whatsapp", "+1 202 555 0100", "Nomor WhatsApp tidak valid"),
        ("quiet_start", "25.00", "Jam tidak valid"),
    ],
)
def test_bad_input_gets_a_field_message_and_nothing_changes(
    client: TestClient, session: Session, world: World, field: str, value: str, message: str
) -> None:
    csrf = login(client, world.putr_head)
    response = client.post("/profile/channels", data={**GOOD, field: value, "csrf_token": csrf})
    assert response.status_code == 422
    assert message in response.text
    assert f'id="f-{field}-error"' in response.text
    # The form keeps what was typed.
    assert "kadis.putr@banyuasin.example" in response.text or field == "email"
    assert _prefs(session, world) is None


def test_a_channel_needs_its_address(client: TestClient, session: Session, world: World) -> None:
    csrf = login(client, world.putr_head)
    response = client.post(
        "/profile/channels",
        data={
            "email_on": "on",
            "telegram_on": "on",
            "quiet_start": "21.00",
            "quiet_end": "06.00",
            "csrf_token": csrf,
        },
    )
    assert response.status_code == 422
    assert "Isi alamat email" in response.text
    assert "Tautkan akun Telegram lebih dulu" in response.text
    assert _prefs(session, world) is None


def test_saving_needs_the_csrf_token(client: TestClient, session: Session, world: World) -> None:
    login(client, world.putr_head)
    assert client.post("/profile/channels", data=GOOD).status_code == 403
    assert _prefs(session, world) is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("0812 3456 7890", "+6281234567890"),
        ("+62 812-3456-789", "+628123456789"),
        ("6281234567890", "+6281234567890"),
        ("", ""),
        ("0711 123456", None),
        ("08123", None),
    ],
)
def test_whatsapp_numbers(raw: str, expected: str | None) -> None:
    assert normalise_whatsapp(raw) == expected


@pytest.mark.parametrize(
    ("raw", "ok"),
    [
        ("camat.betung@banyuasin.example", True),
        ("a@b.co", True),
        ("tanpa-at.example", False),
        ("dua@@example.com", False),
        ("spasi @example.com", False),
        ("<x>@example.com", False),
    ],
)
def test_email_addresses(raw: str, ok: bool) -> None:
    assert (valid_email(raw) is not None) == ok
