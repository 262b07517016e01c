"""Directives as a feature: who may answer a directive (tindak lanjut) and who may record a
decision (keputusan), what each changes, and what the history, the task page, the board card
and the dashboard show."""

import re
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from app.errors import Forbidden, NotFound, RuleViolation
from app.models import EventKind, ExecutivePosition, Task, TaskEvent, User
from app.services import directives, tasks
from app.services.plans import plan_calendar
from tests.factories import World, login, make_task
from tests.test_task_routes import post


@pytest.fixture
def directed(session: Session, world: World) -> tuple[Task, TaskEvent]:
    """A PUTR task waiting for the Bupati's decision, with one directive from him."""
    world.executive.position = ExecutivePosition.bupati.value
    session.add(world.executive)
    session.commit()
    task = make_task(
        session,
        actor=world.team,
        plan=world.plan,
        lead=world.putr,
        title="Jembatan gantung",
        needs_decision=True,
    )
    tasks.add_directive(session, actor=world.executive, task_id=task.id or 0, note="Segera lelang")
    event = session.exec(
        select(TaskEvent).where(TaskEvent.task_id == task.id, TaskEvent.kind == EventKind.directive)
    ).one()
    session.refresh(task)
    return task, event


def _events(session: Session, task: Task, kind: EventKind) -> list[TaskEvent]:
    return list(
        session.exec(
            select(TaskEvent)
            .where(TaskEvent.task_id == task.id, TaskEvent.kind == kind)
            .order_by(col(TaskEvent.id))
        ).all()
    )


@pytest.mark.parametrize("who", ["putr_head", "team"])
def test_lead_unit_or_team_answers_a_directive(
    session: Session, world: World, directed: tuple[Task, TaskEvent], who: str
) -> None:
    task, directive = directed
    actor: User = getattr(world, who)

    directives.answer_directive(
        session, actor=actor, task_id=task.id or 0, directive_id=directive.id or 0, note="Sudah"
    )

    (follow_up,) = _events(session, task, EventKind.follow_up)
    assert follow_up.changes == {"directive_id": [None, directive.id]}
    assert (follow_up.note, follow_up.actor_id) == ("Sudah", actor.id)
    assert directives.open_directive_task_ids(session, plan_id=task.plan_id) == set()
    # Answered once only.
    with pytest.raises(RuleViolation):
        directives.answer_directive(
            session, actor=actor, task_id=task.id or 0, directive_id=directive.id or 0, note="Lagi"
        )


@pytest.mark.parametrize("who", ["dinkes_head", "executive"])
def test_others_may_not_answer(
    session: Session, world: World, directed: tuple[Task, TaskEvent], who: str
) -> None:
    task, directive = directed
    version = task.version

    with pytest.raises(Forbidden):
        directives.answer_directive(
            session,
            actor=getattr(world, who),
            task_id=task.id or 0,
            directive_id=directive.id or 0,
            note="Bukan urusan saya",
        )

    session.rollback()
    assert _events(session, task, EventKind.follow_up) == []
    session.refresh(task)
    assert task.version == version


def test_an_answer_names_a_directive_of_this_task(
    session: Session, world: World, directed: tuple[Task, TaskEvent]
) -> None:
    task, directive = directed
    other = make_task(session, actor=world.team, plan=world.plan, lead=world.putr, title="Lain")

    with pytest.raises(NotFound):
        directives.answer_directive(
            session,
            actor=world.team,
            task_id=other.id or 0,
            directive_id=directive.id or 0,
            note="x",
        )
    with pytest.raises(RuleViolation):
        directives.answer_directive(
            session,
            actor=world.team,
            task_id=task.id or 0,
            directive_id=directive.id or 0,
            note=" ",
        )


def test_an_executive_records_a_decision_that_clears_the_flag(
    session: Session, world: World, directed: tuple[Task, TaskEvent]
) -> None:
    task, _ = directed

    directives.record_decision(
        session, actor=world.executive, task_id=task.id or 0, version=task.version, note="Setuju"
    )

    session.refresh(task)
    assert task.needs_decision is False
    (decision,) = _events(session, task, EventKind.decision)
    assert decision.changes == {"needs_decision": [True, False]}
    assert (decision.note, decision.actor_id) == ("Setuju", world.executive.id)
    with pytest.raises(RuleViolation):  # nothing left to decide
        directives.record_decision(
            session, actor=world.executive, task_id=task.id or 0, version=task.version, note="x"
        )


@pytest.mark.parametrize("who", ["team", "putr_head"])
def test_only_executives_decide(
    session: Session, world: World, directed: tuple[Task, TaskEvent], who: str
) -> None:
    task, _ = directed

    with pytest.raises(Forbidden):
        directives.record_decision(
            session, actor=getattr(world, who), task_id=task.id or 0, version=task.version, note="x"
        )

    session.rollback()
    session.refresh(task)
    assert task.needs_decision is True


def test_pages_show_the_directive_its_answer_and_the_decision(
    client: TestClient, session: Session, world: World, directed: tuple[Task, TaskEvent]
) -> None:
    task, directive = directed
    csrf = login(client, world.putr_head)
    page = client.get(f"/tasks/{task.id}").text
    assert "Arahan Bupati" in page
    assert "Belum ditindaklanjuti" in page
    assert f'action="/tasks/{task.id}/directives/{directive.id}/follow-up"' in page
    assert 'id="form-decision"' not in page  # a unit does not decide
    board = client.get("/board").text
    assert "Arahan belum ditindaklanjuti" in board
    empty = post(
        client, f"/tasks/{task.id}/directives/{directive.id}/follow-up", csrf, {"note": ""}
    )
    assert empty.status_code == 422

    answered = post(
        client,
        f"/tasks/{task.id}/directives/{directive.id}/follow-up",
        csrf,
        {"note": "Lelang dibuka"},
    )

    assert answered.status_code == 303
    page = client.get(f"/tasks/{task.id}").text
    assert "Tindak lanjut</strong> oleh" in page
    assert "Lelang dibuka" in page
    assert "menindaklanjuti arahan" in page  # in the history
    assert "Arahan belum ditindaklanjuti" not in client.get("/board").text

    csrf = login(client, world.executive)
    page = client.get(f"/tasks/{task.id}").text
    assert 'id="form-decision"' in page
    stale = post(client, f"/tasks/{task.id}/decision", csrf, {"version": 1, "note": "Setuju"})
    assert stale.status_code == 409
    session.rollback()  # a fresh read: the app's changes are committed
    session.refresh(task)
    decided = post(
        client, f"/tasks/{task.id}/decision", csrf, {"version": task.version, "note": "Setuju"}
    )
    assert decided.status_code == 303
    page = client.get(f"/tasks/{task.id}").text
    assert "mencatat keputusan" in page
    assert 'id="form-decision"' not in page
    dashboard = client.get("/dashboard").text
    assert re.search(r"0 arahan terbuka", dashboard)
    assert "sudah ditindaklanjuti" in dashboard


def test_a_forbidden_answer_through_the_page_is_403(
    client: TestClient, world: World, directed: tuple[Task, TaskEvent]
) -> None:
    task, directive = directed
    csrf = login(client, world.dinkes_head)

    response = post(
        client, f"/tasks/{task.id}/directives/{directive.id}/follow-up", csrf, {"note": "x"}
    )

    assert response.status_code == 403


def test_the_plans_directives_are_read_from_their_index(
    engine: Engine, session: Session, world: World, sent: list[tuple[str, Any]]
) -> None:
    """The dashboard reads the plan's directives on every build: from ix_task_event_plan_id_kind,
    not along every event of the plan."""
    if engine.dialect.name != "sqlite":
        pytest.skip("the query plan checked is SQLite's")
    calendar = plan_calendar(session, world.plan)
    sent.clear()
    directives.plan_directives(session, plan=world.plan, calendar=calendar, today=date.today())
    [(statement, parameters)] = [(s, p) for s, p in sent if "task_event" in s]
    with engine.connect() as conn:
        plan = [
            row[3] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
        ]
    events = [step for step in plan if " task_event " in f"{step} "]
    assert events == [
        "SEARCH task_event USING INDEX ix_task_event_plan_id_kind (plan_id=? AND kind=?)"
    ]
