"""The dashboard: page and htmx fragment, headline numbers, the RAG rule, stale units,
exceptions, activity, filters, per-program and per-unit pages, the chart's view-model and the
query count."""

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from app.models import (
    DayMode,
    ProgramKind,
    Rag,
    Role,
    Task,
    TaskEvent,
    TaskStatus,
)
from app.routes.dashboard import body_cache
from app.services import chart, curve, task_facts, tasks
from app.services.burndown import BurndownPoint, BurndownSeries, Forecast
from app.services.calendar import PlanCalendar
from app.services.dashboard import (
    STALE_DAYS,
    build_dashboard,
    reference,
)
from app.services.filters import TaskFilter
from app.timefmt import WIB
from tests.factories import World, login, make_program, make_task, make_unit, make_user

HX = {"HX-Request": "true"}


def _today() -> date:
    return datetime.now(UTC).astimezone(WIB).date()


def _task(session: Session, world: World, title: str, **fields: Any) -> Task:
    fields.setdefault("lead", world.putr)
    return make_task(session, actor=world.team, plan=world.plan, title=title, **fields)


def _set_baseline_now(session: Session, world: World) -> None:
    """Tasks created so far count in the baseline scope (the ideal line starts from them)."""
    world.plan.baseline_at = datetime.now(UTC)
    session.add(world.plan)
    session.commit()


def _main(html: str) -> str:
    return html[html.index("<main") : html.index("</main>")]


def _kpi(html: str, label: str) -> str:
    """The value tile of one headline number, as text."""
    found = re.search(
        rf"<dt>{re.escape(label)}</dt>\s*<dd><strong class=\"kpi-value\">([^<]*)</strong>", html
    )
    assert found is not None, label
    return found.group(1)


def _cells(row: str) -> list[str]:
    """The number cells of a RAG row, as text."""
    return re.findall(r'<td class="num[^"]*"[^>]*>([^<]*)</td>', row)


def _section(html: str, heading_id: str) -> str:
    start = html.index(f'id="{heading_id}"')
    end = html.find("</section>", start)
    return html[start:end]


def _row(html: str, name: str) -> str:
    """The <tr> of a RAG table whose first cell links `name`."""
    found = re.search(
        rf'<tr class="rag-row[^"]*">\s*<th scope="row"><a [^>]*>{name}</a>.*?</tr>', html, re.S
    )
    assert found is not None, name
    return found.group(0)


@pytest.fixture
def small_world(session: Session, world: World) -> dict[str, Task]:
    """Four tasks in scope and one cancelled: a known answer for every headline number.

    T-001 PUTR Selesai, weight 3 · T-002 PUTR Terkendala · T-003 Dinkes Sedang Berjalan, due
    three days ago, needs a decision · T-004 Dinkes Belum Dimulai · T-005 cancelled.
    """
    today = _today()
    made = {
        "done": _task(
            session,
            world,
            "Jalan poros",
            status=TaskStatus.done,
            weight=3,
            program_ids=[world.membangun.id],
        ),
        "blocked": _task(
            session,
            world,
            "Jembatan gantung",
            status=TaskStatus.blocked,
            program_ids=[world.membangun.id],
        ),
        "late": _task(
            session,
            world,
            "Posyandu keliling",
            lead=world.dinkes,
            status=TaskStatus.in_progress,
            due_date=today - timedelta(days=3),
            needs_decision=True,
            program_ids=[world.sehat.id],
        ),
        "todo": _task(session, world, "Puskesmas pembantu", lead=world.dinkes),
        "cancelled": _task(session, world, "Batal", lead=world.dinkes),
    }
    task = made["cancelled"]
    made["cancelled"] = tasks.cancel_task(
        session,
        actor=world.team,
        task_id=task.pk,
        version=task.version,
        note="Tidak perlu",
    )
    return made


# --- access ------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["team", "putr_head", "executive"])
def test_every_role_can_open_the_dashboard(client: TestClient, world: World, who: str) -> None:
    login(client, getattr(world, who))

    response = client.get("/dashboard")

    assert response.status_code == 200
    assert "<h1>Dasbor Pimpinan</h1>" in response.text
    assert '<a href="/dashboard" aria-current="page">Dasbor</a>' in response.text


def test_anonymous_is_sent_to_the_login_page(client: TestClient, world: World) -> None:
    for path in ("/dashboard", "/dashboard/programs/1", "/dashboard/units/1"):
        response = client.get(path, follow_redirects=False)

        assert response.status_code == 303
        assert response.headers["location"].startswith("/login?next=")


def test_executives_start_on_the_dashboard_units_on_my_tasks_the_team_on_the_board(
    client: TestClient, world: World
) -> None:
    login(client, world.executive)
    assert client.get("/", follow_redirects=False).headers["location"] == "/dashboard"
    assert client.get("/").url.path == "/dashboard"
    login(client, world.team)
    assert client.get("/", follow_redirects=False).headers["location"] == "/board"
    login(client, world.putr_head)
    assert client.get("/", follow_redirects=False).headers["location"] == "/my-tasks"


def test_every_page_links_the_dashboard(client: TestClient, world: World) -> None:
    login(client, world.putr_head)

    assert '<a href="/dashboard" >Dasbor</a>' in client.get("/board").text


# --- page and fragment -------------------------------------------------------------------


def test_full_page_has_every_region(
    client: TestClient, world: World, small_world: dict[str, Task]
) -> None:
    login(client, world.executive)

    response = client.get("/dashboard")

    assert response.status_code == 200
    assert "HX-Request" in response.headers["vary"]
    html = response.text
    assert "<html" in html
    assert 'href="/static/dashboard.css?v=' in html
    for region in (
        'class="answers"',
        'class="dash-filters',
        'id="burndown"',
        'id="programs-h"',
        'id="unit-h"',
        'id="district-h"',
        'id="exceptions-h"',
        'id="activity-h"',
    ):
        assert region in html, region
    calendar = PlanCalendar.of(world.plan)
    label = calendar.day_label(_today())
    assert f'<strong class="dash-day-label">{label}</strong>' in html
    assert '<div class="print-header letterhead">' in html
    assert f'<p class="letterhead-org">{world.plan.name}</p>' in html
    assert '<svg class="chart-svg" viewBox="0 0 720 380" role="img"' in html
    assert '<title id="curve-title">' in html
    assert '<desc id="curve-desc">' in html
    assert '<details class="chart-data" data-print-open>' in html
    assert 'href="/dashboard/curve.csv" download>' in html
    burndown = client.get("/dashboard", params={"chart": "burndown"}).text
    assert '<svg class="chart-svg chart-count" viewBox="0 0 720 380" role="img"' in burndown
    assert '<title id="chart-title">' in burndown
    assert '<a class="btn btn-small" href="/burndown.csv" download>' in burndown


def test_htmx_answers_only_the_burndown_region(
    client: TestClient, world: World, small_world: dict[str, Task]
) -> None:
    login(client, world.executive)

    response = client.get(
        "/dashboard", params={"measure": "weight", "chart": "burndown"}, headers=HX
    )

    assert response.status_code == 200
    assert "HX-Request" in response.headers["vary"]
    html = response.text
    assert "<html" not in html
    assert html.lstrip().startswith('<div id="burndown" class="burndown-region">')
    assert "dash-filters" not in html
    assert "Dasbor Pimpinan" not in html
    assert "chart-weight" in html
    assert 'href="/burndown.csv?measure=weight"' in html


def test_the_filter_form_is_a_get_form_swapping_the_chart(client: TestClient, world: World) -> None:
    login(client, world.team)

    html = client.get("/dashboard").text

    form = re.search(r'<form class="dash-filters[^>]*>', html)
    assert form is not None
    tag = form.group(0)
    assert 'method="get"' in tag
    assert 'action="/dashboard"' in tag
    assert 'hx-get="/dashboard"' in tag
    assert 'hx-target="#burndown"' in tag
    assert 'hx-swap="outerHTML"' in tag
    assert 'hx-push-url="true"' in tag


# --- headline ----------------------------------------------------------------------------


def _figure(html: str, name: str) -> str:
    """The number of one headline figure (a link to its list), as text."""
    found = re.search(rf'<a [^>]*data-figure="{name}"><strong>([^<]*)</strong>', html)
    assert found is not None, name
    return found.group(1)


def test_headline_numbers_on_a_known_world(
    client: TestClient, world: World, small_world: dict[str, Task]
) -> None:
    login(client, world.executive)

    html = client.get("/dashboard").text

    assert _figure(html, "done") == "25%"  # 1 of 4 (the cancelled one is out)
    assert _figure(html, "late") == "1"
    assert _figure(html, "blocked") == "1"
    assert _figure(html, "decision") == "1"
    assert _figure(html, "review") == "0"
    # Due by today: only the late task has a due date; the others are due on the last day.
    assert _figure(html, "planned") == "25%"


def test_service_headline_and_late_rule(
    session: Session, world: World, small_world: dict[str, Task]
) -> None:
    data = reference(session)

    dashboard = build_dashboard(session, plan=world.plan, filters=TaskFilter(), reference_data=data)

    h = dashboard.headline.stats
    assert (h.total, h.done, h.weight, h.done_weight) == (4, 1, 6, 3)
    assert (h.late, h.blocked, h.needs_decision, h.exceptions) == (1, 1, 1, 2)
    assert (h.planned, h.due, h.delivered) == (1, 1, 1)
    assert h.done_pct == 25
    assert h.done_weight_pct == 50
    # One of one due task is late: Red, with the reason in words.
    assert dashboard.headline.rag == Rag.red
    assert dashboard.headline.reason.startswith(
        "1 dari 1 tugas yang jatuh tempo belum selesai (terlama 3 hari)"
    )


def test_working_day_plan_renders_with_days_off_marked(
    client: TestClient, session: Session, world: World, small_world: dict[str, Task]
) -> None:
    world.plan.day_mode = DayMode.working
    session.add(world.plan)
    session.commit()
    login(client, world.executive)

    response = client.get("/dashboard")

    assert response.status_code == 200
    html = response.text
    assert '<tr class="is-off">' in html or '<tr class="is-future is-off">' in html
    assert '<span class="muted">(libur)</span>' in html
    label = PlanCalendar.of(world.plan).day_label(_today())
    assert f'<strong class="dash-day-label">{label}</strong>' in html


def _series(
    *,
    length: int = 10,
    today_day: int = 4,
    baseline: float = 10,
    remaining: list[float] | None = None,
    scope: list[float] | None = None,
    forecast_day: int | None = 8,
    start: date = date(2025, 2, 20),
    day_numbers: list[int] | None = None,
    working: list[bool] | None = None,
    measure: str = "count",
) -> BurndownSeries:
    """A hand-made series: day 0 is the day before `start`; actual values up to today."""
    remaining = remaining if remaining is not None else [10, 10, 9, 7, 6]
    scope = scope if scope is not None else [10, 10, 10, 11, 11]
    numbers = day_numbers if day_numbers is not None else list(range(length + 1))
    points = []
    for index, day in enumerate(numbers):
        past = index < len(remaining)
        points.append(
            BurndownPoint(
                day=day,
                date=start - timedelta(days=1) + timedelta(days=index),
                is_working_day=working[index] if working else True,
                ideal=baseline * (1 - min(day, length) / length),
                scope=scope[index] if past else None,
                remaining=remaining[index] if past else None,
                added=1.0 if index == 3 else 0.0,
                removed=0.0,
            )
        )
    forecast = Forecast(
        window_days=min(4, today_day),
        burn_per_day=1.0,
        day=forecast_day,
        date=start + timedelta(days=forecast_day - 1) if forecast_day is not None else None,
        remaining=remaining[-1],
        scope=scope[-1],
    )
    return BurndownSeries(
        measure=measure,  # type: ignore[arg-type]
        length_days=length,
        today_day=today_day,
        baseline_scope=baseline,
        points=points,
        forecast=forecast,
        current_scope=scope[-1],
        current_remaining=remaining[-1],
    )


# --- RAG tables on the page --------------------------------------------------------------


def test_rag_tables_group_programs_by_kind_and_list_units(
    client: TestClient, session: Session, world: World, small_world: dict[str, Task]
) -> None:
    make_program(session, code="SIMANIS", kind=ProgramKind.movement)
    _set_baseline_now(session, world)
    login(client, world.executive)

    html = client.get("/dashboard").text

    programs = _section(html, "programs-h")
    assert programs.index("Program Unggulan") < programs.index("Gerakan Bersama Masyarakat")
    assert "Aspek Program Pro Rakyat" not in programs  # no program of that kind
    membangun = _row(programs, "Membangun")
    assert f'href="/dashboard/programs/{world.membangun.id}"' in membangun
    # Two tasks, one done, one blocked: half of the open ones blocked → red.
    # Rencana, Selesai, Terlambat, Terkendala, Tugas: two tasks without a due date (due on
    # the last day), one done, one blocked since today → Amber.
    assert _cells(membangun) == ["0%", "50%", "0", "1", "2"]
    assert "rag-amber" in membangun
    assert "1 terkendala, terlama sejak 0 hari" in membangun
    simanis = _row(programs, "Simanis")
    assert "Tanpa tugas" in simanis
    assert "rag-grey" in simanis

    units = _section(html, "unit-h")
    assert units.index("Perangkat Daerah") < units.index("Kecamatan")
    dinkes = _row(units, "Dinkes")
    assert f'href="/dashboard/units/{world.dinkes.id}"' in dinkes
    assert _cells(dinkes) == ["50%", "0%", "1", "0", "2"]
    assert "rag-red" in dinkes
    assert "1 dari 1 tugas yang jatuh tempo belum selesai (terlama 3 hari)" in dinkes


def test_units_count_the_tasks_they_lead_or_support(
    client: TestClient, session: Session, world: World
) -> None:
    _task(session, world, "Drainase", supporting_unit_ids=[world.dinkes.id])
    login(client, world.team)

    html = client.get("/dashboard").text

    for name in ("Dinas PUTR", "Dinkes"):
        row = _row(_section(html, "unit-h"), name)
        assert _cells(row)[-1] == "1", name


def test_stale_units_stand_out(client: TestClient, session: Session, world: World) -> None:
    district_head = make_user(session, username="camat.rb", role=Role.unit, unit=world.district)
    putr_task = _task(session, world, "Jalan desa")
    dinkes_task = _task(session, world, "Posyandu", lead=world.dinkes)
    district_task = _task(session, world, "Balai desa", lead=world.district)
    # PUTR's people worked today; Dinkes's last note is STALE_DAYS days old; the district's
    # people never recorded anything.
    tasks.add_comment(session, actor=world.putr_head, task_id=putr_task.pk, note="Mulai")
    tasks.add_comment(session, actor=world.dinkes_head, task_id=dinkes_task.pk, note="Lama")
    old = session.exec(select(TaskEvent).where(TaskEvent.actor_id == world.dinkes_head.id)).one()
    old.at = datetime.now(UTC) - timedelta(days=STALE_DAYS)
    session.add(old)
    session.commit()
    assert district_task.id
    assert district_head.id
    login(client, world.executive)

    html = client.get("/dashboard").text

    units = _section(html, "unit-h")
    putr = _row(units, "Dinas PUTR")
    assert "is-stale" not in putr
    assert "Hari ini" in putr
    dinkes = _row(units, "Dinkes")
    assert "is-stale" in dinkes
    assert f"{STALE_DAYS} hari lalu" in dinkes
    assert "Tidak melapor ≥ 7 hari" in dinkes
    district = _row(units, "Rantau Bayur")
    assert "is-stale" in district
    assert "Belum pernah" in district
    assert "2 unit tidak melapor ≥ 7 hari." in units


def test_a_unit_without_tasks_is_grey_and_not_stale(
    client: TestClient, session: Session, world: World
) -> None:
    make_unit(session, code="DLH", name="Dinas Lingkungan Hidup")
    login(client, world.team)

    row = _row(_section(client.get("/dashboard").text, "unit-h"), "Dinas Lingkungan Hidup")

    assert "rag-grey" in row
    assert "is-stale" not in row


def test_print_pack_keeps_the_worst_rows_of_long_tables(
    client: TestClient, session: Session, world: World
) -> None:
    """Two A4 pages hold six units per kind and eight exceptions; the rest stay on screen."""
    for n in range(9):
        unit = make_unit(session, code=f"X{n}", name=f"Dinas Uji {n}")
        _task(session, world, f"Tugas terlambat {n}", lead=unit, due_date=world.plan.start_date)
    login(client, world.executive)
    html = client.get("/dashboard").text

    units = _section(html, "unit-h")
    agency_rows = re.findall(r'<tr class="rag-row[^"]*">', units.split(">Kecamatan<")[0])
    printed = [row for row in agency_rows if "not-printed" not in row]
    assert len(printed) == 6
    assert len(agency_rows) > 6
    assert f"dan {len(agency_rows) - 6} unit lainnya" in units

    exceptions = _section(html, "exceptions-h")
    assert exceptions.count('class="not-printed"') == 9 - 8
    assert "Dicetak 8 dari 9 tugas" in exceptions


# --- exceptions and activity -------------------------------------------------------------


def test_exceptions_list_blocked_late_and_decisions(
    client: TestClient, session: Session, world: World, small_world: dict[str, Task]
) -> None:
    # A finished task that once needed a decision is no exception.
    _task(session, world, "Selesai dengan keputusan", status=TaskStatus.done, needs_decision=True)
    login(client, world.executive)

    section = _section(client.get("/dashboard").text, "exceptions-h")

    assert "(2 tugas)" in section
    blocked, late = small_world["blocked"], small_world["late"]
    rows = re.findall(
        r'<th scope="row"><a href="/tasks/\d+"><span class="code">(T-\d+)</span>', section
    )
    assert rows == [late.code, blocked.code]  # decisions first, then the longest blocked
    blocked_link = f'<a href="/tasks/{blocked.id}"><span class="code">{blocked.code}</span>'
    assert f"{blocked_link} Jembatan gantung</a>" in section
    assert "Terkendala sejak 0 hari: Menunggu pembebasan lahan" in section
    assert "Dinas PUTR" in section
    assert "Posyandu keliling</a>" in section
    assert "Perlu keputusan Bupati" in section
    assert '<strong class="late">3 hari</strong>' in section
    assert "Selesai dengan keputusan" not in section
    assert "Batal" not in section


def test_no_exceptions_says_so(client: TestClient, session: Session, world: World) -> None:
    _task(session, world, "Rapat koordinasi")
    login(client, world.team)

    section = _section(client.get("/dashboard").text, "exceptions-h")

    assert "Tidak ada tugas yang terkendala, terlambat atau menunggu keputusan." in section


def test_activity_tells_what_happened_and_escapes_user_text(
    client: TestClient, session: Session, world: World
) -> None:
    task = _task(session, world, "Jalan <script>alert(1)</script> desa")
    tasks.add_comment(session, actor=world.putr_head, task_id=task.pk, note="<b>mulai</b> besok")
    login(client, world.executive)

    html = client.get("/dashboard").text

    section = _section(html, "activity-h")
    items = re.findall(r'<li class="activity-item.*?</li>', section, re.S)
    assert len(items) == 2
    newest, first = items
    assert "Kadis Putr</strong> menulis catatan" in newest
    assert "&lt;b&gt;mulai&lt;/b&gt; besok" in newest
    assert "Tim Transisi</strong> membuat tugas ini" in first
    escaped = "Jalan &lt;script&gt;alert(1)&lt;/script&gt; desa"
    link = f'<a href="/tasks/{task.id}"><span class="code">{task.code}</span> {escaped}</a>'
    assert link in first
    assert re.search(r"\d{1,2} \w{3} \d{4} \d{2}\.\d{2} WIB</time>", newest)
    assert "<script>alert(1)" not in html
    assert "<b>mulai</b>" not in html


def test_activity_shows_only_the_latest_fifteen(
    client: TestClient, session: Session, world: World
) -> None:
    for number in range(20):
        _task(session, world, f"Tugas nomor {number:02d}")
    login(client, world.team)

    section = _section(client.get("/dashboard").text, "activity-h")

    assert section.count('<li class="activity-item') == 15
    assert "Tugas nomor 19" in section
    assert "Tugas nomor 04" not in section


# --- filters -----------------------------------------------------------------------------


def test_filters_are_kept_in_the_form_and_the_csv_link(
    client: TestClient, world: World, small_world: dict[str, Task]
) -> None:
    login(client, world.team)
    params = {
        "unit": str(world.dinkes.id),
        "kind": "priority",
        "program": str(world.sehat.id),
        "district": str(world.district.id),
        "measure": "weight",
    }

    html = client.get("/dashboard", params=params).text

    assert f'<option value="{world.dinkes.id}" selected>Dinkes</option>' in html
    assert '<option value="priority" selected>Program Unggulan</option>' in html
    assert f'<option value="{world.sehat.id}" selected>Sehat</option>' in html
    assert f'<option value="{world.district.id}" selected>Rantau Bayur</option>' in html
    assert '<input type="radio" name="measure" value="weight" checked>' in html
    link = re.search(r'href="(/burndown\.csv\?[^"]+)"', html)
    assert link is not None
    query = parse_qs(urlsplit(link.group(1).replace("&amp;", "&")).query)
    assert query == {k: [v] for k, v in params.items()}


def test_filters_apply_to_the_chart(
    client: TestClient, world: World, small_world: dict[str, Task]
) -> None:
    login(client, world.team)

    bd = {"chart": "burndown"}
    everything = client.get("/dashboard", params=bd, headers=HX).text
    dinkes = client.get("/dashboard", params={"unit": world.dinkes.id, **bd}, headers=HX).text
    weight = client.get("/dashboard", params={"measure": "weight", **bd}, headers=HX).text
    curve = client.get("/dashboard", params={"unit": world.dinkes.id}, headers=HX).text

    assert "sisa 3 dari 4 tugas" in everything
    assert "sisa 2 dari 2 tugas" in dinkes
    assert "sisa 3 dari 6 bobot" in weight
    # Dinkes: two tasks, one due (3 days ago), none done.
    assert "rencana 50 %, realisasi 0 %" in curve


def test_filters_do_not_change_the_plan_wide_headline(
    client: TestClient, world: World, small_world: dict[str, Task]
) -> None:
    login(client, world.team)

    html = client.get("/dashboard", params={"unit": world.dinkes.id}).text

    assert _figure(html, "done") == "25%"  # 1 of 4, plan-wide


@pytest.mark.parametrize(
    "params",
    [
        {"unit": "abc"},
        {"unit": "99999999999999999999999"},
        {"program": "4242"},
        {"kind": "<script>"},
        {"district": "-1"},
        {"measure": "kg"},
    ],
)
def test_bad_filters_are_ignored_and_said_so(
    client: TestClient, world: World, params: dict[str, str]
) -> None:
    login(client, world.team)

    for headers in ({}, HX):
        response = client.get("/dashboard", params=params, headers=headers)

        assert response.status_code == 200
        assert "Sebagian filter tidak dikenali dan diabaikan" in response.text
        assert "<script>" not in response.text


def test_a_district_is_not_a_unit_filter_of_an_agency(client: TestClient, world: World) -> None:
    """An agency id given as a district is unknown as a district, and ignored."""
    login(client, world.team)

    html = client.get("/dashboard", params={"district": world.putr.id}).text

    assert "diabaikan: kecamatan" in html


# --- per-program and per-unit pages ------------------------------------------------------


def test_program_page_shows_its_burndown_and_tasks(
    client: TestClient, world: World, small_world: dict[str, Task]
) -> None:
    login(client, world.executive)

    response = client.get(f"/dashboard/programs/{world.membangun.id}?chart=burndown")

    assert response.status_code == 200
    html = _main(response.text)
    assert "<h1>Program MEMBANGUN</h1>" in html
    assert "Program Unggulan" in html
    assert 'id="burndown"' in html
    assert "sisa 1 dari 2 tugas" in html
    assert f'href="/burndown.csv?program={world.membangun.id}"' in html
    assert "Jalan poros" in html
    assert "Jembatan gantung" in html
    assert "Posyandu keliling" not in html
    assert '<span class="status-badge status-blocked">Terkendala</span>' in html
    assert 'class="rag rag-amber"' in html  # blocked since today: short of the Red limit


def test_unit_page_shows_tasks_it_leads_and_supports(
    client: TestClient, session: Session, world: World, small_world: dict[str, Task]
) -> None:
    _task(session, world, "Drainase", supporting_unit_ids=[world.dinkes.id])
    login(client, world.putr_head)

    response = client.get(f"/dashboard/units/{world.dinkes.id}?chart=burndown")

    assert response.status_code == 200
    html = _main(response.text)
    assert "<h1>Dinkes</h1>" in html
    assert "Posyandu keliling" in html
    assert "Puskesmas pembantu" in html
    assert "Pendukung (Dinas PUTR)" in html
    assert "Batal" not in html
    assert '<strong class="late">Terlambat 3 hari</strong>' in html
    assert "Belum pernah" in html  # nobody of Dinkes recorded anything
    assert "sisa 3 dari 3 tugas" in html


def test_group_pages_answer_htmx_with_the_burndown_region(
    client: TestClient, world: World, small_world: dict[str, Task]
) -> None:
    login(client, world.team)

    for path in (f"/dashboard/programs/{world.membangun.id}", f"/dashboard/units/{world.putr.id}"):
        response = client.get(path, params={"measure": "weight", "chart": "burndown"}, headers=HX)

        assert response.status_code == 200
        assert "HX-Request" in response.headers["vary"]
        assert "<html" not in response.text
        assert response.text.lstrip().startswith('<div id="burndown"')
        assert "chart-weight" in response.text


def test_group_pages_link_from_the_rag_tables(
    client: TestClient, world: World, small_world: dict[str, Task]
) -> None:
    login(client, world.team)
    html = client.get("/dashboard").text

    links = set(re.findall(r'href="(/dashboard/(?:programs|units)/\d+)"', html))

    assert f"/dashboard/programs/{world.sehat.id}" in links
    assert f"/dashboard/units/{world.district.id}" in links
    for link in links:
        assert client.get(link).status_code == 200, link


@pytest.mark.parametrize("kind", ["programs", "units"])
@pytest.mark.parametrize("item_id", ["999", "0", "99999999999999999999", "abc", "-1", "1.5"])
def test_unknown_group_pages_are_404(
    client: TestClient, world: World, kind: str, item_id: str
) -> None:
    login(client, world.team)

    response = client.get(f"/dashboard/{kind}/{item_id}")

    assert response.status_code == 404
    assert "tidak ditemukan" in response.text


# --- the chart's view-model --------------------------------------------------------------


def _pairs(points: str) -> list[tuple[float, float]]:
    return [(float(x), float(y)) for x, y in (p.split(",") for p in points.split())]


def test_chart_ideal_runs_from_top_left_to_bottom_right() -> None:
    c = chart.burndown_chart(_series(), today=date(2025, 2, 23))

    ideal = _pairs(c.ideal_points)
    assert len(ideal) == 11
    # The y axis runs to a round number above the highest value (scope 11 → 15).
    assert [t.label for t in c.y_ticks] == ["0", "5", "10", "15"]
    ten = next(t.position for t in c.y_ticks if t.label == "10")
    assert ideal[0] == (chart.LEFT, ten)
    assert ideal[-1] == (chart.RIGHT, chart.BOTTOM)
    assert c.y_ticks[0].position == chart.BOTTOM
    assert c.y_ticks[-1].position == chart.TOP


def test_chart_top_left_when_the_baseline_is_the_highest_value() -> None:
    c = chart.burndown_chart(
        _series(scope=[10, 10, 10, 10, 10], remaining=[10, 9, 8, 7, 6]), today=date(2025, 2, 23)
    )

    ideal = _pairs(c.ideal_points)
    assert ideal[0] == (chart.LEFT, chart.TOP)
    assert ideal[-1] == (chart.RIGHT, chart.BOTTOM)
    xs = [x for x, _ in ideal]
    assert xs == sorted(xs)


def test_chart_has_no_actual_points_after_today() -> None:
    c = chart.burndown_chart(_series(), today=date(2025, 2, 23))

    remaining = _pairs(c.remaining_points)
    scope = _pairs(c.scope_points)
    assert len(remaining) == len(scope) == 5  # days 0..4
    step = (chart.RIGHT - chart.LEFT) / 10
    assert remaining[-1][0] == pytest.approx(chart.LEFT + 4 * step, abs=0.1)
    assert c.today is not None
    assert c.today.x1 == c.today.x2 == pytest.approx(chart.LEFT + 4 * step, abs=0.1)
    assert [r.is_future for r in c.rows] == [False] * 5 + [True] * 6
    assert c.rows[4].is_today
    assert c.rows[5].remaining == "–"
    assert c.rows[3].added == "1"


def test_chart_forecast_runs_from_today_to_zero_on_its_day() -> None:
    c = chart.burndown_chart(_series(forecast_day=8), today=date(2025, 2, 23))

    assert c.forecast is not None
    step = (chart.RIGHT - chart.LEFT) / 10
    assert c.forecast.x1 == pytest.approx(chart.LEFT + 4 * step, abs=0.1)
    assert c.forecast.y1 == _pairs(c.remaining_points)[-1][1]
    assert c.forecast.x2 == pytest.approx(chart.LEFT + 8 * step, abs=0.1)
    assert c.forecast.y2 == chart.BOTTOM
    assert "Proyeksi selesai: Hari ke-8" in c.description


def test_chart_without_a_forecast_draws_none() -> None:
    c = chart.burndown_chart(_series(forecast_day=None), today=date(2025, 2, 23))

    assert c.forecast is None
    assert "Dengan laju saat ini, tugas tidak selesai sampai Hari ke-" in c.description


def test_chart_forecast_beyond_the_plan_widens_the_axis_then_clips() -> None:
    later = chart.burndown_chart(_series(forecast_day=14), today=date(2025, 2, 23))
    far = chart.burndown_chart(_series(forecast_day=40), today=date(2025, 2, 23))

    assert later.forecast is not None
    assert later.forecast.x2 == chart.RIGHT
    assert later.forecast.y2 == chart.BOTTOM
    assert _pairs(later.ideal_points)[-1][0] < chart.RIGHT  # day 10 is no longer the edge
    assert far.forecast is not None
    assert far.forecast.x2 == chart.RIGHT
    assert far.forecast.y2 < chart.BOTTOM  # cut at the edge (twice the plan), above zero


def test_chart_axes_label_days_and_dates() -> None:
    c = chart.burndown_chart(_series(), today=date(2025, 2, 23))

    assert [t.label for t in c.x_ticks] == ["0", "2", "4", "6", "8", "10"]
    assert c.x_ticks[0].sublabel == "19 Feb"
    assert c.x_ticks[-1].sublabel == "1 Mar"


def test_chart_in_working_mode_places_points_by_date() -> None:
    # Thu 20 Feb … : day numbers repeat over the weekend (22–23 Feb), where the ideal is flat.
    numbers = [0, 1, 2, 2, 2, 3, 4, 5, 6]
    working = [True, True, True, False, False, True, True, True, True]
    series = _series(
        length=6,
        day_numbers=numbers,
        working=working,
        baseline=6,
        remaining=[6, 6, 5, 5],
        scope=[6, 6, 6, 6],
        today_day=2,
        forecast_day=None,
    )

    c = chart.burndown_chart(series, today=date(2025, 2, 22))

    ideal = _pairs(c.ideal_points)
    xs = [x for x, _ in ideal]
    assert xs == sorted(set(xs))  # one x per date, left to right
    assert ideal[2][1] == ideal[3][1] == ideal[4][1]  # flat over the weekend
    assert c.rows[3].css_class == "is-today is-off"


def test_chart_numbers_use_indonesian_separators() -> None:
    assert chart.format_number(1250) == "1.250"
    assert chart.format_number(12.5) == "12,5"
    assert chart.format_number(1234.56) == "1.234,6"
    assert chart.format_number(None) == "–"


# --- cost --------------------------------------------------------------------------------


def _grow(session: Session, world: World, count: int) -> None:
    programs = [world.membangun.id, world.sehat.id]
    for number in range(count):
        status = (TaskStatus.todo, TaskStatus.blocked, TaskStatus.done)[number % 3]
        _task(
            session,
            world,
            f"Tugas {number}",
            lead=(world.putr, world.dinkes, world.district)[number % 3],
            status=status,
            program_ids=[programs[number % 2]],
            supporting_unit_ids=[world.district.id] if number % 3 == 0 else [],
            due_date=_today() - timedelta(days=1) if number % 4 == 0 else None,
            needs_decision=number % 5 == 0,
        )


def _dashboard_statements(client: TestClient, statements: list[str], path: str) -> int:
    client.get(path)  # warm up
    body_cache.clear()  # the whole build, not a repeat view's cache hit (test_dashboard_cache)
    statements.clear()
    response = client.get(path)
    assert response.status_code == 200
    return len(statements)


@pytest.mark.parametrize(
    "path",
    [
        "/dashboard",
        "/dashboard?unit=2&measure=weight",
        "/dashboard/programs/1",
        "/dashboard/units/2",
    ],
)
def test_query_count_does_not_grow_with_the_number_of_tasks(
    client: TestClient, session: Session, world: World, statements: list[str], path: str
) -> None:
    _grow(session, world, 6)
    login(client, world.executive)
    few = _dashboard_statements(client, statements, path)

    _grow(session, world, 12)
    many = _dashboard_statements(client, statements, path)

    assert few == many
    assert few <= 20


def test_service_queries_are_fixed_for_n_and_3n_tasks(
    session: Session, world: World, engine: Engine, statements: list[str]
) -> None:
    def run(*, kept: bool) -> int:
        session.expire_all()
        data = reference(session)
        if not kept:
            # The whole build: the Kurva S replayed and the task facts read from scratch.
            curve.forget_live_curves()
            task_facts.forget_kept_facts()
        statements.clear()
        build_dashboard(session, plan=world.plan, filters=TaskFilter(), reference_data=data)
        return len(statements)

    _grow(session, world, 5)
    cold = run(kept=False)
    _grow(session, world, 1)
    # The kept Kurva S reads the events since in one more statement than a whole replay; the
    # kept facts read the tasks written since, and nothing more when none was.
    changed, warm = run(kept=True), run(kept=True)
    assert warm < changed
    _grow(session, world, 10)
    assert run(kept=False) == cold
    _grow(session, world, 3)
    assert (run(kept=True), run(kept=True)) == (changed, warm)
