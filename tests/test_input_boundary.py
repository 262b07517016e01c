"""Issue 11: never a 500 — the text policy at the request boundary, one typed path id (404),
nulls as the schema says, malformed bodies as a documented 422, and exports that never fail
on stored text (rows written before the policy included). Runs on SQLite and PostgreSQL."""

import csv
import io
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import Engine
from sqlmodel import Session, col, func, select

from app.models import EventKind, Evidence, Task, TaskEvent, TaskUpdate, Unit, User
from app.text_input import (
    MultiLineText,
    SingleLineText,
    TextRefused,
    cell_text,
    clean_text,
    export_text,
    header_text,
)
from tests.databases import on_postgres
from tests.factories import World, api_token, login, make_task
from tests.routes import app_routes

API = "/api/v1"
# A character of each class the policy refuses (NUL is the one PostgreSQL cannot store).
REFUSED = ["\x00", "\x01", "\x08", "\x0b", "\x0c", "\x1b", "\x7f", "\x85", "\x9f", "\ud800"]
REFUSED += ["\udfff", "\ufffe", "\uffff"]
# Classes the policy lets through: they must round-trip everywhere.
ACCEPTED = ["\t", "\u202e", "\u2066", "\u200b", "e\u0301", "\U0001f600", "\ue000", "\ufdd0"]
ACCEPTED += ["\ufeff", "\u00a0", "ß", "\u0130", "\u2028"]


def fingerprint(engine: Engine) -> tuple[Any, ...]:
    """What a refused request must leave alone: every task's version, the history, evidence,
    units and users (read on a connection of its own)."""
    with Session(engine) as fresh:
        return (
            tuple(fresh.exec(select(Task.id, Task.version).order_by(col(Task.id))).all()),
            fresh.exec(select(func.count()).select_from(TaskEvent)).one(),
            fresh.exec(select(func.count()).select_from(Evidence)).one(),
            fresh.exec(select(func.count()).select_from(Unit)).one(),
            fresh.exec(select(func.count()).select_from(User)).one(),
        )


# --- the rule itself ---------------------------------------------------------------------


@pytest.mark.parametrize("char", REFUSED, ids=[f"U+{ord(c):04X}" for c in REFUSED])
def test_the_policy_refuses_controls_and_what_no_encoding_holds(char: str) -> None:
    with pytest.raises(TextRefused) as refused:
        clean_text(f"a{char}b", multiline=True)

    assert f"U+{ord(char):04X}" in refused.value.message


@pytest.mark.parametrize("char", ACCEPTED, ids=[f"U+{ord(c[-1]):04X}" for c in ACCEPTED])
def test_the_policy_keeps_other_text(char: str) -> None:
    assert clean_text(f"a{char}b", multiline=True) == f"a{char}b".replace("e\u0301", "\u00e9")


def test_line_breaks_nfc_and_single_lines() -> None:
    assert clean_text("a\r\nb\rc", multiline=True) == "a\nb\nc"
    assert clean_text("Jalan\r\n desa\tbaru", multiline=False) == "Jalan  desa baru"
    assert clean_text("Cafe\u0301", multiline=False) == "Caf\u00e9"
    # Imported cells: Word's manual line break (VT) and page break (FF) are line breaks.
    assert cell_text("baris 1\x0bbaris 2\x0cbaris 3\u2028baris 4") == (
        "baris 1\nbaris 2\nbaris 3\nbaris 4"
    )
    with pytest.raises(TextRefused):
        cell_text("a\x01b")
    # A header kept as data loses what the policy refuses instead of failing a login.
    assert header_text("Mozilla\x00/5.0\x1b") == "Mozilla/5.0"


def test_exports_replace_visibly() -> None:
    assert export_text("a\x00b\x01c\x7fd\x85e\ufffff") == "a\u2400b\u2401c\u2421d\ufffde\ufffdf"
    assert export_text("biasa") == "biasa"


def test_typed_fields_name_the_field() -> None:
    from pydantic import BaseModel, ValidationError

    class Form(BaseModel):
        title: SingleLineText
        note: MultiLineText

    with pytest.raises(ValidationError) as refused:
        Form(title="Judul\x00", note="ok")
    error = refused.value.errors()[0]
    assert error["loc"] == ("title",)
    assert error["type"] == "text_forbidden_character"
    assert Form(title=" Cafe\u0301\n baru ", note="a\r\nb").model_dump() == {
        "title": "Caf\u00e9  baru",
        "note": "a\nb",
    }


# --- the five classes from the issue -----------------------------------------------------


def test_control_character_in_a_title_or_comment_is_a_422_and_exports_work(
    client: TestClient, session: Session, engine: Engine, world: World
) -> None:
    task = make_task(session, actor=world.team, plan=world.plan, lead=world.putr)
    team = api_token(client, world.team)
    unit = api_token(client, world.putr_head)
    before = fingerprint(engine)

    created = client.post(
        f"{API}/tasks", json={"title": "Judul\u0001x", "lead_unit_id": world.putr.id}, headers=team
    )
    comment = client.post(f"{API}/tasks/{task.id}/comments", json={"note": "a\x01"}, headers=unit)

    for response, field in ((created, "title"), (comment, "note")):
        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"] == ["body", field]
        assert "U+0001" in response.json()["detail"][0]["msg"]
    assert fingerprint(engine) == before
    login(client, world.team)
    for path in ("/tasks/export.xlsx", "/board/export.xlsx", "/tasks/export.csv"):
        assert client.get(path).status_code == 200, path


NUL_REQUESTS: list[tuple[str, str, dict[str, Any]]] = [
    ("POST", "/api/v1/auth/token", {"data": {"username": "tim\x00.transisi", "password": "x"}}),
    ("GET", "/api/v1/tasks?q=%00", {}),
    ("GET", "/board?q=%00", {}),
    ("GET", "/api/v1/tasks?q=a%01", {}),
]


@pytest.mark.parametrize(("method", "path", "kwargs"), NUL_REQUESTS)
def test_nul_in_logins_and_searches_is_a_422(
    client: TestClient,
    session: Session,
    engine: Engine,
    world: World,
    method: str,
    path: str,
    kwargs: dict[str, Any],
) -> None:
    make_task(session, actor=world.team, plan=world.plan, lead=world.putr)
    headers = api_token(client, world.team)
    login(client, world.team)
    before = fingerprint(engine)

    response = client.request(method, path, headers=headers, **kwargs)

    assert response.status_code == 422, response.text
    if path.startswith(API):
        assert "tidak diizinkan" in response.json()["detail"][0]["msg"]
    else:
        assert "tidak diizinkan" in response.text
    assert fingerprint(engine) == before


def test_nul_in_the_login_form_and_page_forms_is_the_apps_422_page(
    client: TestClient, session: Session, engine: Engine, world: World
) -> None:
    task = make_task(session, actor=world.team, plan=world.plan, lead=world.putr)
    client.cookies.clear()
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    refused_login = client.post(
        "/login", data={"username": "bupati\x00", "password": "x", "csrf_token": token.group(1)}
    )
    csrf = login(client, world.team)
    before = fingerprint(engine)

    comment = client.post(f"/tasks/{task.id}/comments", data={"note": "a\x00b", "csrf_token": csrf})
    unit = client.post(
        "/admin/units/new",
        data={
            "code": "X\x00",
            "name": "n",
            "short_name": "s",
            "kind": "agency",
            "csrf_token": csrf,
        },
    )
    with_htmx = client.post(
        f"/tasks/{task.id}/comments",
        data={"note": "a\x00b", "csrf_token": csrf},
        headers={"HX-Request": "true"},
    )

    for response in (refused_login, comment, unit, with_htmx):
        assert response.status_code == 422
        assert response.headers["content-type"].startswith("text/html")
        assert "U+0000 (NUL)" in response.text
    assert "<!doctype html>" in comment.text
    assert fingerprint(engine) == before


HUGE_IDS = ["99999999999999999999", str(2**63), str(2**31), "1.0", "-1", "1e3", "0", "\u0663"]


def test_every_id_in_every_path_is_one_type_answering_404(
    client: TestClient, session: Session, engine: Engine, world: World
) -> None:
    """Walks the route table: every `{…_id}` path parameter of every page and API route,
    whoever adds it, answers 404 for what cannot be an id (never 422, never a 500)."""
    make_task(session, actor=world.team, plan=world.plan, lead=world.putr)
    headers = api_token(client, world.team)
    csrf = login(client, world.team)
    before = fingerprint(engine)
    checked = 0
    for found in app_routes(client.app):  # type: ignore[arg-type]
        names = re.findall(r"\{(\w+)(?::\w+)?\}", found.path)
        if not any(name.endswith("_id") for name in names):
            continue
        for method in [found.method]:
            for bad in HUGE_IDS:
                path = found.path
                for name in names:
                    value = bad if name.endswith("_id") else "todo"
                    path = re.sub(r"\{" + name + r"(?::\w+)?\}", value, path)
                response = client.request(
                    method, path, headers={**headers, "X-CSRF-Token": csrf}, data={}
                )
                checked += 1
                assert response.status_code == 404, (method, path, response.status_code)
    assert checked > 100
    assert fingerprint(engine) == before


@pytest.mark.parametrize(
    ("field", "cleared"),
    [
        ("description", ""),
        ("village", ""),
        ("target", ""),
        ("supporting_unit_ids", []),
        ("program_ids", []),
        ("district_id", None),
        ("due_date", None),
    ],
)
def test_null_clears_an_optional_field(
    client: TestClient, session: Session, world: World, field: str, cleared: Any
) -> None:
    task = make_task(
        session,
        actor=world.team,
        plan=world.plan,
        lead=world.putr,
        description="Uraian",
        village="Desa",
        target="250 KK",
        supporting_unit_ids=[world.dinkes.id],
        program_ids=[world.sehat.id],
        district_id=world.district.id,
        due_date=world.plan.start_date,
    )
    headers = api_token(client, world.team)

    response = client.patch(
        f"{API}/tasks/{task.id}", json={"version": task.version, field: None}, headers=headers
    )

    assert response.status_code == 200, response.text
    assert response.json()[field] == cleared
    assert response.json()["version"] == task.version + 1


@pytest.mark.parametrize("field", ["title", "lead_unit_id", "weight", "needs_decision"])
def test_null_is_refused_where_the_schema_does_not_offer_it(
    client: TestClient, session: Session, engine: Engine, world: World, field: str
) -> None:
    task = make_task(session, actor=world.team, plan=world.plan, lead=world.putr)
    headers = api_token(client, world.team)
    before = fingerprint(engine)

    response = client.patch(
        f"{API}/tasks/{task.id}", json={"version": task.version, field: None}, headers=headers
    )

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", field]
    assert fingerprint(engine) == before
    schema = client.get("/openapi.json").json()["components"]["schemas"]["TaskUpdate"]
    assert "anyOf" not in schema["properties"][field]
    assert schema["properties"][field]["type"] != "null"


def test_the_schema_offers_null_exactly_where_it_clears() -> None:
    properties = TaskUpdate.model_json_schema()["properties"]
    nullable = {
        name
        for name, prop in properties.items()
        if any(option.get("type") == "null" for option in prop.get("anyOf", []))
    }
    assert nullable == {
        "description",
        "village",
        "target",
        "supporting_unit_ids",
        "program_ids",
        "district_id",
        "due_date",
    }


MALFORMED_BODIES = [
    ("multipart/form-data", b"--x\r\nbroken"),
    ("multipart/form-data; boundary=", b"--\r\n"),
    ("multipart/form-data; boundary=x", b"--x\r\nContent-Disposition: form-data\r\n\r\n"),
    ("application/json", b"{not json"),
    ("application/json", b'{"note": "\xff\xfe"}'),
    ("application/x-www-form-urlencoded", b"note=%ZZ&\xff=\x00"),
]


def test_every_route_answers_a_malformed_body_with_the_apps_documented_4xx(
    client: TestClient, session: Session, engine: Engine, world: World
) -> None:
    """Walks every state-changing route (pages and API) with broken bodies: a 4xx the app
    rendered (JSON `detail` for the API, its own HTML page otherwise), nothing changed."""
    make_task(session, actor=world.team, plan=world.plan, lead=world.putr)
    bearer = api_token(client, world.team)
    login(client, world.team)
    openapi = client.get("/openapi.json").json()["paths"]
    before = fingerprint(engine)
    walked = 0
    for found in app_routes(client.app):  # type: ignore[arg-type]
        path = re.sub(r"\{\w+_id(?::\w+)?\}", "1", found.path)
        path = re.sub(r"\{\w+\}", "todo", path)
        if found.method in ("GET", "HEAD"):
            continue
        if found.path.startswith(API) and found.route.body_field is None:
            continue  # reads no body (DELETE …): nothing to be malformed
        method = found.method
        for content_type, body in MALFORMED_BODIES:
            # Pages: the session cookie, the CSRF token only in the (broken) body as a browser
            # sends it; the API: the bearer token.
            headers = {**bearer, "Content-Type": content_type}
            response = client.request(
                method, path, content=body, headers=headers, follow_redirects=False
            )
            walked += 1
            status = response.status_code
            assert 400 <= status < 500, (method, path, content_type, status)
            if found.path.startswith(API):
                assert "detail" in response.json(), (method, path)
                documented = openapi[found.path][method.lower()]["responses"]
                assert str(status) in documented, (method, path, status)
            elif response.headers["content-type"].startswith("application/json"):
                assert "detail" in response.json(), (method, path)  # a webhook's answer
            else:
                assert response.headers["content-type"].startswith("text/html")
                assert "<!doctype html>" in response.text, (method, path)
    assert walked > 100
    assert fingerprint(engine) == before


def test_every_api_operation_documents_422(client: TestClient) -> None:
    """The boundary may refuse a query parameter of any operation."""
    for path, operations in client.get("/openapi.json").json()["paths"].items():
        for method, operation in operations.items():
            assert "422" in operation["responses"], (method, path)


def test_a_user_agent_with_controls_still_logs_in(
    client: TestClient, session: Session, world: World
) -> None:
    response = client.post(
        f"{API}/auth/token",
        data={"username": "tim.transisi", "password": "kata-sandi-uji-123"},
        headers={"User-Agent": "Agen\x01Uji\x7f"},
    )

    assert response.status_code == 200


# --- exports never fail on stored data ---------------------------------------------------

# Every class of code point a row written before the policy might hold. NUL only where the
# database can store it (PostgreSQL never could); lone surrogates nowhere (no driver can
# encode them, so no row holds one).
STORED = "".join(
    [
        "" if on_postgres() else "\x00",
        "\x01\x08\x0b\x0c\x1b\x1f\x7f\x85\x9f\ufffe\uffff",
        "\t\n\r",
        "\u202e\u2066\u200b\ufeff\u00a0e\u0301\U0001f600\ue000\ufdd0\u2028",
    ]
)


def _hostile(text: str) -> str:
    return f"{text} {STORED}"


def _store_hostile_rows(session: Session, world: World) -> Task:
    """Writes every code point class into every exported field, straight to the tables
    (as rows written before the policy existed)."""
    task = make_task(
        session,
        actor=world.team,
        plan=world.plan,
        lead=world.putr,
        supporting_unit_ids=[world.dinkes.id],
        program_ids=[world.sehat.id],
        district_id=world.district.id,
    )
    make_task(session, actor=world.team, plan=world.plan, lead=world.dinkes, title="=SUM(A1)")
    for field in ("title", "description", "village", "target", "realisation", "blocked_reason"):
        setattr(task, field, _hostile(getattr(task, field) or field))
    task.code = "T\x01\x7f"
    for unit in (world.putr, world.dinkes, world.district):
        unit.name, unit.short_name = _hostile(unit.name), _hostile(unit.short_name)
        session.add(unit)
    world.sehat.name = _hostile(world.sehat.name)
    world.sehat.short_name = _hostile(world.sehat.short_name)
    world.team.full_name = _hostile(world.team.full_name)
    session.add_all([task, world.sehat, world.team])
    session.add(
        TaskEvent(
            plan_id=task.plan_id,
            task_id=task.pk,
            actor_id=world.team.id,
            kind=EventKind.comment,
            note=_hostile("catatan"),
            changes={"title": [_hostile("lama"), _hostile("baru")]},
        )
    )
    session.commit()
    return task


EXPORTS = [
    "/tasks/export.xlsx",
    "/tasks/export.csv",
    "/tasks/history.csv",
    "/board/export.xlsx",
    "/board/export.csv",
    "/board/export.csv?q=title",
    "/tasks/import/template.xlsx",
    "/burndown.csv",
]


def test_exports_never_fail_on_stored_text(
    client: TestClient, session: Session, world: World
) -> None:
    task = _store_hostile_rows(session, world)
    login(client, world.team)

    for path in EXPORTS:
        response = client.get(path)
        assert response.status_code == 200, (path, response.text[:300])
        if ".xlsx" in path:
            book = load_workbook(io.BytesIO(response.content))
            text = "".join(
                str(cell)
                for sheet in book.worksheets
                for row in sheet.iter_rows(values_only=True)
                for cell in row
                if cell is not None
            )
        else:
            text = response.content.decode("utf-8-sig")
            list(csv.reader(io.StringIO(text)))
        if path.startswith("/tasks/export") or path.startswith("/board/export.xlsx"):
            # Replaced visibly, never dropped: SOH as its control picture, U+FFFF as U+FFFD.
            for shown in ("\u2401", "\ufffd", "\U0001f600", "\u202e"):
                assert shown in text, (path, shown)
    workbook = load_workbook(io.BytesIO(client.get("/tasks/export.xlsx").content))
    sheet = workbook.worksheets[0]
    codes = [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert "T\u2401\u2421" in codes
    # The pages and the API show the same rows without failing.
    for page in ("/board", f"/tasks/{task.id}", "/dashboard", f"/tasks/{task.id}/edit"):
        assert client.get(page).status_code == 200, page
    headers = api_token(client, world.executive)
    for path in (f"{API}/tasks", f"{API}/tasks/{task.id}/events", f"{API}/units"):
        assert client.get(path, headers=headers).status_code == 200, path
