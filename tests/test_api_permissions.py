"""Who may do what through the JSON API: every role × every mutating endpoint (DESIGN §1).

The task under test is led by PUTR and supported by Dinkes. A refused change answers 403 (401
without a token) and leaves the database exactly as it was; an allowed one writes exactly one
task event by its actor.
"""

from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, func, select

from app.models import (
    Plan,
    Role,
    Task,
    TaskEvent,
    TaskProgram,
    TaskStatus,
    TaskSupportingUnit,
    User,
)
from app.services import tasks
from tests.factories import World, api_token, make_task, make_user

API = "/api/v1"
ROLES = ("team", "lead_unit", "supporting_unit", "other_unit", "executive", "anonymous")


@dataclass(frozen=True)
class Action:
    start: TaskStatus | None  # the task's status before; None: a cancelled task
    method: str
    suffix: str  # after /tasks/{id}; "new" is POST /tasks
    body: dict[str, Any]


ACTIONS: dict[str, Action] = {
    "create": Action(
        TaskStatus.todo, "POST", "new", {"title": "Tugas baru", "lead_unit_id": "PUTR"}
    ),
    "edit": Action(TaskStatus.todo, "PATCH", "", {"title": "Judul baru"}),
    "move todo → in_progress": Action(TaskStatus.todo, "POST", "/move", {"status": "in_progress"}),
    "move in_progress → todo": Action(TaskStatus.in_progress, "POST", "/move", {"status": "todo"}),
    "move in_progress → blocked": Action(
        TaskStatus.in_progress, "POST", "/move", {"status": "blocked", "blocked_reason": "Banjir"}
    ),
    "move blocked → in_progress": Action(
        TaskStatus.blocked, "POST", "/move", {"status": "in_progress"}
    ),
    "move in_progress → review": Action(
        TaskStatus.in_progress, "POST", "/move", {"status": "review", "note": "Bukti via surat"}
    ),
    "move review → in_progress": Action(
        TaskStatus.review, "POST", "/move", {"status": "in_progress", "note": "Perlu revisi"}
    ),
    "move review → done": Action(TaskStatus.review, "POST", "/move", {"status": "done"}),
    "move todo → done": Action(TaskStatus.todo, "POST", "/move", {"status": "done"}),
    "move done → in_progress": Action(TaskStatus.done, "POST", "/move", {"status": "in_progress"}),
    "move → cancelled": Action(TaskStatus.todo, "POST", "/move", {"status": "cancelled"}),
    "progress": Action(TaskStatus.in_progress, "POST", "/progress", {"progress_pct": 50}),
    "comment": Action(TaskStatus.todo, "POST", "/comments", {"note": "Sudah survei lokasi"}),
    "directive": Action(TaskStatus.todo, "POST", "/directives", {"note": "Percepat"}),
    "verify": Action(TaskStatus.review, "POST", "/verify", {}),
    "reject": Action(TaskStatus.review, "POST", "/reject", {"note": "Foto kurang"}),
    "cancel": Action(TaskStatus.in_progress, "POST", "/cancel", {"note": "Anggaran dialihkan"}),
    "restore": Action(None, "POST", "/restore", {}),
}

# DESIGN §1: the team does everything; the lead unit moves its own task between the four
# working columns (never into or out of Selesai), reports progress and writes notes; other
# units (even a supporting one) change nothing; executives only give directives. Moving into
# `cancelled` is not a move at all (use cancel): 422 for everyone.
# fmt: off
MATRIX: dict[str, tuple[int, int, int, int, int, int]] = {
    # action                       team  lead  supp  other exec  anon
    "create":                     (201,  403,  403,  403,  403,  401),
    "edit":                       (200,  403,  403,  403,  403,  401),
    "move todo → in_progress":    (200,  200,  403,  403,  403,  401),
    "move in_progress → todo":    (200,  200,  403,  403,  403,  401),
    "move in_progress → blocked": (200,  200,  403,  403,  403,  401),
    "move blocked → in_progress": (200,  200,  403,  403,  403,  401),
    "move in_progress → review":  (200,  200,  403,  403,  403,  401),
    "move review → in_progress":  (200,  200,  403,  403,  403,  401),
    "move review → done":         (200,  403,  403,  403,  403,  401),
    "move todo → done":           (200,  403,  403,  403,  403,  401),
    "move done → in_progress":    (200,  403,  403,  403,  403,  401),
    "move → cancelled":           (422,  422,  422,  422,  422,  401),
    "progress":                   (200,  200,  403,  403,  403,  401),
    "comment":                    (200,  200,  403,  403,  403,  401),
    "directive":                  (200,  403,  403,  403,  200,  401),
    "verify":                     (200,  403,  403,  403,  403,  401),
    "reject":                     (200,  403,  403,  403,  403,  401),
    "cancel":                     (200,  403,  403,  403,  403,  401),
    "restore":                    (200,  403,  403,  403,  403,  401),
}
# fmt: on

CASES = [
    pytest.param(action, role, MATRIX[action][i], id=f"{action} by {role}")
    for action in MATRIX
    for i, role in enumerate(ROLES)
]


def db_state(session: Session) -> dict[str, Any]:
    """Everything an API call could write, read fresh."""
    session.rollback()
    session.expire_all()
    return {
        "tasks": [t.model_dump() for t in session.exec(select(Task).order_by(col(Task.id)))],
        "events": session.exec(select(func.count()).select_from(TaskEvent)).one(),
        "supporting": sorted(
            session.exec(select(TaskSupportingUnit.task_id, TaskSupportingUnit.unit_id)).all()
        ),
        "programs": sorted(session.exec(select(TaskProgram.task_id, TaskProgram.program_id)).all()),
        "plans": [(p.id, p.next_task_number) for p in session.exec(select(Plan))],
    }


def user_for(session: Session, world: World, role: str) -> User | None:
    if role == "anonymous":
        return None
    if role == "other_unit":
        return make_user(
            session, username="camat.rantau.bayur", role=Role.unit, unit=world.district
        )
    users = {
        "team": world.team,
        "lead_unit": world.putr_head,
        "supporting_unit": world.dinkes_head,
        "executive": world.executive,
    }
    return users[role]


def task_for(session: Session, world: World, action: Action) -> Task:
    """A PUTR-led task supported by Dinkes, in the action's starting status."""
    task = make_task(
        session,
        actor=world.team,
        plan=world.plan,
        lead=world.putr,
        status=action.start or TaskStatus.todo,
        supporting_unit_ids=[world.dinkes.id],
    )
    if action.start is None:
        assert task.id is not None
        task = tasks.cancel_task(
            session, actor=world.team, task_id=task.id, version=task.version, note="Batal"
        )
    return task


def test_matrix_covers_every_action_and_role() -> None:
    assert list(MATRIX) == list(ACTIONS)
    assert all(len(row) == len(ROLES) for row in MATRIX.values())


@pytest.mark.parametrize(("action_name", "role", "expected"), CASES)
def test_permission_matrix(
    client: TestClient,
    session: Session,
    world: World,
    action_name: str,
    role: str,
    expected: int,
) -> None:
    action = ACTIONS[action_name]
    task = task_for(session, world, action)
    version = task.version
    user = user_for(session, world, role)
    headers = api_token(client, user) if user is not None else {}
    body = dict(action.body)
    if action.suffix == "new":
        body["lead_unit_id"] = world.putr.id
        url = f"{API}/tasks"
    else:
        body["version"] = version
        url = f"{API}/tasks/{task.id}{action.suffix}"
    before = db_state(session)

    response = client.request(action.method, url, json=body, headers=headers)

    assert response.status_code == expected, response.text
    after = db_state(session)
    if expected >= 400:
        assert isinstance(response.json()["detail"], str)
        assert after == before  # task version and status, events: nothing changed
        return
    assert after["events"] == before["events"] + 1
    last = session.exec(select(TaskEvent).order_by(col(TaskEvent.id).desc()).limit(1)).one()
    assert user is not None
    assert last.actor_id == user.id
    assert last.task_id == response.json()["id"]
    if action.suffix == "new":
        assert len(after["tasks"]) == len(before["tasks"]) + 1
    else:
        assert response.json()["version"] == version + 1


@pytest.mark.parametrize("role", ROLES[:-1])
def test_every_role_reads_everything(
    client: TestClient, session: Session, world: World, role: str
) -> None:
    task = make_task(session, actor=world.team, plan=world.plan, lead=world.putr)
    user = user_for(session, world, role)
    assert user is not None
    headers = api_token(client, user)

    for path in (
        "/me",
        "/plan",
        "/units",
        "/programs",
        "/tasks",
        f"/tasks/{task.id}",
        f"/tasks/{task.id}/events",
    ):
        assert client.get(API + path, headers=headers).status_code == 200, path
