"""JSON for the dashboard (DESIGN §4 "/api/v1/..."): the headline, the RAG rows of programs,
units and districts, the attention list and the review queue (`GET /api/v1/dashboard`); the
planned and actual curves per day (`GET /api/v1/curve`; the page offers them as CSV).
The same service calls as the page, so the numbers are the page's numbers."""

import datetime as dt

from fastapi import APIRouter
from sqlmodel import Field, SQLModel

from app.auth import ApiUser
from app.db import SessionDep
from app.models import PlanPublic, Rag
from app.routes.api import NO_PLAN, errors, operation_id
from app.routes.api_directives import DirectivesSummaryPublic, summary_public
from app.routes.burndown import BurndownQueryDep
from app.services import dashboard as dashboard_service
from app.services import plans, task_queries
from app.services.curve import CurveSeries, curve_series
from app.services.dashboard import RagRow
from app.services.rag import GroupStats

router = APIRouter(prefix="/api/v1", tags=["dashboard"], generate_unique_id_function=operation_id)


class GroupCounts(SQLModel):
    total: int = Field(description="Tasks in scope (not cancelled).")
    done: int = Field(description="Of those, Selesai.")
    planned: int = Field(description="Due on or before today (no due date: the last day).")
    due: int = Field(description="Whose due date has passed (before the late cutoff).")
    late: int = Field(description="Late today (the one definition; see the README).")
    blocked: int
    review: int = Field(description="Waiting for the team's verification.")
    needs_decision: int
    weight: int
    done_weight: int


class RagRowPublic(SQLModel):
    id: int
    name: str
    rag: Rag
    reason: str = Field(description="Why this colour, in Indonesian, as the dashboard shows it.")
    planned_share: float = Field(description="Share due by today, 0..1 (rencana).")
    done_share: float = Field(description="Share in Selesai, 0..1 (realisasi).")
    counts: GroupCounts


class HeadlinePublic(SQLModel):
    day: int = Field(description="Plan day of today (may be < 1 or > length_days).")
    length_days: int
    day_label: str
    done_pct: float | None = Field(description="Share of the scope in Selesai, in percent.")
    planned_pct: float | None = Field(description="Share of the scope due by today, percent.")
    rag: Rag
    reason: str
    counts: GroupCounts


class AttentionPublic(SQLModel):
    task_id: int
    code: str
    title: str
    owner: str = Field(description="The lead unit's short name.")
    needs_decision: bool
    blocked_days: int = Field(description="Days blocked (0 when not blocked).")
    days_late: int = Field(description="Plan days late (0 when not late).")
    reasons: list[str] = Field(description="In Indonesian, as the dashboard shows them.")


class ReviewQueuePublic(SQLModel):
    count: int = Field(description="Tasks waiting in Menunggu Verifikasi.")
    oldest_days: int = Field(description="Days the longest-waiting one has waited.")


class DashboardPublic(SQLModel):
    plan: PlanPublic
    headline: HeadlinePublic
    programs: list[RagRowPublic]
    units: list[RagRowPublic]
    districts: list[RagRowPublic]
    attention: list[AttentionPublic] = Field(
        description="Decisions first, then the longest blocked and the most overdue (top 50)."
    )
    attention_total: int
    review_queue: ReviewQueuePublic
    directives: DirectivesSummaryPublic = Field(
        description="The plan's directives (tasks not cancelled): open ones with their age, "
        "answered ones with their follow-up."
    )


class CurvePointPublic(SQLModel):
    day: int
    date: dt.date = Field(description="The date in the plan's timezone; values are at its end.")
    is_working_day: bool
    planned: float = Field(description="Rencana: share of the scope due by this date, 0..1.")
    actual: float | None = Field(description="Realisasi: share in Selesai; null after today.")
    physical: float | None = Field(
        description="Realisasi fisik: actual plus open tasks' progress; null after today."
    )
    scope: float = Field(description="The scope the shares are of (tasks, or weight).")


class CurvePublic(SQLModel):
    plan: PlanPublic
    measure: str
    length_days: int
    today_day: int
    projected_end: float | None = Field(
        description="Actual share on the last day at the pace of the recent window; null "
        "before day 1 and after the plan."
    )
    points: list[CurvePointPublic]


def _counts(row_stats: GroupStats) -> GroupCounts:
    return GroupCounts.model_validate(row_stats, from_attributes=True)


def _row(row: RagRow) -> RagRowPublic:
    return RagRowPublic(
        id=row.id,
        name=row.name,
        rag=row.rag,
        reason=row.reason,
        planned_share=round(row.stats.planned_share, 6),
        done_share=round(row.stats.done_share, 6),
        counts=_counts(row.stats),
    )


@router.get(
    "/dashboard",
    summary="The executive dashboard as JSON",
    description="The headline (plan day, done %, planned % today, colour and reason), the "
    "colour of every program, unit and district judged against its own plan (see the "
    "README's 'Dashboard and RAG'), the attention list, the verification queue and the "
    "directives, open and answered. The "
    "filters (`unit`, `program`, `kind`, `district`) and `measure` apply to the curves "
    "(`/api/v1/curve`), as on the page; these figures are plan-wide.",
    responses=errors(401, 404, 422, e404=NO_PLAN),
)
def read_dashboard(user: ApiUser, session: SessionDep, query: BurndownQueryDep) -> DashboardPublic:
    plan = plans.current_plan(session)
    reference = dashboard_service.reference(session)
    d = dashboard_service.build_dashboard(
        session,
        plan=plan,
        filters=query.filters,
        measure=query.measure,
        chart=None,  # the curve is its own operation (/api/v1/curve)
        reference_data=reference,
    )
    h = d.headline
    return DashboardPublic(
        plan=task_queries.plan_public(session, plan),
        headline=HeadlinePublic(
            day=h.day_number,
            length_days=h.length_days,
            day_label=h.day_label,
            done_pct=h.done_pct,
            planned_pct=h.planned_pct,
            rag=h.rag,
            reason=h.reason,
            counts=_counts(h.stats),
        ),
        programs=[_row(r) for _, rows in d.programs for r in rows],
        units=[_row(r) for _, rows in d.units for r in rows],
        districts=[_row(r) for r in d.districts],
        attention=[
            AttentionPublic(
                task_id=x.task.id,
                code=x.task.code,
                title=x.task.title,
                owner=x.owner_name,
                needs_decision=x.fact.needs_decision,
                blocked_days=x.blocked_days,
                days_late=x.days_late,
                reasons=list(x.reasons),
            )
            for x in d.attention
        ],
        attention_total=h.stats.exceptions,
        review_queue=ReviewQueuePublic(count=d.review.count, oldest_days=d.review.oldest_days),
        directives=summary_public(d.directives),
    )


def _curve(session: SessionDep, query: BurndownQueryDep) -> tuple[CurveSeries, PlanPublic]:
    plan = plans.current_plan(session)
    series = curve_series(session, plan=plan, filters=query.filters, measure=query.measure)
    return series, task_queries.plan_public(session, plan)


@router.get(
    "/curve",
    summary="The planned and actual curves (Kurva S)",
    description="For each date from day 0 to the plan's last day, at its end in the plan's "
    "timezone: `planned` (rencana, the share of the scope due by then, with the due dates in "
    "force then), `actual` (realisasi, the share in Selesai) and `physical` (realisasi "
    "fisik, adding open tasks' reported progress), rebuilt from the task history. Same "
    "filters and `measure` as `/api/v1/burndown`.",
    responses=errors(401, 404, 422, e404=NO_PLAN),
)
def read_curve(user: ApiUser, session: SessionDep, query: BurndownQueryDep) -> CurvePublic:
    series, plan = _curve(session, query)
    return CurvePublic(
        plan=plan,
        measure=series.measure,
        length_days=series.length_days,
        today_day=series.today_day,
        projected_end=series.projected_end,
        points=[CurvePointPublic.model_validate(p, from_attributes=True) for p in series.points],
    )
