"""JSON API v1: bearer tokens, the current plan, units, programs, tasks and their history, and
the burndown.

Thin views: every route loads, calls one service (which enforces DESIGN §1's permissions and
raises domain errors), and answers a typed model. Errors are JSON rendered by app.main:
`{"detail": …, "field": …}`, 409 with the task's `current` state, 422 from request validation
with the offending field's location.
"""

import datetime as dt
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Form, Query, Request, Response, UploadFile
from fastapi.responses import FileResponse, JSONResponse
from fastapi.routing import APIRoute
from fastapi.security import OAuth2PasswordRequestForm
from sqlmodel import Field, SQLModel

from app.auth import ApiAuth, ApiUser
from app.config import SettingsDep
from app.db import SessionDep
from app.models import (
    CAPTION_MAX,
    ID_MAX,
    URL_MAX,
    EvidencePublic,
    NoteCreate,
    PlanPublic,
    ProgramKind,
    ProgramPublic,
    ProgressUpdate,
    SessionKind,
    TaskCreate,
    TaskEventPublic,
    TaskMove,
    TaskPage,
    TaskPublic,
    TaskStatus,
    TaskUpdate,
    UnitKind,
    UnitPublic,
    UserPublic,
    VersionedNote,
)
from app.path_ids import EvidenceId, TaskId
from app.routes.burndown import BurndownQueryDep
from app.routes.evidence import attach, evidence_store, file_response
from app.routes.task_filters import ApiTaskFilterDep
from app.routes.transfer import clean_filename, import_limits, read_limited
from app.services import accounts, burndown, plans, task_import, task_queries, task_reads, tasks
from app.services import evidence as evidence_service
from app.services.spreadsheet import read_upload


def operation_id(route: APIRoute) -> str:
    # Short, stable operation ids (`list_tasks`, `move_task`) for generated API clients.
    return route.name


router = APIRouter(prefix="/api/v1", generate_unique_id_function=operation_id)


# --- API-only schemas ------------------------------------------------------------------


class ErrorDetail(SQLModel):
    detail: str = Field(description="What went wrong, in Indonesian, for the user to read.")
    field: str | None = Field(default=None, description="The offending field, when one is.")


class ValidationIssue(SQLModel):
    loc: list[str | int] = Field(description='Where: e.g. ["body", "due_date"].')
    msg: str
    type: str


class ValidationErrorDetail(SQLModel):
    """Either request validation (a list of issues, each naming its field's location) or a
    broken rule (a message and the `field`, e.g. a due date outside the plan)."""

    detail: str | list[ValidationIssue]
    field: str | None = None


class ConflictDetail(SQLModel):
    detail: str = Field(description="Who changed the task, and when.")
    # Absent only when the database stayed busy with a concurrent change (nothing to compare).
    current: TaskPublic | None = Field(
        default=None,
        description="The task as it is now; retry from its `version`. Absent when the "
        "database stayed busy with a concurrent change: send the request again.",
    )


class TokenPublic(SQLModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 (the OAuth2 token type, not a secret)
    expires_at: datetime = Field(description="When the token stops working (UTC).")


class MePublic(UserPublic):
    unit: UnitPublic | None = Field(description="The user's own unit (role `unit` only).")


class TaskVersion(SQLModel):
    version: int = Field(ge=1, description="The task version the client saw.")


class BurndownPointPublic(SQLModel):
    day: int = Field(
        description="Plan day (0: the baseline point, the start of day 1). In working-day "
        "mode non-working dates carry the number of the last working day before them."
    )
    date: dt.date = Field(description="The date in the plan's timezone; values are at its end.")
    is_working_day: bool
    ideal: float = Field(description="The ideal line: the baseline scope down to 0 on day L.")
    scope: float | None = Field(description="Tasks in scope (not cancelled); null after today.")
    remaining: float | None = Field(description="Of those, not done; null after today.")
    added: float = Field(description="Scope added that day after the baseline.")
    removed: float = Field(description="Scope removed (cancelled) that day after the baseline.")


class ForecastPublic(SQLModel):
    window_days: int = Field(description="Trailing plan days the burn rate is measured over.")
    burn_per_day: float = Field(description="Net decrease of remaining per plan day.")
    day: int | None = Field(description="Plan day remaining reaches 0; null: not at this rate.")
    date: dt.date | None
    remaining: float = Field(description="Remaining now, where the forecast starts.")
    label: str = Field(description="The forecast in Indonesian, as the dashboard shows it.")


class BurndownPublic(SQLModel):
    plan: PlanPublic
    measure: burndown.Measure
    length_days: int
    today_day: int = Field(description="Plan day of today (may be < 1 or > length_days).")
    baseline_at: datetime | None = Field(description="When the baseline scope was taken.")
    baseline_scope: float
    current_scope: float
    current_remaining: float
    forecast: ForecastPublic
    points: list[BurndownPointPublic]


class ImportIssue(SQLModel):
    row: int = Field(description="Row number as the spreadsheet shows it (headers: row 1).")
    column: str = Field(description="The column's header.")
    message: str = Field(description="What is wrong, in Indonesian, for the user to read.")


class ImportRow(SQLModel):
    row: int
    action: Literal["create", "update", "unchanged"]
    code: str = Field(description="The task's code; empty for a new code-less row in a dry run.")
    title: str
    task_id: int | None = Field(description="The task updated (or created, once applied).")
    changed: list[str] = Field(description="The fields an update changes.")
    status: TaskStatus | None = Field(description="The new status, when the row changes it.")


class ImportReport(SQLModel):
    filename: str
    dry_run: bool
    applied: bool = Field(description="True once everything was written (never partly).")
    created: int
    updated: int
    unchanged: int
    rows: list[ImportRow]
    issues: list[ImportIssue] = Field(description="Problems by row and column; none applied.")


_ERRORS: dict[int, tuple[type[SQLModel], str]] = {
    400: (ErrorDetail, "Not a spreadsheet the import can read safely; nothing was changed."),
    401: (ErrorDetail, "No bearer token, or it is invalid, expired or revoked."),
    403: (ErrorDetail, "The caller's role may not do this (DESIGN §1); nothing was changed."),
    404: (
        ErrorDetail,
        "No task (or item) with this id; also any id that cannot exist (not 1 to 10 digits, "
        "0, or beyond 2147483647), with `field` naming the path parameter.",
    ),
    409: (
        ConflictDetail,
        "The task changed since `version`; `current` holds its state. Nothing was changed. "
        "(Rarely, with `detail` only: the database was busy with a concurrent change to the "
        "same data and gave up after a few retries; nothing was changed, send it again.)",
    ),
    413: (
        ErrorDetail,
        "The upload (file or evidence) is over its size limit; nothing was changed.",
    ),
    422: (
        ValidationErrorDetail,
        "Invalid input, naming the field (`loc`); nothing was changed. Also a body that "
        "cannot be parsed, and text holding a character the text policy refuses (NUL, other "
        "control characters but tab and line breaks, lone surrogates) in any field or query "
        "parameter.",
    ),
}
NO_PLAN = "There is no current plan yet."


def errors(*codes: int, **descriptions: str) -> dict[int | str, dict[str, Any]]:
    """Documented error answers; `descriptions` (e.g. `e404=...`) replace the default text."""
    return {
        code: {
            "model": _ERRORS[code][0],
            "description": descriptions.get(f"e{code}", _ERRORS[code][1]),
        }
        for code in codes
    }


TokenForm = Annotated[OAuth2PasswordRequestForm, Depends()]

# Every change answers the task as it is afterwards (with its new `version`).
ACTION_ERRORS = errors(401, 403, 404, 409, 422)


# --- auth and the caller ---------------------------------------------------------------


@router.post(
    "/auth/token",
    tags=["auth"],
    summary="Get a bearer token",
    description="OAuth2 password flow: form fields `username` and `password`. Repeated "
    "failures lock the account for a while. Send the token as `Authorization: Bearer …`.",
    responses=errors(
        401,
        422,
        e401="Wrong username or password, or the account is locked for a while after "
        "repeated failures.",
    ),
)
def login_for_token(
    form: TokenForm, request: Request, session: SessionDep, settings: SettingsDep
) -> TokenPublic:
    user = accounts.authenticate(
        session, username=form.username, password=form.password, settings=settings
    )
    new = accounts.start_session(
        session,
        user=user,
        kind=SessionKind.api,
        settings=settings,
        user_agent=request.headers.get("user-agent", ""),
    )
    return TokenPublic(access_token=new.token, expires_at=new.login_session.expires_at)


@router.delete(
    "/auth/token",
    tags=["auth"],
    summary="Revoke this token",
    description="Ends the bearer token used for this request; later requests with it get 401.",
    status_code=204,
    response_class=Response,
    responses=errors(401, 422),
)
def revoke_token(auth: ApiAuth, session: SessionDep) -> None:
    accounts.revoke_session(session, login_session_id=auth.login_session.pk)


@router.get(
    "/me",
    tags=["auth"],
    summary="Who am I",
    description="The token's user, with their unit for role `unit`.",
    responses=errors(401, 422),
)
def read_me(user: ApiUser, session: SessionDep) -> MePublic:
    unit = task_queries.unit_of(session, user=user)
    return MePublic.model_validate(
        user, update={"unit": UnitPublic.model_validate(unit) if unit else None}
    )


# --- plan and reference lists ----------------------------------------------------------


@router.get(
    "/plan",
    tags=["plan"],
    summary="The current plan",
    description="The current plan with its end date and today's plan day (in its timezone).",
    responses=errors(401, 404, 422, e404=NO_PLAN),
)
def read_plan(user: ApiUser, session: SessionDep) -> PlanPublic:
    return task_queries.plan_public(session, plans.current_plan(session))


@router.get(
    "/units",
    tags=["units"],
    summary="List units",
    description="Agencies (perangkat daerah) and districts (kecamatan), inactive ones included.",
    responses=errors(401, 422),
)
def list_units(
    user: ApiUser,
    session: SessionDep,
    kind: Annotated[UnitKind | None, Query(description="Only agencies or districts.")] = None,
) -> list[UnitPublic]:
    return [UnitPublic.model_validate(u) for u in task_queries.list_units(session, kind=kind)]


@router.get(
    "/programs",
    tags=["programs"],
    summary="List programs",
    description="The administration's programs: priority, movement and pro-people aspects.",
    responses=errors(401, 422),
)
def list_programs(
    user: ApiUser,
    session: SessionDep,
    kind: Annotated[ProgramKind | None, Query(description="Only programs of this kind.")] = None,
) -> list[ProgramPublic]:
    return [ProgramPublic.model_validate(p) for p in task_queries.list_programs(session, kind=kind)]


# --- tasks: reading --------------------------------------------------------------------


@router.get(
    "/tasks",
    tags=["tasks"],
    summary="List tasks of the current plan",
    description="Filtered and paged, ordered by board column (Belum Dimulai … Selesai) and then "
    "position. Without `status`, cancelled tasks are left out (ask with `status=cancelled`). "
    "`total` counts every match, not only this page.",
    responses=errors(401, 404, 422, e404=NO_PLAN),
)
def list_tasks(
    user: ApiUser,
    session: SessionDep,
    filters: ApiTaskFilterDep,
    status: Annotated[TaskStatus | None, Query(description="Only this status.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=ID_MAX)] = 0,
) -> TaskPage:
    return task_queries.task_page(
        session,
        plan=plans.current_plan(session),
        filters=filters,
        status=status,
        limit=limit,
        offset=offset,
    )


@router.get(
    "/tasks/{task_id}",
    tags=["tasks"],
    summary="Get a task",
    description="Any task by id, also of a plan other than the current one.",
    responses=errors(401, 404, 422),
)
def read_task(task_id: TaskId, user: ApiUser, session: SessionDep) -> TaskPublic:
    return task_queries.task_detail(session, task_id=task_id)


@router.get(
    "/tasks/{task_id}/events",
    tags=["tasks"],
    summary="A task's history",
    description="Every change of the task, oldest first, with the actor's name.",
    responses=errors(401, 404, 422),
)
def list_task_events(task_id: TaskId, user: ApiUser, session: SessionDep) -> list[TaskEventPublic]:
    return task_queries.task_history(session, task_id=task_id)


# --- tasks: changing -------------------------------------------------------------------


@router.post(
    "/tasks",
    tags=["tasks"],
    summary="Create a task (team)",
    description="A new task of the current plan, on top of Belum Dimulai, with the plan's next "
    "code. The `Location` header points at it.",
    status_code=201,
    responses=errors(401, 403, 404, 422, e404=NO_PLAN),
)
def create_task(
    data: TaskCreate, user: ApiUser, session: SessionDep, response: Response
) -> TaskPublic:
    plan = plans.current_plan(session)
    task = tasks.create_task(session, actor=user, plan_id=plan.pk, data=data)
    response.headers["Location"] = f"{router.prefix}/tasks/{task.id}"
    return task_reads.task_public(session, task)


@router.patch(
    "/tasks/{task_id}",
    tags=["tasks"],
    summary="Edit a task (team)",
    description="Only the fields given change; `version` is the one the client saw. Changing "
    "the lead unit is recorded as an assignment.",
    responses=ACTION_ERRORS,
)
def update_task(
    task_id: TaskId, data: TaskUpdate, user: ApiUser, session: SessionDep
) -> TaskPublic:
    task = tasks.update_task(session, actor=user, task_id=task_id, data=data)
    return task_reads.task_public(session, task)


@router.post(
    "/tasks/{task_id}/move",
    tags=["tasks"],
    summary="Move a task to a column",
    description="Team: any column. Lead unit: between todo, in_progress, blocked and review "
    "(never into or out of done). Into `blocked` needs `blocked_reason`; into `review` needs "
    "evidence on the task or a `note` saying why there is none; the team sending a "
    "task back out of review needs a `note` (a rejection). Placed after `after_id`, or on top.",
    responses=ACTION_ERRORS,
)
def move_task(task_id: TaskId, move: TaskMove, user: ApiUser, session: SessionDep) -> TaskPublic:
    task = tasks.move_task(session, actor=user, task_id=task_id, move=move)
    return task_reads.task_public(session, task)


@router.post(
    "/tasks/{task_id}/progress",
    tags=["tasks"],
    summary="Report progress",
    description="Progress (0–100 %) and realisation against the target; team or lead unit.",
    responses=ACTION_ERRORS,
)
def update_progress(
    task_id: TaskId, data: ProgressUpdate, user: ApiUser, session: SessionDep
) -> TaskPublic:
    task = tasks.update_progress(session, actor=user, task_id=task_id, data=data)
    return task_reads.task_public(session, task)


@router.post(
    "/tasks/{task_id}/comments",
    tags=["tasks"],
    summary="Write a note",
    description="A working note (catatan); team or lead unit.",
    responses=errors(401, 403, 404, 422),
)
def add_comment(
    task_id: TaskId, data: NoteCreate, user: ApiUser, session: SessionDep
) -> TaskPublic:
    task = tasks.add_comment(session, actor=user, task_id=task_id, note=data.note)
    return task_reads.task_public(session, task)


@router.post(
    "/tasks/{task_id}/directives",
    tags=["tasks"],
    summary="Give a directive",
    description="The Bupati's directive (arahan); executives, or the team recording it.",
    responses=errors(401, 403, 404, 422),
)
def add_directive(
    task_id: TaskId, data: NoteCreate, user: ApiUser, session: SessionDep
) -> TaskPublic:
    task = tasks.add_directive(session, actor=user, task_id=task_id, note=data.note)
    return task_reads.task_public(session, task)


@router.post(
    "/tasks/{task_id}/verify",
    tags=["tasks"],
    summary="Verify a task (team)",
    description="Menunggu Verifikasi → Selesai.",
    responses=ACTION_ERRORS,
)
def verify_task(
    task_id: TaskId, data: VersionedNote, user: ApiUser, session: SessionDep
) -> TaskPublic:
    task = tasks.verify_task(
        session, actor=user, task_id=task_id, version=data.version, note=data.note
    )
    return task_reads.task_public(session, task)


@router.post(
    "/tasks/{task_id}/reject",
    tags=["tasks"],
    summary="Reject reported work (team)",
    description="Menunggu Verifikasi → Sedang Berjalan; `note` (what to fix) is required.",
    responses=ACTION_ERRORS,
)
def reject_task(
    task_id: TaskId, data: VersionedNote, user: ApiUser, session: SessionDep
) -> TaskPublic:
    task = tasks.reject_task(
        session, actor=user, task_id=task_id, version=data.version, note=data.note
    )
    return task_reads.task_public(session, task)


@router.post(
    "/tasks/{task_id}/cancel",
    tags=["tasks"],
    summary="Cancel a task (team)",
    description="Takes the task off the board and out of the scope; `note` (why) is required. "
    "It stays in history and can be restored.",
    responses=ACTION_ERRORS,
)
def cancel_task(
    task_id: TaskId, data: VersionedNote, user: ApiUser, session: SessionDep
) -> TaskPublic:
    task = tasks.cancel_task(
        session, actor=user, task_id=task_id, version=data.version, note=data.note
    )
    return task_reads.task_public(session, task)


@router.post(
    "/tasks/{task_id}/restore",
    tags=["tasks"],
    summary="Restore a cancelled task (team)",
    description="Back to the top of Belum Dimulai.",
    responses=ACTION_ERRORS,
)
def restore_task(
    task_id: TaskId, data: TaskVersion, user: ApiUser, session: SessionDep
) -> TaskPublic:
    task = tasks.restore_task(session, actor=user, task_id=task_id, version=data.version)
    return task_reads.task_public(session, task)


# --- evidence (bukti dukung) -----------------------------------------------------------


@router.get(
    "/tasks/{task_id}/evidence",
    tags=["evidence"],
    summary="A task's evidence",
    description="Files and links attached to the task, oldest first. Removed items (soft "
    "deleted, with `removed_at` and `removed_by`) only with `include_removed=true`.",
    responses=errors(401, 404, 422),
)
def list_evidence(
    task_id: TaskId,
    user: ApiUser,
    session: SessionDep,
    include_removed: Annotated[bool, Query(description="Also the removed items.")] = False,
) -> list[EvidencePublic]:
    task = task_reads.get_task(session, task_id=task_id)
    views = evidence_service.list_evidence(
        session, task=task, user=user, include_removed=include_removed
    )
    return [evidence_service.evidence_public(v) for v in views]


@router.post(
    "/tasks/{task_id}/evidence",
    tags=["evidence"],
    summary="Attach evidence (team or lead unit)",
    description="Multipart form: `caption` (required, at most 200 characters) and either "
    "`file` (JPEG, PNG, WebP, PDF, DOCX, XLSX or PPTX, recognised by its content, not its "
    "name; at most `SERATUS_EVIDENCE_MAX_MB`) or `url` (http or https). Identical files are "
    "stored once. Writes an `evidence` task event and bumps the task's version.",
    status_code=201,
    responses=errors(401, 403, 404, 413, 422),
)
def add_evidence(
    task_id: TaskId,
    user: ApiUser,
    session: SessionDep,
    settings: SettingsDep,
    response: Response,
    caption: Annotated[str, Form(max_length=CAPTION_MAX * 2)],
    file: Annotated[UploadFile | None, File(description="The evidence file.")] = None,
    url: Annotated[str, Form(max_length=URL_MAX * 2)] = "",
) -> EvidencePublic:
    if file is not None and not (file.filename or file.size):
        file = None
    added = attach(
        session,
        user=user,
        task_id=task_id,
        upload=file,
        url=url,
        caption=caption,
        settings=settings,
    )
    response.headers["Location"] = f"{router.prefix}/tasks/{task_id}/evidence/{added.id}"
    return evidence_service.evidence_public(
        evidence_service.evidence_view(session, evidence=added, user=user)
    )


@router.delete(
    "/tasks/{task_id}/evidence/{evidence_id}",
    tags=["evidence"],
    summary="Remove evidence (soft delete)",
    description="Team, or a user of the uploader's unit while the task is open. The item "
    "leaves the list and is no longer served; the row and the history keep who removed it "
    "and when. Answers the item as it is now.",
    responses=errors(401, 403, 404, 422),
)
def remove_evidence(
    task_id: TaskId, evidence_id: EvidenceId, user: ApiUser, session: SessionDep
) -> EvidencePublic:
    removed = evidence_service.remove_evidence(
        session, actor=user, task_id=task_id, evidence_id=evidence_id
    )
    return evidence_service.evidence_public(
        evidence_service.evidence_view(session, evidence=removed, user=user)
    )


@router.get(
    "/tasks/{task_id}/evidence/{evidence_id}/file",
    tags=["evidence"],
    summary="Download an evidence file",
    description="The stored file with its detected content type; images inline, documents "
    "as attachments, always with `X-Content-Type-Options: nosniff` and a sandboxing "
    "Content-Security-Policy.",
    response_class=FileResponse,
    responses=errors(401, 404, 422),
)
def download_evidence(
    task_id: TaskId,
    evidence_id: EvidenceId,
    user: ApiUser,
    session: SessionDep,
    settings: SettingsDep,
) -> Response:
    evidence, path, file_type = evidence_service.evidence_file(
        session, task_id=task_id, evidence_id=evidence_id, store=evidence_store(settings)
    )
    return file_response(evidence, path, file_type)


# --- burndown --------------------------------------------------------------------------


@router.get(
    "/burndown",
    tags=["burndown"],
    summary="The burndown of the current plan",
    description="Scope, remaining work and the ideal line for each day from day 0 (the "
    "baseline) to the plan's last day, rebuilt from the task history, with additions and "
    "removals after the baseline and a forecast from the burn rate of the last "
    f"{burndown.FORECAST_WINDOW_DAYS} plan days. Days are evaluated at their end in the "
    "plan's timezone; days after today have null `scope` and `remaining`. Filters select "
    "tasks by their current unit (lead or supporting), program, program kind and district. "
    "`measure=weight` sums the tasks' weights (bobot) instead of counting them.",
    responses=errors(401, 404, 422, e404=NO_PLAN),
)
def read_burndown(user: ApiUser, session: SessionDep, query: BurndownQueryDep) -> BurndownPublic:
    plan = plans.current_plan(session)
    series = burndown.burndown_series(
        session, plan=plan, filters=query.filters, measure=query.measure
    )
    return BurndownPublic(
        plan=task_queries.plan_public(session, plan),
        measure=series.measure,
        length_days=series.length_days,
        today_day=series.today_day,
        baseline_at=series.baseline_at,
        baseline_scope=series.baseline_scope,
        current_scope=series.current_scope,
        current_remaining=series.current_remaining,
        forecast=ForecastPublic.model_validate(
            series.forecast, update={"label": series.forecast.label}
        ),
        points=[BurndownPointPublic.model_validate(p) for p in series.points],
    )


# --- import ----------------------------------------------------------------------------


def _import_report(result: task_import.ImportPlan, *, dry_run: bool) -> ImportReport:
    return ImportReport(
        filename=result.filename,
        dry_run=dry_run,
        applied=result.applied,
        created=len(result.created),
        updated=len(result.updated),
        unchanged=len(result.unchanged),
        rows=[
            ImportRow(
                row=r.row,
                action=r.action,
                code=r.code,
                title=r.title,
                task_id=r.task_id,
                changed=list(r.changes),
                status=r.status if r.action != "unchanged" else None,
            )
            for r in result.rows
        ],
        issues=[ImportIssue(row=i.row, column=i.column, message=i.message) for i in result.issues],
    )


@router.post(
    "/tasks/import",
    tags=["tasks"],
    summary="Import tasks from a spreadsheet (team)",
    response_model=ImportReport,
    description="An .xlsx or .csv file in the template's columns (see the README, \"Import and "
    'export"). With `dry_run=true` (the default) nothing is written: the answer lists what '
    "would be created, updated and left unchanged, and every problem by row and column. "
    "With `dry_run=false` everything is written in one transaction, or nothing when any "
    "row has a problem: then 422 with `detail` and this report's `issues`.",
    responses=errors(
        400, 401, 403, 404, 413, 422, e404=NO_PLAN, e422="The file has problems (`issues`)."
    ),
)
def import_tasks(
    user: ApiUser,
    session: SessionDep,
    settings: SettingsDep,
    file: Annotated[UploadFile, File(description=".xlsx or .csv, in the template's columns.")],
    dry_run: Annotated[bool, Query(description="Only report what would change.")] = True,
) -> Any:
    task_import.ensure_can_import(user)
    filename = clean_filename(file.filename)
    sheet = read_upload(read_limited(file, settings), filename, limits=import_limits(settings))
    plan = plans.current_plan(session)
    service = task_import.plan_import if dry_run else task_import.apply_import
    try:
        result = service(
            session,
            actor=user,
            plan_id=plan.pk,
            sheet=sheet,
            filename=filename,
        )
    except task_import.ImportHasIssues as exc:
        body = _import_report(exc.plan, dry_run=False).model_dump(mode="json")
        body["detail"] = exc.message
        return JSONResponse(body, status_code=422)
    return _import_report(result, dry_run=dry_run)
