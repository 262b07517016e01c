"""The Kanban board (DESIGN §4 "/board"): the page, its fragments, moves and the polling check.

Filters travel in the query string (`unit`, `program`, `district`, `overdue=1`,
`needs_decision=1`, `q`, and `all=1` for a unit user who wants every task), on every URL the
board hands out: the filter form, lazy column pages, move forms and the poll.
"""

import hashlib
from dataclasses import dataclass, replace
from datetime import date
from functools import cached_property
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from app.auth import CurrentUser
from app.config import SettingsDep
from app.db import SessionDep
from app.errors import Conflict, Forbidden, NotFound, RuleViolation
from app.htmx import is_htmx, trigger, vary_on_htmx
from app.models import BOARD_STATUSES, ID_MAX, NOTE_MAX, Plan, Role, TaskMove, TaskStatus, User
from app.path_ids import TaskId
from app.services import board as board_service
from app.services import labels, plans, tasks
from app.services.calendar import PlanCalendar
from app.services.filters import Q_MAX, TaskFilter, parse_filter_id
from app.services.lateness import Lateness
from app.services.reference_lists import FilterOptions, filter_options
from app.templating import render

router = APIRouter(prefix="/board", include_in_schema=False)

# Bump when the columns' markup changes, so browsers polling with an old ETag get the new one.
MARKUP_VERSION = "2"
TRUE_VALUES = frozenset({"1", "true", "on", "ya"})
FALSE_VALUES = frozenset({"", "0", "false", "off", "tidak"})


@dataclass(frozen=True)
class BoardQuery:
    """The board's filters as asked for, normalised, plus what had to be ignored."""

    filters: TaskFilter
    # The unit of a unit user: their default view is "my unit".
    viewer_unit_id: int | None = None
    ignored: tuple[str, ...] = ()

    @property
    def params(self) -> dict[str, str]:
        params = self.filters.query_params()
        if not params and self.viewer_unit_id is not None:
            # A bare /board means "my unit" for a unit user; `all=1` keeps "everything".
            params["all"] = "1"
        return params

    @cached_property  # every card's move form carries it
    def query_string(self) -> str:
        return urlencode(self.params)

    @property
    def is_my_unit(self) -> bool:
        return self.viewer_unit_id is not None and self.filters.unit_id == self.viewer_unit_id


def _parse_flag(raw: str | None, label: str, ignored: list[str]) -> bool:
    value = (raw or "").strip().lower()
    if value in TRUE_VALUES:
        return True
    if value not in FALSE_VALUES:
        ignored.append(label)
    return False


def board_query(
    user: CurrentUser,
    unit: str | None = None,
    program: str | None = None,
    district: str | None = None,
    overdue: str | None = None,
    needs_decision: str | None = None,
    q: str | None = None,
    show_all: Annotated[str | None, Query(alias="all")] = None,
) -> BoardQuery:
    """Read the filters leniently: a malformed value is ignored (and said so), never a 500."""
    ignored: list[str] = []
    text = (q or "").strip()
    if len(text) > Q_MAX:
        text = text[:Q_MAX].strip()
        ignored.append(f"kata kunci dipotong menjadi {Q_MAX} karakter")
    filters = TaskFilter(
        unit_id=parse_filter_id(unit, "perangkat daerah / kecamatan", ignored),
        program_id=parse_filter_id(program, "program", ignored),
        district_id=parse_filter_id(district, "kecamatan", ignored),
        overdue=_parse_flag(overdue, "terlambat", ignored),
        needs_decision=_parse_flag(needs_decision, "perlu keputusan", ignored),
        q=text,
    )
    viewer_unit_id = user.unit_id if user.role == Role.unit else None
    given = (unit, program, district, overdue, needs_decision, q, show_all)
    if viewer_unit_id is not None and all(value is None for value in given):
        filters = replace(filters, unit_id=viewer_unit_id)
    return BoardQuery(filters=filters, viewer_unit_id=viewer_unit_id, ignored=tuple(ignored))


BoardQueryDep = Annotated[BoardQuery, Depends(board_query)]


def _drop_unknown(query: BoardQuery, options: FilterOptions) -> BoardQuery:
    filters, ignored = options.drop_unknown(query.filters, keep_unit_id=query.viewer_unit_id)
    return replace(query, filters=filters, ignored=tuple(dict.fromkeys([*query.ignored, *ignored])))


def _etag(*, stamp: int, user: User, query: BoardQuery, today: date, page_size: int) -> str:
    """Changes when any task of the plan changes, the day turns, or the view differs."""
    key = "|".join(
        str(part)
        for part in (
            MARKUP_VERSION,
            stamp,
            user.id,
            user.role,
            user.unit_id,
            query.query_string,
            today.isoformat(),
            page_size,
        )
    )
    return '"' + hashlib.sha256(key.encode()).hexdigest()[:32] + '"'


def _etag_matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    sent = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    return etag in sent or "*" in sent


def _board_context(
    session: Session,
    *,
    plan: Plan,
    stamp: int,
    user: User,
    query: BoardQuery,
    page_size: int,
) -> dict[str, Any]:
    """Everything the columns region shows; the stamp is read before the board is built, so
    a change made meanwhile shows up at the next poll rather than being hidden by the ETag."""
    calendar = plans.plan_calendar(session, plan)
    board = board_service.build_board(
        session,
        plan=plan,
        user=user,
        filters=query.filters,
        calendar=calendar,
        stamp=stamp,
        page_size=page_size,
    )
    today = calendar.today()
    return {
        "board": board,
        "bq": query,
        "today": today,
        "day_label": calendar.day_label(today),
        "etag": _etag(stamp=stamp, user=user, query=query, today=today, page_size=page_size),
    }


def _board_page(
    request: Request,
    session: Session,
    *,
    user: User,
    query: BoardQuery,
    page_size: int,
    status_code: int = 200,
    error: dict[str, Any] | None = None,
) -> Response:
    options = filter_options(session)
    query = _drop_unknown(query, options)
    plan = plans.current_plan(session)
    stamp = board_service.board_stamp(session, plan_id=plan.id)  # type: ignore[arg-type]
    context = _board_context(
        session, plan=plan, stamp=stamp, user=user, query=query, page_size=page_size
    )
    context.update(options=options, error=error)
    template = "board/_columns.html" if is_htmx(request) else "board/board.html"
    return render(request, template, context, status_code=status_code)


@router.get("")
def board_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: CurrentUser,
    query: BoardQueryDep,
) -> Response:
    """The board; for htmx (the filter form) only the columns region."""
    return _board_page(request, session, user=user, query=query, page_size=settings.board_page_size)


@router.get("/columns")
def board_columns(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: CurrentUser,
    query: BoardQueryDep,
) -> Response:
    """The columns region for board.js's poll: 304 without building anything when the
    plan's change stamp (and the day, and the view) are what the browser already has."""
    if not is_htmx(request):
        target = f"/board?{query.query_string}" if query.query_string else "/board"
        return RedirectResponse(target, status_code=303)
    plan = plans.current_plan(session)
    stamp = board_service.board_stamp(session, plan_id=plan.id)  # type: ignore[arg-type]
    today = PlanCalendar.of(plan).today()
    page_size = settings.board_page_size
    etag = _etag(stamp=stamp, user=user, query=query, today=today, page_size=page_size)
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    if _etag_matches(request.headers.get("If-None-Match"), etag):
        response = Response(status_code=304, headers=headers)
        vary_on_htmx(response)
        return response
    context = _board_context(
        session, plan=plan, stamp=stamp, user=user, query=query, page_size=page_size
    )
    return render(request, "board/_columns.html", context, headers=headers)


def _board_status(status: str) -> TaskStatus:
    if status not in {s.value for s in BOARD_STATUSES}:
        raise NotFound("Kolom papan tidak dikenal.")
    return TaskStatus(status)


@router.get("/column/{status}")
def board_column(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: CurrentUser,
    query: BoardQueryDep,
    status: str,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> Response:
    """The next cards of one column (htmx: when its end scrolls into view; else a page)."""
    column_status = _board_status(status)
    plan = plans.current_plan(session)
    calendar = plans.plan_calendar(session, plan)
    page_size = settings.board_page_size
    # One card more than shown tells whether another page follows.
    cards = board_service.column_page(
        session,
        plan=plan,
        user=user,
        status=column_status,
        filters=query.filters,
        calendar=calendar,
        offset=offset,
        limit=page_size + 1,
    )
    context = {
        "status": column_status,
        "cards": cards[:page_size],
        "offset": offset,
        "next_offset": offset + page_size if len(cards) > page_size else None,
        "bq": query,
    }
    template = "board/_column_page.html" if is_htmx(request) else "board/column.html"
    return render(request, template, context)


@router.post("/tasks/{task_id}/move")
def move_task(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: CurrentUser,
    query: BoardQueryDep,
    task_id: TaskId,
    status: Annotated[TaskStatus, Form()],
    version: Annotated[int, Form(ge=1, le=ID_MAX)],
    after_id: Annotated[int | None, Form(ge=1, le=ID_MAX)] = None,
    blocked_reason: Annotated[str, Form(max_length=NOTE_MAX)] = "",
    note: Annotated[str, Form(max_length=NOTE_MAX)] = "",
) -> Response:
    """A move from the "Pindahkan ke…" form or a drop. htmx gets the card and the column
    headers (out of band); a plain form gets 303 back to the board, or on refusal the board
    again with the reason beside the card."""
    move = TaskMove(
        status=status,
        version=version,
        after_id=after_id,
        blocked_reason=blocked_reason,
        note=note,
    )
    try:
        task = tasks.move_task(session, actor=user, task_id=task_id, move=move)
    except (Forbidden, Conflict, RuleViolation) as exc:
        if is_htmx(request):
            raise  # app.main renders the message; board.js snaps the card back
        session.rollback()
        error = {"message": exc.message, "field": exc.field, "task_id": task_id}
        return _board_page(
            request,
            session,
            user=user,
            query=query,
            page_size=settings.board_page_size,
            status_code=exc.status_code,
            error=error,
        )
    if not is_htmx(request):
        target = f"/board?{query.query_string}" if query.query_string else "/board"
        return RedirectResponse(f"{target}#task-{task_id}", status_code=303)
    plan = plans.get_plan(session, plan_id=task.plan_id)
    calendar = plans.plan_calendar(session, plan)
    card = board_service.card_for(session, task_id=task_id, user=user, calendar=calendar)
    if card is None:
        raise NotFound("Tugas tidak ditemukan.")
    counts = board_service.column_counts(
        session,
        plan_id=task.plan_id,
        filters=query.filters,
        lateness=Lateness.now(calendar),
    )
    response = render(request, "board/_moved.html", {"card": card, "counts": counts, "bq": query})
    # A reorder within a column keeps the version (and writes no event); a move bumps it.
    if task.version == version:
        message = f"Urutan {task.code} di kolom {labels.STATUS_LABELS[status]} diperbarui."
    elif status == TaskStatus.review:
        message = f"{task.code} dikirim untuk diverifikasi; Tim Transisi akan memeriksanya."
    else:
        message = f"Status {task.code} diubah ke {labels.STATUS_LABELS[status]}."
    trigger(response, "toast", message=message, kind="ok")
    return response
