"""The role × action × unit matrix of DESIGN §1, enforced by the services.

`unit-own` is the head of the unit leading the task, `unit-other` the head of another unit.
An allowed action must succeed and write its event; a forbidden one must raise Forbidden and
change nothing. The `can_*` helpers that templates use must agree with the services.
"""

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from app import permissions
from app.errors import Forbidden
from app.models import (
    BOARD_STATUSES,
    EventKind,
    ProgressUpdate,
    Role,
    Task,
    TaskCreate,
    TaskStatus,
    TaskUpdate,
    User,
)
from app.services import evidence as evidence_service
from app.services import task_reads, tasks
from tests.factories import World
from tests.helpers import assert_refused, events_of, move, new_task

MATRIX = """
action              team   unit-own  unit-other  executive
create              yes    no        no          no
update              yes    no        no          no
move:todo           yes    yes       no          no
move:in_progress    yes    yes       no          no
move:blocked        yes    yes       no          no
move:review         yes    yes       no          no
move:done           yes    no        no          no
progress            yes    yes       no          no
comment             yes    yes       no          no
directive           yes    no        no          yes
verify              yes    no        no          no
reject              yes    no        no          no
cancel              yes    no        no          no
restore             yes    no        no          no
evidence:attach     yes    yes       no          no
evidence:remove     yes    yes       no          no
"""

ROLES = {
    "team": "team",
    "unit-own": "putr_head",
    "unit-other": "dinkes_head",
    "executive": "executive",
}

Operation = Callable[[Session, World, User, Task], object]


@dataclass(frozen=True)
class Action:
    # The status the task is in before the action (moves start from a neighbouring column).
    start: TaskStatus
    run: Operation
    event: EventKind
    # Done before the action, outside what a refusal must leave unchanged.
    prepare: Callable[[Session, World, Task], object] | None = None


ACTIONS: dict[str, Action] = {
    "create": Action(
        TaskStatus.todo,
        lambda s, w, a, t: tasks.create_task(
            s,
            actor=a,
            plan_id=w.plan.pk,
            data=TaskCreate(title="Pasar murah bulanan", lead_unit_id=w.putr.pk),
        ),
        EventKind.created,
    ),
    "update": Action(
        TaskStatus.todo,
        lambda s, w, a, t: tasks.update_task(
            s, actor=a, task_id=t.pk, data=TaskUpdate(version=t.version, target="12 desa")
        ),
        EventKind.edited,
    ),
    "move:todo": Action(
        TaskStatus.in_progress,
        lambda s, w, a, t: move(s, a, t, TaskStatus.todo),
        EventKind.moved,
    ),
    "move:in_progress": Action(
        TaskStatus.todo,
        lambda s, w, a, t: move(s, a, t, TaskStatus.in_progress),
        EventKind.moved,
    ),
    "move:blocked": Action(
        TaskStatus.in_progress,
        lambda s, w, a, t: move(s, a, t, TaskStatus.blocked, blocked_reason="Lahan belum bebas"),
        EventKind.moved,
    ),
    "move:review": Action(
        TaskStatus.in_progress,
        lambda s, w, a, t: move(s, a, t, TaskStatus.review, note="Bukti dikirim lewat surat."),
        EventKind.moved,
    ),
    "move:done": Action(
        TaskStatus.review,
        lambda s, w, a, t: move(s, a, t, TaskStatus.done),
        EventKind.verified,
    ),
    "progress": Action(
        TaskStatus.in_progress,
        lambda s, w, a, t: tasks.update_progress(
            s, actor=a, task_id=t.pk, data=ProgressUpdate(version=t.version, progress_pct=40)
        ),
        EventKind.progress,
    ),
    "comment": Action(
        TaskStatus.in_progress,
        lambda s, w, a, t: tasks.add_comment(s, actor=a, task_id=t.pk, note="Tindak lanjut"),
        EventKind.comment,
    ),
    "directive": Action(
        TaskStatus.in_progress,
        lambda s, w, a, t: tasks.add_directive(s, actor=a, task_id=t.pk, note="Percepat"),
        EventKind.directive,
    ),
    "verify": Action(
        TaskStatus.review,
        lambda s, w, a, t: tasks.verify_task(s, actor=a, task_id=t.pk, version=t.version),
        EventKind.verified,
    ),
    "reject": Action(
        TaskStatus.review,
        lambda s, w, a, t: tasks.reject_task(
            s, actor=a, task_id=t.pk, version=t.version, note="Bukti kurang"
        ),
        EventKind.rejected,
    ),
    "cancel": Action(
        TaskStatus.in_progress,
        lambda s, w, a, t: tasks.cancel_task(
            s, actor=a, task_id=t.pk, version=t.version, note="Digabung"
        ),
        EventKind.cancelled,
    ),
    "restore": Action(
        TaskStatus.cancelled,
        lambda s, w, a, t: tasks.restore_task(s, actor=a, task_id=t.pk, version=t.version),
        EventKind.moved,
    ),
    "evidence:attach": Action(
        TaskStatus.in_progress,
        lambda s, w, a, t: _attached(s, a, t),
        EventKind.evidence,
    ),
    # Evidence the lead unit attached, removed by the actor.
    "evidence:remove": Action(
        TaskStatus.in_progress,
        lambda s, w, a, t: _removed(s, a, t),
        EventKind.evidence,
        prepare=lambda s, w, t: _attached(s, w.putr_head, t),
    ),
}


def _attached(session: Session, actor: User, task: Task) -> Task:
    evidence_service.add_link(
        session, actor=actor, task_id=task.pk, url="https://a.example/f", caption="Foto"
    )
    return task_reads.get_task(session, task_id=task.pk)


def _removed(session: Session, actor: User, task: Task) -> Task:
    [view] = evidence_service.list_evidence(session, task=task)
    evidence_service.remove_evidence(
        session, actor=actor, task_id=task.pk, evidence_id=view.evidence.id or 0
    )
    return task_reads.get_task(session, task_id=task.pk)


def _cases() -> list[object]:
    lines = [line.split() for line in MATRIX.strip().splitlines()]
    header, rows = lines[0][1:], lines[1:]
    assert {row[0] for row in rows} == set(ACTIONS), "the table and ACTIONS must match"
    return [
        pytest.param(row[0], role, answer == "yes", id=f"{row[0]}-{role}-{answer}")
        for row in rows
        for role, answer in zip(header, row[1:], strict=True)
    ]


@pytest.mark.parametrize(("action", "role", "allowed"), _cases())
def test_matrix(
    session: Session, engine: Engine, world: World, action: str, role: str, allowed: bool
) -> None:
    spec = ACTIONS[action]
    actor: User = getattr(world, ROLES[role])
    start = TaskStatus.in_progress if spec.start == TaskStatus.cancelled else spec.start
    task = new_task(session, world, status=start)
    if spec.start == TaskStatus.cancelled:
        tasks.cancel_task(
            session, actor=world.team, task_id=task.pk, version=task.version, note="x"
        )
    if spec.prepare is not None:
        spec.prepare(session, world, task)

    if not allowed:
        error = assert_refused(
            session, engine, lambda: spec.run(session, world, actor, task), Forbidden
        )
        assert error.message  # an official must be told why
        return
    result = spec.run(session, world, actor, task)
    assert isinstance(result, Task)
    last = events_of(session, result.pk)[-1]
    assert (last.kind, last.actor_id) == (spec.event, actor.id)


# --- the helpers templates use agree with the services ---------------------------------


def _task(world: World, status: TaskStatus) -> Task:
    return Task(
        plan_id=world.plan.pk,
        code="T-900",
        title="x",
        lead_unit_id=world.putr.pk,
        status=status,
    )


def _expected_targets(role: str, status: TaskStatus) -> list[TaskStatus]:
    unit_columns = {TaskStatus.todo, TaskStatus.in_progress, TaskStatus.blocked, TaskStatus.review}
    others = [s for s in BOARD_STATUSES if s != status]
    if role == "team":
        return others
    if role == "unit-own" and status in unit_columns:
        return [s for s in others if s in unit_columns]
    return []


@pytest.mark.parametrize("status", BOARD_STATUSES, ids=[s.value for s in BOARD_STATUSES])
@pytest.mark.parametrize("role", list(ROLES))
def test_move_targets_offer_exactly_the_allowed_columns(
    world: World, role: str, status: TaskStatus
) -> None:
    user: User = getattr(world, ROLES[role])

    assert permissions.move_targets(user, _task(world, status)) == _expected_targets(role, status)


@pytest.mark.parametrize(
    ("role", "edit", "work_on", "direct"),
    [
        ("team", True, True, True),
        ("unit-own", False, True, False),
        ("unit-other", False, False, False),
        ("executive", False, False, True),
    ],
)
def test_can_helpers(world: World, role: str, edit: bool, work_on: bool, direct: bool) -> None:
    user: User = getattr(world, ROLES[role])
    task = _task(world, TaskStatus.in_progress)

    assert permissions.can_edit(user) is edit
    assert permissions.can_work_on(user, task) is work_on
    assert permissions.can_direct(user) is direct


@pytest.mark.parametrize("status", list(TaskStatus), ids=[s.value for s in TaskStatus])
@pytest.mark.parametrize("role", list(ROLES))
def test_evidence_helpers(world: World, role: str, status: TaskStatus) -> None:
    """Attach: the team (not on a cancelled task) and the lead unit while the task is open.
    Remove: the team, and the uploader's unit while the task is open."""
    user: User = getattr(world, ROLES[role])
    task = _task(world, status)
    open_task = status not in (TaskStatus.done, TaskStatus.cancelled)
    attach = (role == "team" and status != TaskStatus.cancelled) or (
        role == "unit-own" and open_task
    )

    assert permissions.can_attach_evidence(user, task) is attach
    assert permissions.can_remove_evidence(user, task, uploader_unit_id=world.putr.id) is (
        role == "team" or (role == "unit-own" and open_task)
    )
    # Another unit's upload on this unit's task: only the team removes it.
    assert permissions.can_remove_evidence(user, task, uploader_unit_id=world.dinkes.id) is (
        role == "team" or (role == "unit-other" and open_task)
    )


def test_a_unit_user_without_a_unit_leads_nothing(world: World) -> None:
    # Defensive: a unit account whose unit link is missing must not match a task whose
    # lead is also missing.
    orphan = User(username="x", full_name="x", role=Role.unit, unit_id=None, password_hash="")
    task = _task(world, TaskStatus.todo)
    task.lead_unit_id = None  # type: ignore[assignment]  # the broken row under test

    assert not permissions.leads(orphan, task)
    assert not permissions.can_work_on(orphan, task)
