"""The burndown's CSV download, and the query parameters it shares with GET /api/v1/burndown.

The parameters are strict (a malformed value answers 422 naming it), unlike the board's
lenient filter form: these URLs are built by the dashboard or by a script, not typed in.
"""

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from app.auth import CurrentUser
from app.db import SessionDep
from app.routes.task_filters import ApiScopeFilterDep
from app.services import burndown, plans
from app.services.calendar import PlanCalendar
from app.services.filters import TaskFilter

router = APIRouter(include_in_schema=False)

MEASURE_SLUGS: dict[burndown.Measure, str] = {"count": "jumlah", "weight": "bobot"}


@dataclass(frozen=True)
class BurndownQuery:
    filters: TaskFilter
    measure: burndown.Measure


async def burndown_query(
    filters: ApiScopeFilterDep,
    measure: Annotated[
        burndown.Measure,
        Query(description="Count tasks, or sum their weights (bobot)."),
    ] = "count",
) -> BurndownQuery:
    """The burndown's filters (by the tasks' current attributes) and measure."""
    return BurndownQuery(filters=filters, measure=measure)


BurndownQueryDep = Annotated[BurndownQuery, Depends(burndown_query)]


def csv_filename(query: BurndownQuery, *, today: str) -> str:
    """'burndown-2025-04-05-jumlah.csv', with the filters: '…-bobot-unit-3-kind-priority.csv'."""
    parts = ["burndown", today, MEASURE_SLUGS[query.measure]]
    for name, value in query.filters.query_params().items():
        parts += [name, value]
    return "-".join(parts) + ".csv"


@router.get("/burndown.csv")
def burndown_csv(user: CurrentUser, session: SessionDep, query: BurndownQueryDep) -> Response:
    """The current plan's burndown as a spreadsheet: UTF-8 with a BOM (so Excel reads the
    encoding right), one row per day, headers in Indonesian. Every role may download it."""
    plan = plans.current_plan(session)
    series = burndown.burndown_series(
        session, plan=plan, filters=query.filters, measure=query.measure
    )
    filename = csv_filename(query, today=PlanCalendar.of(plan).today().isoformat())
    return Response(
        content=("\ufeff" + burndown.burndown_csv(series)).encode(),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )
