"""The in-app inbox: what the outbox wrote for a user, read and marked as read by them only."""

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from app.db import core_reader, utcnow
from app.errors import NotFound
from app.models import Notification, Task, User

PAGE_SIZE = 50


# The bell shows "99+" past 99, so it counts no further: a user who never opens the inbox
# piles up unread entries, and every page they open would count them all.
BELL_CAP = 100


def _unread_of(user_id: Any) -> Any:
    """How many of the user's entries are unread, up to BELL_CAP (a scalar subquery)."""
    unread = (
        sa.select(sa.literal(1))
        .select_from(Notification)
        .where(col(Notification.user_id) == user_id, col(Notification.read_at).is_(None))
        .limit(BELL_CAP)
        .subquery()
    )
    return sa.select(sa.func.count()).select_from(unread).scalar_subquery()


@dataclass(frozen=True)
class BellState:
    unread: int  # up to BELL_CAP
    latest_id: int

    @property
    def etag(self) -> str:
        # Changes when something arrives (latest id) or is read (count).
        return f'"bell-{self.unread}-{self.latest_id}"'


# Built once and run on the connection (app.db.core_reader): the header's bell reads the
# count on every full page, and its poll both every 30 s from every open page; building the
# selects and going through the ORM cost more than the counts.
_UNREAD = sa.select(_unread_of(sa.bindparam("user_id")))
_BELL = sa.select(
    _unread_of(sa.bindparam("user_id")),
    sa.select(sa.func.coalesce(sa.func.max(Notification.id), 0))
    .where(col(Notification.user_id) == sa.bindparam("user_id"))
    .scalar_subquery(),
)


def bell_state(session: Session, *, user_id: int) -> BellState:
    """Unread count (up to BELL_CAP) and the newest entry's id, in one query."""
    unread, latest = core_reader(session).execute(_BELL, {"user_id": user_id}).one()
    return BellState(unread=int(unread), latest_id=int(latest))


def unread_count(session: Session, *, user_id: int) -> int:
    """The bell's count: the user's unread entries, up to BELL_CAP."""
    return int(core_reader(session).execute(_UNREAD, {"user_id": user_id}).scalar_one())


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
