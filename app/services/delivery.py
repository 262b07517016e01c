"""Sending the outbox: claim due deliveries, send each on its channel, record the outcome.

A claim is a lease (`claimed_until`): several workers never take the same row at once
(PostgreSQL: FOR UPDATE SKIP LOCKED; SQLite: one writer at a time), and a worker killed
mid-send leaves rows whose claim lapses, so another worker sends them again with the same
idempotency key (at least once). Failures back off exponentially; after
`worker_max_attempts` tries, or at once for a failure that cannot improve, a delivery is
marked failed and listed for the team (admin) with its last error and "kirim ulang".
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

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

if TYPE_CHECKING:
    import httpx  # the worker passes its client in (app.worker)

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
    ids = [row.pk for row in rows]
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
            Button(label, button_data(task.pk, delivery.task_version, status))
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


@dataclass
class Transports:
    """What a round sends with: one HTTP client (Telegram, webhook) and one SMTP connection."""

    settings: Settings
    client: "httpx.Client"
    mailer: channels.Mailer

    def send(self, out: Outgoing, channel: Channel) -> str:
        if channel == Channel.email:
            return self.mailer.send(out)
        if channel == Channel.telegram:
            return channels.send_telegram(self.settings, self.client, out)
        return channels.send_webhook(self.settings, self.client, out)


def backoff(settings: Settings, attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, 4 min … (doubling), at most a day."""
    seconds = settings.worker_backoff_seconds * 2 ** max(attempts - 1, 0)
    return timedelta(seconds=min(seconds, 86_400))


def _prepare(
    engine: Engine, *, settings: Settings, ids: list[int]
) -> list[tuple[int, Outgoing, Channel]]:
    """The claimed messages as they leave, read in one short transaction."""
    with open_session(engine) as session:
        rows = session.exec(
            select(Delivery).where(col(Delivery.id).in_(ids)).order_by(col(Delivery.id))
        ).all()
        prepared = [
            (row.pk, outgoing(session, row, settings=settings), Channel(row.channel))
            for row in rows
            if row.status == DeliveryStatus.pending
        ]
        session.rollback()
    return prepared


def _send(
    transports: Transports, out: Outgoing, channel: Channel, delivery_id: int
) -> str | SendError:
    try:
        return transports.send(out, channel)
    except SendError as exc:
        log.warning("delivery %s (%s): %s", delivery_id, channel.value, exc.message)
        return exc
    except Exception as exc:  # a bug in a sender must not stop the worker
        log.exception("delivery %s: unexpected error", delivery_id)
        return SendError(f"Kesalahan tak terduga: {type(exc).__name__}")


def _record(
    engine: Engine, *, settings: Settings, outcomes: dict[int, str | SendError], now: datetime
) -> RoundResult:
    """Every outcome of the round in one transaction. A worker killed before this commit
    leaves its claims to lapse: those messages go out again, with the same key."""
    result = RoundResult()
    with open_session(engine, write=True) as session:
        rows = session.exec(select(Delivery).where(col(Delivery.id).in_(list(outcomes)))).all()
        for delivery in rows:
            outcome = outcomes[delivery.pk]
            delivery.claimed_until = None
            if isinstance(outcome, str):
                delivery.status = DeliveryStatus.sent
                delivery.sent_at = now
                delivery.external_id = outcome[:64]
                delivery.last_error = ""
                result.sent += 1
            else:
                delivery.last_error = outcome.message[:ERROR_MAX]
                if outcome.permanent or delivery.attempts >= settings.worker_max_attempts:
                    delivery.status = DeliveryStatus.failed
                    result.failed += 1
                else:
                    delivery.next_attempt_at = now + backoff(settings, delivery.attempts)
                    result.retried += 1
            session.add(delivery)
        session.commit()
    return result


def deliver_due(
    engine: Engine,
    *,
    settings: Settings,
    client: "httpx.Client",
    now: datetime | None = None,
) -> RoundResult:
    """One round: claim a batch, send it (one SMTP connection for its emails), record the
    outcomes."""
    with open_session(engine, write=True) as session:
        ids = claim_due(session, settings=settings, now=now or utcnow())
    if not ids:
        return RoundResult()
    prepared = _prepare(engine, settings=settings, ids=ids)
    transports = Transports(settings=settings, client=client, mailer=channels.Mailer(settings))
    try:
        outcomes = {
            delivery_id: _send(transports, out, channel, delivery_id)
            for delivery_id, out, channel in prepared
        }
    finally:
        transports.mailer.close()
    result = _record(engine, settings=settings, outcomes=outcomes, now=now or utcnow())
    result.claimed = len(ids)
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
