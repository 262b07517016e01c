"""JSON API v1 for directives as a feature (DESIGN §2 "Directive"): a task's directives with
their state, the lead unit's follow-up (tindak lanjut) that answers one, and an executive's
decision (keputusan) that settles "perlu keputusan". Giving a directive is
`POST /api/v1/tasks/{task_id}/directives` (app.routes.api); the plan's open and answered
directives are in `GET /api/v1/dashboard`.

The same services as the task page's forms, so the same permissions (checked there) and
the same events in the history.
"""

from datetime import datetime

from fastapi import APIRouter
from sqlmodel import Field, SQLModel

from app.auth import ApiUser
from app.db import SessionDep
from app.models import ID_MAX, NOTE_MAX, TaskPublic, TaskStatus
from app.path_ids import TaskId
from app.routes.api import errors, operation_id
from app.services import directives, task_reads
from app.services.directives import DirectiveSummary, DirectiveView
from app.text_input import MultiLineText

router = APIRouter(prefix="/api/v1", tags=["directives"], generate_unique_id_function=operation_id)


class FollowUpPublic(SQLModel):
    event_id: int = Field(description="The `follow_up` event in the task's history.")
    actor_name: str
    at: datetime
    note: str = Field(description="The follow-up (tindak lanjut) as written.")


class DirectivePublic(SQLModel):
    id: int = Field(description="The `directive` event's id; a follow-up names it.")
    task_id: int
    task_code: str
    task_title: str
    task_status: TaskStatus
    author_name: str
    label: str = Field(
        description="By the author's office: 'Arahan Bupati', 'Arahan Wakil Bupati', "
        "'Arahan Sekretaris Daerah', or 'Arahan Pimpinan'."
    )
    at: datetime
    note: str
    is_open: bool = Field(description="True until a follow-up answers it.")
    age_days: int = Field(
        description="Days since it was given (open), or from given to answered (answered), "
        "in the plan's timezone."
    )
    follow_up: FollowUpPublic | None = Field(description="The answer; null while open.")


class DirectivesSummaryPublic(SQLModel):
    open_count: int
    answered_count: int
    oldest_open_days: int = Field(description="Age of the oldest open directive (0: none).")
    open: list[DirectivePublic] = Field(description="Open directives, oldest first.")
    answered: list[DirectivePublic] = Field(description="Answered ones, latest answer first.")


class FollowUpCreate(SQLModel):
    directive_id: int = Field(
        ge=1, le=ID_MAX, description="The directive answered: its `id` (a task may have several)."
    )
    note: MultiLineText = Field(min_length=1, max_length=NOTE_MAX)


class DecisionCreate(SQLModel):
    version: int = Field(ge=1, le=ID_MAX, description="The task version the client saw.")
    note: MultiLineText = Field(
        min_length=1, max_length=NOTE_MAX, description="The decision (keputusan) as taken."
    )


def directive_public(view: DirectiveView) -> DirectivePublic:
    answer = view.follow_up
    return DirectivePublic(
        id=view.event_id,
        task_id=view.task_id,
        task_code=view.task_code,
        task_title=view.task_title,
        task_status=view.task_status,
        author_name=view.author_name,
        label=view.label,
        at=view.at,
        note=view.note,
        is_open=view.is_open,
        age_days=view.age_days,
        follow_up=None
        if answer is None
        else FollowUpPublic(
            event_id=answer.event_id, actor_name=answer.actor_name, at=answer.at, note=answer.note
        ),
    )


def summary_public(summary: DirectiveSummary) -> DirectivesSummaryPublic:
    return DirectivesSummaryPublic(
        open_count=summary.open_count,
        answered_count=summary.answered_count,
        oldest_open_days=summary.oldest_open_days,
        open=[directive_public(v) for v in summary.open],
        answered=[directive_public(v) for v in summary.answered],
    )


@router.get(
    "/tasks/{task_id}/directives",
    summary="A task's directives",
    description="The task's directives, oldest first, each open or with the follow-up that "
    "answered it.",
    responses=errors(401, 404, 422),
)
def list_task_directives(
    task_id: TaskId, user: ApiUser, session: SessionDep
) -> list[DirectivePublic]:
    return [directive_public(v) for v in directives.directives_of_task(session, task_id=task_id)]


@router.post(
    "/tasks/{task_id}/follow-ups",
    summary="Answer a directive (lead unit or team)",
    description="A follow-up (tindak lanjut) that answers and closes one open directive of "
    "the task; recorded as a `follow_up` event naming it. The lead unit or the team; not on "
    "a cancelled task; each directive is answered once.",
    responses=errors(
        401,
        403,
        404,
        422,
        e404="No task with this id, or no directive `directive_id` on this task (`field` "
        "names it).",
        e422="Invalid input naming the field; also an empty `note`, a directive already "
        "answered, or a cancelled task. Nothing was changed.",
    ),
)
def answer_directive(
    task_id: TaskId, data: FollowUpCreate, user: ApiUser, session: SessionDep
) -> TaskPublic:
    task = directives.answer_directive(
        session, actor=user, task_id=task_id, directive_id=data.directive_id, note=data.note
    )
    return task_reads.task_public(session, task)


@router.post(
    "/tasks/{task_id}/decisions",
    summary="Record a decision (executive)",
    description='An executive settles "perlu keputusan": a `decision` event with the '
    "decision in its note, clearing `needs_decision`. Only on a task waiting for one.",
    responses=errors(
        401,
        403,
        404,
        409,
        422,
        e422="Invalid input naming the field; also an empty `note`, or a task not waiting "
        "for a decision. Nothing was changed.",
    ),
)
def record_decision(
    task_id: TaskId, data: DecisionCreate, user: ApiUser, session: SessionDep
) -> TaskPublic:
    task = directives.record_decision(
        session, actor=user, task_id=task_id, version=data.version, note=data.note
    )
    return task_reads.task_public(session, task)
