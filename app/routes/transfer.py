"""Spreadsheets in and out: the import page (upload → preview → apply), the template, and
the exports of the board and of the whole task list. (The import's API is in app.routes.api.)

The preview does not keep the upload in memory: the bytes are stored under the data
directory by their SHA-256 (app.services.import_store) and the confirmation form carries
only the digest and the file name, so any app process can apply it.
"""

import re
from datetime import date
from pathlib import PureWindowsPath
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import Response
from sqlmodel import Session

from app import permissions
from app.auth import CurrentUser
from app.config import Settings, SettingsDep
from app.db import SessionDep
from app.models import User
from app.routes.board import BoardQueryDep
from app.services import import_store, plans, task_export, task_import
from app.services.calendar import PlanCalendar
from app.services.filters import TaskFilter
from app.services.spreadsheet import (
    CSV_MEDIA_TYPE,
    TASK_COLUMNS,
    XLSX_MEDIA_TYPE,
    FileRefused,
    FileTooLarge,
    Limits,
    read_upload,
)
from app.services.task_import import ImportHasIssues, ImportPlan
from app.templating import render

router = APIRouter(include_in_schema=False)

FILENAME_MAX = 120
# The uploads of the import page and API: app.upload_limit caps their bodies as they arrive
# (far over the limit), before the form parser spools them to disk.
UPLOAD_PATH = re.compile(r"/(?:api/v1/)?tasks/import")
# Multipart framing around the file: the request may exceed the file limit by this much.
FORM_OVERHEAD = 64 * 1024


def import_limits(settings: Settings) -> Limits:
    return Limits(
        max_bytes=settings.import_max_bytes,
        max_rows=settings.import_max_rows,
        max_unzipped_bytes=settings.import_max_unzipped_bytes,
    )


def clean_filename(raw: str | None) -> str:
    """The upload's base name, without folders or control characters (it is shown and
    recorded in the history)."""
    name = PureWindowsPath(raw or "").name
    name = re.sub(r"[\x00-\x1f\x7f]", "", name).strip()
    return name[:FILENAME_MAX] or "berkas-tanpa-nama"


def too_large_message(settings: Settings) -> str:
    return f"Berkas terlalu besar; batasnya {settings.import_max_bytes // (1024 * 1024)} MB."


def read_limited(upload: UploadFile, settings: Settings) -> bytes:
    data = upload.file.read(settings.import_max_bytes + 1)
    if len(data) > settings.import_max_bytes:
        raise FileTooLarge(too_large_message(settings))
    return data


def _download(content: bytes, *, filename: str, media_type: str) -> Response:
    return Response(
        content=content,
        media_type=media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


# --- import page ---------------------------------------------------------------------------


def _page(
    request: Request,
    *,
    result: ImportPlan | None = None,
    digest: str = "",
    error: str = "",
    status_code: int = 200,
    settings: Settings,
) -> Response:
    context: dict[str, Any] = {
        "result": result,
        "digest": digest,
        "error": error,
        "columns": TASK_COLUMNS,
        "max_mb": settings.import_max_bytes // (1024 * 1024),
        "max_rows": settings.import_max_rows,
    }
    return render(request, "tasks/import.html", context, status_code=status_code)


@router.get("/tasks/import")
def import_page(request: Request, settings: SettingsDep, user: CurrentUser) -> Response:
    permissions.ensure_team(user)
    return _page(request, settings=settings)


def _preview(
    session: Session, *, user: User, data: bytes, filename: str, settings: Settings
) -> ImportPlan:
    sheet = read_upload(data, filename, limits=import_limits(settings))
    plan = plans.current_plan(session)
    return task_import.plan_import(
        session,
        actor=user,
        plan_id=plan.pk,
        sheet=sheet,
        filename=filename,
    )


@router.post("/tasks/import")
def import_preview(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: CurrentUser,
    file: Annotated[UploadFile, File()],
) -> Response:
    """The dry run: nothing is written; the upload is kept for the confirmation."""
    permissions.ensure_team(user)
    filename = clean_filename(file.filename)
    try:
        data = read_limited(file, settings)
        result = _preview(session, user=user, data=data, filename=filename, settings=settings)
    except FileRefused as exc:
        return _page(request, error=exc.message, status_code=exc.status_code, settings=settings)
    digest = ""
    if result.ok and (result.created or result.updated):
        digest = import_store.save(
            settings.resolved_data_dir,
            data,
            keep_hours=settings.import_keep_hours,
            keep_files=settings.import_keep_files,
        )
    return _page(request, result=result, digest=digest, settings=settings)


@router.post("/tasks/import/apply")
def import_apply(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: CurrentUser,
    digest: Annotated[str, Form(max_length=64)],
    filename: Annotated[str, Form(max_length=FILENAME_MAX * 2)],
) -> Response:
    """Apply the previewed file, all or nothing."""
    permissions.ensure_team(user)
    name = clean_filename(filename)
    data = import_store.load(settings.resolved_data_dir, digest)
    if data is None:
        return _page(
            request,
            error="Berkas pratinjau sudah tidak tersedia (kedaluwarsa). Unggah berkas itu lagi.",
            status_code=410,
            settings=settings,
        )
    try:
        sheet = read_upload(data, name, limits=import_limits(settings))
        plan = plans.current_plan(session)
        result = task_import.apply_import(
            session,
            actor=user,
            plan_id=plan.pk,
            sheet=sheet,
            filename=name,
        )
    except FileRefused as exc:
        return _page(request, error=exc.message, status_code=exc.status_code, settings=settings)
    except ImportHasIssues as exc:
        # The plan changed since the preview (or the file was tampered with): show why.
        return _page(
            request, result=exc.plan, error=exc.message, status_code=422, settings=settings
        )
    import_store.discard(settings.resolved_data_dir, digest)
    return _page(request, result=result, settings=settings)


@router.get("/tasks/import/template.xlsx")
def import_template(session: SessionDep, user: CurrentUser) -> Response:
    """The empty template (everyone who may see the plan may download it)."""
    return _download(
        task_export.template_xlsx(session),
        filename="templat-impor-tugas.xlsx",
        media_type=XLSX_MEDIA_TYPE,
    )


# --- exports -------------------------------------------------------------------------------


def _today(session: Session) -> tuple[Any, date]:
    plan = plans.current_plan(session)
    return plan, PlanCalendar.of(plan).today()


def _export(
    session: Session,
    *,
    kind: str,
    extension: Literal["xlsx", "csv"],
    filters: TaskFilter | None,
    board_only: bool,
    user: User,
) -> Response:
    plan, today = _today(session)
    table = task_export.task_table(
        session,
        plan=plan,
        filters=filters,
        board_only=board_only,
        with_history=extension == "xlsx" and not board_only,
    )
    name = task_export.export_filename(kind, today=today, extension=extension, filters=filters)
    if extension == "xlsx":
        return _download(
            # Import instructions only for those who may import (the team).
            task_export.table_xlsx(session, table, with_guide=permissions.can_import(user)),
            filename=name,
            media_type=XLSX_MEDIA_TYPE,
        )
    return _download(task_export.table_csv(table), filename=name, media_type=CSV_MEDIA_TYPE)


@router.get("/tasks/export.xlsx")
def export_tasks_xlsx(session: SessionDep, user: CurrentUser) -> Response:
    """Every task of the plan (cancelled ones too) and, on a second sheet, the history."""
    return _export(
        session, kind="tugas", extension="xlsx", filters=None, board_only=False, user=user
    )


@router.get("/tasks/export.csv")
def export_tasks_csv(session: SessionDep, user: CurrentUser) -> Response:
    return _export(
        session, kind="tugas", extension="csv", filters=None, board_only=False, user=user
    )


@router.get("/tasks/history.csv")
def export_history_csv(session: SessionDep, user: CurrentUser) -> Response:
    plan, today = _today(session)
    table = task_export.task_table(session, plan=plan, with_history=True)
    return _download(
        task_export.history_csv(table),
        filename=f"riwayat-{today.isoformat()}.csv",
        media_type=CSV_MEDIA_TYPE,
    )


@router.get("/board/export.xlsx")
def export_board_xlsx(session: SessionDep, user: CurrentUser, query: BoardQueryDep) -> Response:
    """The board as filtered (the same query string as /board)."""
    return _export(
        session, kind="papan", extension="xlsx", filters=query.filters, board_only=True, user=user
    )


@router.get("/board/export.csv")
def export_board_csv(session: SessionDep, user: CurrentUser, query: BoardQueryDep) -> Response:
    return _export(
        session, kind="papan", extension="csv", filters=query.filters, board_only=True, user=user
    )
