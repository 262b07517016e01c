"""Tasks: create, edit, move, progress, notes, directives, verify, reject, cancel.

Every public function is one transaction that changes the task, bumps its version and writes
exactly one `task_event` with the actor and the time, then commits.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import Enum
from typing import Any, Final, Literal

import sqlalchemy as sa
from sqlmodel import Session, col, select

from app import permissions
from app.db import retry_write, utcnow
from app.errors import Conflict, NotFound, RuleViolation
from app.models import (
    BOARD_STATUSES,
    EventKind,
    Evidence,
    Plan,
    Program,
    ProgressUpdate,
    Task,
    TaskCreate,
    TaskEvent,
    TaskMove,
    TaskProgram,
    TaskPublic,
    TaskStatus,
    TaskSupportingUnit,
    TaskUpdate,
    Unit,
    UnitKind,
    User,
)
from app.services.change_seq import touch
from app.services.plans import get_plan, lock_plan_for_writes, plan_calendar
from app.timefmt import format_day_date, format_wib_time

# A position past any real one: "append at the end of the column" before renumbering.
END_OF_COLUMN = 2_000_000_000


class _Missing(Enum):
    MISSING = "missing"


# A drop "after" a card that no longer exists: the moved card goes to the end of the column.
Missing = Literal[_Missing.MISSING]
MISSING: Final = _Missing.MISSING

STATUS_LABELS: dict[TaskStatus, str] = {
    TaskStatus.todo: "Belum Dimulai",
    TaskStatus.in_progress: "Sedang Berjalan",
    TaskStatus.blocked: "Terkendala",
    TaskStatus.review: "Menunggu Verifikasi",
    TaskStatus.done: "Selesai",
    TaskStatus.cancelled: "Dibatalkan",
}


EVIDENCE_OR_NOTE_MESSAGE = (
    "Lampirkan minimal satu bukti dukung (foto, dokumen, atau tautan), atau tuliskan catatan "
    "mengapa belum ada bukti dukung, sebelum mengirim tugas ke Menunggu Verifikasi."
)

# --- reading ---------------------------------------------------------------------------


def get_task(session: Session, *, task_id: int) -> Task:
    task = session.get(Task, task_id)
    if task is None:
        raise NotFound(f"Tugas #{task_id} tidak ditemukan.")
    return task


def link_ids(
    session: Session, *, task_ids: Sequence[int]
) -> dict[int, tuple[list[int], list[int]]]:
    """{task_id: (supporting_unit_ids, program_ids)} for many tasks in two queries."""
    result: dict[int, tuple[list[int], list[int]]] = {tid: ([], []) for tid in task_ids}
    if not task_ids:
        return result
    for tid, uid in session.exec(
        select(TaskSupportingUnit.task_id, TaskSupportingUnit.unit_id).where(
            col(TaskSupportingUnit.task_id).in_(task_ids)
        )
    ):
        result[tid][0].append(uid)
    for tid, pid in session.exec(
        select(TaskProgram.task_id, TaskProgram.program_id).where(
            col(TaskProgram.task_id).in_(task_ids)
        )
    ):
        result[tid][1].append(pid)
    return result


def task_public(session: Session, task: Task) -> TaskPublic:
    """The API view of a task, with its supporting units and programs."""
    supporting, programs = link_ids(session, task_ids=[task.id])[task.id]  # type: ignore[index, list-item]
    return task_publics(session, [task], links={task.id: (supporting, programs)})[0]  # type: ignore[dict-item]


def task_publics(
    session: Session,
    tasks: Sequence[Task],
    *,
    links: dict[int, tuple[list[int], list[int]]] | None = None,
) -> list[TaskPublic]:
    """API views of many tasks; their links are read in two queries whatever their number."""
    if links is None:
        links = link_ids(session, task_ids=[t.id for t in tasks if t.id is not None])
    return [
        TaskPublic.model_validate(
            task,
            update={
                "supporting_unit_ids": sorted(links[task.id][0]),  # type: ignore[index]
                "program_ids": sorted(links[task.id][1]),  # type: ignore[index]
            },
        )
        for task in tasks
    ]


def evidence_counts(session: Session, task_ids: Sequence[int]) -> dict[int, int]:
    """Pieces of evidence not removed, per task (tasks without any are left out)."""
    if not task_ids:
        return {}
    rows = session.exec(
        select(Evidence.task_id, sa.func.count())
        .where(col(Evidence.task_id).in_(task_ids), col(Evidence.removed_at).is_(None))
        .group_by(col(Evidence.task_id))
    ).all()
    return dict(rows)


def has_evidence(session: Session, *, task_id: int) -> bool:
    """The task has at least one piece of evidence that was not removed."""
    return task_id in evidence_counts(session, [task_id])


@dataclass
class EventView:
    event: TaskEvent
    actor_name: str | None


def task_events(session: Session, *, task_id: int) -> list[EventView]:
    """The task's history, oldest first, with the actors' names."""
    rows = session.exec(
        select(TaskEvent, User.full_name)
        .join(User, col(User.id) == TaskEvent.actor_id, isouter=True)
        .where(TaskEvent.task_id == task_id)
        .order_by(col(TaskEvent.id))
    ).all()
    return [EventView(event=event, actor_name=name) for event, name in rows]


# --- validation helpers ----------------------------------------------------------------


def _check_refs(
    session: Session,
    *,
    plan: Plan,
    lead_unit_id: int | None,
    district_id: int | None,
    supporting_unit_ids: Sequence[int] | None,
    program_ids: Sequence[int] | None,
    due_date: date | None,
) -> None:
    unit_ids = {u for u in (lead_unit_id, district_id) if u is not None}
    unit_ids.update(supporting_unit_ids or ())
    units = (
        {u.id: u for u in session.exec(select(Unit).where(col(Unit.id).in_(unit_ids))).all()}
        if unit_ids
        else {}
    )
    if lead_unit_id is not None:
        lead = units.get(lead_unit_id)
        if lead is None or not lead.is_active:
            raise RuleViolation("Penanggung jawab tidak dikenal.", field="lead_unit_id")
    if district_id is not None:
        district = units.get(district_id)
        if district is None or district.kind != UnitKind.district:
            raise RuleViolation("Kecamatan tidak dikenal.", field="district_id")
    for uid in supporting_unit_ids or ():
        if uid not in units:
            raise RuleViolation(
                f"Perangkat daerah pendukung #{uid} tidak dikenal.", field="supporting_unit_ids"
            )
    if program_ids:
        found = set(session.exec(select(Program.id).where(col(Program.id).in_(program_ids))).all())
        missing = [p for p in program_ids if p not in found]
        if missing:
            raise RuleViolation(f"Program #{missing[0]} tidak dikenal.", field="program_ids")
    if due_date is not None:
        calendar = plan_calendar(session, plan)
        if not calendar.contains(due_date):
            raise RuleViolation(
                "Tenggat harus di dalam masa rencana "
                f"({format_day_date(calendar.start_date)} – {format_day_date(calendar.end_date)}).",
                field="due_date",
            )


def _check_version(session: Session, task: Task, version: int) -> None:
    if task.version == version:
        return
    last = session.exec(
        select(TaskEvent, User.full_name)
        .join(User, col(User.id) == TaskEvent.actor_id, isouter=True)
        .where(TaskEvent.task_id == task.id)
        .order_by(col(TaskEvent.id).desc())
        .limit(1)
    ).first()
    who = "pengguna lain"
    when = ""
    if last is not None:
        who = last[1] or who
        when = f" pada {format_wib_time(last[0].at)}"
    raise Conflict(
        f"Tugas {task.code} telah diubah oleh {who}{when}. Berikut keadaan terkininya; "
        "periksa lalu ulangi perubahan Anda.",
        current=task_public(session, task),
    )


def _load_for_write(session: Session, *, task_id: int) -> Task:
    task = get_task(session, task_id=task_id)
    lock_plan_for_writes(session, task.plan_id)
    if session.get_bind().dialect.name == "postgresql":
        session.refresh(task)
    return task


def _record(
    session: Session,
    task: Task,
    *,
    actor: User,
    kind: EventKind,
    changes: dict[str, Any] | None = None,
    note: str = "",
    from_status: TaskStatus | None = None,
    to_status: TaskStatus | None = None,
    bump_version: bool = True,
) -> TaskEvent:
    """Bump the task's version and append its event; the caller commits."""
    if bump_version:
        task.version += 1
    event = TaskEvent(
        plan_id=task.plan_id,
        task_id=task.id,  # type: ignore[arg-type]
        actor_id=actor.id,
        kind=kind,
        from_status=from_status,
        to_status=to_status,
        changes=changes or {},
        note=note,
    )
    task.updated_at = event.at
    touch(session, task)
    session.add(task)
    session.add(event)
    return event


def _jsonable(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list):
        return sorted(value)
    return value


# --- positions -------------------------------------------------------------------------


def _renumber(session: Session, *, task: Task, statuses: set[TaskStatus]) -> None:
    """Renumber the given columns 1..n in one statement; `task` sorts just after any card
    that has the same position (the card it was dropped behind)."""
    table = Task.__table__  # type: ignore[attr-defined]
    statuses = {s for s in statuses if s in BOARD_STATUSES}
    if not statuses:
        return
    ranked = (
        sa.select(
            table.c.id.label("id"),
            sa.func.row_number()
            .over(
                partition_by=table.c.status,
                order_by=(
                    table.c.position,
                    sa.case((table.c.id == task.id, 1), else_=0),
                    table.c.id,
                ),
            )
            .label("rn"),
        )
        .where(table.c.plan_id == task.plan_id, table.c.status.in_([s.value for s in statuses]))
        .subquery()
    )
    session.execute(
        sa.update(table)
        .where(table.c.id == ranked.c.id, table.c.position != ranked.c.rn)
        .values(position=ranked.c.rn),
        execution_options={"synchronize_session": False},
    )
    # Cards this session holds reload their position when next read, so a later placement in
    # the same session does not use a stale one. (Returning every shifted row instead would
    # cost a fetch of the whole column on each move.)
    for held in list(session.identity_map.values()):
        if isinstance(held, Task) and held.status in statuses:
            session.expire(held, ["position"])


def _place(
    session: Session, *, task: Task, after: Task | Missing | None, to_status: TaskStatus
) -> None:
    """Put `task` into `to_status` right after `after` (top when None) and renumber. A card
    that is gone or now in another column (`MISSING`, or a stale drop) appends at the end."""
    old_status = TaskStatus(task.status)
    task.status = to_status
    if to_status not in BOARD_STATUSES or after is None:
        task.position = 0
    elif isinstance(after, Task) and after.status == to_status and after.plan_id == task.plan_id:
        task.position = after.position
    else:
        task.position = END_OF_COLUMN
    if old_status == to_status:
        touch(session, task)  # a reorder writes no event, but the column's order changed
    session.add(task)
    session.flush()
    _renumber(session, task=task, statuses={old_status, to_status})


# --- writing ---------------------------------------------------------------------------


@retry_write
def create_task(session: Session, *, actor: User, plan_id: int, data: TaskCreate) -> Task:
    """A new task at the top of Belum Dimulai, with the next code of the plan (T-001, …)."""
    permissions.ensure_team(actor)
    plan = get_plan(session, plan_id=plan_id)
    lock_plan_for_writes(session, plan.id)  # type: ignore[arg-type]
    _check_refs(
        session,
        plan=plan,
        lead_unit_id=data.lead_unit_id,
        district_id=data.district_id,
        supporting_unit_ids=data.supporting_unit_ids,
        program_ids=data.program_ids,
        due_date=data.due_date,
    )
    code = next_task_code(session, plan=plan)
    task = Task(
        plan_id=plan.id,  # type: ignore[arg-type]
        code=code,
        title=data.title,
        description=data.description,
        lead_unit_id=data.lead_unit_id,
        district_id=data.district_id,
        village=data.village,
        due_date=data.due_date,
        weight=data.weight,
        target=data.target,
        needs_decision=data.needs_decision,
        status=TaskStatus.todo,
        position=0,
        version=1,
    )
    session.add(task)
    session.flush()
    _set_links(
        session,
        task_id=task.id,  # type: ignore[arg-type]
        supporting_unit_ids=[u for u in data.supporting_unit_ids if u != data.lead_unit_id],
        program_ids=data.program_ids,
    )
    _renumber(session, task=task, statuses={TaskStatus.todo})
    _record(
        session,
        task,
        actor=actor,
        kind=EventKind.created,
        to_status=TaskStatus.todo,
        bump_version=False,
        changes={
            k: [None, _jsonable(v)]
            for k, v in data.model_dump().items()
            if v not in (None, "", [], False)
        },
    )
    session.commit()
    return task


def next_task_code(session: Session, *, plan: Plan) -> str:
    """Hand out the plan's next T-NNN code (skipping any taken by an import)."""
    while True:
        code = f"T-{plan.next_task_number:03d}"
        plan.next_task_number += 1
        session.add(plan)
        taken = session.exec(
            select(Task.id).where(Task.plan_id == plan.id, Task.code == code)
        ).first()
        if taken is None:
            return code


def _set_links(
    session: Session,
    *,
    task_id: int,
    supporting_unit_ids: Sequence[int] | None,
    program_ids: Sequence[int] | None,
) -> None:
    if supporting_unit_ids is not None:
        session.execute(
            sa.delete(TaskSupportingUnit).where(col(TaskSupportingUnit.task_id) == task_id)
        )
        session.add_all(
            TaskSupportingUnit(task_id=task_id, unit_id=u)
            for u in dict.fromkeys(supporting_unit_ids)
        )
    if program_ids is not None:
        session.execute(sa.delete(TaskProgram).where(col(TaskProgram.task_id) == task_id))
        session.add_all(
            TaskProgram(task_id=task_id, program_id=p) for p in dict.fromkeys(program_ids)
        )


@retry_write
def update_task(session: Session, *, actor: User, task_id: int, data: TaskUpdate) -> Task:
    """Edit the task's fields (team only). Changing the lead unit is recorded as `assigned`."""
    permissions.ensure_team(actor)
    task = _load_for_write(session, task_id=task_id)
    _check_version(session, task, data.version)
    if task.status == TaskStatus.cancelled:
        raise RuleViolation("Tugas yang dibatalkan tidak dapat diubah; pulihkan dulu.")
    given = data.model_dump(exclude_unset=True, exclude={"version"})
    plan = get_plan(session, plan_id=task.plan_id)
    _check_refs(
        session,
        plan=plan,
        lead_unit_id=given.get("lead_unit_id"),
        district_id=given.get("district_id"),
        supporting_unit_ids=given.get("supporting_unit_ids"),
        program_ids=given.get("program_ids"),
        due_date=given.get("due_date"),
    )
    for required in ("title", "lead_unit_id", "weight"):
        if required in given and given[required] is None:
            raise RuleViolation("Kolom ini wajib diisi.", field=required)
    links = link_ids(session, task_ids=[task_id])[task_id]
    current: dict[str, Any] = {
        "supporting_unit_ids": sorted(links[0]),
        "program_ids": sorted(links[1]),
    }
    # The lead unit is never also a supporting unit (as in create_task).
    lead = given.get("lead_unit_id", task.lead_unit_id)
    supporting = given.get("supporting_unit_ids", current["supporting_unit_ids"])
    if lead in supporting:
        given["supporting_unit_ids"] = [u for u in supporting if u != lead]
    changes: dict[str, Any] = {}
    for name, value in given.items():
        old = current[name] if name in current else getattr(task, name)
        if _jsonable(old) != _jsonable(value):
            changes[name] = [_jsonable(old), _jsonable(value)]
    if not changes:
        return task
    for name in changes:
        if name not in current:
            setattr(task, name, given[name])
    if "supporting_unit_ids" in changes or "program_ids" in changes:
        _set_links(
            session,
            task_id=task_id,
            supporting_unit_ids=given.get("supporting_unit_ids")
            if "supporting_unit_ids" in changes
            else None,
            program_ids=given.get("program_ids") if "program_ids" in changes else None,
        )
    kind = EventKind.assigned if "lead_unit_id" in changes else EventKind.edited
    _record(session, task, actor=actor, kind=kind, changes=changes)
    session.commit()
    return task


@retry_write
def move_task(session: Session, *, actor: User, task_id: int, move: TaskMove) -> Task:
    """Move a card to a column (and place it after `move.after_id`).

    Into Terkendala needs a reason; into Menunggu Verifikasi needs evidence or a note saying
    why there is none; into Selesai is verification (team only); the team sending
    a task back out of Menunggu Verifikasi is a rejection and needs a note. Reordering within
    a column keeps the version check but writes no event.
    """
    task = _load_for_write(session, task_id=task_id)
    after: Task | Missing | None = None
    if move.after_id is not None and move.after_id != task_id:
        after = session.get(Task, move.after_id) or MISSING
    from_status = TaskStatus(task.status)
    to_status = move.status
    if to_status == TaskStatus.cancelled:
        raise RuleViolation("Gunakan Batalkan untuk membatalkan tugas.", field="status")
    permissions.ensure_can_move(actor, task, to_status)
    _check_version(session, task, move.version)

    if from_status == to_status:
        _place(session, task=task, after=after, to_status=to_status)
        session.commit()
        return task

    note = move.note.strip()
    reason = move.blocked_reason.strip()
    # Every refusal comes before the first change, so a refused move leaves nothing pending.
    if to_status == TaskStatus.blocked and not reason:
        raise RuleViolation(
            "Alasan kendala wajib diisi saat memindahkan tugas ke Terkendala.",
            field="blocked_reason",
        )
    if to_status == TaskStatus.review and not note and not has_evidence(session, task_id=task_id):
        raise RuleViolation(EVIDENCE_OR_NOTE_MESSAGE, field="note")
    # The team sending reported work back is a rejection, and it needs a reason.
    rejection = (
        from_status == TaskStatus.review
        and to_status != TaskStatus.done
        and not permissions.leads(actor, task)
    )
    if rejection and not note:
        raise RuleViolation(
            "Tuliskan catatan penolakan: apa yang perlu diperbaiki oleh penanggung jawab.",
            field="note",
        )
    kind = EventKind.rejected if rejection else EventKind.moved
    changes: dict[str, Any] = {"status": [from_status.value, to_status.value]}
    if to_status == TaskStatus.blocked:
        changes["blocked_reason"] = [task.blocked_reason, reason]
        task.blocked_reason = reason
    elif task.blocked_reason:
        changes["blocked_reason"] = [task.blocked_reason, ""]
        task.blocked_reason = ""
    if to_status == TaskStatus.done:
        kind = EventKind.verified
        task.done_at = utcnow()
        if task.progress_pct != 100:
            changes["progress_pct"] = [task.progress_pct, 100]
            task.progress_pct = 100
    elif from_status == TaskStatus.done:
        task.done_at = None
    # Recorded before placing, so the new status, position and version go in one UPDATE.
    _record(
        session,
        task,
        actor=actor,
        kind=kind,
        changes=changes,
        note=reason if to_status == TaskStatus.blocked and not note else note,
        from_status=from_status,
        to_status=to_status,
    )
    _place(session, task=task, after=after, to_status=to_status)
    session.commit()
    return task


@retry_write
def update_progress(session: Session, *, actor: User, task_id: int, data: ProgressUpdate) -> Task:
    """Progress (0–100 %) and realisation against the target, by the lead unit or the team."""
    task = _load_for_write(session, task_id=task_id)
    permissions.ensure_can_work_on(actor, task)
    _check_version(session, task, data.version)
    if task.status in (TaskStatus.done, TaskStatus.cancelled):
        label = STATUS_LABELS[TaskStatus(task.status)]
        raise RuleViolation(
            f"Tugas berstatus {label}; capaian tidak dapat diubah.",
            field="progress_pct",
        )
    realisation = data.realisation.strip()
    changes: dict[str, Any] = {}
    if task.progress_pct != data.progress_pct:
        changes["progress_pct"] = [task.progress_pct, data.progress_pct]
        task.progress_pct = data.progress_pct
    if task.realisation != realisation:
        changes["realisation"] = [task.realisation, realisation]
        task.realisation = realisation
    if not changes and not data.note.strip():
        return task
    _record(
        session,
        task,
        actor=actor,
        kind=EventKind.progress,
        changes=changes,
        note=data.note.strip(),
    )
    session.commit()
    return task


@retry_write
def add_comment(session: Session, *, actor: User, task_id: int, note: str) -> Task:
    """A working note (catatan / tindak lanjut) by the lead unit or the team."""
    task = _load_for_write(session, task_id=task_id)
    permissions.ensure_can_work_on(actor, task)
    _require_note(note)
    _record(session, task, actor=actor, kind=EventKind.comment, note=note.strip())
    session.commit()
    return task


@retry_write
def add_directive(session: Session, *, actor: User, task_id: int, note: str) -> Task:
    """The Bupati's directive (arahan) on a task."""
    task = _load_for_write(session, task_id=task_id)
    permissions.ensure_can_direct(actor)
    _require_note(note)
    _record(session, task, actor=actor, kind=EventKind.directive, note=note.strip())
    session.commit()
    return task


def _require_note(note: str) -> None:
    if not note.strip():
        raise RuleViolation("Catatan tidak boleh kosong.", field="note")


@retry_write
def verify_task(
    session: Session, *, actor: User, task_id: int, version: int, note: str = ""
) -> Task:
    """Menunggu Verifikasi → Selesai, by the team."""
    task = get_task(session, task_id=task_id)
    if task.status != TaskStatus.review:
        permissions.ensure_team(actor)
        raise RuleViolation("Hanya tugas yang Menunggu Verifikasi yang dapat diverifikasi.")
    return move_task(
        session,
        actor=actor,
        task_id=task_id,
        move=TaskMove(version=version, status=TaskStatus.done, note=note),
    )


@retry_write
def reject_task(session: Session, *, actor: User, task_id: int, version: int, note: str) -> Task:
    """Menunggu Verifikasi → Sedang Berjalan with a required note, by the team."""
    task = get_task(session, task_id=task_id)
    permissions.ensure_team(actor)
    if task.status != TaskStatus.review:
        raise RuleViolation("Hanya tugas yang Menunggu Verifikasi yang dapat ditolak.")
    if not note.strip():
        raise RuleViolation(
            "Tuliskan catatan penolakan: apa yang perlu diperbaiki oleh penanggung jawab.",
            field="note",
        )
    return move_task(
        session,
        actor=actor,
        task_id=task_id,
        move=TaskMove(version=version, status=TaskStatus.in_progress, note=note),
    )


@retry_write
def cancel_task(session: Session, *, actor: User, task_id: int, version: int, note: str) -> Task:
    """Take a task off the board and out of the scope (team only); it stays in history."""
    task = _load_for_write(session, task_id=task_id)
    permissions.ensure_team(actor)
    _check_version(session, task, version)
    if task.status == TaskStatus.cancelled:
        raise RuleViolation("Tugas ini sudah dibatalkan.")
    if not note.strip():
        raise RuleViolation("Tuliskan alasan pembatalan.", field="note")
    from_status = TaskStatus(task.status)
    _place(session, task=task, after=None, to_status=TaskStatus.cancelled)
    task.done_at = None
    _record(
        session,
        task,
        actor=actor,
        kind=EventKind.cancelled,
        changes={"status": [from_status.value, TaskStatus.cancelled.value]},
        note=note.strip(),
        from_status=from_status,
        to_status=TaskStatus.cancelled,
    )
    session.commit()
    return task


@retry_write
def restore_task(session: Session, *, actor: User, task_id: int, version: int) -> Task:
    """Bring a cancelled task back to the top of Belum Dimulai (team only)."""
    task = _load_for_write(session, task_id=task_id)
    permissions.ensure_team(actor)
    _check_version(session, task, version)
    if task.status != TaskStatus.cancelled:
        raise RuleViolation("Hanya tugas yang dibatalkan yang dapat dipulihkan.")
    _place(session, task=task, after=None, to_status=TaskStatus.todo)
    _record(
        session,
        task,
        actor=actor,
        kind=EventKind.moved,
        changes={"status": [TaskStatus.cancelled.value, TaskStatus.todo.value]},
        from_status=TaskStatus.cancelled,
        to_status=TaskStatus.todo,
    )
    session.commit()
    return task
