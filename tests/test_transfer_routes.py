"""Import page and API, template download, exports (board with filters, full list with
history), formula neutralising, the round trip, permissions and CSRF."""

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import Engine
from sqlmodel import Session, func, select

from app.config import Settings
from app.main import create_app
from app.models import EventKind, Task, TaskEvent, TaskStatus
from app.routes.transfer import FORM_OVERHEAD
from app.services import import_store, tasks
from tests import factories
from tests.spreadsheets import HEADERS, csv_text, read_sheet, row, xlsx_bytes

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return Settings(database_url=db_url, require_migrated=False, data_dir=tmp_path / "data")


@pytest.fixture
def client(settings: Settings, engine: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(settings, engine)) as client:
        yield client


def _count(session: Session, model: Any) -> int:
    session.rollback()  # a fresh snapshot: the app wrote through its own sessions
    return int(session.exec(select(func.count()).select_from(model)).one())


def _upload(client: TestClient, csrf: str, data: bytes, name: str = "rencana.xlsx") -> Any:
    return client.post(
        "/tasks/import",
        data={"csrf_token": csrf},
        files={"file": (name, data, XLSX)},
    )


def _hidden(page: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert found is not None, page[:2000]
    return found.group(1)


# --- the import page -------------------------------------------------------------------


def test_upload_previews_without_writing_then_apply_imports(
    client: TestClient, session: Session, world: factories.World, settings: Settings
) -> None:
    csrf = factories.login(client, world.team)
    page = client.get("/tasks/import")
    assert page.status_code == 200
    assert 'enctype="multipart/form-data"' in page.text
    rows = [
        row(title="Jalan desa Lebung", lead_unit="Dinas PUTR"),
        row(title="Posyandu", lead_unit="DINKES"),
    ]
    preview = _upload(client, csrf, xlsx_bytes(rows))
    assert preview.status_code == 200
    assert "Pratinjau: rencana.xlsx" in preview.text
    assert "Terapkan impor" in preview.text
    assert "Akan dibuat (2)" in preview.text
    assert _count(session, Task) == 0
    digest = _hidden(preview.text, "digest")
    assert (settings.resolved_data_dir / "imports" / f"{digest}.upload").exists()
    # Applying needs only the digest: the file is not uploaded twice.
    applied = client.post(
        "/tasks/import/apply",
        data={"csrf_token": csrf, "digest": digest, "filename": _hidden(preview.text, "filename")},
    )
    assert applied.status_code == 200
    assert "Impor selesai" in applied.text
    assert "2 tugas dibuat" in applied.text
    assert _count(session, Task) == 2
    notes = {e.note for e in session.exec(select(TaskEvent))}
    assert notes == {"Diimpor dari berkas rencana.xlsx"}
    assert not (settings.resolved_data_dir / "imports" / f"{digest}.upload").exists()
    # The board shows them.
    board = client.get("/board")
    assert "Jalan desa Lebung" in board.text
    assert "Posyandu" in board.text


def test_preview_lists_problems_and_offers_no_apply(
    client: TestClient, session: Session, world: factories.World, settings: Settings
) -> None:
    csrf = factories.login(client, world.team)
    preview = _upload(client, csrf, xlsx_bytes([row(title="Jalan", lead_unit="Dinas PU")]))
    assert preview.status_code == 200
    assert (
        "Baris 2, kolom Perangkat Daerah: &#39;Dinas PU&#39; tidak dikenal — maksud Anda "
        "&#39;Dinas PUTR&#39;?" in preview.text
    )
    assert 'action="/tasks/import/apply"' not in preview.text
    assert not (settings.resolved_data_dir / "imports").exists()


def test_hostile_uploads_are_refused_on_the_page(
    client: TestClient, session: Session, world: factories.World, settings: Settings
) -> None:
    csrf = factories.login(client, world.team)
    html = _upload(client, csrf, b"<html><script>alert(1)</script></html>", "rencana.xlsx")
    assert html.status_code == 400
    assert "bukan berkas Excel" in html.text
    big = _upload(client, csrf, b"x" * (settings.import_max_bytes + 1), "besar.csv")
    assert big.status_code == 413
    assert "terlalu besar" in big.text
    assert _count(session, Task) == 0


def test_a_body_far_over_the_limit_is_cut_off_as_it_arrives(
    client: TestClient, session: Session, world: factories.World, settings: Settings
) -> None:
    """app.upload_limit stops it before the form parser spools it, on the page and the API:
    before the route runs at all, so even an anonymous caller gets 413 rather than 401."""
    csrf = factories.login(client, world.team)
    huge = b"x" * (settings.import_max_bytes + 2 * FORM_OVERHEAD)
    page = _upload(client, csrf, huge, "besar.csv")
    assert page.status_code == 413
    assert "Berkas terlalu besar; batasnya 5 MB." in page.text
    api = client.post("/api/v1/tasks/import", files={"file": ("besar.csv", huge, "text/csv")})
    assert api.status_code == 413
    assert api.json()["detail"] == "Berkas terlalu besar; batasnya 5 MB."
    assert _count(session, Task) == 0


def test_a_stale_or_forged_digest_is_refused(
    client: TestClient, session: Session, world: factories.World
) -> None:
    csrf = factories.login(client, world.team)
    for digest in ("0" * 64, "../../etc/passwd"):
        gone = client.post(
            "/tasks/import/apply", data={"csrf_token": csrf, "digest": digest, "filename": "x.xlsx"}
        )
        assert gone.status_code in (410, 422)
    assert _count(session, Task) == 0


def test_apply_re_checks_the_plan_and_refuses_when_it_no_longer_fits(
    client: TestClient, session: Session, world: factories.World, settings: Settings
) -> None:
    csrf = factories.login(client, world.team)
    data = xlsx_bytes([row(title="Jalan", lead_unit="Dinkes")])
    preview = _upload(client, csrf, data)
    digest = _hidden(preview.text, "digest")
    world.dinkes.is_active = False  # meanwhile, the lead unit was retired
    session.add(world.dinkes)
    session.commit()
    applied = client.post(
        "/tasks/import/apply",
        data={"csrf_token": csrf, "digest": digest, "filename": "rencana.xlsx"},
    )
    assert applied.status_code == 422
    assert "sudah tidak aktif" in applied.text
    assert _count(session, Task) == 0


def test_upload_store_is_bounded(tmp_path: Path) -> None:
    digests = [
        import_store.save(tmp_path, f"isi {i}".encode(), keep_hours=24, keep_files=3)
        for i in range(5)
    ]
    kept = sorted(p.name for p in (tmp_path / "imports").iterdir())
    assert len(kept) == 3
    assert f"{digests[-1]}.upload" in kept
    assert import_store.load(tmp_path, digests[-1]) == b"isi 4"
    assert import_store.load(tmp_path, "../" + digests[-1]) is None
    assert import_store.cleanup(tmp_path, keep_hours=0, keep_files=10) == 3


# --- permissions -----------------------------------------------------------------------


def test_only_the_team_imports_on_every_path(
    client: TestClient, session: Session, world: factories.World
) -> None:
    data = xlsx_bytes([row(title="Jalan", lead_unit="PUTR")])
    for user in (world.putr_head, world.executive):
        csrf = factories.login(client, user)
        assert client.get("/tasks/import").status_code == 403
        assert _upload(client, csrf, data).status_code == 403
        refused = client.post(
            "/tasks/import/apply", data={"csrf_token": csrf, "digest": "0" * 64, "filename": "a"}
        )
        assert refused.status_code == 403
        headers = factories.api_token(client, user)
        api = client.post("/api/v1/tasks/import", files={"file": ("a.xlsx", data)}, headers=headers)
        assert api.status_code == 403
        assert "Impor tugas" not in client.get("/board").text
    client.cookies.clear()
    anonymous = client.post(
        "/tasks/import", files={"file": ("a.xlsx", data)}, follow_redirects=False
    )
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/login")
    assert client.post("/api/v1/tasks/import", files={"file": ("a.xlsx", data)}).status_code == 401
    assert client.get("/tasks/export.csv", follow_redirects=False).status_code == 303
    assert _count(session, Task) == 0


def test_the_import_form_needs_its_csrf_token(
    client: TestClient, session: Session, world: factories.World
) -> None:
    factories.login(client, world.team)
    data = xlsx_bytes([row(title="Jalan", lead_unit="PUTR")])
    assert _upload(client, "palsu", data).status_code == 403
    assert client.post("/tasks/import", files={"file": ("a.xlsx", data)}).status_code == 403
    assert (
        client.post(
            "/tasks/import/apply", data={"csrf_token": "palsu", "digest": "0" * 64, "filename": "a"}
        ).status_code
        == 403
    )


# --- API -------------------------------------------------------------------------------


def test_api_dry_run_then_apply(
    client: TestClient, session: Session, world: factories.World
) -> None:
    headers = factories.api_token(client, world.team)
    data = csv_text(
        [row(title="Jalan desa", lead_unit="PUTR"), row(title="Posyandu", lead_unit="DINKES")]
    ).encode()
    files = {"file": ("rencana.csv", data, "text/csv")}
    dry = client.post("/api/v1/tasks/import", files=files, headers=headers)
    assert dry.status_code == 200, dry.text
    body = dry.json()
    assert (body["dry_run"], body["applied"], body["created"]) == (True, False, 2)
    assert _count(session, Task) == 0
    done = client.post("/api/v1/tasks/import?dry_run=false", files=files, headers=headers)
    assert done.status_code == 200
    assert done.json()["applied"] is True
    assert [r["code"] for r in done.json()["rows"]] == ["T-001", "T-002"]
    again = client.post("/api/v1/tasks/import?dry_run=false", files=files, headers=headers).json()
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 2)
    bad = csv_text([row(title="Jalan baru", lead_unit="PUTR", weight=0)]).encode()
    refused = client.post(
        "/api/v1/tasks/import?dry_run=false", files={"file": ("b.csv", bad)}, headers=headers
    )
    assert refused.status_code == 422
    assert refused.json()["issues"] == [
        {"row": 2, "column": "Bobot", "message": "'0' bukan bilangan bulat 1–100."}
    ]
    wrong = client.post(
        "/api/v1/tasks/import", files={"file": ("a.pdf", b"%PDF-1.4")}, headers=headers
    )
    assert wrong.status_code == 400
    assert "tidak didukung" in wrong.json()["detail"]
    assert _count(session, Task) == 2


# --- exports ---------------------------------------------------------------------------


def _csv_rows(content: bytes) -> list[list[str]]:
    assert content.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(content[3:].decode("utf-8"))))


def _tasks(session: Session, world: factories.World) -> dict[str, Task]:
    made = {
        "jalan": factories.make_task(
            session,
            actor=world.team,
            plan=world.plan,
            lead=world.putr,
            title="Perbaikan jalan Desa Sungai Pinang",
            weight=3,
            target="3,3 km",
            district_id=world.district.id,
            program_ids=[world.membangun.id],
        ),
        "posyandu": factories.make_task(
            session,
            actor=world.team,
            plan=world.plan,
            lead=world.dinkes,
            title="Posyandu keliling",
            status=TaskStatus.in_progress,
            supporting_unit_ids=[world.putr.id],
        ),
        "batal": factories.make_task(
            session, actor=world.team, plan=world.plan, lead=world.putr, title="Tugas batal"
        ),
    }
    tasks.cancel_task(
        session,
        actor=world.team,
        task_id=made["batal"].pk,
        version=made["batal"].version,
        note="Tidak jadi",
    )
    return made


def test_every_role_may_export_and_the_board_export_follows_the_filters(
    client: TestClient, session: Session, world: factories.World
) -> None:
    _tasks(session, world)
    for user in (world.team, world.putr_head, world.executive):
        factories.login(client, user)
        full = client.get("/tasks/export.csv")
        assert full.status_code == 200
        assert full.headers["content-type"].startswith("text/csv")
        rows = _csv_rows(full.content)
        assert rows[0][: len(HEADERS)] == HEADERS
        assert {r[1] for r in rows[1:]} == {
            "Perbaikan jalan Desa Sungai Pinang",
            "Posyandu keliling",
            "Tugas batal",
        }
    factories.login(client, world.team)
    board = _csv_rows(client.get(f"/board/export.csv?unit={world.dinkes.id}").content)
    assert [r[1] for r in board[1:]] == ["Posyandu keliling"]
    everything = _csv_rows(client.get("/board/export.csv").content)
    assert "Tugas batal" not in {r[1] for r in everything[1:]}  # the board has no Dibatalkan column
    jalan = next(r for r in everything if r[1].startswith("Perbaikan jalan"))
    assert jalan[3:12] == [
        "Dinas PUTR",
        "",
        "Membangun",
        "Rantau Bayur",
        "",
        jalan[8],
        "3",
        "3,3 km",
        "Belum Dimulai",
    ]
    xlsx = client.get(f"/board/export.xlsx?unit={world.putr.id}&q=jalan")
    assert xlsx.headers["content-type"] == XLSX
    assert 'filename="papan-' in xlsx.headers["content-disposition"]
    sheet = read_sheet(xlsx.content)
    assert [r[1] for r in sheet[1:] if r[1]] == ["Perbaikan jalan Desa Sungai Pinang"]


def test_full_export_carries_the_history_and_opens_as_a_workbook(
    client: TestClient, session: Session, world: factories.World
) -> None:
    _tasks(session, world)
    factories.login(client, world.executive)
    response = client.get("/tasks/export.xlsx")
    book = load_workbook(io.BytesIO(response.content))
    # A reader who cannot import gets no import instructions; the team does.
    assert book.sheetnames == ["Tugas", "Daftar", "Riwayat"]
    factories.login(client, world.team)
    team_book = load_workbook(io.BytesIO(client.get("/tasks/export.xlsx").content))
    assert team_book.sheetnames == ["Tugas", "Petunjuk", "Daftar", "Riwayat"]
    factories.login(client, world.executive)
    history = list(book["Riwayat"].iter_rows(values_only=True))[1:]
    assert ("Dibatalkan", "Tidak jadi") in {(r[4], r[7]) for r in history}
    history_csv = _csv_rows(client.get("/tasks/history.csv").content)
    assert history_csv[0][0] == "Kode"
    assert len(history_csv) == len(history) + 1


def test_formula_like_text_is_neutralised_on_export_and_survives_a_round_trip(
    client: TestClient, session: Session, world: factories.World
) -> None:
    evil = "=cmd|' /C calc'!A0"
    factories.make_task(
        session, actor=world.team, plan=world.plan, lead=world.putr, title=evil, target="-5 km"
    )
    csrf = factories.login(client, world.team)
    exported = _csv_rows(client.get("/tasks/export.csv").content)
    assert exported[1][1] == "'" + evil
    assert exported[1][10] == "'-5 km"
    workbook = client.get("/tasks/export.xlsx").content
    cell = load_workbook(io.BytesIO(workbook))["Tugas"]["B2"]
    assert cell.value == "'" + evil
    assert cell.data_type == "s"
    # Importing the export back changes nothing.
    for name, data in (("t.xlsx", workbook), ("t.csv", client.get("/tasks/export.csv").content)):
        preview = _upload(client, csrf, data, name)
        assert "Tidak ada perubahan" in preview.text, preview.text[-3000:]


def test_export_queries_do_not_grow_with_the_tasks(
    client: TestClient, session: Session, world: factories.World, engine: Engine
) -> None:
    factories.login(client, world.team)

    def queries(path: str) -> int:
        seen: list[str] = []

        def count(*args: Any) -> None:
            seen.append(str(args[2]))

        sa.event.listen(engine, "before_cursor_execute", count)
        try:
            assert client.get(path).status_code == 200
        finally:
            sa.event.remove(engine, "before_cursor_execute", count)
        return len(seen)

    for i in range(2):
        factories.make_task(
            session,
            actor=world.team,
            plan=world.plan,
            lead=world.putr,
            title=f"Tugas {i}",
            supporting_unit_ids=[world.dinkes.id],
            program_ids=[world.sehat.id],
        )
    few = {p: queries(p) for p in ("/tasks/export.xlsx", "/tasks/export.csv", "/board/export.csv")}
    for i in range(25):
        factories.make_task(
            session,
            actor=world.team,
            plan=world.plan,
            lead=world.dinkes,
            title=f"Tugas lagi {i}",
            supporting_unit_ids=[world.putr.id],
            program_ids=[world.membangun.id],
        )
    many = {p: queries(p) for p in few}
    assert many == few


# --- the round trip --------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_round_trip_updates_exactly_the_edited_rows(
    client: TestClient, session: Session, world: factories.World, fmt: str
) -> None:
    made = _tasks(session, world)
    extra = [
        factories.make_task(
            session, actor=world.team, plan=world.plan, lead=world.putr, title=f"Gorong-gorong {i}"
        )
        for i in range(4)
    ]
    csrf = factories.login(client, world.team)
    versions = {t.id: t.version for t in session.exec(select(Task))}
    exported = client.get(f"/tasks/export.{fmt}").content
    # Edit two rows as an official would in a spreadsheet.
    if fmt == "xlsx":
        book = load_workbook(io.BytesIO(exported))
        sheet = book["Tugas"]
        for cells in sheet.iter_rows(min_row=2):
            if cells[1].value == "Posyandu keliling":
                cells[9].value = 7  # Bobot
            if cells[1].value == extra[2].title:
                cells[11].value = "Sedang Berjalan"
                cells[2].value = "Uraian baru"
        buffer = io.BytesIO()
        book.save(buffer)
        edited = buffer.getvalue()
    else:
        rows = _csv_rows(exported)
        for r in rows:
            if r[1] == "Posyandu keliling":
                r[9] = "7"
            if r[1] == extra[2].title:
                r[11] = "Sedang Berjalan"
                r[2] = "Uraian baru"
        # Excel in Indonesian settings saves with ";" and in Windows-1252.
        edited = csv_text(rows[1:], headers=rows[0], sep=";").encode("cp1252")
    preview = _upload(client, csrf, edited, f"diubah.{fmt}")
    assert "Akan diperbarui (2)" in preview.text
    assert "Akan dibuat" not in preview.text
    assert "<strong>Bobot:</strong> <del>1</del> → <ins>7</ins>" in preview.text
    assert "<del>Belum Dimulai</del> → <ins>Sedang Berjalan</ins>" in preview.text
    applied = client.post(
        "/tasks/import/apply",
        data={
            "csrf_token": csrf,
            "digest": _hidden(preview.text, "digest"),
            "filename": f"diubah.{fmt}",
        },
    )
    assert "0 tugas dibuat, 2 diperbarui" in applied.text
    session.rollback()
    after = {t.id: t for t in session.exec(select(Task))}
    changed = {tid for tid, t in after.items() if t.version != versions[tid]}
    assert changed == {made["posyandu"].id, extra[2].id}
    assert after[made["posyandu"].id].weight == 7
    moved = after[extra[2].id]
    assert (moved.status, moved.description) == (TaskStatus.in_progress, "Uraian baru")
    imported = session.exec(select(TaskEvent).where(TaskEvent.kind == EventKind.imported)).all()
    assert {e.task_id for e in imported} == changed


# --- menus and the template --------------------------------------------------------------


def test_export_menu_on_board_and_dashboard_and_template_download(
    client: TestClient, session: Session, world: factories.World
) -> None:
    factories.login(client, world.team)
    board = client.get(f"/board?unit={world.putr.id}").text
    assert f'href="/board/export.xlsx?unit={world.putr.id}"' in board
    assert 'href="/burndown.csv"' in board
    assert 'href="/tasks/import"' in board
    assert 'href="/tasks/import"' in client.get("/tasks/new").text
    dashboard = client.get("/dashboard").text
    assert 'href="/tasks/export.xlsx"' in dashboard
    assert 'href="/burndown.csv' in dashboard
    template = client.get("/tasks/import/template.xlsx")
    assert template.status_code == 200
    assert template.headers["content-type"] == XLSX
    assert read_sheet(template.content)[0][: len(HEADERS)] == HEADERS
    csrf = factories.login(client, world.team)
    untouched = _upload(client, csrf, template.content, "templat-impor-tugas.xlsx")
    assert untouched.status_code == 200
    assert "Tidak ada perubahan" in untouched.text
    assert "masalah" not in untouched.text
