"""The Kanban board (DESIGN §4 "/board"): the page, its fragments, moves and the polling check.

Filters travel in the query string (`unit`, `program`, `district`, `overdue=1`,
`needs_decision=1`, `q`, and `all=1` for a unit user who wants every task), on every URL the
board hands out: the filter form, lazy column pages, move forms and the poll.
"""

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from functools import cached_property
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup, escape
from sqlmodel import Session
from starlette.datastructures import FormData

from app import card_html
from app.auth import CurrentUser, SentCsrf, in_one_hop
from app.card_html import cached_cards
from app.config import Settings, SettingsDep
from app.db import SessionDep
from app.errors import Conflict, Forbidden, NotFound, RuleViolation
from app.forms import tasks as task_forms
from app.forms.submitted import SubmittedForm
from app.html_cache import HtmlCache
from app.htmx import is_htmx, trigger, vary_on_htmx
from app.models import BOARD_STATUSES, Plan, Role, TaskStatus, User
from app.path_ids import TaskId
from app.permissions import may_move_cards
from app.routes.task_filters import FilterQuery, FilterQueryDep
from app.services import board as board_service
from app.services import labels, plans, tasks
from app.services.calendar import PlanCalendar
from app.services.filters import TaskFilter
from app.services.lateness import Lateness
from app.services.reference_lists import FilterOptions, filter_options
from app.templating import env, render

router = APIRouter(prefix="/board", include_in_schema=False)

# Bump when the columns' markup changes, so browsers polling with an old ETag get the new one.
MARKUP_VERSION = "2"
# The most cards one lazy column page may ask for.
MAX_COLUMN_PAGE = 200
# The columns region and lazy column pages, rendered once per view and change stamps (the
# poll's ETag parts): every card write moves its column's stamp, so an entry is only ever
# served for the board state it was rendered from, and it replaces its view's older entry
# (app.html_cache). 100–200 KB each.
REGION_CACHE_ENTRIES = 32
region_cache = HtmlCache(REGION_CACHE_ENTRIES, one_per_view=True)


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


ShowAll = Annotated[str | None, Query(alias="all")]


async def board_query(
    user: CurrentUser, asked: FilterQueryDep, show_all: ShowAll = None
) -> BoardQuery:
    return board_query_of(user, asked, show_all)


def board_query_of(user: User, asked: FilterQuery, show_all: str | None) -> BoardQuery:
    """The page's filters (app.routes.task_filters); a unit user's bare /board is "my unit"."""
    filters = asked.filters
    viewer_unit_id = user.unit_id if user.role == Role.unit else None
    if viewer_unit_id is not None and not asked.given and show_all is None:
        filters = replace(filters, unit_id=viewer_unit_id)
    return BoardQuery(
        filters=filters, viewer_unit_id=viewer_unit_id, ignored=tuple(asked.ignored.values())
    )


BoardQueryDep = Annotated[BoardQuery, Depends(board_query)]


async def _as_viewer(
    request: Request,
    session: Session,
    settings: Settings,
    asked: FilterQuery,
    show_all: str | None,
    answer: Callable[[User, BoardQuery], Response],
    sent_csrf: str = "",  # a GET sends none
) -> Response:
    """`answer` for the signed-in viewer and their board query, in one thread-pool hop
    (app.auth.in_one_hop): the board's page, its poll, column pages and moves."""
    return await in_one_hop(
        request,
        session,
        settings,
        sent_csrf,
        lambda user: answer(user, board_query_of(user, asked, show_all)),
    )


def _drop_unknown(query: BoardQuery, options: FilterOptions) -> BoardQuery:
    filters, ignored = options.drop_unknown(query.filters, keep_unit_id=query.viewer_unit_id)
    return replace(query, filters=filters, ignored=tuple(dict.fromkeys([*query.ignored, *ignored])))


def _view_key(*, plan: Plan, user: User, query: BoardQuery, today: date, page_size: int) -> str:
    """What the columns region shows besides the cards' data: the markup, the viewer (its
    permission class, and its id, as the ETag is per user anyway), the filters, the day, and
    the plans' reference revision (unit, program and district names, holidays, the plan's
    dates), which no task write moves."""
    key = "|".join(
        str(part)
        for part in (
            MARKUP_VERSION,
            card_html.markup_version(env),
            user.id,
            user.role,
            user.unit_id,
            query.query_string,
            today.isoformat(),
            page_size,
            plan.public_revision,
        )
    )
    return hashlib.sha256(key.encode()).hexdigest()[:20]


def _etag(view: str, plan_seq: int, stats: dict[TaskStatus, board_service.ColumnStat]) -> str:
    """The view, the plan's change number, then each column's change stamp: a poll whose plan
    number is current is answered without counting anything, and one whose plan moved can
    still tell which columns changed. Weak: it names what the viewer sees, not the bytes
    (which compression changes)."""
    stamps = [stats[s].stamp for s in BOARD_STATUSES]
    return 'W/"' + ".".join([view, f"p{plan_seq}", *stamps]) + '"'


def _parts(tag: str) -> list[str]:
    """A tag's parts: view, plan number, then the column stamps."""
    return tag.strip().removeprefix("W/").strip('"').split(".")


def _sent_parts(header: str | None) -> list[list[str]]:
    """Each tag the browser sent, split into its parts."""
    return [_parts(tag) for tag in (header or "").split(",") if tag.strip()]


def _unchanged_tag(header: str | None, view: str, plan_seq: int) -> str | None:
    """The tag the browser sent for this view while the plan's change number was what it is
    now: then no task of the plan was written since, and the browser's copy is current."""
    for parts in _sent_parts(header):
        if len(parts) == 2 + len(BOARD_STATUSES) and parts[:2] == [view, f"p{plan_seq}"]:
            return 'W/"' + ".".join(parts) + '"'
    return None


def _etag_matches(header: str | None, etag: str) -> bool:
    current = _parts(etag)
    sent = _sent_parts(header)
    # The plan number may have moved through changes this view does not show.
    return any(p[:1] == current[:1] and p[2:] == current[2:] for p in sent) or ["*"] in sent


def _changed_columns(header: str | None, view: str, etag: str) -> list[TaskStatus] | None:
    """The columns whose stamp differs from the one the browser sent for this same view, or
    None when the browser's copy is of another view (or none): then it gets everything."""
    current = _parts(etag)
    for parts in _sent_parts(header):
        if parts[0] == view and len(parts) == len(current):
            return [
                s
                for s, old, new in zip(BOARD_STATUSES, parts[2:], current[2:], strict=True)
                if old != new
            ]
    return None


def _board_context(
    session: Session,
    *,
    plan: Plan,
    user: User,
    query: BoardQuery,
    page_size: int,
    calendar: PlanCalendar,
    today: date,
    stats: dict[TaskStatus, board_service.ColumnStat],
    etag: str,
    statuses: Sequence[TaskStatus] = BOARD_STATUSES,
) -> dict[str, Any]:
    """Everything the columns region (or the columns `statuses` of it) shows."""
    board = board_service.build_board(
        session,
        plan=plan,
        user=user,
        filters=query.filters,
        calendar=calendar,
        stats=stats,
        page_size=page_size,
        statuses=statuses,
        today=today,
        cached=cached_cards(env, query.query_string),
    )
    return {"board": board, "bq": query, "etag": etag}


# Where a kept region's ETag goes (plain characters: escaping leaves it as it is).
_ETAG_SLOT = "seratus-etag-slot"


def _write_times(plan: Plan, stats: Iterable[board_service.ColumnStat]) -> tuple[Any, ...]:
    """The part of a kept region's key that its ETag leaves out: when the plan was made and
    each column's latest write. A database reset or restored while the server runs may repeat
    the change numbers, never these times."""
    return (plan.created_at, *(stat.last_write for stat in stats))


def _columns_region(
    session: Session,
    *,
    plan: Plan,
    user: User,
    query: BoardQuery,
    page_size: int,
    calendar: PlanCalendar,
    lateness: Lateness,
    stats: dict[TaskStatus, board_service.ColumnStat],
    view: str,
) -> Markup:
    """The whole columns region's HTML, with its ETag. It is kept under the view (`_view_key`,
    which the caller has made already), every column's stamp and the filters it says were
    ignored, so a board whose columns nobody changed since is not built again; the ETag it
    carries (which also names the plan's number, moved by writes this view does not show)
    is put in as it is sent."""
    etag = _etag(view, plan.change_seq, stats)

    def render_region() -> str:
        context = _board_context(
            session,
            plan=plan,
            user=user,
            query=query,
            page_size=page_size,
            calendar=calendar,
            today=lateness.today,
            stats=stats,
            etag=_ETAG_SLOT,
        )
        return env.get_template("board/_columns.html").render(context)

    stamps = tuple(stat.stamp for stat in stats.values())
    key = (("region", view, query.ignored), (stamps, _write_times(plan, stats.values())))
    region = region_cache.get_or_render(key, render_region)
    return region.replace(_ETAG_SLOT, escape(etag))


def _board_page(
    request: Request,
    session: Session,
    *,
    user: User,
    query: BoardQuery,
    page_size: int,
) -> Response:
    plan = plans.current_plan(session)
    options = filter_options(session, plan)
    query = _drop_unknown(query, options)
    calendar = plans.plan_calendar(session, plan)
    lateness = Lateness.now(calendar)
    stats = board_service.column_counts(
        session, plan_id=plan.pk, filters=query.filters, lateness=lateness
    )
    region = _columns_region(
        session,
        plan=plan,
        user=user,
        query=query,
        page_size=page_size,
        calendar=calendar,
        lateness=lateness,
        stats=stats,
        view=_view_key(
            plan=plan, user=user, query=query, today=lateness.today, page_size=page_size
        ),
    )
    if is_htmx(request):
        return render(request, "_cached.html", {"html": region})
    context = {
        "plan": plan,
        "bq": query,
        "today": lateness.today,
        "day_label": calendar.day_label(lateness.today),
        "columns_html": region,
        "options": options,
        "may_move": may_move_cards(user),
    }
    return render(request, "board/board.html", context)


@router.get("")
async def board_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    asked: FilterQueryDep,
    show_all: ShowAll = None,
) -> Response:
    """The board; for htmx (the filter form) only the columns region. One thread-pool hop
    (`app.auth.in_one_hop`)."""

    def answer(user: User, query: BoardQuery) -> Response:
        return _board_page(
            request, session, user=user, query=query, page_size=settings.board_page_size
        )

    return await _as_viewer(request, session, settings, asked, show_all, answer)


def _not_modified(etag: str) -> Response:
    response = Response(status_code=304, headers={"ETag": etag, "Cache-Control": "no-cache"})
    vary_on_htmx(response)
    return response


@router.get("/columns")
async def board_columns(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    asked: FilterQueryDep,
    show_all: ShowAll = None,
) -> Response:
    """board.js's poll, every ~10 s from every open board: 304 when no task of the plan was
    written since the browser's copy (no query beyond the login and the plan), or when none
    the viewer sees was (one GROUP BY); else only the changed columns (out of band) when the
    browser's copy is of the same view, or the whole region.

    One thread-pool hop (`app.auth.in_one_hop`): a 304 costs what a bare page does."""

    def answer(user: User, query: BoardQuery) -> Response:
        return _poll_answer(request, session, settings=settings, user=user, query=query)

    return await _as_viewer(request, session, settings, asked, show_all, answer)


def _poll_answer(
    request: Request, session: Session, *, settings: Settings, user: User, query: BoardQuery
) -> Response:
    if not is_htmx(request):
        target = f"/board?{query.query_string}" if query.query_string else "/board"
        return RedirectResponse(target, status_code=303)
    plan = plans.current_plan(session)
    calendar = plans.plan_calendar(session, plan)
    lateness = Lateness.now(calendar)
    today = lateness.today
    page_size = settings.board_page_size
    view = _view_key(plan=plan, user=user, query=query, today=today, page_size=page_size)
    sent = request.headers.get("If-None-Match")
    current = _unchanged_tag(sent, view, plan.change_seq)
    if current is not None:
        return _not_modified(current)
    stats = board_service.column_counts(
        session,
        plan_id=plan.pk,
        filters=query.filters,
        lateness=lateness,
    )
    etag = _etag(view, plan.change_seq, stats)
    if _etag_matches(sent, etag):
        return _not_modified(etag)
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    changed = _changed_columns(sent, view, etag)
    if changed is None:
        region = _columns_region(
            session,
            plan=plan,
            user=user,
            query=query,
            page_size=page_size,
            calendar=calendar,
            lateness=lateness,
            stats=stats,
            view=view,
        )
        return render(request, "_cached.html", {"html": region}, headers=headers)
    context = _board_context(
        session,
        plan=plan,
        user=user,
        query=query,
        page_size=page_size,
        calendar=calendar,
        today=today,
        stats=stats,
        etag=etag,
        statuses=changed,
    )
    return render(request, "board/_columns_changed.html", context, headers=headers)


def _board_status(status: str) -> TaskStatus:
    if status not in {s.value for s in BOARD_STATUSES}:
        raise NotFound("Kolom papan tidak dikenal.")
    return TaskStatus(status)


@router.get("/column/{status}")
async def board_column(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    asked: FilterQueryDep,
    status: str,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    limit: Annotated[int | None, Query(ge=1, le=MAX_COLUMN_PAGE)] = None,
    show_all: ShowAll = None,
) -> Response:
    """The next cards of one column (htmx: when its end scrolls into view; else a page).
    One thread-pool hop (`app.auth.in_one_hop`)."""

    def answer(user: User, query: BoardQuery) -> Response:
        return _column_page(
            request,
            session,
            settings,
            user=user,
            query=query,
            status=status,
            offset=offset,
            limit=limit,
        )

    return await _as_viewer(request, session, settings, asked, show_all, answer)


def _column_page(
    request: Request,
    session: Session,
    settings: Settings,
    *,
    user: User,
    query: BoardQuery,
    status: str,
    offset: int,
    limit: int | None,
) -> Response:
    column_status = _board_status(status)
    plan = plans.current_plan(session)
    calendar = plans.plan_calendar(session, plan)
    lateness = Lateness.now(calendar)
    page_size = limit or settings.board_column_page_size

    def page_context() -> dict[str, Any]:
        cards, more = board_service.column_page(
            session,
            plan=plan,
            user=user,
            status=column_status,
            filters=query.filters,
            calendar=calendar,
            offset=offset,
            limit=page_size,
            cached=cached_cards(env, query.query_string),
            today=lateness.today,
        )
        return {
            "status": column_status,
            "cards": cards,
            "offset": offset,
            "next_offset": offset + page_size if more else None,
            "bq": query,
        }

    if not is_htmx(request):
        return render(request, "board/column.html", page_context())
    # The fragment is kept under the column's change stamp, like the columns region.
    stat = board_service.column_counts(
        session,
        plan_id=plan.pk,
        filters=query.filters,
        lateness=lateness,
        statuses=(column_status,),
    )[column_status]
    view = _view_key(plan=plan, user=user, query=query, today=lateness.today, page_size=page_size)
    key = (("column", view, column_status, offset), (stat.stamp, _write_times(plan, [stat])))
    html = region_cache.get_or_render(
        key, lambda: env.get_template("board/_column_page.html").render(page_context())
    )
    return render(request, "_cached.html", {"html": html})


def _move_page(
    request: Request,
    session: Session,
    *,
    user: User,
    query: BoardQuery,
    task_id: int,
    status_code: int = 200,
    error: dict[str, Any] | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    plan = plans.current_plan(session)
    calendar = plans.plan_calendar(session, plan)
    card = board_service.card_for(session, task_id=task_id, plan=plan, user=user, calendar=calendar)
    if card is None:
        raise NotFound("Tugas tidak ditemukan di papan.")
    if not card.move_targets:
        # Nothing this viewer may do with the card: the refusal itself, or why not.
        raise Forbidden(
            error["message"] if error else f"Anda tidak dapat memindahkan {card.task.code}."
        )
    context = {
        "card": card,
        "bq": query,
        "error": error,
        "values": values or {},
        "selected": (values or {}).get("status"),
    }
    return render(request, "board/move.html", context, status_code=status_code)


@router.get("/tasks/{task_id}/move")
def move_form(
    request: Request, session: SessionDep, user: CurrentUser, query: BoardQueryDep, task_id: TaskId
) -> Response:
    """A card's own move form: "Ubah status…" without JavaScript (board.js opens the
    board's move dialog instead)."""
    return _move_page(request, session, user=user, query=query, task_id=task_id)


@router.post("/tasks/{task_id}/move")
async def move_task(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    sent_csrf: SentCsrf,
    asked: FilterQueryDep,
    task_id: TaskId,
    form: SubmittedForm,
    show_all: ShowAll = None,
) -> Response:
    """A move: a drop or the move dialog (htmx sends both), or the card's move page. htmx
    gets the card and the headers of the two columns it touched (out of band), or the
    refusal, on which board.js puts a dropped card back; a plain form gets 303 back to the
    board, or its move page again with the reason beside the field. One thread-pool hop, as
    the poll (`app.auth.in_one_hop`)."""

    def answer(user: User, query: BoardQuery) -> Response:
        return _move(request, session, user=user, query=query, task_id=task_id, form=form)

    return await _as_viewer(request, session, settings, asked, show_all, answer, sent_csrf)


def _move(
    request: Request,
    session: Session,
    *,
    user: User,
    query: BoardQuery,
    task_id: int,
    form: FormData,
) -> Response:
    try:
        move = task_forms.task_move(form)
        task, from_status = tasks.move_card(session, actor=user, task_id=task_id, move=move)
    except (Forbidden, Conflict, RuleViolation) as exc:
        if is_htmx(request):
            raise  # app.main renders the message
        session.rollback()
        return _move_page(
            request,
            session,
            user=user,
            query=query,
            task_id=task_id,
            status_code=exc.status_code,
            error={"message": exc.message, "field": exc.field},
            values=task_forms.kept_input(form, "status", "blocked_reason", "note"),
        )
    if not is_htmx(request):
        target = f"/board?{query.query_string}" if query.query_string else "/board"
        return RedirectResponse(f"{target}#task-{task_id}", status_code=303)
    plan = plans.get_plan(session, plan_id=task.plan_id)
    calendar = plans.plan_calendar(session, plan)
    card = board_service.card_for(session, task_id=task_id, plan=plan, user=user, calendar=calendar)
    if card is None:
        raise NotFound("Tugas tidak ditemukan.")
    # Only the columns the card left and entered changed by this move; the others' headers
    # are the poll's to refresh.
    stats = board_service.column_counts(
        session,
        plan_id=task.plan_id,
        filters=query.filters,
        lateness=Lateness.now(calendar),
        statuses=[s for s in BOARD_STATUSES if s in (from_status, move.status)],
    )
    response = render(request, "board/_moved.html", {"card": card, "stats": stats, "bq": query})
    # A reorder within a column keeps the version (and writes no event); a move bumps it.
    if task.version == move.version:
        message = f"Urutan {task.code} di kolom {labels.STATUS_LABELS[move.status]} diperbarui."
    elif move.status == TaskStatus.review:
        message = f"{task.code} dikirim untuk diverifikasi; Tim Transisi akan memeriksanya."
    else:
        message = f"Status {task.code} diubah ke {labels.STATUS_LABELS[move.status]}."
    trigger(response, "toast", message=message, kind="ok")
    return response
