"""The board page, its fragments, lazy column pages, moves and the 304 poll."""

import html
import json
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import anyio.to_thread
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from app.card_html import card_cache
from app.config import Settings
from app.forms.units import UnitInput, parse_unit
from app.main import create_app
from app.models import ProgressUpdate, Task, TaskEvent, TaskMove, TaskStatus
from app.routes.board import region_cache
from app.services import tasks, units
from app.services.positions import ranks
from app.timefmt import WIB
from tests.factories import World, login, make_task, make_unit, rename_unit

HX = {"HX-Request": "true"}
COLUMN_LABELS = ("Belum Dimulai", "Sedang Berjalan", "Terkendala", "Menunggu Verifikasi", "Selesai")


def _task(session: Session, world: World, title: str, **fields: Any) -> Task:
    fields.setdefault("lead", world.putr)
    return make_task(session, actor=world.team, plan=world.plan, title=title, **fields)


def _codes(html: str) -> set[str]:
    return set(re.findall(r'<span class="card-code">(T-\d+)</span>', html))


def _state(session: Session, task_id: int) -> tuple[TaskStatus, int, int]:
    """(status, version, number of events) as committed in the database now."""
    session.rollback()
    session.expire_all()
    task = session.get(Task, task_id)
    assert task is not None
    events = session.exec(
        select(sa.func.count()).select_from(TaskEvent).where(TaskEvent.task_id == task_id)
    ).one()
    return TaskStatus(task.status), task.version, int(events)


def _column_of(html: str, status: str) -> str:
    """The HTML of one column's card list (up to the next column)."""
    start = html.index(f'id="cards-{status}"')
    end = html.find('<section class="column', start)
    return html[start : end if end != -1 else len(html)]


# --- the page ----------------------------------------------------------------------------


def test_full_page_shows_columns_and_card_details(
    client: TestClient, session: Session, world: World
) -> None:
    today = datetime.now(WIB).date()
    _task(
        session,
        world,
        "Perbaikan jalan desa",
        program_ids=[world.membangun.id],
        district_id=world.district.id,
        due_date=today - timedelta(days=3),
        weight=3,
    )
    _task(session, world, "Posyandu keliling", lead=world.dinkes, status=TaskStatus.blocked)
    _task(session, world, "Air bersih", status=TaskStatus.review, needs_decision=True)
    login(client, world.team)

    response = client.get("/board")

    assert response.status_code == 200
    assert "HX-Request" in response.headers["vary"]
    html = response.text
    assert "<html" in html
    assert 'id="board-columns"' in html
    assert 'class="board-filters' in html
    for label in COLUMN_LABELS:
        assert label in html
    assert "1 tugas · bobot 3" in html  # Belum Dimulai
    assert "Hari ke-45 dari 100" in html  # the plan's day label (plan started 44 days ago)
    assert '<a href="/tasks/1">Perbaikan jalan desa</a>' in html
    assert "Dinas PUTR" in html
    assert "Rantau Bayur" in html
    assert ">Membangun</li>" in html
    assert "Terlambat 3 hari" in html
    assert "Hari ke-42 ·" in html
    assert "Terkendala:</strong> Menunggu pembebasan lahan" in html
    assert "Perlu keputusan Bupati</p>" in html
    assert '<progress max="100" value="0" aria-label="Capaian"></progress> 0%' in html
    assert 'src="/static/board.js?v=' in html
    assert "sortablejs@1.15.7" in html


def test_htmx_fragment_is_only_the_columns_region(
    client: TestClient, session: Session, world: World
) -> None:
    _task(session, world, "Perbaikan jalan desa")
    login(client, world.team)

    response = client.get("/board", headers=HX)

    assert response.status_code == 200
    assert "HX-Request" in response.headers["vary"]
    assert "<html" not in response.text
    assert "board-filters" not in response.text
    assert 'id="board-columns"' in response.text
    assert "T-001" in response.text


def test_statement_count_does_not_grow_with_tasks(
    client: TestClient, session: Session, world: World, statements: list[str]
) -> None:
    def board_statements() -> tuple[int, int, int]:
        """Statements for a board whose cards are all rendered now, then all kept, then
        whose whole columns region is kept."""
        card_cache.clear()
        region_cache.clear()
        statements.clear()
        assert client.get("/board").status_code == 200
        cold = len(statements)
        region_cache.clear()
        statements.clear()
        assert client.get("/board").status_code == 200
        warm = len(statements)
        statements.clear()
        assert client.get("/board").status_code == 200
        return cold, warm, len(statements)

    for i in range(3):
        _task(session, world, f"Tugas awal {i}", program_ids=[world.sehat.id])
    login(client, world.team)
    few = board_statements()
    for i in range(12):
        _task(
            session,
            world,
            f"Tugas tambahan {i}",
            program_ids=[world.sehat.id, world.membangun.id],
            district_id=world.district.id,
            status=TaskStatus.in_progress,
        )
    assert board_statements() == few
    # Kept cards are not loaded whole: no task row, programs, evidence or directives read.
    cold, warm, kept = few
    assert warm == cold - 4
    # A kept region reads not even the cards' stamps: the column counts name its state.
    assert kept == warm - 1


def test_a_kept_region_is_replaced_by_its_views_newer_state(
    client: TestClient, session: Session, world: World
) -> None:
    task = _task(session, world, "Jalan poros desa")
    login(client, world.team)
    assert client.get("/board").status_code == 200
    assert len(region_cache) == 1
    assert task.id is not None
    tasks.move_task(
        session,
        actor=world.team,
        task_id=task.id,
        move=TaskMove(version=task.version, status=TaskStatus.in_progress),
    )
    board = client.get("/board").text
    in_progress = board[board.index('data-status="in_progress"') :]
    assert "Jalan poros desa" in in_progress
    # The region of the board before the move will never be asked for again.
    assert len(region_cache) == 1


def _unit_choices(html: str) -> list[str]:
    select = re.search(r'<select id="filter-unit".*?</select>', html, re.S)
    assert select is not None
    return re.findall(r"<option value=\"\d+\"[^>]*>([^<]*)</option>", select.group(0))


def test_filter_choices_are_kept_until_units_or_programs_change(
    client: TestClient, session: Session, world: World, statements: list[str]
) -> None:
    """The board's filter choices are read once per plans' reference revision: a second
    board reads no unit or program list, and a unit renamed, added or retired through admin
    shows at once."""
    login(client, world.team)
    first = client.get("/board").text
    assert "Dinas PUTR" in _unit_choices(first)
    statements.clear()
    assert client.get("/board").status_code == 200
    assert not [s for s in statements if "FROM unit" in s or "FROM program" in s]

    putr = world.putr
    rename_unit(session, actor=world.team, unit=putr, short_name="Dinas PU Baru")
    choices = _unit_choices(client.get("/board").text)
    assert "Dinas PU Baru" in choices
    assert "Dinas PUTR" not in choices

    added = UnitInput(kind="agency", code="DISHUB", name="Dinas Perhubungan", short_name="Dishub")
    units.create_unit(session, actor=world.team, data=parse_unit(added))
    session.commit()
    assert "Dishub" in _unit_choices(client.get("/board").text)

    units.set_unit_active(session, actor=world.team, unit_id=putr.pk, active=False)
    session.commit()
    assert "Dinas PU Baru" not in _unit_choices(client.get("/board").text)


# --- filters -----------------------------------------------------------------------------


@pytest.fixture
def filtered(session: Session, world: World) -> dict[str, Task]:
    today = datetime.now(WIB).date()
    return {
        "putr": _task(session, world, "Jalan poros", program_ids=[world.membangun.id]),
        "dinkes": _task(
            session, world, "Posyandu", lead=world.dinkes, program_ids=[world.sehat.id]
        ),
        "support": _task(
            session,
            world,
            "Drainase",
            supporting_unit_ids=[world.dinkes.id],
            district_id=world.district.id,
        ),
        "late": _task(session, world, "Jembatan gantung", due_date=today - timedelta(days=2)),
        "decision": _task(session, world, "Lahan pasar", needs_decision=True),
    }


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"unit": "dinkes"}, {"dinkes", "support"}),  # lead or supporting
        ({"program": "sehat"}, {"dinkes"}),
        ({"district": "district"}, {"support"}),
        ({"overdue": "1"}, {"late"}),
        ({"needs_decision": "1"}, {"decision"}),
        ({"q": "JEMBATAN"}, {"late"}),
        ({"unit": "putr", "q": "a"}, {"putr", "support", "late", "decision"}),
        ({"unit": "dinkes", "district": "district"}, {"support"}),
    ],
)
def test_filters_each_and_combined(
    client: TestClient,
    world: World,
    filtered: dict[str, Task],
    params: dict[str, str],
    expected: set[str],
) -> None:
    ids = {
        "dinkes": world.dinkes.id,
        "putr": world.putr.id,
        "sehat": world.sehat.id,
        "district": world.district.id,
    }
    query = {k: str(ids.get(v, v)) for k, v in params.items()}
    login(client, world.team)

    for headers in ({}, HX):
        response = client.get("/board", params=query, headers=headers)
        assert response.status_code == 200
        assert _codes(response.text) == {filtered[name].code for name in expected}


def test_filters_are_reflected_in_the_form_and_links(
    client: TestClient, world: World, filtered: dict[str, Task]
) -> None:
    login(client, world.team)
    response = client.get(
        "/board", params={"unit": world.dinkes.id, "overdue": "", "q": "Posyandu"}
    )

    html = response.text
    expected = f"unit={world.dinkes.id}&amp;q=Posyandu"
    assert f'data-query="{expected}"' in html
    assert f'href="/board/tasks/{filtered["dinkes"].id}/move?{expected}"' in html
    assert f'<option value="{world.dinkes.id}" selected>' in html
    assert 'value="Posyandu"' in html


@pytest.mark.parametrize(
    "params",
    [
        {"unit": "abc"},
        {"unit": "-1"},
        {"unit": "1.5"},
        {"unit": "99999999999999999999999"},
        {"unit": "9999"},
        {"program": "0"},
        {"district": "1"},  # an agency, not a district
        {"overdue": "kadang"},
        {"needs_decision": "%00"},
        {"q": "x" * 500},
        {"q": "%_\\'\"<script>"},
    ],
)
def test_invalid_filter_values_never_fail(
    client: TestClient, world: World, filtered: dict[str, Task], params: dict[str, str]
) -> None:
    login(client, world.team)
    for path in ("/board", "/board/columns", "/board/column/todo"):
        response = client.get(path, params=params, headers=HX)
        assert response.status_code == 200, (path, response.text[:300])
    page = client.get("/board", params=params)
    assert page.status_code == 200
    assert "<script>" not in page.text.split('id="board-columns"')[1]


def test_invalid_values_are_ignored_and_said_so(
    client: TestClient, world: World, filtered: dict[str, Task]
) -> None:
    login(client, world.team)
    response = client.get("/board", params={"unit": "abc", "program": "9999"})

    assert "tidak dikenali dan diabaikan: perangkat daerah / kecamatan, program" in response.text
    assert _codes(response.text) == {t.code for t in filtered.values()}


def test_unit_user_sees_own_unit_by_default_and_everything_with_all(
    client: TestClient, world: World, filtered: dict[str, Task]
) -> None:
    login(client, world.dinkes_head)

    mine = client.get("/board")
    assert _codes(mine.text) == {filtered["dinkes"].code, filtered["support"].code}
    assert f'<option value="{world.dinkes.id}" selected>' in mine.text
    assert '<a href="/board?all=1">Semua tugas</a>' in mine.text

    everything = client.get("/board", params={"all": "1"})
    assert _codes(everything.text) == {t.code for t in filtered.values()}
    assert '<a href="/board">Tugas unit saya</a>' in everything.text
    # Links keep "everything", so a redirect or the poll does not fall back to "my unit".
    assert 'data-query="all=1"' in everything.text

    # The filter form with "all units" chosen sends empty parameters: that is a choice too.
    chosen = client.get("/board?unit=&program=&district=&q=", headers=HX)
    assert _codes(chosen.text) == {t.code for t in filtered.values()}


def test_team_user_has_no_default_unit(
    client: TestClient, world: World, filtered: dict[str, Task]
) -> None:
    login(client, world.team)
    response = client.get("/board")
    assert _codes(response.text) == {t.code for t in filtered.values()}
    assert "Tugas unit saya" not in response.text


# --- lazy columns --------------------------------------------------------------------------


@pytest.fixture
def small_client(db_url: str, engine: Engine) -> Iterator[TestClient]:
    settings = Settings(
        database_url=db_url, require_migrated=False, board_page_size=2, board_column_page_size=2
    )
    with TestClient(create_app(settings, engine)) as client:
        yield client


def test_long_column_loads_more_when_revealed(
    small_client: TestClient, session: Session, world: World
) -> None:
    for i in range(5):
        _task(session, world, f"Tugas {i}", program_ids=[world.sehat.id])
    login(small_client, world.team)

    page = small_client.get("/board", params={"program": world.sehat.id})
    todo = _column_of(page.text, "todo")
    assert _codes(todo) == {"T-005", "T-004"}  # newest on top, two per page
    assert "5 tugas · bobot 5" in page.text
    more = f"/board/column/todo?offset=2&amp;program={world.sehat.id}"
    assert (
        f'hx-get="{more}" hx-trigger="revealed, click" hx-target="this" hx-swap="outerHTML"' in todo
    )

    second = small_client.get(more.replace("&amp;", "&"), headers=HX)
    assert second.status_code == 200
    assert "<html" not in second.text
    assert _codes(second.text) == {"T-003", "T-002"}
    assert f"/board/column/todo?offset=4&amp;program={world.sehat.id}" in second.text

    last = small_client.get("/board/column/todo", params={"offset": 4}, headers=HX)
    assert _codes(last.text) == {"T-001"}
    assert "board/column/todo?offset" not in last.text

    # Without JS the same link is a page of its own.
    full = small_client.get("/board/column/todo", params={"offset": 2})
    assert full.status_code == 200
    assert "<html" in full.text
    assert _codes(full.text) == {"T-003", "T-002"}


def test_a_column_page_of_kept_cards_loads_no_card_whole(
    client: TestClient, session: Session, world: World, statements: list[str]
) -> None:
    """Only the stamps are read, the look-ahead card (is there a next page?) included."""
    for i in range(4):
        _task(session, world, f"Tugas {i}")
    login(client, world.team)
    card_cache.clear()  # the board the login lands on showed every card
    page = "/board/column/todo?offset=1&limit=2"
    first = client.get(page, headers=HX)
    region_cache.clear()  # the page itself would be kept whole
    statements.clear()
    again = client.get(page, headers=HX)
    assert again.text == first.text
    assert _codes(again.text) == {"T-003", "T-002"}
    assert "offset=3" in again.text  # a next page follows
    assert not any("JOIN unit" in s or "task_program" in s for s in statements)


def _stamp_reads(statements: list[str]) -> list[str]:
    """The narrow read of the shown cards' stamps (services.board._CardReader.stamps)."""
    return [s for s in statements if "task.updated_at, task.lead_unit_id" in s]


def test_a_kept_board_is_served_until_a_column_changes(
    client: TestClient, session: Session, world: World, statements: list[str]
) -> None:
    """The columns region is kept under the column stamps: a repeated board reads no card,
    and a move by someone else shows at the next view."""
    jalan = _task(session, world, "Jalan desa")
    _task(session, world, "Jembatan")
    login(client, world.team)
    client.get("/board")
    statements.clear()
    kept = client.get("/board").text
    assert not _stamp_reads(statements)
    assert "T-001" in _column_of(kept, "todo")

    tasks.move_task(
        session,
        actor=world.putr_head,
        task_id=jalan.pk,
        move=TaskMove(status=TaskStatus.in_progress, version=jalan.version),
    )
    statements.clear()
    moved = client.get("/board").text
    assert _stamp_reads(statements)
    assert "T-001" in _column_of(moved, "in_progress")
    assert "T-001" not in _column_of(moved, "todo")


def test_a_kept_region_carries_the_current_etag(
    client: TestClient, session: Session, world: World, statements: list[str]
) -> None:
    """A write this view does not show moves the plan's number in the ETag, not the view's
    columns: the kept region is served, with the tag as it is now, which the poll accepts."""
    _task(session, world, "Jalan desa")
    login(client, world.putr_head)  # their unit's board
    first = client.get("/board").text
    _task(session, world, "Posyandu", lead=world.dinkes)
    statements.clear()
    again = client.get("/board").text
    assert not _stamp_reads(statements)
    tags = []
    for page in (first, again):
        found = re.search(r'data-etag="([^"]*)"', page)
        assert found is not None
        tags.append(html.unescape(found.group(1)))
    assert tags[0] != tags[1]
    assert client.get("/board/columns", headers={**HX, "If-None-Match": tags[1]}).status_code == 304
    stale = client.get("/board/columns", headers={**HX, "If-None-Match": tags[0]})
    assert stale.status_code == 304  # the same columns: the newer tag comes back
    assert stale.headers["etag"] == tags[1]


def test_a_kept_board_never_carries_another_requests_warning(
    client: TestClient, session: Session, world: World
) -> None:
    _task(session, world, "Jalan desa")
    login(client, world.team)
    warned = client.get("/board", params={"program": "abc"}).text
    assert "diabaikan" in warned
    assert "diabaikan" not in client.get("/board").text


def test_a_kept_board_is_not_served_for_a_restored_database(
    client: TestClient, session: Session, world: World
) -> None:
    """A backup restored while the server runs may repeat the change numbers the region is
    kept under; the columns' latest write times never repeat."""
    jalan = _task(session, world, "Jalan desa")
    login(client, world.team)
    assert "Jalan desa" in client.get("/board").text
    # What a restore looks like to the server: other content, the same change numbers.
    session.execute(
        sa.update(Task)
        .where(col(Task.id) == jalan.pk)
        .values(title="Jalan kabupaten", updated_at=jalan.updated_at + timedelta(seconds=1))
    )
    session.commit()
    page = client.get("/board").text
    assert "Jalan kabupaten" in page
    assert "Jalan desa" not in page


def test_a_kept_column_page_is_served_until_its_column_changes(
    client: TestClient, session: Session, world: World, statements: list[str]
) -> None:
    made = [_task(session, world, f"Tugas {i}") for i in range(3)]
    login(client, world.team)
    page = "/board/column/todo?offset=1&limit=2"
    first = client.get(page, headers=HX).text
    statements.clear()
    assert client.get(page, headers=HX).text == first
    assert not _stamp_reads(statements)

    shown = next(t for t in made if t.code in _codes(first))
    report = ProgressUpdate(version=shown.version, progress_pct=40, note="Survei selesai")
    tasks.update_progress(session, actor=world.team, task_id=shown.pk, data=report)
    statements.clear()
    changed = client.get(page, headers=HX).text
    assert _stamp_reads(statements)
    assert 'value="40"' in changed
    assert 'value="40"' not in first


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/board/column/cancelled", 404),
        ("/board/column/nope", 404),
        ("/board/column/todo?offset=-1", 422),
        ("/board/column/todo?offset=abc", 422),
    ],
)
def test_bad_column_requests_are_4xx(
    client: TestClient, world: World, path: str, status: int
) -> None:
    login(client, world.team)
    assert client.get(path, headers=HX).status_code == status
    assert client.get(path).status_code == status


# --- moves ---------------------------------------------------------------------------------


def test_move_by_plain_form_redirects_back_with_filters(
    client: TestClient, session: Session, world: World
) -> None:
    task = _task(session, world, "Jalan poros")
    csrf = login(client, world.putr_head)

    response = client.post(
        f"/board/tasks/{task.id}/move?unit={world.putr.id}&q=jalan",
        data={"csrf_token": csrf, "status": "in_progress", "version": task.version},
        follow_redirects=False,
    )

    assert response.status_code == 303
    assert response.headers["location"] == f"/board?unit={world.putr.id}&q=jalan#task-{task.id}"
    assert _state(session, task.pk) == (TaskStatus.in_progress, 2, 2)
    board = client.get(response.headers["location"])
    assert "T-001" in _column_of(board.text, "in_progress")


def test_move_by_htmx_answers_card_counts_and_message(
    client: TestClient, session: Session, world: World
) -> None:
    task = _task(session, world, "Jalan poros", weight=4)
    _task(session, world, "Posyandu", lead=world.dinkes)
    csrf = login(client, world.putr_head)

    response = client.post(
        f"/board/tasks/{task.id}/move?all=1",
        data={"status": "blocked", "version": task.version, "blocked_reason": "Lahan belum bebas"},
        headers={**HX, "X-CSRF-Token": csrf},
    )

    assert response.status_code == 200
    html = response.text
    assert html.count('<article class="card') == 1
    assert f'id="task-{task.id}"' in html
    assert 'data-status="blocked"' in html
    assert 'data-version="2"' in html
    assert "Lahan belum bebas" in html
    assert f'href="/board/tasks/{task.id}/move?all=1"' in html
    # The headers of the two columns the card left and entered, no others.
    assert html.count('hx-swap-oob="true"') == 2
    assert set(re.findall(r'id="col-head-(\w+)" hx-swap-oob', html)) == {"todo", "blocked"}
    assert re.search(
        r'id="col-head-blocked" hx-swap-oob="true">\s*<h2[^>]*>Terkendala</h2>\s*'
        r'<p class="column-meta">1 tugas · bobot 4</p>',
        html,
    )
    assert "1 tugas · bobot 1" in html  # Belum Dimulai keeps the other unit's task
    events = json.loads(response.headers["HX-Trigger"])
    assert events["toast"] == {"message": "Status T-001 diubah ke Terkendala.", "kind": "ok"}
    assert _state(session, task.pk) == (TaskStatus.blocked, 2, 2)


def test_htmx_move_counts_use_the_current_filters(
    client: TestClient, session: Session, world: World
) -> None:
    task = _task(session, world, "Jalan poros", program_ids=[world.sehat.id])
    _task(session, world, "Jalan lain")
    csrf = login(client, world.team)

    response = client.post(
        f"/board/tasks/{task.id}/move?program={world.sehat.id}",
        data={"status": "in_progress", "version": task.version},
        headers={**HX, "X-CSRF-Token": csrf},
    )

    assert re.search(
        r'id="col-head-todo"[^>]*>\s*<h2[^>]*>[^<]*</h2>\s*'
        r'<p class="column-meta">0 tugas · bobot 0</p>',
        response.text,
    )


def test_drop_after_a_card_reorders_the_column(
    client: TestClient, session: Session, world: World
) -> None:
    a = _task(session, world, "Tugas A")
    b = _task(session, world, "Tugas B")
    c = _task(session, world, "Tugas C")  # column order now: C, B, A
    csrf = login(client, world.team)

    response = client.post(
        f"/board/tasks/{c.id}/move",
        data={"status": "todo", "version": c.version, "after_id": a.id},
        headers={**HX, "X-CSRF-Token": csrf},
    )

    assert response.status_code == 200
    assert "Urutan T-003 di kolom Belum Dimulai diperbarui." in response.headers["HX-Trigger"]
    assert re.findall(r'id="col-head-(\w+)" hx-swap-oob', response.text) == ["todo"]
    session.rollback()
    session.expire_all()
    order = session.exec(
        select(Task.code).where(Task.status == TaskStatus.todo).order_by(col(Task.position))
    ).all()
    assert order == ["T-002", "T-001", "T-003"]
    # Readers see the column as 1..n in that order (stored numbers are sparse).
    stored = session.exec(select(Task).order_by(col(Task.position))).all()
    places = ranks(session, stored)
    assert [places[t.pk] for t in stored] == [1, 2, 3]
    assert b.id is not None


def test_drop_into_another_column_after_a_card(
    client: TestClient, session: Session, world: World
) -> None:
    first = _task(session, world, "Sudah jalan 1", status=TaskStatus.in_progress)
    _task(session, world, "Sudah jalan 2", status=TaskStatus.in_progress)  # on top
    moving = _task(session, world, "Baru")
    csrf = login(client, world.team)

    client.post(
        f"/board/tasks/{moving.id}/move",
        data={"status": "in_progress", "version": moving.version, "after_id": first.id},
        headers={**HX, "X-CSRF-Token": csrf},
    )

    session.rollback()
    session.expire_all()
    order = session.exec(
        select(Task.code).where(Task.status == TaskStatus.in_progress).order_by(col(Task.position))
    ).all()
    assert order == ["T-002", "T-001", "T-003"]


def test_unit_cannot_move_another_units_card(
    client: TestClient, session: Session, world: World
) -> None:
    task = _task(session, world, "Posyandu", lead=world.dinkes)
    before = _state(session, task.pk)
    csrf = login(client, world.putr_head)

    page = client.get("/board", params={"all": "1"})
    card = re.search(rf'<article[^>]*\sid="task-{task.id}"[^>]*>', page.text)
    assert card is not None
    assert "data-targets" not in card.group(0)  # not the viewer's to move
    assert f'href="/board/tasks/{task.id}/move' not in page.text

    hx = client.post(
        f"/board/tasks/{task.id}/move",
        data={"status": "in_progress", "version": task.version},
        headers={**HX, "X-CSRF-Token": csrf},
    )
    assert hx.status_code == 403
    assert "menjadi tanggung jawab perangkat daerah lain" in hx.text
    assert "<html" not in hx.text
    plain = client.post(
        f"/board/tasks/{task.id}/move?all=1",
        data={"csrf_token": csrf, "status": "in_progress", "version": task.version},
        follow_redirects=False,
    )
    # Without JS: the reason, and the status code of the refusal.
    assert plain.status_code == 403
    assert "menjadi tanggung jawab perangkat daerah lain" in plain.text
    assert client.get(f"/board/tasks/{task.id}/move").status_code == 403
    assert _state(session, task.pk) == before


def test_unit_cannot_mark_done(client: TestClient, session: Session, world: World) -> None:
    task = _task(session, world, "Jalan poros", status=TaskStatus.review)
    before = _state(session, task.pk)
    csrf = login(client, world.putr_head)

    page = client.get("/board")
    assert f'id="task-{task.id}"' in page.text
    assert 'data-targets="todo in_progress blocked"' in page.text
    form = client.get(f"/board/tasks/{task.id}/move")
    assert '<option value="done">' not in form.text
    assert '<option value="todo">' in form.text

    response = client.post(
        f"/board/tasks/{task.id}/move",
        data={"status": "done", "version": task.version},
        headers={**HX, "X-CSRF-Token": csrf},
    )
    assert response.status_code == 403
    assert "Hanya Tim Transisi yang dapat menandai tugas Selesai" in response.text
    assert _state(session, task.pk) == before


def test_stale_version_is_a_conflict(client: TestClient, session: Session, world: World) -> None:
    task = _task(session, world, "Jalan poros", status=TaskStatus.in_progress)  # version 2
    before = _state(session, task.pk)
    csrf = login(client, world.putr_head)

    hx = client.post(
        f"/board/tasks/{task.id}/move",
        data={"status": "review", "version": 1},
        headers={**HX, "X-CSRF-Token": csrf},
    )
    assert hx.status_code == 409
    assert "telah diubah oleh Tim Transisi" in hx.text

    plain = client.post(
        f"/board/tasks/{task.id}/move",
        data={"csrf_token": csrf, "status": "review", "version": 1},
        follow_redirects=False,
    )
    assert plain.status_code == 409
    assert "telah diubah oleh" in plain.text
    # The board shows the task as it is now, with its current version in the form.
    assert 'name="version" value="2"' in plain.text
    assert _state(session, task.pk) == before


def test_blocked_needs_a_reason(client: TestClient, session: Session, world: World) -> None:
    task = _task(session, world, "Jalan poros")
    before = _state(session, task.pk)
    csrf = login(client, world.putr_head)

    hx = client.post(
        f"/board/tasks/{task.id}/move",
        data={"status": "blocked", "version": task.version, "blocked_reason": "   "},
        headers={**HX, "X-CSRF-Token": csrf},
    )
    assert hx.status_code == 422
    assert "Alasan kendala wajib diisi" in hx.text

    plain = client.post(
        f"/board/tasks/{task.id}/move",
        data={"csrf_token": csrf, "status": "blocked", "version": task.version},
        follow_redirects=False,
    )
    assert plain.status_code == 422
    # The card's move page again, the column still chosen, the message beside the field.
    assert "<h1>Ubah status T-001</h1>" in plain.text
    assert '<option value="blocked" selected>' in plain.text
    assert 'aria-invalid="true" aria-describedby="move-error"' in plain.text
    assert re.search(r'id="move-error" role="alert">Alasan kendala wajib diisi', plain.text)
    assert _state(session, task.pk) == before


def test_team_rejection_needs_a_note(client: TestClient, session: Session, world: World) -> None:
    task = _task(session, world, "Jalan poros", status=TaskStatus.review)
    csrf = login(client, world.team)

    page = client.get("/board")
    assert 'data-rejects="true"' in page.text  # the dialog asks the team for a reason
    form = client.get(f"/board/tasks/{task.id}/move")
    assert "tuliskan apa yang perlu diperbaiki (wajib)" in form.text

    refused = client.post(
        f"/board/tasks/{task.id}/move",
        data={"status": "in_progress", "version": task.version},
        headers={**HX, "X-CSRF-Token": csrf},
    )
    assert refused.status_code == 422
    assert "catatan penolakan" in refused.text

    done = client.post(
        f"/board/tasks/{task.id}/move",
        data={"status": "in_progress", "version": task.version, "note": "Foto bukti kurang"},
        headers={**HX, "X-CSRF-Token": csrf},
    )
    assert done.status_code == 200
    assert _state(session, task.pk)[0] == TaskStatus.in_progress


def test_executive_cannot_move(client: TestClient, session: Session, world: World) -> None:
    task = _task(session, world, "Jalan poros")
    before = _state(session, task.pk)
    csrf = login(client, world.executive)

    page = client.get("/board")
    assert "T-001" in page.text
    assert "data-targets" not in page.text
    assert "Ubah status" not in page.text

    response = client.post(
        f"/board/tasks/{task.id}/move",
        data={"status": "in_progress", "version": task.version},
        headers={**HX, "X-CSRF-Token": csrf},
    )
    assert response.status_code == 403
    assert "hanya dapat melihat" in response.text
    assert _state(session, task.pk) == before


def test_move_without_csrf_token_is_refused(
    client: TestClient, session: Session, world: World
) -> None:
    task = _task(session, world, "Jalan poros")
    before = _state(session, task.pk)
    login(client, world.team)

    for headers in ({}, HX):
        response = client.post(
            f"/board/tasks/{task.id}/move",
            data={"status": "in_progress", "version": task.version},
            headers=headers,
            follow_redirects=False,
        )
        assert response.status_code == 403
        assert "token keamanan" in response.text
    assert _state(session, task.pk) == before


@pytest.mark.parametrize(
    "data",
    [
        {"status": "cancelled", "version": "1"},
        {"status": "nope", "version": "1"},
        {"status": "", "version": "1"},
        {"status": "todo", "version": "abc"},
        {"status": "todo", "version": "1", "after_id": "x"},
        {"status": "blocked", "version": "1", "blocked_reason": "x" * 3000},
    ],
)
def test_malformed_moves_are_4xx(
    client: TestClient, session: Session, world: World, data: dict[str, str]
) -> None:
    task = _task(session, world, "Jalan poros")
    csrf = login(client, world.team)
    response = client.post(
        f"/board/tasks/{task.id}/move", data=data, headers={**HX, "X-CSRF-Token": csrf}
    )
    assert response.status_code == 422, response.text
    assert _state(session, task.pk) == (TaskStatus.todo, 1, 1)


def test_moving_a_missing_task_is_404(client: TestClient, world: World) -> None:
    csrf = login(client, world.team)
    response = client.post(
        "/board/tasks/999/move",
        data={"status": "todo", "version": "1"},
        headers={**HX, "X-CSRF-Token": csrf},
    )
    assert response.status_code == 404


# --- polling -----------------------------------------------------------------------------


def _page_etag(html: str) -> str:
    found = re.search(r'data-etag="([^"]+)"', html)
    assert found is not None
    return found.group(1).replace("&#34;", '"')


def _oob_columns(html: str) -> set[str]:
    return set(
        re.findall(
            r'id="col-(\w+)" data-status="\w+"\s+aria-labelledby="[^"]+" hx-swap-oob="true"', html
        )
    )


def test_poll_answers_304_until_something_changes(
    client: TestClient, session: Session, world: World, statements: list[str]
) -> None:
    task = _task(session, world, "Jalan poros")
    login(client, world.team)
    etag = _page_etag(client.get("/board").text)
    assert etag.startswith('W/"')

    first = client.get("/board/columns", headers={**HX, "If-None-Match": etag})
    assert first.status_code == 304
    assert first.content == b""
    assert first.headers["etag"] == etag
    assert first.headers["cache-control"] == "no-cache"

    statements.clear()
    assert client.get("/board/columns", headers={**HX, "If-None-Match": etag}).status_code == 304
    assert not any("JOIN unit" in s for s in statements)  # no card is read
    # Nothing of the plan was written: session and user, then the plan; nothing is counted.
    assert not any("GROUP BY" in s for s in statements)
    assert len(statements) <= 3

    make_task(session, actor=world.team, plan=world.plan, lead=world.dinkes, title="Baru")
    changed = client.get("/board/columns", headers={**HX, "If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["etag"] != etag
    assert "<html" not in changed.text
    # Only Belum Dimulai changed: it comes alone (out of band), with the summary.
    assert 'id="board-columns"' not in changed.text
    assert _oob_columns(changed.text) == {"todo"}
    assert 'id="board-summary" hx-swap-oob="true"' in changed.text
    assert {"T-002", task.code} <= _codes(changed.text)

    # A browser without a copy of this view gets the whole region.
    fresh = client.get("/board/columns", headers=HX)
    assert f'data-etag="{changed.headers["etag"].replace(chr(34), "&#34;")}"' in fresh.text
    assert _oob_columns(fresh.text) == set()

    # The ETag depends on the filters too.
    other = client.get(
        "/board/columns",
        params={"unit": world.dinkes.id},
        headers={**HX, "If-None-Match": changed.headers["etag"]},
    )
    assert other.status_code == 200
    assert 'id="board-columns"' in other.text
    assert _codes(other.text) == {"T-002"}


def test_poll_resends_only_the_columns_that_changed(
    client: TestClient, session: Session, world: World
) -> None:
    first = _task(session, world, "Jalan poros")
    second = _task(session, world, "Jembatan")
    _task(session, world, "Sumur bor", status=TaskStatus.done)
    csrf = login(client, world.team)

    def poll(etag: str) -> Any:
        return client.get("/board/columns", headers={**HX, "If-None-Match": etag})

    etag = _page_etag(client.get("/board").text)
    # A move touches the column it left and the one it entered.
    moved = client.post(
        f"/board/tasks/{first.id}/move",
        data={"status": "in_progress", "version": first.version},
        headers={**HX, "X-CSRF-Token": csrf},
    )
    assert moved.status_code == 200
    answer = poll(etag)
    assert _oob_columns(answer.text) == {"todo", "in_progress"}
    etag = answer.headers["etag"]
    assert poll(etag).status_code == 304

    # A reorder writes no event, yet the column's order changed: the column is re-sent.
    reorder = client.post(
        f"/board/tasks/{second.id}/move",
        data={"status": "todo", "version": second.version, "after_id": "999999"},
        headers={**HX, "X-CSRF-Token": csrf},
    )
    assert reorder.status_code == 200
    answer = poll(etag)
    assert _oob_columns(answer.text) == {"todo"}
    etag = answer.headers["etag"]

    # Progress on a card changes its column only.
    client.post(
        f"/tasks/{first.id}/progress",
        data={"csrf_token": csrf, "version": 2, "progress_pct": "40", "realisation": "1 km"},
        follow_redirects=False,
    )
    answer = poll(etag)
    assert _oob_columns(answer.text) == {"in_progress"}
    assert "40%" in answer.text


def test_a_filtered_view_stays_304_when_only_other_cards_change(
    client: TestClient, session: Session, world: World, statements: list[str]
) -> None:
    _task(session, world, "Posyandu", lead=world.dinkes)
    other = _task(session, world, "Jalan poros")
    login(client, world.dinkes_head)  # a unit user's board shows its unit's tasks
    etag = _page_etag(client.get("/board").text)
    tasks.update_progress(
        session,
        actor=world.team,
        task_id=other.pk,
        data=ProgressUpdate(version=other.version, progress_pct=50),
    )
    statements.clear()
    unchanged = client.get("/board/columns", headers={**HX, "If-None-Match": etag})
    assert unchanged.status_code == 304
    assert any("GROUP BY" in s for s in statements)  # the plan moved: its columns are counted
    # The answer names the plan's new change number, so the next poll counts nothing.
    newer = unchanged.headers["etag"]
    assert newer != etag
    assert newer.split(".")[2:] == etag.split(".")[2:]
    statements.clear()
    assert client.get("/board/columns", headers={**HX, "If-None-Match": newer}).status_code == 304
    assert not any("GROUP BY" in s for s in statements)
    # An old tag still answers 304: what it shows has not changed.
    assert client.get("/board/columns", headers={**HX, "If-None-Match": etag}).status_code == 304
    # Everything: the other unit's change shows.
    everything = _page_etag(client.get("/board", params={"all": "1"}).text)
    _task(session, world, "Drainase")
    answer = client.get("/board/columns?all=1", headers={**HX, "If-None-Match": everything})
    assert answer.status_code == 200


def test_the_busiest_pages_take_one_thread_hop_and_return_their_connection(
    client: TestClient, session: Session, world: World, engine: Engine, monkeypatch: Any
) -> None:
    """The poll, sent every ~10 s by every open board, checks the login and closes its
    session inside its one thread-pool hop (a dependency on CurrentUser would add one, and
    closing the session in app.db.get_session another): app.auth.in_one_hop."""
    _task(session, world, "Jalan poros")
    login(client, world.putr_head)
    etag = client.get("/board/columns", headers=HX).headers["etag"]
    hops: list[str] = []
    run_sync = anyio.to_thread.run_sync

    async def counted(func: Any, *args: Any, **kwargs: Any) -> Any:
        hops.append(getattr(func, "__qualname__", repr(func)))
        return await run_sync(func, *args, **kwargs)

    monkeypatch.setattr(anyio.to_thread, "run_sync", counted)
    polled = client.get("/board/columns", headers={**HX, "If-None-Match": etag})
    assert polled.status_code == 304
    assert len(hops) == 1, hops
    pool = engine.pool
    assert isinstance(pool, sa.pool.QueuePool)
    assert pool.checkedout() == 0
    # A changed poll answers in the same single hop.
    hops.clear()
    _task(session, world, "Jembatan")
    changed = client.get("/board/columns", headers={**HX, "If-None-Match": etag})
    assert changed.status_code == 200
    assert len(hops) == 1, hops
    assert pool.checkedout() == 0
    # So do the page, a lazy column page and the dashboard.
    for path in ("/board", "/board/column/todo", "/dashboard"):
        hops.clear()
        assert client.get(path).status_code == 200
        assert len(hops) == 1, (path, hops)
        assert pool.checkedout() == 0


def test_an_error_in_a_one_hop_page_still_draws_the_header_and_returns_the_connection(
    client: TestClient, world: World, engine: Engine
) -> None:
    """The hop closed the request's session before the error page is drawn; the header's
    unit is read all the same, and no connection stays checked out."""
    login(client, world.putr_head)
    missing = client.get("/board/column/bogus")
    assert missing.status_code == 404
    assert world.putr.short_name in missing.text
    pool = engine.pool
    assert isinstance(pool, sa.pool.QueuePool)
    assert pool.checkedout() == 0


def test_poll_without_htmx_redirects_to_the_board(client: TestClient, world: World) -> None:
    login(client, world.team)
    response = client.get("/board/columns?overdue=1", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/board?overdue=1"


def test_etag_differs_per_user(client: TestClient, session: Session, world: World) -> None:
    _task(session, world, "Jalan poros")
    login(client, world.team)
    team_tag = client.get("/board/columns?all=1", headers=HX).headers["etag"]
    login(client, world.putr_head)
    unit = client.get("/board/columns?all=1", headers={**HX, "If-None-Match": team_tag})
    assert unit.status_code == 200
    assert unit.headers["etag"] != team_tag


# --- access -----------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/board", "/board/columns", "/board/column/todo"])
def test_anonymous_is_sent_to_login(client: TestClient, world: World, path: str) -> None:
    response = client.get(path, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=")


def test_anonymous_move_changes_nothing(client: TestClient, session: Session, world: World) -> None:
    task = _task(session, world, "Jalan poros")
    response = client.post(
        f"/board/tasks/{task.id}/move",
        data={"status": "in_progress", "version": "1"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/login"
    htmx = client.post(
        f"/board/tasks/{task.id}/move", data={"status": "in_progress", "version": "1"}, headers=HX
    )
    assert htmx.status_code == 401
    assert htmx.headers["HX-Redirect"].startswith("/login")
    assert _state(session, task.pk) == (TaskStatus.todo, 1, 1)


def test_inactive_unit_filter_is_ignored(
    client: TestClient, session: Session, world: World
) -> None:
    old = make_unit(session, code="LAMA", name="Dinas Lama")
    old.is_active = False
    session.add(old)
    session.commit()
    _task(session, world, "Jalan poros")
    login(client, world.team)
    response = client.get("/board", params={"unit": old.id})
    assert response.status_code == 200
    assert "T-001" in response.text
    assert "diabaikan: perangkat daerah / kecamatan" in response.text
