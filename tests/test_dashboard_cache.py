"""The dashboard's plan-wide body is rendered once per plan state and kept
(app.routes.dashboard.body_cache): a repeat view is a hit, and anything the page shows that
changes (an event, a unit's name, a person, a plan setting, the date, the filters) gives a
fresh render, never the old HTML; so do the units and programs kept between views."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session

from app.config import Settings
from app.db import make_engine, open_session
from app.main import create_app
from app.models import Plan, TaskMove, TaskStatus, Unit, User
from app.routes.dashboard import body_cache
from app.services import dashboard as dashboard_service
from app.services import tasks
from tests.factories import World, login, make_task, rename_unit

HX = {"HX-Request": "true"}


@pytest.fixture(autouse=True)
def empty_cache() -> Iterator[None]:
    body_cache.clear()
    yield
    body_cache.clear()


def _main(html: str) -> str:
    return html[html.index("<main") : html.index("</main>")]


def _get(
    client: TestClient, path: str = "/dashboard", headers: dict[str, str] | None = None
) -> str:
    response = client.get(path, headers=headers)
    assert response.status_code == 200, response.text[:300]
    text: str = response.text
    return text


def test_a_repeat_view_is_served_from_the_cache_with_a_fresh_print_time(
    client: TestClient, session: Session, world: World
) -> None:
    make_task(session, actor=world.team, plan=world.plan, lead=world.putr, title="Jalan poros")
    login(client, world.executive)
    first = _get(client)
    assert (body_cache.renders, body_cache.hits) == (1, 0)

    second = _get(client)
    assert (body_cache.renders, body_cache.hits) == (1, 1)
    assert "Jalan poros" in second
    # The body is the same HTML; only the letterhead's print time is per request.
    assert _main(first).split("</header>", 1)[1] == _main(second).split("</header>", 1)[1]


def test_an_event_renders_the_body_again(
    client: TestClient, session: Session, world: World
) -> None:
    task = make_task(
        session, actor=world.team, plan=world.plan, lead=world.putr, title="Jembatan gantung"
    )
    login(client, world.executive)
    before = _get(client)
    assert "Menunggu pembebasan lahan" not in before

    assert task.id is not None
    tasks.move_task(
        session,
        actor=world.putr_head,
        task_id=task.id,
        move=TaskMove(
            version=task.version,
            status=TaskStatus.blocked,
            blocked_reason="Menunggu pembebasan lahan",
        ),
    )
    after = _get(client)
    assert body_cache.renders == 2
    # The body under the old stamp will never be asked for again: the new one replaced it.
    assert len(body_cache) == 1
    # The blocked task is now on the attention list, with its reason.
    assert "Menunggu pembebasan lahan" in after


def test_a_renamed_unit_renders_the_body_again(
    client: TestClient, session: Session, world: World
) -> None:
    make_task(session, actor=world.team, plan=world.plan, lead=world.putr, title="Jalan poros")
    csrf = login(client, world.team)
    assert "Dinas PUTR" in _get(client)
    form = {
        "kind": world.putr.kind.value,
        "code": world.putr.code,
        "name": "Dinas Pekerjaan Umum Banyuasin",
        "short_name": "PU Banyuasin",
        "head_title": world.putr.head_title,
        "head_name": world.putr.head_name,
        "region_code": world.putr.region_code or "",
        "csrf_token": csrf,
    }
    saved = client.post(f"/admin/units/{world.putr.id}/edit", data=form, follow_redirects=False)
    assert saved.status_code == 303, saved.text[:300]

    assert "PU Banyuasin" in _get(client)
    assert body_cache.renders == 2


def test_a_renamed_person_or_a_plan_setting_renders_the_body_again(
    client: TestClient, session: Session, world: World
) -> None:
    make_task(session, actor=world.team, plan=world.plan, lead=world.putr, title="Jalan poros")
    login(client, world.executive)
    _get(client)

    world.team.full_name = "Tim Transisi Kabupaten"
    session.add(world.team)
    session.commit()
    assert "Tim Transisi Kabupaten" in _get(client)  # the activity names the actor
    assert body_cache.renders == 2

    world.plan.length_days = 120
    session.add(world.plan)
    session.commit()
    assert "Hari ke-120" in _get(client)
    assert body_cache.renders == 3


def test_each_filter_view_and_the_chart_region_have_their_own_entries(
    client: TestClient, session: Session, world: World
) -> None:
    make_task(session, actor=world.team, plan=world.plan, lead=world.putr, title="Jalan poros")
    login(client, world.executive)
    page = _get(client)
    by_weight = _get(client, "/dashboard?measure=weight")
    region = _get(client, "/dashboard?measure=weight", headers=HX)
    assert body_cache.renders == 3
    assert "<html" not in region
    assert 'id="burndown"' in region
    assert page != by_weight

    _get(client, "/dashboard?measure=weight", headers=HX)
    _get(client, "/dashboard?measure=weight")
    assert (body_cache.renders, body_cache.hits) == (3, 2)


def test_the_next_day_renders_the_body_again(
    client: TestClient, session: Session, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_task(session, actor=world.team, plan=world.plan, lead=world.putr, title="Jalan poros")
    login(client, world.executive)
    _get(client)
    real_plan_day = dashboard_service.plan_day

    def tomorrow(
        session: Session, plan: Plan, now: datetime | None = None
    ) -> dashboard_service.PlanDay:
        return real_plan_day(session, plan, (now or datetime.now(UTC)) + timedelta(days=1))

    monkeypatch.setattr(dashboard_service, "plan_day", tomorrow)
    _get(client)
    assert body_cache.renders == 2


def test_a_repeat_view_costs_a_few_statements_whatever_the_number_of_tasks(
    client: TestClient, session: Session, world: World, statements: list[str]
) -> None:
    def repeat_view() -> int:
        _get(client)
        statements.clear()
        _get(client)
        return len(statements)

    login(client, world.executive)
    for number in range(3):
        make_task(session, actor=world.team, plan=world.plan, lead=world.putr, title=f"T {number}")
    few = repeat_view()
    for number in range(9):
        make_task(
            session, actor=world.team, plan=world.plan, lead=world.dinkes, title=f"U {number}"
        )
    assert repeat_view() == few
    assert few <= 10


def test_a_stale_dashboard_is_built_without_a_second_connection_of_the_pool(
    settings: Settings, db_url: str, session: Session, world: World
) -> None:
    # The build reads in a session of its own (app.shared_builds). Had the request kept its
    # connection meanwhile, each build would need two, and requests waiting for a build while
    # holding theirs could leave none for it: with a pool of one, even a single view.
    make_task(session, actor=world.team, plan=world.plan, lead=world.putr, title="Jalan poros")
    engine = make_engine(db_url, pool_size=1, max_overflow=0, pool_timeout=3)
    try:
        with TestClient(create_app(settings, engine)) as client:
            login(client, world.executive)
            assert "Jalan poros" in _get(client)
    finally:
        engine.dispose()


def test_a_unit_renamed_by_another_process_shows_on_the_next_view(
    client: TestClient, engine: Engine, session: Session, world: World
) -> None:
    # The units and programs are kept between views (dashboard.kept_reference) under the
    # plans' reference stamp, read from the database on every view.
    make_task(session, actor=world.team, plan=world.plan, lead=world.putr, title="Jalan poros")
    login(client, world.executive)
    assert "Dinas PUTR" in _get(client)
    other = make_engine(str(engine.url))
    try:
        with open_session(other) as elsewhere:
            team, unit = elsewhere.get(User, world.team.id), elsewhere.get(Unit, world.putr.id)
            assert team is not None
            assert unit is not None
            rename_unit(elsewhere, actor=team, unit=unit, short_name="PU Banyuasin")
    finally:
        other.dispose()
    page = _main(_get(client))
    assert "PU Banyuasin" in page
    assert "Dinas PUTR" not in page


def test_the_kept_reference_is_read_again_only_when_its_stamp_moves(
    session: Session, world: World, statements: list[str]
) -> None:
    first = dashboard_service.kept_reference(session, plan=world.plan)
    statements.clear()
    assert dashboard_service.kept_reference(session, plan=world.plan) is first
    assert not [s for s in statements if "FROM unit" in s or "FROM program" in s]

    rename_unit(session, actor=world.team, unit=world.putr, short_name="PU Banyuasin")
    session.refresh(world.plan)
    again = dashboard_service.kept_reference(session, plan=world.plan)
    assert again is not first
    assert again.units[world.putr.pk].short_name == "PU Banyuasin"
    # Plain copies: the session's own rows are left in it.
    assert world.putr in session
    assert again.units[world.putr.pk] is not world.putr
