"""Directives through the JSON API: answering one with a follow-up (tindak lanjut), settling
"perlu keputusan" with a decision (keputusan), and reading open and answered directives.

Who may: the follow-up is the lead unit's or the team's, the decision an executive's (the
same services, so the same rules, as the task page). A refused or bad request answers 4xx
with a `detail` and leaves the database exactly as it was; an accepted one writes exactly one
event, which the history shows.
"""

from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from app.models import (
    NOTE_MAX,
    EventKind,
    ExecutivePosition,
    Role,
    Task,
    TaskEvent,
    TaskStatus,
    User,
)
from app.routes.api_directives import router as directives_router
from app.services import tasks
from tests.factories import World, api_token, make_task, make_user
from tests.test_api import db_state, events_of, fresh_task

API = "/api/v1"
ROLES = ("team", "lead_unit", "supporting_unit", "other_unit", "executive", "anonymous")
# fmt: off
MATRIX: dict[str, tuple[int, int, int, int, int, int]] = {
    # operation     team  lead  supp  other exec  anon
    "follow-up":   (200,  200,  403,  403,  403,  401),
    "decision":    (403,  403,  403,  403,  200,  401),
}
# fmt: on


def user_for(session: Session, world: World, role: str) -> User | None:
    if role == "anonymous":
        return None
    if role == "other_unit":
        return make_user(session, username="camat.rantau", role=Role.unit, unit=world.district)
    return {
        "team": world.team,
        "lead_unit": world.putr_head,
        "supporting_unit": world.dinkes_head,
        "executive": world.executive,
    }[role]


def directive_on(session: Session, world: World, task: Task, note: str) -> TaskEvent:
    tasks.add_directive(session, actor=world.executive, task_id=task.pk, note=note)
    return session.exec(
        select(TaskEvent)
        .where(TaskEvent.task_id == task.pk, TaskEvent.kind == EventKind.directive)
        .order_by(col(TaskEvent.id).desc())
        .limit(1)
    ).one()


@pytest.fixture
def directed(session: Session, world: World) -> tuple[Task, TaskEvent]:
    """A PUTR-led task, supported by Dinkes, waiting for the Bupati's decision, with one
    directive from him."""
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
        supporting_unit_ids=[world.dinkes.id],
    )
    directive = directive_on(session, world, task, "Segera lelang")
    return fresh_task(session, task), directive


def request_for(operation: str, task: Task, directive: TaskEvent) -> tuple[str, dict[str, Any]]:
    if operation == "follow-up":
        return f"{API}/tasks/{task.id}/follow-ups", {
            "directive_id": directive.id,
            "note": "Lelang dibuka 3 Maret",
        }
    return f"{API}/tasks/{task.id}/decisions", {"version": task.version, "note": "Setuju, lanjut"}


@pytest.mark.parametrize(
    ("operation", "role", "expected"),
    [
        pytest.param(op, role, MATRIX[op][i], id=f"{op} by {role}")
        for op in MATRIX
        for i, role in enumerate(ROLES)
    ],
)
def test_who_may_answer_and_decide(
    client: TestClient,
    session: Session,
    world: World,
    directed: tuple[Task, TaskEvent],
    operation: str,
    role: str,
    expected: int,
) -> None:
    task, directive = directed
    user = user_for(session, world, role)
    headers = api_token(client, user) if user is not None else {}
    url, body = request_for(operation, task, directive)
    version = task.version
    before = db_state(session)

    response = client.post(url, json=body, headers=headers)

    assert response.status_code == expected, response.text
    after = db_state(session)
    if expected >= 400:
        assert isinstance(response.json()["detail"], str)
        assert after == before
        return
    assert user is not None
    assert after["events"] == before["events"] + 1
    last = events_of(session, task)[-1]
    assert last.actor_id == user.id
    assert response.json()["version"] == version + 1
    if operation == "follow-up":
        assert (last.kind, last.changes) == (
            EventKind.follow_up,
            {"directive_id": [None, directive.id]},
        )
        assert fresh_task(session, task).needs_decision is True
    else:
        assert (last.kind, last.changes) == (
            EventKind.decision,
            {"needs_decision": [True, False]},
        )
        assert response.json()["needs_decision"] is False


def test_the_history_and_the_reads_show_the_answer_and_the_decision(
    client: TestClient, session: Session, world: World, directed: tuple[Task, TaskEvent]
) -> None:
    task, directive = directed
    putr = api_token(client, world.putr_head)
    bupati = api_token(client, world.executive)
    listed = client.get(f"{API}/tasks/{task.id}/directives", headers=bupati).json()
    assert [(d["id"], d["label"], d["is_open"], d["follow_up"]) for d in listed] == [
        (directive.id, "Arahan Bupati", True, None)
    ]
    summary = client.get(f"{API}/dashboard", headers=bupati).json()["directives"]
    assert (summary["open_count"], summary["answered_count"]) == (1, 0)
    assert summary["open"][0]["task_code"] == task.code

    answered = client.post(
        f"{API}/tasks/{task.id}/follow-ups",
        json={"directive_id": directive.id, "note": "Lelang dibuka"},
        headers=putr,
    )
    decided = client.post(
        f"{API}/tasks/{task.id}/decisions",
        json={"version": answered.json()["version"], "note": "Setuju"},
        headers=bupati,
    )

    assert (answered.status_code, decided.status_code) == (200, 200)
    history = client.get(f"{API}/tasks/{task.id}/events", headers=putr).json()
    follow_up, decision = history[-2:]
    assert (follow_up["kind"], follow_up["actor_name"], follow_up["note"]) == (
        "follow_up",
        world.putr_head.full_name,
        "Lelang dibuka",
    )
    assert follow_up["changes"] == {"directive_id": [None, directive.id]}
    assert (decision["kind"], decision["actor_name"], decision["note"]) == (
        "decision",
        world.executive.full_name,
        "Setuju",
    )
    assert decision["changes"] == {"needs_decision": [True, False]}
    (after,) = client.get(f"{API}/tasks/{task.id}/directives", headers=bupati).json()
    assert after["is_open"] is False
    assert after["follow_up"]["event_id"] == follow_up["id"]
    assert after["follow_up"]["actor_name"] == world.putr_head.full_name
    assert after["age_days"] == 0
    summary = client.get(f"{API}/dashboard", headers=bupati).json()["directives"]
    assert (summary["open_count"], summary["answered_count"]) == (0, 1)
    assert summary["answered"][0]["follow_up"]["note"] == "Lelang dibuka"


def test_several_open_directives_are_answered_one_by_one(
    client: TestClient, session: Session, world: World, directed: tuple[Task, TaskEvent]
) -> None:
    task, first = directed
    second = directive_on(session, world, task, "Laporkan progres mingguan")
    putr = api_token(client, world.putr_head)

    response = client.post(
        f"{API}/tasks/{task.id}/follow-ups",
        json={"directive_id": second.id, "note": "Laporan dikirim tiap Jumat"},
        headers=putr,
    )

    assert response.status_code == 200
    listed = client.get(f"{API}/tasks/{task.id}/directives", headers=putr).json()
    assert [(d["id"], d["is_open"]) for d in listed] == [(first.id, True), (second.id, False)]


def test_bad_follow_ups_answer_4xx_and_write_nothing(
    client: TestClient, session: Session, world: World, directed: tuple[Task, TaskEvent]
) -> None:
    task, directive = directed
    other = make_task(session, actor=world.team, plan=world.plan, lead=world.putr, title="Lain")
    elsewhere = directive_on(session, world, other, "Arahan tugas lain")
    answered = directive_on(session, world, task, "Sudah dijawab")
    tasks_created = session.exec(
        select(TaskEvent).where(TaskEvent.task_id == task.id, TaskEvent.kind == EventKind.created)
    ).one()
    putr = api_token(client, world.putr_head)
    done = client.post(
        f"{API}/tasks/{task.id}/follow-ups",
        json={"directive_id": answered.id, "note": "Sudah"},
        headers=putr,
    )
    assert done.status_code == 200
    url = f"{API}/tasks/{task.id}/follow-ups"
    cases: list[tuple[str, Any, int, str]] = [
        (url, {"directive_id": directive.id, "note": ""}, 422, "note"),
        (url, {"directive_id": directive.id, "note": "  \n "}, 422, "note"),
        (url, {"directive_id": directive.id, "note": "x" * (NOTE_MAX + 1)}, 422, "note"),
        (url, {"directive_id": directive.id, "note": "ada\x00nul"}, 422, "note"),
        (url, {"note": "Tanpa arahan"}, 422, "directive_id"),
        (url, {"directive_id": 0, "note": "x"}, 422, "directive_id"),
        (url, {"directive_id": 2**40, "note": "x"}, 422, "directive_id"),
        (url, {"directive_id": "satu", "note": "x"}, 422, "directive_id"),
        (url, ["bukan", "objek"], 422, "body"),
        (url, {"directive_id": elsewhere.id, "note": "Salah tugas"}, 404, "directive_id"),
        (url, {"directive_id": tasks_created.id, "note": "Bukan arahan"}, 404, "directive_id"),
        (url, {"directive_id": 999_999, "note": "Tidak ada"}, 404, "directive_id"),
        (url, {"directive_id": answered.id, "note": "Lagi"}, 422, "note"),
        (f"{API}/tasks/999999/follow-ups", {"directive_id": directive.id, "note": "x"}, 404, ""),
        (f"{API}/tasks/0/follow-ups", {"directive_id": directive.id, "note": "x"}, 404, ""),
    ]
    before = db_state(session)

    for target, body, status, field in cases:
        response = client.post(target, json=body, headers=putr)

        assert response.status_code == status, (body, response.text)
        detail = response.json()["detail"]
        assert detail, body
        if status == 422 and isinstance(detail, list):
            assert field in {issue["loc"][-1] for issue in detail} | {
                issue["loc"][0] for issue in detail
            }, body
        elif field:
            assert response.json()["field"] == field, body
        assert db_state(session) == before, body

    assert (
        "sudah ditindaklanjuti"
        in client.post(
            url, json={"directive_id": answered.id, "note": "Lagi"}, headers=putr
        ).json()["detail"]
    )


def test_no_follow_up_on_a_cancelled_task(
    client: TestClient, session: Session, world: World, directed: tuple[Task, TaskEvent]
) -> None:
    task, directive = directed
    tasks.cancel_task(
        session, actor=world.team, task_id=task.id or 0, version=task.version, note="Ganda"
    )
    before = db_state(session)

    response = client.post(
        f"{API}/tasks/{task.id}/follow-ups",
        json={"directive_id": directive.id, "note": "Sudah"},
        headers=api_token(client, world.team),
    )

    assert response.status_code == 422
    assert response.json()["detail"] == "Tugas ini sudah dibatalkan."
    assert db_state(session) == before


def test_bad_decisions_answer_4xx_and_write_nothing(
    client: TestClient, session: Session, world: World, directed: tuple[Task, TaskEvent]
) -> None:
    task, _ = directed
    calm = make_task(session, actor=world.team, plan=world.plan, lead=world.putr, title="Tenang")
    closed = make_task(
        session,
        actor=world.team,
        plan=world.plan,
        lead=world.putr,
        title="Sudah selesai",
        status=TaskStatus.done,
        needs_decision=True,
    )
    bupati = api_token(client, world.executive)
    url = f"{API}/tasks/{task.id}/decisions"
    version = task.version
    cases: list[tuple[str, Any, int, str]] = [
        (url, {"version": version, "note": ""}, 422, "note"),
        (url, {"version": version, "note": "   "}, 422, "note"),
        (url, {"version": version, "note": "x" * (NOTE_MAX + 1)}, 422, "note"),
        (url, {"note": "Tanpa versi"}, 422, "version"),
        (url, {"version": 0, "note": "x"}, 422, "version"),
        (
            f"{API}/tasks/{calm.id}/decisions",
            {"version": calm.version, "note": "Setuju"},
            422,
            "note",
        ),
        (
            f"{API}/tasks/{closed.id}/decisions",
            {"version": closed.version, "note": "Setuju"},
            422,
            "note",
        ),
        (f"{API}/tasks/999999/decisions", {"version": 1, "note": "x"}, 404, ""),
    ]
    before = db_state(session)

    for target, body, status, field in cases:
        response = client.post(target, json=body, headers=bupati)

        assert response.status_code == status, (body, response.text)
        detail = response.json()["detail"]
        if isinstance(detail, list):
            assert field in {issue["loc"][-1] for issue in detail}, body
        elif field:
            assert response.json()["field"] == field, body
        assert db_state(session) == before, body

    assert fresh_task(session, closed).needs_decision is True
    refused = client.post(
        f"{API}/tasks/{closed.id}/decisions",
        json={"version": closed.version, "note": "Setuju"},
        headers=bupati,
    )
    assert "sudah selesai atau dibatalkan" in refused.json()["detail"]

    # Someone else wrote meanwhile: the version seen is stale.
    tasks.add_comment(session, actor=world.putr_head, task_id=task.id or 0, note="Update")
    before = db_state(session)
    stale = client.post(url, json={"version": version, "note": "Setuju"}, headers=bupati)

    assert stale.status_code == 409
    assert stale.json()["current"]["version"] == version + 1
    assert stale.json()["current"]["needs_decision"] is True
    assert db_state(session) == before


def test_task_directives_of_an_unknown_task_answer_404(
    client: TestClient, world: World, directed: tuple[Task, TaskEvent]
) -> None:
    headers = api_token(client, world.putr_head)

    assert client.get(f"{API}/tasks/999999/directives", headers=headers).status_code == 404
    assert client.get(f"{API}/tasks/1e3/directives", headers=headers).status_code == 404
    assert client.get(f"{API}/tasks/1/directives").status_code == 401


def test_openapi_documents_the_operations_and_their_errors(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    routed = {
        (method.lower(), route.path)
        for route in directives_router.routes
        if isinstance(route, APIRoute)
        for method in route.methods or ()
    }
    expected_errors = {
        ("get", f"{API}/tasks/{{task_id}}/directives"): {"401", "404", "422"},
        ("post", f"{API}/tasks/{{task_id}}/follow-ups"): {"401", "403", "404", "422"},
        ("post", f"{API}/tasks/{{task_id}}/decisions"): {"401", "403", "404", "409", "422"},
    }

    assert routed == set(expected_errors)
    for (method, path), codes in expected_errors.items():
        operation = doc["paths"][path][method]
        assert codes <= set(operation["responses"]), path
        assert operation["responses"]["403" if method == "post" else "404"]["description"]
    decision = doc["paths"][f"{API}/tasks/{{task_id}}/decisions"]["post"]
    conflict = decision["responses"]["409"]["content"]["application/json"]["schema"]
    assert conflict["$ref"].endswith("/ConflictDetail")
    schemas = doc["components"]["schemas"]
    assert set(schemas["FollowUpCreate"]["required"]) == {"directive_id", "note"}
    assert set(schemas["DecisionCreate"]["required"]) == {"version", "note"}
    assert "directives" in schemas["DashboardPublic"]["required"]
