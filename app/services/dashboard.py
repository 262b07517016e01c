"""The executive dashboard (DESIGN §4 "/dashboard"): headline, burndown, RAG tables per program
and per unit, red exceptions and recent activity; and the per-program and per-unit pages.

A dashboard costs a fixed number of queries whatever the number of tasks and events: the plan's
holidays (working-day mode), units, programs, one aggregate for the headline, one GROUP BY per
table (programs, units, the units' last update), the exceptions and the activity (each capped),
the names the activity's changes mention (two at most), plus the burndown series. Nothing here
knows about HTTP.

"Late" follows the plan calendar exactly as the board's cards do: an open task (not Selesai,
not cancelled) is late when at least one working day has passed since its due date.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from app.errors import NotFound
from app.models import (
    BOARD_STATUSES,
    ID_MAX,
    Plan,
    Program,
    ProgramKind,
    Task,
    TaskEvent,
    TaskProgram,
    TaskStatus,
    TaskSupportingUnit,
    Unit,
    UnitKind,
    User,
)
from app.services.burndown import BurndownSeries, Measure, burndown_series, expected_done_fraction
from app.services.calendar import PlanCalendar
from app.services.chart import BurndownChart, burndown_chart
from app.services.filters import TaskFilter
from app.services.lateness import Lateness
from app.services.plans import plan_calendar
from app.services.reference_lists import FilterOptions, options_from
from app.services.task_detail import HistoryEntry, describe_events
from app.services.task_reads import EventView
from app.services.workflow import OPEN_STATUSES
from app.sorting import text_order

# --- the RAG rule ----------------------------------------------------------------------

# Green: done share at most 10 points behind the ideal line's expected share.
GREEN_MARGIN = 0.10
# Amber: at most 25 points behind; further behind is Red.
AMBER_MARGIN = 0.25
# Red as well when more than this share of the group's open tasks is late or blocked.
TROUBLE_SHARE = 0.20
# A unit whose people have recorded nothing on any task for this many days (or ever) is stale.
STALE_DAYS = 7
# Floating-point slack, so that a share exactly on a threshold counts as meeting it.
EPSILON = 1e-9

EXCEPTIONS_MAX = 50
ACTIVITY_MAX = 15
TASK_LIST_MAX = 300

STATUS_RANK = {status: rank for rank, status in enumerate(BOARD_STATUSES)}


class Rag(StrEnum):
    green = "green"
    amber = "amber"
    red = "red"
    grey = "grey"


RAG_LABELS = {Rag.green: "Hijau", Rag.amber: "Kuning", Rag.red: "Merah", Rag.grey: "Tanpa tugas"}
RAG_ORDER = {Rag.red: 0, Rag.amber: 1, Rag.green: 2, Rag.grey: 3}


@dataclass(frozen=True)
class GroupStats:
    """Counts of a group of tasks in scope (not cancelled)."""

    total: int = 0
    done: int = 0
    weight: int = 0
    done_weight: int = 0
    late: int = 0
    blocked: int = 0
    needs_decision: int = 0  # open tasks flagged for the Bupati's decision
    late_or_blocked: int = 0  # open tasks that are late, blocked or both (counted once)
    exceptions: int = 0  # open tasks that are blocked, late or need a decision

    @property
    def open(self) -> int:
        return self.total - self.done

    @property
    def done_fraction(self) -> float:
        return self.done / self.total if self.total else 0.0

    @property
    def done_pct(self) -> float | None:
        return 100 * self.done / self.total if self.total else None

    @property
    def done_weight_pct(self) -> float | None:
        return 100 * self.done_weight / self.weight if self.weight else None


def rag_status(stats: GroupStats, *, expected: float) -> Rag:
    """The RAG colour of a group of tasks (a program, a unit, the whole plan).

    `expected` is the share of the work the ideal burndown line says should be done by today
    (`expected_share`: 0 on day 0, 0.45 on day 45 of 100, 1 from the last day on); `actual`
    is the group's share of its tasks in scope (not cancelled) that are Selesai, by count.

    - Grey: the group has no tasks in scope.
    - Red: more than TROUBLE_SHARE (a fifth) of the group's open tasks are late or blocked,
      whatever the progress.
    - Green: actual ≥ expected − GREEN_MARGIN (at most 10 percentage points behind).
    - Amber: actual ≥ expected − AMBER_MARGIN (at most 25 points behind).
    - Red: further behind than that.

    Thresholds include their boundary (exactly 10 points behind is still Green).
    """
    if stats.total == 0:
        return Rag.grey
    if stats.open and stats.late_or_blocked / stats.open > TROUBLE_SHARE + EPSILON:
        return Rag.red
    actual = stats.done_fraction
    if actual >= expected - GREEN_MARGIN - EPSILON:
        return Rag.green
    if actual >= expected - AMBER_MARGIN - EPSILON:
        return Rag.amber
    return Rag.red


# --- view models -----------------------------------------------------------------------


@dataclass(frozen=True)
class RagRow:
    id: int
    name: str
    stats: GroupStats
    rag: Rag
    href: str

    @property
    def rag_label(self) -> str:
        return RAG_LABELS[self.rag]


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


@dataclass(frozen=True)
class ExceptionRow:
    task: Task
    owner_name: str
    owner_head: str
    days_late: int

    @property
    def is_blocked(self) -> bool:
        return self.task.status == TaskStatus.blocked


@dataclass(frozen=True)
class ActivityEntry:
    task_id: int
    task_code: str
    task_title: str
    entry: HistoryEntry


@dataclass(frozen=True)
class BurndownView:
    """The burndown region: the series under the chosen filters, and its drawing."""

    series: BurndownSeries
    chart: BurndownChart
    filters: TaskFilter
    measure: Measure


@dataclass(frozen=True)
class PlanDay:
    plan: Plan
    calendar: PlanCalendar
    today: date
    day_label: str


@dataclass(frozen=True)
class Dashboard:
    day: PlanDay
    headline: GroupStats
    expected: float  # the ideal line's done share today (0..1)
    overall: Rag
    burndown: BurndownView
    programs: list[tuple[ProgramKind, list[RagRow]]]
    units: list[tuple[UnitKind, list[UnitRow]]]
    exceptions: list[ExceptionRow]
    activity: list[ActivityEntry]

    @property
    def expected_pct(self) -> float:
        return 100 * self.expected

    @property
    def overall_label(self) -> str:
        return RAG_LABELS[self.overall]

    @property
    def more_exceptions(self) -> int:
        return max(self.headline.exceptions - len(self.exceptions), 0)

    @property
    def stale_units(self) -> int:
        return sum(1 for _, rows in self.units for row in rows if row.is_stale)


@dataclass(frozen=True)
class TaskLine:
    task: Task
    lead_unit_name: str
    due_day: int | None
    days_late: int
    is_lead: bool = True


@dataclass(frozen=True)
class GroupPage:
    """A program's or a unit's page: its RAG line, burndown and tasks."""

    day: PlanDay
    row: RagRow
    expected: float
    burndown: BurndownView
    tasks: list[TaskLine]
    program: Program | None = None
    unit: Unit | None = None

    @property
    def expected_pct(self) -> float:
        return 100 * self.expected

    @property
    def more_tasks(self) -> int:
        return max(self.row.stats.total - len(self.tasks), 0)


@dataclass(frozen=True)
class Reference:
    """Every unit and program (inactive ones too: their tasks still count), and the filter
    choices (active ones only)."""

    units: dict[int, Unit]
    programs: dict[int, Program]
    options: FilterOptions = field(default_factory=FilterOptions)


# --- helpers ---------------------------------------------------------------------------


def _plan_day(session: Session, plan: Plan, now: datetime | None) -> PlanDay:
    calendar = plan_calendar(session, plan)
    today = calendar.today(now)
    return PlanDay(plan=plan, calendar=calendar, today=today, day_label=calendar.day_label(today))


def reference(session: Session) -> Reference:
    """Units and programs in two queries; the filter choices derived from them."""
    units = session.exec(
        select(Unit).order_by(text_order(col(Unit.short_name)), col(Unit.id))
    ).all()
    programs = session.exec(
        select(Program).order_by(col(Program.sort_order), col(Program.id))
    ).all()
    return Reference(
        units={u.id: u for u in units if u.id is not None},
        programs={p.id: p for p in programs if p.id is not None},
        options=options_from(units, programs),
    )


def _stats_columns(lateness: Lateness) -> list[Any]:
    """Aggregate columns over `task` rows giving a GroupStats (in its field order)."""
    is_done = col(Task.status) == TaskStatus.done
    is_open = col(Task.status).in_(OPEN_STATUSES)
    is_blocked = col(Task.status) == TaskStatus.blocked
    is_late = lateness.condition()
    needs_decision = sa.and_(is_open, col(Task.needs_decision).is_(True))

    def count_if(condition: Any, value: Any = 1) -> Any:
        return sa.func.coalesce(sa.func.sum(sa.case((condition, value), else_=0)), 0)

    return [
        sa.func.count(col(Task.id)),
        count_if(is_done),
        sa.func.coalesce(sa.func.sum(col(Task.weight)), 0),
        count_if(is_done, col(Task.weight)),
        count_if(is_late),
        count_if(is_blocked),
        count_if(needs_decision),
        count_if(sa.or_(is_blocked, is_late)),
        count_if(sa.or_(is_blocked, is_late, needs_decision)),
    ]


def _stats(values: Sequence[Any]) -> GroupStats:
    return GroupStats(*(int(v or 0) for v in values))


def _in_scope(plan: Plan) -> list[Any]:
    return [Task.plan_id == plan.id, col(Task.status).in_(BOARD_STATUSES)]


def group_stats(
    session: Session, *, plan: Plan, filters: TaskFilter, calendar: PlanCalendar, today: date
) -> GroupStats:
    """The headline numbers of the tasks in scope under `filters` (one query)."""
    lateness = Lateness(calendar=calendar, today=today)
    row = session.exec(
        select(*_stats_columns(lateness)).where(
            *_in_scope(plan), *filters.conditions(lateness=lateness)
        )
    ).one()
    return _stats(row)


def _program_stats(session: Session, *, plan: Plan, lateness: Lateness) -> dict[int, GroupStats]:
    rows = session.exec(
        select(col(TaskProgram.program_id), *_stats_columns(lateness))
        .join(Task, col(Task.id) == TaskProgram.task_id)
        .where(*_in_scope(plan))
        .group_by(col(TaskProgram.program_id))
    ).all()
    return {row[0]: _stats(row[1:]) for row in rows}


def _unit_stats(session: Session, *, plan: Plan, lateness: Lateness) -> dict[int, GroupStats]:
    """Per unit, the tasks it leads or supports: the board's unit filter, so a row's numbers
    are those of the unit's page and of /board?unit=…"""
    lead: Any = sa.select(
        col(Task.id).label("task_id"), col(Task.lead_unit_id).label("unit_id")
    ).where(*_in_scope(plan))
    supporting: Any = (
        sa.select(
            col(TaskSupportingUnit.task_id).label("task_id"),
            col(TaskSupportingUnit.unit_id).label("unit_id"),
        )
        .join(Task, col(Task.id) == TaskSupportingUnit.task_id)
        .where(*_in_scope(plan))
    )
    links = sa.union(lead, supporting).subquery()
    rows = session.exec(
        select(links.c.unit_id, *_stats_columns(lateness))
        .select_from(links)
        .join(Task, col(Task.id) == links.c.task_id)
        .group_by(links.c.unit_id)
    ).all()
    return {row[0]: _stats(row[1:]) for row in rows}


def _last_updates(
    session: Session, *, plan: Plan, unit_id: int | None = None
) -> dict[int, datetime]:
    """When the people of each unit last recorded anything on a task of the plan."""
    conditions: list[Any] = [col(User.unit_id).is_not(None)]
    if unit_id is not None:
        conditions.append(User.unit_id == unit_id)
    # Per user, one index seek (actor_id, plan_id, at) instead of a scan of the plan's events.
    latest = (
        select(sa.func.max(TaskEvent.at))
        .where(TaskEvent.actor_id == User.id, TaskEvent.plan_id == plan.id)
        .correlate(User)
        .scalar_subquery()
    )
    updates: dict[int, datetime] = {}
    for uid, at in session.exec(select(col(User.unit_id), latest).where(*conditions)).all():
        if uid is not None and at is not None:
            updates[uid] = max(at, updates.get(uid, at))
    return updates


def _unit_row(
    unit: Unit,
    stats: GroupStats,
    *,
    expected: float,
    last_update_at: datetime | None,
    calendar: PlanCalendar,
    today: date,
) -> UnitRow:
    days = None
    if last_update_at is not None:
        days = max((today - calendar.local_date(last_update_at)).days, 0)
    return UnitRow(
        id=unit.id or 0,
        name=unit.short_name,
        stats=stats,
        rag=rag_status(stats, expected=expected),
        href=f"/dashboard/units/{unit.id}",
        kind=UnitKind(unit.kind),
        last_update_at=last_update_at,
        days_since_update=days,
    )


def _program_row(program: Program, stats: GroupStats, *, expected: float) -> RagRow:
    return RagRow(
        id=program.id or 0,
        name=program.short_name,
        stats=stats,
        rag=rag_status(stats, expected=expected),
        href=f"/dashboard/programs/{program.id}",
    )


def _by_severity(row: RagRow) -> tuple[int, float, str]:
    return (RAG_ORDER[row.rag], row.stats.done_fraction, row.name.lower())


def _exceptions(
    session: Session, *, plan: Plan, calendar: PlanCalendar, today: date
) -> list[ExceptionRow]:
    """Open tasks that are blocked, late or need a decision: blocked first, then the latest."""
    lateness = Lateness(calendar=calendar, today=today)
    is_late = lateness.condition()
    is_blocked = col(Task.status) == TaskStatus.blocked
    owner = aliased(Unit)
    rows = session.exec(
        select(Task, owner.short_name, owner.head_title, owner.head_name)
        .join(owner, col(owner.id) == Task.lead_unit_id)
        .where(
            Task.plan_id == plan.id,
            col(Task.status).in_(OPEN_STATUSES),
            sa.or_(is_blocked, is_late, col(Task.needs_decision).is_(True)),
        )
        .order_by(
            sa.case((is_blocked, 0), (is_late, 1), else_=2),
            col(Task.due_date).is_(None),
            col(Task.due_date),
            col(Task.id),
        )
        .limit(EXCEPTIONS_MAX)
    ).all()
    return [
        ExceptionRow(
            task=task,
            owner_name=name,
            owner_head=" ".join(part for part in (head_title, head_name) if part),
            days_late=lateness.days_late(task),
        )
        for task, name, head_title, head_name in rows
    ]


def _activity(session: Session, *, plan: Plan) -> list[ActivityEntry]:
    rows = session.exec(
        select(TaskEvent, User.full_name, Task.code, Task.title)
        .join(Task, col(Task.id) == TaskEvent.task_id)
        .join(User, col(User.id) == TaskEvent.actor_id, isouter=True)
        .where(TaskEvent.plan_id == plan.id)
        .order_by(col(TaskEvent.id).desc())
        .limit(ACTIVITY_MAX)
    ).all()
    views = [EventView(event=event, actor_name=name) for event, name, _, _ in rows]
    entries = describe_events(session, views)
    return [
        ActivityEntry(task_id=event.task_id, task_code=code, task_title=title, entry=entry)
        for (event, _, code, title), entry in zip(rows, entries, strict=True)
    ]


def _series(
    session: Session,
    *,
    plan: Plan,
    filters: TaskFilter,
    measure: Measure,
    now: datetime,
    day: PlanDay,
) -> BurndownView:
    series = burndown_series(session, plan=plan, filters=filters, measure=measure, now=now)
    return BurndownView(
        series=series,
        chart=burndown_chart(series, today=day.today, day_label=day.day_label),
        filters=filters,
        measure=measure,
    )


def expected_share(series: BurndownSeries) -> float:
    """The share of the work the ideal line expects done by the end of today, 0..1.

    This is `expected_done_fraction(series)`: 1 − ideal(today)/baseline, i.e. today's plan day
    over the plan's length, clamped. It is the same for the whole plan and for any filtered
    part of it (every ideal line runs from its own baseline to 0 on day L), so the chart's
    series serves. Where the series has no baseline scope (every task was added later) its
    ideal line is flat at 0; the group is then held to the same share of the plan's time.
    """
    if series.baseline_scope > 0:
        return expected_done_fraction(series)
    if series.length_days <= 0:
        return 0.0
    return min(1.0, max(0.0, series.today_day / series.length_days))


# --- public services -------------------------------------------------------------------


def burndown_view(
    session: Session,
    *,
    plan: Plan,
    filters: TaskFilter,
    measure: Measure = "count",
    now: datetime | None = None,
) -> BurndownView:
    """Only the burndown region (the htmx answer to the filter form)."""
    now = now or datetime.now(UTC)
    day = _plan_day(session, plan, now)
    return _series(session, plan=plan, filters=filters, measure=measure, now=now, day=day)


def build_dashboard(
    session: Session,
    *,
    plan: Plan,
    filters: TaskFilter,
    measure: Measure = "count",
    reference_data: Reference,
    now: datetime | None = None,
) -> Dashboard:
    """Everything /dashboard shows. `filters` and `measure` apply to the burndown only; the
    headline, the tables, the exceptions and the activity are plan-wide."""
    now = now or datetime.now(UTC)
    day = _plan_day(session, plan, now)
    today = day.today
    lateness = Lateness(calendar=day.calendar, today=today)
    shown = _series(session, plan=plan, filters=filters, measure=measure, now=now, day=day)
    expected = expected_share(shown.series)
    headline = group_stats(
        session, plan=plan, filters=TaskFilter(), calendar=day.calendar, today=today
    )

    program_stats = _program_stats(session, plan=plan, lateness=lateness)
    programs: list[tuple[ProgramKind, list[RagRow]]] = []
    for kind in ProgramKind:
        rows = [
            _program_row(p, program_stats.get(pid, GroupStats()), expected=expected)
            for pid, p in reference_data.programs.items()
            if p.kind == kind and (p.is_active or pid in program_stats)
        ]
        if rows:
            programs.append((kind, rows))

    unit_stats = _unit_stats(session, plan=plan, lateness=lateness)
    updates = _last_updates(session, plan=plan)
    units: list[tuple[UnitKind, list[UnitRow]]] = []
    for unit_kind in UnitKind:
        unit_rows = [
            _unit_row(
                u,
                unit_stats.get(uid, GroupStats()),
                expected=expected,
                last_update_at=updates.get(uid),
                calendar=day.calendar,
                today=today,
            )
            for uid, u in reference_data.units.items()
            if u.kind == unit_kind and (u.is_active or uid in unit_stats)
        ]
        if unit_rows:
            units.append((unit_kind, sorted(unit_rows, key=_by_severity)))

    return Dashboard(
        day=day,
        headline=headline,
        expected=expected,
        overall=rag_status(headline, expected=expected),
        burndown=shown,
        programs=programs,
        units=units,
        exceptions=_exceptions(session, plan=plan, calendar=day.calendar, today=today),
        activity=_activity(session, plan=plan),
    )


def _bounded(item_id: int) -> bool:
    return 1 <= item_id <= ID_MAX


def _task_lines(
    session: Session,
    *,
    plan: Plan,
    filters: TaskFilter,
    calendar: PlanCalendar,
    today: date,
    lead_unit_id: int | None = None,
) -> list[TaskLine]:
    """The group's tasks: open ones first (board column order), then by due date."""
    lateness = Lateness(calendar=calendar, today=today)
    lead = aliased(Unit)
    status_order = sa.case(
        {s.value: rank for s, rank in STATUS_RANK.items()}, value=col(Task.status), else_=99
    )
    rows = session.exec(
        select(Task, lead.short_name)
        .join(lead, col(lead.id) == Task.lead_unit_id)
        .where(*_in_scope(plan), *filters.conditions(lateness=lateness))
        .order_by(status_order, col(Task.due_date).is_(None), col(Task.due_date), col(Task.id))
        .limit(TASK_LIST_MAX)
    ).all()
    lines = []
    for task, lead_name in rows:
        lines.append(
            TaskLine(
                task=task,
                lead_unit_name=lead_name,
                due_day=calendar.day_number(task.due_date) if task.due_date else None,
                days_late=lateness.days_late(task),
                is_lead=lead_unit_id is None or task.lead_unit_id == lead_unit_id,
            )
        )
    return lines


def program_page(
    session: Session,
    *,
    plan: Plan,
    program_id: int,
    measure: Measure = "count",
    now: datetime | None = None,
) -> GroupPage:
    """One program: its RAG line, its burndown and its tasks. NotFound for an unknown id."""
    program = session.get(Program, program_id) if _bounded(program_id) else None
    if program is None:
        raise NotFound(f"Program #{program_id} tidak ditemukan.")
    filters = TaskFilter(program_id=program_id)
    return _group_page(
        session, plan=plan, filters=filters, measure=measure, now=now, program=program
    )


def unit_page(
    session: Session,
    *,
    plan: Plan,
    unit_id: int,
    measure: Measure = "count",
    now: datetime | None = None,
) -> GroupPage:
    """One unit (the tasks it leads or supports): RAG line with its last update, burndown,
    tasks. NotFound for an unknown id."""
    unit = session.get(Unit, unit_id) if _bounded(unit_id) else None
    if unit is None:
        raise NotFound(f"Unit #{unit_id} tidak ditemukan.")
    filters = TaskFilter(unit_id=unit_id)
    return _group_page(session, plan=plan, filters=filters, measure=measure, now=now, unit=unit)


def _group_page(
    session: Session,
    *,
    plan: Plan,
    filters: TaskFilter,
    measure: Measure,
    now: datetime | None,
    program: Program | None = None,
    unit: Unit | None = None,
) -> GroupPage:
    now = now or datetime.now(UTC)
    day = _plan_day(session, plan, now)
    shown = _series(session, plan=plan, filters=filters, measure=measure, now=now, day=day)
    expected = expected_share(shown.series)
    stats = group_stats(session, plan=plan, filters=filters, calendar=day.calendar, today=day.today)
    row: RagRow
    if unit is not None:
        updates = _last_updates(session, plan=plan, unit_id=unit.id)
        row = _unit_row(
            unit,
            stats,
            expected=expected,
            last_update_at=updates.get(unit.id or 0),
            calendar=day.calendar,
            today=day.today,
        )
    else:
        assert program is not None
        row = _program_row(program, stats, expected=expected)
    lines = _task_lines(
        session,
        plan=plan,
        filters=filters,
        calendar=day.calendar,
        today=day.today,
        lead_unit_id=unit.id if unit is not None else None,
    )
    return GroupPage(
        day=day,
        row=row,
        expected=expected,
        burndown=shown,
        tasks=lines,
        program=program,
        unit=unit,
    )
