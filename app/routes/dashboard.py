"""The executive dashboard (DESIGN §4 "/dashboard") and its per-program and per-unit pages.

The burndown's filters travel in the query string (`unit`, `program`, `kind`, `district`,
`measure=weight`): a plain GET form that works without JavaScript; with htmx the same request
answers only the burndown region (and `hx-push-url` keeps the URL in step).
"""

from dataclasses import dataclass, replace
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from app.auth import CurrentUser
from app.db import SessionDep
from app.htmx import is_htmx
from app.models import ProgramKind
from app.path_ids import ProgramId, UnitId
from app.services import dashboard as dashboard_service
from app.services import holiday_source, plans
from app.services.burndown import MEASURES, Measure
from app.services.filters import TaskFilter, parse_filter_id
from app.templating import render

router = APIRouter(prefix="/dashboard", include_in_schema=False)


@dataclass(frozen=True)
class DashboardQuery:
    """The burndown's filters and measure as asked for, normalised, plus what was ignored."""

    filters: TaskFilter
    measure: Measure = "count"
    ignored: tuple[str, ...] = ()

    @property
    def params(self) -> dict[str, str]:
        params = self.filters.query_params()
        if self.measure != "count":
            params["measure"] = self.measure
        return params

    @property
    def query_string(self) -> str:
        return urlencode(self.params)


def _parse_measure(raw: str | None, ignored: list[str]) -> Measure:
    value = (raw or "").strip()
    if value in MEASURES:
        return "weight" if value == "weight" else "count"
    if value:
        ignored.append("satuan")
    return "count"


def dashboard_query(
    unit: str | None = None,
    program: str | None = None,
    kind: str | None = None,
    district: str | None = None,
    measure: str | None = None,
) -> DashboardQuery:
    """Read the filters leniently: a malformed value is ignored (and said so), never a 500."""
    ignored: list[str] = []
    kind_value = (kind or "").strip()
    program_kind = ProgramKind(kind_value) if kind_value in ProgramKind.__members__ else None
    if kind_value and program_kind is None:
        ignored.append("jenis program")
    filters = TaskFilter(
        unit_id=parse_filter_id(unit, "perangkat daerah / kecamatan", ignored),
        program_id=parse_filter_id(program, "program", ignored),
        program_kind=program_kind,
        district_id=parse_filter_id(district, "kecamatan", ignored),
    )
    return DashboardQuery(
        filters=filters, measure=_parse_measure(measure, ignored), ignored=tuple(ignored)
    )


DashboardQueryDep = Annotated[DashboardQuery, Depends(dashboard_query)]


def _measure_only(measure: str | None = None) -> Measure:
    return _parse_measure(measure, [])


MeasureDep = Annotated[Measure, Depends(_measure_only)]


def _burndown_context(
    view: dashboard_service.BurndownView, query: DashboardQuery
) -> dict[str, Any]:
    return {"bd": view, "dq": query}


@router.get("")
def dashboard_page(
    request: Request, session: SessionDep, user: CurrentUser, query: DashboardQueryDep
) -> Response:
    """The dashboard; for htmx (the burndown's filter form) only the burndown region."""
    plan = plans.current_plan(session)
    reference = dashboard_service.reference(session)
    filters, ignored = reference.options.drop_unknown(query.filters)
    query = replace(query, filters=filters, ignored=(*query.ignored, *ignored))
    if is_htmx(request):
        view = dashboard_service.burndown_view(
            session, plan=plan, filters=query.filters, measure=query.measure
        )
        context = _burndown_context(view, query) | {
            "options": reference.options,
            "action": "/dashboard",
        }
        return render(request, "dashboard/_burndown.html", context)
    dashboard = dashboard_service.build_dashboard(
        session,
        plan=plan,
        filters=query.filters,
        measure=query.measure,
        reference_data=reference,
    )
    context = _burndown_context(dashboard.burndown, query) | {
        "d": dashboard,
        "options": reference.options,
        "action": "/dashboard",
        "stale_days": dashboard_service.STALE_DAYS,
        "missing_holiday_years": holiday_source.years_without_holidays(session, plan),
    }
    return render(request, "dashboard/dashboard.html", context)


def _group_response(
    request: Request,
    session: SessionDep,
    *,
    measure: Measure,
    action: str,
    program_id: int | None = None,
    unit_id: int | None = None,
) -> Response:
    plan = plans.current_plan(session)
    if unit_id is not None:
        page = dashboard_service.unit_page(session, plan=plan, unit_id=unit_id, measure=measure)
    else:
        assert program_id is not None
        page = dashboard_service.program_page(
            session, plan=plan, program_id=program_id, measure=measure
        )
    query = DashboardQuery(filters=page.burndown.filters, measure=measure)
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
) -> Response:
    """One program's burndown and tasks; for htmx only the burndown region."""
    return _group_response(
        request,
        session,
        measure=measure,
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
) -> Response:
    """One unit's burndown and tasks (those it leads or supports); for htmx only the region."""
    return _group_response(
        request,
        session,
        measure=measure,
        action=f"/dashboard/units/{unit_id}",
        unit_id=unit_id,
    )
