from sqlmodel import Session, select

from app.models import TaskEvent, TaskMove, TaskStatus
from app.services import tasks
from tests.factories import World, make_task


def test_create_and_move(session: Session, world: World) -> None:
    a = make_task(session, actor=world.team, plan=world.plan, lead=world.putr, title="A jalan")
    b = make_task(session, actor=world.team, plan=world.plan, lead=world.putr, title="B jembatan")
    assert (a.code, b.code) == ("T-001", "T-002")
    session.refresh(a)
    assert (b.position, a.position) == (1, 2)
    moved = tasks.move_task(
        session, actor=world.putr_head, task_id=a.id,
        move=TaskMove(version=a.version, status=TaskStatus.in_progress),
    )
    assert moved.status == TaskStatus.in_progress and moved.position == 1
    kinds = session.exec(select(TaskEvent.kind).where(TaskEvent.task_id == a.id)).all()
    assert kinds == ["created", "moved"]
