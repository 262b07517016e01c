"""The dashboard's rows are kept by content (app.dashboard_html): a body built from kept rows
is the same HTML, byte for byte, as one rendered with nothing kept, whatever changed since
the rows were kept; a changed row is rendered again and an unchanged one is not; and no row
carries anything of the viewer."""

import re
from collections.abc import Callable, Hashable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from jinja2 import meta
from markupsafe import Markup
from sqlmodel import Session

from app import dashboard_html
from app.card_html import markup_version
from app.config import BASE_DIR
from app.html_cache import HtmlCache
from app.models import Plan, ProgressUpdate, Task, TaskMove, TaskStatus, TaskUpdate
from app.routes.dashboard import body_cache
from app.services import dashboard as dashboard_service
from app.services import tasks
from app.templating import env
from tests.factories import World, login, make_task, rename_unit

UNIT_ROW = "dashboard/_unit_row.html"
VIEWS = ("/dashboard", "/dashboard?chart=burndown", "/dashboard?measure=weight")


class RecordingCache(HtmlCache):
    """The fragment cache, noting the key and HTML of every fragment it renders."""

    def __init__(self, max_entries: int) -> None:
        super().__init__(max_entries)
        self.rendered: list[Any] = []  # the keys: (name, markup, ((name, value), ...))
        self.html: list[str] = []

    def get_or_render(self, key: Hashable, render: Callable[[], str]) -> Markup:
        def noted() -> str:
            self.rendered.append(key)
            self.html.append(render())
            return self.html[-1]

        return super().get_or_render(key, noted)


@pytest.fixture
def kept(monkeypatch: pytest.MonkeyPatch) -> Iterator[RecordingCache]:
    cache = RecordingCache(dashboard_html.MAX_ENTRIES)
    monkeypatch.setattr(dashboard_html, "fragment_cache", cache)
    body_cache.clear()
    yield cache
    body_cache.clear()


def _body(client: TestClient, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, response.text[:300]
    html: str = response.text
    # The plan-wide body (the letterhead before it carries the print time of the request).
    return html[html.index('<section class="answers"') : html.index("</main>")]


def _compare_views(
    client: TestClient, kept: RecordingCache, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each view built from the rows kept so far equals it built with nothing kept."""
    for path in VIEWS:
        body_cache.clear()
        with_kept_rows = _body(client, path)
        with monkeypatch.context() as nothing_kept:
            nothing_kept.setattr(dashboard_html, "fragment_cache", HtmlCache(0))
            body_cache.clear()
            afresh = _body(client, path)
        assert with_kept_rows == afresh, path
    assert dashboard_html.fragment_cache is kept


def _task(session: Session, task_id: int) -> Task:
    task = session.get(Task, task_id)
    assert task is not None
    session.refresh(task)
    return task


def _move(session: Session, world: World, task_id: int, status: TaskStatus) -> None:
    task = _task(session, task_id)
    tasks.move_task(
        session,
        actor=world.team,
        task_id=task_id,
        move=TaskMove(
            version=task.version,
            status=status,
            blocked_reason="Menunggu pembebasan lahan" if status == TaskStatus.blocked else "",
        ),
    )


def test_kept_rows_give_the_same_body_as_rendering_afresh_after_each_kind_of_change(
    client: TestClient,
    session: Session,
    world: World,
    kept: RecordingCache,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    today = datetime.now(UTC).date()
    road = make_task(
        session,
        actor=world.team,
        plan=world.plan,
        lead=world.putr,
        title="Jalan poros",
        status=TaskStatus.in_progress,
        due_date=today - timedelta(days=3),
        program_ids=[world.membangun.pk],
        district_id=world.district.pk,
    )
    clinic = make_task(
        session,
        actor=world.team,
        plan=world.plan,
        lead=world.dinkes,
        title="Puskesmas keliling",
        due_date=today + timedelta(days=10),
        program_ids=[world.sehat.pk],
    )
    make_task(session, actor=world.team, plan=world.plan, lead=world.putr, status=TaskStatus.done)
    login(client, world.executive)
    _compare_views(client, kept, monkeypatch)

    _move(session, world, road.pk, TaskStatus.blocked)  # a move
    _compare_views(client, kept, monkeypatch)

    clinic = _task(session, clinic.pk)
    tasks.update_progress(  # a progress report
        session,
        actor=world.dinkes_head,
        task_id=clinic.pk,
        data=ProgressUpdate(version=clinic.version, progress_pct=40, note="Armada siap"),
    )
    _compare_views(client, kept, monkeypatch)

    clinic = _task(session, clinic.pk)
    tasks.update_task(  # a due-date edit: the clinic is now late
        session,
        actor=world.team,
        task_id=clinic.pk,
        data=TaskUpdate(version=clinic.version, due_date=today - timedelta(days=2)),
    )
    _compare_views(client, kept, monkeypatch)

    road = _task(session, road.pk)
    tasks.cancel_task(  # a cancellation
        session, actor=world.team, task_id=road.pk, version=road.version, note="Dialihkan"
    )
    _compare_views(client, kept, monkeypatch)

    make_task(  # a new task
        session,
        actor=world.team,
        plan=world.plan,
        lead=world.dinkes,
        title="Posyandu baru",
        needs_decision=True,
        due_date=today - timedelta(days=1),
    )
    _compare_views(client, kept, monkeypatch)

    rename_unit(session, actor=world.team, unit=world.dinkes, short_name="Dinas Kesehatan")
    _compare_views(client, kept, monkeypatch)
    assert "Dinas Kesehatan" in _body(client, "/dashboard")

    real_plan_day = dashboard_service.plan_day

    def tomorrow(
        session: Session, plan: Plan, now: datetime | None = None
    ) -> dashboard_service.PlanDay:
        return real_plan_day(session, plan, (now or datetime.now(UTC)) + timedelta(days=1))

    monkeypatch.setattr(dashboard_service, "plan_day", tomorrow)  # a day change
    _compare_views(client, kept, monkeypatch)
    assert kept.hits  # the rows were reused, not only rendered


def _unit_rows_rendered(kept: RecordingCache) -> list[str]:
    names = []
    for name, _markup, values in kept.rendered:
        if name == UNIT_ROW:
            names.append(dict(values)["row"].name)
    return names


def test_a_changed_row_is_rendered_again_and_an_unchanged_one_is_not(
    client: TestClient, session: Session, world: World, kept: RecordingCache
) -> None:
    road = make_task(
        session,
        actor=world.team,
        plan=world.plan,
        lead=world.putr,
        title="Jalan poros",
        status=TaskStatus.in_progress,
    )
    make_task(session, actor=world.team, plan=world.plan, lead=world.dinkes, title="Puskesmas")
    login(client, world.executive)
    _body(client, "/dashboard")
    assert sorted(_unit_rows_rendered(kept)) == ["Dinas PUTR", "Dinkes", "Rantau Bayur"]

    kept.rendered.clear()
    _move(session, world, road.pk, TaskStatus.blocked)
    body = _body(client, "/dashboard")
    assert "Menunggu pembebasan lahan" in body
    assert _unit_rows_rendered(kept) == ["Dinas PUTR"]  # Dinkes and the district: kept

    kept.rendered.clear()
    body_cache.clear()
    _body(client, "/dashboard")  # the same state again: every row kept
    assert kept.rendered == []


def test_no_row_carries_anything_of_the_viewer(
    client: TestClient, session: Session, world: World, kept: RecordingCache
) -> None:
    make_task(session, actor=world.team, plan=world.plan, lead=world.putr, title="Jalan poros")
    # A name no label contains ("Bupati" is in "Perlu keputusan Bupati", a filter's label).
    world.executive.full_name = "Ir. Penonton Unik"
    session.add(world.executive)
    session.commit()
    csrf = login(client, world.executive)
    _body(client, "/dashboard")
    assert kept.html
    for html in kept.html:
        assert csrf not in html
        assert world.executive.full_name not in html
        assert world.executive.username not in html


_CALL = re.compile(r'fragments?\("(?P<name>[^"]+)",(?: "(?P<param>\w+)",)?(?P<args>[^)]*)\)')
_MACRO = re.compile(r"\{% macro render\((?P<params>[^)]*)\) %\}")


def test_each_fragment_uses_only_the_values_it_is_kept_under() -> None:
    """Statically: a fragment template's macro `render` takes exactly the values passed (and
    so kept in its key), and reads nothing else but the environment's constant globals and
    what the template defines itself (its imports: never `with context`)."""
    calls = 0
    for path in sorted((BASE_DIR / "templates").rglob("*.html")):
        for call in _CALL.finditer(path.read_text()):
            calls += 1
            name = call["name"]
            passed = set(re.findall(r"(\w+)=", call["args"])) | {call["param"]} - {None}
            source = Path(BASE_DIR / "templates" / name).read_text()
            (macro,) = _MACRO.finditer(source)
            assert {p.strip() for p in macro["params"].split(",")} == passed, name
            used = meta.find_undeclared_variables(env.parse(source))
            assert used <= set(env.globals), (name, used - set(env.globals))
            assert "with context" not in source, name
    assert calls >= 7


def test_a_fragment_key_holds_the_values_in_order_and_the_markup_version() -> None:
    key = dashboard_html.fragment_key(env, UNIT_ROW, {"row": 1, "stale_days": 7})
    assert key == (
        UNIT_ROW,
        (
            markup_version(env, UNIT_ROW),
            markup_version(env, dashboard_html.MACROS_TEMPLATE),
        ),
        (("row", 1), ("stale_days", 7)),
    )
