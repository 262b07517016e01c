"""The burndown (DESIGN §3): scope, remaining and the ideal line per day, and a forecast.

Every figure is rebuilt from `task_event`, so the history is exact and can be recomputed at
any time:

- A task exists from its `created` event (or the `imported` event that created it). Every
  status change writes an event with the status it left and the one it entered
  (`from_status` → `to_status`); `cancelled` takes the task out of the scope, a restore
  (`cancelled` → `todo`) brings it back, `done` takes it out of the remaining work and a
  re-opening (`done` → `in_progress`) puts it back. So each event counts on its own, in any
  order, and only the events that enter or leave `done` or `cancelled` (and creations) are
  read: moves between the open columns change nothing here.
- `scope(d)` counts the tasks that exist at the end of day d and are not cancelled;
  `remaining(d)` those of them whose status then is not `done`. By weight, each task counts
  with the weight in force at that moment (`edited`/`assigned` events carry
  `{"weight": [old, new]}`); a weight change of a task in the scope moves the scope (and the
  remaining work, when the task is not done) on the day it happens.
- "The end of day d" is midnight in the plan's timezone (WIB for Banyuasin), not UTC.
- There is one point per date from the day before day 1 (day 0, the baseline point: the
  state at the start of day 1) to the plan's last day. In calendar mode that is exactly days
  0..L. In working-day mode non-working dates get a point too and carry the number of the
  last working day before them (as `PlanCalendar.day_number` does), so the ideal line is flat
  across weekends and holidays; there `day` repeats and the position of a point along a time
  axis is `(point.date - points[0].date).days`.
- The ideal line runs from the baseline scope B (the scope at `plan.baseline_at`, or at the
  start of day 1 when unset) at day 0 to 0 at day L: ideal(d) = B·(1 − d/L), d the plan day.
  Later scope changes never move it.
- `added`/`removed` are the scope changes after the baseline on each date: tasks created or
  restored, tasks cancelled (and, by weight, weight raised or lowered on a task in scope).
  Changes between the baseline and day 1 show on the day-0 point.
- Dates after today have no actual values (`scope`/`remaining` None); events after `now`
  are ignored, so `now` also gives the picture as it was at that instant.
- Forecast: the burn rate is the net drop of `remaining` over the trailing window of the
  last `FORECAST_WINDOW_DAYS` (14) plan days up to now, today included (fewer while fewer
  have started; in working-day mode plan days are working days), per plan day: from the end
  of day T−w to now, divided by w. At that rate the remaining work R reaches 0 on day
  T + ⌈R / rate⌉. A rate ≤ 0, or a day beyond `FORECAST_HORIZON_LENGTHS` plan lengths, is
  "not at this rate".
- Filters select tasks by their CURRENT attributes (lead or supporting unit, program,
  program kind, district), over their whole history: a task moved to another unit last week
  counts for its new unit on every day. The board's other filters (overdue, needs decision,
  text search) describe a task's state now, not a scope, and are ignored here.

Cost: one SQL statement whatever the size of the plan (two in working-day mode, which reads
the holidays), reading only the columns needed of only the events that matter (by weight
also the edits that change a weight, and each task's current weight). Instants are mapped to
dates by bisecting the precomputed UTC instants of the local midnights, per-date deltas are
summed once, and only tasks whose weight changed are replayed event by event.
"""

import csv
import io
import json
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from itertools import accumulate
from typing import Any, Literal, get_args

import sqlalchemy as sa
from sqlmodel import Session

from app.models import EventKind, Plan, Task, TaskEvent, TaskStatus
from app.services.calendar import PlanCalendar
from app.services.filters import TaskFilter
from app.services.lateness import Lateness
from app.services.plans import plan_calendar
from app.timefmt import format_day_date

Measure = Literal["count", "weight"]
MEASURES: tuple[Measure, ...] = get_args(Measure)

# Two weeks (two working weeks in working-day mode): long enough to smooth the weekly rhythm
# of reports and verification rounds, short enough to follow a change of pace.
FORECAST_WINDOW_DAYS = 14
# A forecast further out than this many plan lengths is reported as "not at this rate".
FORECAST_HORIZON_LENGTHS = 10


@dataclass(frozen=True)
class BurndownPoint:
    day: int  # 0..L; day 0 is the baseline point (the start of day 1)
    date: date  # plan-local date of that day (day 0: the day before day 1)
    is_working_day: bool
    ideal: float
    scope: float | None  # None for days after today
    remaining: float | None  # None for days after today
    added: float  # scope added on that day after the baseline (created or restored)
    removed: float  # scope removed on that day after the baseline (cancelled)


@dataclass(frozen=True)
class Forecast:
    window_days: int  # the trailing window (plan days) the burn rate is measured over
    burn_per_day: float  # net decrease of remaining per plan day over that window
    day: int | None  # plan day on which remaining reaches 0 at this rate; None: not at this rate
    date: date | None
    remaining: float = 0.0  # remaining now, the forecast's starting point
    scope: float = 0.0  # scope now
    length_days: int = 100  # the plan's last day, named in the "not at this rate" sentence

    @property
    def label(self) -> str:
        """The forecast in a sentence for the dashboard."""
        if self.scope <= 0:
            return "Belum ada tugas dalam lingkup ini"
        if self.remaining <= 0:
            return "Semua tugas selesai"
        if self.window_days == 0:
            return "Proyeksi tersedia mulai Hari ke-1"
        if self.day is None or self.date is None:
            return f"Dengan laju saat ini, tugas tidak selesai sampai Hari ke-{self.length_days}"
        return f"Proyeksi selesai: Hari ke-{self.day} ({format_day_date(self.date)})"


@dataclass(frozen=True)
class BurndownSeries:
    measure: Measure
    length_days: int
    today_day: int  # plan day of today; may be < 1 or > length_days
    baseline_scope: float
    points: list[BurndownPoint]  # days 0..L (see the module's docstring for working mode)
    forecast: Forecast
    current_scope: float = 0.0  # now (also after the plan's last day)
    current_remaining: float = 0.0
    baseline_at: datetime | None = None  # the instant the baseline scope was taken at

    @property
    def current_done(self) -> float:
        return self.current_scope - self.current_remaining

    @property
    def done_fraction(self) -> float:
        """Share of the current scope that is done (0 when the scope is empty)."""
        return self.current_done / self.current_scope if self.current_scope > 0 else 0.0

    @property
    def added_total(self) -> float:
        return sum(p.added for p in self.points)

    @property
    def removed_total(self) -> float:
        return sum(p.removed for p in self.points)

    @property
    def today_point(self) -> BurndownPoint | None:
        """The last point with actual values (today's, or day L's after the plan ended)."""
        actual = [p for p in self.points if p.remaining is not None]
        return actual[-1] if actual else None

    def ideal_at(self, day: int) -> float:
        """The ideal remaining work at the end of plan day `day` (B before day 1, 0 after L)."""
        return _ideal(self.baseline_scope, day, self.length_days)


def expected_done_fraction(series: BurndownSeries) -> float:
    """The share of the baseline the ideal line expects done by the end of today, 0..1
    (1 − ideal(today)/baseline, which is today_day / L clamped; 0 when nothing is planned)."""
    if series.baseline_scope <= 0:
        return 0.0
    return min(1.0, max(0.0, 1.0 - series.ideal_at(series.today_day) / series.baseline_scope))


def _ideal(baseline: float, day: int, length: int) -> float:
    done = min(max(day, 0), length)
    return baseline * (1 - done / length) if length > 0 else 0.0


# --- the date frame --------------------------------------------------------------------


@dataclass(frozen=True)
class DateFrame:
    """The dates the series is evaluated on and the instants that separate them.

    `dates[0]` is the day before day 1; the frame runs to the plan's last day, or to today
    when that is later (the forecast needs the days after the plan too). `bounds[k]` is the
    start of `dates[k + 1]` (the end of `dates[k]`) as a database-comparable key, so an event
    at `at` falls on `dates[bisect_right(bounds, at)]`; index len(dates) is past the frame.
    """

    dates: list[date]
    day_numbers: list[int]
    bounds: list[Any]
    points: int  # how many leading dates are the series' points (day 0 .. day L)
    end_of_day: dict[int, int]  # plan day → index of the last date carrying its number


def local_midnight(calendar: PlanCalendar, value: date) -> datetime:
    return datetime.combine(value, time(0), tzinfo=calendar.tz).astimezone(UTC)


# Every view of a day lays its series out on the same dates (~0.5 ms to make at 100 days, on
# every dashboard build): made once per calendar, day and key. Shared: never changed.
@lru_cache(maxsize=32)
def date_frame(calendar: PlanCalendar, *, today: date, key: Any) -> DateFrame:
    first = calendar.date_of_day(1)
    end = calendar.end_date
    dates = [first - timedelta(days=1)]
    day_numbers = [0]
    last = max(end, today)
    day = 0
    current = first
    while current <= last:
        if calendar.is_working_day(current):
            day += 1
        dates.append(current)
        day_numbers.append(day)
        current += timedelta(days=1)
    end_of_day = {number: index for index, number in enumerate(day_numbers)}
    bounds = [key(local_midnight(calendar, d + timedelta(days=1))) for d in dates]
    return DateFrame(
        dates=dates,
        day_numbers=day_numbers,
        bounds=bounds,
        points=(end - dates[0]).days + 1,
        end_of_day=end_of_day,
    )


def event_time_key(session: Session) -> tuple[Any, Any]:
    """(SQL expression reading `task_event.at` raw, Python key for an instant) that compare
    alike. SQLite stores UTCDateTime as 'YYYY-MM-DD HH:MM:SS.ffffff' text, which orders as the
    instants do, so its rows are compared as text without parsing 250,000 timestamps. The same
    objects each time for a database (a select built on them can be kept)."""
    if session.get_bind().dialect.name == "sqlite":
        return _SQLITE_EVENT_TIME
    return _EVENT_TIME


def _text_key(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _naive_key(instant: datetime) -> datetime:
    return instant.astimezone(UTC).replace(tzinfo=None)


_EVENT_AT = TaskEvent.__table__.c.at
_SQLITE_EVENT_TIME = (sa.type_coerce(_EVENT_AT, sa.String()), _text_key)
_EVENT_TIME = (sa.type_coerce(_EVENT_AT, sa.DateTime()), _naive_key)


# --- reading the history ---------------------------------------------------------------

# Task states: 0 not yet created, 1 open (not done), 2 done, 3 cancelled.
ABSENT, OPEN, DONE, CANCELLED = 0, 1, 2, 3
_IN_SCOPE = (0, 1, 1, 0)
_IS_OPEN = (0, 1, 0, 0)
_CLOSED = (TaskStatus.done.value, TaskStatus.cancelled.value)


def _state(status: Any) -> Any:
    return sa.case(
        (status == TaskStatus.done.value, DONE),
        (status == TaskStatus.cancelled.value, CANCELLED),
        else_=OPEN,
    )


_EVENTS = TaskEvent.__table__
# An event's transition as one small integer, from·4 + to, computed by the database: a
# `created` event enters from "not yet created"; any other status falls back to open.
# An `imported` event without a `from_status` created the task from a spreadsheet.
CREATION = sa.or_(
    _EVENTS.c.kind == EventKind.created.value,
    sa.and_(
        _EVENTS.c.kind == EventKind.imported.value,
        _EVENTS.c.from_status.is_(None),
        _EVENTS.c.to_status.is_not(None),
    ),
)
TRANSITION = (
    sa.case(
        (CREATION, ABSENT),
        else_=_state(_EVENTS.c.from_status),
    )
    * 4
    + _state(_EVENTS.c.to_status)
).label("transition")
# An edit that changed a task's weight (by weight only).
_WEIGHT_EDIT = 16
# What each transition does to the scope and to the remaining work (+1, 0 or −1).
_SCOPE_CHANGE = (*(_IN_SCOPE[t & 3] - _IN_SCOPE[t >> 2] for t in range(16)), 0)
_OPEN_CHANGE = (*(_IS_OPEN[t & 3] - _IS_OPEN[t >> 2] for t in range(16)), 0)


def scope_filter(filters: TaskFilter) -> TaskFilter:
    """Only the filters that select a scope (see the module's docstring)."""
    return filters.scope()


@dataclass
class _Deltas:
    """Per-date changes (index as in `DateFrame.dates`, plus one slot past the frame)."""

    size: int
    baseline_key: Any
    baseline: int = 0

    def __post_init__(self) -> None:
        self.scope = [0] * self.size
        self.remaining = [0] * self.size
        self.added = [0] * self.size
        self.removed = [0] * self.size

    def scope_change(self, index: int, at: Any, amount: int) -> None:
        self.scope[index] += amount
        if at < self.baseline_key:
            self.baseline += amount
        elif amount > 0:
            self.added[index] += amount
        else:
            self.removed[index] -= amount


def burndown_series(
    session: Session,
    *,
    plan: Plan,
    filters: TaskFilter,
    measure: Measure = "count",
    now: datetime | None = None,
) -> BurndownSeries:
    """The plan's burndown under `filters` (unit, program, program kind, district; the board's
    overdue, needs-decision and text filters are ignored), by task count or by weight, as of
    `now` (default: the current time). See the module's docstring for every rule."""
    if measure not in MEASURES:
        raise ValueError(f"unknown measure {measure!r}")
    now = now or datetime.now(UTC)
    calendar = plan_calendar(session, plan)
    today = calendar.local_date(now)
    at_column, key = event_time_key(session)
    frame = date_frame(calendar, today=today, key=key)
    baseline_at = plan.baseline_at or local_midnight(calendar, frame.dates[1])
    deltas = _Deltas(size=len(frame.dates) + 1, baseline_key=key(baseline_at))

    events = _EVENTS
    tasks = Task.__table__
    task_conditions = scope_filter(filters).conditions(
        lateness=Lateness(calendar=calendar, today=today)
    )
    # Only events that can change whether a task is in scope or done: moves between the open
    # columns (todo, in progress, blocked, review) change neither.
    wanted = [
        CREATION,
        events.c.to_status.in_(_CLOSED),
        events.c.from_status.in_(_CLOSED),
    ]
    query = sa.select(events.c.task_id, at_column)
    if measure == "weight":
        # By weight, also the edits that change a weight (a coarse text test here, the exact
        # one in Python), and each task's current weight.
        # (An import writes its status change apart from its field changes, so an
        # `imported` event that changes a weight has no status.)
        weight_edit = sa.and_(
            sa.or_(
                events.c.kind.in_([EventKind.edited.value, EventKind.assigned.value]),
                sa.and_(events.c.kind == EventKind.imported.value, events.c.to_status.is_(None)),
            ),
            sa.cast(events.c.changes, sa.String()).like('%"weight"%'),
        )
        wanted.append(weight_edit)
        query = query.add_columns(
            sa.case((weight_edit, _WEIGHT_EDIT), else_=TRANSITION),
            tasks.c.weight,
            events.c.id,
            # The changes only of those edits (a created event's are long, and unused).
            sa.case((weight_edit, sa.type_coerce(events.c.changes, sa.String())), else_=None),
        )
    else:
        query = query.add_columns(TRANSITION, sa.literal(1), sa.null(), sa.null())
    if task_conditions:
        # From the plan's chosen tasks to their events by the task_id index: a filter that
        # keeps a few tasks reads only their events.
        query = query.select_from(tasks.join(events, events.c.task_id == tasks.c.id)).where(
            tasks.c.plan_id == plan.id, *task_conditions
        )
    else:
        # The plan's events in one pass (each task's weight looked up by its primary key).
        if measure == "weight":
            query = query.select_from(events.join(tasks, tasks.c.id == events.c.task_id))
        query = query.where(events.c.plan_id == plan.id)
    query = query.where(events.c.at <= now, sa.or_(*wanted))
    rows = plain_rows(session, query)
    edits = _weight_edits(rows) if measure == "weight" else {}
    _replay(rows, frame=frame, deltas=deltas, edits=edits)
    return _series(
        calendar,
        frame=frame,
        deltas=deltas,
        measure=measure,
        today=today,
        baseline_at=baseline_at,
    )


def plain_rows(
    session: Session, query: sa.Select[Any], params: dict[str, Any] | None = None
) -> Sequence[Any]:
    """The rows of `query` (with its bound `params`) as the driver's plain tuples. Its columns
    need no conversion, and wrapping 100,000 rows in SQLAlchemy `Row`s would cost about a
    third of the series' time."""
    result = session.connection().execute(query, params)
    try:
        cursor = result.cursor
        return cursor.fetchall() if cursor is not None else result.all()
    finally:
        result.close()


_WeightHistory = list[tuple[Any, int, int]]


def _weight_edits(rows: Sequence[Any]) -> dict[int, _WeightHistory]:
    """{task_id: [(at, event id, new weight), …]} of the weight changes among `rows`, oldest
    first, with the weight before the first change as `(None, 0, weight)` in front."""
    found = sorted((r[0], r[1], r[4], r[5]) for r in rows if r[2] == _WEIGHT_EDIT)
    edits: dict[int, _WeightHistory] = {}
    for task_id, at, event_id, raw in found:
        changes = json.loads(raw) if isinstance(raw, str) else raw
        change = changes.get("weight") if isinstance(changes, dict) else None
        if not (isinstance(change, list) and len(change) == 2):
            continue
        old, new = change
        if not (isinstance(old, int) and isinstance(new, int)):
            continue
        history = edits.setdefault(task_id, [(None, 0, old)])
        history.append((at, event_id, new))
    return edits


def _replay(
    rows: Sequence[Any], *, frame: DateFrame, deltas: _Deltas, edits: dict[int, _WeightHistory]
) -> None:
    """Turn rows `(task_id, at, transition, weight, event id, changes)`, in any order, into
    per-date deltas. Each event records the status it left and the one it entered, so each
    contributes on its own; only tasks whose weight changed are replayed in order."""
    bounds = frame.bounds
    scope, remaining, added, removed = deltas.scope, deltas.remaining, deltas.added, deltas.removed
    baseline_key = deltas.baseline_key
    baseline = 0
    edited_rows: dict[int, list[tuple[Any, int, int]]] = defaultdict(list)
    # The hot loop: one pass over the plan's transitions, kept to plain local operations.
    for task_id, at, transition, weight, event_id, _changes in rows:
        if edits and task_id in edits:
            if transition != _WEIGHT_EDIT:
                edited_rows[task_id].append((at, event_id, transition & 3))
            continue
        in_scope = _SCOPE_CHANGE[transition]
        is_open = _OPEN_CHANGE[transition]
        if not (in_scope or is_open):
            continue
        index = bisect_right(bounds, at)
        if in_scope:
            amount = in_scope * weight
            scope[index] += amount
            if at < baseline_key:
                baseline += amount
            elif amount > 0:
                added[index] += amount
            else:
                removed[index] -= amount
        if is_open:
            remaining[index] += is_open * weight
    deltas.baseline += baseline
    for task_id, history in edits.items():
        _replay_with_weights(edited_rows.get(task_id, []), history, frame=frame, deltas=deltas)


def _replay_with_weights(
    statuses: Sequence[tuple[Any, int, int]],
    history: _WeightHistory,
    *,
    frame: DateFrame,
    deltas: _Deltas,
) -> None:
    """One task whose weight changed: its status and weight events merged in order."""
    weight = history[0][2]
    merged = sorted(
        [(at, event_id, 0, state) for at, event_id, state in statuses]
        + [(at, event_id, 1, new) for at, event_id, new in history[1:]]
    )
    state = ABSENT
    for at, _event_id, is_weight, value in merged:
        index = bisect_right(frame.bounds, at)
        if is_weight:
            change = value - weight
            weight = value
            if change and _IN_SCOPE[state]:
                deltas.scope_change(index, at, change)
            if change and _IS_OPEN[state]:
                deltas.remaining[index] += change
            continue
        if value == state:
            continue
        in_scope = _IN_SCOPE[value] - _IN_SCOPE[state]
        if in_scope:
            deltas.scope_change(index, at, in_scope * weight)
        deltas.remaining[index] += (_IS_OPEN[value] - _IS_OPEN[state]) * weight
        state = value


# --- assembling ------------------------------------------------------------------------


def _series(
    calendar: PlanCalendar,
    *,
    frame: DateFrame,
    deltas: _Deltas,
    measure: Measure,
    today: date,
    baseline_at: datetime,
) -> BurndownSeries:
    length = calendar.length_days
    scope = list(accumulate(deltas.scope))
    remaining = list(accumulate(deltas.remaining))
    baseline = float(deltas.baseline)
    points: list[BurndownPoint] = []
    for index in range(frame.points):
        day_date = frame.dates[index]
        day = frame.day_numbers[index]
        past = day_date <= today
        points.append(
            BurndownPoint(
                day=day,
                date=day_date,
                is_working_day=calendar.is_working_day(day_date),
                ideal=_ideal(baseline, day, length),
                scope=float(scope[index]) if past else None,
                remaining=float(remaining[index]) if past else None,
                added=float(deltas.added[index]),
                removed=float(deltas.removed[index]),
            )
        )
    now_index = max(0, (today - frame.dates[0]).days)
    today_day = calendar.day_number(today)
    forecast = _forecast(
        calendar,
        frame=frame,
        remaining=remaining,
        now_index=now_index,
        today_day=today_day,
        scope_now=scope[now_index],
    )
    return BurndownSeries(
        measure=measure,
        length_days=length,
        today_day=today_day,
        baseline_scope=baseline,
        points=points,
        forecast=forecast,
        current_scope=float(scope[now_index]),
        current_remaining=float(remaining[now_index]),
        baseline_at=baseline_at,
    )


def _forecast(
    calendar: PlanCalendar,
    *,
    frame: DateFrame,
    remaining: list[int],
    now_index: int,
    today_day: int,
    scope_now: int,
) -> Forecast:
    left = remaining[now_index]
    if today_day < 1:
        return Forecast(
            0,
            0.0,
            None,
            None,
            remaining=float(left),
            scope=float(scope_now),
            length_days=calendar.length_days,
        )
    window = min(FORECAST_WINDOW_DAYS, today_day)
    drop = remaining[frame.end_of_day[today_day - window]] - left
    day: int | None = None
    if left > 0 and drop > 0:
        # ⌈left / (drop / window)⌉ in integers: no rounding error on an exact day.
        day = today_day - (-(left * window) // drop)
        if day > FORECAST_HORIZON_LENGTHS * calendar.length_days:
            day = None
    return Forecast(
        window_days=window,
        burn_per_day=drop / window,
        day=day,
        date=calendar.date_of_day(day) if day is not None else None,
        remaining=float(left),
        scope=float(scope_now),
        length_days=calendar.length_days,
    )


# --- CSV -------------------------------------------------------------------------------

CSV_HEADER = ("hari", "tanggal", "hari_kerja", "ideal", "lingkup", "sisa", "ditambah", "dikurangi")


def _whole(value: float | None) -> str:
    # Scope and remaining are sums of whole tasks or integer weights.
    return "" if value is None else str(round(value))


def burndown_csv(series: BurndownSeries) -> str:
    """The series as CSV text (comma-separated, CRLF, no BOM), one row per point; the header
    in Indonesian, dates in ISO form, future days with empty `lingkup` and `sisa`."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_HEADER)
    for p in series.points:
        writer.writerow(
            (
                p.day,
                p.date.isoformat(),
                "ya" if p.is_working_day else "tidak",
                f"{p.ideal:.2f}",
                _whole(p.scope),
                _whole(p.remaining),
                _whole(p.added),
                _whole(p.removed),
            )
        )
    return buffer.getvalue()
