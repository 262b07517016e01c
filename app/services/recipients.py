"""Who is told what: the one place that turns a task event into the people it concerns.

The table, read left to right ("an event of this kind → this notice → these people"):

| event                                        | notice       | told                               |
|----------------------------------------------|--------------|------------------------------------|
| created / imported with a lead unit          | assigned     | the lead unit's users              |
| assigned (lead unit changed)                 | assigned     | the NEW lead unit's users          |
| edited/created flagging "perlu keputusan"    | decision     | the team and the executives        |
| moved into Terkendala                        | blocked      | the team                           |
| moved into Menunggu Verifikasi               | review       | the team                           |
| rejected (sent back from verification)       | rejected     | the lead unit's users              |
| verified (Selesai)                           | verified     | the lead unit's users              |
| directive (arahan)                           | directive    | the lead unit's users and the team |
| follow_up (answers a directive)              | follow_up    | the directive's author             |
| decision (perlu keputusan settled)           | decided      | the team and the lead unit's users |
| comment                                      | comment      | the other side (unit ↔ team)       |
| escalated (a rung of the ladder)             | escalation   | ESCALATION_AUDIENCE[rung]          |

Nobody is told about their own action, and inactive accounts are told nothing. Progress
reports, evidence and cancellations tell nobody (they show on the board and in the digest).
"""

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlmodel import Session, col, select

from app.models import EventKind, NoticeKind, Role, Task, TaskEvent, TaskStatus, User


class Audience(StrEnum):
    lead_unit = "lead_unit"
    team = "team"
    executives = "executives"
    directive_author = "directive_author"
    # A comment goes to the side that did not write it: unit ↔ team.
    other_side = "other_side"


WHO_IS_TOLD: dict[NoticeKind, tuple[Audience, ...]] = {
    NoticeKind.assigned: (Audience.lead_unit,),
    NoticeKind.decision: (Audience.team, Audience.executives),
    NoticeKind.blocked: (Audience.team,),
    NoticeKind.review: (Audience.team,),
    NoticeKind.rejected: (Audience.lead_unit,),
    NoticeKind.verified: (Audience.lead_unit,),
    NoticeKind.directive: (Audience.lead_unit, Audience.team),
    NoticeKind.follow_up: (Audience.directive_author,),
    NoticeKind.decided: (Audience.team, Audience.lead_unit),
    NoticeKind.comment: (Audience.other_side,),
}

# The escalation ladder's rungs (app.services.escalation) and whom each one tells.
ESCALATION_AUDIENCE: dict[str, tuple[Audience, ...]] = {
    "blocked_team": (Audience.team,),
    "blocked_executive": (Audience.executives,),
    "directive_unit": (Audience.lead_unit,),
    "directive_author": (Audience.directive_author,),
    "review_team": (Audience.team,),
}

# Kinds added by the directive follow-up work (issue 13); compared by value.
FOLLOW_UP = "follow_up"
DECISION = "decision"


@dataclass(frozen=True)
class Told:
    user: User
    notice: NoticeKind


def _pair(changes: dict[str, Any], name: str) -> tuple[Any, Any] | None:
    value = changes.get(name)
    if isinstance(value, list) and len(value) == 2:
        return value[0], value[1]
    return None


def notices_for(event: TaskEvent) -> list[tuple[NoticeKind, tuple[Audience, ...]]]:
    """The notices an event gives rise to, each with its audiences (the table above)."""
    kind = str(event.kind)
    changes = event.changes or {}
    found: list[NoticeKind] = []
    if kind in (EventKind.created, EventKind.imported, EventKind.assigned, EventKind.edited):
        lead = _pair(changes, "lead_unit_id")
        if lead is not None and lead[1] is not None and lead[0] != lead[1]:
            found.append(NoticeKind.assigned)
        flag = _pair(changes, "needs_decision")
        if flag is not None and flag[1] is True and not flag[0]:
            found.append(NoticeKind.decision)
    if kind in (EventKind.moved, EventKind.imported) and event.from_status is not None:
        if event.to_status == TaskStatus.blocked:
            found.append(NoticeKind.blocked)
        elif event.to_status == TaskStatus.review:
            found.append(NoticeKind.review)
    simple = {
        EventKind.rejected.value: NoticeKind.rejected,
        EventKind.verified.value: NoticeKind.verified,
        EventKind.directive.value: NoticeKind.directive,
        EventKind.comment.value: NoticeKind.comment,
        FOLLOW_UP: NoticeKind.follow_up,
        DECISION: NoticeKind.decided,
    }
    if kind in simple:
        found.append(simple[kind])
    result = [(notice, WHO_IS_TOLD[notice]) for notice in found]
    if kind == EventKind.escalated:
        rung = _pair(changes, "escalation")
        if rung is not None and rung[1] in ESCALATION_AUDIENCE:
            result.append((NoticeKind.escalation, ESCALATION_AUDIENCE[rung[1]]))
    return result


def directive_author_id(session: Session, event: TaskEvent) -> int | None:
    """The executive who gave the directive this event answers or escalates."""
    directive_id: Any = None
    for name in ("directive_id", "escalation_directive_id"):
        pair = _pair(event.changes or {}, name)
        if pair is not None:
            directive_id = pair[1]
    if not isinstance(directive_id, int):
        return None
    return session.exec(
        select(TaskEvent.actor_id).where(
            TaskEvent.id == directive_id, TaskEvent.task_id == event.task_id
        )
    ).first()


def _users(session: Session, audience: Audience, *, task: Task, event: TaskEvent) -> list[User]:
    query = select(User).where(col(User.is_active))
    if audience == Audience.lead_unit:
        query = query.where(User.role == Role.unit, User.unit_id == task.lead_unit_id)
    elif audience == Audience.team:
        query = query.where(User.role == Role.team)
    elif audience == Audience.executives:
        query = query.where(User.role == Role.executive)
    elif audience == Audience.directive_author:
        author = directive_author_id(session, event)
        if author is None:
            return []
        query = query.where(User.id == author)
    else:  # other_side
        actor = session.get(User, event.actor_id) if event.actor_id is not None else None
        if actor is not None and actor.role == Role.unit:
            return _users(session, Audience.team, task=task, event=event)
        return _users(session, Audience.lead_unit, task=task, event=event)
    return list(session.exec(query.order_by(col(User.id))).all())


def who_is_told(session: Session, *, event: TaskEvent, task: Task) -> list[Told]:
    """Everyone the event concerns, once each (the first notice wins), never its actor."""
    told: dict[int, Told] = {}
    for notice, audiences in notices_for(event):
        for audience in audiences:
            for user in _users(session, audience, task=task, event=event):
                if user.pk == event.actor_id or user.pk in told:
                    continue
                told[user.pk] = Told(user=user, notice=notice)
    return list(told.values())


def notice_kinds_of(events: Iterable[TaskEvent]) -> set[NoticeKind]:
    """Every notice a batch of events gives rise to (for tests and the matrix)."""
    return {notice for event in events for notice, _ in notices_for(event)}
