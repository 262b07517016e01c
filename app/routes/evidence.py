"""Evidence (bukti dukung) on the task page: attach a file or a link, remove, and serve files.

Files are served only through these routes, to logged-in users, with the type detected at
upload, `X-Content-Type-Options: nosniff` and `Content-Security-Policy: sandbox`, so even a
file crafted to look like a page can never run in the app's origin. Images are shown inline
(the task page shows thumbnails made by app.services.evidence_thumbs); PDFs and office
documents are downloads.
"""

import re
from pathlib import Path as FsPath

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response
from sqlmodel import Session
from starlette.datastructures import FormData, UploadFile

from app.auth import CurrentUser
from app.config import Settings, SettingsDep
from app.db import SessionDep
from app.errors import NotFound, RuleViolation
from app.forms import tasks as task_forms
from app.forms.submitted import SubmittedForm
from app.models import Evidence, User
from app.path_ids import EvidenceId, TaskId
from app.routes.tasks import LoadedTask, act
from app.services import evidence as evidence_service
from app.services.evidence_files import EvidenceStore, FileType, format_size
from app.services.evidence_thumbs import ensure_thumbnail

router = APIRouter(prefix="/tasks", tags=["evidence"], include_in_schema=False)

# Page and API upload paths, for the body cap in app.main.
UPLOAD_PATH = re.compile(r"/(?:api/v1/)?tasks/[0-9]+/evidence")
# Caption, link, CSRF token and multipart framing on top of the file itself.
FORM_OVERHEAD = 64 * 1024


def evidence_store(settings: Settings) -> EvidenceStore:
    return EvidenceStore(settings.evidence_dir)


def upload_too_large_message(settings: Settings) -> str:
    return f"Berkas melebihi batas ukuran {format_size(settings.evidence_max_bytes)}."


SAFE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "sandbox; default-src 'none'; img-src 'self'",
    "Cache-Control": "private, max-age=300",
    "Cross-Origin-Resource-Policy": "same-origin",
}


def file_response(evidence: Evidence, path: FsPath, file_type: FileType) -> Response:
    """The stored file with headers that keep it from ever acting as a page of the app."""
    inline = file_type.is_image
    return FileResponse(
        path,
        media_type=file_type.content_type,
        filename=evidence.filename,
        content_disposition_type="inline" if inline else "attachment",
        headers=SAFE_HEADERS,
    )


def uploaded_file(form: FormData) -> UploadFile | None:
    value = form.get("file")
    if isinstance(value, UploadFile) and (value.filename or value.size):
        return value
    return None


def attach(
    session: Session,
    *,
    user: User,
    task_id: int,
    upload: UploadFile | None,
    url: str,
    caption: str,
    settings: Settings,
) -> Evidence:
    """A file or a link (exactly one of the two), from the task page's form or the API."""
    if upload is not None and url.strip():
        raise RuleViolation("Pilih salah satu: unggah berkas atau isi tautan.", field="url")
    if upload is not None:
        return evidence_service.add_file(
            session,
            actor=user,
            task_id=task_id,
            source=upload.file,
            filename=upload.filename or "",
            caption=caption,
            store=evidence_store(settings),
            max_bytes=settings.evidence_max_bytes,
        )
    if url.strip():
        return evidence_service.add_link(
            session, actor=user, task_id=task_id, url=url, caption=caption
        )
    evidence_service.clean_caption(caption)  # a missing caption is named first
    raise RuleViolation("Pilih berkas untuk diunggah, atau isi tautan.", field="file")


@router.post("/{task_id}/evidence")
def post_evidence(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: CurrentUser,
    task: LoadedTask,
    form: SubmittedForm,
) -> Response:
    task_id = task.pk

    def run() -> None:
        attach(
            session,
            user=user,
            task_id=task_id,
            upload=uploaded_file(form),
            url=task_forms.text_field(form, "url"),
            caption=task_forms.text_field(form, "caption"),
            settings=settings,
        )

    return act(
        request,
        session,
        user=user,
        task_id=task_id,
        action="evidence",
        run=run,
        kept=task_forms.kept_input(form, "caption", "url"),
        ok="evidence-added",
    )


@router.post("/{task_id}/evidence/{evidence_id}/remove")
def post_remove_evidence(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    task: LoadedTask,
    evidence_id: EvidenceId,
) -> Response:
    task_id = task.pk

    def run() -> None:
        evidence_service.remove_evidence(
            session, actor=user, task_id=task_id, evidence_id=evidence_id
        )

    return act(
        request,
        session,
        user=user,
        task_id=task_id,
        action="evidence",
        run=run,
        kept={},
        ok="evidence-removed",
    )


@router.get("/{task_id}/evidence/{evidence_id}")
def download_evidence(
    session: SessionDep,
    settings: SettingsDep,
    user: CurrentUser,
    task_id: TaskId,
    evidence_id: EvidenceId,
) -> Response:
    evidence, path, file_type = evidence_service.evidence_file(
        session, task_id=task_id, evidence_id=evidence_id, store=evidence_store(settings)
    )
    return file_response(evidence, path, file_type)


@router.get("/{task_id}/evidence/{evidence_id}/thumb")
def evidence_thumbnail(
    session: SessionDep,
    settings: SettingsDep,
    user: CurrentUser,
    task_id: TaskId,
    evidence_id: EvidenceId,
) -> Response:
    """A small JPEG of an image for the task page; the original if none can be made."""
    store = evidence_store(settings)
    evidence, path, file_type = evidence_service.evidence_file(
        session, task_id=task_id, evidence_id=evidence_id, store=store
    )
    if not file_type.is_image:
        raise NotFound("Hanya gambar yang memiliki gambar kecil.")
    thumb = ensure_thumbnail(store, evidence.sha256)
    if thumb is None:
        return file_response(evidence, path, file_type)
    return FileResponse(
        thumb,
        media_type="image/jpeg",
        headers={**SAFE_HEADERS, "Content-Disposition": "inline"},
    )
