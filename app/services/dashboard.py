"""The executive dashboard (DESIGN §4 "/dashboard"): the first screen that answers the
Bupati's three questions — how much is done against the plan, what is in trouble, who is
behind — then the planned curve (Kurva S) beside the burndown, RAG per program, unit and
district, the verification queue and recent activity; and the per-program and per-unit pages.

Every colour is judged by `app.services.rag` from `task_facts` (one row per task in scope), so
the headline, the tables, the attention list, the task lists behind each figure, the JSON API
and the public page read one computation. The page is a pure function of (plan, filters, the
plan's tasks and events, now) and costs a fixed number of queries whatever the size: the
plan's holidays (working-day mode), units, programs, the task facts (kept between calls: one,
and three more when tasks were written since; task_facts.kept_facts), the details of
the listed tasks, the units' last update, the activity and the names it mentions, the burndown
series and the curve. Nothing here knows about HTTP.
"""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any, Literal, NamedTuple

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from app.db import core_reader
from app.errors import NotFound
from app.models import (
    BOARD_STATUSES,
    ID_MAX,
    Plan,
    Program,
    ProgramKind,
    Rag,
    Task,
    TaskEvent,
    TaskStatus,
    Unit,
    UnitKind,
    User,
)
from app.services.burndown import BurndownSeries, Measure, burndown_series
from app.services.calendar import PlanCalendar
from app.services.chart import BurndownChart, CurveChart, burndown_chart, kept_curve_chart
from app.services.curve import CurveSeries, curve_series
from app.services.directives import DirectiveSummary, plan_directives
from app.services.filters import TaskFilter
from app.services.labels import RAG_LABELS
from app.services.lateness import Lateness
from app.services.plans import plan_calendar
from app.services.rag import RAG_ORDER, GroupStats, Judgement, judge
from app.services.reference_lists import FilterOptions, KeptUnderReference, options_from
from app.services.task_detail import HistoryEntry, describe_events
from app.services.task_facts import (
    Facts,
    GroupedStats,
    TaskFact,
    kept_facts,
    load_facts,
    needs_attention,
)
from app.services.task_reads import EventView
from app.sorting import text_order

ATTENTION_MAX = 5
LAGGARDS_MAX = 5
EXCEPTIONS_MAX = 50
ACTIVITY_MAX = 15
TASK_LIST_MAX = 300
# A unit whose people have recorded nothing on any task for this many days (or ever) is stale.
STALE_DAYS = 7

STATUS_RANK = {status: rank for rank, status in enumerate(BOARD_STATUSES)}


# --- view models -----------------------------------------------------------------------


@dataclass(frozen=True)
class RagRow:
    """A program, unit or district with its colour and reason."""

    id: int
    name: str
    stats: GroupStats
    judgement: Judgement
    href: str

    @property
    def rag(self) -> Rag:
        return self.judgement.rag

    @property
    def rag_label(self) -> str:
        return RAG_LABELS[self.rag]

    @property
    def reason(self) -> str:
        return self.judgement.reason


@dataclass(frozen=True)
class UnitRow(RagRow):
    kind: UnitKind = UnitKind.agency
    last_update_at: datetime | None = None
    days_since_update: int | None = None  # None: nobody of the unit has recorded anything

    @property
    def is_stale(self) -> bool:
        """A unit with tasks whose people have recorded nothing for STALE_DAYS days, or ever."""
        if not self.stats.total:
            return False
        return self.days_since_update is None or self.days_since_update >= STALE_DAYS


class Show(StrEnum):
    """The task lists behind the headline figures (`/dashboard/tasks?show=…`)."""

    done = "done"
    planned = "planned"
    late = "late"
    blocked = "blocked"
    decision = "decision"
    review = "review"
    attention = "attention"


SHOW_LABELS = {
    Show.done: "Tugas selesai",
    Show.planned: "Tugas yang jatuh tempo sampai hari ini",
    Show.late: "Tugas terlambat",
    Show.blocked: "Tugas terkendala",
    Show.decision: "Tugas yang perlu keputusan Bupati",
    Show.review: "Tugas menunggu verifikasi",
    Show.attention: "Perlu perhatian: keputusan, kendala, keterlambatan",
}


def shows(fact: TaskFact, show: Show, *, facts: Facts) -> bool:
    """Whether a task belongs to the list behind a headline figure (the same rule as the
    figure: each list's length is its figure)."""
    if show == Show.done:
        return fact.status == TaskStatus.done
    if show == Show.planned:
        return (fact.due_date or facts.end_date) <= facts.today
    if show == Show.late:
        return fact.is_late
    if show == Show.blocked:
        return fact.is_blocked
    if show == Show.decision:
        return fact.is_open and fact.needs_decision
    if show == Show.review:
        return fact.is_waiting_review
    return needs_attention(fact)


def attention_rank(fact: TaskFact) -> tuple[int, int, int]:
    """Decisions first, then the longest blocked and the most overdue (by days), then id."""
    blocked_days = fact.status_days if fact.is_blocked else 0
    return (0 if fact.needs_decision else 1, -max(blocked_days, fact.days_late), fact.id)


class AttentionLine(NamedTuple):
    """What the exceptions table shows of an AttentionRow, as plain values: the key its row's
    HTML is kept under (app.dashboard_html), made in Python rather than in the template."""

    task_id: int
    code: str
    title: str
    owner_name: str
    owner_head: str
    reasons: tuple[str, ...]
    days: int  # blocked or late, whichever is longer
    is_blocked: bool


class AttentionTask(NamedTuple):
    """What the attention list shows of a task besides its facts: four columns read on every
    build for up to EXCEPTIONS_MAX tasks, where whole ORM objects cost far more."""

    id: int
    code: str
    title: str
    blocked_reason: str


_TASKS = Task.__table__
_ATTENTION_TASKS = sa.select(
    _TASKS.c.id, _TASKS.c.code, _TASKS.c.title, _TASKS.c.blocked_reason
).where(_TASKS.c.id.in_(sa.bindparam("ids", expanding=True)))


@dataclass(frozen=True)
class AttentionRow:
    """An open task needing attention: the owner, why, and for how long."""

    task: AttentionTask
    fact: TaskFact
    owner_name: str
    owner_head: str

    @property
    def is_blocked(self) -> bool:
        return self.fact.is_blocked

    @property
    def days_late(self) -> int:
        return self.fact.days_late

    @property
    def blocked_days(self) -> int:
        return self.fact.status_days if self.fact.is_blocked else 0

    @property
    def reasons(self) -> tuple[str, ...]:
        parts: list[str] = []
        if self.fact.needs_decision:
            parts.append("Perlu keputusan Bupati")
        if self.fact.is_blocked:
            why = self.task.blocked_reason or "alasan belum ditulis"
            parts.append(f"Terkendala sejak {self.blocked_days} hari: {why}")
        if self.fact.is_late:
            parts.append(f"Terlambat {self.fact.days_late} hari")
        return tuple(parts)

    @property
    def line(self) -> AttentionLine:
        return AttentionLine(
            task_id=self.task.id,
            code=self.task.code,
            title=self.task.title,
            owner_name=self.owner_name,
            owner_head=self.owner_head,
            reasons=self.reasons,
            days=max(self.days_late, self.blocked_days),
            is_blocked=self.is_blocked,
        )


@dataclass(frozen=True)
class ReviewQueue:
    """The team's verification queue: its own figure, not the agencies' lateness."""

    count: int
    oldest_days: int


@dataclass(frozen=True)
class Headline:
    """The plan-wide answer to "berapa persen sudah selesai" with its colour and reason."""

    day_number: int
    length_days: int
    day_label: str
    stats: GroupStats
    judgement: Judgement

    @property
    def done_pct(self) -> float | None:
        return self.stats.done_pct

    @property
    def planned_pct(self) -> float | None:
        return self.stats.planned_pct

    @property
    def rag(self) -> Rag:
        return self.judgement.rag

    @property
    def reason(self) -> str:
        return self.judgement.reason


@dataclass(frozen=True)
class ActivityEntry:
    task_id: int
    task_code: str
    task_title: str
    entry: HistoryEntry


# The chart region shows one chart at a time; only that one is computed.
Chart = Literal["curve", "burndown"]


@dataclass(frozen=True)
class BurndownView:
    """The chart region under the chosen filters: the planned curve (Kurva S) or the
    burndown, whichever is shown (the other is None)."""

    filters: TaskFilter
    measure: Measure
    series: BurndownSeries | None = None
    chart: BurndownChart | None = None
    curve: CurveSeries | None = None
    curve_chart: CurveChart | None = None


@dataclass(frozen=True)
class PlanDay:
    plan: Plan
    calendar: PlanCalendar
    today: date
    day_label: str


@dataclass(frozen=True)
class Dashboard:
    day: PlanDay
    headline: Headline
    burndown: BurndownView | None  # None when built without a chart (the API, the digest)
    programs: list[tuple[ProgramKind, list[RagRow]]]
    units: list[tuple[UnitKind, list[UnitRow]]]
    districts: list[RagRow]
    attention: list[AttentionRow]  # the top ATTENTION_MAX
    laggards: list[UnitRow]  # the units most behind their own plan
    review: ReviewQueue
    activity: list[ActivityEntry]
    directives: DirectiveSummary = field(default_factory=lambda: DirectiveSummary([], []))

    @property
    def stats(self) -> GroupStats:
        return self.headline.stats

    @property
    def stale_units(self) -> int:
        return sum(1 for _, rows in self.units for row in rows if row.is_stale)

    @property
    def more_attention(self) -> int:
        return max(self.stats.exceptions - len(self.attention), 0)


@dataclass(frozen=True)
class TaskLine:
    task: Task
    lead_unit_name: str
    due_day: int | None
    days_late: int
    is_lead: bool = True
    status_days: int = 0  # days blocked or waiting for verification


@dataclass(frozen=True)
class GroupPage:
    """A program's or a unit's page: its RAG line, charts and tasks."""

    day: PlanDay
    row: RagRow
    burndown: BurndownView
    tasks: list[TaskLine]
    program: Program | None = None
    unit: Unit | None = None

    @property
    def more_tasks(self) -> int:
        return max(self.row.stats.total - len(self.tasks), 0)


@dataclass(frozen=True)
class TaskList:
    """The tasks behind a headline figure."""

    day: PlanDay
    show: Show
    filters: TaskFilter
    total: int
    lines: list[TaskLine]

    @property
    def title(self) -> str:
        return SHOW_LABELS[self.show]

    @property
    def more(self) -> int:
        return max(self.total - len(self.lines), 0)


@dataclass(frozen=True)
class Reference:
    """Every unit and program (inactive ones too: their tasks still count), and the filter
    choices (active ones only)."""

    units: dict[int, Unit]
    programs: dict[int, Program]
    options: FilterOptions = field(default_factory=FilterOptions)


# --- helpers ---------------------------------------------------------------------------


def plan_day(session: Session, plan: Plan, now: datetime | None = None) -> PlanDay:
    """The plan's calendar, today (as of `now`) and its label ("Hari ke-45 dari 100")."""
    calendar = plan_calendar(session, plan)
    today = calendar.today(now)
    return PlanDay(plan=plan, calendar=calendar, today=today, day_label=calendar.day_label(today))


def _facts(session: Session, plan: Plan, day: PlanDay) -> Facts:
    # Kept between calls: only the tasks written since the last call are read again.
    return kept_facts(session, plan=plan, lateness=Lateness(calendar=day.calendar, today=day.today))


def _matches(fact: TaskFact, filters: TaskFilter, program_kinds: dict[int, ProgramKind]) -> bool:
    """The board's scope filters (unit led or supported, program, program kind, district) on
    a task's current links, in Python, as `TaskFilter.conditions` selects them in SQL."""
    if filters.unit_id and filters.unit_id not in fact.units:
        return False
    if filters.program_id and filters.program_id not in fact.programs:
        return False
    if filters.district_id and fact.district_id != filters.district_id:
        return False
    return not (
        filters.program_kind
        and not any(program_kinds.get(p) == filters.program_kind for p in fact.programs)
    )


def _unit_row(
    unit: Unit,
    stats: GroupStats,
    *,
    last_update_at: datetime | None,
    calendar: PlanCalendar,
    today: date,
) -> UnitRow:
    days = None
    if last_update_at is not None:
        days = max((today - calendar.local_date(last_update_at)).days, 0)
    return UnitRow(
        id=unit.pk,
        name=unit.short_name,
        stats=stats,
        judgement=judge(stats),
        href=f"/dashboard/units/{unit.id}",
        kind=UnitKind(unit.kind),
        last_update_at=last_update_at,
        days_since_update=days,
    )


def _program_row(program: Program, stats: GroupStats) -> RagRow:
    return RagRow(
        id=program.pk,
        name=program.short_name,
        stats=stats,
        judgement=judge(stats),
        href=f"/dashboard/programs/{program.id}",
    )


def _district_row(unit: Unit, stats: GroupStats) -> RagRow:
    return RagRow(
        id=unit.pk,
        name=unit.short_name,
        stats=stats,
        judgement=judge(stats),
        href=f"/dashboard/tasks?show=attention&district={unit.id}"
        if stats.exceptions
        else f"/board?district={unit.id}",
    )


def _by_severity(row: RagRow) -> tuple[int, float, int, str]:
    return (RAG_ORDER[row.rag], -row.stats.lag, -row.stats.late, row.name.lower())


def _laggard_key(row: UnitRow) -> tuple[float, int, int, str]:
    return (-row.stats.lag, -row.stats.late, -row.stats.longest_blocked_days, row.name.lower())


def _is_behind(row: RagRow) -> bool:
    s = row.stats
    return s.lag > 0 or s.late > 0 or s.blocked > 0


def _task_details(session: Session, ids: list[int]) -> dict[int, tuple[Task, str]]:
    """The listed tasks with their lead unit's name: one query for a bounded list."""
    if not ids:
        return {}
    owner = aliased(Unit)
    rows = session.exec(
        select(Task, owner.short_name)
        .join(owner, col(owner.id) == Task.lead_unit_id)
        .where(col(Task.id).in_(ids))
    ).all()
    return {task.pk: (task, name) for task, name in rows}


def _attention(
    session: Session, facts: list[TaskFact], limit: int, units: dict[int, Unit]
) -> list[AttentionRow]:
    """The first `limit` of `facts` by attention rank, each with its task's code, title and
    blocked reason (one query) and its lead unit's name and head (from `units`)."""
    chosen = sorted(facts, key=attention_rank)[:limit]
    if not chosen:
        return []
    found = core_reader(session).execute(_ATTENTION_TASKS, {"ids": [f.id for f in chosen]})
    tasks = {row[0]: AttentionTask(*row) for row in found}
    rows = []
    for fact in chosen:
        owner = units[fact.lead_unit_id]
        rows.append(
            AttentionRow(
                task=tasks[fact.id],
                fact=fact,
                owner_name=owner.short_name,
                owner_head=" ".join(part for part in (owner.head_title, owner.head_name) if part),
            )
        )
    return rows


def _review_queue(facts: Facts) -> ReviewQueue:
    waiting = [f.status_days for f in facts.tasks if f.status == TaskStatus.review]
    return ReviewQueue(count=len(waiting), oldest_days=max(waiting, default=0))


def _chart_view(
    session: Session,
    *,
    plan: Plan,
    filters: TaskFilter,
    measure: Measure,
    now: datetime | None,  # None: as of now (the plan-wide curve is then kept between calls)
    day: PlanDay,
    shown: Chart,
) -> BurndownView:
    if shown == "burndown":
        series = burndown_series(session, plan=plan, filters=filters, measure=measure, now=now)
        return BurndownView(
            filters=filters,
            measure=measure,
            series=series,
            chart=burndown_chart(series, today=day.today, day_label=day.day_label),
        )
    curve = curve_series(session, plan=plan, filters=filters, measure=measure, now=now)
    return BurndownView(
        filters=filters,
        measure=measure,
        curve=curve,
        curve_chart=kept_curve_chart(curve, day_label=day.day_label),
    )


def _last_updates_query(*, of_one_unit: bool) -> sa.Select[int | None, datetime]:
    """Per user of a unit, the last time they recorded anything on a task of the plan: one
    index seek (actor_id, plan_id, at) each instead of a scan of the plan's events. Parameters
    `plan_id` and (`of_one_unit`) `unit_id`."""
    latest = (
        select(sa.func.max(TaskEvent.at))
        .where(TaskEvent.actor_id == User.id, TaskEvent.plan_id == sa.bindparam("plan_id"))
        .correlate(User)
        .scalar_subquery()
    )
    conditions: list[Any] = [col(User.unit_id).is_not(None)]
    if of_one_unit:
        conditions.append(User.unit_id == sa.bindparam("unit_id"))
    return select(col(User.unit_id), latest).where(*conditions)


# Built once (read on every dashboard build: building them cost as much as the reads).
_LAST_UPDATES = _last_updates_query(of_one_unit=False)
_LAST_UPDATE_OF_UNIT = _last_updates_query(of_one_unit=True)
_ACTIVITY = (
    select(TaskEvent, User.full_name, Task.code, Task.title)
    .join(Task, col(Task.id) == TaskEvent.task_id)
    .join(User, col(User.id) == TaskEvent.actor_id, isouter=True)
    .where(TaskEvent.plan_id == sa.bindparam("plan_id"))
    .order_by(col(TaskEvent.id).desc())
    .limit(ACTIVITY_MAX)
)


def _last_updates(
    session: Session, *, plan: Plan, unit_id: int | None = None
) -> dict[int, datetime]:
    """When the people of each unit (or of `unit_id`) last recorded anything on a task of
    the plan."""
    if unit_id is None:
        found = session.execute(_LAST_UPDATES, {"plan_id": plan.pk})
    else:
        found = session.execute(_LAST_UPDATE_OF_UNIT, {"plan_id": plan.pk, "unit_id": unit_id})
    updates: dict[int, datetime] = {}
    for uid, at in found.all():
        if uid is not None and at is not None:
            updates[uid] = max(at, updates.get(uid, at))
    return updates


def _activity(session: Session, *, plan: Plan) -> list[ActivityEntry]:
    rows = session.execute(_ACTIVITY, {"plan_id": plan.pk}).all()
    views = [EventView(event=event, actor_name=name) for event, name, _, _ in rows]
    entries = describe_events(session, views)
    return [
        ActivityEntry(task_id=event.task_id, task_code=code, task_title=title, entry=entry)
        for (event, _, code, title), entry in zip(rows, entries, strict=True)
    ]


def reference(session: Session) -> Reference:
    """Units and programs in two queries; the filter choices derived from them."""
    units = session.exec(
        select(Unit).order_by(text_order(col(Unit.short_name)), col(Unit.id))
    ).all()
    programs = session.exec(
        select(Program).order_by(col(Program.sort_order), col(Program.id))
    ).all()
    return Reference(
        units={u.pk: u for u in units},
        programs={p.pk: p for p in programs},
        options=options_from(units, programs),
    )


_kept_reference: KeptUnderReference[Reference] = KeptUnderReference()


def kept_reference(session: Session, *, plan: Plan) -> Reference:
    """`reference`, kept under the plans' reference stamp (KeptUnderReference). The units
    and programs kept belong to no session: plain values to read, never to change."""

    def read() -> Reference:
        found = reference(session)
        # Copies in no session: the session's own rows stay as they are. (Not rows read in a
        # session of its own: that would take a second connection while the request holds
        # one, and a small pool could leave it none.)
        return Reference(
            units={k: Unit(**u.model_dump()) for k, u in found.units.items()},
            programs={k: Program(**p.model_dump()) for k, p in found.programs.items()},
            options=found.options,
        )

    return _kept_reference.get(session, plan, read)


def forget_kept_reference() -> None:
    """Drop the kept reference (a benchmark's cold start; tests that run many databases)."""
    _kept_reference.forget()


def _headline(day: PlanDay, stats: GroupStats) -> Headline:
    return Headline(
        day_number=day.calendar.day_number(day.today),
        length_days=day.plan.length_days,
        day_label=day.day_label,
        stats=stats,
        judgement=judge(stats),
    )


def _program_rows(
    grouped: GroupedStats, reference_data: Reference
) -> list[tuple[ProgramKind, list[RagRow]]]:
    programs: list[tuple[ProgramKind, list[RagRow]]] = []
    for kind in ProgramKind:
        rows = [
            _program_row(p, grouped.programs.get(pid, GroupStats()))
            for pid, p in reference_data.programs.items()
            if p.kind == kind and (p.is_active or pid in grouped.programs)
        ]
        if rows:
            programs.append((kind, rows))
    return programs


# --- public services -------------------------------------------------------------------


def burndown_view(
    session: Session,
    *,
    plan: Plan,
    filters: TaskFilter,
    measure: Measure = "count",
    chart: Chart = "curve",
    now: datetime | None = None,
) -> BurndownView:
    """Only the chart region (the htmx answer to the filter form)."""
    day = plan_day(session, plan, now)
    return _chart_view(
        session, plan=plan, filters=filters, measure=measure, now=now, day=day, shown=chart
    )


def group_stats(
    session: Session, *, plan: Plan, filters: TaskFilter, calendar: PlanCalendar, today: date
) -> GroupStats:
    """The RAG figures of the plan's tasks under the scope filters on `today`."""
    facts = load_facts(session, plan=plan, lateness=Lateness(calendar=calendar, today=today))
    kinds: dict[int, ProgramKind] = {}
    if filters.program_kind:
        kinds = {pid: ProgramKind(p.kind) for pid, p in reference(session).programs.items()}
    return facts.stats(f for f in facts.tasks if _matches(f, filters, kinds))


def plan_headline(session: Session, *, plan: Plan, now: datetime | None = None) -> Headline:
    """The plan's headline as the dashboard shows it: plan day, done %, planned % today, and
    the colour with its reason. For any page that must show the dashboard's numbers (the
    public page): the same computation, never another."""
    day = plan_day(session, plan, now)
    return _headline(day, _facts(session, plan, day).stats())


def program_rags(session: Session, *, plan: Plan, now: datetime | None = None) -> list[RagRow]:
    """Every program (active, or with tasks) with its colour and reason, as the dashboard's
    program table shows them, in the administration's order (kind, then sort order)."""
    day = plan_day(session, plan, now)
    grouped = _facts(session, plan, day).grouped()
    return [row for _, rows in _program_rows(grouped, reference(session)) for row in rows]


def build_dashboard(
    session: Session,
    *,
    plan: Plan,
    filters: TaskFilter,
    measure: Measure = "count",
    chart: Chart | None = "curve",
    reference_data: Reference,
    now: datetime | None = None,
) -> Dashboard:
    """Everything /dashboard shows. `filters` and `measure` apply to the chart only (`chart`:
    which one, None for none); the headline, the tables, the attention list and the activity
    are plan-wide."""
    day = plan_day(session, plan, now)
    today = day.today
    charts = None
    if chart is not None:
        charts = _chart_view(
            session, plan=plan, filters=filters, measure=measure, now=now, day=day, shown=chart
        )
    facts = _facts(session, plan, day)
    grouped = facts.grouped()

    updates = _last_updates(session, plan=plan)
    units: list[tuple[UnitKind, list[UnitRow]]] = []
    for unit_kind in UnitKind:
        unit_rows = [
            _unit_row(
                u,
                grouped.units.get(uid, GroupStats()),
                last_update_at=updates.get(uid),
                calendar=day.calendar,
                today=today,
            )
            for uid, u in reference_data.units.items()
            if u.kind == unit_kind and (u.is_active or uid in grouped.units)
        ]
        if unit_rows:
            units.append((unit_kind, sorted(unit_rows, key=_by_severity)))
    districts = sorted(
        (
            _district_row(u, grouped.districts.get(uid, GroupStats()))
            for uid, u in reference_data.units.items()
            if u.kind == UnitKind.district and (u.is_active or uid in grouped.districts)
        ),
        key=_by_severity,
    )
    behind = [row for _, rows in units for row in rows if _is_behind(row)]
    attention_facts = list(filter(needs_attention, facts.tasks))  # shows(…, Show.attention)
    return Dashboard(
        day=day,
        headline=_headline(day, grouped.plan),
        burndown=charts,
        programs=_program_rows(grouped, reference_data),
        units=units,
        districts=districts,
        attention=_attention(session, attention_facts, EXCEPTIONS_MAX, reference_data.units),
        laggards=sorted(behind, key=_laggard_key)[:LAGGARDS_MAX],
        review=_review_queue(facts),
        activity=_activity(session, plan=plan),
        directives=plan_directives(session, plan=plan, calendar=day.calendar, today=today),
    )


def _bounded(item_id: int) -> bool:
    return 1 <= item_id <= ID_MAX


def _lines(
    session: Session, facts: list[TaskFact], *, calendar: PlanCalendar, lead_unit_id: int | None
) -> list[TaskLine]:
    """Task lines in board column order, then by due date; details of at most TASK_LIST_MAX."""

    def order(f: TaskFact) -> tuple[int, bool, date, int]:
        return (STATUS_RANK[f.status], f.due_date is None, f.due_date or date.max, f.id)

    chosen = sorted(facts, key=order)[:TASK_LIST_MAX]
    details = _task_details(session, [f.id for f in chosen])
    lines = []
    for fact in chosen:
        task, lead_name = details[fact.id]
        lines.append(
            TaskLine(
                task=task,
                lead_unit_name=lead_name,
                due_day=calendar.day_number(task.due_date) if task.due_date else None,
                days_late=fact.days_late,
                is_lead=lead_unit_id is None or task.lead_unit_id == lead_unit_id,
                status_days=fact.status_days,
            )
        )
    return lines


def task_list(
    session: Session,
    *,
    plan: Plan,
    show: Show,
    filters: TaskFilter,
    reference_data: Reference,
    now: datetime | None = None,
) -> TaskList:
    """The tasks behind a headline figure (late, blocked, needing a decision, …), under the
    scope filters: the same rows and rule as the figure, so the list's length is the figure."""
    day = plan_day(session, plan, now)
    facts = _facts(session, plan, day)
    kinds = {pid: ProgramKind(p.kind) for pid, p in reference_data.programs.items()}
    chosen = [f for f in facts.tasks if shows(f, show, facts=facts) and _matches(f, filters, kinds)]
    if show == Show.attention:
        ranked = sorted(chosen, key=attention_rank)
        lines = _lines(session, ranked[:TASK_LIST_MAX], calendar=day.calendar, lead_unit_id=None)
        order = {f.id: i for i, f in enumerate(ranked)}
        lines.sort(key=lambda line: order[line.task.pk])
    else:
        lines = _lines(session, chosen, calendar=day.calendar, lead_unit_id=None)
    return TaskList(day=day, show=show, filters=filters, total=len(chosen), lines=lines)


def program_page(
    session: Session,
    *,
    plan: Plan,
    program_id: int,
    measure: Measure = "count",
    chart: Chart = "curve",
    now: datetime | None = None,
) -> GroupPage:
    """One program: its RAG line, its chart and its tasks. NotFound for an unknown id."""
    program = session.get(Program, program_id) if _bounded(program_id) else None
    if program is None:
        raise NotFound(f"Program #{program_id} tidak ditemukan.")
    filters = TaskFilter(program_id=program_id)
    return _group_page(
        session, plan=plan, filters=filters, measure=measure, chart=chart, now=now, program=program
    )


def unit_page(
    session: Session,
    *,
    plan: Plan,
    unit_id: int,
    measure: Measure = "count",
    chart: Chart = "curve",
    now: datetime | None = None,
) -> GroupPage:
    """One unit (the tasks it leads or supports): RAG line with its last update, chart,
    tasks. NotFound for an unknown id."""
    unit = session.get(Unit, unit_id) if _bounded(unit_id) else None
    if unit is None:
        raise NotFound(f"Unit #{unit_id} tidak ditemukan.")
    filters = TaskFilter(unit_id=unit_id)
    return _group_page(
        session, plan=plan, filters=filters, measure=measure, chart=chart, now=now, unit=unit
    )


def _group_page(
    session: Session,
    *,
    plan: Plan,
    filters: TaskFilter,
    measure: Measure,
    chart: Chart,
    now: datetime | None,
    program: Program | None = None,
    unit: Unit | None = None,
) -> GroupPage:
    now = now or datetime.now(UTC)
    day = plan_day(session, plan, now)
    charts = _chart_view(
        session, plan=plan, filters=filters, measure=measure, now=now, day=day, shown=chart
    )
    facts = _facts(session, plan, day)
    chosen = [f for f in facts.tasks if _matches(f, filters, {})]
    stats = facts.stats(chosen)
    row: RagRow
    if unit is not None:
        updates = _last_updates(session, plan=plan, unit_id=unit.id)
        row = _unit_row(
            unit,
            stats,
            last_update_at=updates.get(unit.pk),
            calendar=day.calendar,
            today=day.today,
        )
    else:
        assert program is not None
        row = _program_row(program, stats)
    lines = _lines(
        session, chosen, calendar=day.calendar, lead_unit_id=unit.id if unit is not None else None
    )
    return GroupPage(day=day, row=row, burndown=charts, tasks=lines, program=program, unit=unit)
