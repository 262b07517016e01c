"""The Kanban board: columns with counts and weight sums, cards, and the change stamp.

A board request costs a fixed number of queries whatever the number of tasks: the counts,
weight sums and change stamps come from one GROUP BY; the cards shown (the first `page_size`
of each column) from one narrow query of what their HTML depends on (CardStamp), and only the
cards whose HTML no earlier request left in the card cache (app.card_html) are loaded whole,
with their programs, evidence and directive counts in one query each.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any, NamedTuple

import sqlalchemy as sa
from markupsafe import Markup
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import Select

from app.db import core_reader
from app.models import (
    BOARD_STATUSES,
    Plan,
    Program,
    ProgramKind,
    Task,
    TaskProgram,
    TaskStatus,
    TaskSupportingUnit,
    Unit,
    User,
)
from app.permissions import move_targets
from app.services.calendar import PlanCalendar
from app.services.directives import open_directive_counts
from app.services.filters import TaskFilter
from app.services.labels import STATUS_LABELS
from app.services.lateness import Lateness
from app.services.task_reads import evidence_counts

# A column's enum member from the member or its stored value (a StrEnum member hashes as its
# value): a dict lookup, where TaskStatus(value) costs about a microsecond a card.
_STATUS_OF: dict[str, TaskStatus] = {status.value: status for status in TaskStatus}


@dataclass
class ProgramTag:
    id: int
    short_name: str
    kind: ProgramKind


class CardStamp(NamedTuple):
    """What a card's HTML depends on, read without loading the task: its id and column, its
    version and last change (every change a card shows writes the task's event, which moves
    both: fields, programs, evidence, directives), the columns the viewer may move it into
    (all a card shows of the viewer), the day it is read for (due day, lateness), and the
    plans' reference revision (unit, program and district names, holidays, the plan's dates:
    publishing.touch_public moves it).

    A named tuple, not a dataclass: a board builds and hashes hundreds of these per request,
    and a tuple is built and hashed in C."""

    task_id: int
    status: TaskStatus
    version: int
    updated_at: datetime
    targets: tuple[TaskStatus, ...]
    today: date
    reference_revision: int


@dataclass
class Card:
    task: Task
    stamp: CardStamp
    lead_unit_name: str
    district_name: str | None
    programs: list[ProgramTag] = field(default_factory=list)
    due_day: int | None = None
    days_late: int = 0
    # Evidence not removed: moving to Menunggu Verifikasi without any needs a note.
    evidence_count: int = 0
    # Directives not yet answered by a follow-up (the card's badge).
    open_directives: int = 0
    # Days waiting in Menunggu Verifikasi (None: not waiting).
    review_days: int | None = None

    @property
    def is_late(self) -> bool:
        return self.days_late > 0

    @property
    def move_targets(self) -> tuple[TaskStatus, ...]:
        return self.stamp.targets


@dataclass
class CardSlot:
    """A card in its place on the board: its HTML as an earlier request left it in the card
    cache, or (when none did) the card, loaded whole to be rendered."""

    stamp: CardStamp
    html: Markup | None = None
    card: Card | None = None


# The card cache's answers for stamps, in their order (app.card_html.cached_cards), None
# where it has none.
CachedCards = Callable[[Sequence[CardStamp]], list[Markup | None]]


@dataclass
class Column:
    status: TaskStatus
    label: str
    count: int
    weight: int
    cards: list[CardSlot]

    @property
    def has_more(self) -> bool:
        return len(self.cards) < self.count


@dataclass(frozen=True)
class ColumnStat:
    """A column under the view's filters: its count and weight sum, and its change stamp
    (count, highest change number: services.change_seq). The latest task write time is not
    part of the stamp the browser gets; it keeps a server-side entry of a restored database,
    whose change numbers may repeat, apart from one of the database before."""

    count: int = 0
    weight: int = 0
    last_change: int = 0
    last_write: datetime | None = None

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


# Made once: a new alias per query made SQLAlchemy adapt its columns afresh every time, a sixth
# of a move's answer.
_LEAD = aliased(Unit, name="lead_unit")
_DISTRICT = aliased(Unit, name="district_unit")


def _card_query(*conditions: Any) -> Select[Task, str, str | None]:
    """Tasks with the short names of their lead unit and district ("Kec. Rantau Bayur")."""
    return (
        select(Task, _LEAD.short_name, _DISTRICT.short_name)
        .join(_LEAD, col(_LEAD.id) == Task.lead_unit_id)
        .join(_DISTRICT, col(_DISTRICT.id) == Task.district_id, isouter=True)
        .where(*conditions)
    )


# One card of a plan (bound: task_id, plan_id), built once: every move answers with its card,
# and building the select (its cache key) cost twice what loading the card did.
_ONE_CARD = _card_query(
    col(Task.id) == sa.bindparam("task_id"), col(Task.plan_id) == sa.bindparam("plan_id")
)


# Built once and run on the connection (app.services.task_reads._EVIDENCE_COUNTS says why).
_PROGRAM_TAGS = (
    sa.select(col(TaskProgram.task_id), col(Program.id), col(Program.short_name), col(Program.kind))
    .join(Program, col(Program.id) == TaskProgram.program_id)
    .where(col(TaskProgram.task_id).in_(sa.bindparam("task_ids", expanding=True)))
    .order_by(col(Program.sort_order), col(Program.id))
)


def _programs_of(session: Session, task_ids: Sequence[int]) -> dict[int, list[ProgramTag]]:
    tags: dict[int, list[ProgramTag]] = {tid: [] for tid in task_ids}
    if not task_ids:
        return tags
    rows = core_reader(session).execute(_PROGRAM_TAGS, {"task_ids": list(task_ids)})
    for task_id, program_id, short_name, kind in rows:
        tags[task_id].append(
            ProgramTag(id=program_id or 0, short_name=short_name, kind=ProgramKind(kind))
        )
    return tags


@dataclass(frozen=True)
class _Seat:
    """A card's column and lead unit: all the move rule reads of it (permissions.TaskSeat)."""

    status: TaskStatus
    lead_unit_id: int
    code: str = ""


class _CardReader:
    """Reads cards for one viewer on one day: their stamps, and the cards themselves where
    the cache has no HTML. The move rule runs once per (column, lead unit), the only things
    permissions.move_targets looks at of a card, not once per card."""

    def __init__(
        self, session: Session, *, plan: Plan, user: User, calendar: PlanCalendar, today: date
    ) -> None:
        self.session = session
        self.user = user
        self.calendar = calendar
        self.today = today
        self.reference_revision = plan.public_revision
        self._targets: dict[tuple[TaskStatus, int], tuple[TaskStatus, ...]] = {}

    def stamp(
        self, *, task_id: int, status: TaskStatus, version: int, updated_at: datetime, lead: int
    ) -> CardStamp:
        targets = self._targets.get((status, lead))
        if targets is None:
            seat = _Seat(status=_STATUS_OF[status], lead_unit_id=lead)
            targets = self._targets[status, lead] = tuple(move_targets(self.user, seat))
        return CardStamp(
            task_id=task_id,
            status=_STATUS_OF[status],
            version=version,
            updated_at=updated_at,
            targets=targets,
            today=self.today,
            reference_revision=self.reference_revision,
        )

    def stamps(self, shown: Any) -> list[CardStamp]:
        """The stamps of the cards whose ids `shown` (a subquery) selects, in board order,
        from one narrow query (on the session's connection: ORM rows would cost more than
        the query itself)."""
        tasks = Task.__table__
        rows = (
            self.session.connection()
            .execute(
                sa.select(
                    tasks.c.id,
                    tasks.c.status,
                    tasks.c.version,
                    tasks.c.updated_at,
                    tasks.c.lead_unit_id,
                )
                .where(tasks.c.id.in_(sa.select(shown.c.id)))
                .order_by(tasks.c.status, tasks.c.position, tasks.c.id)
            )
            .all()
        )
        return [
            self.stamp(task_id=i, status=s, version=v, updated_at=at, lead=lead)
            for i, s, v, at, lead in rows
        ]

    def cards(self, *conditions: Any) -> list[Card]:
        """The tasks `conditions` choose, loaded whole, with their programs, evidence and
        open directives (one query each)."""
        return self.cards_of(self.session.exec(_card_query(*conditions)).all())

    def card(self, *, task_id: int, plan_id: int) -> Card | None:
        """One task of the plan, loaded whole, or None."""
        rows = self.session.exec(_ONE_CARD, params={"task_id": task_id, "plan_id": plan_id}).all()
        cards = self.cards_of(rows)
        return cards[0] if cards else None

    def cards_of(self, rows: Sequence[tuple[Task, str, str | None]]) -> list[Card]:
        """The cards of `rows` (a card query's), with their programs, evidence and open
        directives (one query each)."""
        task_ids = [task.pk for task, _, _ in rows]
        programs = _programs_of(self.session, task_ids)
        evidence = evidence_counts(self.session, task_ids)
        directives = open_directive_counts(self.session, task_ids)
        lateness = Lateness(calendar=self.calendar, today=self.today)
        cards = []
        for task, lead_name, district_name in rows:
            stamp = self.stamp(
                task_id=task.pk,
                status=task.status,
                version=task.version,
                updated_at=task.updated_at,
                lead=task.lead_unit_id,
            )
            review_since = task.review_since_date
            cards.append(
                Card(
                    task=task,
                    stamp=stamp,
                    lead_unit_name=lead_name,
                    district_name=district_name,
                    programs=programs.get(task.pk, []),
                    due_day=self.calendar.day_number(task.due_date) if task.due_date else None,
                    days_late=lateness.days_late(task),
                    evidence_count=evidence.get(task.pk, 0),
                    open_directives=directives.get(task.pk, 0),
                    review_days=max((self.today - review_since).days, 0)
                    if task.status == TaskStatus.review and review_since
                    else None,
                )
            )
        return cards

    def slots(self, stamps: Sequence[CardStamp], cached: CachedCards | None) -> list[CardSlot]:
        """The cards of `stamps`: their HTML from the cache, or (for those it lacks) the cards
        loaded whole."""
        found = cached(stamps) if cached else [None] * len(stamps)
        slots = [
            CardSlot(stamp=stamp, html=html) for stamp, html in zip(stamps, found, strict=True)
        ]
        missing = [slot.stamp.task_id for slot in slots if slot.html is None]
        if not missing:
            return slots
        by_id = {card.task.pk: card for card in self.cards(col(Task.id).in_(missing))}
        for slot in slots:
            if slot.html is None:
                slot.card = by_id.get(slot.stamp.task_id)
        # A card gone between the two reads (PostgreSQL reads each statement afresh) is left
        # out.
        return [slot for slot in slots if slot.html is not None or slot.card is not None]


def _column_stats_select(
    *conditions: Any,
) -> sa.Select[TaskStatus, int, int, int, datetime]:
    """Count, weight sum, highest change number and latest write per column of the plan, of
    the tasks `conditions` choose (bound: plan_id, statuses)."""
    return (
        sa.select(
            col(Task.status),
            sa.func.count(),
            sa.func.coalesce(sa.func.sum(col(Task.weight)), 0),
            sa.func.coalesce(sa.func.max(col(Task.change_seq)), 0),
            sa.func.max(col(Task.updated_at)),
        )
        .where(
            col(Task.plan_id) == sa.bindparam("plan_id"),
            col(Task.status).in_(sa.bindparam("statuses", expanding=True)),
            *conditions,
        )
        .group_by(col(Task.status))
    )


def _unit_column_stats_select(
    *conditions: Any,
) -> sa.CompoundSelect[TaskStatus, int, int, int, datetime]:
    """The column figures of one unit's cards (bound: unit_id), in two parts the caller adds
    up: the cards it leads, read along ix_task_unit_columns, and the cards it only supports,
    reached from task_supporting_unit. The filter's own "lead or supporting" (one OR) is read
    along a whole column, so it cost what the plan's size does; these parts cost what the
    unit's cards do. DISTINCT keeps the supported ids a subquery of their own, which SQLite
    reads first (its planner, with no ANALYZE statistics, would otherwise walk the columns)."""
    unit_id: sa.BindParameter[int] = sa.bindparam("unit_id")
    supported = (
        sa.select(col(TaskSupportingUnit.task_id).label("id"))
        .where(col(TaskSupportingUnit.unit_id) == unit_id)
        .distinct()
        .subquery("supported")
    )
    led = _column_stats_select(col(Task.lead_unit_id) == unit_id, *conditions)
    only_supported = _column_stats_select(col(Task.lead_unit_id) != unit_id, *conditions).join(
        supported, supported.c.id == col(Task.id)
    )
    return sa.union_all(led, only_supported)


# Built once, run on the session's connection: every board view, poll and move counts its
# columns, and building these selects (or loading their rows through the ORM) cost more than
# SQLite took to answer them from ix_task_columns (the whole plan's) or ix_task_unit_columns
# (a unit's view, the default board of every unit user).
_COLUMN_STATS = _column_stats_select()
_UNIT_COLUMN_STATS = _unit_column_stats_select()


def column_counts(
    session: Session,
    *,
    plan_id: int,
    filters: TaskFilter,
    lateness: Lateness,
    statuses: Sequence[TaskStatus] = BOARD_STATUSES,
) -> dict[TaskStatus, ColumnStat]:
    """Count, weight sum and change stamp of each board column (or of `statuses`) under
    `filters` (one query: the poll's whole cost when nothing changed)."""
    params: dict[str, Any] = {"plan_id": plan_id, "statuses": list(statuses)}
    if filters.unit_id:
        params["unit_id"] = filters.unit_id
        rest = replace(filters, unit_id=None).conditions(lateness=lateness)
        statement: sa.Executable = _unit_column_stats_select(*rest) if rest else _UNIT_COLUMN_STATS
    else:
        conditions = filters.conditions(lateness=lateness)
        statement = _COLUMN_STATS.where(*conditions) if conditions else _COLUMN_STATS
    rows = core_reader(session).execute(statement, params).all()
    stats = dict.fromkeys(statuses, ColumnStat())
    for status, count, weight, last_change, last_write in rows:
        column = _STATUS_OF[status]
        before = stats[column]
        writes = [at for at in (before.last_write, last_write) if at is not None]
        stats[column] = ColumnStat(
            before.count + int(count),
            before.weight + int(weight),
            max(before.last_change, int(last_change)),
            max(writes, default=None),
        )
    return stats


def _column_tops(
    plan: Plan, statuses: Sequence[TaskStatus], conditions: Sequence[Any], page_size: int
) -> Any:
    """The ids of the top `page_size` cards of each column, as one subquery: a UNION ALL of
    one LIMIT per column, each read along ix_task_board, so the cost follows the cards
    shown, not the plan's size."""
    tops = [
        select(col(Task.id).label("id"))
        .where(Task.plan_id == plan.id, Task.status == status, *conditions)
        .order_by(col(Task.position), col(Task.id))
        .limit(page_size)
        .subquery()
        for status in statuses
    ]
    return sa.union_all(*(sa.select(top.c.id) for top in tops)).subquery()


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
    cached: CachedCards | None = None,
) -> Board:
    """The columns `statuses` (all five by default) with the first `page_size` cards of
    each, as they stand on `today` (default: today in the plan's timezone); `stats` are the
    columns' figures (column_counts), read before the cards so that a change made meanwhile
    shows at the next poll rather than hiding behind the stamp. `cached` is the card cache:
    only the cards it has no HTML for are loaded whole."""
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
    if not statuses:
        return Board(plan=plan, columns=[], stats=stats)
    reader = _CardReader(session, plan=plan, user=user, calendar=calendar, today=today)
    shown = _column_tops(plan, statuses, conditions, page_size)
    slots = reader.slots(reader.stamps(shown), cached)
    by_status: dict[TaskStatus, list[CardSlot]] = {s: [] for s in statuses}
    for slot in slots:
        by_status[slot.stamp.status].append(slot)
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
    cached: CachedCards | None = None,
    today: date | None = None,
) -> tuple[list[CardSlot], bool]:
    """Up to `limit` more cards of one column (loaded when the end of the column scrolls into
    view) as they stand on `today` (default: today in the plan's timezone), and whether more
    follow."""
    lateness = Lateness(calendar=calendar, today=today or calendar.today())
    page = (
        select(col(Task.id).label("id"))
        .where(
            Task.plan_id == plan.id, Task.status == status, *filters.conditions(lateness=lateness)
        )
        .order_by(col(Task.position), col(Task.id))
        .offset(offset)
        .limit(limit + 1)  # one more than shown tells whether another page follows
        .subquery()
    )
    reader = _CardReader(session, plan=plan, user=user, calendar=calendar, today=lateness.today)
    stamps = reader.stamps(page)
    return reader.slots(stamps[:limit], cached), len(stamps) > limit


def card_for(
    session: Session, *, task_id: int, plan: Plan, user: User, calendar: PlanCalendar
) -> Card | None:
    """One card of `plan`, as the board would show it (the answer to a move, its move page)."""
    reader = _CardReader(session, plan=plan, user=user, calendar=calendar, today=calendar.today())
    return reader.card(task_id=task_id, plan_id=plan.pk)
