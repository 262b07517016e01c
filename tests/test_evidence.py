"""Evidence (bukti dukung): attaching files and links, content checks, storage, serving,
removal, and the rule that Menunggu Verifikasi needs evidence or a note."""

import io
import zipfile
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.config import Settings
from app.models import Evidence, Task, TaskStatus
from tests.factories import World, make_task

PNG_BYTES = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(200))
JPEG_BYTES = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(300)
PDF_BYTES = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"
HTML_BYTES = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"


def office_zip(main_member: str, main_type: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
            f'content-types"><Override PartName="/{main_member}" ContentType="{main_type}"/>'
            "</Types>",
        )
        archive.writestr(main_member, "<document/>")
    return buffer.getvalue()


DOCX_BYTES = office_zip(
    "word/document.xml",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
)
DOCM_BYTES = office_zip(
    "word/document.xml", "application/vnd.ms-word.document.macroEnabled.main+xml"
)
XLSX_BYTES = office_zip(
    "xl/workbook.xml", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
)
PPTX_BYTES = office_zip(
    "ppt/presentation.xml",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml",
)


def ident(task: Task) -> int:
    assert task.id is not None
    return task.id


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
    caption: str = "Foto lokasi",
    url: str = "",
    htmx: bool = False,
) -> "object":
    files = {"file": (name, content, "application/octet-stream")} if content is not None else None
    return client.post(
        f"/tasks/{task_id}/evidence",
        data={"csrf_token": csrf, "caption": caption, "url": url},
        files=files,
        headers={"HX-Request": "true"} if htmx else {},
        follow_redirects=False,
    )


def evidence_rows(session: Session, task_id: int) -> list[Evidence]:
    session.expire_all()
    return list(session.exec(select(Evidence).where(Evidence.task_id == task_id)).all())


def stored_files(settings: Settings) -> list[Path]:
    root = settings.evidence_dir
    return [p for p in root.rglob("*") if p.is_file() and "incoming" not in p.parts]
