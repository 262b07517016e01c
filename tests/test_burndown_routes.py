"""GET /api/v1/burndown (bearer token, every role) and GET /burndown.csv (browser session,
every role): shape, filters, measure, bad input, access."""

import csv
import io
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.models import ProgramKind, TaskStatus, User
from app.services import tasks
from app.services.calendar import PlanCalendar
from tests.factories import World, api_token, login, make_program, make_task

API = "/api/v1/burndown"


@pytest.fixture
def tasks_in_flight(session: Session, world: World) -> dict[str, int]:
    """Five tasks of the world's plan (today is day 45), all created today: a PUTR task in
    the district (Membangun, weight 3, done); a PUTR task (weight 2, in progress); a Dinkes
    task supported by PUTR (Sehat, weight 5); a Dinkes task of a movement program (weight 1,
    in review); a cancelled PUTR task (weight 4)."""
    gema = make_program(session, code="GEMA", kind=ProgramKind.movement)
    team = world.team
    plan = world.plan
    make_task(
        session,
        actor=team,
        plan=plan,
        lead=world.putr,
        status=TaskStatus.done,
        district_id=world.district.id,
        program_ids=[world.membangun.id],
        weight=3,
    )
    make_task(
        session, actor=team, plan=plan, lead=world.putr, status=TaskStatus.in_progress, weight=2
    )
    make_task(
        session,
        actor=team,
        plan=plan,
        lead=world.dinkes,
        supporting_unit_ids=[world.putr.id],
        program_ids=[world.sehat.id],
        weight=5,
    )
    make_task(
        session,
        actor=team,
        plan=plan,
        lead=world.dinkes,
        status=TaskStatus.review,
        program_ids=[gema.id],
        weight=1,
    )
    cancelled = make_task(session, actor=team, plan=plan, lead=world.putr, weight=4)
    assert cancelled.id is not None
    assert gema.id is not None
    tasks.cancel_task(
        session, actor=team, task_id=cancelled.id, version=cancelled.version, note="Digabung"
    )
    return {"gema": gema.id}


def today_day(world: World) -> int:
    calendar = PlanCalendar.of(world.plan)
    return calendar.day_number(calendar.today())


# --- JSON API --------------------------------------------------------------------------


def test_api_requires_a_token(client: TestClient, world: World) -> None:
    response = client.get(API)

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert "detail" in response.json()


def test_api_refuses_a_browser_session(client: TestClient, world: World) -> None:
    login(client, world.executive)

    assert client.get(API).status_code == 401


@pytest.mark.parametrize("who", ["team", "putr_head", "executive"])
def test_api_every_role_may_read(
    client: TestClient, world: World, tasks_in_flight: dict[str, int], who: str
) -> None:
    user: User = getattr(world, who)

    response = client.get(API, headers=api_token(client, user))

    assert response.status_code == 200, response.text
    assert response.json()["current_scope"] == 4


def test_api_shape(client: TestClient, world: World, tasks_in_flight: dict[str, int]) -> None:
    day = today_day(world)

    body = client.get(API, headers=api_token(client, world.executive)).json()

    assert set(body) == {
        "plan",
        "measure",
        "length_days",
        "today_day",
        "baseline_at",
        "baseline_scope",
        "current_scope",
        "current_remaining",
        "forecast",
        "points",
    }
    assert body["plan"]["id"] == world.plan.id
    assert body["plan"]["today_day"] == body["today_day"] == day
    assert (body["measure"], body["length_days"]) == ("count", 100)
    # Everything was created today, after the baseline (the start of day 1).
    assert body["baseline_scope"] == 0
    assert (body["current_scope"], body["current_remaining"]) == (4, 3)
    points = body["points"]
    assert len(points) == 101
    assert [p["day"] for p in points] == list(range(101))
    assert set(points[0]) == {
        "day",
        "date",
        "is_working_day",
        "ideal",
        "scope",
        "remaining",
        "added",
        "removed",
    }
    assert points[0]["date"] == (world.plan.start_date - timedelta(days=1)).isoformat()
    assert points[day] == {
        "day": day,
        "date": points[day]["date"],
        "is_working_day": True,
        "ideal": 0.0,
        "scope": 4.0,
        "remaining": 3.0,
        "added": 5.0,
        "removed": 1.0,
    }
    assert all(p["scope"] is None and p["remaining"] is None for p in points[day + 1 :])
    assert body["forecast"] == {
        "window_days": 14,
        "burn_per_day": pytest.approx(-3 / 14),
        "day": None,
        "date": None,
        "remaining": 3.0,
        "label": "Dengan laju saat ini, tugas tidak selesai sampai Hari ke-100",
    }


@pytest.mark.parametrize(
    ("params", "scope", "remaining"),
    [
        (lambda w, ids: {"unit": w.putr.id}, 3, 2),  # lead or supporting
        (lambda w, ids: {"unit": w.dinkes.id}, 2, 2),
        (lambda w, ids: {"program": w.sehat.id}, 1, 1),
        (lambda w, ids: {"kind": "movement"}, 1, 1),
        (lambda w, ids: {"kind": "priority"}, 2, 1),
        (lambda w, ids: {"district": w.district.id}, 1, 0),
        (lambda w, ids: {"unit": w.dinkes.id, "program": ids["gema"]}, 1, 1),
        (lambda w, ids: {"measure": "weight"}, 11, 8),
        (lambda w, ids: {"measure": "weight", "unit": w.putr.id}, 10, 7),
        (lambda w, ids: {"measure": "count"}, 4, 3),
    ],
)
def test_api_filters_and_measure(
    client: TestClient,
    world: World,
    tasks_in_flight: dict[str, int],
    params: Any,
    scope: int,
    remaining: int,
) -> None:
    query = params(world, tasks_in_flight)

    body = client.get(API, params=query, headers=api_token(client, world.team)).json()

    assert (body["current_scope"], body["current_remaining"]) == (scope, remaining)
    assert body["measure"] == query.get("measure", "count")


def test_api_unknown_ids_match_nothing(
    client: TestClient, world: World, tasks_in_flight: dict[str, int]
) -> None:
    body = client.get(API, params={"unit": 9999}, headers=api_token(client, world.team)).json()

    assert (body["current_scope"], body["baseline_scope"]) == (0, 0)
    assert body["forecast"]["label"] == "Belum ada tugas dalam lingkup ini"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"measure": "bobot"}, "measure"),
        ({"measure": ""}, "measure"),
        ({"unit": 0}, "unit"),
        ({"unit": "putr"}, "unit"),
        ({"program": -1}, "program"),
        ({"program": 10**20}, "program"),
        ({"kind": "unggulan"}, "kind"),
        ({"district": "1.5"}, "district"),
    ],
)
def test_api_bad_parameters_answer_422(
    client: TestClient, world: World, params: dict[str, Any], field: str
) -> None:
    response = client.get(API, params=params, headers=api_token(client, world.team))

    assert response.status_code == 422
    detail = response.json()["detail"]
    assert [issue["loc"] for issue in detail] == [["query", field]]


def test_api_without_a_current_plan_answers_404(
    client: TestClient, session: Session, world: World
) -> None:
    headers = api_token(client, world.team)
    world.plan.is_current = False
    session.add(world.plan)
    session.commit()

    response = client.get(API, headers=headers)

    assert response.status_code == 404
    assert response.json()["detail"]


def test_api_is_documented(client: TestClient) -> None:
    operation = client.get("/openapi.json").json()["paths"][API]["get"]

    assert operation["tags"] == ["burndown"]
    assert operation["operationId"] == "read_burndown"
    params = {p["name"]: p for p in operation["parameters"]}
    assert set(params) == {"unit", "program", "kind", "district", "measure"}
    assert params["measure"]["schema"]["enum"] == ["count", "weight"]
    assert params["measure"]["schema"]["default"] == "count"
    assert all(p["in"] == "query" and p["description"] for p in params.values())
    assert {"200", "401", "404", "422"} <= set(operation["responses"])


# --- CSV -------------------------------------------------------------------------------


def _csv_rows(body: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))


def test_csv_requires_a_login(client: TestClient, world: World) -> None:
    response = client.get("/burndown.csv?measure=weight", follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Fburndown.csv%3Fmeasure%3Dweight"


def test_csv_does_not_take_a_bearer_token(client: TestClient, world: World) -> None:
    headers = api_token(client, world.team)

    response = client.get("/burndown.csv", headers=headers, follow_redirects=False)

    assert response.status_code == 303


@pytest.mark.parametrize("who", ["team", "putr_head", "executive"])
def test_csv_every_role_may_download(
    client: TestClient, world: World, tasks_in_flight: dict[str, int], who: str
) -> None:
    login(client, getattr(world, who))
    day = today_day(world)
    today = PlanCalendar.of(world.plan).today().isoformat()

    response = client.get("/burndown.csv")

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == (
        f'attachment; filename="burndown-{today}-jumlah.csv"'
    )
    assert response.content.startswith(b"\xef\xbb\xbf")
    rows = _csv_rows(response.content)
    assert rows[0] == [
        "hari",
        "tanggal",
        "hari_kerja",
        "ideal",
        "lingkup",
        "sisa",
        "ditambah",
        "dikurangi",
    ]
    assert len(rows) == 1 + 101
    day_zero = (world.plan.start_date - timedelta(days=1)).isoformat()
    assert rows[1][:3] == ["0", day_zero, "ya"]
    assert rows[1 + day][4:] == ["4", "3", "5", "1"]
    assert rows[2 + day][4:6] == ["", ""]


def test_csv_filters_and_measure(
    client: TestClient, world: World, tasks_in_flight: dict[str, int]
) -> None:
    login(client, world.putr_head)
    day = today_day(world)
    today = PlanCalendar.of(world.plan).today().isoformat()

    response = client.get(
        "/burndown.csv", params={"measure": "weight", "unit": world.putr.id, "kind": "priority"}
    )

    assert response.status_code == 200
    assert response.headers["content-disposition"] == (
        f'attachment; filename="burndown-{today}-bobot-unit-{world.putr.id}-kind-priority.csv"'
    )
    rows = _csv_rows(response.content)
    # PUTR's priority tasks: the done one (Membangun, 3) and Dinkes' Sehat task it supports (5).
    assert rows[1 + day][4:6] == ["8", "5"]


@pytest.mark.parametrize("query", ["measure=bobot", "unit=abc", "kind=x", "district=0"])
def test_csv_bad_parameters_answer_422(client: TestClient, world: World, query: str) -> None:
    login(client, world.team)

    response = client.get(f"/burndown.csv?{query}")

    assert response.status_code == 422
    assert "text/html" in response.headers["content-type"]
