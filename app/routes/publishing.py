"""The team's publishing controls on the task page: list a task on the public page, mark a
photo of its evidence public. Both answer like the task page's other forms (PRG, or the
detail re-rendered by htmx)."""

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.auth import CurrentUser
from app.db import SessionDep
from app.forms import tasks as task_forms
from app.forms.submitted import SubmittedForm
from app.path_ids import EvidenceId
from app.routes.tasks import OK_MESSAGES, LoadedTask, act
from app.services import publishing

router = APIRouter(prefix="/tasks", tags=["publishing"], include_in_schema=False)

OK_MESSAGES.update(
    {
        "public-on": "Tugas ini tampil di halaman publik (pada program yang dipublikasikan).",
        "public-off": "Tugas ini tidak lagi tampil di halaman publik.",
        "photo-public-on": "Foto ditandai publik; tampil setelah tugas Selesai.",
        "photo-public-off": "Foto tidak lagi ditampilkan di halaman publik.",
    }
)


def _wanted(form: SubmittedForm) -> bool:
    return task_forms.text_field(form, "public") == "1"


@router.post("/{task_id}/public")
def post_task_public(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    task: LoadedTask,
    form: SubmittedForm,
) -> Response:
    task_id = task.pk
    public = _wanted(form)
    return act(
        request,
        session,
        user=user,
        task_id=task_id,
        action="public",
        run=lambda: publishing.set_task_public(session, actor=user, task_id=task_id, public=public),
        kept={},
        ok="public-on" if public else "public-off",
    )


@router.post("/{task_id}/evidence/{evidence_id}/public")
def post_evidence_public(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    task: LoadedTask,
    evidence_id: EvidenceId,
    form: SubmittedForm,
) -> Response:
    task_id = task.pk
    public = _wanted(form)
    return act(
        request,
        session,
        user=user,
        task_id=task_id,
        action="evidence",
        run=lambda: publishing.set_evidence_public(
            session, actor=user, task_id=task_id, evidence_id=evidence_id, public=public
        ),
        kept={},
        ok="photo-public-on" if public else "photo-public-off",
    )
