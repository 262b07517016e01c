"""The Kanban board: columns with counts and weight sums, cards, and the change stamp.

A board request costs a fixed number of queries whatever the number of tasks: the cards of
every column come from one query (the first `page_size` per column), their programs and
evidence counts from one more each, the counts, weight sums and change stamps from one
GROUP BY.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import Select

from app.models import (
    BOARD_STATUSES,
    Plan,
    Program,
    ProgramKind,
    Task,
    TaskProgram,
    TaskStatus,
    Unit,
    User,
)
from app.permissions import leads, move_targets
from app.services.calendar import PlanCalendar
from app.services.directives import open_directive_counts
from app.services.filters import TaskFilter
from app.services.labels import STATUS_LABELS
from app.services.lateness import Lateness
from app.services.task_reads import evidence_counts


@dataclass
class ProgramTag:
    id: int
    short_name: str
    kind: ProgramKind


@dataclass
class Card:
    task: Task
    lead_unit_name: str
    district_name: str | None
    programs: list[ProgramTag] = field(default_factory=list)
    due_day: int | None = None
    days_late: int = 0
    move_targets: list[TaskStatus] = field(default_factory=list)
    # Evidence not removed: moving to Menunggu Verifikasi without any needs a note.
    evidence_count: int = 0
    # Directives not yet answered by a follow-up (the card's badge).
    open_directives: int = 0
    # Days waiting in Menunggu Verifikasi (None: not waiting).
    review_days: int | None = None
    # The day the card was read for ("late" and "Hari ke-" depend on it).
    today: date | None = None

    @property
    def is_late(self) -> bool:
        return self.days_late > 0


@dataclass
class Column:
    status: TaskStatus
    label: str
    count: int
    weight: int
    cards: list[Card]

    @property
    def has_more(self) -> bool:
        return len(self.cards) < self.count


@dataclass(frozen=True)
class ColumnStat:
    """A column under the view's filters: its count and weight sum, and its change stamp
    (count, highest change number: services.change_seq)."""

    count: int = 0
    weight: int = 0
    last_change: int = 0

    @property
    def stamp(self) -> str:
        return f"{self.count}-{self.last_change}"


@dataclass
class Board:
    plan: Plan
    # The columns built (all five, or those a poll re-sends), and every column's figures.
    columns: list[Column]
    stats: dict[TaskStatus, ColumnStat]

    @property
    def total(self) -> int:
        return sum(s.count for s in self.stats.values())


def _card_query(*conditions: Any) -> Select[Task, str, str | None]:
    """Tasks with the short names of their lead unit and district ("Kec. Rantau Bayur")."""
    lead = aliased(Unit)
    district = aliased(Unit)
    return (
        select(Task, lead.short_name, district.short_name)
        .join(lead, col(lead.id) == Task.lead_unit_id)
        .join(district, col(district.id) == Task.district_id, isouter=True)
        .where(*conditions)
    )


def _programs_of(session: Session, task_ids: Sequence[int]) -> dict[int, list[ProgramTag]]:
    tags: dict[int, list[ProgramTag]] = {tid: [] for tid in task_ids}
    if not task_ids:
        return tags
    rows = session.exec(
        select(TaskProgram.task_id, Program.id, Program.short_name, Program.kind)
        .join(Program, col(Program.id) == TaskProgram.program_id)
        .where(col(TaskProgram.task_id).in_(task_ids))
        .order_by(col(Program.sort_order), col(Program.id))
    ).all()
    for task_id, program_id, short_name, kind in rows:
        tags[task_id].append(
            ProgramTag(id=program_id or 0, short_name=short_name, kind=ProgramKind(kind))
        )
    return tags


def _cards(
    session: Session,
    rows: Sequence[tuple[Task, str, str | None]] | Sequence[Any],
    *,
    user: User,
    calendar: PlanCalendar,
    today: date,
) -> list[Card]:
    task_ids = [t.pk for t, _, _ in rows]
    programs = _programs_of(session, task_ids)
    evidence = evidence_counts(session, task_ids)
    directives = open_directive_counts(session, task_ids)
    lateness = Lateness(calendar=calendar, today=today)
    # The columns a viewer may move a card into depend on the card's column and whether the
    # viewer's unit leads it (permissions.ensure_can_move): worked out once per such class.
    targets: dict[tuple[str, bool], list[TaskStatus]] = {}
    cards = []
    for task, lead_name, district_name in rows:
        permission_class = (str(task.status), leads(user, task))
        if permission_class not in targets:
            targets[permission_class] = move_targets(user, task)
        due_day = calendar.day_number(task.due_date) if task.due_date else None
        late = lateness.days_late(task)
        cards.append(
            Card(
                task=task,
                lead_unit_name=lead_name,
                district_name=district_name,
                programs=programs.get(task.pk, []),
                due_day=due_day,
                days_late=late,
                move_targets=targets[permission_class],
                evidence_count=evidence.get(task.pk, 0),
                open_directives=directives.get(task.pk, 0),
                review_days=max((today - task.review_since_date).days, 0)
                if task.status == TaskStatus.review and task.review_since_date
                else None,
                today=today,
            )
        )
    return cards


def column_counts(
    session: Session, *, plan_id: int, filters: TaskFilter, lateness: Lateness
) -> dict[TaskStatus, ColumnStat]:
    """Count, weight sum and change stamp of each board column under `filters` (one query:
    the poll's whole cost when nothing changed)."""
    rows = session.exec(
        select(
            Task.status,
            sa.func.count(),
            sa.func.coalesce(sa.func.sum(Task.weight), 0),
            sa.func.coalesce(sa.func.max(Task.change_seq), 0),
        )
        .where(
            Task.plan_id == plan_id,
            col(Task.status).in_(BOARD_STATUSES),
            *filters.conditions(lateness=lateness),
        )
        .group_by(col(Task.status))
    ).all()
    stats = dict.fromkeys(BOARD_STATUSES, ColumnStat())
    for status, count, weight, last_change in rows:
        stats[TaskStatus(status)] = ColumnStat(int(count), int(weight), int(last_change))
    return stats


def build_board(
    session: Session,
    *,
    plan: Plan,
    user: User,
    filters: TaskFilter,
    calendar: PlanCalendar,
    page_size: int,
    stats: dict[TaskStatus, ColumnStat] | None = None,
    statuses: Sequence[TaskStatus] = BOARD_STATUSES,
    today: date | None = None,
) -> Board:
    """The columns `statuses` (all five by default) with the first `page_size` cards of
    each, as they stand on `today` (default: today in the plan's timezone); `stats` are the
    columns' figures (column_counts), read before the cards so that a change made meanwhile
    shows at the next poll rather than hiding behind the stamp."""
    lateness = Lateness(calendar=calendar, today=today or calendar.today())
    today = lateness.today
    conditions = filters.conditions(lateness=lateness)
    if stats is None:
        stats = column_counts(
            session,
            plan_id=plan.pk,
            filters=filters,
            lateness=lateness,
        )
    # The top of each column on its own (UNION ALL of one LIMIT per column, each read along
    # ix_task_board), so the cost follows the cards shown, not the plan's size.
    tops = [
        select(col(Task.id).label("id"))
        .where(Task.plan_id == plan.id, Task.status == status, *conditions)
        .order_by(col(Task.position), col(Task.id))
        .limit(page_size)
        .subquery()
        for status in statuses
    ]
    if not tops:
        return Board(plan=plan, columns=[], stats=stats)
    shown = sa.union_all(*(sa.select(top.c.id) for top in tops)).subquery()
    rows = session.exec(
        _card_query(col(Task.id).in_(sa.select(shown.c.id))).order_by(
            col(Task.status), col(Task.position), col(Task.id)
        )
    ).all()
    cards = _cards(session, rows, user=user, calendar=calendar, today=today)
    by_status: dict[TaskStatus, list[Card]] = {s: [] for s in statuses}
    for card in cards:
        by_status[TaskStatus(card.task.status)].append(card)
    columns = [
        Column(
            status=s,
            label=STATUS_LABELS[s],
            count=stats[s].count,
            weight=stats[s].weight,
            cards=by_status[s],
        )
        for s in statuses
    ]
    return Board(plan=plan, columns=columns, stats=stats)


def column_page(
    session: Session,
    *,
    plan: Plan,
    user: User,
    status: TaskStatus,
    filters: TaskFilter,
    calendar: PlanCalendar,
    offset: int,
    limit: int,
) -> list[Card]:
    """More cards of one column (loaded when the end of the column scrolls into view)."""
    lateness = Lateness.now(calendar)
    today = lateness.today
    rows = session.exec(
        _card_query(
            Task.plan_id == plan.id, Task.status == status, *filters.conditions(lateness=lateness)
        )
        .order_by(col(Task.position), col(Task.id))
        .offset(offset)
        .limit(limit)
    ).all()
    return _cards(session, rows, user=user, calendar=calendar, today=today)


def card_for(session: Session, *, task_id: int, user: User, calendar: PlanCalendar) -> Card | None:
    """One card, as the board would show it (the answer to a move)."""
    rows = session.exec(_card_query(Task.id == task_id)).all()
    if not rows:
        return None
    return _cards(session, rows, user=user, calendar=calendar, today=calendar.today())[0]
