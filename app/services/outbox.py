"""The outbox: inbox entries and channel deliveries written in the transaction of the event
that causes them, so a change is never recorded without its notifications, nor notified
without being recorded. The worker (app.services.delivery) sends what is written here.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from app.db import utcnow
from app.models import (
    Channel,
    Delivery,
    NoticeKind,
    Notification,
    NotificationSettings,
    Role,
    Task,
    TaskEvent,
    TaskStatus,
    Unit,
    User,
)
from app.services import history
from app.services.labels import STATUS_LABELS
from app.services.recipients import Told, who_is_told
from app.timefmt import WIB

# The worker puts the app's public address (SERATUS_BASE_URL) here when it sends.
BASE_URL = "{base_url}"

NOTICE_LABELS: dict[NoticeKind, str] = {
    NoticeKind.assigned: "Tugas baru atau dialihkan ke unit saya",
    NoticeKind.rejected: "Hasil ditolak Tim Transisi",
    NoticeKind.verified: "Hasil diverifikasi (Selesai)",
    NoticeKind.directive: "Arahan pimpinan",
    NoticeKind.follow_up: "Tindak lanjut atas arahan saya",
    NoticeKind.review: "Tugas menunggu verifikasi",
    NoticeKind.blocked: "Tugas terkendala",
    NoticeKind.decision: "Tugas perlu keputusan pimpinan",
    NoticeKind.decided: "Keputusan pimpinan",
    NoticeKind.comment: "Catatan baru",
    NoticeKind.escalation: "Eskalasi (tugas tertahan)",
    NoticeKind.digest: "Laporan Pagi (setiap hari kerja)",
}

SUBJECTS: dict[NoticeKind, str] = {
    NoticeKind.assigned: "Tugas untuk unit Anda",
    NoticeKind.rejected: "Hasil ditolak",
    NoticeKind.verified: "Hasil diverifikasi",
    NoticeKind.directive: "Arahan pimpinan",
    NoticeKind.follow_up: "Tindak lanjut arahan",
    NoticeKind.review: "Menunggu verifikasi",
    NoticeKind.blocked: "Tugas terkendala",
    NoticeKind.decision: "Perlu keputusan",
    NoticeKind.decided: "Keputusan pimpinan",
    NoticeKind.comment: "Catatan baru",
    NoticeKind.escalation: "Eskalasi",
}

QUOTE_MAX = 300


def _quote(note: str) -> str:
    note = " ".join(note.split())
    return note if len(note) <= QUOTE_MAX else note[: QUOTE_MAX - 1].rstrip() + "…"


def notice_text(
    notice: NoticeKind, *, event: TaskEvent, task: Task, actor_name: str, unit_name: str
) -> str:
    """One Indonesian sentence for the inbox and the first line of every channel."""
    ref = f"{task.code} «{task.title}»"
    note = _quote(event.note)
    with_note = f": {note}" if note else "."
    texts = {
        NoticeKind.assigned: f"Tugas {ref} ditugaskan kepada {unit_name} oleh {actor_name}.",
        NoticeKind.rejected: f"{actor_name} menolak hasil {ref}{with_note}",
        NoticeKind.verified: f"{actor_name} memverifikasi {ref}; tugas Selesai.",
        NoticeKind.directive: f"Arahan {actor_name} pada {ref}{with_note}",
        NoticeKind.follow_up: f"{actor_name} menindaklanjuti arahan Anda pada {ref}{with_note}",
        NoticeKind.review: f"{ref} menunggu verifikasi (dikirim oleh {actor_name}).",
        NoticeKind.blocked: f"{ref} terkendala{with_note}",
        NoticeKind.decision: f"{ref} perlu keputusan pimpinan (ditandai oleh {actor_name}).",
        NoticeKind.decided: f"Keputusan {actor_name} pada {ref}{with_note}",
        NoticeKind.comment: f"Catatan dari {actor_name} pada {ref}{with_note}",
        NoticeKind.escalation: f"Eskalasi {ref}{with_note}",
    }
    return texts.get(notice, f"{ref}{with_note}")


# --- preferences -----------------------------------------------------------------------


def settings_for(session: Session, user_ids: Sequence[int]) -> dict[int, NotificationSettings]:
    if not user_ids:
        return {}
    rows = session.exec(
        select(NotificationSettings).where(col(NotificationSettings.user_id).in_(user_ids))
    ).all()
    return {row.user_id: row for row in rows}


def channels_for(prefs: NotificationSettings | None, notice: NoticeKind) -> list[Channel]:
    """The channels this notice goes out on for this user (none when muted or unset)."""
    if prefs is None or notice.value in (prefs.muted_kinds or []):
        return []
    chosen: list[Channel] = []
    if prefs.email_on and prefs.email:
        chosen.append(Channel.email)
    if prefs.telegram_on and prefs.telegram_chat_id:
        chosen.append(Channel.telegram)
    if prefs.webhook_on and prefs.whatsapp:
        chosen.append(Channel.webhook)
    return chosen


def in_quiet_hours(prefs: NotificationSettings | None, at: datetime) -> bool:
    if prefs is None or not prefs.quiet_hours_on:
        return False
    local = at.astimezone(WIB)
    minute = local.hour * 60 + local.minute
    start, end = prefs.quiet_start_minute, prefs.quiet_end_minute
    if start == end:
        return False
    if start < end:
        return start <= minute < end
    return minute >= start or minute < end


def send_after(prefs: NotificationSettings | None, now: datetime) -> datetime:
    """`now`, or the end of the user's quiet hours (WIB) when now falls inside them: channel
    messages wait, the inbox does not."""
    if prefs is None or not in_quiet_hours(prefs, now):
        return now
    local = now.astimezone(WIB)
    end = local.replace(
        hour=prefs.quiet_end_minute // 60,
        minute=prefs.quiet_end_minute % 60,
        second=0,
        microsecond=0,
    )
    if end <= local:
        end += timedelta(days=1)
    return end.astimezone(now.tzinfo)


# --- messages --------------------------------------------------------------------------


@dataclass(frozen=True)
class Message:
    subject: str
    text: str
    html: str


def task_message(*, headline: str, notice: NoticeKind, task: Task, unit_name: str) -> Message:
    """A notice about one task as an email / chat message (links filled in when sent)."""
    # Imported here: the templates' globals import the task services, which write events.
    from app.templating import env

    link = f"{BASE_URL}/tasks/{task.id}"
    status = STATUS_LABELS[TaskStatus(task.status)]
    subject = f"[Seratus] {task.code}: {SUBJECTS.get(notice, 'Pemberitahuan')}"
    text = (
        f"{headline}\n\n"
        f"Tugas: {task.code} {task.title}\n"
        f"Penanggung jawab: {unit_name}\n"
        f"Status: {status}\n"
        f"Buka tugas: {link}\n\n"
        f"—\nSeratus · pengaturan pemberitahuan: {BASE_URL}/profile\n"
    )
    html = env.get_template("email/notice.html").render(
        headline=headline,
        task=task,
        unit_name=unit_name,
        status=status,
        link=link,
        profile_link=f"{BASE_URL}/profile",
    )
    return Message(subject=subject, text=text, html=html)


def enqueue(
    session: Session,
    *,
    user_id: int,
    notice: NoticeKind,
    message: Message,
    key: str,
    prefs: NotificationSettings | None,
    now: datetime,
    notification_id: int | None = None,
    task: Task | None = None,
    channels: Sequence[Channel] | None = None,
) -> list[Delivery]:
    """One delivery per chosen channel, keyed `key:channel` (the idempotency key)."""
    rows = []
    for channel in channels if channels is not None else channels_for(prefs, notice):
        row = Delivery(
            user_id=user_id,
            channel=channel,
            kind=notice,
            idempotency_key=f"{key}:{channel.value}",
            notification_id=notification_id,
            task_id=task.id if task is not None else None,
            task_version=task.version if task is not None else None,
            subject=message.subject,
            body_text=message.text,
            body_html=message.html,
            next_attempt_at=send_after(prefs, now),
            created_at=now,
        )
        session.add(row)
        rows.append(row)
    return rows


def fan_out(session: Session, *, event: TaskEvent, task: Task) -> list[Notification]:
    """The event hook: an inbox entry for everyone the event concerns, and a delivery on each
    channel they chose for its kind. Runs inside the writer's transaction; commits nothing."""
    told: list[Told] = who_is_told(session, event=event, task=task)
    if not told:
        return []
    if event.id is None:
        session.flush()
    actor = session.get(User, event.actor_id) if event.actor_id is not None else None
    actor_name = actor.full_name if actor is not None else "Seratus"
    unit = session.get(Unit, task.lead_unit_id)
    unit_name = unit.name if unit is not None else "-"
    prefs = settings_for(session, [t.user.pk for t in told])
    now = utcnow()
    made: list[tuple[Told, Notification]] = []
    for entry in told:
        text = notice_text(
            entry.notice, event=event, task=task, actor_name=actor_name, unit_name=unit_name
        )
        notification = Notification(
            user_id=entry.user.pk,
            task_id=task.id,
            event_id=event.id,
            kind=entry.notice,
            text=text,
            created_at=now,
        )
        session.add(notification)
        made.append((entry, notification))
    if any(channels_for(prefs.get(e.user.pk), e.notice) for e, _ in made):
        session.flush()
        for entry, notification in made:
            user_id = entry.user.pk
            enqueue(
                session,
                user_id=user_id,
                notice=entry.notice,
                message=task_message(
                    headline=notification.text, notice=entry.notice, task=task, unit_name=unit_name
                ),
                key=f"n{notification.id}",
                prefs=prefs.get(user_id),
                now=now,
                notification_id=notification.id,
                task=task,
            )
    return [n for _, n in made]


# The event hook: every recorded task event fans out here, in the writer's transaction.
history.listen(fan_out)


def can_act_by_chat(user: User, task: Task) -> bool:
    """Telegram buttons go to the lead unit's users while the task is on their side."""
    return (
        user.role == Role.unit
        and user.unit_id == task.lead_unit_id
        and task.status in (TaskStatus.todo, TaskStatus.in_progress, TaskStatus.blocked)
    )
