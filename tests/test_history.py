"""The event stream's hook point: every recorded event reaches the listeners once, inside
the writer's transaction, with the task in its new state; a failing listener undoes the
change. And only the history module writes `task_event` rows."""

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import Session, col, func, select

from app.errors import RuleViolation
from app.models import EventKind, Task, TaskEvent, TaskMove, TaskStatus
from app.services import evidence, history, tasks
from tests.factories import REVIEW_NOTE, World, make_task

APP = Path(__file__).resolve().parent.parent / "app"


@pytest.fixture
def heard() -> Iterator[list[tuple[int | None, EventKind, str, int, bool]]]:
    """What a listener saw: event id, kind, the task's status and version, in a transaction."""
    seen: list[tuple[int | None, EventKind, str, int, bool]] = []

    def listener(session: Session, *, event: TaskEvent, task: Task) -> None:
        seen.append(
            (event.id, EventKind(event.kind), task.status, task.version, session.in_transaction())
        )

    history.listen(listener)
    yield seen
    history.unlisten(listener)


def _events(session: Session) -> int:
    return session.exec(select(func.count()).select_from(TaskEvent)).one()


def test_every_writer_reaches_the_listeners_once_per_event(
    session: Session, world: World, heard: list[tuple[int | None, EventKind, str, int, bool]]
) -> None:
    task = make_task(session, actor=world.team, plan=world.plan, lead=world.putr)
    task = tasks.move_task(
        session,
        actor=world.putr_head,
        task_id=task.pk,
        move=TaskMove(version=task.version, status=TaskStatus.in_progress),
    )
    evidence.add_link(
        session,
        actor=world.putr_head,
        task_id=task.pk,
        url="https://banyuasin.example/foto",
        caption="Foto lokasi",
    )
    session.refresh(task)
    tasks.move_task(
        session,
        actor=world.putr_head,
        task_id=task.pk,
        move=TaskMove(version=task.version, status=TaskStatus.review, note=REVIEW_NOTE),
    )
    ids = session.exec(select(TaskEvent.id).order_by(col(TaskEvent.id))).all()
    assert [h[0] for h in heard] == list(ids)
    assert [(h[1], h[2], h[3]) for h in heard] == [
        (EventKind.created, TaskStatus.todo, 1),
        # The listener sees the task as the change left it: new status, new version.
        (EventKind.moved, TaskStatus.in_progress, 2),
        (EventKind.evidence, TaskStatus.in_progress, 3),
        (EventKind.moved, TaskStatus.review, 4),
    ]
    assert all(h[4] for h in heard)


def test_a_failing_listener_undoes_the_change(session: Session, world: World) -> None:
    task = make_task(session, actor=world.team, plan=world.plan, lead=world.putr)
    before = _events(session)

    def refuse(session: Session, *, event: TaskEvent, task: Task) -> None:
        raise RuleViolation("Pemberitahuan gagal.")

    history.listen(refuse)
    try:
        with pytest.raises(RuleViolation):
            tasks.move_task(
                session,
                actor=world.team,
                task_id=task.pk,
                move=TaskMove(version=task.version, status=TaskStatus.in_progress),
            )
    finally:
        history.unlisten(refuse)
    session.rollback()
    session.expire_all()
    assert _events(session) == before
    again = session.get(Task, task.id)
    assert again is not None
    assert (again.status, again.version) == (TaskStatus.todo, task.version)


def _inserts_task_events(tree: ast.AST) -> list[int]:
    """Lines that build a TaskEvent row or insert into its table."""
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func_node = node.func
            name = func_node.id if isinstance(func_node, ast.Name) else None
            if name == "TaskEvent":
                lines.append(node.lineno)
            if (
                isinstance(func_node, ast.Attribute)
                and func_node.attr == "insert"
                and any(isinstance(a, ast.Name) and a.id == "TaskEvent" for a in node.args)
            ):
                lines.append(node.lineno)
    return lines


def test_only_the_history_module_writes_task_events() -> None:
    offenders = []
    for path in sorted(APP.rglob("*.py")):
        if path == APP / "services" / "history.py":
            continue
        lines = _inserts_task_events(ast.parse(path.read_text(), str(path)))
        offenders += [f"{path.relative_to(APP.parent)}:{line}" for line in lines]
    assert offenders == []
    assert _inserts_task_events(ast.parse((APP / "services" / "history.py").read_text()))
