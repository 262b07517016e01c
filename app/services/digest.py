"""Laporan Pagi: each working morning, one message per user listing what needs *them*.

- a unit user: their unit's tasks that are late, due within three working days, blocked,
  sent back by the team, and the directives still waiting for a follow-up;
- the team: the verification queue with how long each task has waited, and the units whose
  people have recorded nothing for a week;
- an executive: done against the plan, the decisions waiting for them, the red exceptions.

Exactly once per user per day: the run record (`routine_run`, unique per date) is written in
the same transaction as the messages, and the deliveries' idempotency keys name the date.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Protocol

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.config import Settings
from app.db import open_session
from app.errors import NotFound
from app.models import (
    NoticeKind,
    Plan,
    Role,
    RoutineRun,
    Task,
    TaskEvent,
    TaskStatus,
    Unit,
    User,
)
from app.services import dashboard, outbox
from app.services.calendar import PlanCalendar
from app.services.escalation import open_directives, working_calendar, working_days_since
from app.services.filters import TaskFilter
from app.services.plans import current_plan, lock_plan_for_writes, plan_calendar
from app.templating import env
from app.timefmt import format_day_date, format_long_date

DIGEST = "digest"
SOON_WORKING_DAYS = 3
SECTION_MAX = 10
OPEN = (TaskStatus.todo, TaskStatus.in_progress, TaskStatus.blocked, TaskStatus.review)


@dataclass(frozen=True)
class Item:
    text: str
    path: str = ""


@dataclass
class Section:
    title: str
    items: list[Item] = field(default_factory=list)
    more: int = 0
    # A section of facts (the executive's summary) is shown even without tasks.
    summary: bool = False


@dataclass
class Digest:
    user: User
    day: date
    intro: str
    sections: list[Section]
    home_path: str = "/board"

    @property
    def has_items(self) -> bool:
        return any(s.items and not s.summary for s in self.sections)

    @property
    def subject(self) -> str:
        return f"[Seratus] Laporan Pagi {format_day_date(self.day)}"


def _section(title: str, items: Sequence[Item]) -> Section:
    return Section(
        title=f"{title} ({len(items)})",
        items=list(items[:SECTION_MAX]),
        more=max(len(items) - SECTION_MAX, 0),
    )


class _TaskRef(Protocol):
    """What a digest line names of a task: a Task, or the attention list's AttentionTask."""

    @property
    def id(self) -> int | None: ...
    @property
    def code(self) -> str: ...
    @property
    def title(self) -> str: ...


def _ref(task: _TaskRef) -> str:
    return f"{task.code} {task.title}"


def _path(task: _TaskRef) -> str:
    return f"/tasks/{task.id}"


def _quote(text: str, limit: int = 120) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


# --- per role --------------------------------------------------------------------------


def _unit_sections(
    session: Session, *, user: User, plan: Plan, calendar: PlanCalendar, today: date
) -> list[Section]:
    plan_cal = plan_calendar(session, plan)
    tasks = session.exec(
        select(Task)
        .where(
            Task.plan_id == plan.id,
            Task.lead_unit_id == user.unit_id,
            col(Task.status).in_(OPEN),
        )
        .order_by(col(Task.due_date).is_(None), col(Task.due_date), col(Task.id))
    ).all()
    late: list[Item] = []
    soon: list[Item] = []
    blocked: list[Item] = []
    rejected: list[Item] = []
    ids = [t.pk for t in tasks]
    last_rejections = _last_rejections(session, task_ids=ids)
    blocked_since = _entered(session, task_ids=ids, status=TaskStatus.blocked)
    for task in tasks:
        waiting_review = task.status == TaskStatus.review
        if task.due_date is not None and not waiting_review:
            days_late = plan_cal.days_late(task.due_date, today)
            if days_late > 0:
                late.append(
                    Item(
                        f"{_ref(task)} — tenggat {format_day_date(task.due_date)}, "
                        f"terlambat {days_late} hari",
                        _path(task),
                    )
                )
            elif calendar.days_late(today, task.due_date) <= SOON_WORKING_DAYS:
                when = "hari ini" if task.due_date == today else format_day_date(task.due_date)
                soon.append(Item(f"{_ref(task)} — tenggat {when}", _path(task)))
        if task.status == TaskStatus.blocked:
            since = blocked_since.get(task.pk)
            days = f" {working_days_since(calendar, since, today)} hari kerja" if since else ""
            blocked.append(
                Item(f"{_ref(task)} — terkendala{days}: {_quote(task.blocked_reason)}", _path(task))
            )
        rejection = last_rejections.get(task.pk)
        if rejection is not None and task.status == TaskStatus.in_progress:
            rejected.append(
                Item(f"{_ref(task)} — catatan Tim Transisi: {_quote(rejection.note)}", _path(task))
            )
    directives = [
        Item(
            f"{_ref(d.task)} — arahan {format_day_date(calendar.local_date(d.event.at))}: "
            f"{_quote(d.event.note)}",
            _path(d.task),
        )
        for d in open_directives(session, plan_id=plan.pk, unit_id=user.unit_id)
    ]
    return [
        s
        for s in (
            _section("Terlambat", late),
            _section(f"Tenggat dalam {SOON_WORKING_DAYS} hari kerja", soon),
            _section("Terkendala", blocked),
            _section("Dikembalikan Tim Transisi", rejected),
            _section("Arahan pimpinan yang belum ditindaklanjuti", directives),
        )
        if s.items
    ]


def _last_rejections(session: Session, *, task_ids: list[int]) -> dict[int, TaskEvent]:
    """Tasks whose latest status change was a rejection, with that event."""
    if not task_ids:
        return {}
    rows = session.exec(
        select(TaskEvent)
        .where(col(TaskEvent.task_id).in_(task_ids), col(TaskEvent.to_status).is_not(None))
        .order_by(col(TaskEvent.id))
    ).all()
    last: dict[int, TaskEvent] = {}
    for event in rows:
        last[event.task_id] = event
    return {tid: e for tid, e in last.items() if e.kind == "rejected"}


def _entered(session: Session, *, task_ids: list[int], status: TaskStatus) -> dict[int, datetime]:
    """When each task last entered `status`."""
    if not task_ids:
        return {}
    rows = session.exec(
        select(TaskEvent.task_id, TaskEvent.at)
        .where(col(TaskEvent.task_id).in_(task_ids), TaskEvent.to_status == status)
        .order_by(col(TaskEvent.id))
    ).all()
    return dict(rows)


@dataclass
class PlanPicture:
    """What the team's and the executives' digests share, computed once per run."""

    board: dashboard.Dashboard
    review: list[tuple[Task, int]]
    units: dict[int, Unit]


def plan_picture(
    session: Session, *, plan: Plan, calendar: PlanCalendar, now: datetime
) -> PlanPicture:
    board = dashboard.build_dashboard(
        session,
        plan=plan,
        filters=TaskFilter(),
        chart=None,  # the digest shows no chart
        reference_data=dashboard.reference(session),
        now=now,
    )
    today = calendar.today(now)
    queue = session.exec(
        select(Task)
        .where(Task.plan_id == plan.id, Task.status == TaskStatus.review)
        .order_by(col(Task.id))
    ).all()
    since = _entered(session, task_ids=[t.pk for t in queue], status=TaskStatus.review)
    review = [
        (task, working_days_since(calendar, since[task.id], today) if task.id in since else 0)
        for task in queue
    ]
    review.sort(key=lambda pair: (-pair[1], pair[0].pk))
    units = {u.pk: u for u in session.exec(select(Unit)).all()}
    return PlanPicture(board=board, review=review, units=units)


def _team_sections(picture: PlanPicture) -> list[Section]:
    queue = [
        Item(
            f"{_ref(task)} — {picture.units[task.lead_unit_id].short_name}, "
            + (f"menunggu {days} hari kerja" if days else "masuk hari ini"),
            _path(task),
        )
        for task, days in picture.review
    ]
    stale = [
        Item(
            f"{row.name} — "
            + (
                "belum pernah memperbarui tugas"
                if row.days_since_update is None
                else f"terakhir memperbarui {row.days_since_update} hari lalu"
            ),
            row.href,
        )
        for _, rows in picture.board.units
        for row in rows
        if row.is_stale
    ]
    return [
        s
        for s in (
            _section("Antrean verifikasi", queue),
            _section(f"Unit yang belum melapor {dashboard.STALE_DAYS} hari", stale),
        )
        if s.items
    ]


def _executive_sections(session: Session, *, user: User, picture: PlanPicture) -> list[Section]:
    board = picture.board
    head = board.headline.stats
    done = f"{head.done_pct:.0f}%".replace(".", ",") if head.done_pct is not None else "0%"
    planned = head.planned_pct or 0.0
    summary = Section(
        title="Ringkasan",
        summary=True,
        items=[
            Item(f"{board.day.day_label}."),
            Item(
                f"Selesai {done} ({head.done} dari {head.total} tugas); menurut rencana "
                f"seharusnya {planned:.0f}%. Status keseluruhan: {board.headline.judgement.label}.",
                "/dashboard",
            ),
            Item(
                f"Terkendala {head.blocked}, terlambat {head.late}, "
                f"perlu keputusan {head.needs_decision}."
            ),
        ],
    )
    decisions = [
        Item(f"{_ref(row.task)} — {row.owner_name}", _path(row.task))
        for row in board.attention
        if row.fact.needs_decision
    ]
    red = [
        Item(
            f"{_ref(row.task)} — {row.owner_name}, "
            + (
                f"terkendala: {_quote(row.task.blocked_reason, 80)}"
                if row.is_blocked
                else f"terlambat {row.days_late} hari"
            ),
            _path(row.task),
        )
        for row in board.attention
        if not row.fact.needs_decision and (row.is_blocked or row.days_late > 0)
    ]
    mine = [
        Item(
            f"{_ref(d.task)} — arahan "
            f"{format_day_date(board.day.calendar.local_date(d.event.at))}: {_quote(d.event.note)}",
            _path(d.task),
        )
        for d in open_directives(session, plan_id=board.day.plan.pk)
        if d.event.actor_id == user.id
    ]
    sections = [summary]
    sections += [
        s
        for s in (
            _section("Menunggu keputusan Anda", decisions),
            _section("Pengecualian merah", red),
            _section("Arahan Anda yang belum ditindaklanjuti", mine),
        )
        if s.items
    ]
    return sections


def build_digest(
    session: Session,
    *,
    user: User,
    plan: Plan,
    now: datetime,
    picture: PlanPicture | None = None,
) -> Digest:
    """What `user` would get this morning (sections may be empty: then nothing is sent)."""
    calendar = working_calendar(session, plan)
    today = calendar.today(now)
    day_label = plan_calendar(session, plan).day_label(today)
    intro = f"Laporan Pagi {format_long_date(today)} · {day_label}"
    if user.role == Role.unit:
        unit = session.get(Unit, user.unit_id) if user.unit_id else None
        name = unit.name if unit is not None else "unit Anda"
        sections = _unit_sections(session, user=user, plan=plan, calendar=calendar, today=today)
        intro += f"\nYth. {user.full_name}, berikut tugas {name} yang perlu ditindaklanjuti."
        home = f"/board?unit={user.unit_id}"
    else:
        picture = picture or plan_picture(session, plan=plan, calendar=calendar, now=now)
        if user.role == Role.team:
            sections = _team_sections(picture)
            intro += f"\nYth. {user.full_name}, berikut yang menunggu Tim Transisi."
            home = "/board?status=review"
        else:
            sections = _executive_sections(session, user=user, picture=picture)
            intro += f"\nYth. {user.full_name}, berikut gambaran rencana hari ini."
            home = "/dashboard"
    return Digest(user=user, day=today, intro=intro, sections=sections, home_path=home)


# --- the message -----------------------------------------------------------------------


def digest_text(digest: Digest, *, base_url: str = outbox.BASE_URL) -> str:
    lines = [digest.intro, ""]
    for section in digest.sections:
        lines.append(section.title)
        for item in section.items:
            lines.append(f"- {item.text}")
            if item.path:
                lines.append(f"  {base_url}{item.path}")
        if section.more:
            lines.append(f"- dan {section.more} lainnya")
        lines.append("")
    lines.append(f"Buka Seratus: {base_url}{digest.home_path}")
    lines.append(f"—\nPengaturan pemberitahuan: {base_url}/profile")
    return "\n".join(lines) + "\n"


def digest_html(digest: Digest, *, base_url: str = outbox.BASE_URL) -> str:
    return env.get_template("email/digest.html").render(digest=digest, base_url=base_url)


def digest_message(digest: Digest) -> outbox.Message:
    return outbox.Message(
        subject=digest.subject, text=digest_text(digest), html=digest_html(digest)
    )


# --- the daily run ---------------------------------------------------------------------


def digest_time(settings: Settings) -> time:
    hour, minute = settings.digest_time.split(":")
    return time(int(hour), int(minute))


def run_digest(session: Session, *, plan: Plan, now: datetime) -> int | None:
    """Today's digests, once: None when today's run is already recorded (or today is not a
    working day); otherwise the number of messages written. The caller commits."""
    calendar = working_calendar(session, plan)
    today = calendar.today(now)
    if not calendar.is_working_day(today):
        return None
    lock_plan_for_writes(session, plan.pk)
    done = session.exec(
        select(RoutineRun.id).where(RoutineRun.name == DIGEST, RoutineRun.run_date == today)
    ).first()
    if done is not None:
        return None
    users = session.exec(select(User).where(col(User.is_active)).order_by(col(User.id))).all()
    prefs = outbox.settings_for(session, [u.pk for u in users])
    picture: PlanPicture | None = None
    written = 0
    for user in users:
        channels = outbox.channels_for(prefs.get(user.pk), NoticeKind.digest)
        if not channels:
            continue
        if user.role != Role.unit and picture is None:
            picture = plan_picture(session, plan=plan, calendar=calendar, now=now)
        digest = build_digest(session, user=user, plan=plan, now=now, picture=picture)
        if not digest.has_items:
            continue
        written += len(
            outbox.enqueue(
                session,
                user_id=user.pk,
                notice=NoticeKind.digest,
                message=digest_message(digest),
                key=f"digest:{today.isoformat()}:u{user.id}",
                prefs=prefs.get(user.pk),
                now=now,
                channels=channels,
            )
        )
    session.add(RoutineRun(name=DIGEST, run_date=today, finished_at=now, messages=written))
    return written


def run_digest_if_due(engine: Engine, *, settings: Settings, now: datetime) -> str | None:
    """The worker's step: at or after the digest time on a working day, once per day."""
    with open_session(engine, write=True) as session:
        try:
            plan = current_plan(session)
        except NotFound:
            return None
        calendar = working_calendar(session, plan)
        local = now.astimezone(calendar.tz)
        if local.time() < digest_time(settings):
            return None
        try:
            written = run_digest(session, plan=plan, now=now)
            session.commit()
        except IntegrityError:
            # Another worker recorded today's run first: its messages stand, ours roll back.
            session.rollback()
            return None
    if written is None:
        return None
    return f"Laporan Pagi {calendar.today(now).isoformat()}: {written} pesan"
