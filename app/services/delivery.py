"""Sending the outbox: claim due deliveries, send each on its channel, record the outcome.

A claim is a lease (`claimed_until`): several workers never take the same row at once
(PostgreSQL: FOR UPDATE SKIP LOCKED; SQLite: one writer at a time), and a worker killed
mid-send leaves rows whose claim lapses, so another worker sends them again with the same
idempotency key (at least once). Failures back off exponentially; after
`worker_max_attempts` tries, or at once for a failure that cannot improve, a delivery is
marked failed and listed for the team (admin) with its last error and "kirim ulang".
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
import sqlalchemy as sa
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from app import channels
from app.channels import Button, Outgoing, SendError
from app.config import Settings
from app.db import open_session, utcnow
from app.errors import NotFound, RuleViolation
from app.models import (
    Channel,
    Delivery,
    DeliveryStatus,
    NotificationSettings,
    Task,
    TaskStatus,
    User,
)
from app.permissions import ensure_team
from app.services.outbox import BASE_URL, can_act_by_chat

log = logging.getLogger("seratus.worker")

ERROR_MAX = 500

# The Telegram reminder buttons (DESIGN §7): the same moves as the board's.
CHAT_BUTTONS: tuple[tuple[str, TaskStatus], ...] = (
    ("Sedang Berjalan", TaskStatus.in_progress),
    ("Minta verifikasi", TaskStatus.review),
    ("Terkendala", TaskStatus.blocked),
)


def button_data(task_id: int, version: int, status: TaskStatus) -> str:
    """callback_data (≤ 64 bytes): m:<task>:<version>:<status>."""
    return f"m:{task_id}:{version}:{status.value}"


@dataclass
class RoundResult:
    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0


def claim_due(session: Session, *, settings: Settings, now: datetime) -> list[int]:
    """Take up to a batch of due deliveries for this worker (one short transaction)."""
    query = (
        select(Delivery)
        .where(
            Delivery.status == DeliveryStatus.pending,
            col(Delivery.next_attempt_at) <= now,
            sa.or_(col(Delivery.claimed_until).is_(None), col(Delivery.claimed_until) < now),
        )
        .order_by(col(Delivery.next_attempt_at), col(Delivery.id))
        .limit(settings.worker_batch_size)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    rows = session.exec(query).all()
    lease = now + timedelta(seconds=settings.worker_lease_seconds)
    for row in rows:
        row.claimed_until = lease
        row.attempts += 1
        session.add(row)
    ids = [row.id for row in rows if row.id is not None]
    session.commit()
    return ids


def outgoing(session: Session, delivery: Delivery, *, settings: Settings) -> Outgoing:
    """The message as it leaves: absolute links, the user's current addresses, buttons."""
    user = session.get(User, delivery.user_id)
    prefs = session.get(NotificationSettings, delivery.user_id)
    base = settings.base_url.rstrip("/")
    buttons: list[Button] = []
    task = session.get(Task, delivery.task_id) if delivery.task_id is not None else None
    if (
        delivery.channel == Channel.telegram
        and task is not None
        and user is not None
        and delivery.task_version is not None
        and can_act_by_chat(user, task)
    ):
        buttons = [
            Button(label, button_data(task.id or 0, delivery.task_version, status))
            for label, status in CHAT_BUTTONS
            if status != task.status
        ]
    return Outgoing(
        key=delivery.idempotency_key,
        kind=delivery.kind.value,
        subject=delivery.subject,
        text=delivery.body_text.replace(BASE_URL, base),
        html=delivery.body_html.replace(BASE_URL, base),
        to_name=user.full_name if user is not None else "",
        email=prefs.email if prefs is not None else "",
        telegram_chat_id=(prefs.telegram_chat_id or "") if prefs is not None else "",
        whatsapp=prefs.whatsapp if prefs is not None else "",
        link=f"{base}/tasks/{delivery.task_id}" if delivery.task_id else f"{base}/inbox",
        buttons=buttons,
    )


Sender = Callable[[Settings, httpx.Client, Outgoing, Channel], str]


def send(settings: Settings, client: httpx.Client, out: Outgoing, channel: Channel) -> str:
    if channel == Channel.email:
        return channels.send_email(settings, out)
    if channel == Channel.telegram:
        return channels.send_telegram(settings, client, out)
    return channels.send_webhook(settings, client, out)


def backoff(settings: Settings, attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, 4 min … (doubling), at most a day."""
    seconds = settings.worker_backoff_seconds * 2 ** max(attempts - 1, 0)
    return timedelta(seconds=min(seconds, 86_400))


def deliver_one(
    engine: Engine,
    *,
    settings: Settings,
    client: httpx.Client,
    delivery_id: int,
    sender: Sender = send,
    now: datetime | None = None,
) -> DeliveryStatus | None:
    """Send one claimed delivery and record what happened (None: no longer ours to send)."""
    with open_session(engine) as session:
        delivery = session.get(Delivery, delivery_id)
        if delivery is None or delivery.status != DeliveryStatus.pending:
            return None
        out = outgoing(session, delivery, settings=settings)
        channel = Channel(delivery.channel)
        session.rollback()
    error: SendError | None = None
    external = ""
    try:
        external = sender(settings, client, out, channel)
    except SendError as exc:
        error = exc
    except Exception as exc:  # a bug in a sender must not stop the worker
        log.exception("delivery %s: unexpected error", delivery_id)
        error = SendError(f"Kesalahan tak terduga: {type(exc).__name__}")
    with open_session(engine, write=True) as session:
        delivery = session.get(Delivery, delivery_id)
        if delivery is None:
            return None
        now = now or utcnow()
        delivery.claimed_until = None
        if error is None:
            delivery.status = DeliveryStatus.sent
            delivery.sent_at = now
            delivery.external_id = external[:64]
            delivery.last_error = ""
        else:
            delivery.last_error = error.message[:ERROR_MAX]
            if error.permanent or delivery.attempts >= settings.worker_max_attempts:
                delivery.status = DeliveryStatus.failed
            else:
                delivery.next_attempt_at = now + backoff(settings, delivery.attempts)
            log.warning("delivery %s (%s): %s", delivery_id, channel.value, error.message)
        session.add(delivery)
        session.commit()
        return DeliveryStatus(delivery.status)


def deliver_due(
    engine: Engine,
    *,
    settings: Settings,
    client: httpx.Client,
    now: datetime | None = None,
    sender: Sender = send,
) -> RoundResult:
    """One round: claim a batch and send it."""
    with open_session(engine, write=True) as session:
        ids = claim_due(session, settings=settings, now=now or utcnow())
    result = RoundResult(claimed=len(ids))
    for delivery_id in ids:
        outcome = deliver_one(
            engine,
            settings=settings,
            client=client,
            delivery_id=delivery_id,
            sender=sender,
            now=now,
        )
        if outcome == DeliveryStatus.sent:
            result.sent += 1
        elif outcome == DeliveryStatus.failed:
            result.failed += 1
        elif outcome == DeliveryStatus.pending:
            result.retried += 1
    return result


# --- for the team (admin) --------------------------------------------------------------


@dataclass
class FailedDelivery:
    delivery: Delivery
    user_name: str
    task_code: str | None


def failed_deliveries(session: Session, *, actor: User, limit: int = 200) -> list[FailedDelivery]:
    """Messages that kept failing, newest first, with their last error."""
    ensure_team(actor)
    rows = session.exec(
        select(Delivery, User.full_name, Task.code)
        .join(User, col(User.id) == Delivery.user_id)
        .join(Task, col(Task.id) == Delivery.task_id, isouter=True)
        .where(Delivery.status == DeliveryStatus.failed)
        .order_by(col(Delivery.id).desc())
        .limit(limit)
    ).all()
    return [FailedDelivery(delivery=d, user_name=name, task_code=code) for d, name, code in rows]


def retry_delivery(session: Session, *, actor: User, delivery_id: int) -> Delivery:
    """ "Kirim ulang": a failed delivery goes back to the queue, due now, with fresh tries."""
    ensure_team(actor)
    delivery = session.get(Delivery, delivery_id)
    if delivery is None:
        raise NotFound("Pesan tidak ditemukan.")
    if delivery.status != DeliveryStatus.failed:
        raise RuleViolation("Hanya pesan yang gagal terkirim yang dapat dikirim ulang.")
    delivery.status = DeliveryStatus.pending
    delivery.attempts = 0
    delivery.next_attempt_at = utcnow()
    delivery.claimed_until = None
    session.add(delivery)
    session.commit()
    return delivery
