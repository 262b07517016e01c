"""Acting from Telegram: linking with a one-time code, the reminder buttons (through the same
services, permissions and version check), text replies, and updates that must change
nothing (forged secret header, unknown chat, replayed update, stale button)."""

import re
from collections.abc import Iterator
from itertools import count
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from app.config import Settings
from app.main import create_app
from app.models import (
    Channel,
    Delivery,
    NoticeKind,
    NotificationSettings,
    Task,
    TaskEvent,
    TaskMove,
    TaskStatus,
    User,
)
from app.services import tasks
from tests.factories import World, login, make_task

SECRET = "rahasia-telegram-uji"
HEADERS = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
_ids = count(1000)


@pytest.fixture
def bot_client(settings: Settings, engine: Engine) -> Iterator[TestClient]:
    configured = settings.model_copy(
        update={
            "telegram_bot_token": "123:ABC",
            "telegram_webhook_secret": SECRET,
            "telegram_bot_username": "SeratusBanyuasinBot",
        }
    )
    with TestClient(create_app(configured, engine)) as client:
        yield client


def _post(client: TestClient, update: dict[str, Any], headers: dict[str, str] | None = None) -> Any:
    return client.post(
        "/telegram/webhook", json=update, headers=HEADERS if headers is None else headers
    )


def _text(chat_id: int, text: str, **extra: Any) -> dict[str, Any]:
    return {
        "update_id": next(_ids),
        "message": {"message_id": next(_ids), "chat": {"id": chat_id}, "text": text, **extra},
    }


def _button(chat_id: int, data: str) -> dict[str, Any]:
    return {
        "update_id": next(_ids),
        "callback_query": {
            "id": f"cb{next(_ids)}",
            "data": data,
            "message": {"message_id": 5, "chat": {"id": chat_id}},
        },
    }


def _link(session: Session, user: User, chat_id: str) -> None:
    row = session.get(NotificationSettings, user.pk) or NotificationSettings(user_id=user.pk)
    row.telegram_chat_id = chat_id
    row.telegram_on = True
    session.add(row)
    session.commit()


def _fresh(session: Session, task: Task) -> Task:
    # What the app committed since: a new transaction, and no copy kept from before.
    session.rollback()
    session.expire_all()
    found = session.get(Task, task.id)
    assert found is not None
    return found


def _events(session: Session, task: Task) -> list[TaskEvent]:
    session.rollback()
    return list(
        session.exec(
            select(TaskEvent).where(TaskEvent.task_id == task.id).order_by(col(TaskEvent.id))
        ).all()
    )


# --- linking -----------------------------------------------------------------------------


def test_linking_with_a_one_time_code(
    bot_client: TestClient, session: Session, world: World
) -> None:
    csrf = login(bot_client, world.putr_head)
    page = bot_client.post("/profile/telegram/code", data={"csrf_token": csrf})
    assert page.status_code == 200
    found = re.search(r"<code>/start ([A-Z0-9]{8})</code>", page.text)
    assert found is not None
    code = found.group(1)
    assert "@SeratusBanyuasinBot" in page.text

    # A forged header does nothing, and does not spend the code.
    forged = _post(bot_client, _text(777, f"/start {code}"), headers={})
    assert forged.status_code == 403
    wrong = _post(
        bot_client,
        _text(777, f"/start {code}"),
        headers={**HEADERS, **{"X-Telegram-Bot-Api-Secret-Token": "salah"}},
    )
    assert wrong.status_code == 403

    answer = _post(bot_client, _text(777, f"/start {code}")).json()
    assert answer["method"] == "sendMessage"
    assert answer["chat_id"] == 777
    assert "tertaut dengan Seratus sebagai Kadis Putr" in answer["text"]
    session.rollback()
    session.expire_all()
    prefs = session.get(NotificationSettings, world.putr_head.id)
    assert prefs is not None
    assert prefs.telegram_chat_id == "777"
    assert prefs.telegram_on
    assert prefs.telegram_code_hash is None

    # The code is spent: another chat cannot use it.
    again = _post(bot_client, _text(888, f"/start {code}")).json()
    assert "Kode tidak dikenal" in again["text"]
    session.rollback()
    session.expire_all()
    assert session.get_one(NotificationSettings, world.putr_head.pk).telegram_chat_id == "777"
    assert "Akun Telegram Anda sudah tertaut" in bot_client.get("/profile").text


def test_an_unknown_chat_changes_nothing(
    bot_client: TestClient, session: Session, world: World
) -> None:
    task = make_task(session, actor=world.team, plan=world.plan, lead=world.putr)
    before = _events(session, task)
    answer = _post(bot_client, _text(999, "Sudah dikerjakan")).json()
    assert "belum tertaut" in answer["text"]
    pressed = _post(bot_client, _button(999, f"m:{task.id}:{task.version}:in_progress")).json()
    assert pressed["method"] == "answerCallbackQuery"
    assert "belum tertaut" in pressed["text"]
    assert _events(session, task) == before
    assert _fresh(session, task).status == TaskStatus.todo


# --- buttons -------------------------------------------------------------------------------


def test_a_button_moves_the_task_through_the_same_service(
    bot_client: TestClient, session: Session, world: World
) -> None:
    task = make_task(session, actor=world.team, plan=world.plan, lead=world.putr)
    _link(session, world.putr_head, "777")
    version = task.version
    answer = _post(bot_client, _button(777, f"m:{task.id}:{version}:in_progress")).json()
    assert answer["method"] == "answerCallbackQuery"
    assert "Tersimpan" in answer["text"]
    assert "Sedang Berjalan" in answer["text"]
    moved = _fresh(session, task)
    assert moved.status == TaskStatus.in_progress
    assert moved.version == version + 1
    last = _events(session, task)[-1]
    assert (last.kind, last.actor_id, last.to_status) == (
        "moved",
        world.putr_head.id,
        "in_progress",
    )


def test_terkendala_asks_for_the_reason_then_blocks(
    bot_client: TestClient, session: Session, world: World
) -> None:
    task = make_task(
        session, actor=world.team, plan=world.plan, lead=world.putr, status=TaskStatus.in_progress
    )
    _link(session, world.putr_head, "777")
    asked = _post(bot_client, _button(777, f"m:{task.id}:{task.version}:blocked")).json()
    assert "alasan kendala" in asked["text"]
    assert _fresh(session, task).status == TaskStatus.in_progress
    done = _post(bot_client, _text(777, "Jembatan darurat putus diterjang banjir")).json()
    assert "Terkendala" in done["text"]
    blocked = _fresh(session, task)
    assert blocked.status == TaskStatus.blocked
    assert blocked.blocked_reason == "Jembatan darurat putus diterjang banjir"
    # The words were used: the next text is no reason any more.
    follow = _post(bot_client, _text(777, "Terima kasih")).json()
    assert "balas (reply)" in follow["text"].lower()


def test_minta_verifikasi_without_evidence_takes_a_note(
    bot_client: TestClient, session: Session, world: World
) -> None:
    task = make_task(
        session, actor=world.team, plan=world.plan, lead=world.putr, status=TaskStatus.in_progress
    )
    _link(session, world.putr_head, "777")
    asked = _post(bot_client, _button(777, f"m:{task.id}:{task.version}:review")).json()
    assert "Belum ada bukti dukung" in asked["text"]
    _post(bot_client, _text(777, "Berita acara diserahkan langsung ke Tim Transisi"))
    assert _fresh(session, task).status == TaskStatus.review
    assert _events(session, task)[-1].note == "Berita acara diserahkan langsung ke Tim Transisi"


def test_a_stale_button_answers_the_current_state_and_changes_nothing(
    bot_client: TestClient, session: Session, world: World
) -> None:
    task = make_task(session, actor=world.team, plan=world.plan, lead=world.putr)
    _link(session, world.putr_head, "777")
    stale_version = task.version
    # The team moves it meanwhile.
    tasks.move_task(
        session,
        actor=world.team,
        task_id=task.pk,
        move=TaskMove(version=task.version, status=TaskStatus.blocked, blocked_reason="Lahan"),
    )
    before = _events(session, task)
    for status in ("in_progress", "blocked"):
        answer = _post(bot_client, _button(777, f"m:{task.id}:{stale_version}:{status}")).json()
        assert "sudah berubah" in answer["text"]
        assert "kini berstatus Terkendala" in answer["text"]
    assert _events(session, task) == before
    assert _fresh(session, task).blocked_reason == "Lahan"


def test_another_units_user_cannot_act(
    bot_client: TestClient, session: Session, world: World
) -> None:
    task = make_task(session, actor=world.team, plan=world.plan, lead=world.putr)
    _link(session, world.dinkes_head, "321")
    answer = _post(bot_client, _button(321, f"m:{task.id}:{task.version}:in_progress")).json()
    assert "perangkat daerah lain" in answer["text"]
    assert _fresh(session, task).status == TaskStatus.todo


def test_a_replayed_update_changes_nothing(
    bot_client: TestClient, session: Session, world: World
) -> None:
    task = make_task(
        session, actor=world.team, plan=world.plan, lead=world.putr, status=TaskStatus.in_progress
    )
    _link(session, world.putr_head, "777")
    update = _button(777, f"m:{task.id}:{task.version}:blocked")
    _post(bot_client, update)
    reason = _text(777, "Hujan deras")
    _post(bot_client, reason)
    events = _events(session, task)
    # The same two updates again: no new event, no second move.
    assert _post(bot_client, update).json() == {}
    assert _post(bot_client, reason).json() == {}
    assert _events(session, task) == events


def test_a_text_reply_to_a_reminder_is_a_note(
    bot_client: TestClient, session: Session, world: World
) -> None:
    task = make_task(
        session, actor=world.team, plan=world.plan, lead=world.putr, status=TaskStatus.in_progress
    )
    _link(session, world.putr_head, "777")
    session.add(
        Delivery(
            user_id=world.putr_head.pk,
            channel=Channel.telegram,
            kind=NoticeKind.directive,
            idempotency_key="n-uji:telegram",
            task_id=task.id,
            task_version=task.version,
            subject="Arahan",
            body_text="Arahan",
            external_id="4242",
        )
    )
    session.commit()
    answer = _post(
        bot_client, _text(777, "Siap, dikerjakan minggu ini", reply_to_message={"message_id": 4242})
    ).json()
    assert f"Catatan dicatat pada {task.code}" in answer["text"]
    last = _events(session, task)[-1]
    assert (last.kind, last.actor_id, last.note) == (
        "comment",
        world.putr_head.id,
        "Siap, dikerjakan minggu ini",
    )


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[1, 2]",
        b'{"update_id": "x"}',
        b'{"update_id": 5, "callback_query": {"id": 1, "data": "m:x:y:z", '
        b'"message": {"chat": {"id": 1}}}}',
    ],
)
def test_garbage_is_refused_or_ignored(bot_client: TestClient, body: bytes) -> None:
    response = bot_client.post("/telegram/webhook", content=body, headers=HEADERS)
    assert response.status_code in (200, 400)
    assert response.status_code != 500


def test_the_webhook_is_closed_without_a_configured_secret(client: TestClient) -> None:
    assert (
        client.post("/telegram/webhook", json={"update_id": 1}, headers=HEADERS).status_code == 403
    )
