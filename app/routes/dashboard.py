"""The executive dashboard (DESIGN §4 "/dashboard") and its per-program and per-unit pages.

The burndown's filters travel in the query string (`unit`, `program`, `kind`, `district`,
`measure=weight`): a plain GET form that works without JavaScript; with htmx the same request
answers only the burndown region (and `hx-push-url` keeps the URL in step).
"""

from collections.abc import Hashable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from markupsafe import Markup
from sqlmodel import Session

from app.auth import CurrentUser, in_one_hop
from app.config import SettingsDep
from app.db import SessionDep, engine_of, open_session
from app.html_cache import HtmlCache
from app.htmx import is_htmx
from app.models import Plan
from app.path_ids import ProgramId, UnitId
from app.routes.task_filters import FilterQueryDep
from app.services import curve, holiday_source, letterhead, plans, rag, stocktake
from app.services import dashboard as dashboard_service
from app.services.burndown import MEASURES, Measure
from app.services.dashboard import Chart
from app.services.dashboard_stamp import dashboard_stamp
from app.services.filters import TaskFilter
from app.shared_builds import SharedBuilds
from app.templating import env, render

router = APIRouter(prefix="/dashboard", include_in_schema=False)

# Each filter, measure and chart view of the page and of its chart region is one entry of
# ~130 KB; a plan state that has moved on leaves its entries to age out.
BODY_CACHE_ENTRIES = 48


@dataclass(frozen=True)
class DashboardQuery:
    """The burndown's filters and measure as asked for, normalised, plus what was ignored."""

    filters: TaskFilter
    measure: Measure = "count"
    ignored: tuple[str, ...] = ()
    chart: Chart = "curve"

    @property
    def params(self) -> dict[str, str]:
        params = self.filters.query_params()
        if self.measure != "count":
            params["measure"] = self.measure
        return params

    @property
    def query_string(self) -> str:
        return urlencode(self.params)

    # The chart switch's links, built here so the template carries no chart keys as text.
    @property
    def shows_burndown(self) -> bool:
        return self.chart == "burndown"

    @property
    def curve_query(self) -> str:
        return urlencode({**self.params, "chart": "curve"})

    @property
    def burndown_query(self) -> str:
        return urlencode({**self.params, "chart": "burndown"})


def _parse_measure(raw: str | None, ignored: list[str]) -> Measure:
    value = (raw or "").strip()
    if value in MEASURES:
        return "weight" if value == "weight" else "count"
    if value:
        ignored.append("satuan")
    return "count"


async def dashboard_query(
    asked: FilterQueryDep,
    measure: str | None = None,
    chart: str | None = None,
) -> DashboardQuery:
    """The page's filters (app.routes.task_filters), only those that choose the charts' tasks,
    with the measure and the chart shown."""
    scope = asked.scope()
    ignored = list(scope.ignored.values())
    return DashboardQuery(
        filters=scope.filters,
        measure=_parse_measure(measure, ignored),
        ignored=tuple(ignored),
        chart=_parse_chart(chart),
    )


def _parse_chart(raw: str | None) -> Chart:
    return "burndown" if (raw or "").strip() == "burndown" else "curve"


DashboardQueryDep = Annotated[DashboardQuery, Depends(dashboard_query)]


async def _measure_only(measure: str | None = None) -> Measure:
    return _parse_measure(measure, [])


MeasureDep = Annotated[Measure, Depends(_measure_only)]


async def _chart_only(chart: str | None = None) -> Chart:
    return _parse_chart(chart)


ChartDep = Annotated[Chart, Depends(_chart_only)]

RAG_RULE = {
    "late_share": "seperempat",
    "blocked_days": rag.RED_BLOCKED_DAYS,
    "lag": round(100 * rag.RED_LAG),
}


def _burndown_context(
    view: dashboard_service.BurndownView, query: DashboardQuery
) -> dict[str, Any]:
    return {"bd": view, "dq": query, "rag_rule": RAG_RULE, "printed_at": datetime.now(UTC)}


# The plan-wide picture, rendered once per (plan state, date, filters, chart) and kept: the
# key's stamp is read from the database on every request, so no process serves it stale.
body_cache = HtmlCache(BODY_CACHE_ENTRIES, one_per_view=True)


def _body_state(
    session: Session, plan: Plan, day: dashboard_service.PlanDay
) -> tuple[Hashable, ...]:
    """What a body's key holds besides its view (the query): the plan's state and the day."""
    return (dashboard_stamp(session, plan), day.today)


# While writes keep moving the stamp, the requests that find the page stale share builds
# (app.shared_builds): one at a time per view in each process.
shared_bodies: SharedBuilds[Markup] = SharedBuilds()


def _filter_form(reference: dashboard_service.Reference) -> dict[str, Any]:
    """What the chart's filter form needs besides the query: its choices and its action."""
    return {"options": reference.options, "action": "/dashboard"}


def _render_body(
    session: Session,
    *,
    plan: Plan,
    query: DashboardQuery,
    reference: dashboard_service.Reference,
) -> str:
    dashboard = dashboard_service.build_dashboard(
        session,
        plan=plan,
        filters=query.filters,
        measure=query.measure,
        chart=query.chart,
        reference_data=reference,
    )
    assert dashboard.burndown is not None  # built with its chart
    context = _burndown_context(dashboard.burndown, query) | _filter_form(reference)
    context |= {"d": dashboard, "stale_days": dashboard_service.STALE_DAYS}
    return env.get_template("dashboard/_body.html").render(context)


@router.get("")
async def dashboard_page(
    request: Request, session: SessionDep, settings: SettingsDep, query: DashboardQueryDep
) -> Response:
    """The dashboard; for htmx (the burndown's filter form) only the burndown region. One
    thread-pool hop (app.auth.in_one_hop)."""
    return await in_one_hop(
        request, session, settings, "", lambda _user: _dashboard(request, session, query)
    )


def _dashboard(request: Request, session: Session, query: DashboardQuery) -> Response:
    plan = plans.current_plan(session)
    reference = dashboard_service.kept_reference(session, plan=plan)
    filters, ignored = reference.options.drop_unknown(query.filters)
    query = replace(query, filters=filters, ignored=(*query.ignored, *ignored))
    now = datetime.now(UTC)
    day = dashboard_service.plan_day(session, plan, now)
    state = _body_state(session, plan, day)
    if is_htmx(request):

        def render_region() -> str:
            view = dashboard_service.burndown_view(
                session,
                plan=plan,
                filters=query.filters,
                measure=query.measure,
                chart=query.chart,
            )
            return env.get_template("dashboard/_burndown.html").render(
                _burndown_context(view, query) | _filter_form(reference)
            )

        region = body_cache.get_or_render((("region", query), state), render_region)
        return render(request, "_cached.html", {"html": region})

    body_key = (("page", query), state)

    def build_afresh() -> Markup:
        # The tasks and events are read in a session of the build's own, begun after every
        # request it serves asked (app.shared_builds); kept under this request's stamp, which
        # is no newer than what it shows.
        def render_body() -> str:
            with open_session(engine_of(request)) as fresh:
                return _render_body(fresh, plan=plan, query=query, reference=reference)

        return body_cache.get_or_render(body_key, render_body)

    body = body_cache.get(body_key)
    if body is None:
        # Wait for a build, or make one, holding no connection (the read transaction ends; the
        # session reads again below): a build reads in a session of its own, and requests
        # waiting while holding theirs could leave the pool none for it. A build under way
        # that was begun under this request's state stores its page under `body_key`.
        session.commit()
        body = shared_bodies.get(
            (plan.pk, day.today, query), build_afresh, kept=lambda: body_cache.get(body_key)
        )
    context = {
        "day": day,
        "dq": query,
        "body": body,
        "printed_at": now,
        "missing_holiday_years": holiday_source.years_without_holidays(session, plan),
    }
    return render(request, "dashboard/dashboard.html", context)


@router.get("/tasks")
def task_list_page(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    query: DashboardQueryDep,
    show: str | None = None,
) -> Response:
    """The tasks behind a headline figure (`show`: done, planned, late, blocked, decision,
    review, attention), under the scope filters; an unknown `show` lists the attention list."""
    plan = plans.current_plan(session)
    reference = dashboard_service.reference(session)
    filters, _ = reference.options.drop_unknown(query.filters)
    kind = (show or "").strip()
    chosen = dashboard_service.Show(kind) if kind in dashboard_service.Show.__members__ else None
    listing = dashboard_service.task_list(
        session,
        plan=plan,
        show=chosen or dashboard_service.Show.attention,
        filters=filters,
        reference_data=reference,
    )
    return render(request, "dashboard/tasks.html", {"listing": listing, "dq": query})


@router.get("/since")
def since_last_meeting(
    request: Request, session: SessionDep, user: CurrentUser, since: str | None = None
) -> Response:
    """ "Sejak rapat terakhir": what changed from a date (default seven days ago)."""
    plan = plans.current_plan(session)
    chosen, problem = _parse_date(since)
    report = stocktake.stocktake(session, plan=plan, since=chosen)
    context = {"st": report, "problem": problem, "printed_at": datetime.now(UTC)}
    return render(request, "dashboard/since.html", context)


def _parse_date(raw: str | None) -> tuple[date | None, str]:
    value = (raw or "").strip()
    if not value:
        return None, ""
    try:
        return date.fromisoformat(value), ""
    except ValueError:
        return None, "Tanggal tidak dikenali; dipakai tujuh hari terakhir."


@router.get("/curve.csv")
def curve_csv_download(
    user: CurrentUser, session: SessionDep, query: DashboardQueryDep
) -> Response:
    """The Kurva S under the filters as CSV (the page's "Data Kurva S — CSV")."""
    plan = plans.current_plan(session)
    series = curve.curve_series(session, plan=plan, filters=query.filters, measure=query.measure)
    return Response(
        content=("\ufeff" + curve.curve_csv(series)).encode(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="kurva-s.csv"'},
    )


@router.get("/letterhead-logo")
def letterhead_logo(session: SessionDep, user: CurrentUser) -> Response:
    """The current plan's letterhead logo (404 when none is set)."""
    plan = plans.current_plan(session)
    content, media_type = letterhead.logo(session, plan=plan)
    return Response(
        content=content,
        media_type=media_type,
        headers={"Cache-Control": "private, no-cache", "X-Content-Type-Options": "nosniff"},
    )


def _group_response(
    request: Request,
    session: SessionDep,
    *,
    measure: Measure,
    chart: Chart,
    action: str,
    program_id: int | None = None,
    unit_id: int | None = None,
) -> Response:
    plan = plans.current_plan(session)
    if unit_id is not None:
        page = dashboard_service.unit_page(
            session, plan=plan, unit_id=unit_id, measure=measure, chart=chart
        )
    else:
        assert program_id is not None
        page = dashboard_service.program_page(
            session, plan=plan, program_id=program_id, measure=measure, chart=chart
        )
    query = DashboardQuery(filters=page.burndown.filters, measure=measure, chart=chart)
    context = _burndown_context(page.burndown, query) | {
        "page": page,
        "action": action,
        "stale_days": dashboard_service.STALE_DAYS,
    }
    template = "dashboard/_burndown.html" if is_htmx(request) else "dashboard/group.html"
    return render(request, template, context)


@router.get("/programs/{program_id:int}")
def program_page(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    program_id: ProgramId,
    measure: MeasureDep,
    chart: ChartDep,
) -> Response:
    """One program's burndown and tasks; for htmx only the burndown region."""
    return _group_response(
        request,
        session,
        measure=measure,
        chart=chart,
        action=f"/dashboard/programs/{program_id}",
        program_id=program_id,
    )


@router.get("/units/{unit_id:int}")
def unit_page(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    unit_id: UnitId,
    measure: MeasureDep,
    chart: ChartDep,
) -> Response:
    """One unit's burndown and tasks (those it leads or supports); for htmx only the region."""
    return _group_response(
        request,
        session,
        measure=measure,
        chart=chart,
        action=f"/dashboard/units/{unit_id}",
        unit_id=unit_id,
    )
