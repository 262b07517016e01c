"""Replies from Telegram: linking a chat with `/start CODE`, the reminder buttons, and text
replies (a note, or the reason a button asked for). Every action goes through the same task
services as the pages: the same permissions, the same version check, the same history event.

The caller has checked Telegram's secret-token header. An update id seen before, an unknown
chat, or anything that does not parse changes nothing.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from app.db import utcnow
from app.errors import Conflict, DomainError
from app.models import (
    Channel,
    Delivery,
    NotificationSettings,
    Task,
    TaskMove,
    TaskStatus,
    TelegramUpdate,
    User,
)
from app.services import preferences, task_reads, tasks
from app.services.labels import STATUS_LABELS

UNLINKED = (
    "Akun Telegram ini belum tertaut dengan Seratus. Buka halaman Profil di Seratus, buat kode "
    "penautan, lalu kirim /start KODE ke bot ini."
)
HOW_TO_REPLY = (
    "Untuk menambahkan catatan, balas (reply) pesan pengingat tugasnya. Tombol pada pengingat "
    "mengubah status tugas."
)
ASK_REASON = {
    TaskStatus.blocked: "Tulis alasan kendala {code} sebagai pesan berikutnya.",
    TaskStatus.review: (
        "Belum ada bukti dukung pada {code}. Tulis catatan mengapa belum ada bukti dukung "
        "sebagai pesan berikutnya, atau lampirkan bukti di Seratus."
    ),
}
CHOSEN = frozenset({TaskStatus.in_progress, TaskStatus.review, TaskStatus.blocked})


@dataclass(frozen=True)
class BotReply:
    """The answer to send back in the webhook's response (one Bot API method)."""

    method: str
    payload: dict[str, Any]

    def body(self) -> dict[str, Any]:
        return {"method": self.method, **self.payload}


def _message(chat_id: str, text: str) -> BotReply:
    # Back as Telegram sent it (a number).
    chat: int | str = int(chat_id) if chat_id.lstrip("-").isdigit() else chat_id
    return BotReply("sendMessage", {"chat_id": chat, "text": text})


def _answer(callback_id: Any, text: str) -> BotReply:
    return BotReply(
        "answerCallbackQuery", {"callback_query_id": callback_id, "text": text, "show_alert": True}
    )


def current_state(task: Task) -> str:
    label = STATUS_LABELS[TaskStatus(task.status)]
    return f"{task.code} «{task.title}» kini berstatus {label}."


def parse_button(data: str) -> tuple[int, int, TaskStatus] | None:
    """m:<task>:<version>:<status> → its parts, or None."""
    parts = data.split(":")
    if len(parts) != 4 or parts[0] != "m":
        return None
    try:
        task_id, version, status = int(parts[1]), int(parts[2]), TaskStatus(parts[3])
    except ValueError:
        return None
    if status not in CHOSEN or not (1 <= task_id < 2**31 and 1 <= version < 2**31):
        return None
    return task_id, version, status


def handle_update(
    session: Session, *, update: dict[str, Any], now: datetime | None = None
) -> BotReply | None:
    """Handle one update once; commits. None: nothing to say (replayed or not understood)."""
    update_id = update.get("update_id")
    if not isinstance(update_id, int) or isinstance(update_id, bool):
        return None
    if session.get(TelegramUpdate, update_id) is not None:
        return None
    try:
        _remember(session, update_id, now=now)
        session.flush()
    except IntegrityError:
        # The same update is being handled by another request right now.
        session.rollback()
        return None
    reply: BotReply | None = None
    message = update.get("message")
    callback = update.get("callback_query")
    if isinstance(message, dict):
        reply = _on_message(session, message, now=now)
    elif isinstance(callback, dict):
        reply = _on_button(session, callback)
    # Recorded as handled: committed with the action, or again after a refused one rolled back.
    _remember(session, update_id, now=now)
    session.commit()
    return reply


def _remember(session: Session, update_id: int, *, now: datetime | None) -> None:
    if session.get(TelegramUpdate, update_id) is None:
        session.add(TelegramUpdate(update_id=update_id, received_at=now or utcnow()))


def _chat_id(message: dict[str, Any]) -> str | None:
    chat = message.get("chat")
    if isinstance(chat, dict) and isinstance(chat.get("id"), int):
        return str(chat["id"])
    return None


def _on_message(
    session: Session, message: dict[str, Any], *, now: datetime | None
) -> BotReply | None:
    chat_id = _chat_id(message)
    text = message.get("text")
    if chat_id is None or not isinstance(text, str):
        return None
    text = text.strip()
    if text.startswith("/start"):
        code = text[len("/start") :].strip()
        user = preferences.redeem_link_code(session, code=code, chat_id=chat_id, now=now)
        if user is None:
            return _message(
                chat_id,
                "Kode tidak dikenal atau sudah kedaluwarsa. Buat kode baru di halaman Profil "
                "Seratus.",
            )
        return _message(
            chat_id,
            f"Akun Telegram ini kini tertaut dengan Seratus sebagai {user.full_name}. "
            "Pengingat tugas akan dikirim ke sini.",
        )
    found = preferences.user_for_chat(session, chat_id=chat_id)
    if found is None:
        return _message(chat_id, UNLINKED)
    user, prefs = found
    if not text:
        return None
    if prefs.pending_action and prefs.pending_task_id and prefs.pending_version:
        return _message(chat_id, _complete_pending(session, user=user, prefs=prefs, text=text))
    reply_to = message.get("reply_to_message")
    if isinstance(reply_to, dict) and isinstance(reply_to.get("message_id"), int):
        task = _task_of_reminder(session, user=user, message_id=reply_to["message_id"])
        if task is not None:
            return _message(chat_id, _note(session, user=user, task=task, text=text))
    return _message(chat_id, HOW_TO_REPLY)


def _task_of_reminder(session: Session, *, user: User, message_id: int) -> Task | None:
    delivery = session.exec(
        select(Delivery).where(
            Delivery.channel == Channel.telegram,
            Delivery.user_id == user.id,
            Delivery.external_id == str(message_id),
        )
    ).first()
    if delivery is None or delivery.task_id is None:
        return None
    return session.get(Task, delivery.task_id)


def _note(session: Session, *, user: User, task: Task, text: str) -> str:
    try:
        tasks.add_comment(session, actor=user, task_id=task.pk, note=text[:2000])
    except DomainError as exc:
        session.rollback()
        return exc.message
    return f"Catatan dicatat pada {task.code}."


def _move(
    session: Session, *, user: User, task_id: int, version: int, status: TaskStatus, text: str
) -> str:
    move = TaskMove(
        version=version,
        status=status,
        blocked_reason=text[:2000] if status == TaskStatus.blocked else "",
        note=text[:2000] if status == TaskStatus.review else "",
    )
    try:
        task = tasks.move_task(session, actor=user, task_id=task_id, move=move)
    except Conflict:
        # A stale button: say how the task stands now instead of acting.
        session.rollback()
        now_task = session.get(Task, task_id)
        current = current_state(now_task) if now_task is not None else "Tugas tidak ditemukan."
        return f"Tugas sudah berubah sejak pesan ini dikirim; tidak ada yang diubah. {current}"
    except DomainError as exc:
        session.rollback()
        return exc.message
    return f"Tersimpan. {current_state(task)}"


def _complete_pending(
    session: Session, *, user: User, prefs: NotificationSettings, text: str
) -> str:
    status = TaskStatus(prefs.pending_action)
    task_id, version = prefs.pending_task_id or 0, prefs.pending_version or 0
    prefs.pending_action = ""
    prefs.pending_task_id = None
    prefs.pending_version = None
    session.add(prefs)
    session.flush()
    answer = _move(session, user=user, task_id=task_id, version=version, status=status, text=text)
    # A refused move rolled the clearing back: the words were used either way.
    row = session.get(NotificationSettings, user.id)
    if row is not None and row.pending_action:
        row.pending_action = ""
        row.pending_task_id = None
        row.pending_version = None
        session.add(row)
    return answer


def _on_button(session: Session, callback: dict[str, Any]) -> BotReply | None:
    callback_id = callback.get("id")
    message = callback.get("message")
    data = callback.get("data")
    if callback_id is None or not isinstance(message, dict) or not isinstance(data, str):
        return None
    chat_id = _chat_id(message)
    if chat_id is None:
        return None
    found = preferences.user_for_chat(session, chat_id=chat_id)
    if found is None:
        return _answer(callback_id, UNLINKED)
    user, prefs = found
    parsed = parse_button(data)
    if parsed is None:
        return _answer(callback_id, "Tombol tidak dikenal.")
    task_id, version, status = parsed
    task = session.get(Task, task_id)
    if task is None:
        return _answer(callback_id, "Tugas tidak ditemukan.")
    needs_words = status == TaskStatus.blocked or (
        status == TaskStatus.review and not task_reads.has_evidence(session, task_id=task_id)
    )
    if needs_words:
        if task.version != version:
            return _answer(
                callback_id,
                "Tugas sudah berubah sejak pesan ini dikirim; tidak ada yang diubah. "
                + current_state(task),
            )
        prefs.pending_action = status.value
        prefs.pending_task_id = task_id
        prefs.pending_version = version
        session.add(prefs)
        return _answer(callback_id, ASK_REASON[status].format(code=task.code))
    return _answer(
        callback_id,
        _move(session, user=user, task_id=task_id, version=version, status=status, text=""),
    )
