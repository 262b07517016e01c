"""The task history: the two ends of every write (load the task for writing, record its
event) and the replay that turns a task's events back into its state.

`record_event` is the one place a live change inserts a `task_event` row, and the one hook
where a change fans out: every function registered with `listen` runs for each recorded event,
inside the writer's transaction (see `EventListener`). `insert_seeded_history` inserts a
made-up past (the demo plan) in bulk and calls no listener: nothing happens live there.
"""

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session

from app.errors import Conflict
from app.models import EventKind, Plan, Task, TaskEvent, TaskStatus, User
from app.services.change_seq import touch
from app.services.plans import lock_plan_for_writes
from app.services.task_reads import get_task, last_event, task_public
from app.timefmt import format_wib_time


class EventListener(Protocol):
    """Reacts to one recorded event (notifications fan out from here).

    Called by `record_event` after the event row is flushed (it has its id) and after the
    task holds its new state, inside the writer's open transaction: whatever the listener
    adds to `session` commits with the change, and an exception it raises rolls the whole
    change back (the writer's caller sees the error). It must not commit or roll back.
    """

    def __call__(self, session: Session, *, event: TaskEvent, task: Task) -> object: ...


_listeners: list[EventListener] = []
# session.info key: events recorded inside `batch`, announced when it ends.
_BATCH = "seratus.history.batch"


def listen(listener: EventListener) -> EventListener:
    """Register `listener` for every event recorded from now on (usable as a decorator)."""
    if listener not in _listeners:
        _listeners.append(listener)
    return listener


def unlisten(listener: EventListener) -> None:
    """Stop calling `listener` (no error when it was not registered)."""
    if listener in _listeners:
        _listeners.remove(listener)


# --- writing ---------------------------------------------------------------------------


def load_for_write(session: Session, *, task_id: int) -> Task:
    """The task, under its plan's write lock (NotFound when unknown), freshly read on
    PostgreSQL so the version check sees any change committed before the lock."""
    task = get_task(session, task_id=task_id)
    lock_plan_for_writes(session, task.plan_id)
    if session.get_bind().dialect.name == "postgresql":
        session.refresh(task)
    return task


def ensure_version(session: Session, task: Task, version: int) -> None:
    """Refuse (Conflict, with the current task) a change made against an older version."""
    if task.version == version:
        return
    last = last_event(session, task_id=task.pk)
    who = "pengguna lain"
    when = ""
    if last is not None:
        who = last.actor_name or who
        when = f" pada {format_wib_time(last.event.at)}"
    raise Conflict(
        f"Tugas {task.code} telah diubah oleh {who}{when}. Berikut keadaan terkininya; "
        "periksa lalu ulangi perubahan Anda.",
        current=task_public(session, task),
    )


def record_event(
    session: Session,
    task: Task,
    *,
    actor: User,
    kind: EventKind,
    changes: Mapping[str, Any] | None = None,
    note: str = "",
    from_status: TaskStatus | None = None,
    to_status: TaskStatus | None = None,
    bump_version: bool = True,
) -> TaskEvent:
    """Append the task's event for a change already applied to `task`, bump its version
    (not for a creation) and run the listeners; the caller commits.

    Call it last, once the task holds its new state: the listeners read it.
    """
    if bump_version:
        task.version += 1
    event = TaskEvent(
        plan_id=task.plan_id,
        task_id=task.pk,
        actor_id=actor.id,
        kind=kind,
        from_status=from_status,
        to_status=to_status,
        changes=dict(changes or {}),
        note=note,
    )
    task.updated_at = event.at
    if to_status == TaskStatus.review:
        # Without autoflush: the task's row is written once, below, with all of its change.
        with session.no_autoflush:
            plan = session.get(Plan, task.plan_id)
        zone = ZoneInfo(plan.timezone if plan is not None else "Asia/Jakarta")
        task.review_since_date = event.at.astimezone(zone).date()
    touch(session, task)
    session.add(task)
    session.add(event)
    pending = session.info.get(_BATCH)
    if pending is not None:
        pending.append((event, task))
    else:
        _announce(session, [(event, task)])
    return event


def record_system_event(
    session: Session,
    task: Task,
    *,
    kind: EventKind,
    changes: Mapping[str, Any],
    note: str,
    at: datetime,
) -> TaskEvent:
    """Append an event nobody caused (an escalation rung fired by the worker): no actor, and
    the task is left as it is (no version bump, so nobody's open form goes stale). The
    listeners run as for any event; the caller commits."""
    event = TaskEvent(
        plan_id=task.plan_id,
        task_id=task.pk,
        actor_id=None,
        at=at,
        kind=kind,
        changes=dict(changes),
        note=note,
    )
    session.add(event)
    pending = session.info.get(_BATCH)
    if pending is not None:
        pending.append((event, task))
    else:
        _announce(session, [(event, task)])
    return event


@contextmanager
def batch(session: Session) -> Iterator[None]:
    """Record many events with one flush (an import): the listeners run for each of them
    when the block ends, still inside the transaction."""
    if _BATCH in session.info:  # already batching: the outer block announces
        yield
        return
    pending: list[tuple[TaskEvent, Task]] = []
    session.info[_BATCH] = pending
    try:
        yield
    finally:
        del session.info[_BATCH]
    _announce(session, pending)


def _announce(session: Session, recorded: list[tuple[TaskEvent, Task]]) -> None:
    session.flush()
    for event, task in recorded:
        for listener in list(_listeners):
            listener(session, event=event, task=task)


def insert_seeded_history(session: Session, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert a made-up past in bulk (TaskEvent columns as mappings, oldest first). For seed
    data only: no listener runs, since none of it happens now."""
    if rows:
        session.execute(sa.insert(TaskEvent), list(rows))


def jsonable(value: Any) -> Any:
    """A field's value as an event's `changes` store it: ISO dates, sorted id lists."""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list):
        return sorted(value)
    return value


# --- replaying -------------------------------------------------------------------------


def initial_state() -> dict[str, Any]:
    """The replayable fields of a task before its first event."""
    return {
        "status": TaskStatus.todo,
        "progress_pct": 0,
        "realisation": "",
        "blocked_reason": "",
        "needs_decision": False,
        "done_at": None,
        "version": 1,
    }


def is_creation(event: Mapping[str, Any]) -> bool:
    """The event that brought the task into being: `created`, or an import that created it
    (an `imported` event entering a status without leaving one)."""
    kind = event["kind"]
    return kind == EventKind.created or (
        kind == EventKind.imported
        and event["from_status"] is None
        and event["to_status"] is not None
    )


def apply_event(state: dict[str, Any], event: Mapping[str, Any]) -> None:
    """Replay one event (a TaskEvent row as a mapping) onto `state`, by the rules the write
    path follows: every event but a creation and a system event (an escalation) bumps the
    version; entering Selesai sets `done_at` to the event's time, any other status clears it."""
    if not is_creation(event) and event["kind"] != EventKind.escalated:
        state["version"] += 1
    for name, (_old, new) in event["changes"].items():
        if name in state and name != "status":
            state[name] = new
    to_status = event["to_status"]
    if to_status is not None:
        state["status"] = TaskStatus(to_status)
        state["done_at"] = event["at"] if to_status == TaskStatus.done else None


def replay(events: Iterable[TaskEvent]) -> dict[str, Any]:
    """The replayable state of a task after its events (oldest first)."""
    state = initial_state()
    for event in events:
        apply_event(state, event.model_dump())
    return state
