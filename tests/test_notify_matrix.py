"""Who is told what (app.services.recipients): every event kind × every role, the own unit and
another unit, never the actor. Events come from the real services where they exist; kinds
another module writes (follow_up, decision, escalated) are built as the events those write."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlmodel import Session, col, select

from app.models import (
    EventKind,
    NoticeKind,
    Notification,
    ProgressUpdate,
    Role,
    Task,
    TaskEvent,
    TaskStatus,
    TaskUpdate,
    User,
)
from app.services import accounts, tasks
from app.services.recipients import who_is_told
from tests.factories import REVIEW_NOTE, World, make_task, make_user
from tests.helpers import move


@dataclass
class People:
    world: World
    team2: User
    putr_staff: User
    wakil: User
    retired: User

    def name(self, user_id: int) -> str:
        for user in (
            self.world.team,
            self.team2,
            self.world.putr_head,
            self.putr_staff,
            self.world.dinkes_head,
            self.world.executive,
            self.wakil,
            self.retired,
        ):
            if user.id == user_id:
                return user.username
        raise AssertionError(user_id)


@pytest.fixture
def people(session: Session, world: World) -> People:
    retired = make_user(session, username="mantan.putr", role=Role.unit, unit=world.putr)
    accounts.update_user(
        session,
        actor=world.team,
        user_id=retired.pk,
        full_name=retired.full_name,
        role=Role.unit,
        unit_id=world.putr.id,
        is_active=False,
        new_password="",
    )
    return People(
        world=world,
        team2=make_user(session, username="tim.dua", role=Role.team),
        putr_staff=make_user(session, username="operator.putr", role=Role.unit, unit=world.putr),
        wakil=make_user(session, username="wakil.bupati", role=Role.executive),
        retired=retired,
    )


TEAM = {"tim.transisi", "tim.dua"}
PUTR = {"kadis.putr", "operator.putr"}
EXECUTIVES = {"bupati", "wakil.bupati"}


def told_since(session: Session, people: People, mark: int) -> dict[str, NoticeKind]:
    rows = session.exec(
        select(Notification).where(col(Notification.id) > mark).order_by(col(Notification.id))
    ).all()
    return {people.name(n.user_id): NoticeKind(n.kind) for n in rows}


def last_id(session: Session) -> int:
    ids = session.exec(select(Notification.id).order_by(col(Notification.id).desc())).first()
    return ids or 0


def _task(session: Session, people: People, status: TaskStatus = TaskStatus.todo) -> Task:
    w = people.world
    return make_task(session, actor=w.team, plan=w.plan, lead=w.putr, status=status)


Action = Callable[[Session, People, Task], object]

# (name, starting status, action, expected {username: notice})
CASES: list[tuple[str, TaskStatus, Action, dict[str, NoticeKind]]] = [
    (
        "unit blocks its task → team",
        TaskStatus.in_progress,
        lambda s, p, t: move(s, p.world.putr_head, t, TaskStatus.blocked, blocked_reason="Lahan"),
        dict.fromkeys(TEAM, NoticeKind.blocked),
    ),
    (
        "team blocks a task → the other team members",
        TaskStatus.in_progress,
        lambda s, p, t: move(s, p.world.team, t, TaskStatus.blocked, blocked_reason="Lahan"),
        {"tim.dua": NoticeKind.blocked},
    ),
    (
        "unit sends to verification → team",
        TaskStatus.in_progress,
        lambda s, p, t: move(s, p.world.putr_head, t, TaskStatus.review, note=REVIEW_NOTE),
        dict.fromkeys(TEAM, NoticeKind.review),
    ),
    (
        "team rejects → lead unit",
        TaskStatus.review,
        lambda s, p, t: tasks.reject_task(
            s, actor=p.world.team, task_id=t.pk, version=t.version, note="Foto belum ada"
        ),
        dict.fromkeys(PUTR, NoticeKind.rejected),
    ),
    (
        "team verifies → lead unit",
        TaskStatus.review,
        lambda s, p, t: tasks.verify_task(s, actor=p.world.team, task_id=t.pk, version=t.version),
        dict.fromkeys(PUTR, NoticeKind.verified),
    ),
    (
        "executive directive → lead unit and team",
        TaskStatus.in_progress,
        lambda s, p, t: tasks.add_directive(
            s, actor=p.world.executive, task_id=t.pk, note="Percepat"
        ),
        {**dict.fromkeys(PUTR, NoticeKind.directive), **dict.fromkeys(TEAM, NoticeKind.directive)},
    ),
    (
        "unit comment → team",
        TaskStatus.in_progress,
        lambda s, p, t: tasks.add_comment(s, actor=p.putr_staff, task_id=t.pk, note="Sudah"),
        dict.fromkeys(TEAM, NoticeKind.comment),
    ),
    (
        "team comment → lead unit",
        TaskStatus.in_progress,
        lambda s, p, t: tasks.add_comment(s, actor=p.team2, task_id=t.pk, note="Mohon foto"),
        dict.fromkeys(PUTR, NoticeKind.comment),
    ),
    (
        "re-assigned → the new unit only",
        TaskStatus.in_progress,
        lambda s, p, t: tasks.update_task(
            s,
            actor=p.world.team,
            task_id=t.pk,
            data=TaskUpdate(version=t.version, lead_unit_id=p.world.dinkes.id),
        ),
        {"kadis.dinkes": NoticeKind.assigned},
    ),
    (
        "flagged perlu keputusan → team and executives",
        TaskStatus.in_progress,
        lambda s, p, t: tasks.update_task(
            s,
            actor=p.world.team,
            task_id=t.pk,
            data=TaskUpdate(version=t.version, needs_decision=True),
        ),
        {"tim.dua": NoticeKind.decision, **dict.fromkeys(EXECUTIVES, NoticeKind.decision)},
    ),
    (
        "progress tells nobody",
        TaskStatus.in_progress,
        lambda s, p, t: tasks.update_progress(
            s,
            actor=p.world.putr_head,
            task_id=t.pk,
            data=ProgressUpdate(version=t.version, progress_pct=40),
        ),
        {},
    ),
    (
        "cancellation tells nobody",
        TaskStatus.in_progress,
        lambda s, p, t: tasks.cancel_task(
            s, actor=p.world.team, task_id=t.pk, version=t.version, note="Digabung"
        ),
        {},
    ),
]


@pytest.mark.parametrize(
    ("start", "action", "expected"),
    [(c[1], c[2], c[3]) for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_who_is_told(
    session: Session,
    people: People,
    start: TaskStatus,
    action: Action,
    expected: dict[str, NoticeKind],
) -> None:
    task = _task(session, people, start)
    mark = last_id(session)
    action(session, people, task)
    told = told_since(session, people, mark)
    assert told == expected
    # Never the inactive account, and every entry names the task and the event.
    assert "mantan.putr" not in told
    for row in session.exec(select(Notification).where(col(Notification.id) > mark)).all():
        assert row.task_id == task.id
        assert row.event_id is not None
        assert task.code in row.text


def test_a_new_task_tells_its_unit(session: Session, people: People) -> None:
    mark = last_id(session)
    w = people.world
    make_task(session, actor=w.team, plan=w.plan, lead=w.putr, needs_decision=True)
    assert told_since(session, people, mark) == {
        **dict.fromkeys(PUTR, NoticeKind.assigned),
        "tim.dua": NoticeKind.decision,
        **dict.fromkeys(EXECUTIVES, NoticeKind.decision),
    }


def _event(
    task: Task, actor: User | None, kind: EventKind, **changes: tuple[Any, Any]
) -> TaskEvent:
    return TaskEvent(
        plan_id=task.plan_id,
        task_id=task.pk,
        actor_id=actor.id if actor else None,
        kind=kind,
        changes={k: list(v) for k, v in changes.items()},
        note="Sudah ditindaklanjuti",
    )


def _told(session: Session, people: People, event: TaskEvent, task: Task) -> dict[str, str]:
    return {
        people.name(t.user.id or 0): t.notice.value
        for t in who_is_told(session, event=event, task=task)
    }


def test_a_follow_up_tells_the_directive_author_only(session: Session, people: People) -> None:
    w = people.world
    task = _task(session, people, TaskStatus.in_progress)
    tasks.add_directive(session, actor=people.wakil, task_id=task.pk, note="Segera")
    directive = session.exec(select(TaskEvent).where(TaskEvent.kind == EventKind.directive)).one()
    answer = _event(task, w.putr_head, EventKind.follow_up, directive_id=(None, directive.id))
    assert _told(session, people, answer, task) == {"wakil.bupati": "follow_up"}
    # The author answering (e.g. the team recording it) is not told about their own act.
    own = _event(task, people.wakil, EventKind.follow_up, directive_id=(None, directive.id))
    assert _told(session, people, own, task) == {}


def test_a_decision_tells_the_team_and_the_lead_unit(session: Session, people: People) -> None:
    task = _task(session, people, TaskStatus.in_progress)
    decision = _event(
        task, people.world.executive, EventKind.decision, needs_decision=(True, False)
    )
    assert _told(session, people, decision, task) == {
        **dict.fromkeys(TEAM, "decided"),
        **dict.fromkeys(PUTR, "decided"),
    }


@pytest.mark.parametrize(
    ("rung", "expected"),
    [
        ("blocked_team", TEAM),
        ("blocked_executive", EXECUTIVES),
        ("review_team", TEAM),
        ("directive_unit", PUTR),
        ("directive_author", {"wakil.bupati"}),
    ],
)
def test_each_escalation_rung_tells_its_audience(
    session: Session, people: People, rung: str, expected: set[str]
) -> None:
    task = _task(session, people, TaskStatus.in_progress)
    tasks.add_directive(session, actor=people.wakil, task_id=task.pk, note="Segera")
    directive = session.exec(select(TaskEvent).where(TaskEvent.kind == EventKind.directive)).one()
    event = _event(
        task,
        None,
        EventKind.escalated,
        escalation=(None, rung),
        escalation_directive_id=(None, directive.id),
    )
    assert _told(session, people, event, task) == dict.fromkeys(expected, "escalation")


def test_another_units_user_is_never_told_about_putr(session: Session, people: People) -> None:
    """Every kind above on a PUTR task: DINKES hears of none of it (except a hand-over)."""
    task = _task(session, people, TaskStatus.in_progress)
    mark = last_id(session)
    w = people.world
    move(session, w.putr_head, task, TaskStatus.blocked, blocked_reason="Hujan")
    task = move(session, w.putr_head, session.get_one(Task, task.pk), TaskStatus.review, note="x")
    tasks.reject_task(session, actor=w.team, task_id=task.pk, version=task.version, note="Ulang")
    tasks.add_directive(session, actor=w.executive, task_id=task.pk, note="Segera")
    tasks.add_comment(session, actor=w.team, task_id=task.pk, note="Catatan")
    rows = session.exec(select(Notification).where(col(Notification.id) > mark)).all()
    assert rows
    assert w.dinkes_head.id not in {n.user_id for n in rows}
