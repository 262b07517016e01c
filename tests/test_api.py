"""JSON API v1: tokens, reading, filters and paging, every change, errors (404, 409, 422 with
nothing written), and the OpenAPI document."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlmodel import Session, col, func, select

from app.config import Settings
from app.models import (
    LoginSession,
    Plan,
    Program,
    ProgramKind,
    SessionKind,
    Task,
    TaskEvent,
    TaskProgram,
    TaskPublic,
    TaskStatus,
    TaskSupportingUnit,
    Unit,
    User,
)
from app.routes.api import router as api_router
from app.routes.api_dashboard import router as api_dashboard_router
from app.routes.api_directives import router as api_directives_router
from app.services import accounts, positions, tasks
from app.services.calendar import PlanCalendar
from tests.factories import (
    PASSWORD,
    World,
    api_token,
    login,
    make_plan,
    make_program,
    make_task,
)

API = "/api/v1"
Headers = dict[str, str]
TASK_FIELDS = set(TaskPublic.model_fields)


# --- helpers ---------------------------------------------------------------------------


def db_state(session: Session) -> dict[str, Any]:
    """Everything an API call could write, read fresh (the rollback ends the test session's
    read snapshot and expires what it holds)."""
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


def id_of(row: Task | Unit | Program) -> int:
    assert row.id is not None
    return row.id


def events_of(session: Session, task: Task | int) -> list[TaskEvent]:
    task_id = task if isinstance(task, int) else id_of(task)
    session.rollback()
    session.expire_all()
    return list(
        session.exec(
            select(TaskEvent).where(TaskEvent.task_id == task_id).order_by(col(TaskEvent.id))
        )
    )


def fresh_task(session: Session, task: Task) -> Task:
    """The task as stored now (the same identity as `task`, reloaded)."""
    session.rollback()
    session.expire_all()
    stored = session.get(Task, id_of(task))
    assert stored is not None
    return stored


def named_fields(response: httpx.Response) -> set[Any]:
    """The fields a 422 answer names: request validation lists locations, a broken rule
    gives `field`."""
    body = response.json()
    if isinstance(body["detail"], list):
        return {issue["loc"][-1] for issue in body["detail"]}
    return {body.get("field")}


def day(world: World, number: int) -> date:
    """The date of plan day `number` (the world's plan counts calendar days)."""
    return world.plan.start_date + timedelta(days=number - 1)


@pytest.fixture
def team(client: TestClient, world: World) -> Headers:
    return api_token(client, world.team)


@pytest.fixture
def putr(client: TestClient, world: World) -> Headers:
    return api_token(client, world.putr_head)


@pytest.fixture
def executive(client: TestClient, world: World) -> Headers:
    return api_token(client, world.executive)


# --- tokens ----------------------------------------------------------------------------


def test_token_is_issued_for_good_credentials(
    client: TestClient, session: Session, world: World, settings: Settings
) -> None:
    response = client.post(
        f"{API}/auth/token", data={"username": "Tim.Transisi ", "password": PASSWORD}
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_at"}
    assert body["token_type"] == "bearer"
    expires_at = datetime.fromisoformat(body["expires_at"])
    expected = datetime.now(UTC) + timedelta(hours=settings.api_token_hours)
    assert abs(expires_at - expected) < timedelta(minutes=5)
    me = client.get(f"{API}/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    assert me.json()["username"] == "tim.transisi"
    session.rollback()
    session.expire_all()
    rows = session.exec(select(LoginSession).where(LoginSession.user_id == world.team.id)).all()
    assert [r.kind for r in rows] == [SessionKind.api]
    assert rows[0].token_hash != body["access_token"]  # only the digest is stored


@pytest.mark.parametrize(
    ("username", "password"),
    [("tim.transisi", "salah-kata-sandi"), ("tidak.ada", PASSWORD), ("kadis.putr", PASSWORD[:-1])],
)
def test_wrong_credentials_answer_401(
    client: TestClient, session: Session, world: World, username: str, password: str
) -> None:
    response = client.post(f"{API}/auth/token", data={"username": username, "password": password})

    assert response.status_code == 401
    assert response.json() == {"detail": accounts.WRONG_LOGIN}
    assert response.headers["www-authenticate"] == "Bearer"
    session.rollback()
    session.expire_all()
    assert session.exec(select(func.count()).select_from(LoginSession)).one() == 0


def test_repeated_failures_lock_the_account(
    client: TestClient, session: Session, world: World, settings: Settings
) -> None:
    for _ in range(settings.login_max_failures):
        wrong = client.post(
            f"{API}/auth/token", data={"username": "tim.transisi", "password": "bukan-ini-123"}
        )
        assert wrong.status_code == 401

    right = client.post(
        f"{API}/auth/token", data={"username": "tim.transisi", "password": PASSWORD}
    )

    assert right.status_code == 401
    assert "Terlalu banyak percobaan" in right.json()["detail"]
    session.rollback()
    session.expire_all()
    assert session.exec(select(func.count()).select_from(LoginSession)).one() == 0


@pytest.mark.parametrize(
    ("form", "missing"),
    [
        ({}, {"username", "password"}),
        ({"username": "tim.transisi"}, {"password"}),
        ({"username": "tim.transisi", "password": ""}, {"password"}),
        ({"username": "tim.transisi", "password": PASSWORD, "grant_type": "kode"}, {"grant_type"}),
    ],
)
def test_token_form_is_validated(
    client: TestClient, world: World, form: dict[str, str], missing: set[str]
) -> None:
    response = client.post(f"{API}/auth/token", data=form)

    assert response.status_code == 422
    assert named_fields(response) == missing


READ_PATHS = ["/me", "/plan", "/units", "/programs", "/tasks", "/tasks/1", "/tasks/1/events"]


BAD_AUTHORIZATIONS = [None, "Bearer ", "Bearer bukan-token", "Basic dGltOnNhbmRp"]


@pytest.mark.parametrize("path", READ_PATHS)
def test_missing_or_bad_token_answers_401(
    client: TestClient, session: Session, world: World, path: str
) -> None:
    make_task(session, actor=world.team, plan=world.plan, lead=world.putr)
    for authorization in BAD_AUTHORIZATIONS:
        headers = {"Authorization": authorization} if authorization is not None else {}

        response = client.get(API + path, headers=headers)

        assert response.status_code == 401, authorization
        assert response.headers["www-authenticate"] == "Bearer"
        assert isinstance(response.json()["detail"], str)


def test_revoked_token_answers_401_and_other_tokens_live_on(
    client: TestClient, session: Session, world: World
) -> None:
    first = api_token(client, world.team)
    second = api_token(client, world.team)

    revoked = client.delete(f"{API}/auth/token", headers=first)

    assert revoked.status_code == 204
    assert revoked.content == b""
    assert client.get(f"{API}/me", headers=first).status_code == 401
    assert client.delete(f"{API}/auth/token", headers=first).status_code == 401
    assert client.get(f"{API}/me", headers=second).status_code == 200


def test_expired_token_answers_401(client: TestClient, session: Session, world: World) -> None:
    headers = api_token(client, world.team)
    session.rollback()
    session.expire_all()
    row = session.exec(select(LoginSession)).one()
    row.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    session.add(row)
    session.commit()

    assert client.get(f"{API}/me", headers=headers).status_code == 401


def test_deactivated_user_token_answers_401(
    client: TestClient, session: Session, world: World
) -> None:
    headers = api_token(client, world.putr_head)
    session.rollback()
    session.expire_all()
    user = session.get(User, world.putr_head.id)
    assert user is not None
    user.is_active = False
    session.add(user)
    session.commit()

    assert client.get(f"{API}/me", headers=headers).status_code == 401


def test_browser_session_does_not_authenticate_the_api(client: TestClient, world: World) -> None:
    login(client, world.team)
    cookie = client.cookies.get("seratus_session")
    assert cookie

    assert client.get(f"{API}/me").status_code == 401
    # The cookie's secret is a web session, not an API token.
    assert client.get(f"{API}/me", headers={"Authorization": f"Bearer {cookie}"}).status_code == 401


# --- the caller, the plan, reference lists ---------------------------------------------


def test_me_for_team_has_no_unit(client: TestClient, world: World, team: Headers) -> None:
    body = client.get(f"{API}/me", headers=team).json()

    assert body == {
        "id": world.team.id,
        "username": "tim.transisi",
        "full_name": "Tim Transisi",
        "role": "team",
        "unit_id": None,
        "is_active": True,
        "unit": None,
    }


def test_me_for_unit_user_carries_the_unit(client: TestClient, world: World, putr: Headers) -> None:
    body = client.get(f"{API}/me", headers=putr).json()

    assert body["role"] == "unit"
    assert body["unit_id"] == world.putr.id
    assert body["unit"]["code"] == "PUTR"
    assert body["unit"]["kind"] == "agency"
    assert "password_hash" not in body


def test_plan_is_the_current_plan_with_today(
    client: TestClient, world: World, executive: Headers
) -> None:
    body = client.get(f"{API}/plan", headers=executive).json()

    calendar = PlanCalendar.of(world.plan)
    today = calendar.today()
    assert body["id"] == world.plan.id
    assert body["start_date"] == world.plan.start_date.isoformat()
    assert body["end_date"] == (world.plan.start_date + timedelta(days=99)).isoformat()
    assert body["today_day"] == calendar.day_number(today)
    assert body["today_label"] == f"Hari ke-{calendar.day_number(today)} dari 100"
    assert body["day_mode"] == "calendar"
    assert body["timezone"] == "Asia/Jakarta"
    assert body["is_current"] is True


def test_without_a_current_plan_plan_routes_answer_404(
    client: TestClient, session: Session, world: World, team: Headers
) -> None:
    world.plan.is_current = False
    session.add(world.plan)
    session.commit()
    before = db_state(session)

    responses = [
        client.get(f"{API}/plan", headers=team),
        client.get(f"{API}/tasks", headers=team),
        client.post(
            f"{API}/tasks", headers=team, json={"title": "Jalan", "lead_unit_id": world.putr.id}
        ),
    ]

    for response in responses:
        assert response.status_code == 404
        assert response.json()["detail"].startswith("Belum ada rencana kerja aktif")
    assert db_state(session) == before


def test_units_list_and_kind_filter(client: TestClient, world: World, putr: Headers) -> None:
    every = client.get(f"{API}/units", headers=putr).json()
    districts = client.get(f"{API}/units", params={"kind": "district"}, headers=putr).json()
    agencies = client.get(f"{API}/units", params={"kind": "agency"}, headers=putr).json()

    assert {u["code"] for u in every} == {"PUTR", "DINKES", "KEC-RANTAU-BAYUR"}
    assert [u["code"] for u in districts] == ["KEC-RANTAU-BAYUR"]
    assert districts[0]["region_code"] == "16.07.11"
    assert {u["code"] for u in agencies} == {"PUTR", "DINKES"}
    assert set(every[0]) == {
        "id",
        "code",
        "name",
        "short_name",
        "kind",
        "head_title",
        "head_name",
        "region_code",
        "is_active",
    }
    bad = client.get(f"{API}/units", params={"kind": "desa"}, headers=putr)
    assert bad.status_code == 422
    assert named_fields(bad) == {"kind"}


def test_programs_list_in_agenda_order_and_kind_filter(
    client: TestClient, session: Session, world: World, executive: Headers
) -> None:
    make_program(session, code="SIMANIS", kind=ProgramKind.movement)

    every = client.get(f"{API}/programs", headers=executive).json()
    movement = client.get(f"{API}/programs", params={"kind": "movement"}, headers=executive)

    assert [p["code"] for p in every] == ["MEMBANGUN", "SEHAT", "SIMANIS"]
    assert [p["code"] for p in movement.json()] == ["SIMANIS"]
    assert set(every[0]) == {"id", "code", "kind", "short_name", "name", "is_active"}
    assert client.get(f"{API}/programs", params={"kind": "x"}, headers=executive).status_code == 422


# --- reading tasks ---------------------------------------------------------------------


def test_task_list_shape_and_board_order(
    client: TestClient, session: Session, world: World, executive: Headers
) -> None:
    made = {}
    for name, status in [
        ("a", TaskStatus.todo),
        ("b", TaskStatus.in_progress),
        ("c", TaskStatus.done),
        ("d", TaskStatus.review),
        ("e", TaskStatus.blocked),
        ("f", TaskStatus.todo),
        ("g", TaskStatus.todo),
    ]:
        made[name] = make_task(
            session,
            actor=world.team,
            plan=world.plan,
            lead=world.putr,
            title=f"Tugas {name}",
            status=status,
        )
    tasks.cancel_task(
        session,
        actor=world.team,
        task_id=id_of(made["g"]),
        version=made["g"].version,
        note="Tidak lagi relevan",
    )

    response = client.get(f"{API}/tasks", headers=executive)

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"items", "total", "limit", "offset"}
    assert (body["total"], body["limit"], body["offset"]) == (6, 100, 0)
    # Column order (todo, in_progress, blocked, review, done), newest on top of a column;
    # the cancelled task is out of the list.
    assert [t["title"] for t in body["items"]] == [
        "Tugas f",
        "Tugas a",
        "Tugas b",
        "Tugas e",
        "Tugas d",
        "Tugas c",
    ]
    assert all(set(item) == TASK_FIELDS for item in body["items"])
    cancelled = client.get(f"{API}/tasks", params={"status": "cancelled"}, headers=executive)
    assert [t["title"] for t in cancelled.json()["items"]] == ["Tugas g"]
    assert cancelled.json()["total"] == 1


@dataclass
class FilterWorld:
    """Five tasks; their board order is e, b, a (todo, newest first), then c (done)."""

    world: World
    order: list[str]


@pytest.fixture
def filter_world(session: Session, world: World) -> FilterWorld:
    def make(title: str, **fields: Any) -> Task:
        return make_task(session, actor=world.team, plan=world.plan, title=title, **fields)

    make(
        "Jembatan Sungai Rengit",
        lead=world.putr,
        program_ids=[world.membangun.id],
        district_id=world.district.id,
        village="Rantau Bayur",
        due_date=day(world, 10),
    )
    make(
        "Posyandu keliling",
        lead=world.dinkes,
        supporting_unit_ids=[world.putr.id],
        program_ids=[world.sehat.id],
        needs_decision=True,
        due_date=day(world, 90),
    )
    make(
        "Perbaikan jalan desa",
        lead=world.putr,
        program_ids=[world.membangun.id, world.sehat.id],
        due_date=day(world, 10),
        status=TaskStatus.done,
    )
    d = make("Vaksinasi anak", lead=world.dinkes, district_id=world.district.id)
    tasks.cancel_task(
        session,
        actor=world.team,
        task_id=id_of(d),
        version=d.version,
        note="Digabung",
    )
    make("Gorong-gorong 100% selesai", lead=world.dinkes)
    return FilterWorld(world=world, order=["T-005", "T-002", "T-001", "T-003"])


FILTER_CASES: list[tuple[str, Callable[[World], dict[str, Any]], list[str]]] = [
    ("no filter", lambda w: {}, ["T-001", "T-002", "T-003", "T-005"]),
    ("lead or supporting unit", lambda w: {"unit": w.putr.id}, ["T-001", "T-002", "T-003"]),
    ("other unit", lambda w: {"unit": w.dinkes.id}, ["T-002", "T-005"]),
    ("program", lambda w: {"program": w.membangun.id}, ["T-001", "T-003"]),
    ("second program", lambda w: {"program": w.sehat.id}, ["T-002", "T-003"]),
    ("district", lambda w: {"district": w.district.id}, ["T-001"]),
    ("overdue (done is never late)", lambda w: {"overdue": "true"}, ["T-001"]),
    ("needs decision", lambda w: {"needs_decision": "true"}, ["T-002"]),
    ("text, any case", lambda w: {"q": "JEMBATAN"}, ["T-001"]),
    ("text in village", lambda w: {"q": "rantau bayur"}, ["T-001"]),
    ("text in code", lambda w: {"q": "t-002"}, ["T-002"]),
    ("text with a LIKE wildcard", lambda w: {"q": "100%"}, ["T-005"]),
    ("text padded", lambda w: {"q": "  posyandu  "}, ["T-002"]),
    ("status", lambda w: {"status": "done"}, ["T-003"]),
    ("cancelled by status", lambda w: {"status": "cancelled"}, ["T-004"]),
    ("unit and program", lambda w: {"unit": w.putr.id, "program": w.sehat.id}, ["T-002", "T-003"]),
    ("unit and overdue", lambda w: {"unit": w.putr.id, "overdue": "1"}, ["T-001"]),
    (
        "program and needs decision",
        lambda w: {"program": w.sehat.id, "needs_decision": "true"},
        ["T-002"],
    ),
    (
        "district and cancelled",
        lambda w: {"district": w.district.id, "status": "cancelled"},
        ["T-004"],
    ),
    ("unit and status", lambda w: {"unit": w.putr.id, "status": "todo"}, ["T-001", "T-002"]),
    ("no match", lambda w: {"unit": w.district.id}, []),
    ("unknown unit", lambda w: {"unit": 9999}, []),
]


@pytest.mark.parametrize(
    ("params", "expected"),
    [pytest.param(p, e, id=name) for name, p, e in FILTER_CASES],
)
def test_task_list_filters(
    client: TestClient,
    filter_world: FilterWorld,
    params: Callable[[World], dict[str, Any]],
    expected: list[str],
) -> None:
    headers = api_token(client, filter_world.world.dinkes_head)

    response = client.get(f"{API}/tasks", params=params(filter_world.world), headers=headers)

    assert response.status_code == 200, response.text
    codes = [t["code"] for t in response.json()["items"]]
    in_board_order = [c for c in [*filter_world.order, "T-004"] if c in expected]
    assert codes == in_board_order
    assert response.json()["total"] == len(expected)


@pytest.mark.parametrize("q", ["kafé", "KAFÉ", "Kafé"])
def test_text_search_ignores_case_beyond_ascii_on_every_backend(
    client: TestClient, session: Session, world: World, team: Headers, q: str
) -> None:
    """SQLite's own lower() folds ASCII only; the app folds every letter, like PostgreSQL."""
    for title, village in (
        ("Pelatihan barista KAFÉ desa", ""),
        ("Pasar ikan", "Kafé Sungsang"),
        ("Pasar kain", "Sungsang"),
    ):
        make_task(
            session,
            actor=world.team,
            plan=world.plan,
            title=title,
            lead=world.putr,
            village=village,
        )

    response = client.get(f"{API}/tasks", params={"q": q}, headers=team)

    assert response.status_code == 200, response.text
    assert sorted(t["title"] for t in response.json()["items"]) == [
        "Pasar ikan",
        "Pelatihan barista KAFÉ desa",
    ]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "selesai"}, "status"),
        ({"status": ""}, "status"),
        ({"unit": "putr"}, "unit"),
        ({"unit": 0}, "unit"),
        ({"program": 10**20}, "program"),
        ({"district": -1}, "district"),
        ({"overdue": "mungkin"}, "overdue"),
        ({"needs_decision": "2"}, "needs_decision"),
        ({"q": "x" * 101}, "q"),
        ({"limit": 0}, "limit"),
        ({"limit": 501}, "limit"),
        ({"limit": "semua"}, "limit"),
        ({"offset": -1}, "offset"),
        ({"offset": 10**20}, "offset"),
    ],
)
def test_task_list_bad_parameters_answer_422(
    client: TestClient, world: World, team: Headers, params: dict[str, Any], field: str
) -> None:
    response = client.get(f"{API}/tasks", params=params, headers=team)

    assert response.status_code == 422
    assert named_fields(response) == {field}
    assert response.json()["detail"][0]["loc"] == ["query", field]


def test_task_list_pagination(
    client: TestClient, session: Session, world: World, team: Headers
) -> None:
    for n in range(7):
        make_task(session, actor=world.team, plan=world.plan, lead=world.putr, title=f"Tugas {n}")
    everything = client.get(f"{API}/tasks", headers=team).json()["items"]

    pages = [
        client.get(f"{API}/tasks", params={"limit": 3, "offset": o}, headers=team).json()
        for o in (0, 3, 6, 9)
    ]

    assert [len(p["items"]) for p in pages] == [3, 3, 1, 0]
    assert {p["total"] for p in pages} == {7}
    assert [(p["limit"], p["offset"]) for p in pages] == [(3, 0), (3, 3), (3, 6), (3, 9)]
    assert [t["id"] for p in pages for t in p["items"]] == [t["id"] for t in everything]
    assert len({t["id"] for t in everything}) == 7
    largest = client.get(f"{API}/tasks", params={"limit": 500}, headers=team)
    assert largest.status_code == 200


def test_task_list_costs_a_fixed_number_of_queries(
    client: TestClient,
    session: Session,
    world: World,
    team: Headers,
    statements: list[str],
) -> None:
    def listing_queries() -> int:
        statements.clear()
        response = client.get(f"{API}/tasks", headers=team)
        assert response.status_code == 200
        return len(statements)

    def add(count: int) -> None:
        for n in range(count):
            make_task(
                session,
                actor=world.team,
                plan=world.plan,
                lead=world.putr,
                title=f"Tugas {n}",
                supporting_unit_ids=[world.dinkes.id],
                program_ids=[world.membangun.id, world.sehat.id],
            )

    add(2)
    few = listing_queries()
    add(20)
    many = listing_queries()

    assert many == few


def test_tasks_of_another_plan_are_reachable_by_id_only(
    client: TestClient, session: Session, world: World, team: Headers
) -> None:
    old_plan = make_plan(session, start_date=date(2024, 1, 1), is_current=False)
    old = make_task(session, actor=world.team, plan=old_plan, lead=world.putr, title="Lama")
    current = make_task(session, actor=world.team, plan=world.plan, lead=world.putr)

    listed = client.get(f"{API}/tasks", headers=team).json()
    by_id = client.get(f"{API}/tasks/{old.id}", headers=team)
    history = client.get(f"{API}/tasks/{old.id}/events", headers=team)

    assert [t["id"] for t in listed["items"]] == [current.id]
    assert by_id.status_code == 200
    assert by_id.json()["plan_id"] == old_plan.id
    assert [e["kind"] for e in history.json()] == ["created"]


def test_get_task_shape(client: TestClient, session: Session, world: World, putr: Headers) -> None:
    task = make_task(
        session,
        actor=world.team,
        plan=world.plan,
        lead=world.putr,
        title="Jalan poros desa",
        supporting_unit_ids=[world.district.id, world.dinkes.id],
        program_ids=[world.sehat.id, world.membangun.id],
        district_id=world.district.id,
        due_date=day(world, 60),
        weight=3,
        target="3,3 km",
    )

    response = client.get(f"{API}/tasks/{task.id}", headers=putr)

    assert response.status_code == 200
    body = response.json()
    assert set(body) == TASK_FIELDS
    assert body["code"] == "T-001"
    assert body["title"] == "Jalan poros desa"
    assert body["lead_unit_id"] == world.putr.id
    assert body["supporting_unit_ids"] == sorted([id_of(world.district), id_of(world.dinkes)])
    assert body["program_ids"] == sorted([id_of(world.membangun), id_of(world.sehat)])
    assert body["due_date"] == day(world, 60).isoformat()
    assert (body["weight"], body["target"], body["version"]) == (3, "3,3 km", 1)
    assert (body["status"], body["position"], body["progress_pct"]) == ("todo", 1, 0)
    listed = client.get(f"{API}/tasks", headers=putr).json()["items"]
    assert listed == [body]


def test_task_events_with_actor_names(
    client: TestClient, session: Session, world: World, executive: Headers
) -> None:
    task = make_task(
        session, actor=world.team, plan=world.plan, lead=world.putr, status=TaskStatus.blocked
    )
    tasks.add_directive(
        session,
        actor=world.executive,
        task_id=id_of(task),
        note="Segera koordinasi dengan BPN",
    )

    response = client.get(f"{API}/tasks/{task.id}/events", headers=executive)

    assert response.status_code == 200
    body = response.json()
    assert [e["kind"] for e in body] == ["created", "moved", "directive"]
    assert [e["actor_name"] for e in body] == ["Tim Transisi", "Tim Transisi", "Bupati"]
    assert body[1]["from_status"] == "todo"
    assert body[1]["to_status"] == "blocked"
    assert body[1]["changes"]["status"] == ["todo", "blocked"]
    assert body[1]["note"] == "Menunggu pembebasan lahan"
    assert body[2]["note"] == "Segera koordinasi dengan BPN"
    assert set(body[0]) == {
        "id",
        "task_id",
        "actor_id",
        "actor_name",
        "at",
        "kind",
        "from_status",
        "to_status",
        "changes",
        "note",
    }


# --- unknown and malformed ids ----------------------------------------------------------


TASK_ROUTES: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "", None),
    ("GET", "/events", None),
    ("PATCH", "", {"version": 1, "title": "Judul baru"}),
    ("POST", "/move", {"version": 1, "status": "in_progress"}),
    ("POST", "/progress", {"version": 1, "progress_pct": 10}),
    ("POST", "/comments", {"note": "Catatan"}),
    ("POST", "/directives", {"note": "Arahan"}),
    ("POST", "/verify", {"version": 1}),
    ("POST", "/reject", {"version": 1, "note": "Perbaiki"}),
    ("POST", "/cancel", {"version": 1, "note": "Batal"}),
    ("POST", "/restore", {"version": 1}),
]


@pytest.mark.parametrize(
    ("method", "suffix", "body"), [pytest.param(*r, id=f"{r[0]} {r[1]}") for r in TASK_ROUTES]
)
def test_unknown_task_answers_404_and_writes_nothing(
    client: TestClient,
    session: Session,
    world: World,
    team: Headers,
    method: str,
    suffix: str,
    body: dict[str, Any] | None,
) -> None:
    make_task(session, actor=world.team, plan=world.plan, lead=world.putr)
    before = db_state(session)

    response = client.request(method, f"{API}/tasks/9999{suffix}", json=body, headers=team)

    assert response.status_code == 404
    assert response.json() == {"detail": "Tugas tidak ditemukan."}
    assert db_state(session) == before


MALFORMED_IDS = ["abc", "1.5", "1.0", "1e3", "0", "-3", "2147483648", str(2**63), str(10**20)]


@pytest.mark.parametrize(
    ("method", "suffix", "body"), [pytest.param(*r, id=f"{r[0]} {r[1]}") for r in TASK_ROUTES]
)
def test_malformed_task_id_answers_404(
    client: TestClient,
    session: Session,
    world: World,
    team: Headers,
    method: str,
    suffix: str,
    body: dict[str, Any] | None,
) -> None:
    """app.path_ids: an id that cannot exist is not found, like one that does not."""
    before = db_state(session)
    for task_id in MALFORMED_IDS:
        response = client.request(method, f"{API}/tasks/{task_id}{suffix}", json=body, headers=team)

        assert response.status_code == 404, task_id
        assert response.json()["field"] == "task_id"
        assert "tidak ditemukan" in response.json()["detail"]
    assert db_state(session) == before


def test_unknown_api_path_answers_json_404(client: TestClient, team: Headers) -> None:
    response = client.get(f"{API}/nothing-here", headers=team)

    assert response.status_code == 404
    assert isinstance(response.json()["detail"], str)


# --- creating --------------------------------------------------------------------------


def test_create_task(client: TestClient, session: Session, world: World, team: Headers) -> None:
    payload = {
        "title": "  Pembangunan jembatan gantung  ",
        "description": "Jembatan penghubung dua desa.",
        "lead_unit_id": world.putr.id,
        "supporting_unit_ids": [world.dinkes.id, world.putr.id],
        "program_ids": [world.membangun.id],
        "district_id": world.district.id,
        "village": "Sungai Rengit",
        "due_date": day(world, 100).isoformat(),
        "weight": 5,
        "target": "1 unit",
        "needs_decision": True,
    }
    before = db_state(session)

    response = client.post(f"{API}/tasks", json=payload, headers=team)

    assert response.status_code == 201, response.text
    body = response.json()
    assert response.headers["location"] == f"{API}/tasks/{body['id']}"
    assert client.get(response.headers["location"], headers=team).json() == body
    assert body["title"] == "Pembangunan jembatan gantung"
    assert body["code"] == "T-001"
    assert (body["status"], body["position"], body["version"]) == ("todo", 1, 1)
    # The lead unit is not its own supporting unit.
    assert body["supporting_unit_ids"] == [world.dinkes.id]
    assert body["program_ids"] == [world.membangun.id]
    assert (body["weight"], body["needs_decision"], body["district_id"]) == (
        5,
        True,
        world.district.id,
    )
    after = db_state(session)
    assert len(after["tasks"]) == len(before["tasks"]) + 1
    assert after["events"] == before["events"] + 1
    [created] = events_of(session, body["id"])
    assert (created.kind, created.actor_id, created.to_status) == (
        "created",
        world.team.id,
        "todo",
    )


def test_create_task_minimal_defaults(client: TestClient, world: World, team: Headers) -> None:
    response = client.post(
        f"{API}/tasks", json={"title": "Jalan", "lead_unit_id": world.putr.id}, headers=team
    )

    assert response.status_code == 201
    body = response.json()
    assert (body["weight"], body["due_date"], body["description"]) == (1, None, "")
    assert (body["supporting_unit_ids"], body["program_ids"]) == ([], [])


def _create_cases(world: World) -> dict[str, tuple[dict[str, Any], str]]:
    """Bad create bodies → the field the 422 must name."""
    return {
        "due date before day 1": ({"due_date": day(world, 0).isoformat()}, "due_date"),
        "due date after the plan": ({"due_date": day(world, 101).isoformat()}, "due_date"),
        "due date not a date": ({"due_date": "2025-02-30"}, "due_date"),
        "due date in local format": ({"due_date": "20/02/2025"}, "due_date"),
        "weight 0": ({"weight": 0}, "weight"),
        "weight 101": ({"weight": 101}, "weight"),
        "weight not a number": ({"weight": "berat"}, "weight"),
        "title too long": ({"title": "x" * 201}, "title"),
        "title too short": ({"title": "ab"}, "title"),
        "title blank": ({"title": "      "}, "title"),
        "title missing": ({"title": None}, "title"),
        "description too long": ({"description": "x" * 5001}, "description"),
        "target too long": ({"target": "x" * 121}, "target"),
        "village too long": ({"village": "x" * 121}, "village"),
        "unknown lead unit": ({"lead_unit_id": 9999}, "lead_unit_id"),
        "lead unit missing": ({"lead_unit_id": None}, "lead_unit_id"),
        "unknown program": ({"program_ids": [world.sehat.id, 9999]}, "program_ids"),
        "unknown supporting unit": ({"supporting_unit_ids": [9999]}, "supporting_unit_ids"),
        "district is an agency": ({"district_id": world.dinkes.id}, "district_id"),
        "needs decision not a flag": ({"needs_decision": "mungkin"}, "needs_decision"),
    }


CREATE_CASE_NAMES = [
    "due date before day 1",
    "due date after the plan",
    "due date not a date",
    "due date in local format",
    "weight 0",
    "weight 101",
    "weight not a number",
    "title too long",
    "title too short",
    "title blank",
    "title missing",
    "description too long",
    "target too long",
    "village too long",
    "unknown lead unit",
    "lead unit missing",
    "unknown program",
    "unknown supporting unit",
    "district is an agency",
    "needs decision not a flag",
]


@pytest.mark.parametrize("case", CREATE_CASE_NAMES)
def test_create_task_bad_input_answers_422_naming_the_field(
    client: TestClient, session: Session, world: World, team: Headers, case: str
) -> None:
    overrides, field = _create_cases(world)[case]
    payload = {"title": "Jalan desa", "lead_unit_id": world.putr.id, **overrides}
    payload = {k: v for k, v in payload.items() if v is not None}
    make_task(session, actor=world.team, plan=world.plan, lead=world.putr)
    before = db_state(session)

    response = client.post(f"{API}/tasks", json=payload, headers=team)

    assert response.status_code == 422, response.text
    assert named_fields(response) == {field}
    assert db_state(session) == before


def test_create_case_table_is_complete(world: World) -> None:
    assert sorted(_create_cases(world)) == sorted(CREATE_CASE_NAMES)


def test_create_task_with_an_id_beyond_any_row_answers_422(
    client: TestClient, world: World, team: Headers
) -> None:
    response = client.post(
        f"{API}/tasks", json={"title": "Jalan desa", "lead_unit_id": 10**20}, headers=team
    )

    assert response.status_code == 422


def test_create_task_with_a_non_object_body_answers_422(
    client: TestClient, session: Session, world: World, team: Headers
) -> None:
    before = db_state(session)

    as_list = client.post(f"{API}/tasks", json=["Jalan"], headers=team)
    not_json = client.post(
        f"{API}/tasks",
        content=b"{title:",
        headers={**team, "Content-Type": "application/json"},
    )

    assert as_list.status_code == 422
    assert not_json.status_code == 422
    assert db_state(session) == before


# --- editing ---------------------------------------------------------------------------


def test_update_task_changes_only_the_given_fields(
    client: TestClient, session: Session, world: World, team: Headers
) -> None:
    task = make_task(
        session,
        actor=world.team,
        plan=world.plan,
        lead=world.putr,
        description="Lama",
        program_ids=[world.membangun.id],
    )

    response = client.patch(
        f"{API}/tasks/{task.id}",
        json={
            "version": 1,
            "title": "Jembatan baru",
            "due_date": day(world, 30).isoformat(),
            "program_ids": [world.sehat.id],
        },
        headers=team,
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["title"], body["description"], body["version"]) == ("Jembatan baru", "Lama", 2)
    assert body["due_date"] == day(world, 30).isoformat()
    assert body["program_ids"] == [world.sehat.id]
    edited = events_of(session, task)[-1]
    assert edited.kind == "edited"
    assert edited.changes == {
        "title": ["Pembangunan jembatan", "Jembatan baru"],
        "due_date": [None, day(world, 30).isoformat()],
        "program_ids": [[world.membangun.id], [world.sehat.id]],
    }


def test_update_lead_unit_is_an_assignment(
    client: TestClient, session: Session, world: World, team: Headers
) -> None:
    task = make_task(session, actor=world.team, plan=world.plan, lead=world.putr)

    response = client.patch(
        f"{API}/tasks/{task.id}", json={"version": 1, "lead_unit_id": world.dinkes.id}, headers=team
    )

    assert response.status_code == 200
    assert response.json()["lead_unit_id"] == world.dinkes.id
    assert events_of(session, task)[-1].kind == "assigned"


def test_update_without_changes_writes_nothing(
    client: TestClient, session: Session, world: World, team: Headers
) -> None:
    task = make_task(session, actor=world.team, plan=world.plan, lead=world.putr)
    before = db_state(session)

    response = client.patch(
        f"{API}/tasks/{task.id}",
        json={"version": 1, "title": "Pembangunan jembatan"},
        headers=team,
    )

    assert response.status_code == 200
    assert response.json()["version"] == 1
    assert db_state(session) == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"weight": 0}, "weight"),
        ({"weight": None}, "weight"),
        ({"due_date": "2099-01-01"}, "due_date"),
        ({"due_date": "besok"}, "due_date"),
        ({"title": "x" * 201}, "title"),
        ({"title": None}, "title"),
        ({"description": "x" * 5001}, "description"),
        ({"lead_unit_id": 9999}, "lead_unit_id"),
        ({"lead_unit_id": None}, "lead_unit_id"),
        ({"district_id": 9999}, "district_id"),
        ({"version": 0}, "version"),
        ({"version": "satu"}, "version"),
        ({"version": None}, "version"),
    ],
)
def test_update_bad_input_answers_422_naming_the_field(
    client: TestClient,
    session: Session,
    world: World,
    team: Headers,
    body: dict[str, Any],
    field: str,
) -> None:
    task = make_task(session, actor=world.team, plan=world.plan, lead=world.putr)
    payload = {"version": 1, "title": "Judul yang benar", **body}
    payload = {k: v for k, v in payload.items() if not (k == "version" and v is None)}
    before = db_state(session)

    response = client.patch(f"{API}/tasks/{task.id}", json=payload, headers=team)

    assert response.status_code == 422, response.text
    assert named_fields(response) == {field}
    assert db_state(session) == before


def test_update_of_a_cancelled_task_answers_422(
    client: TestClient, session: Session, world: World, team: Headers
) -> None:
    task = make_task(session, actor=world.team, plan=world.plan, lead=world.putr)
    task = tasks.cancel_task(
        session,
        actor=world.team,
        task_id=id_of(task),
        version=1,
        note="Batal",
    )
    before = db_state(session)

    response = client.patch(
        f"{API}/tasks/{task.id}",
        json={"version": task.version, "title": "Hidup lagi"},
        headers=team,
    )

    assert response.status_code == 422
    assert db_state(session) == before


# --- moving and the other actions -------------------------------------------------------


def test_move_places_the_task_after_another(
    client: TestClient, session: Session, world: World, putr: Headers
) -> None:
    first, second, third = (
        make_task(
            session,
            actor=world.team,
            plan=world.plan,
            lead=world.putr,
            title=f"Tugas {n}",
            status=TaskStatus.in_progress,
        )
        for n in range(3)
    )
    todo = make_task(session, actor=world.team, plan=world.plan, lead=world.putr)
    # Column Sedang Berjalan is now: third, second, first.

    response = client.post(
        f"{API}/tasks/{todo.id}/move",
        json={"version": 1, "status": "in_progress", "after_id": second.id},
        headers=putr,
    )

    assert response.status_code == 200, response.text
    assert (response.json()["status"], response.json()["position"]) == ("in_progress", 3)
    column = client.get(f"{API}/tasks", params={"status": "in_progress"}, headers=putr).json()[
        "items"
    ]
    assert [t["id"] for t in column] == [third.id, second.id, todo.id, first.id]
    assert [t["position"] for t in column] == [1, 2, 3, 4]
    moved = events_of(session, todo)[-1]
    assert (moved.kind, moved.from_status, moved.to_status, moved.actor_id) == (
        "moved",
        "todo",
        "in_progress",
        world.putr_head.id,
    )


@pytest.mark.parametrize(
    ("start", "body", "field"),
    [
        (TaskStatus.todo, {"status": "selesai"}, "status"),
        (TaskStatus.todo, {"status": None}, "status"),
        (TaskStatus.todo, {"status": "cancelled"}, "status"),
        (TaskStatus.todo, {"status": "blocked"}, "blocked_reason"),
        (TaskStatus.todo, {"status": "blocked", "blocked_reason": "   "}, "blocked_reason"),
        (TaskStatus.todo, {"status": "blocked", "blocked_reason": "x" * 2001}, "blocked_reason"),
        (TaskStatus.todo, {"status": "in_progress", "note": "x" * 2001}, "note"),
        (TaskStatus.review, {"status": "in_progress"}, "note"),
        (TaskStatus.todo, {"status": "in_progress", "version": None}, "version"),
        (TaskStatus.todo, {"status": "in_progress", "after_id": "atas"}, "after_id"),
    ],
)
def test_move_bad_input_answers_422_naming_the_field(
    client: TestClient,
    session: Session,
    world: World,
    team: Headers,
    start: TaskStatus,
    body: dict[str, Any],
    field: str,
) -> None:
    task = make_task(session, actor=world.team, plan=world.plan, lead=world.putr, status=start)
    payload = {"version": task.version, **body}
    payload = {k: v for k, v in payload.items() if v is not None}
    before = db_state(session)

    response = client.post(f"{API}/tasks/{task.id}/move", json=payload, headers=team)

    assert response.status_code == 422, response.text
    assert named_fields(response) == {field}
    assert db_state(session) == before


def test_move_into_blocked_keeps_the_reason(
    client: TestClient, session: Session, world: World, putr: Headers
) -> None:
    task = make_task(session, actor=world.team, plan=world.plan, lead=world.putr)

    response = client.post(
        f"{API}/tasks/{task.id}/move",
        json={"version": 1, "status": "blocked", "blocked_reason": "Lahan belum bebas"},
        headers=putr,
    )

    assert response.status_code == 200
    assert response.json()["blocked_reason"] == "Lahan belum bebas"
    assert events_of(session, task)[-1].note == "Lahan belum bebas"


def test_team_moving_out_of_review_is_a_rejection(
    client: TestClient, session: Session, world: World, team: Headers
) -> None:
    task = make_task(
        session, actor=world.team, plan=world.plan, lead=world.putr, status=TaskStatus.review
    )

    response = client.post(
        f"{API}/tasks/{task.id}/move",
        json={"version": task.version, "status": "in_progress", "note": "Foto bukti kurang"},
        headers=team,
    )

    assert response.status_code == 200
    last = events_of(session, task)[-1]
    assert (last.kind, last.note) == ("rejected", "Foto bukti kurang")


def test_team_moving_into_done_verifies(
    client: TestClient, session: Session, world: World, team: Headers
) -> None:
    task = make_task(
        session, actor=world.team, plan=world.plan, lead=world.putr, status=TaskStatus.review
    )

    body = client.post(
        f"{API}/tasks/{task.id}/move",
        json={"version": task.version, "status": "done"},
        headers=team,
    ).json()

    assert (body["status"], body["progress_pct"]) == ("done", 100)
    assert body["done_at"] is not None
    assert events_of(session, task)[-1].kind == "verified"


def test_progress_update(client: TestClient, session: Session, world: World, putr: Headers) -> None:
    task = make_task(
        session,
        actor=world.team,
        plan=world.plan,
        lead=world.putr,
        status=TaskStatus.in_progress,
        target="250 KK",
    )

    response = client.post(
        f"{API}/tasks/{task.id}/progress",
        json={"version": task.version, "progress_pct": 60, "realisation": "150 KK", "note": "Ok"},
        headers=putr,
    )

    assert response.status_code == 200
    body = response.json()
    assert (body["progress_pct"], body["realisation"]) == (60, "150 KK")
    last = events_of(session, task)[-1]
    assert (last.kind, last.changes["progress_pct"], last.note) == ("progress", [0, 60], "Ok")


@pytest.mark.parametrize(
    ("start", "body", "field"),
    [
        (TaskStatus.in_progress, {"progress_pct": 101}, "progress_pct"),
        (TaskStatus.in_progress, {"progress_pct": -1}, "progress_pct"),
        (TaskStatus.in_progress, {"progress_pct": "setengah"}, "progress_pct"),
        (TaskStatus.in_progress, {"progress_pct": None}, "progress_pct"),
        (TaskStatus.in_progress, {"progress_pct": 50, "realisation": "x" * 121}, "realisation"),
        (TaskStatus.in_progress, {"progress_pct": 50, "note": "x" * 2001}, "note"),
        (TaskStatus.done, {"progress_pct": 50}, "progress_pct"),
    ],
)
def test_progress_bad_input_answers_422_naming_the_field(
    client: TestClient,
    session: Session,
    world: World,
    team: Headers,
    start: TaskStatus,
    body: dict[str, Any],
    field: str,
) -> None:
    task = make_task(session, actor=world.team, plan=world.plan, lead=world.putr, status=start)
    payload = {"version": task.version, **body}
    payload = {k: v for k, v in payload.items() if v is not None}
    before = db_state(session)

    response = client.post(f"{API}/tasks/{task.id}/progress", json=payload, headers=team)

    assert response.status_code == 422, response.text
    assert named_fields(response) == {field}
    assert db_state(session) == before


@pytest.mark.parametrize(
    ("suffix", "headers_of"),
    [("/comments", "putr_head"), ("/directives", "executive")],
)
def test_notes(
    client: TestClient, session: Session, world: World, suffix: str, headers_of: str
) -> None:
    task = make_task(session, actor=world.team, plan=world.plan, lead=world.putr)
    user: User = getattr(world, headers_of)
    headers = api_token(client, user)

    response = client.post(
        f"{API}/tasks/{task.id}{suffix}", json={"note": "  Mohon dipercepat  "}, headers=headers
    )

    assert response.status_code == 200, response.text
    assert response.json()["version"] == 2
    last = events_of(session, task)[-1]
    assert (last.kind, last.note, last.actor_id) == (
        suffix.strip("/").removesuffix("s"),
        "Mohon dipercepat",
        user.id,
    )


@pytest.mark.parametrize("suffix", ["/comments", "/directives"])
@pytest.mark.parametrize("note", [None, "", "   ", "x" * 2001])
def test_notes_bad_input_answers_422(
    client: TestClient,
    session: Session,
    world: World,
    team: Headers,
    suffix: str,
    note: str | None,
) -> None:
    task = make_task(session, actor=world.team, plan=world.plan, lead=world.putr)
    before = db_state(session)

    response = client.post(
        f"{API}/tasks/{task.id}{suffix}", json={} if note is None else {"note": note}, headers=team
    )

    assert response.status_code == 422
    assert named_fields(response) == {"note"}
    assert db_state(session) == before


def test_verify_reject_cancel_restore(
    client: TestClient, session: Session, world: World, team: Headers
) -> None:
    review = make_task(
        session, actor=world.team, plan=world.plan, lead=world.putr, status=TaskStatus.review
    )
    other = make_task(
        session, actor=world.team, plan=world.plan, lead=world.putr, status=TaskStatus.review
    )

    verified = client.post(
        f"{API}/tasks/{review.id}/verify", json={"version": review.version}, headers=team
    ).json()
    rejected = client.post(
        f"{API}/tasks/{other.id}/reject",
        json={"version": other.version, "note": "Lampirkan berita acara"},
        headers=team,
    ).json()
    cancelled = client.post(
        f"{API}/tasks/{other.id}/cancel",
        json={"version": rejected["version"], "note": "Anggaran dialihkan"},
        headers=team,
    ).json()
    restored = client.post(
        f"{API}/tasks/{other.id}/restore", json={"version": cancelled["version"]}, headers=team
    ).json()

    assert (verified["status"], verified["progress_pct"]) == ("done", 100)
    assert rejected["status"] == "in_progress"
    assert (cancelled["status"], cancelled["position"]) == ("cancelled", 0)
    assert (restored["status"], restored["position"]) == ("todo", 1)
    kinds = [e.kind for e in events_of(session, other)]
    assert kinds[-3:] == ["rejected", "cancelled", "moved"]
    assert events_of(session, review)[-1].kind == "verified"


@pytest.mark.parametrize(
    ("start", "suffix", "body", "field"),
    [
        (TaskStatus.review, "/reject", {}, "note"),
        (TaskStatus.review, "/reject", {"note": "  "}, "note"),
        (TaskStatus.todo, "/cancel", {}, "note"),
        (TaskStatus.todo, "/cancel", {"note": "x" * 2001}, "note"),
        (TaskStatus.in_progress, "/verify", {}, None),
        (TaskStatus.in_progress, "/reject", {"note": "Perbaiki"}, None),
        (TaskStatus.todo, "/restore", {}, None),
        (TaskStatus.review, "/verify", {"version": 0}, "version"),
        (TaskStatus.todo, "/restore", {"version": None}, "version"),
    ],
)
def test_actions_bad_input_answers_422(
    client: TestClient,
    session: Session,
    world: World,
    team: Headers,
    start: TaskStatus,
    suffix: str,
    body: dict[str, Any],
    field: str | None,
) -> None:
    task = make_task(session, actor=world.team, plan=world.plan, lead=world.putr, status=start)
    payload = {"version": task.version, **body}
    payload = {k: v for k, v in payload.items() if v is not None}
    before = db_state(session)

    response = client.post(f"{API}/tasks/{task.id}{suffix}", json=payload, headers=team)

    assert response.status_code == 422, response.text
    assert named_fields(response) == {field}
    assert db_state(session) == before


# --- every change writes one event; stale versions answer 409 ---------------------------


@dataclass(frozen=True)
class Change:
    start: TaskStatus | None  # None: cancelled
    method: str
    suffix: str
    body: dict[str, Any]
    kind: str


CHANGES: dict[str, Change] = {
    "edit": Change(TaskStatus.todo, "PATCH", "", {"title": "Judul lain"}, "edited"),
    "assign": Change(TaskStatus.todo, "PATCH", "", {"lead_unit_id": 0}, "assigned"),
    "move": Change(TaskStatus.todo, "POST", "/move", {"status": "in_progress"}, "moved"),
    "blocked to review": Change(
        TaskStatus.blocked, "POST", "/move", {"status": "review", "note": "Siap"}, "moved"
    ),
    "move into done": Change(TaskStatus.review, "POST", "/move", {"status": "done"}, "verified"),
    "reopen done": Change(TaskStatus.done, "POST", "/move", {"status": "in_progress"}, "moved"),
    "progress": Change(
        TaskStatus.in_progress, "POST", "/progress", {"progress_pct": 40}, "progress"
    ),
    "comment": Change(TaskStatus.todo, "POST", "/comments", {"note": "Sudah survei"}, "comment"),
    "directive": Change(
        TaskStatus.todo, "POST", "/directives", {"note": "Prioritaskan"}, "directive"
    ),
    "verify": Change(TaskStatus.review, "POST", "/verify", {}, "verified"),
    "reject": Change(TaskStatus.review, "POST", "/reject", {"note": "Kurang foto"}, "rejected"),
    "cancel": Change(TaskStatus.in_progress, "POST", "/cancel", {"note": "Ganda"}, "cancelled"),
    "restore": Change(None, "POST", "/restore", {}, "moved"),
}
VERSIONED = [name for name, c in CHANGES.items() if c.suffix not in ("/comments", "/directives")]


def _task_for(session: Session, world: World, change: Change) -> Task:
    if change.start is not None:
        return make_task(
            session, actor=world.team, plan=world.plan, lead=world.putr, status=change.start
        )
    task = make_task(session, actor=world.team, plan=world.plan, lead=world.putr)
    return tasks.cancel_task(
        session,
        actor=world.team,
        task_id=id_of(task),
        version=task.version,
        note="Batal",
    )


def _body(world: World, change: Change, version: int) -> dict[str, Any]:
    body = {**change.body, "version": version}
    if body.get("lead_unit_id") == 0:
        body["lead_unit_id"] = world.dinkes.id
    return body


@pytest.mark.parametrize("name", list(CHANGES))
def test_every_change_writes_exactly_one_event(
    client: TestClient, session: Session, world: World, team: Headers, name: str
) -> None:
    change = CHANGES[name]
    task = _task_for(session, world, change)
    version = task.version
    before = db_state(session)

    response = client.request(
        change.method,
        f"{API}/tasks/{task.id}{change.suffix}",
        json=_body(world, change, version),
        headers=team,
    )

    assert response.status_code == 200, response.text
    after = db_state(session)
    assert after["events"] == before["events"] + 1
    last = events_of(session, task)[-1]
    assert (last.kind, last.actor_id) == (change.kind, world.team.id)
    stored = fresh_task(session, task)
    assert stored.version == version + 1
    assert response.json() == TaskPublic.model_validate(
        stored,
        update={
            # Readers see the card's place 1..n in its column (stored numbers are sparse).
            "position": positions.ranks(session, [stored])[id_of(stored)],
            "supporting_unit_ids": response.json()["supporting_unit_ids"],
            "program_ids": response.json()["program_ids"],
        },
    ).model_dump(mode="json")


@pytest.mark.parametrize("name", VERSIONED)
def test_stale_version_answers_409_with_current_and_writes_nothing(
    client: TestClient, session: Session, world: World, team: Headers, name: str
) -> None:
    change = CHANGES[name]
    task = _task_for(session, world, change)
    seen = task.version
    # Someone else writes a note meanwhile: the version the client saw is now stale.
    tasks.add_comment(session, actor=world.putr_head, task_id=id_of(task), note="Update lapangan")
    before = db_state(session)

    response = client.request(
        change.method,
        f"{API}/tasks/{task.id}{change.suffix}",
        json=_body(world, change, seen),
        headers=team,
    )

    assert response.status_code == 409, response.text
    body = response.json()
    assert "Kadis Putr" in body["detail"]
    assert body["current"]["version"] == seen + 1
    assert body["current"] == client.get(f"{API}/tasks/{task.id}", headers=team).json()
    assert db_state(session) == before


def test_changes_table_covers_every_mutating_task_route() -> None:
    # Creating, and importing a spreadsheet (tests/test_transfer_routes.py), are not per task.
    covered = {(c.method, c.suffix) for c in CHANGES.values()} | {("POST", ""), ("POST", "/import")}
    # Evidence answers the evidence item, not the task: tests/test_evidence_api.py.
    covered |= {("POST", "/evidence"), ("DELETE", "/evidence/{evidence_id}")}
    routes = {
        (method, route.path.removeprefix(f"{API}/tasks/{{task_id}}").removeprefix(f"{API}/tasks"))
        for route in api_router.routes
        if isinstance(route, APIRoute) and route.path.startswith(f"{API}/tasks")
        for method in route.methods or ()
        if method != "GET"
    }
    assert routes == covered


# --- the OpenAPI document --------------------------------------------------------------

TASK = "#/components/schemas/TaskPublic"
EVIDENCE = "#/components/schemas/EvidencePublic"
EXPECTED_OPERATIONS: dict[tuple[str, str], tuple[str, str | None]] = {
    ("post", "/auth/token"): ("200", "#/components/schemas/TokenPublic"),
    ("delete", "/auth/token"): ("204", None),
    ("get", "/me"): ("200", "#/components/schemas/MePublic"),
    ("get", "/plan"): ("200", "#/components/schemas/PlanPublic"),
    ("get", "/units"): ("200", "#/components/schemas/UnitPublic"),
    ("get", "/programs"): ("200", "#/components/schemas/ProgramPublic"),
    ("get", "/tasks"): ("200", "#/components/schemas/TaskPage"),
    ("post", "/tasks"): ("201", TASK),
    ("get", "/tasks/{task_id}"): ("200", TASK),
    ("patch", "/tasks/{task_id}"): ("200", TASK),
    ("get", "/tasks/{task_id}/events"): ("200", "#/components/schemas/TaskEventPublic"),
    ("post", "/tasks/{task_id}/move"): ("200", TASK),
    ("post", "/tasks/{task_id}/progress"): ("200", TASK),
    ("post", "/tasks/{task_id}/comments"): ("200", TASK),
    ("post", "/tasks/{task_id}/directives"): ("200", TASK),
    ("get", "/tasks/{task_id}/directives"): ("200", "#/components/schemas/DirectivePublic"),
    ("post", "/tasks/{task_id}/follow-ups"): ("200", TASK),
    ("post", "/tasks/{task_id}/decisions"): ("200", TASK),
    ("post", "/tasks/{task_id}/verify"): ("200", TASK),
    ("post", "/tasks/{task_id}/reject"): ("200", TASK),
    ("post", "/tasks/{task_id}/cancel"): ("200", TASK),
    ("post", "/tasks/{task_id}/restore"): ("200", TASK),
    ("get", "/tasks/{task_id}/evidence"): ("200", EVIDENCE),
    ("post", "/tasks/{task_id}/evidence"): ("201", EVIDENCE),
    ("delete", "/tasks/{task_id}/evidence/{evidence_id}"): ("200", EVIDENCE),
    ("get", "/tasks/{task_id}/evidence/{evidence_id}/file"): ("200", None),
    ("get", "/burndown"): ("200", "#/components/schemas/BurndownPublic"),
    ("post", "/tasks/import"): ("200", "#/components/schemas/ImportReport"),
    ("get", "/dashboard"): ("200", "#/components/schemas/DashboardPublic"),
    ("get", "/curve"): ("200", "#/components/schemas/CurvePublic"),
}


@pytest.fixture
def openapi(client: TestClient) -> dict[str, Any]:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    doc: dict[str, Any] = response.json()
    return doc


def test_openapi_lists_every_api_endpoint(openapi: dict[str, Any]) -> None:
    documented = {
        (method, path.removeprefix(API))
        for path, operations in openapi["paths"].items()
        if path.startswith(API)
        for method in operations
    }
    routed = {
        (method.lower(), route.path.removeprefix(API))
        for route in (
            *api_router.routes,
            *api_dashboard_router.routes,
            *api_directives_router.routes,
        )
        if isinstance(route, APIRoute)
        for method in route.methods or ()
    }
    assert documented == set(EXPECTED_OPERATIONS) == routed


@pytest.mark.parametrize(("method", "path"), list(EXPECTED_OPERATIONS))
def test_openapi_operation_is_complete(openapi: dict[str, Any], method: str, path: str) -> None:
    operation = openapi["paths"][API + path][method]
    status, schema_ref = EXPECTED_OPERATIONS[(method, path)]

    assert operation["tags"]
    assert operation["summary"]
    assert operation["description"]
    assert status in operation["responses"]
    success = operation["responses"][status]
    if schema_ref is None:
        assert "content" not in success
    else:
        schema = success["content"]["application/json"]["schema"]
        assert schema.get("$ref", schema.get("items", {}).get("$ref")) == schema_ref
    errors = operation["responses"]
    assert errors["401"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorDetail")
    if (method, path) == ("post", "/auth/token"):
        assert "security" not in operation
    else:
        assert operation["security"] == [{"OAuth2PasswordBearer": []}]
    if "{task_id}" in path or "requestBody" in operation:
        assert errors["422"]["content"]["application/json"]["schema"]["$ref"].endswith(
            "/ValidationErrorDetail"
        )
    if "{task_id}" in path:
        assert errors["404"]["content"]["application/json"]["schema"]["$ref"].endswith(
            "/ErrorDetail"
        )
    if method != "get" and "{task_id}" in path:
        assert errors["403"]["content"]["application/json"]["schema"]["$ref"].endswith(
            "/ErrorDetail"
        )
    takes_version = path.endswith(
        ("{task_id}", "move", "progress", "verify", "reject", "cancel", "restore", "decisions")
    )
    if method != "get" and takes_version:
        assert errors["409"]["content"]["application/json"]["schema"]["$ref"].endswith(
            "/ConflictDetail"
        )


def test_openapi_security_scheme_and_error_models(openapi: dict[str, Any]) -> None:
    scheme = openapi["components"]["securitySchemes"]["OAuth2PasswordBearer"]
    assert scheme["flows"]["password"]["tokenUrl"] == f"{API}/auth/token"
    schemas = openapi["components"]["schemas"]
    # `current` is the task, absent only on a busy database's 409 (tests/test_write_retry.py).
    current = schemas["ConflictDetail"]["properties"]["current"]
    assert {"$ref": TASK} in current["anyOf"]
    assert schemas["ConflictDetail"]["required"] == ["detail"]
    assert set(schemas["ErrorDetail"]["properties"]) == {"detail", "field"}
    status = schemas["TaskStatus"]["enum"]
    assert status == ["todo", "in_progress", "blocked", "review", "done", "cancelled"]
    task_list = openapi["paths"][f"{API}/tasks"]["get"]
    assert {p["name"] for p in task_list["parameters"]} == {
        "unit",
        "program",
        "district",
        "overdue",
        "needs_decision",
        "q",
        "status",
        "limit",
        "offset",
    }


def test_docs_page_answers(client: TestClient) -> None:
    response = client.get("/docs")

    assert response.status_code == 200
    assert "swagger-ui" in response.text
    assert "/openapi.json" in response.text
