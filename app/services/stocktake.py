""" "Sejak rapat terakhir" (since the last stocktake): what happened from a chosen date on, read
from the events — what was verified, what became blocked, whose due dates slipped, what was
added to or removed from the scope, which directives were answered and which are still open.

Three queries whatever the size (the events since the date with their tasks, the plan's
directives and their follow-ups); each list keeps its first ITEMS_MAX entries and its count.
"""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from app.models import EventKind, Plan, Task, TaskEvent, TaskStatus, Unit
from app.services.directives import DirectiveView, plan_directives
from app.services.plans import plan_calendar
from app.timefmt import format_day_date

ITEMS_MAX = 50
DEFAULT_DAYS = 7


@dataclass(frozen=True)
class Happened:
    task_id: int
    task_code: str
    task_title: str
    owner: str
    at: datetime
    detail: str = ""


@dataclass
class Listing:
    items: list[Happened] = field(default_factory=list)
    count: int = 0

    def add(self, item: Happened) -> None:
        self.count += 1
        if len(self.items) < ITEMS_MAX:
            self.items.append(item)


@dataclass(frozen=True)
class Stocktake:
    plan: Plan
    since: date
    today: date
    verified: Listing
    blocked: Listing
    slipped: Listing
    added: Listing
    removed: Listing
    answered: list[DirectiveView]
    still_open: list[DirectiveView]


def default_since(today: date) -> date:
    return today - timedelta(days=DEFAULT_DAYS)


def _slip(changes: object) -> tuple[date, date] | None:
    """(old, new) when an edit moved a due date later (or removed it)."""
    if not isinstance(changes, dict):
        return None
    pair = changes.get("due_date")
    if not (isinstance(pair, list) and len(pair) == 2 and pair[0]):
        return None
    old = date.fromisoformat(str(pair[0])[:10])
    new = date.fromisoformat(str(pair[1])[:10]) if pair[1] else None
    if new is None or new > old:
        return old, new or old
    return None


def stocktake(
    session: Session, *, plan: Plan, since: date | None = None, now: datetime | None = None
) -> Stocktake:
    """Everything that changed from the start of `since` (plan-local; default seven days ago)
    to now. A date after today is read as today."""
    calendar = plan_calendar(session, plan)
    today = calendar.today(now)
    since = min(since or default_since(today), today)
    start = datetime.combine(since, time(0), tzinfo=calendar.tz).astimezone(UTC)
    owner = aliased(Unit)
    rows = session.exec(
        select(TaskEvent, Task.code, Task.title, owner.short_name)
        .join(Task, col(Task.id) == TaskEvent.task_id)
        .join(owner, col(owner.id) == Task.lead_unit_id)
        .where(TaskEvent.plan_id == plan.id, TaskEvent.at >= start)
        .order_by(col(TaskEvent.at), col(TaskEvent.id))
    ).all()
    verified, blocked, slipped, added, removed = (Listing() for _ in range(5))
    for event, code, title, unit in rows:

        def item(detail: str = "") -> Happened:
            return Happened(event.task_id, code, title, unit, event.at, detail)  # noqa: B023

        if event.to_status == TaskStatus.done:
            verified.add(item())
        elif event.to_status == TaskStatus.blocked:
            reason = event.changes.get("blocked_reason") if event.changes else None
            detail = reason[1] if isinstance(reason, list) and len(reason) == 2 else event.note
            blocked.add(item(str(detail or "")))
        if event.kind == EventKind.created or (
            event.kind == EventKind.imported
            and event.from_status is None
            and event.to_status is not None
        ):
            added.add(item())
        elif event.to_status == TaskStatus.cancelled:
            removed.add(item(event.note))
        elif event.from_status == TaskStatus.cancelled and event.to_status is not None:
            added.add(item("dipulihkan"))
        slip = _slip(event.changes) if event.kind != EventKind.created else None
        if slip is not None:
            old, new = slip
            slipped.add(item(f"{format_day_date(old)} → {format_day_date(new)}"))
    directives = plan_directives(session, plan=plan, calendar=calendar, today=today)
    answered = [
        d for d in directives.answered if d.follow_up is not None and d.follow_up.at >= start
    ]
    return Stocktake(
        plan=plan,
        since=since,
        today=today,
        verified=verified,
        blocked=blocked,
        slipped=slipped,
        added=added,
        removed=removed,
        answered=answered,
        still_open=directives.open,
    )
