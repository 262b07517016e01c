"""Task pages: /tasks/new, /tasks/{task_id} (detail, history, every action), /tasks/{id}/edit.

Every action is a plain form post answered by Post/Redirect/Get (303 to the detail page with
a fixed success code); with htmx the same forms swap the detail region instead. A rejected
action re-renders the detail with the message next to the field (422), the current state of
the task after a stale version (409), or the error page (403, 404).
"""

from collections.abc import Callable
from typing import Annotated, Any, Protocol

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session
from starlette.datastructures import FormData

from app import permissions
from app.auth import CurrentUser
from app.config import app_settings
from app.db import SessionDep
from app.errors import Conflict, RuleViolation
from app.forms import tasks as task_forms
from app.forms.errors import FormErrors
from app.forms.submitted import SubmittedForm
from app.forms.tasks import TaskFormValues
from app.htmx import is_htmx
from app.models import ID_MAX, Task, TaskStatus, User
from app.path_ids import TaskId
from app.services import directives, task_reads, tasks
from app.services.evidence_files import ACCEPT_ATTRIBUTE, format_size
from app.services.plans import current_plan, get_plan, plan_calendar
from app.services.task_detail import task_detail
from app.templating import render

router = APIRouter(prefix="/tasks", tags=["tasks"], include_in_schema=False)


# Success messages by code: the URL carries only the code, never text a user typed.
OK_MESSAGES = {
    "created": "Tugas baru tersimpan.",
    "saved": "Perubahan tugas tersimpan.",
    "unchanged": "Tidak ada perubahan yang perlu disimpan.",
    "progress": "Capaian dan realisasi tersimpan.",
    "comment": "Catatan ditambahkan.",
    "directive": "Arahan tersimpan dan tampil di tugas ini.",
    "follow_up": "Tindak lanjut tersimpan; arahan ditandai sudah ditindaklanjuti.",
    "decision": "Keputusan tersimpan; tugas tidak lagi menunggu keputusan Bupati.",
    "moved": "Status tugas diubah.",
    "sent-for-review": "Tugas dikirim untuk diverifikasi; Tim Transisi akan memeriksanya.",
    "verified": "Tugas diverifikasi dan ditandai Selesai.",
    "rejected": "Tugas dikembalikan ke Sedang Berjalan beserta catatan penolakan.",
    "cancelled": "Tugas dibatalkan; tugas ini tidak lagi dihitung dalam lingkup rencana.",
    "restored": "Tugas dipulihkan ke Belum Dimulai.",
    "evidence-added": "Bukti dukung dilampirkan.",
    "evidence-removed": "Bukti dukung dihapus dari daftar; riwayatnya tetap tersimpan.",
}
# The form each result belongs to: the message is shown beside that form (when the form is
# still on the page after the change), and the page opens there (#result).
OK_FORMS = {
    "progress": "progress",
    "comment": "comment",
    "directive": "directive",
    "moved": "move",
    "sent-for-review": "move",
    "verified": "verify",
    "rejected": "verify",
    "cancelled": "cancel",
    "restored": "restore",
    "evidence-added": "evidence",
    "evidence-removed": "evidence",
}


def load_task(session: SessionDep, task_id: TaskId) -> Task:
    return task_reads.get_task(session, task_id=task_id)


LoadedTask = Annotated[Task, Depends(load_task)]


# --- rendering ---------------------------------------------------------------------------


def _render_detail(
    request: Request,
    session: Session,
    *,
    task_id: int,
    user: User,
    status_code: int = 200,
    ok: str = "",
    active_form: str = "",
    errors: dict[str, str] | None = None,
    kept: dict[str, str] | None = None,
    conflict: str = "",
) -> Response:
    detail = task_detail(session, task_id=task_id, user=user)
    template = "tasks/_detail.html" if is_htmx(request) else "tasks/detail.html"
    return render(
        request,
        template,
        {
            "d": detail,
            "ok_message": OK_MESSAGES.get(ok, ""),
            "ok_form": OK_FORMS.get(ok, ""),
            "active_form": active_form,
            "errors": errors or {},
            "kept": kept or {},
            "conflict": conflict,
            "evidence_limit": format_size(app_settings(request).evidence_max_bytes),
            "evidence_accept": ACCEPT_ATTRIBUTE,
        },
        status_code=status_code,
    )


def _render_form(
    request: Request,
    session: Session,
    *,
    values: TaskFormValues,
    task: Task | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
    conflict: str = "",
    current: TaskFormValues | None = None,
) -> Response:
    plan = current_plan(session) if task is None else get_plan(session, plan_id=task.plan_id)
    keep = [
        int(v)
        for v in (values.lead_unit_id, values.district_id, *values.supporting_unit_ids)
        if v.isascii() and v.isdigit() and int(v) <= ID_MAX
    ]
    if current is not None:
        keep += [int(v) for v in (current.lead_unit_id, *current.supporting_unit_ids)]
    district = values.district_id
    options = task_forms.form_options(
        session,
        keep_unit_ids=keep,
        district_id=int(district) if district.isascii() and district.isdigit() else None,
    )
    if is_htmx(request):
        template = "tasks/_form.html"
    else:
        template = "tasks/new.html" if task is None else "tasks/edit.html"
    return render(
        request,
        template,
        {
            "task": task,
            "values": values,
            "errors": errors or {},
            "options": options,
            "calendar": plan_calendar(session, plan),
            "conflict": conflict,
            "differences": (
                task_forms.differing_fields(values, current, options) if current else []
            ),
        },
        status_code=status_code,
    )


def _go_to(request: Request, *, task_id: int, ok: str) -> Response:
    """After a saved task form: the detail page (htmx navigates there itself)."""
    url = f"/tasks/{task_id}?ok={ok}"
    if is_htmx(request):
        return Response(status_code=200, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


def _discard(session: Session) -> None:
    """Drop whatever a refused action left in the session, so the page shows the stored task."""
    session.rollback()


# --- new ---------------------------------------------------------------------------------


@router.get("/new")
def new_task(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    permissions.ensure_team(user)
    return _render_form(request, session, values=TaskFormValues())


@router.post("/new")
def create_task(
    request: Request, session: SessionDep, user: CurrentUser, form: SubmittedForm
) -> Response:
    permissions.ensure_team(user)
    values = TaskFormValues.from_form(form)
    try:
        data = task_forms.task_create(values)
        plan = current_plan(session)
        task = tasks.create_task(session, actor=user, plan_id=plan.pk, data=data)
    except RuleViolation as exc:
        errors = FormErrors.of(exc).errors
    else:
        return _go_to(request, task_id=task.pk, ok="created")
    _discard(session)
    return _render_form(request, session, values=values, errors=errors, status_code=422)


# --- detail ------------------------------------------------------------------------------


@router.get("/{task_id}")
def show_task(
    request: Request, session: SessionDep, user: CurrentUser, task_id: TaskId, ok: str = ""
) -> Response:
    return _render_detail(request, session, task_id=task_id, user=user, ok=ok)


# --- edit --------------------------------------------------------------------------------


@router.get("/{task_id}/edit")
def edit_task_form(
    request: Request, session: SessionDep, user: CurrentUser, task: LoadedTask
) -> Response:
    permissions.ensure_team(user)
    return _render_form(request, session, values=_values_of(session, task), task=task)


def _values_of(session: Session, task: Task) -> TaskFormValues:
    supporting, programs = task_reads.link_ids(session, task_ids=[task.pk])[task.pk]
    return TaskFormValues.from_task(task, supporting_unit_ids=supporting, program_ids=programs)


@router.post("/{task_id}/edit")
def edit_task(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    task: LoadedTask,
    form: SubmittedForm,
) -> Response:
    permissions.ensure_team(user)
    task_id = task.pk
    values = TaskFormValues.from_form(form)
    try:
        data = task_forms.task_update(values)
        saved = tasks.update_task(session, actor=user, task_id=task_id, data=data)
    except RuleViolation as exc:
        errors = FormErrors.of(exc).errors
    except Conflict as exc:
        # Keep the user's edit, show what changed meanwhile, and let them save over it
        # knowingly: the form now carries the current version.
        _discard(session)
        current = _values_of(session, task_reads.get_task(session, task_id=task_id))
        values.version = current.version
        return _render_form(
            request,
            session,
            values=values,
            task=task,
            status_code=409,
            conflict=exc.message,
            current=current,
        )
    else:
        return _go_to(
            request, task_id=task_id, ok="saved" if saved.version != data.version else "unchanged"
        )
    _discard(session)
    return _render_form(request, session, values=values, task=task, errors=errors, status_code=422)


# --- actions on the detail page ----------------------------------------------------------


def act(
    request: Request,
    session: Session,
    *,
    user: User,
    task_id: int,
    action: str,
    run: Callable[[], Any],
    kept: dict[str, str],
    ok: str,
) -> Response:
    """Run one service call for the form `action`; answer with PRG, or the detail page
    showing why it was refused (422 next to the field, 409 with the current state)."""
    try:
        run()
    except RuleViolation as exc:
        status, errors, conflict = 422, FormErrors.of(exc).errors, ""
    except Conflict as exc:
        status, errors, conflict = 409, {}, exc.message
    else:
        if is_htmx(request):
            return _render_detail(request, session, task_id=task_id, user=user, ok=ok)
        return RedirectResponse(f"/tasks/{task_id}?ok={ok}#result", status_code=303)
    _discard(session)
    return _render_detail(
        request,
        session,
        task_id=task_id,
        user=user,
        status_code=status,
        active_form=action,
        errors=errors,
        kept=kept,
        conflict=conflict,
    )


@router.post("/{task_id}/progress")
def post_progress(
    request: Request, session: SessionDep, user: CurrentUser, task: LoadedTask, form: SubmittedForm
) -> Response:
    permissions.ensure_can_work_on(user, task)
    task_id = task.pk

    def run() -> None:
        data = task_forms.progress_update(form)
        tasks.update_progress(session, actor=user, task_id=task_id, data=data)

    return act(
        request,
        session,
        user=user,
        task_id=task_id,
        action="progress",
        run=run,
        kept=task_forms.kept_input(form, "progress_pct", "realisation", "note"),
        ok="progress",
    )


@router.post("/{task_id}/comments")
def post_comment(
    request: Request, session: SessionDep, user: CurrentUser, task: LoadedTask, form: SubmittedForm
) -> Response:
    permissions.ensure_can_work_on(user, task)
    task_id = task.pk

    def run() -> None:
        tasks.add_comment(session, actor=user, task_id=task_id, note=task_forms.note_text(form))

    return act(
        request,
        session,
        user=user,
        task_id=task_id,
        action="comment",
        run=run,
        kept=task_forms.kept_input(form, "note"),
        ok="comment",
    )


@router.post("/{task_id}/directives")
def post_directive(
    request: Request, session: SessionDep, user: CurrentUser, task: LoadedTask, form: SubmittedForm
) -> Response:
    permissions.ensure_can_direct(user)
    task_id = task.pk

    def run() -> None:
        tasks.add_directive(session, actor=user, task_id=task_id, note=task_forms.note_text(form))

    return act(
        request,
        session,
        user=user,
        task_id=task_id,
        action="directive",
        run=run,
        kept=task_forms.kept_input(form, "note"),
        ok="directive",
    )


@router.post("/{task_id}/directives/{directive_id:int}/follow-up")
def post_follow_up(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    task: LoadedTask,
    directive_id: int,
    form: SubmittedForm,
) -> Response:
    """The lead unit (or the team) answers a directive: a follow-up that closes it."""
    task_id = task.pk

    def run() -> None:
        directives.answer_directive(
            session,
            actor=user,
            task_id=task_id,
            directive_id=directive_id,
            note=task_forms.note_text(form),
        )

    return act(
        request,
        session,
        user=user,
        task_id=task_id,
        action=f"follow-up-{directive_id}",
        run=run,
        kept=task_forms.kept_input(form, "note"),
        ok="follow_up",
    )


@router.post("/{task_id}/decision")
def post_decision(
    request: Request, session: SessionDep, user: CurrentUser, task: LoadedTask, form: SubmittedForm
) -> Response:
    """An executive settles "perlu keputusan" with a recorded decision."""
    task_id = task.pk

    def run() -> None:
        given = task_forms.versioned_note(form)
        directives.record_decision(
            session, actor=user, task_id=task_id, version=given.version, note=given.note
        )

    return act(
        request,
        session,
        user=user,
        task_id=task_id,
        action="decision",
        run=run,
        kept=task_forms.kept_input(form, "note"),
        ok="decision",
    )


@router.post("/{task_id}/move")
def post_move(
    request: Request, session: SessionDep, user: CurrentUser, task: LoadedTask, form: SubmittedForm
) -> Response:
    permissions.ensure_can_work_on(user, task)
    task_id = task.pk

    def run() -> None:
        move = task_forms.task_move(form)
        task_forms.confirm_incomplete_review(
            form, progress_pct=task.progress_pct, status=move.status
        )
        tasks.move_task(session, actor=user, task_id=task_id, move=move)

    return act(
        request,
        session,
        user=user,
        task_id=task_id,
        action="move",
        run=run,
        kept=task_forms.kept_input(form, "status", "blocked_reason", "note", "confirm_incomplete"),
        ok="sent-for-review" if form.get("status") == TaskStatus.review.value else "moved",
    )


class NotedChange(Protocol):
    """A team decision that takes the task's version and a note: verify, reject, cancel."""

    def __call__(
        self, session: Session, /, *, actor: User, task_id: int, version: int, note: str
    ) -> Task: ...


def _noted_action(
    request: Request,
    session: Session,
    *,
    user: User,
    task: Task,
    form: FormData,
    action: str,
    service: NotedChange,
    ok: str,
) -> Response:
    permissions.ensure_team(user)
    task_id = task.pk

    def run() -> None:
        data = task_forms.versioned_note(form)
        service(session, actor=user, task_id=task_id, version=data.version, note=data.note)

    return act(
        request,
        session,
        user=user,
        task_id=task_id,
        action=action,
        run=run,
        kept=task_forms.kept_input(form, "note"),
        ok=ok,
    )


@router.post("/{task_id}/verify")
def post_verify(
    request: Request, session: SessionDep, user: CurrentUser, task: LoadedTask, form: SubmittedForm
) -> Response:
    return _noted_action(
        request,
        session,
        user=user,
        task=task,
        form=form,
        action="verify",
        service=tasks.verify_task,
        ok="verified",
    )


@router.post("/{task_id}/reject")
def post_reject(
    request: Request, session: SessionDep, user: CurrentUser, task: LoadedTask, form: SubmittedForm
) -> Response:
    return _noted_action(
        request,
        session,
        user=user,
        task=task,
        form=form,
        action="reject",
        service=tasks.reject_task,
        ok="rejected",
    )


@router.post("/{task_id}/cancel")
def post_cancel(
    request: Request, session: SessionDep, user: CurrentUser, task: LoadedTask, form: SubmittedForm
) -> Response:
    return _noted_action(
        request,
        session,
        user=user,
        task=task,
        form=form,
        action="cancel",
        service=tasks.cancel_task,
        ok="cancelled",
    )


@router.post("/{task_id}/restore")
def post_restore(
    request: Request, session: SessionDep, user: CurrentUser, task: LoadedTask, form: SubmittedForm
) -> Response:
    permissions.ensure_team(user)
    task_id = task.pk

    def run() -> None:
        version = task_forms.version_only(form)
        tasks.restore_task(session, actor=user, task_id=task_id, version=version)

    return act(
        request,
        session,
        user=user,
        task_id=task_id,
        action="restore",
        run=run,
        kept={},
        ok="restored",
    )
