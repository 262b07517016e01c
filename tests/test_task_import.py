"""Task import at the service level: reading files safely, matching names, every validation
message, dry run vs apply (all or nothing, idempotent), history events, and the burndown."""

import io
import zipfile
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from openpyxl import Workbook
from sqlmodel import Session, col, func, select

from app.errors import Forbidden
from app.models import EventKind, Role, Task, TaskEvent, TaskStatus, UnitKind, User
from app.services import (
    burndown,
    evidence,
    history,
    reference,
    task_export,
    task_import,
    task_reads,
    tasks,
)
from app.services.filters import TaskFilter
from app.services.positions import ranks
from app.services.spreadsheet import (
    FileRefused,
    FileTooLarge,
    Limits,
    Sheet,
    read_upload,
)
from app.services.task_import import ImportHasIssues, ImportPlan
from tests import factories
from tests.spreadsheets import HEADERS, csv_text, plan_rows, row, xlsx_bytes

LIMITS = Limits(max_bytes=5 * 1024 * 1024, max_rows=2000, max_unzipped_bytes=50 * 1024 * 1024)


def _sheet(data: bytes, name: str = "rencana.xlsx", limits: Limits = LIMITS) -> Sheet:
    return read_upload(data, name, limits=limits)


def _preview(session: Session, world: factories.World, data: bytes, name: str) -> ImportPlan:
    return task_import.plan_import(
        session,
        actor=world.team,
        plan_id=world.plan.pk,
        sheet=_sheet(data, name),
        filename=name,
    )


def _apply(session: Session, world: factories.World, data: bytes, name: str) -> ImportPlan:
    return task_import.apply_import(
        session,
        actor=world.team,
        plan_id=world.plan.pk,
        sheet=_sheet(data, name),
        filename=name,
    )


def _count(session: Session, model: Any) -> int:
    return int(session.exec(select(func.count()).select_from(model)).one())


def _day(world: factories.World, n: int) -> date:
    return world.plan.start_date + timedelta(days=n - 1)


# --- reading files ---------------------------------------------------------------------


def test_template_has_the_headers_guide_and_drop_down_lists(
    session: Session, world: factories.World
) -> None:
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(task_export.template_xlsx(session)))
    assert book.sheetnames == ["Tugas", "Petunjuk", "Daftar"]
    assert [c.value for c in book["Tugas"][1]] == HEADERS
    assert book["Daftar"].sheet_state == "hidden"
    lists = [c.value for c in book["Daftar"]["A"]]
    assert "Dinas PUTR" in lists
    assert "Rantau Bayur" in lists
    assert [c.value for c in book["Daftar"]["D"]][1:] == [
        "Belum Dimulai",
        "Sedang Berjalan",
        "Menunggu Verifikasi",
        "Selesai",
    ]
    validations = book["Tugas"].data_validations.dataValidation
    sources = {str(v.sqref).split(":")[0]: v.formula1 for v in validations}
    assert sources["D2"].startswith("Daftar!$A$2")  # lead unit
    assert sources["F2"].startswith("Daftar!$B$2")  # programs
    assert sources["G2"].startswith("Daftar!$C$2")  # district
    assert sources["L2"].startswith("Daftar!$D$2")  # status
    guide = " ".join(str(c.value) for r in book["Petunjuk"].iter_rows() for c in r if c.value)
    assert "Perangkat Daerah Pendukung" in guide
    assert "titik koma" in guide


def test_untouched_template_imports_nothing_and_reports_nothing(
    session: Session, world: factories.World
) -> None:
    result = _preview(session, world, task_export.template_xlsx(session), "templat.xlsx")
    assert result.ok
    assert result.rows == []
    applied = _apply(session, world, task_export.template_xlsx(session), "templat.xlsx")
    assert applied.applied
    assert _count(session, Task) == 0


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (b"", "kosong.csv", "Berkas kosong"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 50, "foto.png", "Jenis berkas tidak didukung"),
        (b"%PDF-1.7\n...", "surat.pdf", "Jenis berkas tidak didukung"),
        (b"<html><body>Judul</body></html>", "rencana.xlsx", "bukan berkas Excel"),
        (b"<html><body>Judul</body></html>", "rencana.csv", "halaman web"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "lama.xls", ".xls"),
        (_zip({"word/document.xml": b"<w/>"}), "rencana.xlsx", "bukan berkas Excel"),
        (b"PK\x03\x04" + b"rusak" * 20, "rencana.xlsx", "rusak"),
        (b"Judul,Perangkat Daerah\r\nA\x00B,PUTR\r\n", "a.csv", "bukan lembar kerja"),
        (b"Judul,Perangkat Daerah\r\nJalan \x81\x8d,PUTR\r\n", "a.csv", "Pengodean"),
        (b"\xef\xbb\xbfJudul\r\nJalan \xff\xfe\r\n", "a.csv", "UTF-8"),
        (b"Nama,Dinas\r\nJalan,PUTR\r\n", "a.csv", "Baris judul kolom tidak ditemukan"),
    ],
)
def test_hostile_or_broken_files_are_refused(data: bytes, name: str, message: str) -> None:
    with pytest.raises(FileRefused) as refused:
        _sheet(data, name)
    assert message in refused.value.message


def test_a_csv_that_is_really_a_workbook_is_read_as_one() -> None:
    # The content decides, not the name.
    sheet = _sheet(xlsx_bytes([row(title="Jalan desa", lead_unit="PUTR")]), "rencana.csv")
    assert sheet.kind == "xlsx"
    assert len(sheet.rows) == 1


def test_size_rows_and_zip_bomb_limits() -> None:
    small = Limits(max_bytes=2000, max_rows=3, max_unzipped_bytes=200_000)
    with pytest.raises(FileTooLarge, match="terlalu besar"):
        _sheet(b"Judul\r\n" + b"x" * 3000, "a.csv", small)
    four = csv_text([row(title=f"Tugas {i}", lead_unit="PUTR") for i in range(4)]).encode()
    with pytest.raises(FileRefused, match="paling banyak 3"):
        _sheet(four, "a.csv", small)
    # A small zip that unpacks to megabytes of zeros.
    bomb = _zip({"xl/workbook.xml": b"<w/>", "xl/worksheets/sheet1.xml": b"\x00" * 1_500_000})
    assert len(bomb) < 2000 * 10
    with pytest.raises(FileRefused, match="setelah dibuka"):
        _sheet(bomb, "bom.xlsx", Limits(max_bytes=100_000, max_rows=3, max_unzipped_bytes=200_000))


def test_a_csv_cell_beyond_the_parser_limit_is_refused_clearly() -> None:
    data = ('Judul,Uraian\r\nJalan,"' + "x" * 200_000 + '"\r\n').encode()
    with pytest.raises(FileRefused, match="sel terlalu besar"):
        _sheet(data, "a.csv")


@pytest.mark.parametrize(
    ("encoded", "sep"),
    [
        ("utf-8-sig", ","),
        ("utf-8", ","),
        ("cp1252", ";"),
        ("utf-16", "\t"),
    ],
)
def test_csv_encodings_and_separators(
    session: Session, world: factories.World, encoded: str, sep: str
) -> None:
    title = "Perbaikan jalan – Desa Lebung “tahap I” é"
    text = csv_text([row(title=title, lead_unit="Dinas PUTR", weight=3)], sep=sep)
    result = _apply(session, world, text.encode(encoded), "rencana.csv")
    assert [r.action for r in result.rows] == ["create"]
    task = session.exec(select(Task)).one()
    assert task.title == title
    assert task.weight == 3


# --- matching and values ------------------------------------------------------------------


def test_units_programs_and_districts_match_by_code_or_name_with_aliases(
    session: Session, world: factories.World
) -> None:
    salek = factories.make_unit(session, code="16.07.14", name="Air Salek", kind=UnitKind.district)
    rows = [
        row(title="Satu", lead_unit="putr", programs="membangun;  SEHAT ", district="Air Saleh"),
        row(
            title="Dua",
            lead_unit="  dinas   putr ",
            supporting_units="Dinkes",
            district="kec. air salek",
        ),
        row(title="Tiga", lead_unit="Dinas PUTR", programs="Program Sehat", district="16.07.14"),
        row(title="Empat", lead_unit="DINKES", district="KECAMATAN RANTAU BAYUR"),
        # Commas where the template asks for semicolons still read right.
        row(
            title="Lima",
            lead_unit="PUTR",
            supporting_units="Dinkes, Air Salek",
            programs="SEHAT,MEMBANGUN",
        ),
    ]
    result = _apply(session, world, xlsx_bytes(rows), "rencana.xlsx")
    assert result.ok
    by_title = {t.title: t for t in session.exec(select(Task))}
    assert by_title["Satu"].district_id == salek.id
    assert by_title["Dua"].district_id == salek.id
    assert by_title["Tiga"].district_id == salek.id
    assert by_title["Empat"].district_id == world.district.id
    assert by_title["Satu"].lead_unit_id == world.putr.id
    links = task_reads.link_ids(session, task_ids=[by_title["Satu"].pk, by_title["Dua"].pk])
    assert sorted(links[by_title["Satu"].pk][1]) == sorted([world.membangun.pk, world.sehat.pk])
    assert links[by_title["Dua"].pk][0] == [world.dinkes.id]
    five = task_reads.link_ids(session, task_ids=[by_title["Lima"].pk])[by_title["Lima"].pk]
    assert sorted(five[0]) == sorted([world.dinkes.pk, salek.pk])
    assert sorted(five[1]) == sorted([world.membangun.pk, world.sehat.pk])


def test_dates_in_iso_day_first_and_excel_date_cells(
    session: Session, world: factories.World
) -> None:
    day = _day(world, 20)
    rows = [
        row(title="Iso", lead_unit="PUTR", due_date=day.isoformat()),
        row(title="Hari dulu", lead_unit="PUTR", due_date=day.strftime("%d/%m/%Y")),
        row(title="Sel tanggal", lead_unit="PUTR", due_date=datetime(day.year, day.month, day.day)),
    ]
    _apply(session, world, xlsx_bytes(rows), "rencana.xlsx")
    assert {t.due_date for t in session.exec(select(Task))} == {day}
    text = csv_text([row(title="Csv", lead_unit="PUTR", due_date=day.strftime("%d/%m/%Y"))])
    _apply(session, world, text.encode(), "rencana.csv")
    assert session.exec(select(Task).where(Task.title == "Csv")).one().due_date == day


def _issues(
    session: Session, world: factories.World, rows: list[list[Any]], **kw: Any
) -> list[str]:
    data = xlsx_bytes(rows, **kw)
    return [i.text for i in _preview(session, world, data, "rencana.xlsx").issues]


def test_every_validation_message_names_the_row_and_column(
    session: Session, world: factories.World
) -> None:
    cancelled = factories.make_task(
        session, actor=world.team, plan=world.plan, lead=world.putr, title="Batal"
    )
    tasks.cancel_task(
        session,
        actor=world.team,
        task_id=cancelled.pk,
        version=cancelled.version,
        note="Tidak jadi",
    )
    blocked = factories.make_task(
        session,
        actor=world.team,
        plan=world.plan,
        lead=world.putr,
        title="Macet",
        status=TaskStatus.blocked,
    )
    world.dinkes.is_active = False
    session.add(world.dinkes)
    session.commit()
    outside = world.plan.start_date + timedelta(days=200)
    rows = [
        row(title="Jalan A", lead_unit="Dinas PU"),  # 2
        row(title="Jalan B", lead_unit="PUTR", programs="Membangunn"),  # 3
        row(title="Jalan C", lead_unit="PUTR", district="Rantau Bayor"),  # 4
        row(title="Jalan D", lead_unit="PUTR", due_date="31-31-2025"),  # 5
        row(title="Jalan E", lead_unit="PUTR", due_date=outside.isoformat()),  # 6
        row(title="Jalan F", lead_unit="PUTR", weight="tiga"),  # 7
        row(title="Jalan G", lead_unit="PUTR", weight=150),  # 8
        row(title="Jalan H", lead_unit="PUTR", status="Selesi"),  # 9
        row(title="Jalan I", lead_unit="PUTR", status="Terkendala"),  # 10
        row(title="", lead_unit="PUTR", target="1 unit"),  # 11
        row(title="Ab", lead_unit="PUTR"),  # 12
        row(title="J" * 201, lead_unit="PUTR"),  # 13
        row(title="Jalan K"),  # 14
        row(code="T 01!", title="Jalan L", lead_unit="PUTR"),  # 15
        row(code="X-1", title="Jalan M", lead_unit="PUTR"),  # 16
        row(code="x-1", title="Jalan N", lead_unit="PUTR"),  # 17
        row(title="Jalan O", lead_unit="PUTR"),  # 18
        row(title="jalan  o", lead_unit="PUTR"),  # 19
        row(title="=cmd|' /C calc'!A0", lead_unit="PUTR"),  # 20
        row(title="Jalan P", lead_unit="PUTR", description="@SUM(A1:A2)"),  # 21
        row(title="Jalan Q", lead_unit="Dinkes"),  # 22
        row(code=cancelled.code, title="Batal lagi", lead_unit="PUTR"),  # 23
        row(code=blocked.code, title="Macet", lead_unit="PUTR", status="Dibatalkan"),  # 24
        row(title="Jalan R", lead_unit="PUTR", village="V" * 121),  # 25
        row(title="Jalan S", lead_unit="PUTR", status="Menunggu Verifikasi"),  # 26
        row(code=blocked.code, title="Macet", lead_unit="PUTR", status="Menunggu Verifikasi"),
    ]
    issues = _issues(session, world, rows)
    expected = [
        "Baris 2, kolom Perangkat Daerah: 'Dinas PU' tidak dikenal — maksud Anda 'Dinas PUTR'?",
        "Baris 3, kolom Program: 'Membangunn' tidak dikenal — maksud Anda 'Membangun'?",
        "Baris 4, kolom Kecamatan: 'Rantau Bayor' tidak dikenal — maksud Anda 'Rantau Bayur'?",
        "Baris 5, kolom Tenggat: '31-31-2025' bukan tanggal.",
        "Baris 6, kolom Tenggat: ",
        "Baris 7, kolom Bobot: 'tiga' bukan bilangan bulat 1–100.",
        "Baris 8, kolom Bobot: '150' bukan bilangan bulat 1–100.",
        "Baris 9, kolom Status: 'Selesi' bukan status yang dikenal",
        "Baris 10, kolom Status: status Terkendala memerlukan alasan kendala",
        "Baris 11, kolom Judul: wajib diisi",
        "Baris 12, kolom Judul: 'Ab' terlalu pendek",
        "Baris 13, kolom Judul: terlalu panjang (201 karakter; paling banyak 200).",
        "Baris 14, kolom Perangkat Daerah: wajib diisi",
        "Baris 15, kolom Kode: 'T 01!' bukan kode tugas",
        "Baris 17, kolom Kode: kode X-1 sudah dipakai di baris 16.",
        "Baris 19, kolom Judul: judul sama dengan baris 18",
        # openpyxl (like Excel) stores text typed with a leading "=" as a formula.
        "Baris 20, kolom Judul: berisi rumus (=cmd|' /C calc'!A0)",
        "Baris 21, kolom Uraian: diawali '@'",
        "Baris 22, kolom Perangkat Daerah: 'Dinkes' sudah tidak aktif",
        f"Baris 23, kolom Kode: tugas {cancelled.code} sudah dibatalkan",
        "Baris 24, kolom Status: status Dibatalkan memerlukan alasan",
        "Baris 25, kolom Desa/Kelurahan: terlalu panjang (121 karakter; paling banyak 120).",
        # As on the board, Menunggu Verifikasi needs evidence; a new task cannot have any.
        "Baris 26, kolom Status: status Menunggu Verifikasi memerlukan bukti dukung",
        "Baris 27, kolom Status: status Menunggu Verifikasi memerlukan bukti dukung",
    ]
    assert len(issues) == len(expected), issues
    for got, want in zip(issues, expected, strict=True):
        assert got.startswith(want), (got, want)
    assert "di luar masa rencana" in issues[4]
    # Headers: unknown, doubled, missing.
    header_issues = _issues(
        session, world, [["Jalan", "x", "y"]], headers=["Judul", "Judul", "Penanggungjawab"]
    )
    assert header_issues == [
        "Baris 1, kolom Judul: kolom ini muncul dua kali.",
        "Baris 1, kolom Penanggungjawab: judul kolom tidak dikenal",
        "Baris 1, kolom judul kolom: kolom wajib 'Perangkat Daerah' tidak ada.",
    ]


def test_formula_cells_in_a_workbook_are_refused(session: Session, world: factories.World) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(HEADERS)
    sheet.append(row(title="Jalan", lead_unit="PUTR"))
    sheet["J2"] = "=1+1"  # weight as a formula
    sheet.append(row(title='=HYPERLINK("http://x")', lead_unit="PUTR"))
    buffer = io.BytesIO()
    book.save(buffer)
    issues = [i.text for i in _preview(session, world, buffer.getvalue(), "r.xlsx").issues]
    assert issues[0].startswith("Baris 2, kolom Bobot: berisi rumus (=1+1)")
    assert issues[1].startswith("Baris 3, kolom Judul: berisi rumus")


def test_an_apostrophe_marks_formula_like_text_as_plain(
    session: Session, world: factories.World
) -> None:
    text = csv_text([row(title="'=penting", lead_unit="PUTR", target="'-5 km")])
    _apply(session, world, text.encode(), "r.csv")
    task = session.exec(select(Task)).one()
    assert (task.title, task.target) == ("=penting", "-5 km")


# --- dry run, apply, history -------------------------------------------------------------


def _reference_world(session: Session) -> tuple[Any, Any]:
    reference.load_reference(session)
    plan = factories.make_plan(session)
    team = factories.make_user(session, username="tim.transisi", role=Role.team)
    return plan, team


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_a_150_task_plan_imports_and_reimports_as_nothing(session: Session, fmt: str) -> None:
    plan, team = _reference_world(session)
    rows = plan_rows(plan.start_date)
    data = xlsx_bytes(rows) if fmt == "xlsx" else csv_text(rows).encode("utf-8-sig")
    name = f"rencana-100-hari.{fmt}"

    def run(apply: bool) -> ImportPlan:
        service = task_import.apply_import if apply else task_import.plan_import
        return service(
            session, actor=team, plan_id=plan.id, sheet=_sheet(data, name), filename=name
        )

    preview = run(apply=False)
    assert preview.issues == []
    assert len(preview.created) == 150
    assert _count(session, Task) == 0
    result = run(apply=True)
    assert len(result.created) == 150
    assert _count(session, Task) == 150
    codes = sorted(t.code for t in session.exec(select(Task)))
    assert codes == [f"T-{n:03d}" for n in range(1, 151)]
    events = session.exec(select(TaskEvent)).all()
    assert len(events) == 150
    assert all(
        e.kind == EventKind.imported and e.note == f"Diimpor dari berkas {name}" for e in events
    )
    assert all(e.to_status == TaskStatus.todo and e.from_status is None for e in events)
    # The cards keep the file's order in Belum Dimulai.
    column = session.exec(select(Task).order_by(col(Task.position), col(Task.id))).all()
    places = ranks(session, column)  # as readers see positions: 1..n
    assert [places[t.id] for t in column if t.id is not None] == list(range(1, 151))
    assert column[0].title == rows[0][1]
    # Idempotent: the same file again changes nothing, not even a version.
    again = run(apply=True)
    assert len(again.unchanged) == 150
    assert not again.created
    assert not again.updated
    assert _count(session, TaskEvent) == 150
    assert {t.version for t in session.exec(select(Task))} == {1}
    # The burndown counts the imported tasks in the scope.
    series = burndown.burndown_series(session, plan=plan, filters=TaskFilter())
    today = [p for p in series.points if p.scope is not None][-1]
    assert (today.scope, today.remaining, today.added) == (150, 150, 150)


def test_one_bad_row_imports_nothing(session: Session, world: factories.World) -> None:
    rows = [row(title=f"Jalan {i}", lead_unit="PUTR") for i in range(5)]
    rows.insert(3, row(title="Jalan rusak", lead_unit="Dinas Entah"))
    with pytest.raises(ImportHasIssues) as refused:
        _apply(session, world, xlsx_bytes(rows), "rencana.xlsx")
    assert "1 masalah" in refused.value.message
    assert [i.row for i in refused.value.plan.issues] == [5]
    assert _count(session, Task) == 0
    assert _count(session, TaskEvent) == 0


def test_a_failure_while_writing_rolls_everything_back(
    session: Session, world: factories.World, request: pytest.FixtureRequest
) -> None:
    """An event listener failing on the third event (as a notification might) undoes the
    whole import: the hook runs inside the writer's transaction."""
    existing = factories.make_task(
        session, actor=world.team, plan=world.plan, lead=world.putr, title="Lama"
    )
    calls = {"n": 0}

    def failing(session: Session, *, event: TaskEvent, task: Task) -> None:
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("disk penuh")

    history.listen(failing)
    request.addfinalizer(lambda: history.unlisten(failing))
    rows = [row(code=existing.code, title="Lama diubah", lead_unit="PUTR")]
    rows += [row(title=f"Baru {i}", lead_unit="PUTR") for i in range(3)]
    with pytest.raises(RuntimeError):
        _apply(session, world, xlsx_bytes(rows), "r.xlsx")
    session.expire_all()
    assert _count(session, Task) == 1
    assert session.get_one(Task, existing.pk).title == "Lama"
    assert _count(session, TaskEvent) == 1


def test_updates_by_code_or_title_and_status_changes(
    session: Session, world: factories.World
) -> None:
    a = factories.make_task(
        session, actor=world.team, plan=world.plan, lead=world.putr, title="Jalan desa", weight=2
    )
    b = factories.make_task(
        session,
        actor=world.team,
        plan=world.plan,
        lead=world.putr,
        title="Jembatan",
        status=TaskStatus.blocked,
    )
    rows = [
        # By code: new weight and supporting unit, and done.
        row(
            code=a.code.lower(),
            title="Jalan desa",
            lead_unit="PUTR",
            supporting_units="DINKES",
            weight=4,
            status="Selesai",
        ),
        # No code, same title (case and spacing aside): out of Terkendala.
        row(title="  JEMBATAN ", lead_unit="PUTR", status="Sedang Berjalan"),
        # A new code is kept for the new task.
        row(code="RB-01", title="Pasar murah", lead_unit="Dinkes"),
    ]
    a_version = a.version
    result = _apply(session, world, xlsx_bytes(rows), "perubahan.xlsx")
    assert [r.action for r in result.rows] == ["update", "update", "create"]
    session.expire_all()
    a2, b2 = session.get(Task, a.id), session.get(Task, b.id)
    assert a2 is not None
    assert b2 is not None
    assert (a2.weight, a2.status, a2.progress_pct) == (4, TaskStatus.done, 100)
    assert a2.done_at is not None
    assert a2.version == a_version + 2
    assert b2.status == TaskStatus.in_progress
    assert b2.blocked_reason == ""
    assert b2.title == "JEMBATAN"  # matched regardless of case; the file's spelling is kept
    created = session.exec(select(Task).where(Task.code == "RB-01")).one()
    assert created.lead_unit_id == world.dinkes.id
    a_events = session.exec(
        select(TaskEvent).where(TaskEvent.task_id == a.id, TaskEvent.kind == EventKind.imported)
    ).all()
    assert [e.changes for e in a_events] == [
        {"supporting_unit_ids": [[], [world.dinkes.id]], "weight": [2, 4]},
        {"status": ["todo", "done"], "progress_pct": [0, 100]},
    ]
    assert a_events[1].from_status == TaskStatus.todo
    assert a_events[1].to_status == TaskStatus.done
    # The next T-code skips nothing it should not; RB-01 does not disturb the sequence.
    assert tasks.next_task_code(session, plan=world.plan) == "T-003"


def test_missing_columns_leave_fields_alone_and_empty_cells_clear(
    session: Session, world: factories.World
) -> None:
    task = factories.make_task(
        session,
        actor=world.team,
        plan=world.plan,
        lead=world.putr,
        title="Jalan",
        target="3 km",
        village="Lebung",
    )
    only = xlsx_bytes(
        [[task.code, "Jalan", "PUTR", ""]], headers=["Kode", "Judul", "Perangkat Daerah", "Target"]
    )
    result = _apply(session, world, only, "r.xlsx")
    assert result.updated[0].changes == {"target": ["3 km", ""]}
    session.expire_all()
    assert session.get_one(Task, task.pk).village == "Lebung"


def test_only_the_team_may_import(session: Session, world: factories.World) -> None:
    data = xlsx_bytes([row(title="Jalan", lead_unit="PUTR")])
    for user in (world.putr_head, world.executive):
        with pytest.raises(Forbidden):
            task_import.plan_import(
                session,
                actor=user,
                plan_id=world.plan.pk,
                sheet=_sheet(data),
                filename="r.xlsx",
            )
        with pytest.raises(Forbidden):
            task_import.apply_import(
                session,
                actor=user,
                plan_id=world.plan.pk,
                sheet=_sheet(data),
                filename="r.xlsx",
            )
    assert _count(session, Task) == 0


def test_history_describes_an_import(session: Session, world: factories.World) -> None:
    from app.services import task_detail

    _apply(session, world, xlsx_bytes([row(title="Jalan desa", lead_unit="PUTR")]), "rencana.xlsx")
    task = session.exec(select(Task)).one()
    detail = task_detail.task_detail(session, task_id=task.pk, user=world.team)
    entry = detail.history[-1]
    assert entry.sentence == "membuat tugas ini dari impor lembar kerja"
    assert entry.note == "Diimpor dari berkas rencana.xlsx"


def test_an_entity_expansion_bomb_inside_a_workbook_is_refused() -> None:
    source = zipfile.ZipFile(io.BytesIO(xlsx_bytes([row(title="Jalan", lead_unit="PUTR")])))
    lol = "".join(f'<!ENTITY l{i} "{("&l" + str(i - 1) + ";") * 10}">' for i in range(1, 10))
    bomb = (
        f'<?xml version="1.0"?><!DOCTYPE w [<!ENTITY l0 "lol">{lol}]>'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        '<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&l9;</t></is></c></row>'
        "</sheetData></worksheet>"
    ).encode()
    members = {
        name: (bomb if name == "xl/worksheets/sheet1.xml" else source.read(name))
        for name in source.namelist()
    }
    with pytest.raises(FileRefused, match="rusak"):
        _sheet(_zip(members), "bom.xlsx")


def test_the_demo_plan_exported_and_imported_again_changes_nothing(session: Session) -> None:
    from app.services import demo, plans

    demo.load_demo(session, start_date=None)
    plan = plans.current_plan(session)
    team = session.exec(select(User).where(User.role == Role.team)).first()
    assert team is not None
    events = _count(session, TaskEvent)
    table = task_export.task_table(session, plan=plan, with_history=True)
    assert len(table.rows) == _count(session, Task)
    for name, data in (
        ("demo.xlsx", task_export.table_xlsx(session, table)),
        ("demo.csv", task_export.table_csv(table)),
    ):
        result = task_import.apply_import(
            session, actor=team, plan_id=plan.pk, sheet=_sheet(data, name), filename=name
        )
        assert result.issues == []
        assert len(result.unchanged) == len(table.rows)
    assert _count(session, TaskEvent) == events


def test_weight_changes_by_import_move_the_weighted_burndown(
    session: Session, world: factories.World
) -> None:
    first = xlsx_bytes([row(code="A-1", title="Jalan", lead_unit="PUTR", weight=2)])
    _apply(session, world, first, "a.xlsx")
    # The plan was imported three days ago …
    created = session.exec(select(TaskEvent)).one()
    created.at = created.at - timedelta(days=3)
    session.add(created)
    session.commit()
    # … and today a new version of the file raises the weight and marks the task done.
    second = xlsx_bytes(
        [row(code="A-1", title="Jalan", lead_unit="PUTR", weight=5, status="Selesai")]
    )
    _apply(session, world, second, "b.xlsx")
    series = burndown.burndown_series(
        session, plan=world.plan, filters=TaskFilter(), measure="weight"
    )
    actual = [p for p in series.points if p.scope is not None]
    assert (actual[-4].scope, actual[-4].remaining) == (2, 2)
    assert (actual[-1].scope, actual[-1].remaining) == (5, 0)
    assert actual[-1].added == 3


def test_a_new_code_in_the_file_is_never_handed_out_to_a_code_less_row(
    session: Session, world: factories.World
) -> None:
    rows = [
        row(title="Tanpa kode", lead_unit="PUTR"),
        row(code="T-001", title="Kode sendiri", lead_unit="PUTR"),
        row(title="Tanpa kode lagi", lead_unit="PUTR"),
    ]
    result = _apply(session, world, xlsx_bytes(rows), "r.xlsx")
    assert [(r.code, r.title) for r in result.rows] == [
        ("T-002", "Tanpa kode"),
        ("T-001", "Kode sendiri"),
        ("T-003", "Tanpa kode lagi"),
    ]
    column = session.exec(select(Task).order_by(col(Task.position))).all()
    assert [t.title for t in column] == ["Tanpa kode", "Kode sendiri", "Tanpa kode lagi"]


def test_a_task_with_evidence_may_be_sent_for_verification_by_import(
    session: Session, world: factories.World
) -> None:
    task = factories.make_task(
        session,
        actor=world.team,
        plan=world.plan,
        lead=world.putr,
        title="Jalan desa",
        status=TaskStatus.in_progress,
    )
    rows = [row(code=task.code, title="Jalan desa", lead_unit="PUTR", status="Menunggu Verifikasi")]
    assert [i.message for i in _preview(session, world, xlsx_bytes(rows), "r.xlsx").issues] == [
        task_import.REVIEW_NEEDS_EVIDENCE
    ]
    evidence.add_link(
        session,
        actor=world.team,
        task_id=task.pk,
        url="https://banyuasin.example/foto-jalan",
        caption="Foto jalan selesai",
    )
    _apply(session, world, xlsx_bytes(rows), "r.xlsx")
    session.refresh(task)
    assert task.status == TaskStatus.review
