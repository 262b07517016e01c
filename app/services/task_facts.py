"""The plan's tasks as the dashboard judges them: one small row per task in scope, and the
RAG figures (`GroupStats`) of any grouping of them — the plan, each program, each unit (tasks
it leads or supports), each district.

Three queries whatever the size (tasks, their program links, their supporting units), read
as plain rows; the grouping is one pass in Python, so every group's figures come from the same
rows and the same rule: the headline, the tables, the attention list and the public page
cannot disagree.

The dashboard's services keep each plan's facts between calls (`kept_facts`): the plan's change
number, read on every call, says which tasks to read again.
"""

import threading
from collections import Counter, OrderedDict, defaultdict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime
from operator import add, itemgetter, mul, sub
from typing import Any, NamedTuple, cast

import sqlalchemy as sa
from sqlmodel import Session, col

from app.models import (
    BOARD_STATUSES,
    Plan,
    Task,
    TaskEvent,
    TaskProgram,
    TaskStatus,
    TaskSupportingUnit,
)
from app.services.burndown import plain_rows
from app.services.calendar import PlanCalendar
from app.services.lateness import Lateness
from app.services.rag import GroupStats

_SINCE_STATUSES = (TaskStatus.blocked.value,)
_STATUS_OF = {status.value: status for status in TaskStatus}
_IN_SCOPE = frozenset(BOARD_STATUSES)
_IN_SCOPE_VALUES = [status.value for status in BOARD_STATUSES]


class TaskFact(NamedTuple):
    """A task in scope, with what the rule needs of it today. A named tuple: thousands are
    made per dashboard build, and a frozen dataclass's constructor costs several times more."""

    id: int
    status: TaskStatus
    due_date: date | None
    weight: int
    needs_decision: bool
    lead_unit_id: int
    district_id: int | None
    status_since: date | None  # blocked or in review: the local date it entered that status
    days_late: int  # plan days past its due date when late, else 0
    status_days: int  # days in its current status (blocked or review), else 0
    programs: tuple[int, ...] = ()
    units: tuple[int, ...] = ()  # lead unit first, then supporting units

    @property
    def is_open(self) -> bool:
        return self.status != TaskStatus.done

    @property
    def is_late(self) -> bool:
        return self.days_late > 0

    @property
    def is_blocked(self) -> bool:
        return self.status == TaskStatus.blocked

    @property
    def is_waiting_review(self) -> bool:
        return self.status == TaskStatus.review


# GroupStats' fields, in the order of Facts._row's figures: the sums, then the longest waits.
_STATS_FIELDS = tuple(f.name for f in fields(GroupStats))
_SUMMED = len(_STATS_FIELDS) - 2


def _stats_of(rows: list[tuple[int, ...]], times: list[int] | None = None) -> GroupStats:
    """One group's figures from its task rows (`Facts._row`), summed column by column (each
    row `times[i]` times when given): the sums run in C, which matters when every task is
    counted in five or six groups."""
    if not rows:
        return GroupStats()
    columns = list(zip(*rows, strict=True))
    if times is None:
        values = [sum(column) for column in columns[:_SUMMED]]
    else:
        values = [sum(map(mul, column, times)) for column in columns[:_SUMMED]]
    values += [max(0, *columns[_SUMMED]), max(0, *columns[_SUMMED + 1])]
    return GroupStats(**dict(zip(_STATS_FIELDS, values, strict=True)))


_DONE, _REVIEW, _BLOCKED = TaskStatus.done, TaskStatus.review, TaskStatus.blocked

# What a task's row (Facts._row) is made of: status, due date, weight, needs decision, days
# late, days in status. Read by index from the named tuple (in C).
_Shape = tuple[TaskStatus, date | None, int, bool, int, int]
_shape_of = cast(Callable[[TaskFact], _Shape], itemgetter(1, 2, 3, 4, 8, 9))


def needs_attention(t: TaskFact) -> bool:
    """Open, and blocked, late or waiting for the Bupati's decision: the headline's
    exceptions (GroupStats.exceptions counts the same tasks)."""
    return t.status != _DONE and (t.status == _BLOCKED or t.days_late > 0 or t.needs_decision)


@dataclass(frozen=True)
class Facts:
    """The tasks in scope and the day they are judged on."""

    today: date
    cutoff: date
    end_date: date
    tasks: list[TaskFact]
    # `grouped()` as kept_facts keeps it up to date write by write (Tally), when it does.
    kept_grouped: "GroupedStats | None" = field(default=None, compare=False, repr=False)

    def _row(self, t: TaskFact) -> tuple[int, ...]:
        return self._row_of_shape(_shape_of(t))

    def _row_of_shape(self, shape: "_Shape") -> tuple[int, ...]:
        status, due_date, weight, needs_decision, days_late, status_days = shape
        done = status == _DONE
        delivered = done or status == _REVIEW
        blocked = status == _BLOCKED
        due_by = due_date or self.end_date
        planned = due_by <= self.today
        due = due_by < self.cutoff
        decision = not done and needs_decision
        return (
            1,
            int(done),
            weight,
            weight if done else 0,
            int(planned),
            weight if planned else 0,
            int(due),
            int(due and delivered),
            int(delivered),
            int(days_late > 0),
            int(blocked),
            int(status == _REVIEW),
            int(decision),
            int(not done and (blocked or days_late > 0 or decision)),
            days_late,
            status_days if blocked else 0,
        )

    def stats(self, tasks: Iterable[TaskFact] | None = None) -> GroupStats:
        row = self._row
        return _stats_of([row(t) for t in (self.tasks if tasks is None else tasks)])

    def grouped(self) -> "GroupedStats":
        """Every grouping in one pass: per program, per unit (lead or supporting), per
        district, and the whole plan (kept_facts keeps it up to date as tasks are written)."""
        if self.kept_grouped is not None:
            return self.kept_grouped
        tally = Tally(self)
        tally.put((t.id, t) for t in self.tasks)
        return tally.grouped()


@dataclass(frozen=True)
class GroupedStats:
    plan: GroupStats
    programs: dict[int, GroupStats]
    units: dict[int, GroupStats]
    districts: dict[int, GroupStats]


# A group of Facts.grouped(): the plan (0, 0), a program (1, id), a unit (2, id), a district
# (3, id).
_Group = tuple[int, int]
_PLAN: _Group = (0, 0)


def _groups_of(t: TaskFact) -> tuple[_Group, ...]:
    """The groups `t` counts in, as Facts.grouped() counts it (a unit listed twice, twice)."""
    district = ((3, t.district_id),) if t.district_id is not None else ()
    return (
        _PLAN,
        *((1, pid) for pid in t.programs),
        *((2, uid) for uid in t.units),
        *district,
    )


class _GroupSums:
    """A group's running figures: the sums of its tasks' rows, and how many of its tasks have
    each value of the two longest waits (a task leaving may lower their maximum)."""

    __slots__ = ("blocked", "late", "sums")

    def __init__(self) -> None:
        self.sums = [0] * _SUMMED
        self.late: Counter[int] = Counter()
        self.blocked: Counter[int] = Counter()

    @classmethod
    def of(cls, rows: list[tuple[int, ...]], counts: Counter[int]) -> "_GroupSums":
        """The sums of `counts[i]` times each row `rows[i]`, column by column (in C)."""
        group = cls()
        ids, times = list(counts), list(counts.values())
        columns = list(zip(*(rows[i] for i in ids), strict=True))
        group.sums = [sum(map(mul, column, times)) for column in columns[:_SUMMED]]
        for value, n in zip(columns[_SUMMED], times, strict=True):
            group.late[value] += n
        for value, n in zip(columns[_SUMMED + 1], times, strict=True):
            group.blocked[value] += n
        return group

    def add(self, row: tuple[int, ...]) -> None:
        self.sums = list(map(add, self.sums, row))  # stops at the sums' length
        self.late[row[_SUMMED]] += 1
        self.blocked[row[_SUMMED + 1]] += 1

    def remove(self, row: tuple[int, ...]) -> None:
        self.sums = list(map(sub, self.sums, row))
        for counter, value in ((self.late, row[_SUMMED]), (self.blocked, row[_SUMMED + 1])):
            counter[value] -= 1
            if not counter[value]:
                del counter[value]

    @property
    def is_empty(self) -> bool:
        return not self.sums[0]  # the first figure counts the tasks

    def stats(self) -> GroupStats:
        values = [*self.sums, max((0, *self.late)), max((0, *self.blocked))]
        return GroupStats(**dict(zip(_STATS_FIELDS, values, strict=True)))


class Tally:
    """The figures of every group of a plan's tasks (Facts.grouped), which kept_facts keeps
    up to date write by write.

    A plan's thousands of tasks have only a couple of hundred distinct shapes (what a row is
    made of), so each shape's row is made once. Filled, each group's figures are summed over
    its shapes times their counts: the same figures as summing every task's row, for a
    fraction of the work. Then a write takes the task's old row off the sums of the groups it
    was in and adds its new row to those it is in: a few additions, where summing the plan's
    group again on every write was a tenth of a dashboard build's CPU under bench/load.py.
    Made for one day and calendar (its rows are judged on them)."""

    def __init__(self, judge: Facts) -> None:
        self._judge = judge  # its today, cutoff and end date make each shape's row
        self._shape_ids: dict[_Shape, int] = {}
        self._rows: list[tuple[int, ...]] = []
        self._of_task: dict[int, tuple[int, TaskFact]] = {}  # its shape, and as counted
        self._sums: dict[_Group, _GroupSums] = {}
        self._stats: dict[_Group, GroupStats] = {}

    def put(self, facts: Iterable[tuple[int, TaskFact | None]]) -> None:
        """Each (task id, fact): the task is now that fact (None: gone). The figures of the
        groups the tasks left or joined are made again, once each."""
        if not self._of_task:
            self._fill(facts)
            return
        touched: set[_Group] = set()
        for task_id, fact in facts:
            old = self._of_task.pop(task_id, None)
            if old is not None:
                shape_id, counted = old
                for group in _groups_of(counted):
                    self._sums[group].remove(self._rows[shape_id])
                    touched.add(group)
            if fact is not None:
                shape_id = self._shape_id(fact)
                self._of_task[task_id] = (shape_id, fact)
                for group in _groups_of(fact):
                    self._sums.setdefault(group, _GroupSums()).add(self._rows[shape_id])
                    touched.add(group)
        for group in touched:
            sums = self._sums[group]
            if sums.is_empty:
                del self._sums[group]
                self._stats.pop(group, None)
            else:
                self._stats[group] = sums.stats()

    def _fill(self, facts: Iterable[tuple[int, TaskFact | None]]) -> None:
        """`put` into an empty tally: each group's members listed, then counted in one go."""
        members: dict[_Group, list[int]] = defaultdict(list)
        for task_id, fact in facts:
            if fact is None:
                continue
            shape_id = self._shape_id(fact)
            self._of_task[task_id] = (shape_id, fact)
            for group in _groups_of(fact):
                members[group].append(shape_id)
        self._sums = {
            group: _GroupSums.of(self._rows, Counter(ids)) for group, ids in members.items()
        }
        self._stats = {group: sums.stats() for group, sums in self._sums.items()}

    def _shape_id(self, fact: TaskFact) -> int:
        shape = _shape_of(fact)
        shape_id = self._shape_ids.get(shape, -1)
        if shape_id < 0:
            shape_id = self._shape_ids[shape] = len(self._rows)
            self._rows.append(self._judge._row_of_shape(shape))
        return shape_id

    def grouped(self) -> GroupedStats:
        """The figures as they stand (new dicts: the tally goes on changing)."""
        by_kind: tuple[dict[int, GroupStats], ...] = ({}, {}, {}, {})
        for (kind, group_id), stats in self._stats.items():
            by_kind[kind][group_id] = stats
        return GroupedStats(
            plan=self._stats.get(_PLAN, GroupStats()),
            programs=by_kind[1],
            units=by_kind[2],
            districts=by_kind[3],
        )


def _status_since() -> Any:
    """When a blocked task entered that status: its latest event that moved it there (one
    index seek per blocked task). A task in review carries the date itself."""
    events = TaskEvent.__table__
    latest = (
        sa.select(sa.type_coerce(sa.func.max(events.c.at), sa.String()))
        .where(events.c.task_id == Task.id, events.c.to_status == Task.status)
        .correlate(Task)
        .scalar_subquery()
    )
    return sa.case((col(Task.status).in_(_SINCE_STATUSES), latest), else_=None)


def _as_date(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _local_date(calendar: PlanCalendar, value: Any) -> date | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return calendar.local_date(value) if isinstance(value, datetime) else None


# A task's fields the facts are made of, as of its last write, before any rule of the day:
# (id, status, due date, weight, needs decision, lead unit, district, review since, when it
# entered its blocked status, programs, lead unit then supporting units).
_Base = tuple[
    int,
    TaskStatus,
    date | None,
    int,
    bool,
    int,
    int | None,
    date | None,
    Any,
    tuple[int, ...],
    tuple[int, ...],
]
_NO_LINKS: tuple[int, ...] = ()


def _written_tasks() -> tuple[sa.Select[Any], sa.Select[Any], sa.Select[Any]]:
    """The queries of `_read_bases`: the plan's tasks written after a change number, their
    programs, their supporting units (parameters `plan_id` and `after_seq`)."""
    tasks = Task.__table__
    written = [
        tasks.c.plan_id == sa.bindparam("plan_id"),
        tasks.c.change_seq > sa.bindparam("after_seq"),
    ]
    links = TaskProgram.__table__
    support = TaskSupportingUnit.__table__
    return (
        sa.select(
            tasks.c.id,
            tasks.c.status,
            tasks.c.due_date,
            tasks.c.weight,
            tasks.c.needs_decision,
            tasks.c.lead_unit_id,
            tasks.c.district_id,
            tasks.c.review_since_date,
            _status_since(),
        ).where(*written),
        sa.select(links.c.task_id, links.c.program_id)
        .select_from(tasks.join(links, tasks.c.id == links.c.task_id))
        .where(*written),
        sa.select(support.c.task_id, support.c.unit_id)
        .select_from(tasks.join(support, tasks.c.id == support.c.task_id))
        .where(*written),
    )


# Built once: read on every dashboard build after a write, where building them (and their
# cache keys) cost about as much as SQLite's answers.
_WRITTEN_TASKS, _WRITTEN_PROGRAMS, _WRITTEN_SUPPORT = _written_tasks()


def _read_bases(session: Session, *, plan_id: int, after_seq: int) -> dict[int, _Base | None]:
    """The plan's tasks written after change number `after_seq` (all of them for -1), each
    with its links: three queries. A task out of scope (cancelled) maps to None."""
    params = {"plan_id": plan_id, "after_seq": after_seq}
    rows = plain_rows(session, _WRITTEN_TASKS, params)
    program_rows = plain_rows(session, _WRITTEN_PROGRAMS, params)
    support_rows = plain_rows(session, _WRITTEN_SUPPORT, params)
    programs: dict[int, list[int]] = defaultdict(list)
    for task_id, program_id in program_rows:
        programs[task_id].append(program_id)
    supporting: dict[int, list[int]] = defaultdict(list)
    for task_id, unit_id in support_rows:
        supporting[task_id].append(unit_id)
    bases: dict[int, _Base | None] = {}
    for task_id, status, due, weight, needs_decision, lead, district, review, since_at in rows:
        status = _STATUS_OF[status]  # a dict lookup: TaskStatus(value) costs ~1 µs a row
        if status not in _IN_SCOPE:
            bases[task_id] = None
            continue
        extra = supporting.get(task_id)
        linked = programs.get(task_id)
        bases[task_id] = (
            task_id,
            status,
            _as_date(due) if due is not None else None,
            weight,
            bool(needs_decision),
            lead,
            district,
            _as_date(review) if review is not None else None,
            since_at,
            tuple(linked) if linked is not None else _NO_LINKS,
            (lead,) if extra is None else (lead, *(u for u in extra if u != lead)),
        )
    return bases


def _fact(base: _Base, lateness: Lateness) -> TaskFact:
    """A task's fact on `lateness`'s day: its lateness and days in status by the plan's calendar."""
    (
        task_id,
        status,
        due,
        weight,
        needs_decision,
        lead,
        district,
        review,
        since_at,
        programs,
        units,
    ) = base
    if status == TaskStatus.review:
        since = review
    else:
        since = _local_date(lateness.calendar, since_at) if since_at is not None else None
    days_late = (
        lateness.days_late_of(status=status, due_date=due, review_since_date=review)
        if due is not None
        else 0
    )
    return TaskFact(
        task_id,
        status,
        due,
        weight,
        needs_decision,
        lead,
        district,
        since,
        days_late,
        max((lateness.today - since).days, 0) if since is not None else 0,
        programs,
        units,
    )


def _facts_of(
    tasks: list[TaskFact], lateness: Lateness, *, grouped: "GroupedStats | None" = None
) -> Facts:
    return Facts(
        today=lateness.today,
        cutoff=lateness.cutoff,
        end_date=lateness.calendar.end_date,
        tasks=tasks,
        kept_grouped=grouped,
    )


def load_facts(session: Session, *, plan: Plan, lateness: Lateness) -> Facts:
    """The plan's tasks in scope (not cancelled) with their links: three queries. Late is
    `lateness`'s rule (the one definition)."""
    bases = _read_bases(session, plan_id=plan.pk, after_seq=-1)
    return _facts_of([_fact(b, lateness) for b in bases.values() if b is not None], lateness)


# --- kept between calls ----------------------------------------------------------------


@dataclass
class _Kept:
    """A plan's task bases as of its change number `seq` (with the number in scope, checked
    against the database), and their facts on the day and calendar of `judged`."""

    seq: int
    bases: dict[int, _Base]
    judged: Lateness | None = None
    facts: dict[int, TaskFact] = field(default_factory=dict)
    tally: Tally | None = None  # Facts.grouped() of `facts`


# Per database and plan (its identity and creation time keep two databases with the same ids
# apart, as a restored backup). Every task write takes the plan's next change number
# (app.services.change_seq), and the plan's writes are serialised, so the numbers commit in
# order: once the plan's number reads N, every write numbered up to N is visible, and only the
# tasks numbered above what was kept need reading again.
KEPT_PLANS = 4
_kept: OrderedDict[Hashable, _Kept] = OrderedDict()
_kept_lock = threading.Lock()


def _plan_state_query() -> sa.Select[Any]:
    plans, tasks = Plan.__table__, Task.__table__
    in_scope = (
        sa.select(sa.func.count())
        .select_from(tasks)
        .where(tasks.c.plan_id == sa.bindparam("plan_id"), tasks.c.status.in_(_IN_SCOPE_VALUES))
        .scalar_subquery()
    )
    return sa.select(plans.c.change_seq, in_scope).where(plans.c.id == sa.bindparam("plan_id"))


# Built once: read on every call.
_PLAN_STATE = _plan_state_query()


def _plan_state(session: Session, plan_id: int) -> tuple[int, int] | None:
    """The plan's change number and its number of tasks in scope, read afresh: one query."""
    row = session.connection().execute(_PLAN_STATE, {"plan_id": plan_id}).first()
    return (int(row[0]), int(row[1])) if row is not None else None


def kept_facts(session: Session, *, plan: Plan, lateness: Lateness) -> Facts:
    """`load_facts`, from the plan's facts kept in this process: one query when no task of
    the plan was written since the last call, and then only the tasks written since are read
    (three more); on another day or calendar the facts are judged again from what is kept.
    The plan's change number and number of tasks in scope are read from the database on every
    call, so a write by any process is seen; a plan whose number went back (a restored
    backup), or whose count disagrees with what is kept (tasks written some other way), is
    read whole again."""
    state = _plan_state(session, plan.pk)
    if state is None:
        return load_facts(session, plan=plan, lateness=lateness)
    seq, count = state
    key = (str(session.connection().engine.url), plan.id, plan.created_at)
    with _kept_lock:
        kept = _kept.get(key)
        try:
            if kept is not None and kept.seq > seq:
                kept = None
            if kept is None:
                kept = _Kept(seq=-1, bases={})
                _kept[key] = kept
                while len(_kept) > KEPT_PLANS:
                    _kept.popitem(last=False)
            else:
                _kept.move_to_end(key)
            read: dict[int, _Base | None] = {}
            if kept.seq < seq:
                read = _read_bases(session, plan_id=plan.pk, after_seq=kept.seq)
                for task_id, base in read.items():
                    if base is None:
                        kept.bases.pop(task_id, None)
                        kept.facts.pop(task_id, None)
                    else:
                        kept.bases[task_id] = base
                kept.seq = seq
            if len(kept.bases) != count:
                _kept.pop(key, None)
                return load_facts(session, plan=plan, lateness=lateness)
            if kept.judged != lateness or kept.tally is None:
                kept.facts = {i: _fact(b, lateness) for i, b in kept.bases.items()}
                kept.judged = lateness
                kept.tally = Tally(_facts_of([], lateness))
                kept.tally.put(kept.facts.items())
            else:
                now = {i: _fact(b, lateness) if b is not None else None for i, b in read.items()}
                kept.facts.update((i, fact) for i, fact in now.items() if fact is not None)
                kept.tally.put(now.items())
            return _facts_of(list(kept.facts.values()), lateness, grouped=kept.tally.grouped())
        except BaseException:
            _kept.pop(key, None)  # half-read: start again next time
            raise


def forget_kept_facts() -> None:
    """Drop the kept facts (a benchmark's cold start; tests that run many databases)."""
    with _kept_lock:
        _kept.clear()
