"""The task detail page's data: the task with its units, programs, calendar facts, its
history as readable Indonesian sentences, and the actions the viewer may take.

`task_detail` costs a fixed number of queries whatever the length of the history: the task
with its lead unit and district, supporting units, programs, events with actors, the names
the edit diffs refer to (at most two), the evidence with its uploaders, and the holidays in
working-day mode.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from app import permissions
from app.errors import NotFound
from app.models import (
    EventKind,
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
from app.services.calendar import PlanCalendar
from app.services.directives import (
    DirectiveView,
    can_answer_directives,
    can_decide,
    task_directives,
)
from app.services.evidence import EvidenceView, list_evidence
from app.services.labels import FIELD_LABELS, ValueWords, status_label
from app.services.lateness import Lateness
from app.services.plans import get_plan, plan_calendar
from app.services.task_reads import EventView, task_events
from app.sorting import text_order

# Field order in an edit's list of changes: as the form shows them.
FIELD_ORDER = list(FIELD_LABELS)
# A long text in a diff is cut: the whole current text is on the page.
DIFF_TEXT_MAX = 90

NOTE_LABELS: dict[EventKind, str] = {
    EventKind.comment: "Catatan",
    EventKind.progress: "Keterangan",
    EventKind.directive: "Arahan",
    EventKind.rejected: "Catatan penolakan",
    EventKind.cancelled: "Alasan pembatalan",
    EventKind.imported: "Berkas",
    EventKind.verified: "Catatan verifikasi",
    EventKind.evidence: "Keterangan bukti dukung",
    EventKind.follow_up: "Tindak lanjut",
    EventKind.decision: "Keputusan",
    EventKind.escalated: "Eskalasi",
}


@dataclass
class Change:
    label: str
    old: str
    new: str


@dataclass
class HistoryEntry:
    """One event of the task, told as a sentence whose subject is the actor."""

    id: int
    kind: EventKind
    actor_name: str
    at: datetime
    sentence: str
    changes: list[Change] = field(default_factory=list)
    note: str = ""
    note_label: str = "Catatan"
    to_status: TaskStatus | None = None


@dataclass
class TaskActions:
    """What the viewer may do; the services enforce the same rules on every request."""

    edit: bool = False
    progress: bool = False
    comment: bool = False
    direct: bool = False
    move_targets: list[TaskStatus] = field(default_factory=list)
    verify: bool = False
    reject: bool = False
    cancel: bool = False
    restore: bool = False
    attach_evidence: bool = False

    @property
    def changes_task(self) -> bool:
        """Any control other than the directive form (an executive has none)."""
        return any(
            (
                self.edit,
                self.progress,
                self.comment,
                self.move_targets,
                self.verify,
                self.reject,
                self.cancel,
                self.restore,
                self.attach_evidence,
            )
        )


@dataclass
class TaskDetail:
    task: Task
    plan: Plan
    calendar: PlanCalendar
    lead_unit: Unit
    district: Unit | None
    supporting_units: list[Unit]
    programs: list[Program]
    history: list[HistoryEntry]
    actions: TaskActions
    today: date
    due_day: int | None
    days_late: int
    evidence: list[EvidenceView] = field(default_factory=list)
    # Its directives, each open or with its follow-up; who may answer or decide here.
    directive_views: list[DirectiveView] = field(default_factory=list)
    can_follow_up: bool = False
    can_decide: bool = False

    @property
    def review_days(self) -> int | None:
        """Days waiting in Menunggu Verifikasi (None when not waiting)."""
        since = self.task.review_since_date
        if self.task.status != TaskStatus.review or since is None:
            return None
        return max((self.today - since).days, 0)

    @property
    def open_directives(self) -> int:
        return sum(1 for d in self.directive_views if d.is_open)

    @property
    def is_late(self) -> bool:
        return self.days_late > 0

    @property
    def directives(self) -> list[HistoryEntry]:
        return [e for e in self.history if e.kind == EventKind.directive]

    @property
    def review_note(self) -> HistoryEntry | None:
        """The note of the latest move into Menunggu Verifikasi (why evidence may be missing)."""
        for entry in self.history:
            if entry.to_status == TaskStatus.review:
                return entry if entry.note else None
        return None

    @property
    def review_since(self) -> datetime | None:
        """When the task last went into Menunggu Verifikasi (None when it is not there)."""
        if self.task.status != TaskStatus.review:
            return None
        for entry in self.history:
            if entry.to_status == TaskStatus.review:
                return entry.at
        return None

    @property
    def waiting_days(self) -> int:
        """Whole days the task has waited for verification, counted on the plan's dates."""
        since = self.review_since
        if since is None:
            return 0
        return max(0, (self.today - self.calendar.local_date(since)).days)

    @property
    def last_update_at(self) -> datetime | None:
        return self.history[0].at if self.history else None

    def programs_of(self, kind: ProgramKind) -> list[Program]:
        return [p for p in self.programs if p.kind == kind]


def task_actions(user: User, task: Task) -> TaskActions:
    """The controls to show `user` on `task`, from app.permissions."""
    status = TaskStatus(task.status)
    team = permissions.is_team(user)
    open_task = status not in (TaskStatus.done, TaskStatus.cancelled)
    targets: list[TaskStatus] = []
    if status != TaskStatus.cancelled:
        targets = permissions.move_targets(user, task)
        if status == TaskStatus.review:
            # Verification has its own button; the move control offers the other columns.
            targets = [t for t in targets if t != TaskStatus.done]
    return TaskActions(
        edit=permissions.can_edit(user) and status != TaskStatus.cancelled,
        progress=permissions.can_work_on(user, task) and open_task,
        comment=permissions.can_work_on(user, task),
        direct=permissions.can_direct(user),
        move_targets=targets,
        verify=team and status == TaskStatus.review,
        reject=team and status == TaskStatus.review,
        cancel=team and status != TaskStatus.cancelled,
        restore=team and status == TaskStatus.cancelled,
        attach_evidence=permissions.can_attach_evidence(user, task),
    )


def task_detail(
    session: Session, *, task_id: int, user: User, today: date | None = None
) -> TaskDetail:
    """Everything the detail page shows about one task, for `user`, on `today` (default:
    today in the plan's timezone)."""
    lead = aliased(Unit)
    district = aliased(Unit)
    row = session.exec(
        select(Task, lead, district)
        .join(lead, col(lead.id) == Task.lead_unit_id)
        .join(district, col(district.id) == Task.district_id, isouter=True)
        .where(Task.id == task_id)
    ).first()
    if row is None:
        raise NotFound("Tugas tidak ditemukan.")
    task, lead_unit, district_unit = row
    supporting = list(
        session.exec(
            select(Unit)
            .join(TaskSupportingUnit, col(TaskSupportingUnit.unit_id) == Unit.id)
            .where(TaskSupportingUnit.task_id == task_id)
            .order_by(col(Unit.kind), text_order(col(Unit.name)), col(Unit.id))
        ).all()
    )
    programs = list(
        session.exec(
            select(Program)
            .join(TaskProgram, col(TaskProgram.program_id) == Program.id)
            .where(TaskProgram.task_id == task_id)
            .order_by(col(Program.sort_order), col(Program.id))
        ).all()
    )
    events = task_events(session, task_id=task_id)
    plan = get_plan(session, plan_id=task.plan_id)
    calendar = plan_calendar(session, plan)
    lateness = Lateness(calendar=calendar, today=today or calendar.today())
    today = lateness.today
    days_late = lateness.days_late(task)
    return TaskDetail(
        task=task,
        plan=plan,
        calendar=calendar,
        lead_unit=lead_unit,
        district=district_unit,
        supporting_units=supporting,
        programs=programs,
        history=describe_events(session, list(reversed(events))),
        actions=task_actions(user, task),
        today=today,
        due_day=calendar.day_number(task.due_date) if task.due_date else None,
        days_late=days_late,
        evidence=list_evidence(session, task=task, user=user),
        directive_views=task_directives(session, task_id=task_id, calendar=calendar, today=today),
        can_follow_up=can_answer_directives(user, task),
        can_decide=can_decide(user, task),
    )


def describe_events(session: Session, events: Sequence[EventView]) -> list[HistoryEntry]:
    """Events of any tasks told as sentences, in the order given; the unit and program names
    their changes mention are read in two queries at most, whatever the number of events."""
    unit_names, program_names = _names_in(session, events)
    words = ValueWords(unit_names, program_names, text_max=DIFF_TEXT_MAX)
    describe = _Describer(words)
    return [describe.entry(view) for view in events]


def _names_in(
    session: Session, events: Sequence[EventView]
) -> tuple[dict[int, str], dict[int, str]]:
    """Names of the units and programs the events' changes mention (two queries at most)."""
    unit_ids: set[int] = set()
    program_ids: set[int] = set()
    for view in events:
        for name, pair in view.event.changes.items():
            if not isinstance(pair, list):
                continue
            if name in ("lead_unit_id", "district_id", "supporting_unit_ids"):
                unit_ids.update(_ints(pair))
            elif name == "program_ids":
                program_ids.update(_ints(pair))
    units: dict[int, str] = {}
    programs: dict[int, str] = {}
    if unit_ids:
        for uid, name in session.exec(
            select(Unit.id_column(), Unit.name).where(col(Unit.id).in_(unit_ids))
        ).all():
            units[uid] = name
    if program_ids:
        for pid, name in session.exec(
            select(Program.id_column(), Program.short_name).where(col(Program.id).in_(program_ids))
        ).all():
            programs[pid] = name
    return units, programs


def _ints(values: Iterable[Any]) -> set[int]:
    found: set[int] = set()
    for value in values:
        if isinstance(value, int) and not isinstance(value, bool):
            found.add(value)
        elif isinstance(value, list):
            found.update(v for v in value if isinstance(v, int) and not isinstance(v, bool))
    return found


@dataclass
class _Describer:
    words: ValueWords

    def entry(self, view: EventView) -> HistoryEntry:
        event = view.event
        kind = EventKind(event.kind)
        changes = event.changes or {}
        sentence, shown = self._sentence(kind, event.from_status, event.to_status, changes)
        note_label = NOTE_LABELS.get(kind, "Catatan")
        reason = changes.get("blocked_reason")
        if isinstance(reason, list) and len(reason) == 2:
            if event.note and event.note == reason[1]:
                # The new reason is the event's note: say it once, as the reason.
                shown.discard("blocked_reason")
                note_label = "Alasan kendala"
            elif not reason[1]:
                # Leaving Terkendala clears the reason; the move itself says enough.
                shown.discard("blocked_reason")
        return HistoryEntry(
            id=event.pk,
            kind=kind,
            actor_name=view.actor_name or "Sistem",
            at=event.at,
            sentence=sentence,
            changes=[
                self._change(name, changes[name])
                for name in sorted(changes, key=_field_rank)
                if name in shown and isinstance(changes[name], list) and len(changes[name]) == 2
            ],
            note=event.note,
            note_label=note_label,
            to_status=TaskStatus(event.to_status) if event.to_status else None,
        )

    def _sentence(
        self,
        kind: EventKind,
        from_status: TaskStatus | None,
        to_status: TaskStatus | None,
        changes: dict[str, Any],
    ) -> tuple[str, set[str]]:
        """The sentence, and which changed fields to list under it."""
        others = set(changes) - {"status"}
        source = status_label(from_status) if from_status else ""
        target = status_label(to_status) if to_status else ""
        if kind == EventKind.created:
            return "membuat tugas ini", set()
        if kind == EventKind.moved:
            if from_status == TaskStatus.cancelled:
                return f"memulihkan tugas ke {target}", set()
            return f"memindahkan dari {source} ke {target}", others
        if kind == EventKind.progress:
            pct = changes.get("progress_pct")
            others.discard("progress_pct")
            if isinstance(pct, list) and len(pct) == 2:
                return f"memperbarui capaian {pct[0]}% → {pct[1]}%", others
            if others:
                return "memperbarui realisasi", others
            return "melaporkan perkembangan", others
        if kind == EventKind.assigned:
            lead = changes.get("lead_unit_id")
            others.discard("lead_unit_id")
            if isinstance(lead, list) and len(lead) == 2:
                old, new = (self.words.unit(v) for v in lead)
                return f"mengalihkan penanggung jawab dari {old} ke {new}", others
            return "mengalihkan penanggung jawab", others
        if kind == EventKind.edited:
            return "mengubah tugas", others
        if kind == EventKind.comment:
            return "menulis catatan", set()
        if kind == EventKind.directive:
            return "memberikan arahan", set()
        if kind == EventKind.follow_up:
            return "menindaklanjuti arahan", set()
        if kind == EventKind.decision:
            return "mencatat keputusan; tugas tidak lagi menunggu keputusan Bupati", set()
        if kind == EventKind.evidence:
            pair = next((v for k, v in changes.items() if k.startswith("evidence_")), None)
            return _evidence_sentence(pair), set()
        if kind == EventKind.verified:
            return "memverifikasi hasilnya dan menandai tugas Selesai", set()
        if kind == EventKind.rejected:
            return f"menolak hasilnya dan mengembalikan tugas ke {target or 'pelaksana'}", set()
        if kind == EventKind.cancelled:
            return "membatalkan tugas ini", set()
        if kind == EventKind.escalated:
            return "meneruskan tugas yang tertahan (eskalasi)", set()
        if kind == EventKind.imported:
            if from_status is None and to_status is not None:
                return "membuat tugas ini dari impor lembar kerja", set()
            if from_status is not None and to_status is not None:
                return f"mengimpor perubahan; status {source} → {target}", others
            return "mengimpor perubahan dari lembar kerja", others
        return "mengubah tugas", others

    def _change(self, name: str, pair: list[Any]) -> Change:
        return Change(
            label=FIELD_LABELS.get(name, name),
            old=self.words.show(name, pair[0]),
            new=self.words.show(name, pair[1]),
        )


def _evidence_sentence(pair: Any) -> str:
    """ "melampirkan bukti dukung «foto.jpg»" / "menghapus bukti dukung «…»"."""
    if not (isinstance(pair, list) and len(pair) == 2):
        return "melampirkan bukti dukung"
    removed = pair[1] is None
    item = pair[0] if removed else pair[1]
    verb = "menghapus bukti dukung" if removed else "melampirkan bukti dukung"
    if not isinstance(item, dict):
        return verb
    name = item.get("filename") or item.get("url") or ""
    if not isinstance(name, str) or not name:
        return verb
    shown = name if len(name) <= DIFF_TEXT_MAX else name[: DIFF_TEXT_MAX - 1] + "…"
    kind = "tautan" if item.get("kind") == "link" else "berkas"
    return f"{verb} ({kind}) «{shown}»"


def _field_rank(name: str) -> int:
    return FIELD_ORDER.index(name) if name in FIELD_ORDER else len(FIELD_ORDER)
