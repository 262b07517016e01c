"""The outbox and its worker: atomic with the change, delivered over a real SMTP server and
local fake Telegram / webhook servers, retried with backoff, failed and sent again, quiet
hours, several workers at once."""

import hashlib
import hmac
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from app.config import Settings
from app.db import open_session
from app.errors import Forbidden
from app.models import (
    Channel,
    Delivery,
    DeliveryStatus,
    NoticeKind,
    Notification,
    NotificationSettings,
    Task,
    TaskEvent,
    TaskStatus,
    User,
)
from app.services import delivery, history, outbox, tasks
from app.services.preferences import PreferencesInput, save_preferences
from app.timefmt import WIB
from tests.channel_servers import FakeHttp, SmtpSink, fake_http, smtp_sink
from tests.factories import World, make_task


def _body(message: EmailMessage, subtype: str) -> str:
    """The text of the message's `subtype` part (plain or html), which must be there."""
    part = message.get_body((subtype,))
    assert part is not None, f"no {subtype} part"
    return str(part.get_content())


def _prefs(session: Session, user: User, **fields: object) -> NotificationSettings:
    row = session.get(NotificationSettings, user.pk) or NotificationSettings(user_id=user.pk)
    for name, value in fields.items():
        setattr(row, name, value)
    row.quiet_hours_on = bool(fields.get("quiet_hours_on", False))
    session.add(row)
    session.commit()
    return row


def _review_task(session: Session, world: World) -> Task:
    return make_task(
        session, actor=world.team, plan=world.plan, lead=world.putr, status=TaskStatus.review
    )


def _reject(session: Session, world: World, task: Task) -> Task:
    return tasks.reject_task(
        session,
        actor=world.team,
        task_id=task.pk,
        version=task.version,
        note="Foto belum ada",
    )


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    with smtp_sink() as server:
        yield server


@pytest.fixture
def http_fake() -> Iterator[FakeHttp]:
    with fake_http() as server:
        yield server


@pytest.fixture
def channel_settings(settings: Settings, sink: SmtpSink, http_fake: FakeHttp) -> Settings:
    return settings.model_copy(
        update={
            "base_url": "https://seratus.banyuasin.example",
            "smtp_host": sink.host,
            "smtp_port": sink.port,
            "smtp_from": "Seratus <seratus@banyuasin.example>",
            "telegram_bot_token": "123:ABC",
            "telegram_api_url": http_fake.url,
            "webhook_url": f"{http_fake.url}/wa",
            "webhook_secret": "rahasia-webhook",
            "worker_backoff_seconds": 0.0,
            "worker_max_attempts": 3,
        }
    )


def _deliver(
    engine: Engine, settings: Settings, now: datetime | None = None
) -> delivery.RoundResult:
    with httpx.Client(timeout=5) as client:
        return delivery.deliver_due(engine, settings=settings, client=client, now=now)


def _deliveries(session: Session) -> list[Delivery]:
    # A fresh transaction: what the worker committed since (SQLite reads from a snapshot).
    session.rollback()
    session.expire_all()
    return list(session.exec(select(Delivery).order_by(col(Delivery.id))).all())


# --- the outbox is atomic ----------------------------------------------------------------


def test_a_change_that_commits_has_its_notifications_and_deliveries(
    session: Session, world: World
) -> None:
    review = _review_task(session, world)
    _prefs(session, world.putr_head, email="kadis.putr@banyuasin.example", email_on=True)
    task = _reject(session, world, review)
    event = session.exec(select(TaskEvent).order_by(col(TaskEvent.id).desc())).first()
    assert event is not None
    assert event.kind == "rejected"
    notes = session.exec(select(Notification).where(Notification.event_id == event.id)).all()
    assert [n.user_id for n in notes] == [world.putr_head.id]
    sent = _deliveries(session)
    assert [(d.user_id, d.channel, d.task_version) for d in sent][-1] == (
        world.putr_head.id,
        Channel.email,
        task.version,
    )
    assert sent[-1].idempotency_key == f"n{notes[0].id}:email"


def test_a_change_that_rolls_back_leaves_no_notification(session: Session, world: World) -> None:
    task = _review_task(session, world)
    _prefs(session, world.putr_head, email="kadis.putr@banyuasin.example", email_on=True)
    before = (len(_deliveries(session)), len(session.exec(select(Notification)).all()))

    def refuse(session: Session, *, event: TaskEvent, task: Task) -> None:
        raise RuntimeError("disk full")

    # The outbox's listener has written its rows when a later one fails: all of it rolls back.
    history.listen(refuse)
    try:
        with pytest.raises(RuntimeError):
            _reject(session, world, task)
    finally:
        history.unlisten(refuse)
    session.rollback()
    assert (len(_deliveries(session)), len(session.exec(select(Notification)).all())) == before
    assert session.get_one(Task, task.pk).status == TaskStatus.review


def test_a_failing_fan_out_leaves_the_change_unrecorded(
    session: Session, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    task = _review_task(session, world)
    events = len(session.exec(select(TaskEvent)).all())

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("outbox unavailable")

    monkeypatch.setattr(outbox, "who_is_told", broken)
    with pytest.raises(RuntimeError):
        _reject(session, world, task)
    session.rollback()
    session.expire_all()
    assert len(session.exec(select(TaskEvent)).all()) == events
    assert session.get_one(Task, task.pk).status == TaskStatus.review


# --- channels ------------------------------------------------------------------------------


def test_email_over_a_real_smtp_server(
    engine: Engine, session: Session, world: World, channel_settings: Settings, sink: SmtpSink
) -> None:
    review = _review_task(session, world)
    _prefs(session, world.putr_head, email="kadis.putr@banyuasin.example", email_on=True)
    task = _reject(session, world, review)
    result = _deliver(engine, channel_settings)
    assert result.sent == 1
    assert len(sink.messages) == 1
    message = sink.messages[0]
    assert message["To"] == "Kadis Putr <kadis.putr@banyuasin.example>"
    assert message["Subject"] == f"[Seratus] {task.code}: Hasil ditolak"
    text = _body(message, "plain")
    html = _body(message, "html")
    assert "Tim Transisi menolak hasil" in text
    assert "Foto belum ada" in text
    assert f"https://seratus.banyuasin.example/tasks/{task.id}" in text
    assert f'href="https://seratus.banyuasin.example/tasks/{task.id}"' in html
    assert "{base_url}" not in text + html
    row = _deliveries(session)[-1]
    assert row.status == DeliveryStatus.sent
    assert row.sent_at is not None
    assert message["Idempotency-Key"] == row.idempotency_key
    # Sent once: another round finds nothing due.
    assert _deliver(engine, channel_settings).claimed == 0


def test_html_escapes_what_users_typed(
    engine: Engine, session: Session, world: World, channel_settings: Settings, sink: SmtpSink
) -> None:
    task = _review_task(session, world)
    _prefs(session, world.putr_head, email="kadis.putr@banyuasin.example", email_on=True)
    tasks.reject_task(
        session,
        actor=world.team,
        task_id=task.pk,
        version=task.version,
        note="<script>x</script>",
    )
    _deliver(engine, channel_settings)
    html = _body(sink.messages[0], "html")
    assert "<script>" not in html
    assert "&lt;script&gt;" in html


def test_telegram_with_buttons_for_the_lead_unit(
    engine: Engine, session: Session, world: World, channel_settings: Settings, http_fake: FakeHttp
) -> None:
    review = _review_task(session, world)
    _prefs(session, world.putr_head, telegram_chat_id="555", telegram_on=True)
    task = _reject(session, world, review)
    assert _deliver(engine, channel_settings).sent == 1
    (call,) = http_fake.posted("/bot123:ABC/sendMessage")
    body = call.json()
    assert body["chat_id"] == "555"
    assert "menolak hasil" in body["text"]
    buttons = body["reply_markup"]["inline_keyboard"][0]
    # The task is Sedang Berjalan now: the other two moves, for this version.
    assert [b["text"] for b in buttons] == ["Minta verifikasi", "Terkendala"]
    assert buttons[0]["callback_data"] == f"m:{task.id}:{task.version}:review"
    assert _deliveries(session)[-1].external_id == "1001"


def test_signed_webhook_for_whatsapp(
    engine: Engine, session: Session, world: World, channel_settings: Settings, http_fake: FakeHttp
) -> None:
    review = _review_task(session, world)
    _prefs(session, world.putr_head, whatsapp="+6281234567890", webhook_on=True)
    task = _reject(session, world, review)
    assert _deliver(engine, channel_settings).sent == 1
    (call,) = http_fake.posted("/wa")
    expected = hmac.new(b"rahasia-webhook", call.body, hashlib.sha256).hexdigest()
    assert call.headers["X-Seratus-Signature"] == f"sha256={expected}"
    payload = call.json()
    assert payload["to"] == {"name": "Kadis Putr", "whatsapp": "+6281234567890"}
    assert payload["text"].startswith(f"*[Seratus] {task.code}: Hasil ditolak*")
    assert payload["link"] == f"https://seratus.banyuasin.example/tasks/{task.id}"
    assert call.headers["Idempotency-Key"] == payload["id"]


# --- retries, failure, kirim ulang ---------------------------------------------------------


def test_retries_back_off_then_succeed(
    engine: Engine, session: Session, world: World, channel_settings: Settings, http_fake: FakeHttp
) -> None:
    review = _review_task(session, world)
    _prefs(session, world.putr_head, whatsapp="081234567890", webhook_on=True)
    _reject(session, world, review)
    http_fake.statuses = [503, 503]
    slow = channel_settings.model_copy(update={"worker_backoff_seconds": 60.0})
    now = datetime.now(UTC)
    assert _deliver(engine, slow, now).retried == 1
    row = _deliveries(session)[-1]
    assert (row.status, row.attempts) == (DeliveryStatus.pending, 1)
    assert "503" in row.last_error
    first_wait = row.next_attempt_at - now
    assert timedelta(seconds=59) < first_wait <= timedelta(seconds=61)
    # Not due before the backoff has passed.
    assert _deliver(engine, slow, now + timedelta(seconds=30)).claimed == 0
    assert _deliver(engine, slow, now + timedelta(seconds=61)).retried == 1
    row = _deliveries(session)[-1]
    assert row.attempts == 2
    assert row.next_attempt_at - (now + timedelta(seconds=61)) > timedelta(seconds=119)
    assert _deliver(engine, slow, now + timedelta(seconds=200)).sent == 1
    assert len(http_fake.posted("/wa")) == 3


def test_keeps_failing_then_failed_listed_and_sent_again(
    engine: Engine, session: Session, world: World, channel_settings: Settings, sink: SmtpSink
) -> None:
    review = _review_task(session, world)
    _prefs(session, world.putr_head, email="kadis.putr@banyuasin.example", email_on=True)
    _reject(session, world, review)
    sink.refuse = 3
    for _ in range(3):
        _deliver(engine, channel_settings)
    row = _deliveries(session)[-1]
    assert (row.status, row.attempts) == (DeliveryStatus.failed, 3)
    assert "451" in row.last_error
    listed = delivery.failed_deliveries(session, actor=world.team)
    assert [f.delivery.id for f in listed] == [row.id]
    with pytest.raises(Forbidden):
        delivery.failed_deliveries(session, actor=world.putr_head)
    with pytest.raises(Forbidden):
        delivery.retry_delivery(session, actor=world.putr_head, delivery_id=row.pk)
    delivery.retry_delivery(session, actor=world.team, delivery_id=row.pk)
    assert _deliver(engine, channel_settings).sent == 1
    assert len(sink.messages) == 1
    assert delivery.failed_deliveries(session, actor=world.team) == []


def test_a_channel_that_is_not_configured_fails_at_once(
    engine: Engine, session: Session, world: World, settings: Settings
) -> None:
    review = _review_task(session, world)
    _prefs(session, world.putr_head, email="kadis.putr@banyuasin.example", email_on=True)
    _reject(session, world, review)
    assert _deliver(engine, settings).failed == 1
    row = _deliveries(session)[-1]
    assert row.attempts == 1
    assert "SERATUS_SMTP_HOST" in row.last_error


# --- quiet hours ---------------------------------------------------------------------------


def test_quiet_hours_hold_channels_not_the_inbox(
    engine: Engine,
    session: Session,
    world: World,
    channel_settings: Settings,
    sink: SmtpSink,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    review = _review_task(session, world)
    _prefs(
        session,
        world.putr_head,
        email="kadis.putr@banyuasin.example",
        email_on=True,
        quiet_hours_on=True,
    )
    late_evening = datetime(2026, 12, 3, 22, 15, tzinfo=WIB).astimezone(UTC)
    monkeypatch.setattr(outbox, "utcnow", lambda: late_evening)
    _reject(session, world, review)
    row = _deliveries(session)[-1]
    assert row.next_attempt_at == datetime(2026, 12, 4, 6, 0, tzinfo=WIB).astimezone(UTC)
    # The inbox has it already.
    unread = session.exec(
        select(Notification).where(
            Notification.user_id == world.putr_head.id, col(Notification.read_at).is_(None)
        )
    ).all()
    assert [n.kind for n in unread][-1] == "rejected"
    assert _deliver(engine, channel_settings, late_evening + timedelta(hours=7)).claimed == 0
    assert _deliver(engine, channel_settings, late_evening + timedelta(hours=8)).sent == 1
    assert len(sink.messages) == 1


def test_quiet_hours_inside_a_day_and_off() -> None:
    prefs = NotificationSettings(
        user_id=1, quiet_hours_on=True, quiet_start_minute=12 * 60, quiet_end_minute=13 * 60
    )
    noon = datetime(2026, 12, 4, 12, 30, tzinfo=WIB)
    assert outbox.send_after(prefs, noon) == datetime(2026, 12, 4, 13, 0, tzinfo=WIB)
    assert outbox.send_after(prefs, noon + timedelta(hours=1)) == noon + timedelta(hours=1)
    prefs.quiet_hours_on = False
    assert outbox.send_after(prefs, noon) == noon


def test_muted_kinds_and_channels_off_write_no_delivery(
    session: Session, world: World, settings: Settings
) -> None:
    review = _review_task(session, world)
    _prefs(session, world.putr_head, email="kadis.putr@banyuasin.example", email_on=True)
    save_preferences(
        session,
        actor=world.putr_head,
        user_id=world.putr_head.pk,
        data=PreferencesInput(
            email="kadis.putr@banyuasin.example",
            email_on=True,
            kinds=["directive", "digest"],
            quiet_hours_on=False,
        ),
    )
    before = len(_deliveries(session))
    _reject(session, world, review)
    assert len(_deliveries(session)) == before
    # The inbox still has it.
    assert session.exec(
        select(Notification).where(Notification.user_id == world.putr_head.id)
    ).all()


# --- several workers -----------------------------------------------------------------------


def test_two_workers_deliver_each_message_once(
    engine: Engine, session: Session, world: World, channel_settings: Settings, sink: SmtpSink
) -> None:
    """Two workers side by side (PostgreSQL: FOR UPDATE SKIP LOCKED; SQLite: one writer at a
    time) drain the same outbox: every message arrives exactly once."""
    task = make_task(session, actor=world.team, plan=world.plan, lead=world.putr)
    _prefs(session, world.putr_head, email="kadis.putr@banyuasin.example", email_on=True)
    now = datetime.now(UTC)
    with open_session(engine) as writer:
        for number in range(60):
            writer.add(
                Delivery(
                    user_id=world.putr_head.pk,
                    channel=Channel.email,
                    kind=NoticeKind.comment,
                    idempotency_key=f"bulk-{number}:email",
                    task_id=task.pk,
                    subject=f"Pesan {number}",
                    body_text="Isi",
                    next_attempt_at=now,
                )
            )
        writer.commit()
    small = channel_settings.model_copy(update={"worker_batch_size": 5})
    errors: list[BaseException] = []

    def work() -> None:
        try:
            with httpx.Client() as client:
                while delivery.deliver_due(engine, settings=small, client=client).claimed:
                    pass
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    keys = sink.idempotency_keys()
    assert sorted(keys) == sorted(f"bulk-{n}:email" for n in range(60))
    assert all(d.status == DeliveryStatus.sent for d in _deliveries(session))
