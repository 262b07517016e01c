"""The burndown chart's view-model: every coordinate and label the SVG template draws.

The template only places what is computed here (no arithmetic in Jinja). The drawing is a
fixed `viewBox` of WIDTH × HEIGHT user units that the browser scales to the page, so the same
numbers serve a desktop, a phone and paper. x is the plan day (0 = the baseline, L = the last
day), y the remaining work in the series' measure (tasks, or weight).
"""

import math
import threading
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

from babel.dates import format_date

from app.services.burndown import BurndownSeries
from app.services.curve import CurveSeries
from app.timefmt import format_day_date

WIDTH = 720
HEIGHT = 380
# The plot area inside the drawing: room on the left for y labels, below for two-line x labels.
LEFT = 58
RIGHT = WIDTH - 18
TOP = 30
BOTTOM = HEIGHT - 66
# A forecast further out than this many plan lengths is drawn to the edge, not to its end.
FORECAST_REACH = 2
MAX_X_TICKS = 6
MAX_Y_TICKS = 5

MEASURE_UNITS = {"count": "tugas", "weight": "bobot"}
MEASURE_LABELS = {"count": "jumlah tugas", "weight": "bobot tugas"}


@dataclass(frozen=True)
class Tick:
    position: float  # x for the x axis, y for the y axis, in user units
    label: str
    sublabel: str = ""


@dataclass(frozen=True)
class Segment:
    x1: float
    y1: float
    x2: float
    y2: float


@dataclass(frozen=True)
class DayRow:
    """A plan day in a chart's data table: the flags that style its line."""

    day: int
    date: date
    is_working_day: bool
    is_today: bool
    is_future: bool

    @property
    def css_class(self) -> str:
        flags = (
            (self.is_today, "is-today"),
            (self.is_future, "is-future"),
            (not self.is_working_day, "is-off"),
        )
        return " ".join(name for on, name in flags if on)


@dataclass(frozen=True)
class ChartRow(DayRow):
    """One line of the data table that stands beside the chart (screen readers, paper)."""

    ideal: str
    scope: str
    remaining: str
    added: str
    removed: str


@dataclass(frozen=True)
class BurndownChart:
    measure: str
    unit: str  # "tugas" or "bobot"
    width: int
    height: int
    left: float
    right: float
    top: float
    bottom: float
    x_ticks: list[Tick]
    y_ticks: list[Tick]
    # SVG `points` attribute values ("x,y x,y …"); empty when there is nothing to draw.
    ideal_points: str
    scope_points: str
    remaining_points: str
    today: Segment | None
    forecast: Segment | None
    # Where the axis labels sit (computed here so the template does no arithmetic).
    y_label_x: float
    x_label_y: float
    x_sublabel_y: float
    x_title_y: float
    y_title_y: float
    title: str
    description: str
    forecast_label: str
    rows: list[ChartRow]

    @property
    def view_box(self) -> str:
        return f"0 0 {self.width} {self.height}"

    @property
    def has_actuals(self) -> bool:
        return bool(self.remaining_points)


def format_number(value: float | None) -> str:
    """'1.250' or '12,5' (Indonesian separators); '–' for no value."""
    if value is None:
        return "–"
    rounded = round(value, 1)
    if rounded == int(rounded):
        return f"{int(rounded):,}".replace(",", ".")
    text = f"{rounded:,.1f}"
    return text.replace(",", "_").replace(".", ",").replace("_", ".")


@lru_cache(maxsize=512)
def _short_date(value: date) -> str:
    """'11 Mar': the axis has no room for the year."""
    return format_date(value, "d MMM", locale="id")


def nice_step(span: float, max_ticks: int, *, integer: bool = True) -> float:
    """The smallest of 1, 2, 2.5, 5 × 10^k (whole numbers only if `integer`) that divides
    `span` into at most `max_ticks` intervals."""
    if span <= 0:
        return 1.0
    raw = span / max_ticks
    magnitude = 10.0 ** math.floor(math.log10(raw))
    for factor in (1.0, 2.0, 2.5, 5.0, 10.0):
        step = factor * magnitude
        if integer and (step < 1 or step != int(step)):
            continue
        if step >= raw:
            return step
    return 10.0 * magnitude


def _fmt(value: float) -> str:
    """A coordinate with at most one decimal and no trailing zeros."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _points(pairs: Sequence[tuple[float, float]]) -> str:
    return " ".join(f"{_fmt(x)},{_fmt(y)}" for x, y in pairs)


def burndown_chart(series: BurndownSeries, *, today: date, day_label: str = "") -> BurndownChart:
    """Coordinates and texts for drawing `series` as SVG, plus its data table.

    x is the date's position from the baseline point (day 0): in calendar mode that is the
    plan day itself; in working-day mode weekends and holidays take their place on the axis
    and the ideal line is flat across them. The axis runs to the plan's last day, or further
    when today or the forecast lie beyond it (at most FORECAST_REACH plan lengths; a later
    forecast is drawn to the edge). Actual lines (scope, remaining) stop at today; the ideal
    line spans the plan; the forecast runs from today's remaining work to 0 on its day.
    """
    points = series.points
    origin = points[0].date if points else today
    last_index = max(len(points) - 1, 1)
    today_index = (today - origin).days
    forecast_index = (
        (series.forecast.date - origin).days if series.forecast.date is not None else None
    )
    reach = last_index * FORECAST_REACH
    x_max = float(last_index)
    if today_index > x_max:
        x_max = float(min(today_index, reach))
    if forecast_index is not None and forecast_index > x_max:
        x_max = float(min(forecast_index, reach))

    values = [series.baseline_scope, series.forecast.remaining]
    for p in points:
        values.append(p.ideal)
        if p.scope is not None:
            values.append(p.scope)
        if p.remaining is not None:
            values.append(p.remaining)
    y_step = nice_step(max(values), MAX_Y_TICKS)
    y_max = max(y_step * math.ceil(max(values) / y_step), y_step)

    def x_of(index: float) -> float:
        return round(LEFT + (index / x_max) * (RIGHT - LEFT), 1)

    def y_of(value: float) -> float:
        return round(BOTTOM - (value / y_max) * (BOTTOM - TOP), 1)

    x_step = int(nice_step(x_max, MAX_X_TICKS))
    x_ticks = []
    for index in range(0, int(x_max) + 1, x_step):
        if index < len(points):
            label, at = str(points[index].day), points[index].date
        else:
            label, at = "", origin + timedelta(days=index)
        x_ticks.append(Tick(position=x_of(index), label=label, sublabel=_short_date(at)))
    y_ticks = []
    value = 0.0
    while value <= y_max + 1e-9:
        y_ticks.append(Tick(position=y_of(value), label=format_number(value)))
        value += y_step

    today_line: Segment | None = None
    if 0 <= today_index <= x_max:
        x = x_of(today_index)
        today_line = Segment(x1=x, y1=TOP, x2=x, y2=BOTTOM)

    forecast: Segment | None = None
    start_value = series.forecast.remaining
    if (
        forecast_index is not None
        and start_value > 0
        and 0 <= today_index < forecast_index
        and today_index <= x_max
    ):
        end_index, end_value = float(forecast_index), 0.0
        if end_index > x_max:
            # Clip at the edge: the remaining work where the straight line leaves the plot.
            end_value = start_value * (end_index - x_max) / (end_index - today_index)
            end_index = x_max
        forecast = Segment(
            x1=x_of(today_index), y1=y_of(start_value), x2=x_of(end_index), y2=y_of(end_value)
        )

    unit = MEASURE_UNITS.get(series.measure, "tugas")
    rows = [
        ChartRow(
            day=p.day,
            date=p.date,
            is_working_day=p.is_working_day,
            is_today=p.date == today,
            is_future=p.remaining is None,
            ideal=format_number(p.ideal),
            scope=format_number(p.scope),
            remaining=format_number(p.remaining),
            added=format_number(p.added) if p.remaining is not None else "–",
            removed=format_number(p.removed) if p.remaining is not None else "–",
        )
        for p in points
    ]
    indexed = [((p.date - origin).days, p) for p in points]
    return BurndownChart(
        measure=series.measure,
        unit=unit,
        width=WIDTH,
        height=HEIGHT,
        left=LEFT,
        right=RIGHT,
        top=TOP,
        bottom=BOTTOM,
        x_ticks=x_ticks,
        y_ticks=y_ticks,
        ideal_points=_points([(x_of(i), y_of(p.ideal)) for i, p in indexed]),
        scope_points=_points([(x_of(i), y_of(p.scope)) for i, p in indexed if p.scope is not None]),
        remaining_points=_points(
            [(x_of(i), y_of(p.remaining)) for i, p in indexed if p.remaining is not None]
        ),
        today=today_line,
        forecast=forecast,
        y_label_x=LEFT - 8,
        x_label_y=BOTTOM + 18,
        x_sublabel_y=BOTTOM + 33,
        x_title_y=HEIGHT - 6,
        y_title_y=TOP - 14,
        title=f"Grafik burndown: sisa pekerjaan menurut {MEASURE_LABELS.get(series.measure, unit)}",
        description=_description(series, unit=unit, day_label=day_label),
        forecast_label=series.forecast.label,
        rows=rows,
    )


def _description(series: BurndownSeries, *, unit: str, day_label: str) -> str:
    """The chart in a few sentences, for `<desc>` (screen readers) and the caption."""
    parts = []
    if day_label:
        parts.append(f"{day_label}.")
    parts.append(
        f"Jumlah tugas awal {format_number(series.baseline_scope)} {unit}; "
        f"rencana ideal turun ke 0 pada Hari ke-{series.length_days}."
    )
    last = series.today_point
    if last is None:
        parts.append("Belum ada data aktual.")
    else:
        parts.append(
            f"Per hari ke-{last.day} ({format_day_date(last.date)}): sisa "
            f"{format_number(last.remaining)} dari {format_number(last.scope)} {unit}; "
            f"menurut rencana ideal seharusnya tersisa ±{round(last.ideal)} {unit}."
        )
    parts.append(f"{series.forecast.label}.")
    return " ".join(parts)


# --- the planned curve (Kurva S) -------------------------------------------------------


@dataclass(frozen=True)
class CurveRow(DayRow):
    """One line of the curve's data table."""

    planned: str
    actual: str
    physical: str


@dataclass(frozen=True)
class CurveChart:
    """Coordinates of the Kurva S: cumulative % of the scope, rencana vs realisasi."""

    measure: str
    width: int
    height: int
    left: float
    right: float
    top: float
    bottom: float
    x_ticks: list[Tick]
    y_ticks: list[Tick]
    planned_points: str
    actual_points: str
    physical_points: str
    today: Segment | None
    projection: Segment | None
    y_label_x: float
    x_label_y: float
    x_sublabel_y: float
    x_title_y: float
    y_title_y: float
    title: str
    description: str
    projection_label: str
    rows: list[CurveRow]

    @property
    def view_box(self) -> str:
        return f"0 0 {self.width} {self.height}"


def format_pct(share: float | None) -> str:
    """'42,5 %' of a share 0..1; '–' for no value."""
    if share is None:
        return "–"
    return f"{format_number(100 * share)} %"


# The last few Kurva S drawings with the series and label each was drawn from. A write that
# changes no share (a move between open columns, a note) leaves the series equal: under
# bench/load.py 4 dashboard builds in 10 drew an equal one again, and drawing is half the
# chart's cost (1.2 of 2.6 ms at 1,000 tasks). Compared by value with the series each build
# reads from the database, so a drawing is only ever reused for an equal series.
KEPT_CURVE_CHARTS = 4
_kept_curve_charts: deque[tuple[CurveSeries, str, CurveChart]] = deque(maxlen=KEPT_CURVE_CHARTS)
_kept_curve_charts_lock = threading.Lock()


def kept_curve_chart(series: CurveSeries, *, day_label: str = "") -> CurveChart:
    """`curve_chart(series, day_label=day_label)`, reused when an equal series was drawn
    lately with the same label."""
    with _kept_curve_charts_lock:
        for kept_series, kept_label, chart in _kept_curve_charts:
            if kept_label == day_label and kept_series == series:
                return chart
    chart = curve_chart(series, day_label=day_label)
    with _kept_curve_charts_lock:
        _kept_curve_charts.appendleft((series, day_label, chart))
    return chart


def forget_kept_curve_charts() -> None:
    with _kept_curve_charts_lock:
        _kept_curve_charts.clear()


def curve_chart(series: CurveSeries, *, day_label: str = "") -> CurveChart:
    """Coordinates and texts for drawing the planned and actual curves as SVG (0–100 % on y,
    the plan's dates on x as in the burndown), the projection to the last day at the recent
    pace, and the data table."""
    points = series.points
    origin = points[0].date if points else series.today
    x_max = float(max(len(points) - 1, 1))
    today_index = (series.today - origin).days

    def x_of(index: float) -> float:
        return round(LEFT + (min(max(index, 0.0), x_max) / x_max) * (RIGHT - LEFT), 1)

    def y_of(share: float) -> float:
        return round(BOTTOM - share * (BOTTOM - TOP), 1)

    x_step = int(nice_step(x_max, MAX_X_TICKS))
    x_ticks = [
        Tick(position=x_of(i), label=str(points[i].day), sublabel=_short_date(points[i].date))
        for i in range(0, len(points), x_step)
    ]
    y_ticks = [Tick(position=y_of(v / 100), label=f"{v} %") for v in range(0, 101, 25)]
    today_line = None
    if 0 <= today_index <= x_max:
        x = x_of(today_index)
        today_line = Segment(x1=x, y1=TOP, x2=x, y2=BOTTOM)
    indexed = [((p.date - origin).days, p) for p in points]
    last = series.today_point
    projection = None
    label = "Proyeksi tersedia mulai Hari ke-1"
    if series.projected_end is not None and last is not None and last.actual is not None:
        projection = Segment(
            x1=x_of(today_index),
            y1=y_of(last.actual),
            x2=x_of(x_max),
            y2=y_of(series.projected_end),
        )
        label = (
            f"Proyeksi Hari ke-{series.length_days} dengan laju {series.window_days} hari"
            f" terakhir: {format_pct(series.projected_end)} selesai"
        )
    elif last is not None and series.today_day >= series.length_days:
        label = "Rencana sudah berakhir"
    rows = [
        CurveRow(
            day=p.day,
            date=p.date,
            is_working_day=p.is_working_day,
            is_today=p.date == series.today,
            is_future=p.actual is None,
            planned=format_pct(p.planned),
            actual=format_pct(p.actual),
            physical=format_pct(p.physical),
        )
        for p in points
    ]
    parts = [f"{day_label}." if day_label else ""]
    if last is not None:
        parts.append(
            f"Per hari ke-{last.day} ({format_day_date(last.date)}): rencana"
            f" {format_pct(last.planned)}, realisasi {format_pct(last.actual)}, realisasi fisik"
            f" {format_pct(last.physical)}."
        )
    else:
        parts.append("Belum ada data aktual.")
    parts.append(f"{label}.")
    return CurveChart(
        measure=series.measure,
        width=WIDTH,
        height=HEIGHT,
        left=LEFT,
        right=RIGHT,
        top=TOP,
        bottom=BOTTOM,
        x_ticks=x_ticks,
        y_ticks=y_ticks,
        planned_points=_points([(x_of(i), y_of(p.planned)) for i, p in indexed]),
        actual_points=_points(
            [(x_of(i), y_of(p.actual)) for i, p in indexed if p.actual is not None]
        ),
        physical_points=_points(
            [(x_of(i), y_of(p.physical)) for i, p in indexed if p.physical is not None]
        ),
        today=today_line,
        projection=projection,
        y_label_x=LEFT - 8,
        x_label_y=BOTTOM + 18,
        x_sublabel_y=BOTTOM + 33,
        x_title_y=HEIGHT - 6,
        y_title_y=TOP - 14,
        title=f"Kurva S: rencana dan realisasi kumulatif menurut"
        f" {MEASURE_LABELS.get(series.measure, 'jumlah tugas')}",
        description=" ".join(p for p in parts if p),
        projection_label=label,
        rows=rows,
    )
