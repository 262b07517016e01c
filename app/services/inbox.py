"""The in-app inbox: what the outbox wrote for a user, read and marked as read by them only."""

from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import Session, col, select

from app.db import utcnow
from app.errors import NotFound
from app.models import Notification, Task, User

PAGE_SIZE = 50


@dataclass(frozen=True)
class BellState:
    unread: int
    latest_id: int

    @property
    def etag(self) -> str:
        # Changes when something arrives (latest id) or is read (count).
        return f'"bell-{self.unread}-{self.latest_id}"'


def bell_state(session: Session, *, user_id: int) -> BellState:
    """Unread count and the newest entry's id, in one query."""
    unread, latest = session.exec(
        select(
            sa.func.count(sa.case((col(Notification.read_at).is_(None), 1))),
            sa.func.coalesce(sa.func.max(Notification.id), 0),
        ).where(Notification.user_id == user_id)
    ).one()
    return BellState(unread=int(unread or 0), latest_id=int(latest or 0))


def unread_count(session: Session, *, user_id: int) -> int:
    return int(
        session.exec(
            select(sa.func.count()).where(
                Notification.user_id == user_id, col(Notification.read_at).is_(None)
            )
        ).one()
    )


@dataclass(frozen=True)
class InboxEntry:
    notification: Notification
    task_code: str | None

    @property
    def is_unread(self) -> bool:
        return self.notification.read_at is None


def list_inbox(
    session: Session, *, actor: User, unread_only: bool = False, limit: int = PAGE_SIZE
) -> list[InboxEntry]:
    """The actor's own entries, newest first."""
    query = (
        select(Notification, Task.code)
        .join(Task, col(Task.id) == Notification.task_id, isouter=True)
        .where(Notification.user_id == actor.id)
    )
    if unread_only:
        query = query.where(col(Notification.read_at).is_(None))
    rows = session.exec(query.order_by(col(Notification.id).desc()).limit(limit)).all()
    return [InboxEntry(notification=n, task_code=code) for n, code in rows]


def mark_read(session: Session, *, actor: User, notification_id: int) -> Notification:
    """Mark one of the actor's own entries read (someone else's is not found)."""
    notification = session.get(Notification, notification_id)
    if notification is None or notification.user_id != actor.id:
        raise NotFound("Pemberitahuan tidak ditemukan.")
    if notification.read_at is None:
        notification.read_at = utcnow()
        session.add(notification)
        session.commit()
    return notification


def mark_all_read(session: Session, *, actor: User) -> int:
    """Mark every unread entry of the actor read; returns how many."""
    result = session.execute(
        sa.update(Notification)
        .where(col(Notification.user_id) == actor.id, col(Notification.read_at).is_(None))
        .values(read_at=utcnow())
    )
    session.commit()
    # An UPDATE answers a CursorResult (SQLModel's Session.execute is typed as a plain Result).
    assert isinstance(result, sa.CursorResult)
    return int(result.rowcount or 0)
