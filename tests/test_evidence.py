"""Evidence (bukti dukung): attaching files and links, content checks, storage, serving,
removal, and the rule that Menunggu Verifikasi needs evidence or a note."""

import hashlib
import io
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from app.config import Settings
from app.errors import Forbidden, RuleViolation
from app.main import create_app
from app.models import EventKind, Evidence, Task, TaskEvent, TaskMove, TaskStatus, User
from app.services import evidence as evidence_service
from app.services import task_reads, tasks
from app.services.evidence_files import DOCX, JPEG, PNG, EvidenceStore, safe_filename
from tests.factories import World, login, make_task

PNG_BYTES = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(200))
JPEG_BYTES = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(300)
WEBP_BYTES = b"RIFF\x24\x00\x00\x00WEBPVP8 " + bytes(40)
PDF_BYTES = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"
HTML_BYTES = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"
OLE_BYTES = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600)


def office_zip(main_member: str, main_type: str, *, content_types: bool = True) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        if content_types:
            archive.writestr(
                "[Content_Types].xml",
                '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/'
                f'2006/content-types"><Override PartName="/{main_member}" '
                f'ContentType="{main_type}"/></Types>',
            )
        archive.writestr(main_member, "<document/>")
    return buffer.getvalue()


OOXML = "application/vnd.openxmlformats-officedocument"
DOCX_BYTES = office_zip("word/document.xml", f"{OOXML}.wordprocessingml.document.main+xml")
XLSX_BYTES = office_zip("xl/workbook.xml", f"{OOXML}.spreadsheetml.sheet.main+xml")
PPTX_BYTES = office_zip("ppt/presentation.xml", f"{OOXML}.presentationml.presentation.main+xml")
DOCM_BYTES = office_zip(
    "word/document.xml", "application/vnd.ms-word.document.macroEnabled.main+xml"
)
BARE_ZIP_BYTES = office_zip(
    "xl/workbook.xml", f"{OOXML}.spreadsheetml.sheet.main+xml", content_types=False
)


@pytest.fixture
def task(session: Session, world: World) -> Task:
    return make_task(
        session, actor=world.team, plan=world.plan, lead=world.putr, status=TaskStatus.in_progress
    )


def attach(
    client: TestClient,
    csrf: str,
    task_id: int,
    *,
    content: bytes | None = PNG_BYTES,
    name: str = "foto.png",
    caption: str = "Foto lokasi setelah pekerjaan",
    url: str = "",
    htmx: bool = False,
) -> httpx.Response:
    files = {"file": (name, content, "image/jpeg")} if content is not None else None
    response: httpx.Response = client.post(
        f"/tasks/{task_id}/evidence",
        data={"csrf_token": csrf, "caption": caption, "url": url},
        files=files,
        headers={"HX-Request": "true"} if htmx else {},
        follow_redirects=False,
    )
    return response


def rows_of(session: Session, task_id: int) -> list[Evidence]:
    session.rollback()  # end the test's read transaction: see what the app committed
    session.expire_all()
    return list(
        session.exec(
            select(Evidence).where(Evidence.task_id == task_id).order_by(col(Evidence.id))
        ).all()
    )


def stored_files(settings: Settings) -> list[Path]:
    root = settings.evidence_dir
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def events_of(session: Session, task_id: int) -> list[TaskEvent]:
    session.rollback()
    session.expire_all()
    return list(
        session.exec(
            select(TaskEvent).where(TaskEvent.task_id == task_id).order_by(col(TaskEvent.id))
        ).all()
    )


def stored_task(session: Session, task: Task) -> Task:
    session.rollback()
    session.expire_all()
    return task_reads.get_task(session, task_id=task.pk)


def field_errors(html: str) -> list[str]:
    return re.findall(r'class="field-error"[^>]*>([^<]*)<', html)


def add_link(session: Session, actor: User, task: Task, caption: str = "Album foto") -> Evidence:
    return evidence_service.add_link(
        session,
        actor=actor,
        task_id=task.pk,
        url="https://arsip.banyuasin.example/album/1",
        caption=caption,
    )


# --- who may attach ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "allowed"),
    [("team", True), ("own_unit", True), ("other_unit", False), ("executive", False)],
)
def test_upload_permission_matrix(
    client: TestClient,
    session: Session,
    world: World,
    task: Task,
    settings: Settings,
    who: str,
    allowed: bool,
) -> None:
    user = {
        "team": world.team,
        "own_unit": world.putr_head,
        "other_unit": world.dinkes_head,
        "executive": world.executive,
    }[who]
    csrf = login(client, user)
    version = task.version

    response = attach(client, csrf, task.pk)

    if allowed:
        assert response.status_code == 303, response.text
        assert response.headers["location"] == f"/tasks/{task.pk}?ok=evidence-added#result"
        [row] = rows_of(session, task.pk)
        assert (row.uploaded_by, row.content_type) == (user.id, "image/png")
        assert len(stored_files(settings)) == 1
        assert stored_task(session, task).version == version + 1
    else:
        assert response.status_code == 403
        assert (
            "hanya penanggung jawabnya" in response.text or "hanya dapat melihat" in response.text
        )
        assert rows_of(session, task.pk) == []
        assert stored_files(settings) == []
        assert stored_task(session, task).version == version


def test_anonymous_upload_goes_to_login_and_stores_nothing(
    client: TestClient, session: Session, task: Task, settings: Settings
) -> None:
    response = attach(client, "", task.pk)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")
    assert rows_of(session, task.pk) == []
    assert stored_files(settings) == []


def test_the_attach_form_shows_only_to_who_may_attach(
    client: TestClient, world: World, task: Task
) -> None:
    for user, shown in (
        (world.team, True),
        (world.putr_head, True),
        (world.dinkes_head, False),
        (world.executive, False),
    ):
        login(client, user)
        page = client.get(f"/tasks/{task.pk}").text
        assert ('action="/tasks/' + str(task.pk) + '/evidence"' in page) is shown
        assert 'id="evidence-h"' in page  # everyone sees the list


def test_service_refuses_links_from_other_units_and_executives(
    session: Session, world: World, task: Task
) -> None:
    for user in (world.dinkes_head, world.executive):
        with pytest.raises(Forbidden):
            add_link(session, user, task)
    assert rows_of(session, task.pk) == []


def test_a_unit_cannot_attach_to_a_done_task_but_the_team_can(
    session: Session, world: World
) -> None:
    done = make_task(
        session, actor=world.team, plan=world.plan, lead=world.putr, status=TaskStatus.done
    )
    with pytest.raises(Forbidden):
        add_link(session, world.putr_head, done)
    add_link(session, world.team, done)
    cancelled = tasks.cancel_task(
        session, actor=world.team, task_id=done.pk, version=done.version, note="Ganda"
    )
    with pytest.raises(Forbidden):
        add_link(session, world.team, cancelled)
    assert len(rows_of(session, done.pk)) == 1


# --- what is accepted: by content, never by name -----------------------------------------


@pytest.mark.parametrize(
    ("content", "name", "content_type", "filename"),
    [
        (PNG_BYTES, "foto.png", "image/png", "foto.png"),
        (JPEG_BYTES, "IMG_2025.JPG", "image/jpeg", "IMG_2025.jpg"),
        (WEBP_BYTES, "foto.webp", "image/webp", "foto.webp"),
        (PDF_BYTES, "berita acara.pdf", "application/pdf", "berita acara.pdf"),
        (DOCX_BYTES, "laporan.docx", DOCX.content_type, "laporan.docx"),
        (XLSX_BYTES, "rekap.xlsx", f"{OOXML}.spreadsheetml.sheet", "rekap.xlsx"),
        (PPTX_BYTES, "paparan.pptx", f"{OOXML}.presentationml.presentation", "paparan.pptx"),
        # A real PNG with a wrong name is kept, under the type it really is.
        (PNG_BYTES, "foto.jpg", "image/png", "foto.png"),
        (PDF_BYTES, "surat", "application/pdf", "surat.pdf"),
    ],
)
def test_accepted_files_are_typed_by_content(
    client: TestClient,
    session: Session,
    world: World,
    task: Task,
    content: bytes,
    name: str,
    content_type: str,
    filename: str,
) -> None:
    csrf = login(client, world.putr_head)
    response = attach(client, csrf, task.pk, content=content, name=name)
    assert response.status_code == 303, field_errors(response.text)
    [row] = rows_of(session, task.pk)
    assert (row.content_type, row.filename, row.size_bytes) == (
        content_type,
        filename,
        len(content),
    )
    assert row.sha256 == hashlib.sha256(content).hexdigest()


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (HTML_BYTES, "foto.jpg", "bernama seperti gambar JPEG, tetapi isinya bukan gambar JPEG"),
        (b"Laporan kegiatan\nsemua lancar\n", "laporan.pdf", "isinya bukan dokumen PDF"),
        (DOCM_BYTES, "laporan.docx", "isinya bukan dokumen Word (.docx)"),
        (BARE_ZIP_BYTES, "rekap.xlsx", "isinya bukan lembar kerja Excel (.xlsx)"),
        (OLE_BYTES, "laporan.doc", "berformat Office lama"),
        (b"MZ\x90\x00" + bytes(100), "setup.exe", "tidak diterima"),
        (b"", "kosong.png", "kosong"),
    ],
)
def test_spoofed_and_unsupported_files_are_refused(
    client: TestClient,
    session: Session,
    world: World,
    task: Task,
    settings: Settings,
    content: bytes,
    name: str,
    message: str,
) -> None:
    csrf = login(client, world.putr_head)
    version = task.version
    response = attach(client, csrf, task.pk, content=content, name=name)
    assert response.status_code == 422
    [error] = field_errors(response.text)
    assert message in error
    assert name in error
    # The form is shown again with the caption kept.
    assert 'value="Foto lokasi setelah pekerjaan"' in response.text
    assert rows_of(session, task.pk) == []
    assert stored_files(settings) == []  # the temporary copy is gone too
    assert stored_task(session, task).version == version


def test_file_names_are_sanitised() -> None:
    assert safe_filename("../../etc/pass wd;\x00.png", PNG) == "pass wd.png"
    assert safe_filename("a;b\r\nSet-Cookie: x.png", PNG) == "a_bSet-Cookie_ x.png"
    assert safe_filename("C:\\Users\\kadis\\Foto Jembatan.JPEG", JPEG) == "Foto Jembatan.jpeg"
    assert safe_filename('"><script>.docx', DOCX) == "script.docx"
    assert safe_filename("...", PNG) == "bukti-dukung.png"
    long = safe_filename("a" * 500 + ".png", PNG)
    assert len(long) == 120
    assert long.endswith(".png")


# --- size --------------------------------------------------------------------------------


@pytest.fixture
def small_client(
    engine: Engine, db_url: str, tmp_path: Path
) -> Iterator[tuple[TestClient, Settings]]:
    """The app with a 1 MB evidence limit."""
    settings = Settings(
        database_url=db_url, require_migrated=False, evidence_max_mb=1, data_dir=tmp_path / "d"
    )
    with TestClient(create_app(settings, engine)) as client:
        yield client, settings


def test_a_file_just_over_the_limit_is_refused_next_to_the_field(
    small_client: tuple[TestClient, Settings], session: Session, world: World, task: Task
) -> None:
    client, settings = small_client
    csrf = login(client, world.putr_head)
    limit = 1024 * 1024
    at_limit = PNG_BYTES + bytes(limit - len(PNG_BYTES))
    over = at_limit + b"\x00"

    refused = attach(client, csrf, task.pk, content=over)
    assert refused.status_code == 422
    assert field_errors(refused.text) == ["Berkas «foto.png» melebihi batas ukuran 1 MB."]
    assert stored_files(settings) == []

    accepted = attach(client, csrf, task.pk, content=at_limit)
    assert accepted.status_code == 303
    [row] = rows_of(session, task.pk)
    assert row.size_bytes == limit


def test_a_far_larger_upload_is_cut_off_while_it_is_received(
    small_client: tuple[TestClient, Settings], session: Session, world: World, task: Task
) -> None:
    client, settings = small_client
    csrf = login(client, world.putr_head)
    huge = PNG_BYTES + bytes(3 * 1024 * 1024)

    page = attach(client, csrf, task.pk, content=huge)
    assert page.status_code == 413
    assert "Berkas melebihi batas ukuran 1 MB." in page.text
    htmx = attach(client, csrf, task.pk, content=huge, htmx=True)
    assert htmx.status_code == 413
    assert "Berkas melebihi batas ukuran 1 MB." in htmx.text
    assert rows_of(session, task.pk) == []
    assert stored_files(settings) == []


def test_the_store_reads_no_more_than_the_limit_plus_one_chunk(tmp_path: Path) -> None:
    class Endless(io.RawIOBase):
        reads = 0

        def readable(self) -> bool:
            return True

        def read(self, size: int = -1) -> bytes:
            self.reads += 1
            return PNG_BYTES[:8] + bytes(max(size, 1) - 8)

    source = Endless()
    with pytest.raises(RuleViolation, match="melebihi batas"):
        EvidenceStore(tmp_path).save(source, original_name="x.png", max_bytes=256 * 1024)  # type: ignore[arg-type]  # a fake stream
    assert source.reads <= 256 // 64 + 1
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


# --- storage -----------------------------------------------------------------------------


def test_identical_files_are_stored_once_under_their_hash(
    client: TestClient, session: Session, world: World, task: Task, settings: Settings
) -> None:
    other = make_task(
        session, actor=world.team, plan=world.plan, lead=world.putr, title="Rehab puskesmas"
    )
    csrf = login(client, world.putr_head)
    assert attach(client, csrf, task.pk, name="a.png").status_code == 303
    assert attach(client, csrf, other.pk, name="b.png", caption="Sama").status_code == 303
    assert attach(client, csrf, task.pk, content=JPEG_BYTES, name="c.jpg").status_code == 303

    digest = hashlib.sha256(PNG_BYTES).hexdigest()
    files = stored_files(settings)
    assert len(files) == 2
    path = settings.evidence_dir / digest[:2] / digest[2:4] / digest
    assert path in files
    assert path.read_bytes() == PNG_BYTES
    # Outside the web root: under the data directory (the test's own here).
    assert settings.data_dir is not None
    assert settings.evidence_dir == settings.data_dir / "evidence"
    assert next(r.sha256 for r in rows_of(session, task.pk)) == digest
    assert rows_of(session, other.pk)[0].sha256 == digest


def test_the_data_dir_setting_moves_the_store(tmp_path: Path) -> None:
    assert Settings(database_url="sqlite:////srv/x/seratus.db").evidence_dir == Path(
        "/srv/x/evidence"
    )
    assert Settings(data_dir=tmp_path).evidence_dir == tmp_path / "evidence"


# --- serving -----------------------------------------------------------------------------


def test_images_are_served_inline_with_safe_headers(
    client: TestClient, session: Session, world: World, task: Task
) -> None:
    csrf = login(client, world.putr_head)
    attach(client, csrf, task.pk)
    [row] = rows_of(session, task.pk)

    login(client, world.executive)  # every logged-in role may read
    response = client.get(f"/tasks/{task.pk}/evidence/{row.pk}")

    assert response.status_code == 200
    assert response.content == PNG_BYTES
    assert response.headers["content-type"] == "image/png"
    assert response.headers["content-disposition"] == 'inline; filename="foto.png"'
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-security-policy"].startswith("sandbox")


@pytest.mark.parametrize(
    ("content", "name", "content_type"),
    [
        (PDF_BYTES, "berita acara.pdf", "application/pdf"),
        (DOCX_BYTES, "laporan.docx", DOCX.content_type),
    ],
)
def test_documents_are_downloads(
    client: TestClient,
    session: Session,
    world: World,
    task: Task,
    content: bytes,
    name: str,
    content_type: str,
) -> None:
    csrf = login(client, world.putr_head)
    attach(client, csrf, task.pk, content=content, name=name)
    [row] = rows_of(session, task.pk)
    response = client.get(f"/tasks/{task.pk}/evidence/{row.pk}")
    assert response.status_code == 200
    assert response.headers["content-type"] == content_type
    assert response.headers["content-disposition"].startswith("attachment;")
    assert (
        name.replace(" ", "%20") in response.headers["content-disposition"]
        or name in response.headers["content-disposition"]
    )
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-security-policy"].startswith("sandbox")


def test_downloads_require_login(
    client: TestClient, session: Session, world: World, task: Task
) -> None:
    csrf = login(client, world.putr_head)
    attach(client, csrf, task.pk)
    [row] = rows_of(session, task.pk)
    client.cookies.clear()

    response = client.get(f"/tasks/{task.pk}/evidence/{row.pk}", follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=")
    assert PNG_BYTES not in response.content


def test_evidence_is_only_served_under_its_own_task(
    client: TestClient, session: Session, world: World, task: Task
) -> None:
    other = make_task(session, actor=world.team, plan=world.plan, lead=world.dinkes)
    link = add_link(session, world.putr_head, task)
    csrf = login(client, world.putr_head)
    attach(client, csrf, task.pk)
    file_row = rows_of(session, task.pk)[-1]
    assert client.get(f"/tasks/{other.pk}/evidence/{file_row.pk}").status_code == 404
    assert client.get(f"/tasks/{task.pk}/evidence/{link.pk}").status_code == 404
    assert client.get(f"/tasks/{task.pk}/evidence/999999").status_code == 404


def test_the_task_page_shows_thumbnails_links_and_documents(
    client: TestClient, session: Session, world: World, task: Task
) -> None:
    csrf = login(client, world.putr_head)
    attach(client, csrf, task.pk, caption="Foto <b>jembatan</b>")
    attach(client, csrf, task.pk, content=PDF_BYTES, name="ba.pdf", caption="Berita acara")
    attach(
        client,
        csrf,
        task.pk,
        content=None,
        url="https://arsip.banyuasin.example/a?b=1&c=2",
        caption="Album",
    )
    image, pdf, _link = rows_of(session, task.pk)

    page = client.get(f"/tasks/{task.pk}").text
    section = page[page.index('id="form-evidence"') : page.index('id="history-h"')]

    assert f'<img src="/tasks/{task.pk}/evidence/{image.pk}/thumb"' in section
    assert 'loading="lazy"' in section
    assert "Foto &lt;b&gt;jembatan&lt;/b&gt;" in section
    assert f'href="/tasks/{task.pk}/evidence/{pdf.pk}" download' in section
    assert (
        'href="https://arsip.banyuasin.example/a?b=1&amp;c=2" rel="noopener noreferrer nofollow"'
        in section
    )
    history = page[page.index('id="history-h"') :]
    assert "melampirkan bukti dukung (berkas) «foto.png»" in history
    assert (
        "melampirkan bukti dukung (tautan) «https://arsip.banyuasin.example/a?b=1&amp;c=2»"
        in history
    )


# --- links and captions ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "caption", "field", "message"),
    [
        ("javascript:alert(1)", "Album", "url", "diawali http:// atau https://"),
        ("ftp://arsip.example/a", "Album", "url", "diawali http:// atau https://"),
        ("https://banyuasinkab.go.id@evil.example/", "Album", "url", "diawali http"),
        ("https://", "Album", "url", "diawali http"),
        ("https://a.example/" + "x" * 2000, "Album", "url", "paling panjang 2000"),
        ("https://a.example/", "   ", "caption", "Keterangan bukti dukung wajib diisi"),
        ("https://a.example/", "x" * 201, "caption", "paling panjang 200 karakter"),
    ],
)
def test_bad_links_and_captions_are_refused(
    client: TestClient,
    session: Session,
    world: World,
    task: Task,
    url: str,
    caption: str,
    field: str,
    message: str,
) -> None:
    csrf = login(client, world.putr_head)
    response = attach(client, csrf, task.pk, content=None, url=url, caption=caption)
    assert response.status_code == 422
    assert f'id="evidence-{field}-error"' in response.text
    assert any(message in e for e in field_errors(response.text))
    assert rows_of(session, task.pk) == []


def test_neither_file_nor_link_nor_both(
    client: TestClient, session: Session, world: World, task: Task
) -> None:
    csrf = login(client, world.putr_head)
    nothing = attach(client, csrf, task.pk, content=None)
    assert nothing.status_code == 422
    assert field_errors(nothing.text) == ["Pilih berkas untuk diunggah, atau isi tautan."]
    both = attach(client, csrf, task.pk, url="https://a.example/")
    assert both.status_code == 422
    assert field_errors(both.text) == ["Pilih salah satu: unggah berkas atau isi tautan."]
    assert rows_of(session, task.pk) == []


# --- events and removal ------------------------------------------------------------------


def test_attaching_and_removing_write_task_events(
    session: Session, world: World, task: Task
) -> None:
    version = task.version
    added = add_link(session, world.putr_head, task)
    removed = evidence_service.remove_evidence(
        session, actor=world.putr_head, task_id=task.pk, evidence_id=added.pk
    )
    *_, attach_event, remove_event = events_of(session, task.pk)
    key = f"evidence_{added.pk}"
    item = {
        "id": added.pk,
        "kind": "link",
        "caption": "Album foto",
        "filename": "",
        "url": "https://arsip.banyuasin.example/album/1",
    }
    assert (attach_event.kind, attach_event.actor_id) == (EventKind.evidence, world.putr_head.id)
    assert attach_event.changes == {key: [None, item]}
    assert attach_event.note == "Album foto"
    assert (remove_event.kind, remove_event.changes) == (EventKind.evidence, {key: [item, None]})
    assert stored_task(session, task).version == version + 2
    assert removed.removed_by == world.putr_head.id
    assert removed.removed_at is not None


def test_removal_is_a_soft_delete_that_keeps_the_history(
    client: TestClient, session: Session, world: World, task: Task, settings: Settings
) -> None:
    csrf = login(client, world.putr_head)
    attach(client, csrf, task.pk)
    [row] = rows_of(session, task.pk)

    response = client.post(
        f"/tasks/{task.pk}/evidence/{row.pk}/remove",
        data={"csrf_token": csrf},
        follow_redirects=False,
    )

    assert response.status_code == 303
    assert response.headers["location"] == f"/tasks/{task.pk}?ok=evidence-removed#result"
    [kept] = rows_of(session, task.pk)
    assert kept.removed_at is not None
    assert kept.removed_by == world.putr_head.id
    assert len(stored_files(settings)) == 1  # the file stays for the record
    page = client.get(f"/tasks/{task.pk}").text
    assert f'id="evidence-{row.pk}"' not in page
    assert "Belum ada bukti dukung." in page
    assert "menghapus bukti dukung (berkas) «foto.png»" in page
    assert "melampirkan bukti dukung (berkas) «foto.png»" in page
    assert client.get(f"/tasks/{task.pk}/evidence/{row.pk}").status_code == 404
    again = client.post(
        f"/tasks/{task.pk}/evidence/{row.pk}/remove",
        data={"csrf_token": csrf},
        follow_redirects=False,
    )
    assert again.status_code == 422
    assert "sudah dihapus" in again.text


def test_who_may_remove(session: Session, world: World, task: Task) -> None:
    by_unit = add_link(session, world.putr_head, task, caption="Dari dinas")
    by_team = add_link(session, world.team, task, caption="Dari tim")
    for user in (world.dinkes_head, world.executive):
        with pytest.raises(Forbidden):
            evidence_service.remove_evidence(
                session, actor=user, task_id=task.pk, evidence_id=by_unit.pk
            )
    # The team's upload belongs to no unit: only the team removes it.
    with pytest.raises(Forbidden, match="diunggah oleh unit lain"):
        evidence_service.remove_evidence(
            session, actor=world.putr_head, task_id=task.pk, evidence_id=by_team.pk
        )
    evidence_service.remove_evidence(
        session, actor=world.team, task_id=task.pk, evidence_id=by_unit.pk
    )
    evidence_service.remove_evidence(
        session, actor=world.team, task_id=task.pk, evidence_id=by_team.pk
    )
    assert all(r.removed_by == world.team.id for r in rows_of(session, task.pk))


def test_verified_evidence_stays_as_the_team_saw_it(
    session: Session, world: World, task: Task
) -> None:
    link = add_link(session, world.putr_head, task)
    current = stored_task(session, task)
    current = tasks.move_task(
        session,
        actor=world.putr_head,
        task_id=task.pk,
        move=TaskMove(version=current.version, status=TaskStatus.review),
    )
    tasks.verify_task(session, actor=world.team, task_id=task.pk, version=current.version)
    with pytest.raises(Forbidden):
        evidence_service.remove_evidence(
            session, actor=world.putr_head, task_id=task.pk, evidence_id=link.pk
        )


def test_the_remove_button_shows_only_to_who_may_remove(
    client: TestClient, session: Session, world: World, task: Task
) -> None:
    link = add_link(session, world.putr_head, task)
    remove = f'action="/tasks/{task.pk}/evidence/{link.pk}/remove"'
    for user, shown in (
        (world.putr_head, True),
        (world.team, True),
        (world.dinkes_head, False),
        (world.executive, False),
    ):
        login(client, user)
        assert (remove in client.get(f"/tasks/{task.pk}").text) is shown


# --- CSRF --------------------------------------------------------------------------------


def test_evidence_forms_need_the_csrf_token(
    client: TestClient, session: Session, world: World, task: Task, settings: Settings
) -> None:
    link = add_link(session, world.putr_head, task)
    csrf = login(client, world.putr_head)

    upload = attach(client, "wrong-token", task.pk)
    remove = client.post(
        f"/tasks/{task.pk}/evidence/{link.pk}/remove",
        data={"csrf_token": "wrong-token"},
        follow_redirects=False,
    )

    assert upload.status_code == 403
    assert remove.status_code == 403
    assert "token keamanan tidak cocok" in upload.text
    [row] = rows_of(session, task.pk)
    assert row.removed_at is None
    assert stored_files(settings) == []
    assert attach(client, csrf, task.pk).status_code == 303


# --- Menunggu Verifikasi needs evidence or a note ----------------------------------------


def to_review(session: Session, user: User, task: Task, note: str = "") -> Task:
    current = stored_task(session, task)
    return tasks.move_task(
        session,
        actor=user,
        task_id=task.pk,
        move=TaskMove(version=current.version, status=TaskStatus.review, note=note),
    )


def test_review_without_evidence_or_note_is_refused_and_changes_nothing(
    session: Session, world: World, task: Task
) -> None:
    version = task.version
    events = len(events_of(session, task.pk))
    for user in (world.putr_head, world.team):
        with pytest.raises(RuleViolation, match="Lampirkan minimal satu bukti dukung") as refused:
            to_review(session, user, task, note="   ")
        assert refused.value.field == "note"
        session.rollback()
    stored = stored_task(session, task)
    assert (stored.status, stored.version) == (TaskStatus.in_progress, version)
    assert len(events_of(session, task.pk)) == events


def test_review_with_a_note_or_with_evidence(session: Session, world: World) -> None:
    noted = make_task(
        session, actor=world.team, plan=world.plan, lead=world.putr, status=TaskStatus.in_progress
    )
    assert (
        to_review(session, world.putr_head, noted, note="Berita acara menyusul").status
        == TaskStatus.review
    )

    with_evidence = make_task(
        session,
        actor=world.team,
        plan=world.plan,
        lead=world.putr,
        status=TaskStatus.in_progress,
        title="Rehab sekolah",
    )
    add_link(session, world.putr_head, with_evidence)
    assert to_review(session, world.putr_head, with_evidence).status == TaskStatus.review


def test_removed_evidence_does_not_count(session: Session, world: World, task: Task) -> None:
    link = add_link(session, world.putr_head, task)
    evidence_service.remove_evidence(
        session, actor=world.putr_head, task_id=task.pk, evidence_id=link.pk
    )
    with pytest.raises(RuleViolation):
        to_review(session, world.putr_head, task)


def test_review_rule_on_the_task_page(
    client: TestClient, session: Session, world: World, task: Task
) -> None:
    csrf = login(client, world.putr_head)
    page = client.get(f"/tasks/{task.pk}").text
    assert "wajib bila ke Menunggu Verifikasi tanpa bukti dukung" in page
    # The task is under 100 %: the sender confirms that (test_task_page_flow.py).
    form = {
        "csrf_token": csrf,
        "version": str(task.version),
        "status": "review",
        "confirm_incomplete": "1",
    }

    refused = client.post(f"/tasks/{task.pk}/move", data=form, follow_redirects=False)
    assert refused.status_code == 422
    assert 'id="move-note-error"' in refused.text
    assert "Lampirkan minimal satu bukti dukung" in refused.text

    moved = client.post(
        f"/tasks/{task.pk}/move",
        data={**form, "note": "Dokumen fisik diserahkan ke sekretariat"},
        follow_redirects=False,
    )
    assert moved.status_code == 303
    assert stored_task(session, task).status == TaskStatus.review


def test_review_rule_on_the_board(
    client: TestClient, session: Session, world: World, task: Task
) -> None:
    csrf = login(client, world.putr_head)
    board = client.get("/board").text
    card = board[board.index(f'id="task-{task.pk}"') :]
    card = card[: card.index("</article>")]
    assert "data-evidence" not in card  # none: the move dialog asks for the note
    assert "data-targets=" in card
    assert 'data-hint="no-evidence"' in board
    # The card's own move page (no JavaScript) says so and offers the evidence link.
    page = client.get(f"/board/tasks/{task.pk}/move").text
    assert "Lampirkan bukti dukung" in page
    form = {"csrf_token": csrf, "version": str(task.version), "status": "review"}

    # A drop (htmx): refused with the reason, so board.js opens the note field.
    dropped = client.post(f"/board/tasks/{task.pk}/move", data=form, headers={"HX-Request": "true"})
    assert dropped.status_code == 422
    assert "Lampirkan minimal satu bukti dukung" in dropped.text
    # Without JavaScript: the card's move page again, the reason next to the form.
    plain = client.post(f"/board/tasks/{task.pk}/move", data=form, follow_redirects=False)
    assert plain.status_code == 422
    assert re.search(r'id="move-error" role="alert">Lampirkan minimal', plain.text)
    assert stored_task(session, task).status == TaskStatus.in_progress

    noted = client.post(
        f"/board/tasks/{task.pk}/move",
        data={**form, "note": "Foto menyusul; sinyal lemah di lokasi"},
        headers={"HX-Request": "true"},
    )
    assert noted.status_code == 200
    assert stored_task(session, task).status == TaskStatus.review


def test_a_card_with_evidence_moves_to_review_directly(
    client: TestClient, session: Session, world: World, task: Task
) -> None:
    add_link(session, world.putr_head, task)
    csrf = login(client, world.putr_head)
    board = client.get("/board").text
    card = board[board.index(f'id="task-{task.pk}"') :]
    card = card[: card.index("</article>")]
    assert "1 bukti dukung" in card
    assert 'data-evidence="1"' in card  # the move dialog does not ask for a note
    page = client.get(f"/board/tasks/{task.pk}/move").text
    assert 'data-hint="no-evidence"' not in page
    current = stored_task(session, task)
    moved = client.post(
        f"/board/tasks/{task.pk}/move",
        data={"csrf_token": csrf, "version": str(current.version), "status": "review"},
        headers={"HX-Request": "true"},
    )
    assert moved.status_code == 200


def test_the_team_sees_the_evidence_and_the_note_when_verifying(
    client: TestClient, session: Session, world: World, task: Task
) -> None:
    add_link(session, world.putr_head, task, caption="Album foto serah terima")
    to_review(session, world.putr_head, task, note="Foto udara menyusul")
    login(client, world.team)
    page = client.get(f"/tasks/{task.pk}").text
    review = page[page.index('id="form-verify"') :]
    review = review[: review.index("</section>")]
    assert "Album foto serah terima" in review
    assert "Catatan saat dikirim (Kadis Putr)" in review
    assert "Foto udara menyusul" in review
    assert 'action="/tasks/' in review
    assert "/verify" in review


def test_verifying_without_evidence_says_so(
    client: TestClient, session: Session, world: World, task: Task
) -> None:
    to_review(session, world.putr_head, task, note="Dokumen fisik di sekretariat")
    login(client, world.team)
    page = client.get(f"/tasks/{task.pk}").text
    review = page[page.index('id="form-verify"') :]
    assert "Tidak ada bukti dukung terlampir." in review[: review.index("</section>")]


def test_list_helper_returns_removed_only_when_asked(
    session: Session, world: World, task: Task
) -> None:
    kept = add_link(session, world.putr_head, task, caption="Tetap")
    gone = add_link(session, world.putr_head, task, caption="Dihapus")
    evidence_service.remove_evidence(
        session, actor=world.team, task_id=task.pk, evidence_id=gone.pk
    )
    shown: list[Any] = evidence_service.list_evidence(session, task=task)
    assert [v.evidence.id for v in shown] == [kept.id]
    everything = evidence_service.list_evidence(session, task=task, include_removed=True)
    assert [(v.evidence.id, v.remover_name) for v in everything] == [
        (kept.id, None),
        (gone.id, "Tim Transisi"),
    ]


# --- thumbnails --------------------------------------------------------------------------


def real_image(width: int, height: int, *, kind: str = "JPEG", mode: str = "RGB") -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new(mode, (width, height), (30, 140, 60, 128)[: len(mode)]).save(buffer, kind)
    return buffer.getvalue()


def test_photos_get_small_upright_thumbnails_made_once(
    client: TestClient, session: Session, world: World, task: Task, settings: Settings
) -> None:
    from PIL import Image

    photo = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: the camera was turned; shown rotated 90°
    Image.new("RGB", (1600, 1200), (200, 50, 50)).save(photo, "JPEG", exif=exif)
    csrf = login(client, world.putr_head)
    attach(client, csrf, task.pk, content=photo.getvalue(), name="foto.jpg")
    [row] = rows_of(session, task.pk)

    response = client.get(f"/tasks/{task.pk}/evidence/{row.pk}/thumb")

    assert response.status_code == 200
    assert response.headers["content-type"] == "image/jpeg"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-security-policy"].startswith("sandbox")
    thumb = Image.open(io.BytesIO(response.content))
    assert thumb.size == (240, 320)  # upright, at most 320 px
    assert "exif" not in thumb.info
    assert len(response.content) < len(photo.getvalue())
    [made] = list((settings.evidence_dir / "thumbs").rglob("*.jpg"))
    stamp = made.stat().st_mtime_ns
    assert client.get(f"/tasks/{task.pk}/evidence/{row.pk}/thumb").content == response.content
    assert made.stat().st_mtime_ns == stamp  # kept, not made again
    page = client.get(f"/tasks/{task.pk}").text
    assert f'<img src="/tasks/{task.pk}/evidence/{row.pk}/thumb"' in page


def test_transparent_images_get_a_white_background(
    client: TestClient, session: Session, world: World, task: Task
) -> None:
    from PIL import Image

    csrf = login(client, world.putr_head)
    clear = real_image(400, 200, kind="PNG", mode="RGBA")
    attach(client, csrf, task.pk, content=clear, name="logo.png")
    [row] = rows_of(session, task.pk)
    response = client.get(f"/tasks/{task.pk}/evidence/{row.pk}/thumb")
    thumb = Image.open(io.BytesIO(response.content))
    assert thumb.size == (320, 160)
    red, green, blue = thumb.convert("RGB").getpixel((10, 10))  # type: ignore[misc]
    assert min(red, green, blue) > 100  # blended on white, not on black


def test_an_unreadable_image_falls_back_to_the_original(
    client: TestClient, session: Session, world: World, task: Task
) -> None:
    csrf = login(client, world.putr_head)
    attach(client, csrf, task.pk)  # PNG magic bytes, but no picture inside
    [row] = rows_of(session, task.pk)
    response = client.get(f"/tasks/{task.pk}/evidence/{row.pk}/thumb")
    assert response.status_code == 200
    assert response.content == PNG_BYTES
    assert response.headers["content-type"] == "image/png"
    assert response.headers["x-content-type-options"] == "nosniff"


def test_thumbnails_need_login_and_an_image(
    client: TestClient, session: Session, world: World, task: Task
) -> None:
    csrf = login(client, world.putr_head)
    attach(client, csrf, task.pk, content=real_image(50, 50), name="a.jpg")
    attach(client, csrf, task.pk, content=PDF_BYTES, name="b.pdf")
    image, pdf = rows_of(session, task.pk)
    assert client.get(f"/tasks/{task.pk}/evidence/{pdf.pk}/thumb").status_code == 404
    client.cookies.clear()
    anonymous = client.get(f"/tasks/{task.pk}/evidence/{image.pk}/thumb", follow_redirects=False)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/login")
