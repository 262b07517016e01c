"""The team's administration pages under /admin: units, programs, users, plan settings and
holidays, through HTTP. Service rules called directly are in test_admin_service.py."""

import html
import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlmodel import Session, SQLModel, col, select

from app.auth import CSRF_MESSAGE
from app.errors import RuleViolation
from app.models import (
    DayMode,
    ExecutivePosition,
    Holiday,
    HolidayKind,
    LoginSession,
    Plan,
    Program,
    ProgramKind,
    Role,
    Row,
    SessionKind,
    Unit,
    UnitKind,
    User,
)
from app.permissions import READ_ONLY_MESSAGE, TEAM_ONLY_MESSAGE
from app.services import accounts, directives, tasks
from app.services.plans import plan_calendar
from app.timefmt import WIB, format_day_date
from tests.factories import (
    PASSWORD,
    World,
    login,
    make_plan,
    make_program,
    make_task,
    make_unit,
    make_user,
)

HX = {"HX-Request": "true"}
NEW_PASSWORD = "sandi-baru-yang-panjang"
M = TypeVar("M", bound=SQLModel)
ADMIN_TABLES: tuple[type[Row], ...] = (Unit, Program, User, Plan, Holiday)


# --- helpers -----------------------------------------------------------------------------


def snapshot(session: Session) -> dict[str, list[dict[str, Any]]]:
    """Every row of the tables the admin pages write, as stored now."""
    session.rollback()  # a fresh snapshot: the app wrote through its own connection
    session.expire_all()
    return {
        model.__table__.name: [
            row.model_dump() for row in session.exec(select(model).order_by(model.id_column()))
        ]
        for model in ADMIN_TABLES
    }


def stored(session: Session, model: type[M], item_id: int | None) -> M:
    session.rollback()
    session.expire_all()
    item = session.get(model, item_id)
    assert item is not None
    return item


def post(
    client: TestClient,
    url: str,
    csrf: str | None,
    data: dict[str, Any] | None = None,
    *,
    htmx: bool = False,
) -> Response:
    body: dict[str, Any] = dict(data or {})
    if csrf is not None:
        body["csrf_token"] = csrf
    response: Response = client.post(
        url, data=body, headers=HX if htmx else None, follow_redirects=False
    )
    return response


def field_error(page: str, name: str) -> str:
    """Asserts the field is marked invalid and described by its message; returns the message."""
    tag = re.search(rf'<(?:input|select)[^>]*id="f-{name}"[^>]*>', page)
    assert tag is not None, f"no field f-{name}"
    assert 'aria-invalid="true"' in tag.group(0), tag.group(0)
    assert f"f-{name}-error" in tag.group(0), tag.group(0)
    message = re.search(rf'<p class="field-error" id="f-{name}-error">([^<]+)</p>', page)
    assert message is not None, f"no message for f-{name}"
    return html.unescape(message.group(1))


def invalid_fields(page: str) -> set[str]:
    return set(re.findall(r'<p class="field-error" id="f-([a-z_]+)-error">', page))


def error_message(page: str) -> str:
    """The message of the error page (or of the htmx error fragment)."""
    found = re.search(r'class="error-message" role="alert">([^<]+)<', page) or re.search(
        r'<div class="flash flash-error" role="alert" data-status="\d+">([^<]+)</div>', page
    )
    assert found is not None, page[:500]
    return html.unescape(found.group(1))


def toast(response: Response) -> dict[str, Any]:
    events: dict[str, Any] = json.loads(response.headers["hx-trigger"])
    return dict(events["toast"])


def unit_form(**overrides: str) -> dict[str, str]:
    data = {
        "kind": "agency",
        "code": "DISDIK",
        "name": "Dinas Pendidikan",
        "short_name": "Disdik",
        "head_title": "Kepala Dinas",
        "head_name": "Hj. Aminah",
        "region_code": "",
    }
    data.update(overrides)
    return data


def unit_form_of(unit: Unit, **overrides: str) -> dict[str, str]:
    data = {
        "kind": unit.kind.value,
        "code": unit.code,
        "name": unit.name,
        "short_name": unit.short_name,
        "head_title": unit.head_title,
        "head_name": unit.head_name,
        "region_code": unit.region_code or "",
    }
    data.update(overrides)
    return data


def program_form(**overrides: str) -> dict[str, str]:
    data = {
        "kind": "movement",
        "code": "GORONG",
        "short_name": "Gorong",
        "name": "Gotong royong bersama masyarakat",
        "sort_order": "",
    }
    data.update(overrides)
    return data


def user_form(world: World, **overrides: str) -> dict[str, str]:
    data = {
        "username": "operator.putr",
        "full_name": "Operator PUTR",
        "role": "unit",
        "unit_id": str(world.putr.id),
        "password": NEW_PASSWORD,
        "password_repeat": NEW_PASSWORD,
    }
    data.update(overrides)
    return data


def user_edit_form(account: User, **overrides: str) -> dict[str, str]:
    data = {
        "full_name": account.full_name,
        "role": account.role.value,
        "unit_id": str(account.unit_id or ""),
        "position": account.position,
        "is_active": "on",
        "password": "",
        "password_repeat": "",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def plan_form(**overrides: str) -> dict[str, str]:
    data = {
        "name": "Tahun Pertama",
        "start_date": "2025-06-02",
        "length_days": "365",
        "day_mode": "working",
        "timezone": "Asia/Jakarta",
        "baseline_at": "",
    }
    data.update(overrides)
    return data


def holiday_form(**overrides: str) -> dict[str, str]:
    data = {"holiday_date": "2025-11-03", "name": "Hari Jadi Kabupaten", "kind": "libur"}
    data.update(overrides)
    return data


def add_holiday(session: Session, day: date, name: str, kind: HolidayKind) -> Holiday:
    holiday = Holiday(holiday_date=day, name=name, kind=kind)
    session.add(holiday)
    session.commit()
    return holiday


@dataclass
class Refs:
    """The world plus one of everything the admin pages act on."""

    world: World
    holiday: Holiday
    other_plan: Plan
    idle_unit: Unit
    idle_program: Program


@pytest.fixture
def refs(session: Session, world: World) -> Refs:
    idle_unit = make_unit(session, code="DISHUB", name="Dinas Perhubungan")
    idle_unit.is_active = False
    idle_program = make_program(session, code="GEMA", kind=ProgramKind.movement)
    idle_program.is_active = False
    session.add_all([idle_unit, idle_program])
    session.commit()
    other_plan = make_plan(session, start_date=date(2026, 1, 5), is_current=False)
    other_plan.name = "Tahun Pertama"
    session.add(other_plan)
    session.commit()
    return Refs(
        world=world,
        holiday=add_holiday(session, date(2025, 3, 31), "Idul Fitri 1446 H", HolidayKind.libur),
        other_plan=other_plan,
        idle_unit=idle_unit,
        idle_program=idle_program,
    )


def admin_pages(r: Refs) -> list[str]:
    w = r.world
    return [
        "/admin",
        "/admin/units",
        "/admin/units/new",
        f"/admin/units/{w.putr.id}/edit",
        "/admin/programs",
        "/admin/programs/new",
        f"/admin/programs/{w.sehat.id}/edit",
        "/admin/users",
        "/admin/users/new",
        f"/admin/users/{w.dinkes_head.id}/edit",
        "/admin/plan",
        f"/admin/plan/{w.plan.id}",
        "/admin/plan/new",
        "/admin/holidays",
        f"/admin/holidays/{r.holiday.id}/edit",
    ]


def admin_actions(r: Refs) -> dict[str, tuple[str, dict[str, str], str]]:
    """Every mutating admin endpoint with a form the team may send: (url, form, redirect)."""
    w = r.world
    return {
        "unit-create": ("/admin/units/new", unit_form(), "/admin/units?ok=unit-created"),
        "unit-edit": (
            f"/admin/units/{w.putr.id}/edit",
            unit_form_of(w.putr, head_name="Ir. Apriansyah"),
            "/admin/units?ok=unit-saved",
        ),
        "unit-deactivate": (
            f"/admin/units/{w.putr.id}/deactivate",
            {},
            "/admin/units?ok=unit-deactivated",
        ),
        "unit-activate": (
            f"/admin/units/{r.idle_unit.id}/activate",
            {},
            "/admin/units?ok=unit-activated",
        ),
        "program-create": (
            "/admin/programs/new",
            program_form(),
            "/admin/programs?ok=program-created",
        ),
        "program-edit": (
            f"/admin/programs/{w.sehat.id}/edit",
            program_form(kind="priority", code="SEHAT", short_name="Banyuasin Sehat"),
            "/admin/programs?ok=program-saved",
        ),
        "program-deactivate": (
            f"/admin/programs/{w.sehat.id}/deactivate",
            {},
            "/admin/programs?ok=program-deactivated",
        ),
        "program-activate": (
            f"/admin/programs/{r.idle_program.id}/activate",
            {},
            "/admin/programs?ok=program-activated",
        ),
        "user-create": (
            "/admin/users/new",
            user_form(w, unit_id=str(w.dinkes.id)),
            "/admin/users?ok=user-created",
        ),
        "user-edit": (
            f"/admin/users/{w.dinkes_head.id}/edit",
            user_edit_form(w.dinkes_head, full_name="dr. Rini Kadis"),
            "/admin/users?ok=user-saved",
        ),
        "plan-create": ("/admin/plan/new", plan_form(), "/admin/plan/"),
        "plan-edit": (
            f"/admin/plan/{w.plan.id}",
            plan_form(start_date=w.plan.start_date.isoformat(), name="Program 100 Hari"),
            f"/admin/plan/{w.plan.id}?ok=plan-saved",
        ),
        "plan-current": (
            f"/admin/plan/{r.other_plan.id}/current",
            {},
            "/admin/plan?ok=plan-current",
        ),
        "holiday-create": ("/admin/holidays", holiday_form(), "/admin/holidays?ok=holiday-created"),
        "holiday-edit": (
            f"/admin/holidays/{r.holiday.id}/edit",
            holiday_form(holiday_date="2025-03-31", name="Hari Raya Idul Fitri 1446 H"),
            "/admin/holidays?ok=holiday-saved",
        ),
        "holiday-delete": (
            f"/admin/holidays/{r.holiday.id}/delete",
            {},
            "/admin/holidays?ok=holiday-deleted",
        ),
    }


# --- index -------------------------------------------------------------------------------


def test_index_shows_the_counts(client: TestClient, session: Session, world: World) -> None:
    idle = make_unit(session, code="DISHUB")
    idle.is_active = False
    session.add(idle)
    session.commit()
    add_holiday(session, date(2025, 3, 31), "Idul Fitri", HolidayKind.libur)
    login(client, world.team)

    page = client.get("/admin")

    assert page.status_code == 200
    assert "<h1>Pengaturan</h1>" in page.text
    assert "2 perangkat daerah · 1 kecamatan" in page.text
    assert "1 unit nonaktif" in page.text
    assert "2 program aktif" in page.text
    assert "4 pengguna aktif" in page.text
    assert "Tidak ada akun nonaktif" in page.text
    assert "1 tanggal" in page.text
    assert "Program 100 Hari Kerja" in page.text
    assert f"Mulai {format_day_date(world.plan.start_date)} · 100 hari · 1 rencana" in page.text
    assert '<a href="/admin" aria-current="page">Ringkasan</a>' in page.text


def test_index_without_a_plan_offers_to_create_one(client: TestClient, session: Session) -> None:
    team = make_user(session, username="tim.transisi", role=Role.team)
    login(client, team)

    page = client.get("/admin")

    assert page.status_code == 200
    assert "Belum ada rencana kerja aktif." in page.text
    assert '<a href="/admin/plan/new">Buat rencana kerja</a>' in page.text
    assert "0 perangkat daerah · 0 kecamatan" in page.text


# --- units -------------------------------------------------------------------------------


def test_units_page_full_and_fragment(client: TestClient, world: World) -> None:
    login(client, world.team)

    page = client.get("/admin/units")

    assert page.status_code == 200
    assert "<html" in page.text
    assert "<h1>Unit</h1>" in page.text
    assert '<a href="/admin/units" aria-current="page">Unit</a>' in page.text
    for unit in (world.putr, world.dinkes, world.district):
        assert f'<tr id="unit-{unit.id}">' in page.text
    # Agencies first, then districts.
    assert page.text.index(f"unit-{world.dinkes.id}") < page.text.index(f"unit-{world.district.id}")
    assert "HX-Request" in page.headers["vary"]

    fragment = client.get("/admin/units", params={"kind": "district"}, headers=HX)

    assert fragment.status_code == 200
    assert "<html" not in fragment.text
    assert fragment.text.lstrip().startswith('<div id="units-table"')
    assert "Daftar unit: Kecamatan" in fragment.text
    assert f'<tr id="unit-{world.district.id}">' in fragment.text
    assert f"unit-{world.putr.id}" not in fragment.text
    assert "HX-Request" in fragment.headers["vary"]


def test_units_filter_without_js_and_unknown_kind(client: TestClient, world: World) -> None:
    login(client, world.team)

    agencies = client.get("/admin/units", params={"kind": "agency"})
    unknown = client.get("/admin/units", params={"kind": "<script>"})

    assert agencies.status_code == 200
    assert '<option value="agency" selected>' in agencies.text
    assert f"unit-{world.putr.id}" in agencies.text
    assert f"unit-{world.district.id}" not in agencies.text
    assert unknown.status_code == 200
    assert f"unit-{world.district.id}" in unknown.text
    assert f"unit-{world.putr.id}" in unknown.text
    assert "<script>" not in unknown.text.split("<main", 1)[1]


def test_names_are_escaped_and_notices_come_from_a_fixed_list(
    client: TestClient, session: Session, world: World
) -> None:
    make_unit(session, code="XSS", name='<script>alert("x")</script>')
    add_holiday(session, date(2025, 3, 31), "Libur <b>\"'tebal</b>", HolidayKind.libur)
    login(client, world.team)

    units = client.get("/admin/units", params={"ok": "<i>dibobol</i>"})
    holidays = client.get("/admin/holidays", params={"ok": "unit-created"})

    assert "<script>alert" not in units.text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in units.text
    assert "dibobol" not in units.text
    assert 'id="notice"' not in units.text
    assert "<b>" not in holidays.text
    assert 'hx-confirm="Hapus Libur &lt;b&gt;&#34;&#39;tebal&lt;/b&gt; (31 Mar 2025)?"' in (
        holidays.text
    )
    # Any known key shows its own fixed text, whichever page it lands on.
    assert '<p class="flash flash-ok" role="status" id="notice">Unit baru ditambahkan.</p>' in (
        holidays.text
    )


def test_unit_new_page(client: TestClient, world: World) -> None:
    csrf = login(client, world.team)

    page = client.get("/admin/units/new")

    assert page.status_code == 200
    assert "<h1>Unit baru</h1>" in page.text
    assert 'action="/admin/units/new"' in page.text
    assert f'name="csrf_token" value="{csrf}"' in page.text
    assert '<option value="agency" selected>Perangkat Daerah</option>' in page.text
    assert "Nonaktifkan unit" not in page.text


def test_unit_edit_page(client: TestClient, world: World) -> None:
    login(client, world.team)

    page = client.get(f"/admin/units/{world.district.id}/edit")

    assert page.status_code == 200
    assert "<h1>Ubah unit Rantau Bayur</h1>" in page.text
    assert f'action="/admin/units/{world.district.id}/edit"' in page.text
    assert '<option value="district" selected>Kecamatan</option>' in page.text
    assert 'value="KEC-RANTAU-BAYUR"' in page.text
    assert 'value="16.07.11"' in page.text
    assert 'value="Camat"' in page.text
    assert f'action="/admin/units/{world.district.id}/deactivate"' in page.text


UNKNOWN_PAGES = [
    ("/admin/units/999/edit", "Unit #999 tidak ditemukan."),
    ("/admin/units/0/edit", "Unit #0 tidak ditemukan."),
    ("/admin/units/99999999999999999999/edit", "tidak ditemukan."),
    ("/admin/units/abc/edit", "Halaman atau data yang Anda cari tidak ditemukan."),
    ("/admin/programs/999/edit", "Program #999 tidak ditemukan."),
    ("/admin/programs/x1/edit", "Halaman atau data yang Anda cari tidak ditemukan."),
    ("/admin/users/999/edit", "Pengguna #999 tidak ditemukan."),
    ("/admin/users/99999999999999999999/edit", "tidak ditemukan."),
    ("/admin/plan/999", "Rencana kerja tidak ditemukan."),
    ("/admin/plan/-1", "Halaman atau data yang Anda cari tidak ditemukan."),
    ("/admin/holidays/999/edit", "Hari libur #999 tidak ditemukan."),
    ("/admin/holidays/1.5/edit", "Halaman atau data yang Anda cari tidak ditemukan."),
]


def test_unknown_or_malformed_ids_are_404(client: TestClient, world: World) -> None:
    login(client, world.team)

    for path, message in UNKNOWN_PAGES:
        response = client.get(path)

        assert response.status_code == 404, path
        assert message in error_message(response.text), path
        assert "<h1>Tidak ditemukan</h1>" in response.text, path


def test_create_unit(client: TestClient, session: Session, world: World) -> None:
    csrf = login(client, world.team)

    response = post(
        client,
        "/admin/units/new",
        csrf,
        unit_form(code=" disdik ", name="  Dinas   Pendidikan ", region_code="  "),
    )

    assert response.status_code == 303
    assert response.headers["location"] == "/admin/units?ok=unit-created"
    created = session.exec(select(Unit).where(Unit.code == "DISDIK")).one()
    assert (created.kind, created.name, created.short_name) == (
        UnitKind.agency,
        "Dinas Pendidikan",
        "Disdik",
    )
    assert (created.head_title, created.head_name, created.region_code) == (
        "Kepala Dinas",
        "Hj. Aminah",
        None,
    )
    assert created.is_active
    page = client.get(response.headers["location"])
    assert '<p class="flash flash-ok" role="status" id="notice">Unit baru ditambahkan.</p>' in (
        page.text
    )
    assert f'<tr id="unit-{created.id}">' in page.text


def test_create_district(client: TestClient, session: Session, world: World) -> None:
    csrf = login(client, world.team)

    response = post(
        client,
        "/admin/units/new",
        csrf,
        unit_form(
            kind="district",
            code="16.07.05",
            name="Kecamatan Muara Padang",
            short_name="Muara Padang",
            head_title="Camat",
            region_code=" 16.07.05 ",
        ),
    )

    assert response.status_code == 303
    created = session.exec(select(Unit).where(Unit.code == "16.07.05")).one()
    assert (created.kind, created.region_code) == (UnitKind.district, "16.07.05")


def test_update_unit(client: TestClient, session: Session, world: World) -> None:
    csrf = login(client, world.team)

    response = post(
        client,
        f"/admin/units/{world.putr.id}/edit",
        csrf,
        unit_form_of(world.putr, code="pupr", short_name="Dinas PUPR", head_name="Ir. Apriansyah"),
    )

    assert response.status_code == 303
    assert response.headers["location"] == "/admin/units?ok=unit-saved"
    unit = stored(session, Unit, world.putr.id)
    assert (unit.code, unit.short_name, unit.head_name) == ("PUPR", "Dinas PUPR", "Ir. Apriansyah")
    assert "Perubahan unit disimpan." in client.get(response.headers["location"]).text


def test_update_unit_keeping_its_own_code(
    client: TestClient, session: Session, world: World
) -> None:
    csrf = login(client, world.team)

    response = post(
        client,
        f"/admin/units/{world.district.id}/edit",
        csrf,
        unit_form_of(world.district, head_name="Drs. Hendra"),
    )

    assert response.status_code == 303
    assert stored(session, Unit, world.district.id).head_name == "Drs. Hendra"


def test_deactivate_and_activate_unit_without_js(
    client: TestClient, session: Session, world: World
) -> None:
    csrf = login(client, world.team)

    off = post(client, f"/admin/units/{world.putr.id}/deactivate", csrf)

    assert off.status_code == 303
    assert off.headers["location"] == "/admin/units?ok=unit-deactivated"
    assert not stored(session, Unit, world.putr.id).is_active
    page = client.get(off.headers["location"])
    assert "Unit dinonaktifkan." in page.text
    assert f'<tr id="unit-{world.putr.id}" class="row-inactive">' in page.text

    on = post(client, f"/admin/units/{world.putr.id}/activate", csrf)

    assert on.status_code == 303
    assert on.headers["location"] == "/admin/units?ok=unit-activated"
    assert stored(session, Unit, world.putr.id).is_active


def test_deactivate_and_activate_unit_with_htmx_swap_the_row(
    client: TestClient, session: Session, world: World
) -> None:
    csrf = login(client, world.team)

    off = post(client, f"/admin/units/{world.putr.id}/deactivate", csrf, htmx=True)

    assert off.status_code == 200
    assert "<html" not in off.text
    assert off.text.lstrip().startswith(f'<tr id="unit-{world.putr.id}" class="row-inactive">')
    assert '<span class="badge badge-off">Nonaktif</span>' in off.text
    assert f'hx-post="/admin/units/{world.putr.id}/activate"' in off.text
    assert f'value="{csrf}"' in off.text
    assert toast(off) == {"message": "Unit dinonaktifkan.", "kind": "ok"}
    assert not stored(session, Unit, world.putr.id).is_active

    on = post(client, f"/admin/units/{world.putr.id}/activate", csrf, htmx=True)

    assert on.status_code == 200
    assert on.text.lstrip().startswith(f'<tr id="unit-{world.putr.id}">')
    assert f'hx-post="/admin/units/{world.putr.id}/deactivate"' in on.text
    assert toast(on) == {"message": "Unit diaktifkan kembali.", "kind": "ok"}
    assert stored(session, Unit, world.putr.id).is_active


UNIT_INVALID: list[tuple[dict[str, str], str, str]] = [
    ({"name": "   "}, "name", "Wajib diisi."),
    ({"short_name": ""}, "short_name", "Wajib diisi."),
    ({"code": ""}, "code", "Wajib diisi."),
    ({"code": "DIN AS"}, "code", "Kode 2–32 karakter"),
    ({"code": "X"}, "code", "Kode 2–32 karakter"),
    ({"code": "A" * 33}, "code", "Kode 2–32 karakter"),
    ({"code": "putr"}, "code", "Kode PUTR sudah dipakai unit lain."),
    ({"kind": "province"}, "kind", "Pilih salah satu pilihan yang tersedia."),
    ({"kind": ""}, "kind", "Pilih salah satu pilihan yang tersedia."),
    ({"kind": "district"}, "region_code", "Kecamatan wajib memiliki kode wilayah Kemendagri"),
    ({"kind": "district", "region_code": "16.7.5"}, "region_code", "kode wilayah Kemendagri"),
    ({"region_code": "16.07.05"}, "region_code", "Kode wilayah hanya diisi untuk kecamatan."),
    ({"name": "x" * 121}, "name", "Terlalu panjang (maks. 120 karakter)."),
    ({"short_name": "x" * 61}, "short_name", "Terlalu panjang (maks. 60 karakter)."),
    ({"head_title": "x" * 61}, "head_title", "Terlalu panjang (maks. 60 karakter)."),
    ({"head_name": "x" * 121}, "head_name", "Terlalu panjang (maks. 120 karakter)."),
]


def test_create_unit_refuses_each_bad_field(
    client: TestClient, session: Session, world: World
) -> None:
    csrf = login(client, world.team)
    before = snapshot(session)

    for overrides, field, message in UNIT_INVALID:
        response = post(client, "/admin/units/new", csrf, unit_form(**overrides))

        assert response.status_code == 422, overrides
        assert message in field_error(response.text, field), overrides
        assert invalid_fields(response.text) == {field}, overrides
        assert "Unit belum tersimpan." in response.text
        # The form comes back with what was typed, ready to be sent again.
        assert 'value="Disdik"' in response.text or "short_name" in overrides
        assert f'name="csrf_token" value="{csrf}"' in response.text
        assert 'action="/admin/units/new"' in response.text
        assert snapshot(session) == before, overrides


def test_district_region_codes_are_unique(
    client: TestClient, session: Session, world: World
) -> None:
    other = make_unit(session, code="KEC-LAIN", kind=UnitKind.district)
    other.region_code = "16.07.12"
    session.add(other)
    session.commit()
    csrf = login(client, world.team)
    before = snapshot(session)
    form = unit_form(
        kind="district", code="KEC-BARU", name="Kecamatan Baru", region_code="16.07.11"
    )

    created = post(client, "/admin/units/new", csrf, form)
    # Another district may not take it over either; the district itself keeps its own.
    edited = post(
        client, f"/admin/units/{other.id}/edit", csrf, unit_form_of(other, region_code="16.07.11")
    )
    kept = post(
        client,
        f"/admin/units/{world.district.id}/edit",
        csrf,
        unit_form_of(world.district, name="Kecamatan Rantau Bayur"),
    )

    message = "Kode wilayah 16.07.11 sudah dipakai Rantau Bayur."
    for response in (created, edited):
        assert response.status_code == 422
        assert field_error(response.text, "region_code") == message
    assert kept.status_code == 303
    after = snapshot(session)
    assert [u for u in after["unit"] if u["id"] != world.district.id] == [
        u for u in before["unit"] if u["id"] != world.district.id
    ]
    assert stored(session, Unit, world.district.id).name == "Kecamatan Rantau Bayur"


def test_create_unit_reports_several_fields_at_once(
    client: TestClient, session: Session, world: World
) -> None:
    csrf = login(client, world.team)
    before = snapshot(session)

    response = post(client, "/admin/units/new", csrf, unit_form(code="", name="", short_name=""))

    assert response.status_code == 422
    assert invalid_fields(response.text) == {"code", "name", "short_name"}
    assert response.text.count('<li><a href="#f-') == 3
    assert snapshot(session) == before


def test_update_unit_refuses_bad_input_and_keeps_the_unit(
    client: TestClient, session: Session, world: World
) -> None:
    make_task(
        session, actor=world.team, plan=world.plan, lead=world.putr, district_id=world.district.id
    )
    csrf = login(client, world.team)
    before = snapshot(session)
    cases: list[tuple[Unit, dict[str, str], str, str]] = [
        (world.putr, {"code": "dinkes"}, "code", "Kode DINKES sudah dipakai unit lain."),
        (world.putr, {"name": ""}, "name", "Wajib diisi."),
        (
            world.district,
            {"kind": "agency", "region_code": ""},
            "kind",
            "1 tugas berlokasi di kecamatan ini; jenisnya tidak dapat diubah.",
        ),
    ]

    for unit, overrides, field, message in cases:
        response = post(
            client, f"/admin/units/{unit.id}/edit", csrf, unit_form_of(unit, **overrides)
        )

        assert response.status_code == 422, overrides
        assert field_error(response.text, field) == message
        assert f"<h1>Ubah unit {unit.name}</h1>" in response.text
        assert f'action="/admin/units/{unit.id}/edit"' in response.text
        assert snapshot(session) == before, overrides


def test_oversize_form_fields_are_refused_before_the_service(
    client: TestClient, session: Session, world: World
) -> None:
    """Fields are capped at 1000 characters by the form model; beyond that the request is
    refused as a whole (422, in Indonesian, naming the field) and nothing is written."""
    csrf = login(client, world.team)
    before = snapshot(session)

    for url, form in [
        ("/admin/units/new", unit_form(name="x" * 1001)),
        ("/admin/programs/new", program_form(name="x" * 1001)),
        ("/admin/holidays", holiday_form(name="x" * 1001)),
        ("/admin/plan/new", plan_form(name="x" * 1001)),
    ]:
        response = post(client, url, csrf, form)

        assert response.status_code == 422, url
        assert error_message(response.text) == "Isian tidak valid: name.", url
        assert snapshot(session) == before, url


# --- programs ----------------------------------------------------------------------------


def test_programs_page(client: TestClient, session: Session, world: World) -> None:
    gorong = make_program(session, code="GORONG", kind=ProgramKind.movement)
    gorong.is_active = False
    session.add(gorong)
    session.commit()
    login(client, world.team)

    page = client.get("/admin/programs")

    assert page.status_code == 200
    assert "<h1>Program</h1>" in page.text
    assert re.search(r"Program Unggulan <span[^>]*>\(2\)</span>", page.text)
    assert re.search(r"Gerakan Bersama Masyarakat <span[^>]*>\(1\)</span>", page.text)
    assert re.search(r"Aspek Program Pro Rakyat <span[^>]*>\(0\)</span>", page.text)
    assert "Belum ada program jenis ini." in page.text
    assert f'<tr id="program-{world.sehat.id}">' in page.text
    assert f'<tr id="program-{gorong.id}" class="row-inactive">' in page.text
    assert f'hx-post="/admin/programs/{gorong.id}/activate"' in page.text


def test_program_new_and_edit_pages(client: TestClient, world: World) -> None:
    login(client, world.team)

    new = client.get("/admin/programs/new")
    edit = client.get(f"/admin/programs/{world.sehat.id}/edit")

    assert new.status_code == 200
    assert "<h1>Program baru</h1>" in new.text
    assert '<option value="priority" selected>Program Unggulan</option>' in new.text
    assert 'action="/admin/programs/new"' in new.text
    assert edit.status_code == 200
    assert "<h1>Ubah program Sehat</h1>" in edit.text
    assert 'value="SEHAT"' in edit.text
    assert 'value="Program SEHAT"' in edit.text
    assert '<option value="priority" selected>Program Unggulan</option>' in edit.text
    assert f'action="/admin/programs/{world.sehat.id}/deactivate"' in edit.text


def test_create_program_goes_last_of_its_kind(
    client: TestClient, session: Session, world: World
) -> None:
    first = make_program(session, code="SIMANIS", kind=ProgramKind.movement)
    first.sort_order = 7
    session.add(first)
    session.commit()
    csrf = login(client, world.team)

    response = post(client, "/admin/programs/new", csrf, program_form(code="gorong"))

    assert response.status_code == 303
    assert response.headers["location"] == "/admin/programs?ok=program-created"
    created = session.exec(select(Program).where(Program.code == "GORONG")).one()
    assert (created.kind, created.short_name, created.sort_order) == (
        ProgramKind.movement,
        "Gorong",
        8,
    )
    assert "Program baru ditambahkan." in client.get(response.headers["location"]).text


def test_update_program(client: TestClient, session: Session, world: World) -> None:
    csrf = login(client, world.team)

    response = post(
        client,
        f"/admin/programs/{world.sehat.id}/edit",
        csrf,
        program_form(kind="priority", code="SEHAT", short_name="Banyuasin Sehat", sort_order="2"),
    )

    assert response.status_code == 303
    assert response.headers["location"] == "/admin/programs?ok=program-saved"
    program = stored(session, Program, world.sehat.id)
    assert (program.short_name, program.name, program.sort_order) == (
        "Banyuasin Sehat",
        "Gotong royong bersama masyarakat",
        2,
    )


def test_update_program_with_empty_order_keeps_its_place(
    client: TestClient, session: Session, world: World
) -> None:
    world.sehat.sort_order = 5
    session.add(world.sehat)
    session.commit()
    csrf = login(client, world.team)

    response = post(
        client,
        f"/admin/programs/{world.sehat.id}/edit",
        csrf,
        program_form(kind="priority", code="SEHAT", sort_order=""),
    )

    assert response.status_code == 303
    assert stored(session, Program, world.sehat.id).sort_order == 5


def test_deactivate_and_activate_program(
    client: TestClient, session: Session, world: World
) -> None:
    csrf = login(client, world.team)

    off = post(client, f"/admin/programs/{world.sehat.id}/deactivate", csrf)

    assert off.status_code == 303
    assert off.headers["location"] == "/admin/programs?ok=program-deactivated"
    assert not stored(session, Program, world.sehat.id).is_active
    assert "Program dinonaktifkan." in client.get(off.headers["location"]).text

    on = post(client, f"/admin/programs/{world.sehat.id}/activate", csrf, htmx=True)

    assert on.status_code == 200
    assert on.text.lstrip().startswith(f'<tr id="program-{world.sehat.id}">')
    assert f'hx-post="/admin/programs/{world.sehat.id}/deactivate"' in on.text
    assert toast(on) == {"message": "Program diaktifkan kembali.", "kind": "ok"}
    assert stored(session, Program, world.sehat.id).is_active

    off_htmx = post(client, f"/admin/programs/{world.sehat.id}/deactivate", csrf, htmx=True)

    assert off_htmx.status_code == 200
    assert 'class="row-inactive"' in off_htmx.text
    assert toast(off_htmx)["message"] == "Program dinonaktifkan."
    assert not stored(session, Program, world.sehat.id).is_active


PROGRAM_INVALID: list[tuple[dict[str, str], str, str]] = [
    ({"code": "sehat"}, "code", "Kode SEHAT sudah dipakai program lain."),
    ({"code": "GO RONG"}, "code", "Kode 2–32 karakter"),
    ({"kind": "unggulan"}, "kind", "Pilih salah satu pilihan yang tersedia."),
    ({"kind": ""}, "kind", "Pilih salah satu pilihan yang tersedia."),
    ({"short_name": " "}, "short_name", "Wajib diisi."),
    ({"name": ""}, "name", "Wajib diisi."),
    ({"name": "x" * 121}, "name", "Terlalu panjang (maks. 120 karakter)."),
    ({"sort_order": "abc"}, "sort_order", "Isi bilangan bulat 0–9999."),
    ({"sort_order": "-1"}, "sort_order", "Isi bilangan bulat 0–9999."),
    ({"sort_order": "10000"}, "sort_order", "Isi bilangan bulat 0–9999."),
]


def test_program_forms_refuse_each_bad_field(
    client: TestClient, session: Session, world: World
) -> None:
    csrf = login(client, world.team)
    before = snapshot(session)

    for overrides, field, message in PROGRAM_INVALID:
        created = post(client, "/admin/programs/new", csrf, program_form(**overrides))
        edited = post(
            client,
            f"/admin/programs/{world.membangun.id}/edit",
            csrf,
            program_form(**overrides),
        )

        for response in (created, edited):
            assert response.status_code == 422, overrides
            assert message in field_error(response.text, field), overrides
            assert invalid_fields(response.text) == {field}, overrides
            assert "Program belum tersimpan." in response.text
        assert "<h1>Program baru</h1>" in created.text
        assert "<h1>Ubah program Membangun</h1>" in edited.text
        assert snapshot(session) == before, overrides


# --- users -------------------------------------------------------------------------------


def test_users_page(client: TestClient, session: Session, world: World) -> None:
    login(client, world.team)

    page = client.get("/admin/users")

    assert page.status_code == 200
    assert "<h1>Pengguna</h1>" in page.text
    row = re.search(rf'<tr id="user-{world.putr_head.id}">.*?</tr>', page.text, re.S)
    assert row is not None
    assert "kadis.putr" in row.group(0)
    assert "Perangkat Daerah / Kecamatan" in row.group(0)
    assert "<td>Dinas PUTR</td>" in row.group(0)
    me = re.search(rf'<tr id="user-{world.team.id}">.*?</tr>', page.text, re.S)
    assert me is not None
    assert "(Anda)" in me.group(0)
    assert "WIB" in me.group(0)  # the last login
    executive = re.search(rf'<tr id="user-{world.executive.id}">.*?</tr>', page.text, re.S)
    assert executive is not None
    assert "Pimpinan" in executive.group(0)
    assert "(Anda)" not in executive.group(0)


def test_user_new_page_offers_active_units_only(
    client: TestClient, session: Session, world: World
) -> None:
    idle = make_unit(session, code="DISHUB", name="Dinas Perhubungan")
    idle.is_active = False
    session.add(idle)
    session.commit()
    login(client, world.team)

    page = client.get("/admin/users/new")

    assert page.status_code == 200
    assert "<h1>Pengguna baru</h1>" in page.text
    assert 'id="f-username"' in page.text
    assert f'<option value="{world.putr.id}">Dinas PUTR</option>' in page.text
    assert f'<option value="{world.district.id}">Rantau Bayur</option>' in page.text
    assert "Dinas Perhubungan" not in page.text
    assert 'id="f-is_active"' not in page.text
    assert '<option value="unit" selected>Perangkat Daerah / Kecamatan</option>' in page.text


def test_user_edit_page(client: TestClient, session: Session, world: World) -> None:
    world.putr.is_active = False
    session.add(world.putr)
    session.commit()
    login(client, world.team)

    page = client.get(f"/admin/users/{world.putr_head.id}/edit")

    assert page.status_code == 200
    assert "<h1>Ubah pengguna kadis.putr</h1>" in page.text
    assert 'id="f-username"' not in page.text  # usernames do not change
    assert 'value="Kadis Putr"' in page.text
    assert '<option value="unit" selected>' in page.text
    # The user's own unit is offered even though it is inactive now.
    assert f'<option value="{world.putr.id}" selected>Dinas PUTR (nonaktif)</option>' in page.text
    assert 'id="f-is_active" name="is_active" type="checkbox" value="on" checked' in page.text
    assert PASSWORD not in page.text


def test_create_user(client: TestClient, session: Session, world: World) -> None:
    csrf = login(client, world.team)

    response = post(client, "/admin/users/new", csrf, user_form(world, username=" Operator.PUTR "))

    assert response.status_code == 303
    assert response.headers["location"] == "/admin/users?ok=user-created"
    created = session.exec(select(User).where(User.username == "operator.putr")).one()
    assert (created.full_name, created.role, created.unit_id, created.is_active) == (
        "Operator PUTR",
        Role.unit,
        world.putr.id,
        True,
    )
    assert accounts.password_hash.verify(NEW_PASSWORD, created.password_hash)
    page = client.get(response.headers["location"])
    assert "Pengguna baru ditambahkan." in page.text
    assert f'<tr id="user-{created.id}">' in page.text


def test_create_executive_ignores_a_left_over_unit(
    client: TestClient, session: Session, world: World
) -> None:
    csrf = login(client, world.team)

    response = post(
        client,
        "/admin/users/new",
        csrf,
        user_form(world, username="wabup", role="executive", full_name="Netta Indian"),
    )

    assert response.status_code == 303
    created = session.exec(select(User).where(User.username == "wabup")).one()
    assert (created.role, created.unit_id) == (Role.executive, None)


def test_update_user(client: TestClient, session: Session, world: World) -> None:
    csrf = login(client, world.team)
    old_hash = world.dinkes_head.password_hash

    response = post(
        client,
        f"/admin/users/{world.dinkes_head.id}/edit",
        csrf,
        user_edit_form(world.dinkes_head, full_name="dr. Rini", unit_id=str(world.district.id)),
    )

    assert response.status_code == 303
    assert response.headers["location"] == "/admin/users?ok=user-saved"
    account = stored(session, User, world.dinkes_head.id)
    assert (account.full_name, account.unit_id, account.is_active) == (
        "dr. Rini",
        world.district.id,
        True,
    )
    assert account.password_hash == old_hash
    assert "Perubahan pengguna disimpan." in client.get(response.headers["location"]).text


def test_update_user_password_and_deactivation_end_sessions(
    client: TestClient, session: Session, settings: Any, world: World
) -> None:
    live = accounts.start_session(
        session, user=world.dinkes_head, kind=SessionKind.web, settings=settings
    )
    csrf = login(client, world.team)
    form = user_edit_form(
        world.dinkes_head, role="executive", password=NEW_PASSWORD, password_repeat=NEW_PASSWORD
    )
    del form["is_active"]  # the checkbox left unticked

    response = post(client, f"/admin/users/{world.dinkes_head.id}/edit", csrf, form)

    assert response.status_code == 303
    account = stored(session, User, world.dinkes_head.id)
    assert (account.role, account.unit_id, account.is_active) == (Role.executive, None, False)
    assert accounts.password_hash.verify(NEW_PASSWORD, account.password_hash)
    row = session.get(LoginSession, live.login_session.id)
    assert row is not None
    assert row.revoked_at is not None


def test_a_new_user_cannot_join_an_inactive_unit(
    client: TestClient, session: Session, refs: Refs
) -> None:
    csrf = login(client, refs.world.team)
    before = snapshot(session)

    response = post(
        client, "/admin/users/new", csrf, user_form(refs.world, unit_id=str(refs.idle_unit.id))
    )

    assert response.status_code == 422
    assert field_error(response.text, "unit_id") == (
        "Dinas Perhubungan sudah nonaktif; pilih unit yang aktif."
    )
    assert snapshot(session) == before


def test_moving_a_user_to_an_inactive_unit_is_refused_but_staying_is_not(
    client: TestClient, session: Session, refs: Refs
) -> None:
    world = refs.world
    csrf = login(client, world.team)
    before = snapshot(session)

    moved = post(
        client,
        f"/admin/users/{world.dinkes_head.id}/edit",
        csrf,
        user_edit_form(world.dinkes_head, unit_id=str(refs.idle_unit.id)),
    )

    assert moved.status_code == 422
    assert "sudah nonaktif" in field_error(moved.text, "unit_id")
    assert snapshot(session) == before

    world.dinkes.is_active = False
    session.add(world.dinkes)
    session.commit()
    stayed = post(
        client,
        f"/admin/users/{world.dinkes_head.id}/edit",
        csrf,
        user_edit_form(world.dinkes_head, full_name="dr. Rini"),
    )

    assert stayed.status_code == 303
    account = stored(session, User, world.dinkes_head.id)
    assert (account.full_name, account.unit_id) == ("dr. Rini", world.dinkes.id)


POSITION_NOT_EXECUTIVE = "Jabatan hanya untuk peran Pimpinan"


def test_user_form_offers_the_executive_offices(client: TestClient, world: World) -> None:
    login(client, world.team)

    page = client.get("/admin/users/new").text

    assert '<option value="">– Tanpa jabatan –</option>' in page
    for value, label in [
        ("bupati", "Bupati"),
        ("wakil_bupati", "Wakil Bupati"),
        ("sekretaris_daerah", "Sekretaris Daerah"),
    ]:
        assert f'<option value="{value}">{label}</option>' in page


def test_an_executive_created_with_an_office_directs_in_its_name(
    client: TestClient, session: Session, world: World
) -> None:
    csrf = login(client, world.team)

    response = post(
        client,
        "/admin/users/new",
        csrf,
        user_form(
            world,
            username="wabup",
            full_name="Netta Indian",
            role="executive",
            unit_id="",
            position="wakil_bupati",
        ),
    )

    assert response.status_code == 303
    wabup = session.exec(select(User).where(User.username == "wabup")).one()
    assert (wabup.role, wabup.position) == (Role.executive, "wakil_bupati")
    row = re.search(rf'<tr id="user-{wabup.id}">.*?</tr>', client.get("/admin/users").text, re.S)
    assert row is not None
    assert 'Pimpinan <span class="muted">· Wakil Bupati</span>' in row.group(0)
    edit = client.get(f"/admin/users/{wabup.id}/edit").text
    assert '<option value="wakil_bupati" selected>Wakil Bupati</option>' in edit

    task = make_task(session, actor=world.team, plan=world.plan, lead=world.putr)
    tasks.add_directive(session, actor=wabup, task_id=task.id or 0, note="Percepat lelang")
    (view,) = directives.task_directives(
        session,
        task_id=task.id or 0,
        calendar=plan_calendar(session, world.plan),
        today=world.plan.start_date,
    )
    assert view.label == "Arahan Wakil Bupati"
    assert "Arahan Wakil Bupati" in client.get(f"/tasks/{task.id}").text


def test_editing_an_executive_sets_changes_and_clears_the_office(
    client: TestClient, session: Session, world: World
) -> None:
    csrf = login(client, world.team)
    executive = world.executive
    task = make_task(session, actor=world.team, plan=world.plan, lead=world.putr)
    tasks.add_directive(session, actor=executive, task_id=task.id or 0, note="Segera")

    def label() -> str:
        session.expire_all()
        (view,) = directives.task_directives(
            session,
            task_id=task.id or 0,
            calendar=plan_calendar(session, world.plan),
            today=world.plan.start_date,
        )
        return view.label

    assert label() == "Arahan Pimpinan"  # no office yet
    for position, expected in [
        ("sekretaris_daerah", "Arahan Sekretaris Daerah"),
        ("bupati", "Arahan Bupati"),
        ("", "Arahan Pimpinan"),
    ]:
        response = post(
            client,
            f"/admin/users/{executive.id}/edit",
            csrf,
            user_edit_form(executive, position=position),
        )

        assert response.status_code == 303, position
        assert stored(session, User, executive.id).position == position
        # Directives already given follow the author's office as it is now.
        assert label() == expected


def test_an_office_is_refused_on_other_roles_and_unknown_offices(
    client: TestClient, session: Session, world: World
) -> None:
    csrf = login(client, world.team)
    before = snapshot(session)
    creations: list[tuple[dict[str, str], str]] = [
        ({"position": "bupati"}, POSITION_NOT_EXECUTIVE),  # a unit user
        ({"role": "team", "unit_id": "", "position": "sekretaris_daerah"}, POSITION_NOT_EXECUTIVE),
        ({"role": "executive", "unit_id": "", "position": "gubernur"}, "Pilih salah satu"),
        ({"role": "executive", "unit_id": "", "position": "Bupati"}, "Pilih salah satu"),
    ]

    for overrides, message in creations:
        response = post(client, "/admin/users/new", csrf, user_form(world, **overrides))

        assert response.status_code == 422, overrides
        assert message in field_error(response.text, "position"), overrides
        assert "Akun belum tersimpan." in response.text
        assert snapshot(session) == before, overrides

    # Moving the Bupati to the team with his office left selected is refused, not guessed.
    world.executive.position = ExecutivePosition.bupati.value
    session.add(world.executive)
    session.commit()
    before = snapshot(session)
    moved = post(
        client,
        f"/admin/users/{world.executive.id}/edit",
        csrf,
        user_edit_form(world.executive, role="team"),
    )

    assert moved.status_code == 422
    assert POSITION_NOT_EXECUTIVE in field_error(moved.text, "position")
    assert '<option value="bupati" selected>Bupati</option>' in moved.text
    assert snapshot(session) == before
    # With the office emptied, the move goes through and leaves no office behind.
    cleared = post(
        client,
        f"/admin/users/{world.executive.id}/edit",
        csrf,
        user_edit_form(world.executive, role="team", position=""),
    )
    assert cleared.status_code == 303
    account = stored(session, User, world.executive.id)
    assert (account.role, account.position) == (Role.team, "")


def test_accounts_refuse_an_office_on_another_role(session: Session, world: World) -> None:
    with pytest.raises(RuleViolation) as refused:
        accounts.create_user(
            session,
            actor=None,
            username="operator.baru",
            full_name="Operator",
            role=Role.team,
            password=NEW_PASSWORD,
            position=ExecutivePosition.bupati,
        )
    assert refused.value.field == "position"


USER_INVALID: list[tuple[dict[str, str], str, str]] = [
    ({"username": "Tim.Transisi"}, "username", "Nama pengguna 'tim.transisi' sudah dipakai."),
    ({"username": "ab"}, "username", "Nama pengguna 3–60 karakter"),
    ({"username": "ada spasi"}, "username", "Nama pengguna 3–60 karakter"),
    ({"full_name": "  "}, "full_name", "Nama lengkap wajib diisi."),
    ({"full_name": "x" * 121}, "full_name", "Nama lengkap terlalu panjang (maks. 120 karakter)."),
    ({"role": "admin"}, "role", "Pilih salah satu pilihan yang tersedia."),
    ({"role": ""}, "role", "Pilih salah satu pilihan yang tersedia."),
    ({"unit_id": ""}, "unit_id", "Pengguna perangkat daerah/kecamatan harus terhubung"),
    ({"unit_id": "999"}, "unit_id", "Pengguna perangkat daerah/kecamatan harus terhubung"),
    ({"unit_id": "abc"}, "unit_id", "Isi bilangan bulat"),
    ({"password": "", "password_repeat": ""}, "password", "Wajib diisi."),
    ({"password": "pendek", "password_repeat": "pendek"}, "password", "Kata sandi minimal 10"),
    ({"password_repeat": "sandi-lain-sekali"}, "password_repeat", "Kedua kata sandi tidak sama."),
]


def test_create_user_refuses_each_bad_field(
    client: TestClient, session: Session, world: World
) -> None:
    csrf = login(client, world.team)
    before = snapshot(session)

    for overrides, field, message in USER_INVALID:
        response = post(client, "/admin/users/new", csrf, user_form(world, **overrides))

        assert response.status_code == 422, overrides
        assert message in field_error(response.text, field), overrides
        assert "Akun belum tersimpan." in response.text
        assert "<h1>Pengguna baru</h1>" in response.text
        # Passwords are never sent back to the browser.
        assert NEW_PASSWORD not in response.text, overrides
        assert snapshot(session) == before, overrides


def test_update_user_refuses_bad_input(client: TestClient, session: Session, world: World) -> None:
    csrf = login(client, world.team)
    before = snapshot(session)
    me = world.team
    other = world.putr_head
    self_message = "Anda tidak dapat menonaktifkan atau menurunkan peran akun Anda sendiri."
    cases: list[tuple[User, dict[str, str], str, str]] = [
        (me, {"role": "executive"}, "role", self_message),
        (me, {"is_active": ""}, "role", self_message),
        (other, {"unit_id": ""}, "unit_id", "harus terhubung ke satu unit"),
        (other, {"full_name": ""}, "full_name", "Nama lengkap wajib diisi."),
        (other, {"password": "pendek", "password_repeat": "pendek"}, "password", "minimal 10"),
        (other, {"password": NEW_PASSWORD}, "password_repeat", "Kedua kata sandi tidak sama."),
    ]

    for account, overrides, field, message in cases:
        form = user_edit_form(account, **overrides)
        if form.get("is_active") == "":
            del form["is_active"]
        response = post(client, f"/admin/users/{account.id}/edit", csrf, form)

        assert response.status_code == 422, overrides
        assert message in field_error(response.text, field), overrides
        assert f"<h1>Ubah pengguna {account.username}</h1>" in response.text
        assert NEW_PASSWORD not in response.text
        assert snapshot(session) == before, overrides


# --- plan --------------------------------------------------------------------------------


def test_plan_page_shows_the_current_plan_and_every_plan(client: TestClient, refs: Refs) -> None:
    world = refs.world
    login(client, world.team)

    page = client.get("/admin/plan")

    assert page.status_code == 200
    assert "<h1>Rencana kerja</h1>" in page.text
    start = world.plan.start_date
    assert f"Hari ke-1: <strong>{format_day_date(start)}</strong>" in page.text
    end = format_day_date(start + timedelta(days=99))
    assert f"hari ke-100: <strong>{end}</strong>" in page.text
    assert "Rencana aktif" in page.text
    assert f'action="/admin/plan/{world.plan.id}"' in page.text
    assert f'value="{start.isoformat()}"' in page.text
    assert f'<tr id="plan-{world.plan.id}" aria-current="true" class="row-selected">' in page.text
    assert f'<tr id="plan-{refs.other_plan.id}">' in page.text
    # Only the other plan can be made current.
    assert f'action="/admin/plan/{refs.other_plan.id}/current"' in page.text
    assert f'action="/admin/plan/{world.plan.id}/current"' not in page.text
    assert 'id="due-outside"' not in page.text


def test_plan_settings_of_another_plan(client: TestClient, refs: Refs) -> None:
    login(client, refs.world.team)

    page = client.get(f"/admin/plan/{refs.other_plan.id}")

    assert page.status_code == 200
    assert '<h2 id="plan-name">Tahun Pertama </h2>' in page.text
    assert "Jadikan rencana aktif" in page.text
    assert 'value="2026-01-05"' in page.text
    assert '<a href="/admin/plan" aria-current="page">Rencana kerja</a>' in page.text


def test_plan_page_without_any_plan(client: TestClient, session: Session) -> None:
    login(client, make_user(session, username="tim.transisi", role=Role.team))

    page = client.get("/admin/plan")

    assert page.status_code == 200
    assert "Belum ada rencana kerja aktif." in page.text
    assert "<h2>Pengaturan</h2>" not in page.text


def test_plan_new_page(client: TestClient, world: World) -> None:
    login(client, world.team)

    page = client.get("/admin/plan/new")

    assert page.status_code == 200
    assert "<h1>Rencana kerja baru</h1>" in page.text
    assert 'action="/admin/plan/new"' in page.text
    today_wib = datetime.now(UTC).astimezone(WIB).date()
    assert f'id="f-start_date" name="start_date" type="date" value="{today_wib}"' in page.text
    assert 'name="length_days" type="text" value="100"' in page.text
    assert '<option value="calendar" selected>' in page.text
    timezone = re.search(r'<select id="f-timezone".*?</select>', page.text, re.S)
    assert timezone is not None
    assert '<option value="Asia/Jakarta" selected>WIB (Waktu Indonesia Barat)' in timezone.group(0)
    assert '<option value="Asia/Makassar">WITA' in timezone.group(0)
    assert '<option value="Asia/Jayapura">WIT' in timezone.group(0)
    assert 'id="f-make_current"' in page.text


def test_update_plan(client: TestClient, session: Session, world: World) -> None:
    csrf = login(client, world.team)

    response = post(
        client,
        f"/admin/plan/{world.plan.id}",
        csrf,
        plan_form(
            name="Program 100 Hari Kerja Banyuasin",
            start_date="2025-02-20",
            length_days="100",
            day_mode="calendar",
            timezone="Asia/Jakarta",
            baseline_at="2025-02-20T08:00",
        ),
    )

    assert response.status_code == 303
    assert response.headers["location"] == f"/admin/plan/{world.plan.id}?ok=plan-saved"
    plan = stored(session, Plan, world.plan.id)
    assert (plan.name, plan.start_date, plan.length_days, plan.day_mode) == (
        "Program 100 Hari Kerja Banyuasin",
        date(2025, 2, 20),
        100,
        DayMode.calendar,
    )
    assert plan.baseline_at == datetime(2025, 2, 20, 1, 0, tzinfo=UTC)
    page = client.get(response.headers["location"])
    assert "Pengaturan rencana kerja disimpan." in page.text
    assert "hari ke-100: <strong>30 Mei 2025</strong>" in page.text
    assert 'value="2025-02-20T08:00"' in page.text


def test_shortening_a_plan_lists_tasks_due_outside_it(
    client: TestClient, session: Session, world: World
) -> None:
    late = make_task(
        session,
        actor=world.team,
        plan=world.plan,
        lead=world.putr,
        due_date=world.plan.start_date + timedelta(days=80),
    )
    make_task(
        session,
        actor=world.team,
        plan=world.plan,
        lead=world.putr,
        due_date=world.plan.start_date + timedelta(days=10),
    )
    csrf = login(client, world.team)

    response = post(
        client,
        f"/admin/plan/{world.plan.id}",
        csrf,
        plan_form(
            name=world.plan.name,
            start_date=world.plan.start_date.isoformat(),
            length_days="50",
            day_mode="calendar",
        ),
    )

    assert response.status_code == 303
    assert stored(session, Plan, world.plan.id).length_days == 50
    page = client.get(response.headers["location"])
    warning = re.search(
        r'<div class="flash flash-warn" role="alert" id="due-outside">.*?</div>', page.text, re.S
    )
    assert warning is not None
    assert "1 tugas bertenggat di luar masa rencana" in warning.group(0)
    assert late.code in warning.group(0)
    assert "2 tugas</p>" in page.text or "· 2 tugas" in page.text


def test_create_plan_and_make_it_current(
    client: TestClient, session: Session, world: World
) -> None:
    csrf = login(client, world.team)

    response = post(client, "/admin/plan/new", csrf, plan_form(make_current="on"))

    assert response.status_code == 303
    match = re.fullmatch(r"/admin/plan/(\d+)\?ok=plan-created", response.headers["location"])
    assert match is not None
    created = stored(session, Plan, int(match.group(1)))
    assert (created.name, created.start_date, created.length_days, created.day_mode) == (
        "Tahun Pertama",
        date(2025, 6, 2),
        365,
        DayMode.working,
    )
    assert created.is_current
    assert not stored(session, Plan, world.plan.id).is_current
    assert "Rencana kerja baru dibuat." in client.get(response.headers["location"]).text


def test_create_plan_without_making_it_current(
    client: TestClient, session: Session, world: World
) -> None:
    csrf = login(client, world.team)

    response = post(client, "/admin/plan/new", csrf, plan_form())

    assert response.status_code == 303
    current = session.exec(select(Plan.id).where(col(Plan.is_current))).all()
    assert current == [world.plan.id]
    assert len(session.exec(select(Plan)).all()) == 2


def test_make_another_plan_current(client: TestClient, session: Session, refs: Refs) -> None:
    csrf = login(client, refs.world.team)

    response = post(client, f"/admin/plan/{refs.other_plan.id}/current", csrf)

    assert response.status_code == 303
    assert response.headers["location"] == "/admin/plan?ok=plan-current"
    session.rollback()
    session.expire_all()
    assert session.exec(select(Plan.id).where(col(Plan.is_current))).all() == [refs.other_plan.id]
    page = client.get(response.headers["location"])
    assert "Rencana kerja aktif telah diganti." in page.text
    assert '<h2 id="plan-name">Tahun Pertama <span class="badge badge-on">' in page.text


PLAN_INVALID: list[tuple[dict[str, str], str, str]] = [
    ({"name": " "}, "name", "Wajib diisi."),
    ({"name": "x" * 121}, "name", "Terlalu panjang (maks. 120 karakter)."),
    ({"start_date": ""}, "start_date", "Wajib diisi."),
    ({"start_date": "2025-02-30"}, "start_date", "Tanggal tidak valid; gunakan format HH/BB/TTTT"),
    ({"start_date": "30-02-2025"}, "start_date", "Tanggal tidak valid"),
    ({"start_date": "1999-12-31"}, "start_date", "Tahun harus antara 2000 dan 2100."),
    ({"length_days": ""}, "length_days", "Wajib diisi."),
    ({"length_days": "0"}, "length_days", "Isi bilangan bulat 1–2000."),
    ({"length_days": "-5"}, "length_days", "Isi bilangan bulat 1–2000."),
    ({"length_days": "2001"}, "length_days", "Isi bilangan bulat 1–2000."),
    ({"length_days": "seratus"}, "length_days", "Isi bilangan bulat 1–2000."),
    ({"length_days": "1e2"}, "length_days", "Isi bilangan bulat 1–2000."),
    ({"day_mode": "weekly"}, "day_mode", "Pilih salah satu pilihan yang tersedia."),
    ({"day_mode": ""}, "day_mode", "Pilih salah satu pilihan yang tersedia."),
    ({"timezone": "Mars/Olympus"}, "timezone", "Pilih zona waktu"),
    ({"timezone": ""}, "timezone", "Pilih zona waktu"),
    ({"baseline_at": "kemarin"}, "baseline_at", "Waktu tidak valid; isi tanggal dan jam (WIB)."),
    ({"baseline_at": "1900-01-01T08:00"}, "baseline_at", "Tahun harus antara 2000 dan 2100."),
]


def test_plan_forms_refuse_each_bad_field(
    client: TestClient, session: Session, world: World
) -> None:
    csrf = login(client, world.team)
    before = snapshot(session)

    for overrides, field, message in PLAN_INVALID:
        created = post(client, "/admin/plan/new", csrf, plan_form(**overrides))
        edited = post(client, f"/admin/plan/{world.plan.id}", csrf, plan_form(**overrides))

        for response in (created, edited):
            assert response.status_code == 422, overrides
            assert message in _plan_field_error(response.text, field), overrides
            assert invalid_fields(response.text) == {field}, overrides
        assert "Rencana kerja belum tersimpan." in created.text
        assert "Pengaturan rencana belum tersimpan." in edited.text
        assert 'action="/admin/plan/new"' in created.text
        assert f'action="/admin/plan/{world.plan.id}"' in edited.text
        assert snapshot(session) == before, overrides


def _plan_field_error(page: str, field: str) -> str:
    if field != "timezone":
        return field_error(page, field)
    # The timezone is a choice (WIB, WITA, WIT).
    tag = re.search(r'<select id="f-timezone"[^>]*>', page)
    assert tag is not None
    assert 'aria-invalid="true"' in tag.group(0)
    message = re.search(r'<p class="field-error" id="f-timezone-error">([^<]+)</p>', page)
    assert message is not None
    return html.unescape(message.group(1))


# --- holidays ----------------------------------------------------------------------------


def test_holidays_page(client: TestClient, session: Session, world: World) -> None:
    later = add_holiday(session, date(2025, 4, 18), "Wafat Yesus Kristus", HolidayKind.libur)
    earlier = add_holiday(session, date(2025, 3, 31), "Idul Fitri", HolidayKind.libur)
    leave = add_holiday(
        session, date(2025, 4, 2), "Cuti bersama Idul Fitri", HolidayKind.cuti_bersama
    )
    csrf = login(client, world.team)

    page = client.get("/admin/holidays")

    assert page.status_code == 200
    assert "<h1>Hari libur</h1>" in page.text
    assert "Daftar (3)" in page.text
    positions = [page.text.index(f'<tr id="holiday-{h.id}">') for h in (earlier, leave, later)]
    assert positions == sorted(positions)
    row = re.search(rf'<tr id="holiday-{leave.id}">.*?</tr>', page.text, re.S)
    assert row is not None
    assert "2 Apr 2025" in row.group(0)
    assert "<td>Cuti bersama</td>" in row.group(0)
    assert f'hx-post="/admin/holidays/{leave.id}/delete"' in row.group(0)
    assert f'value="{csrf}"' in row.group(0)
    assert 'action="/admin/holidays"' in page.text


def test_holidays_page_when_empty(client: TestClient, world: World) -> None:
    login(client, world.team)

    page = client.get("/admin/holidays")

    assert "Daftar (0)" in page.text
    assert "Belum ada hari libur." in page.text
    assert '<option value="libur" selected>Libur nasional</option>' in page.text
    assert 'id="f-holiday_date" name="holiday_date" type="date" value=""' in page.text


def test_holiday_edit_page(client: TestClient, refs: Refs) -> None:
    login(client, refs.world.team)

    page = client.get(f"/admin/holidays/{refs.holiday.id}/edit")

    assert page.status_code == 200
    assert "<h1>Ubah hari libur 31 Mar 2025</h1>" in page.text
    assert 'value="2025-03-31"' in page.text
    assert 'value="Idul Fitri 1446 H"' in page.text
    assert '<option value="libur" selected>Libur nasional</option>' in page.text
    assert f'action="/admin/holidays/{refs.holiday.id}/delete"' in page.text


def test_create_holiday(client: TestClient, session: Session, world: World) -> None:
    csrf = login(client, world.team)

    response = post(
        client,
        "/admin/holidays",
        csrf,
        holiday_form(holiday_date="2025-04-02", name=" Cuti  bersama ", kind="cuti_bersama"),
    )

    assert response.status_code == 303
    assert response.headers["location"] == "/admin/holidays?ok=holiday-created"
    created = session.exec(select(Holiday)).one()
    assert (created.holiday_date, created.name, created.kind) == (
        date(2025, 4, 2),
        "Cuti bersama",
        HolidayKind.cuti_bersama,
    )
    page = client.get(response.headers["location"])
    assert "Hari libur ditambahkan." in page.text
    assert "Daftar (1)" in page.text


def test_update_holiday(client: TestClient, session: Session, refs: Refs) -> None:
    csrf = login(client, refs.world.team)

    response = post(
        client,
        f"/admin/holidays/{refs.holiday.id}/edit",
        csrf,
        holiday_form(holiday_date="2025-04-01", name="Idul Fitri hari kedua", kind="libur"),
    )

    assert response.status_code == 303
    assert response.headers["location"] == "/admin/holidays?ok=holiday-saved"
    holiday = stored(session, Holiday, refs.holiday.id)
    assert (holiday.holiday_date, holiday.name) == (date(2025, 4, 1), "Idul Fitri hari kedua")
    assert "Perubahan hari libur disimpan." in client.get(response.headers["location"]).text


def test_delete_holiday_without_js(client: TestClient, session: Session, refs: Refs) -> None:
    csrf = login(client, refs.world.team)

    response = post(client, f"/admin/holidays/{refs.holiday.id}/delete", csrf)

    assert response.status_code == 303
    assert response.headers["location"] == "/admin/holidays?ok=holiday-deleted"
    session.rollback()
    session.expire_all()
    assert session.exec(select(Holiday)).all() == []
    assert "Hari libur dihapus." in client.get(response.headers["location"]).text


def test_delete_holiday_with_htmx_empties_the_row(
    client: TestClient, session: Session, refs: Refs
) -> None:
    csrf = login(client, refs.world.team)
    holiday_id = refs.holiday.id

    response = post(client, f"/admin/holidays/{holiday_id}/delete", csrf, htmx=True)

    assert response.status_code == 200
    assert response.text == ""
    assert toast(response) == {"message": "Hari libur dihapus.", "kind": "ok"}
    assert "HX-Request" in response.headers["vary"]
    session.rollback()
    session.expire_all()
    assert session.get(Holiday, holiday_id) is None


def test_holiday_forms_refuse_bad_input(client: TestClient, session: Session, refs: Refs) -> None:
    taken = add_holiday(session, date(2025, 8, 17), "Hari Kemerdekaan", HolidayKind.libur)
    csrf = login(client, refs.world.team)
    before = snapshot(session)
    cases: list[tuple[dict[str, str], str, str]] = [
        ({"holiday_date": "2025-08-17"}, "holiday_date", "Tanggal 17 Agu 2025 sudah tercatat."),
        ({"holiday_date": ""}, "holiday_date", "Wajib diisi."),
        ({"holiday_date": "2025-13-01"}, "holiday_date", "Tanggal tidak valid"),
        ({"holiday_date": "32/08/2025"}, "holiday_date", "Tanggal tidak valid"),
        ({"holiday_date": "2101-01-01"}, "holiday_date", "Tahun harus antara 2000 dan 2100."),
        ({"holiday_date": "2025-09-05", "name": ""}, "name", "Wajib diisi."),
        ({"holiday_date": "2025-09-05", "name": "x" * 121}, "name", "Terlalu panjang"),
        ({"holiday_date": "2025-09-05", "kind": "cuti"}, "kind", "Pilih salah satu"),
        ({"holiday_date": "2025-09-05", "kind": ""}, "kind", "Pilih salah satu"),
    ]

    for overrides, field, message in cases:
        created = post(client, "/admin/holidays", csrf, holiday_form(**overrides))
        edited = post(
            client, f"/admin/holidays/{refs.holiday.id}/edit", csrf, holiday_form(**overrides)
        )

        for response in (created, edited):
            assert response.status_code == 422, overrides
            assert message in field_error(response.text, field), overrides
            assert invalid_fields(response.text) == {field}, overrides
            assert "Hari libur belum tersimpan." in response.text
        # The add form re-renders inside the list, which still shows every holiday.
        assert "Daftar (2)" in created.text
        assert f'<tr id="holiday-{taken.id}">' in created.text
        assert "<h1>Ubah hari libur 31 Mar 2025</h1>" in edited.text
        assert snapshot(session) == before, overrides


# --- missing targets of mutations --------------------------------------------------------


def test_mutations_of_unknown_ids_are_404_and_change_nothing(
    client: TestClient, session: Session, world: World
) -> None:
    csrf = login(client, world.team)
    before = snapshot(session)

    for url, form in [
        ("/admin/units/999/edit", unit_form()),
        ("/admin/units/999/deactivate", {}),
        ("/admin/programs/999/activate", {}),
        ("/admin/programs/999/edit", program_form()),
        ("/admin/users/999/edit", user_edit_form(world.putr_head)),
        ("/admin/plan/999", plan_form()),
        ("/admin/plan/999/current", {}),
        ("/admin/holidays/999/edit", holiday_form()),
        ("/admin/holidays/999/delete", {}),
        ("/admin/holidays/99999999999999999999/delete", {}),
        ("/admin/holidays/abc/delete", {}),
    ]:
        response = post(client, url, csrf, form)

        assert response.status_code == 404, url
        assert "tidak ditemukan" in error_message(response.text), url
        assert snapshot(session) == before, url


# --- permissions -------------------------------------------------------------------------


def test_the_team_can_do_every_admin_action(
    client: TestClient, session: Session, refs: Refs
) -> None:
    """The control for the refusals below: each form is one the team may send."""
    csrf = login(client, refs.world.team)

    for name, (url, form, redirect) in admin_actions(refs).items():
        before = snapshot(session)

        response = post(client, url, csrf, form)

        assert response.status_code == 303, (name, response.text[:300])
        assert response.headers["location"].startswith(redirect), name
        assert snapshot(session) != before, name


def test_the_team_can_open_every_admin_page(client: TestClient, refs: Refs) -> None:
    login(client, refs.world.team)

    for path in admin_pages(refs):
        response = client.get(path)

        assert response.status_code == 200, path
        assert '<nav class="admin-nav"' in response.text, path


@pytest.mark.parametrize(
    ("who", "message"),
    [("putr_head", TEAM_ONLY_MESSAGE), ("executive", READ_ONLY_MESSAGE)],
    ids=["unit", "executive"],
)
def test_other_roles_cannot_open_admin_pages(
    client: TestClient, refs: Refs, who: str, message: str
) -> None:
    login(client, getattr(refs.world, who))

    for path in admin_pages(refs):
        response = client.get(path)

        assert response.status_code == 403, path
        assert error_message(response.text) == message, path
        assert "<h1>Tidak berwenang</h1>" in response.text
        assert '<nav class="admin-nav"' not in response.text, path

    fragment = client.get("/admin/units", params={"kind": "agency"}, headers=HX)

    assert fragment.status_code == 403
    assert "<html" not in fragment.text
    assert error_message(fragment.text) == message
    assert "unit-" not in fragment.text


@pytest.mark.parametrize(
    ("who", "message"),
    [("putr_head", TEAM_ONLY_MESSAGE), ("executive", READ_ONLY_MESSAGE)],
    ids=["unit", "executive"],
)
@pytest.mark.parametrize("htmx", [False, True], ids=["form", "htmx"])
def test_other_roles_cannot_change_anything(
    client: TestClient, session: Session, refs: Refs, who: str, message: str, htmx: bool
) -> None:
    csrf = login(client, getattr(refs.world, who))
    before = snapshot(session)

    for name, (url, form, _) in admin_actions(refs).items():
        response = post(client, url, csrf, form, htmx=htmx)

        assert response.status_code == 403, name
        assert error_message(response.text) == message, name
        assert ("<html" in response.text) is not htmx, name
        assert "hx-trigger" not in response.headers, name
        assert snapshot(session) == before, name


def test_other_roles_are_refused_before_the_form_is_checked(
    client: TestClient, session: Session, refs: Refs
) -> None:
    """A refused form is a 403, not a 422 that would reveal which values are taken."""
    csrf = login(client, refs.world.putr_head)
    before = snapshot(session)

    for url, form in [
        ("/admin/units/new", unit_form(code="PUTR")),
        ("/admin/users/new", user_form(refs.world, username="tim.transisi")),
        ("/admin/holidays", holiday_form(holiday_date="2025-03-31")),
        ("/admin/plan/new", plan_form(name="")),
        ("/admin/programs/new", program_form(code="")),
        (f"/admin/units/{refs.world.putr.id}/edit", unit_form(code="")),
        (f"/admin/holidays/{refs.holiday.id}/edit", holiday_form(name="")),
    ]:
        response = post(client, url, csrf, form)

        assert response.status_code == 403, url
        assert 'class="field-error"' not in response.text, url
    assert snapshot(session) == before


def test_anonymous_visitors_are_sent_to_login(client: TestClient, refs: Refs) -> None:
    for path in admin_pages(refs):
        response = client.get(path, follow_redirects=False)

        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/login?next=%2Fadmin"), path

    listing = client.get("/admin/units", params={"kind": "agency"}, follow_redirects=False)
    assert listing.headers["location"] == "/login?next=%2Fadmin%2Funits%3Fkind%3Dagency"
    fragment = client.get("/admin/units", headers=HX, follow_redirects=False)
    assert fragment.status_code == 401
    assert fragment.headers["hx-redirect"].startswith("/login?next=")


def test_anonymous_posts_change_nothing(client: TestClient, session: Session, refs: Refs) -> None:
    before = snapshot(session)

    for name, (url, form, _) in admin_actions(refs).items():
        response = post(client, url, "x" * 43, form)

        assert response.status_code == 303, name
        assert response.headers["location"] == "/login", name
    assert snapshot(session) == before


@pytest.mark.parametrize(
    ("token", "headers"),
    [
        (None, {}),
        ("salah", {}),
        (None, {**HX, "X-CSRF-Token": "salah"}),
    ],
    ids=["form without token", "form with a wrong token", "htmx with a wrong header"],
)
def test_admin_actions_need_the_csrf_token(
    client: TestClient,
    session: Session,
    refs: Refs,
    token: str | None,
    headers: dict[str, str],
) -> None:
    login(client, refs.world.team)
    before = snapshot(session)

    for name, (url, form, _) in admin_actions(refs).items():
        data = dict(form)
        if token is not None:
            data["csrf_token"] = token
        response = client.post(url, data=data, headers=headers, follow_redirects=False)

        assert response.status_code == 403, name
        assert error_message(response.text) == CSRF_MESSAGE, name
        assert snapshot(session) == before, name


def test_a_token_of_another_session_is_refused(
    client: TestClient, session: Session, refs: Refs
) -> None:
    other = login(client, refs.world.team)
    login(client, refs.world.team)  # a second session: the first one's token is not its own
    before = snapshot(session)

    response = post(client, "/admin/holidays", other, holiday_form())

    assert response.status_code == 403
    assert snapshot(session) == before
