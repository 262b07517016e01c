""" "Tugas saya" (/my-tasks): a unit user's home, built for a phone on a weak signal.

Every item carries three real forms (progress, photos, status) that work without JavaScript
(Post/Redirect/Get back to the item's anchor); with htmx each answers with that item only, its
message beside the form that was used. A refused action answers 422 with the item (htmx) or
the page (plain form), the message at the field.
"""

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData, UploadFile

from app import permissions
from app.auth import CurrentUser
from app.config import SettingsDep, app_settings
from app.db import SessionDep
from app.errors import Conflict, RuleViolation
from app.forms import tasks as task_forms
from app.forms.errors import FORM_KEY, FormErrors
from app.forms.submitted import SubmittedForm
from app.htmx import is_htmx
from app.models import ID_MAX, TaskStatus, User
from app.path_ids import TaskId
from app.routes.evidence import evidence_store
from app.services import evidence as evidence_service
from app.services import my_tasks as my_tasks_service
from app.services import task_reads, tasks
from app.services.evidence import PhotoBatch
from app.services.evidence_files import format_size
from app.services.plans import current_plan
from app.templating import render
from app.timefmt import format_day_date

router = APIRouter(prefix="/my-tasks", tags=["my-tasks"], include_in_schema=False)

OK_MESSAGES = {
    "progress": "Capaian dan realisasi tersimpan.",
    "moved": "Status tugas diubah.",
    "sent-for-review": "Tugas dikirim untuk diverifikasi; Tim Transisi akan memeriksanya.",
    "photos": "Foto bukti dilampirkan.",
}
# Which form of the item each result belongs to (the message is shown beside it).
OK_FORMS = {"progress": "progress", "moved": "move", "sent-for-review": "move", "photos": "photos"}


def _page(
    request: Request,
    session: SessionDep,
    user: User,
    *,
    status_code: int = 200,
    item_state: dict[str, Any] | None = None,
) -> Response:
    view = my_tasks_service.my_tasks(session, user=user, plan=current_plan(session))
    return render(
        request,
        "my_tasks/my_tasks.html",
        {
            "view": view,
            "state": item_state or {},
            "evidence_limit": format_size(app_settings(request).evidence_max_bytes),
        },
        status_code=status_code,
    )


@router.get("")
def my_tasks_page(
    request: Request, session: SessionDep, user: CurrentUser, ok: str = "", task: int = 0
) -> Response:
    state: dict[str, Any] = {}
    if ok in OK_MESSAGES and 0 < task <= ID_MAX:
        state = {"task_id": task, "form": OK_FORMS[ok], "ok": OK_MESSAGES[ok]}
    return _page(request, session, user, item_state=state)


def _item(
    request: Request,
    session: SessionDep,
    user: User,
    *,
    task_id: int,
    state: dict[str, Any],
    status_code: int = 200,
) -> Response:
    """The answer to an action: the item alone (htmx) or the whole page (422 without JS)."""
    if not is_htmx(request):
        return _page(request, session, user, status_code=status_code, item_state=state)
    view = my_tasks_service.my_tasks(session, user=user, plan=current_plan(session))
    item = view.find(task_id)
    if item is None:  # no longer one of the unit's tasks (reassigned meanwhile)
        return _page(request, session, user, status_code=status_code, item_state=state)
    return render(
        request,
        "my_tasks/_item.html",
        {
            "item": item,
            "view": view,
            "state": state,
            "evidence_limit": format_size(app_settings(request).evidence_max_bytes),
        },
        status_code=status_code,
    )


def _act(
    request: Request,
    session: SessionDep,
    user: User,
    *,
    task_id: int,
    form_name: str,
    run: Callable[[], str],
    kept: dict[str, str],
) -> Response:
    """Run one service call; answer with the item and its message (htmx), PRG to the item
    (plain form), or the refusal at its field (422, 409 with the current state)."""
    try:
        ok = run()
    except RuleViolation as exc:
        status, errors = 422, FormErrors.of(exc).errors
    except Conflict as exc:
        status, errors = 409, {FORM_KEY: exc.message}
    else:
        if is_htmx(request):
            return _item(
                request,
                session,
                user,
                task_id=task_id,
                state={"task_id": task_id, "form": OK_FORMS[ok], "ok": OK_MESSAGES[ok]},
            )
        return RedirectResponse(f"/my-tasks?ok={ok}&task={task_id}#task-{task_id}", 303)
    session.rollback()
    state = {"task_id": task_id, "form": form_name, "errors": errors, "kept": kept}
    return _item(request, session, user, task_id=task_id, state=state, status_code=status)


@router.post("/{task_id}/progress")
def post_progress(
    request: Request, session: SessionDep, user: CurrentUser, task_id: TaskId, form: SubmittedForm
) -> Response:
    task = task_reads.get_task(session, task_id=task_id)
    permissions.ensure_can_work_on(user, task)

    def run() -> str:
        data = task_forms.progress_update(form)
        tasks.update_progress(session, actor=user, task_id=task_id, data=data)
        return "progress"

    return _act(
        request,
        session,
        user,
        task_id=task_id,
        form_name="progress",
        run=run,
        kept=task_forms.kept_input(form, "progress_pct", "realisation"),
    )


@router.post("/{task_id}/move")
def post_move(
    request: Request, session: SessionDep, user: CurrentUser, task_id: TaskId, form: SubmittedForm
) -> Response:
    task = task_reads.get_task(session, task_id=task_id)
    permissions.ensure_can_work_on(user, task)

    def run() -> str:
        move = task_forms.task_move(form)
        task_forms.confirm_incomplete_review(
            form, progress_pct=task.progress_pct, status=move.status
        )
        tasks.move_task(session, actor=user, task_id=task_id, move=move)
        return "sent-for-review" if move.status == TaskStatus.review else "moved"

    return _act(
        request,
        session,
        user,
        task_id=task_id,
        form_name="move",
        run=run,
        kept=task_forms.kept_input(form, "status", "blocked_reason", "note"),
    )


def photo_uploads(form: FormData) -> list[UploadFile]:
    """The files sent in the `photos` field (empty file inputs send one nameless part)."""
    return [
        value
        for value in form.getlist("photos")
        if isinstance(value, UploadFile) and (value.filename or value.size)
    ]


def default_caption(today_label: str) -> str:
    return f"Foto lapangan {today_label}"


@router.post("/{task_id}/photos")
def post_photos(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: CurrentUser,
    task_id: TaskId,
    form: SubmittedForm,
) -> Response:
    task = task_reads.get_task(session, task_id=task_id)
    permissions.ensure_can_attach_evidence(user, task)
    outcome: list[PhotoBatch] = []

    def run() -> str:
        caption = task_forms.text_field(form, "caption").strip()
        if not caption:
            today = my_tasks_service.plan_today(session, task=task)
            caption = default_caption(format_day_date(today))
        batch = evidence_service.add_photos(
            session,
            actor=user,
            task_id=task_id,
            photos=[(f.file, f.filename or "") for f in photo_uploads(form)],
            caption=caption,
            store=evidence_store(settings),
            max_bytes=settings.evidence_max_bytes,
        )
        outcome.append(batch)
        if not batch.added:
            raise RuleViolation(
                "Tidak ada foto yang dapat dilampirkan: "
                + " ".join(r.message for r in batch.refused),
                field="photos",
            )
        return "photos"

    response = _act(
        request,
        session,
        user,
        task_id=task_id,
        form_name="photos",
        run=run,
        kept=task_forms.kept_input(form, "caption"),
    )
    batch = outcome[0] if outcome else None
    if batch is None or not batch.added or not batch.refused:
        return response
    # Some kept, some refused: the answer names each refused file (never in a URL), so it is
    # the item (htmx) or the page itself rather than a redirect.
    kept_count = len(batch.added)
    state = {
        "task_id": task_id,
        "form": "photos",
        "ok": f"{kept_count} foto dilampirkan.",
        "refused": [r.message for r in batch.refused],
    }
    return _item(request, session, user, task_id=task_id, state=state)
