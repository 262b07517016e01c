"""The planned curve and the actual curve (DESIGN §3 "The planned curve (Kurva S)").

For every date of the plan (the burndown's date frame: day 0, the day before day 1, to day L),
evaluated at the end of the day in the plan's timezone, as a share of `scope(d)`:

- `planned(d)` (*rencana*): the tasks in scope whose due date is on or before that date; a task
  without a due date is due on the plan's last day. The due date counted is the one in force
  at the end of d: a due date moved on day 40 from day 30 to day 60 counts as planned on days
  30–39 and again from day 60, so the curve shows the plan as it stood each day. Dates after
  today use the plan as it stands now.
- `actual(d)` (*realisasi*): the tasks in scope that are Selesai at the end of d.
- `physical(d)` (*realisasi fisik*): the same plus, for open tasks, their reported progress
  (a task at 40 % counts 0.4). Shown beside the others, never used alone for a colour.

By count each task counts 1; by weight, its weight in force then. Every figure is rebuilt from
`task_event` (creation, status changes, and the edits that change `due_date`,
`progress_pct` or `weight`, each carrying `[old, new]`), with each task's current values read
with it to know its values before its first edit. Dates after today have no actual values.

Cost: one SQL statement (two in working-day mode, which reads the holidays) whatever the size:
the plan's relevant events joined to their task's current values; each task's events are
replayed in order into per-date differences, so the work is one pass over those events.
The plan-wide curve as of now (no scope filter, no `now` given: the dashboard's default view)
keeps its replay and each task's state, and a later call replays only the events recorded
since, so a view after a change costs those events, not the whole history. The worker stores
that replay now and then (`curve_checkpoint`, `write_checkpoints`); a process that keeps none
yet (just started) begins from the stored one instead of from the plan's first event.
"""

import csv
import hashlib
import io
import json
import threading
from bisect import bisect_right
from collections import OrderedDict, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from itertools import accumulate
from operator import itemgetter
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from app.db import core_reader
from app.models import CurveCheckpoint, EventKind, Plan, Task, TaskEvent, TaskStatus
from app.services.burndown import (
    CREATION,
    FORECAST_WINDOW_DAYS,
    MEASURES,
    DateFrame,
    Measure,
    date_frame,
    event_time_key,
    plain_rows,
    scope_filter,
)
from app.services.calendar import PlanCalendar
from app.services.filters import TaskFilter
from app.services.lateness import Lateness
from app.services.plans import plan_calendar

_EVENTS = TaskEvent.__table__
_TASKS = Task.__table__
_TRACKED = ('%"due_date"%', '%"progress_pct"%', '%"weight"%')
_CLOSED = (TaskStatus.done.value, TaskStatus.cancelled.value)
_EDIT_KINDS = tuple(
    k.value
    for k in (
        EventKind.edited,
        EventKind.assigned,
        EventKind.progress,
        EventKind.moved,
        EventKind.verified,
        EventKind.rejected,
        EventKind.cancelled,
        EventKind.imported,
    )
)


@dataclass(frozen=True)
class CurvePoint:
    day: int  # plan day (0: the baseline point); repeats over non-working dates
    date: date
    is_working_day: bool
    planned: float  # share 0..1 of the scope due by the end of this date
    actual: float | None  # share in Selesai; None after today
    physical: float | None  # actual plus the open tasks' reported progress; None after today
    scope: float  # the scope the shares are of (tasks, or weight)


@dataclass(frozen=True)
class CurveSeries:
    measure: Measure
    length_days: int
    today_day: int
    today: date
    points: list[CurvePoint]
    window_days: int  # the trailing window the projection's pace is measured over
    projected_end: float | None  # actual share projected to the last day at the recent pace

    @property
    def today_point(self) -> CurvePoint | None:
        """The last point with actual values (today's, or the last day's after the plan)."""
        actual = [p for p in self.points if p.actual is not None]
        return actual[-1] if actual else None

    @property
    def planned_today(self) -> float:
        point = self.today_point
        return point.planned if point is not None else 0.0

    @property
    def actual_today(self) -> float:
        point = self.today_point
        return point.actual or 0.0 if point is not None else 0.0

    @property
    def physical_today(self) -> float:
        point = self.today_point
        return point.physical or 0.0 if point is not None else 0.0


def curve_series(
    session: Session,
    *,
    plan: Plan,
    filters: TaskFilter,
    measure: Measure = "count",
    now: datetime | None = None,
) -> CurveSeries:
    """Rencana, realisasi and realisasi fisik per date under `filters` (unit, program, program
    kind, district: the burndown's scope filters), by count or by weight, as of `now`."""
    if measure not in MEASURES:
        raise ValueError(f"unknown measure {measure!r}")
    live = now is None
    now = now or datetime.now(UTC)
    calendar, today, frame, query = _history_as_of(session, plan, filters, now)
    by_weight = measure == "weight"
    if live and scope_filter(filters) == TaskFilter():
        with _live_lock:
            replay = _kept_replay(session, plan, query, frame=frame, measure=measure)
            # The running sums move on with the next call: hand out a copy.
            sums = replay.sums.copy()
        return _assemble(sums, frame=frame, measure=measure, calendar=calendar, today=today)
    replay = _Replay.for_frame(frame)
    rows = plain_rows(session, query.where(_EVENTS.c.at <= now), {"plan_id": plan.id})
    replay.add(rows, frame=frame, by_weight=by_weight)
    return _assemble(replay.sums, frame=frame, measure=measure, calendar=calendar, today=today)


def _history_as_of(
    session: Session, plan: Plan, filters: TaskFilter, now: datetime
) -> tuple[PlanCalendar, date, DateFrame, sa.Select[Any]]:
    """The plan's calendar, the date `now` falls on, the dates the curve is laid out on, and
    the query of its events under `filters`."""
    calendar = plan_calendar(session, plan)
    today = calendar.local_date(now)
    at_column, key = event_time_key(session)
    frame = date_frame(calendar, today=today, key=key)
    scope = scope_filter(filters)
    if scope == TaskFilter():
        query = _whole_history(at_column)
    else:
        lateness = Lateness(calendar=calendar, today=today)
        query = _history_query(at_column, scope.conditions(lateness=lateness))
    return calendar, today, frame, query


@lru_cache(maxsize=4)
def _whole_history(at_column: Any) -> sa.Select[Any]:
    """`_history_query` of the whole plan, built once per database (its `at_column`): the
    dashboard reads it after every change, and building it cost more than the new events."""
    return _history_query(at_column, ())


@lru_cache(maxsize=4)
def _newer_events(history: sa.Select[Any]) -> sa.Select[Any]:
    """`history` (a kept `_whole_history`) after the event `after_id` only."""
    return history.where(_EVENTS.c.id > sa.bindparam("after_id"))


def _history_query(at_column: Any, conditions: Sequence[Any]) -> sa.Select[Any]:
    """The events of the plan `plan_id` (a parameter) that move the curve, each with its
    task's current values, of the tasks `conditions` (a scope filter's) choose."""
    tracked_edit = sa.and_(
        # The kinds whose changes can carry a due date, progress or weight (a cheap test
        # first: notes, directives and evidence are never parsed).
        _EVENTS.c.kind.in_(_EDIT_KINDS),
        sa.not_(CREATION),
        sa.or_(*(sa.cast(_EVENTS.c.changes, sa.String()).like(p) for p in _TRACKED)),
    )
    return (
        sa.select(
            _EVENTS.c.task_id,
            at_column,
            _EVENTS.c.id,
            sa.case((CREATION, 1), else_=0),
            _EVENTS.c.to_status,
            sa.case((tracked_edit, sa.type_coerce(_EVENTS.c.changes, sa.String())), else_=None),
            _TASKS.c.weight,
            _TASKS.c.due_date,
            _TASKS.c.progress_pct,
        )
        .select_from(_EVENTS.join(_TASKS, _TASKS.c.id == _EVENTS.c.task_id))
        .where(
            _EVENTS.c.plan_id == sa.bindparam("plan_id"),
            _TASKS.c.plan_id == sa.bindparam("plan_id"),
            *conditions,
            sa.or_(
                CREATION,
                _EVENTS.c.to_status.in_(_CLOSED),
                _EVENTS.c.from_status.in_(_CLOSED),
                tracked_edit,
            ),
        )
    )


def _kept_replay(
    session: Session, plan: Plan, query: sa.Select[Any], *, frame: DateFrame, measure: Measure
) -> "_Replay":
    """The plan-wide replay as of now (the caller holds _live_lock): the kept one, else the
    worker's checkpoint, else the whole history; plus the events recorded since (every
    committed event is in the past, so no time bound is needed)."""
    by_weight = measure == "weight"
    live_key = (plan.id, plan.created_at, by_weight, tuple(frame.bounds))
    latest = _latest_event_id(session, plan)
    replay = _live.get(live_key)
    if replay is not None and latest < replay.last_id:
        replay = None  # the history went back (a restored backup): replay it whole
    try:
        if replay is None:
            replay = _from_checkpoint(session, plan, frame=frame, measure=measure, latest=latest)
        if replay is None:
            replay = _Replay.for_frame(frame)
            replay.add(
                plain_rows(session, query, {"plan_id": plan.id}), frame=frame, by_weight=by_weight
            )
        elif latest > replay.last_id:
            params = {"plan_id": plan.id, "after_id": replay.last_id}
            newer = plain_rows(session, _newer_events(query), params)
            replay.add(newer, frame=frame, by_weight=by_weight)
        _live[live_key] = replay
        _live.move_to_end(live_key)
        while len(_live) > LIVE_ENTRIES:
            _live.popitem(last=False)
    except BaseException:
        _live.pop(live_key, None)  # half-replayed: start again next time
        raise
    return replay


# --- checkpoints: the kept replay, stored for a new process to start from ----------------

# The worker writes a plan's checkpoint again when it is this old and events came since; a
# new process then replays at most this long a stretch of events on top of it.
CHECKPOINT_EVERY_SECONDS = 600
_PAYLOAD_VERSION = 1


def _frame_key(plan: Plan, frame: DateFrame) -> str:
    """The frame a replay's sums are laid out on (its dates and their bounds), as a digest."""
    text = "|".join((str(plan.created_at), str(frame.points), *map(str, frame.bounds)))
    return hashlib.sha256(text.encode()).hexdigest()


def _from_checkpoint(
    session: Session, plan: Plan, *, frame: DateFrame, measure: Measure, latest: int
) -> "_Replay | None":
    """The worker's checkpoint of this plan, measure and frame, if it is one the history as it
    stands could have produced (not past its latest event); None otherwise."""
    row = session.get(CurveCheckpoint, (plan.id, measure))
    if row is None or row.frame_key != _frame_key(plan, frame) or row.last_event_id > latest:
        return None
    return _Replay.from_payload(row.payload, last_id=row.last_event_id, frame=frame)


def write_checkpoints(session: Session, *, plan: Plan, now: datetime) -> list[Measure]:
    """Store the plan-wide replay of each measure where the stored one is missing, of another
    frame, or CHECKPOINT_EVERY_SECONDS old with events since (`seratus worker` calls this every
    round). Returns the measures written; the caller commits."""
    _, _, frame, query = _history_as_of(session, plan, TaskFilter(), now)
    frame_key = _frame_key(plan, frame)
    latest = _latest_event_id(session, plan)
    written: list[Measure] = []
    for measure in MEASURES:
        stored = session.get(CurveCheckpoint, (plan.id, measure))
        if stored is not None and stored.frame_key == frame_key:
            fresh = (now - stored.written_at).total_seconds() < CHECKPOINT_EVERY_SECONDS
            if fresh or stored.last_event_id == latest:
                continue
        with _live_lock:
            replay = _kept_replay(session, plan, query, frame=frame, measure=measure)
            payload, last_id = replay.to_payload(), replay.last_id
        # The stored row, if any, is in the session already: merge updates it in place.
        session.merge(
            CurveCheckpoint(
                plan_id=plan.pk,
                measure=measure,
                frame_key=frame_key,
                last_event_id=last_id,
                payload=payload,
                written_at=now,
            )
        )
        written.append(measure)
    return written


def forget_live_curves() -> None:
    """Drop the kept replays (a benchmark's cold start; tests)."""
    with _live_lock:
        _live.clear()


def live_curves_kept() -> int:
    """How many plan-wide replays this process keeps."""
    return len(_live)


_LATEST_EVENT = sa.select(sa.func.max(_EVENTS.c.id)).where(
    _EVENTS.c.plan_id == sa.bindparam("plan_id")
)


def _latest_event_id(session: Session, plan: Plan) -> int:
    latest = core_reader(session).execute(_LATEST_EVENT, {"plan_id": plan.id}).scalar()
    return int(latest or 0)


@dataclass
class _Sums:
    scope: list[float]
    done: list[float]
    physical: list[float]
    planned: list[float]

    def copy(self) -> "_Sums":
        return _Sums(
            scope=list(self.scope),
            done=list(self.done),
            physical=list(self.physical),
            planned=list(self.planned),
        )


# A task's state after the events replayed so far: (0 absent, 1 open, 2 done, 3 cancelled;
# weight; due date; progress).
_TaskState = tuple[int, Any, date | None, Any]


@dataclass
class _Replay:
    """Per-date differences of scope, done, physical progress and planned work, with each
    task's state after the events replayed so far, so later events can be added on top."""

    sums: _Sums
    states: dict[int, _TaskState]
    last_id: int = 0

    @classmethod
    def for_frame(cls, frame: DateFrame) -> "_Replay":
        """Nothing replayed yet: a slot per date of `frame`, plus one past it."""
        size = len(frame.dates) + 1
        return cls(
            sums=_Sums(
                scope=[0.0] * size, done=[0.0] * size, physical=[0.0] * size, planned=[0.0] * size
            ),
            states={},
        )

    def to_payload(self) -> str:
        """The sums and each task's state as JSON (floats round-trip exactly)."""
        sums = self.sums
        tasks = [
            [task_id, state, weight, due.isoformat() if due else None, progress]
            for task_id, (state, weight, due, progress) in self.states.items()
        ]
        return json.dumps(
            {
                "v": _PAYLOAD_VERSION,
                "sums": [sums.scope, sums.done, sums.physical, sums.planned],
                "tasks": tasks,
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_payload(cls, payload: str, *, last_id: int, frame: DateFrame) -> "_Replay | None":
        """A replay stored by `to_payload` for `frame`; None for anything else (another
        version or size, or text that is not such JSON): the caller replays the history."""
        try:
            data = json.loads(payload)
            if data.get("v") != _PAYLOAD_VERSION:
                return None
            scope, done, physical, planned = (list(map(float, s)) for s in data["sums"])
            states: dict[int, _TaskState] = {
                int(task_id): (int(state), weight, _as_date(due), progress)
                for task_id, state, weight, due, progress in data["tasks"]
            }
        except (ValueError, TypeError, KeyError, AttributeError):
            return None
        size = len(frame.dates) + 1
        if any(len(column) != size for column in (scope, done, physical, planned)):
            return None
        sums = _Sums(scope=scope, done=done, physical=physical, planned=planned)
        return cls(sums=sums, states=states, last_id=last_id)

    def add(self, rows: Sequence[Any], *, frame: DateFrame, by_weight: bool) -> None:
        """Replay `rows` (events after the ones replayed so far): each event takes the task's
        old contribution away from its date on and adds the new one."""
        by_task: dict[int, list[Any]] = defaultdict(list)
        for row in rows:
            by_task[row[0]].append(row)
        if rows:
            self.last_id = max(self.last_id, max(map(_EVENT_ID, rows)))
        for task_id, task_rows in by_task.items():
            task_rows.sort(key=_IN_TIME_ORDER)
            self.states[task_id] = _replay_task(
                task_rows,
                self.states.get(task_id),
                sums=self.sums,
                frame=frame,
                by_weight=by_weight,
            )


# The plan-wide live curves (no scope filter, as of now), per plan, measure and date frame.
# Events are only ever appended (a plan's writes are serialised, so ids follow commit order),
# which is what lets a later call replay only the events after `last_id`. A frame that
# changes (a new day past the plan's end, the plan's dates or holidays) is another key.
LIVE_ENTRIES = 8
_live: OrderedDict[tuple[Any, ...], _Replay] = OrderedDict()
_live_lock = threading.Lock()


# A row's event id, and its place in time (instant, then id); json.loads' own decoder, called
# without its wrapper (~13,000 changes a whole replay at 50,000 events).
_EVENT_ID = itemgetter(2)
_IN_TIME_ORDER = itemgetter(1, 2)
_decode = json.JSONDecoder().decode


def _as_date(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _replay_task(
    task_rows: list[Any],
    before: _TaskState | None,
    *,
    sums: _Sums,
    frame: DateFrame,
    by_weight: bool,
) -> _TaskState:
    """Add one task's events (oldest first) to `sums`, from its state `before` them (None: the
    task's first events, whose values before any change come from the events themselves or,
    for a value never changed, the task's current row)."""
    size = len(sums.scope)
    first = frame.dates[0]
    last_index = frame.points - 1  # the plan's last day: where undated work is due
    bounds = frame.bounds
    scope, done, physical, planned = sums.scope, sums.done, sums.physical, sums.planned

    def due_index(due: date | None) -> int:
        if due is None:
            return last_index
        return min(max((due - first).days, 0), size - 1)

    parsed = [None if r[5] is None else _changes(r[5]) for r in task_rows]
    if before is None:
        current = task_rows[0]
        weight = _initial(parsed, "weight", current[6])
        due = _as_date(_initial(parsed, "due_date", current[7]))
        progress = _initial(parsed, "progress_pct", current[8])
        state = 0  # 0 absent, 1 open, 2 done, 3 cancelled
    else:
        state, weight, due, progress = before
    for row, changes in zip(task_rows, parsed, strict=True):
        _, at, _, is_creation, to_status, _, _, _, _ = row
        new_state = state
        if to_status is not None:
            new_state = 2 if to_status == "done" else 3 if to_status == "cancelled" else 1
        elif is_creation:
            new_state = 1
        new_weight, new_due, new_progress = weight, due, progress
        if changes:
            if "weight" in changes:
                new_weight = _new_value(changes["weight"], weight)
            if "due_date" in changes:
                new_due = _as_date(_new_value(changes["due_date"], due))
            if "progress_pct" in changes:
                new_progress = _new_value(changes["progress_pct"], progress)
        if (new_state, new_weight, new_due, new_progress) == (state, weight, due, progress):
            continue
        index = bisect_right(bounds, at)
        old = _contribution(state, weight if by_weight else 1, progress)
        new = _contribution(new_state, new_weight if by_weight else 1, new_progress)
        scope[index] += new[0] - old[0]
        done[index] += new[1] - old[1]
        physical[index] += new[2] - old[2]
        if old[0]:
            planned[max(index, due_index(due))] -= old[0]
        if new[0]:
            planned[max(index, due_index(new_due))] += new[0]
        state, weight, due, progress = new_state, new_weight, new_due, new_progress
    return (state, weight, due, progress)


def _changes(raw: Any) -> dict[str, Any] | None:
    if raw is None:
        return None
    value = _decode(raw) if isinstance(raw, str) else raw
    return value if isinstance(value, dict) else None


def _initial(parsed: list[dict[str, Any] | None], field: str, current: Any) -> Any:
    """A field's value before the task's first recorded change of it (its current value when
    it never changed)."""
    for changes in parsed:
        if changes and field in changes:
            change = changes[field]
            if isinstance(change, list) and len(change) == 2:
                return change[0]
    return current


def _new_value(change: Any, fallback: Any) -> Any:
    return change[1] if isinstance(change, list) and len(change) == 2 else fallback


def _contribution(state: int, weight: Any, progress: Any) -> tuple[float, float, float]:
    """(scope, done, physical) of one task in `state`."""
    if state not in (1, 2):
        return (0.0, 0.0, 0.0)
    w = float(weight or 0)
    if state == 2:
        return (w, w, w)
    share = min(max(float(progress or 0), 0.0), 100.0) / 100
    return (w, 0.0, w * share)


def _assemble(
    sums: _Sums,
    *,
    frame: DateFrame,
    measure: Measure,
    calendar: PlanCalendar,
    today: date,
) -> CurveSeries:
    today_day = calendar.day_number(today)
    calendar_length = calendar.length_days
    scope = list(accumulate(sums.scope))
    done = list(accumulate(sums.done))
    physical = list(accumulate(sums.physical))
    planned = list(accumulate(sums.planned))
    points: list[CurvePoint] = []
    for index in range(frame.points):
        day_date = frame.dates[index]
        past = day_date <= today
        total = scope[index] if past else scope[_now_index(frame, today)]
        points.append(
            CurvePoint(
                day=frame.day_numbers[index],
                date=day_date,
                is_working_day=calendar.is_working_day(day_date),
                planned=_share(planned[index], total),
                actual=_share(done[index], total) if past else None,
                physical=_share(physical[index], total) if past else None,
                scope=round(total, 6),
            )
        )
    window, projected = _projection(
        frame, done=done, scope=scope, today=today, today_day=today_day, length=calendar_length
    )
    return CurveSeries(
        measure=measure,
        length_days=calendar_length,
        today_day=today_day,
        today=today,
        points=points,
        window_days=window,
        projected_end=projected,
    )


def _now_index(frame: DateFrame, today: date) -> int:
    return max(0, min((today - frame.dates[0]).days, len(frame.dates) - 1))


def _share(part: float, whole: float) -> float:
    return min(max(part / whole, 0.0), 1.0) if whole > 0 else 0.0


def _projection(
    frame: DateFrame,
    *,
    done: list[float],
    scope: list[float],
    today: date,
    today_day: int,
    length: int,
) -> tuple[int, float | None]:
    """The actual share on the last day if the last FORECAST_WINDOW_DAYS plan days' pace
    (gain of the done share per plan day) holds; None before day 1 or after the plan."""
    if today_day < 1 or today_day >= length:
        return 0, None
    window = min(FORECAST_WINDOW_DAYS, today_day)
    now_index = _now_index(frame, today)
    then_index = frame.end_of_day[today_day - window]
    now_share = _share(done[now_index], scope[now_index])
    then_share = _share(done[then_index], scope[then_index])
    pace = (now_share - then_share) / window
    return window, min(max(now_share + pace * (length - today_day), now_share), 1.0)


CURVE_CSV_HEADER = ("hari", "tanggal", "hari_kerja", "rencana", "realisasi", "realisasi_fisik")


def curve_csv(series: CurveSeries) -> str:
    """The curve as CSV (shares in percent with two decimals; empty after today)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CURVE_CSV_HEADER)

    def pct(share: float | None) -> str:
        return "" if share is None else f"{100 * share:.2f}"

    for p in series.points:
        writer.writerow(
            (
                p.day,
                p.date.isoformat(),
                "ya" if p.is_working_day else "tidak",
                pct(p.planned),
                pct(p.actual),
                pct(p.physical),
            )
        )
    return buffer.getvalue()
