"""The public promise page, "Janji 100 Hari" (DESIGN §8): the read model of /publik.

What a citizen sees is what the team published, and nothing else:

- the plan's headline — its day, how many promises carry each label, and the share of the work
  done against the plan for today — taken from the dashboard's own functions
  (`app.services.dashboard`), never computed a second way;
- the published programs (`Program.is_public`) under their public title and text, each with a
  label from `public_label` and the dashboard's progress figure; the program's published tasks
  (`Task.is_public`) by title and status; the photos the team marked public
  (`Evidence.is_public`) on those tasks once they are Selesai;
- the kecamatan, each with the published tasks located there.

Never read into these pages: people (users, unit heads), notes, blocked reasons, history,
evidence captions and file names, task descriptions, targets and realisations. `PUBLIC_FIELDS`
lists every field that is shown, and where; tests/test_public_privacy.py seeds every other
text field with a marker and checks that no public response carries one.

The change stamp (`PublicStamp`) is the plan's latest task event and its public revision
(bumped by `app.services.publishing`): every change that can alter a public page moves one of
them, so a page is rebuilt only when its stamp changes. Built sites are kept per process,
keyed by that stamp (a value from the database, so every process stays right on its own).
"""

import hashlib
import threading
import weakref
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from app.errors import NotFound
from app.models import (
    BOARD_STATUSES,
    ID_MAX,
    Evidence,
    EvidenceKind,
    Plan,
    Program,
    ProgramKind,
    Rag,
    Task,
    TaskEvent,
    TaskProgram,
    TaskStatus,
    Unit,
    UnitKind,
)
from app.services import dashboard
from app.services.calendar import PlanCalendar
from app.services.labels import STATUS_LABELS
from app.services.plans import plan_calendar
from app.services.rag import GroupStats
from app.sorting import text_order

NOT_FOUND = "Halaman yang Anda cari tidak ditemukan."

# Every field the public pages, images and feeds show, and where; every other field of the
# data model is never read into them (the closing list of the privacy test).
PUBLIC_FIELDS: dict[str, str] = {
    "plan.name": "every page's header, the feeds, the preview image",
    "plan.start_date": "headline (day count), method page, feeds",
    "plan.length_days": "headline (“Hari ke-X dari 100”), feeds",
    "plan.day_mode": "headline day count (not shown as such)",
    "plan.timezone": "headline day count (not shown as such)",
    "program.id": "program page address, feeds",
    "program.kind": "grouping of the cards, feeds",
    "program.name": "the card's subtitle (the agenda's official name), feeds",
    "program.public_title": "the card's title, program page, feeds, preview image",
    "program.public_description": "the card and program page, feeds",
    "task.id": "feeds (as an identifier)",
    "task.title": "program and kecamatan pages, feeds (published tasks only)",
    "task.status": "program and kecamatan pages, feeds (published tasks only)",
    "task.due_date": "program and kecamatan pages, feeds (published tasks only)",
    "task.updated_at": "“last update” date of a program (date only), feeds",
    "task.district_id": "kecamatan pages, feeds",
    "unit.id": "kecamatan page address (districts only)",
    "unit.name": "kecamatan pages and feeds (districts only)",
    "plan.public_changed_at": "Last-Modified header (when the published data last changed)",
    "task_event.at": "Last-Modified header (time of the plan's latest change, nothing else)",
    "task_program.task_id": "which published programs a published task is listed under",
    "task_program.program_id": "which published programs a published task is listed under",
    "holiday.holiday_date": "headline day count in working-day plans (not shown as such)",
    "evidence.id": "photo address (published photos of Selesai tasks only)",
    "evidence.task_id": "the published task a photo is shown under (its title as caption)",
}
# Fields that decide what is published; their values are never shown.
GATE_FIELDS = (
    "plan.public_enabled",
    "plan.is_current",
    "program.is_public",
    "task.is_public",
    "evidence.is_public",
    "evidence.removed_at",
    "evidence.kind",
    "evidence.content_type",
)

# --- the label rule --------------------------------------------------------------------


class PublicLabel(StrEnum):
    not_started = "belum_dimulai"
    running = "berjalan"
    stalled = "tersendat"
    met = "tercapai"
    missed = "tidak_tercapai"


PUBLIC_LABELS: dict[PublicLabel, str] = {
    PublicLabel.not_started: "Belum dimulai",
    PublicLabel.running: "Berjalan",
    PublicLabel.stalled: "Tersendat",
    PublicLabel.met: "Tercapai",
    PublicLabel.missed: "Tidak tercapai",
}
# The order of the headline's counts and of the method page.
LABEL_ORDER: tuple[PublicLabel, ...] = (
    PublicLabel.met,
    PublicLabel.running,
    PublicLabel.stalled,
    PublicLabel.not_started,
    PublicLabel.missed,
)


def public_label(stats: GroupStats, *, started: int, rag: Rag, plan_ended: bool) -> PublicLabel:
    """A program's public label, from its tasks in scope (not cancelled), first rule wins:

    1. Tercapai — it has tasks and every one of them is Selesai (verified by the team).
    2. Tidak tercapai — the plan's last day has passed and some task is not Selesai.
    3. Tersendat — the dashboard colours the program Red (work that is due is not done,
       tasks are blocked, or done work lags its own plan; see `app.services.rag.judge`).
    4. Belum dimulai — no task has left Belum Dimulai yet (or the program has no tasks).
    5. Berjalan — otherwise: work has started and keeps to the plan.

    `started` counts the program's tasks in scope that are no longer Belum Dimulai.
    """
    if stats.total and stats.done == stats.total:
        return PublicLabel.met
    if plan_ended and stats.total:
        return PublicLabel.missed
    if rag == Rag.red:
        return PublicLabel.stalled
    if stats.total == 0 or started == 0:
        return PublicLabel.not_started
    return PublicLabel.running


# --- the change stamp ------------------------------------------------------------------


@dataclass(frozen=True)
class PublicStamp:
    """What the public pages depend on, read in one query on every request."""

    plan_id: int
    revision: int
    last_event_id: int
    changed_at: datetime | None
    timezone: str

    def today(self, now: datetime | None = None) -> date:
        """Today in the plan's timezone: labels and "late" turn with the plan's day."""
        return (now or datetime.now(UTC)).astimezone(_zone(self.timezone)).date()

    def key(self, today: date, *parts: object) -> str:
        raw = "|".join(
            str(p) for p in (self.plan_id, self.revision, self.last_event_id, today, *parts)
        )
        return hashlib.sha256(raw.encode()).hexdigest()[:32]


@lru_cache(maxsize=8)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def public_stamp(session: Session) -> PublicStamp:
    """The current plan's change stamp; NotFound unless the team turned the public page on,
    so every public path answers 404 while it is off."""
    stamp = read_stamp(session.connection())
    if stamp is None:
        raise NotFound(NOT_FOUND)
    return stamp


def _stamp_query() -> sa.Select[Any]:
    plan = Plan.__table__
    event = TaskEvent.__table__
    last_id = (
        sa.select(sa.func.max(event.c.id)).where(event.c.plan_id == plan.c.id).scalar_subquery()
    )
    # Events are appended in time order: the newest one's time is the last change's.
    newest = event.alias("newest")
    last_at = sa.select(newest.c.at).where(newest.c.id == last_id).scalar_subquery()
    return (
        sa.select(
            plan.c.id,
            plan.c.public_enabled,
            plan.c.public_revision,
            plan.c.public_changed_at,
            plan.c.timezone,
            last_id,
            last_at,
        )
        .where(plan.c.is_current)
        .order_by(plan.c.id.desc())
        .limit(1)
    )


# Built once: it is run on every public request.
STAMP_QUERY = _stamp_query()


def read_stamp(connection: sa.Connection) -> PublicStamp | None:
    """The current plan's change stamp in one indexed query (the whole cost of a 304), or
    None while the public page is off."""
    row = connection.execute(STAMP_QUERY).first()
    if row is None or not row.public_enabled:
        return None
    changed = [at for at in (_aware(row.public_changed_at), _aware(row[6])) if at is not None]
    return PublicStamp(
        plan_id=row.id,
        revision=row.public_revision,
        last_event_id=int(row[5] or 0),
        changed_at=max(changed) if changed else None,
        timezone=row.timezone,
    )


def _aware(value: Any) -> datetime | None:
    # A scalar subquery's max() comes back without the column type's conversion.
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return None


# --- the read model --------------------------------------------------------------------


@dataclass(frozen=True)
class PublicTask:
    id: int
    title: str
    status: TaskStatus
    due_date: date | None
    district_id: int | None
    district_name: str
    updated_on: date
    program_ids: tuple[int, ...]

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]


@dataclass(frozen=True)
class PublicPhoto:
    id: int
    task_id: int
    task_title: str
    sha256: str  # where the file is stored; never shown

    @property
    def href(self) -> str:
        return f"/publik/foto/{self.id}.jpg"


@dataclass(frozen=True)
class PublicProgram:
    id: int
    kind: ProgramKind
    title: str
    official_name: str
    description: str
    label: PublicLabel
    stats: GroupStats
    last_update: date | None
    tasks: list[PublicTask]
    photos: list[PublicPhoto]

    @property
    def label_text(self) -> str:
        return PUBLIC_LABELS[self.label]

    @property
    def done_pct(self) -> float:
        return self.stats.done_pct or 0.0

    @property
    def unlisted(self) -> int:
        """Tasks counted in the figures but not published by name."""
        return max(self.stats.total - len(self.tasks), 0)

    @property
    def href(self) -> str:
        return f"/publik/program/{self.id}"


@dataclass(frozen=True)
class PublicDistrict:
    id: int
    name: str
    tasks: list[PublicTask]

    @property
    def href(self) -> str:
        return f"/publik/kecamatan/{self.id}"

    @property
    def done(self) -> int:
        return sum(1 for t in self.tasks if t.status == TaskStatus.done)


@dataclass(frozen=True)
class PublicSite:
    plan_name: str
    start_date: date
    end_date: date
    length_days: int
    today: date
    day_label: str
    plan_ended: bool
    headline: GroupStats
    expected_pct: float
    programs: list[PublicProgram]
    districts: list[PublicDistrict]
    program_names: dict[int, str] = field(default_factory=dict)

    @property
    def done_pct(self) -> float:
        return self.headline.done_pct or 0.0

    @property
    def label_counts(self) -> list[tuple[PublicLabel, str, int]]:
        counts = dict.fromkeys(LABEL_ORDER, 0)
        for program in self.programs:
            counts[program.label] += 1
        return [
            (label, PUBLIC_LABELS[label], counts[label])
            for label in LABEL_ORDER
            if counts[label] or label != PublicLabel.missed or self.plan_ended
        ]

    def program(self, program_id: int) -> PublicProgram:
        for program in self.programs:
            if program.id == program_id:
                return program
        raise NotFound(NOT_FOUND)

    def district(self, district_id: int) -> PublicDistrict:
        for district in self.districts:
            if district.id == district_id:
                return district
        raise NotFound(NOT_FOUND)

    def photo(self, evidence_id: int) -> PublicPhoto:
        for program in self.programs:
            for photo in program.photos:
                if photo.id == evidence_id:
                    return photo
        raise NotFound(NOT_FOUND)

    @property
    def programs_by_kind(self) -> list[tuple[ProgramKind, list[PublicProgram]]]:
        groups = [(kind, [p for p in self.programs if p.kind == kind]) for kind in ProgramKind]
        return [(kind, programs) for kind, programs in groups if programs]


# --- figures: the dashboard's numbers --------------------------------------------------


@dataclass(frozen=True)
class Figures:
    headline: GroupStats
    expected: float
    programs: dict[int, tuple[GroupStats, Rag]]


def _figures(
    session: Session,
    *,
    plan: Plan,
    calendar: PlanCalendar,
    today: date,
    now: datetime,
    program_ids: Iterable[int],
) -> Figures:
    """The dashboard's headline (with the share planned to be done by today) and per-program
    colours, by its own functions (`plan_headline`, `program_rags`), so the two pages cannot
    disagree."""
    headline = dashboard.plan_headline(session, plan=plan, now=now)
    rows = {row.id: row for row in dashboard.program_rags(session, plan=plan, now=now)}
    programs: dict[int, tuple[GroupStats, Rag]] = {}
    for program_id in program_ids:
        row = rows.get(program_id)
        programs[program_id] = (row.stats, row.rag) if row else (GroupStats(), Rag.grey)
    return Figures(
        headline=headline.stats, expected=headline.stats.planned_share, programs=programs
    )


# --- building the site -----------------------------------------------------------------


def _in_scope(plan: Plan) -> list[Any]:
    return [Task.plan_id == plan.id, col(Task.status).in_(BOARD_STATUSES)]


def _started_counts(session: Session, *, plan: Plan, program_ids: list[int]) -> dict[int, int]:
    rows = session.exec(
        select(col(TaskProgram.program_id), sa.func.count())
        .join(Task, col(Task.id) == TaskProgram.task_id)
        .where(
            *_in_scope(plan),
            col(Task.status) != TaskStatus.todo,
            col(TaskProgram.program_id).in_(program_ids),
        )
        .group_by(col(TaskProgram.program_id))
    ).all()
    return {pid: int(n) for pid, n in rows}


def _last_updates(
    session: Session, *, plan: Plan, program_ids: list[int], calendar: PlanCalendar
) -> dict[int, date]:
    rows = session.exec(
        select(col(TaskProgram.program_id), sa.func.max(Task.updated_at))
        .join(Task, col(Task.id) == TaskProgram.task_id)
        .where(*_in_scope(plan), col(TaskProgram.program_id).in_(program_ids))
        .group_by(col(TaskProgram.program_id))
    ).all()
    result: dict[int, date] = {}
    for pid, at in rows:
        aware = _aware(at)
        if aware is not None:
            result[pid] = calendar.local_date(aware)
    return result


def _public_tasks(
    session: Session, *, plan: Plan, program_ids: list[int], calendar: PlanCalendar
) -> list[PublicTask]:
    """Published tasks of published programs, with their published programs (one query)."""
    district = aliased(Unit)
    rows = session.exec(
        select(Task, district.name, TaskProgram.program_id)
        .join(TaskProgram, col(TaskProgram.task_id) == Task.id)
        .join(district, col(district.id) == Task.district_id, isouter=True)
        .where(
            *_in_scope(plan),
            col(Task.is_public),
            col(TaskProgram.program_id).in_(program_ids),
        )
        .order_by(col(Task.due_date).is_(None), col(Task.due_date), col(Task.id))
    ).all()
    tasks: dict[int, PublicTask] = {}
    programs: dict[int, list[int]] = {}
    for task, district_name, program_id in rows:
        task_id = task.pk
        programs.setdefault(task_id, []).append(program_id)
        if task_id not in tasks:
            # Only the published fields (PUBLIC_FIELDS) are copied out of the row.
            tasks[task_id] = PublicTask(
                id=task_id,
                title=task.title,
                status=TaskStatus(task.status),
                due_date=task.due_date,
                district_id=task.district_id,
                district_name=district_name or "",
                updated_on=calendar.local_date(task.updated_at),
                program_ids=(),
            )
    return [
        PublicTask(**{**task.__dict__, "program_ids": tuple(programs[task.id])})
        for task in tasks.values()
    ]


def _public_photos(
    session: Session, *, plan: Plan, task_ids: list[int]
) -> dict[int, list[PublicPhoto]]:
    """Photos the team marked public, on published tasks that are Selesai, per task."""
    if not task_ids:
        return {}
    rows = session.exec(
        select(Evidence.id, Evidence.task_id, Task.title, Evidence.sha256)
        .join(Task, col(Task.id) == Evidence.task_id)
        .where(
            Task.plan_id == plan.id,
            col(Task.id).in_(task_ids),
            Task.status == TaskStatus.done,
            col(Evidence.is_public),
            col(Evidence.removed_at).is_(None),
            Evidence.kind == EvidenceKind.file,
            col(Evidence.content_type).startswith("image/"),
        )
        .order_by(col(Evidence.id))
    ).all()
    photos: dict[int, list[PublicPhoto]] = {}
    for evidence_id, task_id, title, sha256 in rows:
        photos.setdefault(task_id, []).append(
            PublicPhoto(id=evidence_id or 0, task_id=task_id, task_title=title, sha256=sha256)
        )
    return photos


def build_site(session: Session, *, plan: Plan, now: datetime | None = None) -> PublicSite:
    """Everything the public pages and feeds show, built from the database (no cache)."""
    now = now or datetime.now(UTC)
    calendar = plan_calendar(session, plan)
    today = calendar.today(now)
    plan_ended = today > calendar.end_date
    programs = session.exec(
        select(Program)
        .where(col(Program.is_public))
        .order_by(col(Program.sort_order), text_order(col(Program.code)))
    ).all()
    program_ids = [p.pk for p in programs]
    figures = _figures(
        session, plan=plan, calendar=calendar, today=today, now=now, program_ids=program_ids
    )
    started = _started_counts(session, plan=plan, program_ids=program_ids)
    updates = _last_updates(session, plan=plan, program_ids=program_ids, calendar=calendar)
    tasks = _public_tasks(session, plan=plan, program_ids=program_ids, calendar=calendar)
    photos = _public_photos(session, plan=plan, task_ids=[t.id for t in tasks])

    public_programs = []
    for program in programs:
        pid = program.pk
        stats, rag = figures.programs[pid]
        own_tasks = [t for t in tasks if pid in t.program_ids]
        public_programs.append(
            PublicProgram(
                id=pid,
                kind=ProgramKind(program.kind),
                title=program.public_title or program.name,
                official_name=program.name,
                description=program.public_description,
                label=public_label(
                    stats, started=started.get(pid, 0), rag=rag, plan_ended=plan_ended
                ),
                stats=stats,
                last_update=updates.get(pid),
                tasks=own_tasks,
                photos=[photo for t in own_tasks for photo in photos.get(t.id, [])],
            )
        )

    districts = session.exec(
        select(Unit.id, Unit.name)
        .where(Unit.kind == UnitKind.district, col(Unit.is_active))
        .order_by(text_order(col(Unit.name)), col(Unit.id))
    ).all()
    public_districts = [
        PublicDistrict(id=uid or 0, name=name, tasks=[t for t in tasks if t.district_id == uid])
        for uid, name in districts
    ]
    return PublicSite(
        plan_name=plan.name,
        start_date=calendar.start_date,
        end_date=calendar.end_date,
        length_days=plan.length_days,
        today=today,
        day_label=calendar.day_label(today),
        plan_ended=plan_ended,
        headline=figures.headline,
        expected_pct=100 * figures.expected,
        programs=public_programs,
        districts=public_districts,
        program_names={p.id: p.title for p in public_programs},
    )


# --- the per-process cache -------------------------------------------------------------

# Per database (engine) and plan: the stamp's key and the site built for it.
_cache: "weakref.WeakKeyDictionary[Any, dict[int, tuple[str, PublicSite]]]" = (
    weakref.WeakKeyDictionary()
)
_cache_lock = threading.Lock()


def public_site(session: Session, *, stamp: PublicStamp, now: datetime | None = None) -> PublicSite:
    """The site for this stamp and day: built once per process, then reused until a change
    moves the stamp (or the day turns in the plan's timezone)."""
    now = now or datetime.now(UTC)
    key = stamp.key(stamp.today(now))
    engine = session.get_bind()
    with _cache_lock:
        cached = _cache.get(engine, {}).get(stamp.plan_id)
    if cached is not None and cached[0] == key:
        return cached[1]
    plan = session.get(Plan, stamp.plan_id)
    if plan is None:  # removed since the stamp was read
        raise NotFound(NOT_FOUND)
    site = build_site(session, plan=plan, now=now)
    with _cache_lock:
        _cache.setdefault(engine, {})[stamp.plan_id] = (key, site)
    return site


def bounded_id(value: int) -> int:
    """A path id within the id column's range, else NotFound (never a database overflow)."""
    if not 1 <= value <= ID_MAX:
        raise NotFound(NOT_FOUND)
    return value
