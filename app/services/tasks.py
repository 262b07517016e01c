"""Tasks, the write side: create, edit, move, progress, notes, directives, verify, reject,
cancel, restore.

Every public function is one transaction: load the task for writing and check its version
(`history`), apply the rules and side effects (`workflow`), place the card (`positions`),
record exactly one `task_event` (`history.record_event`), then commit.
"""

from collections.abc import Sequence
from datetime import date
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlmodel import Session, col, select

from app import permissions
from app.db import retry_write
from app.errors import RuleViolation
from app.models import (
    EventKind,
    Plan,
    Program,
    ProgressUpdate,
    Task,
    TaskCreate,
    TaskMove,
    TaskProgram,
    TaskStatus,
    TaskSupportingUnit,
    TaskUpdate,
    Unit,
    UnitKind,
    User,
)
from app.services import positions, workflow
from app.services.change_seq import touch
from app.services.history import ensure_version, jsonable, load_for_write, record_event
from app.services.labels import STATUS_LABELS
from app.services.plans import get_plan, lock_plan_for_writes, plan_calendar
from app.services.positions import MISSING, Missing
from app.services.task_reads import get_task, link_ids
from app.timefmt import format_day_date

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


# --- writing ---------------------------------------------------------------------------


@retry_write
def create_task(session: Session, *, actor: User, plan_id: int, data: TaskCreate) -> Task:
    """A new task at the top of Belum Dimulai, with the next code of the plan (T-001, …)."""
    permissions.ensure_team(actor)
    plan = get_plan(session, plan_id=plan_id)
    lock_plan_for_writes(session, plan.pk)
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
        plan_id=plan.pk,
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
    set_links(
        session,
        task_id=task.pk,
        supporting_unit_ids=[u for u in data.supporting_unit_ids if u != data.lead_unit_id],
        program_ids=data.program_ids,
    )
    positions.place(session, task=task, after=None, from_status=TaskStatus.todo)
    record_event(
        session,
        task,
        actor=actor,
        kind=EventKind.created,
        to_status=TaskStatus.todo,
        bump_version=False,
        changes={
            k: [None, jsonable(v)]
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


def set_links(
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
    task = load_for_write(session, task_id=task_id)
    ensure_version(session, task, data.version)
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
        if jsonable(old) != jsonable(value):
            changes[name] = [jsonable(old), jsonable(value)]
    if not changes:
        return task
    for name in changes:
        if name not in current:
            setattr(task, name, given[name])
    if "supporting_unit_ids" in changes or "program_ids" in changes:
        set_links(
            session,
            task_id=task_id,
            supporting_unit_ids=given.get("supporting_unit_ids")
            if "supporting_unit_ids" in changes
            else None,
            program_ids=given.get("program_ids") if "program_ids" in changes else None,
        )
    kind = EventKind.assigned if "lead_unit_id" in changes else EventKind.edited
    record_event(session, task, actor=actor, kind=kind, changes=changes)
    session.commit()
    return task


def move_task(session: Session, *, actor: User, task_id: int, move: TaskMove) -> Task:
    """Move a card to a column (and place it after `move.after_id`): `move_card`."""
    return move_card(session, actor=actor, task_id=task_id, move=move).task


class Moved(NamedTuple):
    task: Task
    from_status: TaskStatus


@retry_write
def move_card(session: Session, *, actor: User, task_id: int, move: TaskMove) -> Moved:
    """Move a card to a column (and place it after `move.after_id`); the card and the column
    it left (the board refreshes only that column's header and the new one's).

    The rules and side effects are `workflow`'s (reason into Terkendala, evidence or a note
    into Menunggu Verifikasi, verification into Selesai by the team, a note for a rejection).
    Reordering within a column keeps the version check but writes no event.
    """
    task = load_for_write(session, task_id=task_id)
    after: Task | Missing | None = None
    if move.after_id is not None and move.after_id != task_id:
        after = session.get(Task, move.after_id) or MISSING
    from_status = TaskStatus(task.status)
    to_status = move.status
    workflow.ensure_not_cancelling(to_status)
    permissions.ensure_can_move(actor, task, to_status)
    ensure_version(session, task, move.version)

    if from_status == to_status:
        positions.place(session, task=task, after=after, from_status=from_status)
        touch(session, task)  # a reorder writes no event, but the column's order changed
        session.commit()
        return Moved(task, from_status)

    note = move.note.strip()
    reason = move.blocked_reason.strip()
    kind = workflow.check_status_change(
        session, actor=actor, task=task, to_status=to_status, note=note, reason=reason
    )
    changes = workflow.apply_status_change(task, to_status=to_status, reason=reason)
    positions.place(session, task=task, after=after, from_status=from_status)
    record_event(
        session,
        task,
        actor=actor,
        kind=kind,
        changes=changes,
        note=reason if to_status == TaskStatus.blocked and not note else note,
        from_status=from_status,
        to_status=to_status,
    )
    session.commit()
    return Moved(task, from_status)


@retry_write
def update_progress(session: Session, *, actor: User, task_id: int, data: ProgressUpdate) -> Task:
    """Progress (0–100 %) and realisation against the target, by the lead unit or the team."""
    task = load_for_write(session, task_id=task_id)
    permissions.ensure_can_work_on(actor, task)
    ensure_version(session, task, data.version)
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
    record_event(
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
    task = load_for_write(session, task_id=task_id)
    permissions.ensure_can_work_on(actor, task)
    _require_note(note)
    record_event(session, task, actor=actor, kind=EventKind.comment, note=note.strip())
    session.commit()
    return task


@retry_write
def add_directive(session: Session, *, actor: User, task_id: int, note: str) -> Task:
    """The Bupati's directive (arahan) on a task."""
    task = load_for_write(session, task_id=task_id)
    permissions.ensure_can_direct(actor)
    _require_note(note)
    record_event(session, task, actor=actor, kind=EventKind.directive, note=note.strip())
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
        raise RuleViolation(workflow.REJECTION_NOTE_MESSAGE, field="note")
    return move_task(
        session,
        actor=actor,
        task_id=task_id,
        move=TaskMove(version=version, status=TaskStatus.in_progress, note=note),
    )


@retry_write
def cancel_task(session: Session, *, actor: User, task_id: int, version: int, note: str) -> Task:
    """Take a task off the board and out of the scope (team only); it stays in history."""
    task = load_for_write(session, task_id=task_id)
    permissions.ensure_team(actor)
    ensure_version(session, task, version)
    if task.status == TaskStatus.cancelled:
        raise RuleViolation("Tugas ini sudah dibatalkan.")
    if not note.strip():
        raise RuleViolation("Tuliskan alasan pembatalan.", field="note")
    _change_status(session, actor=actor, task=task, to_status=TaskStatus.cancelled, note=note)
    session.commit()
    return task


@retry_write
def restore_task(session: Session, *, actor: User, task_id: int, version: int) -> Task:
    """Bring a cancelled task back to the top of Belum Dimulai (team only)."""
    task = load_for_write(session, task_id=task_id)
    permissions.ensure_team(actor)
    ensure_version(session, task, version)
    if task.status != TaskStatus.cancelled:
        raise RuleViolation("Hanya tugas yang dibatalkan yang dapat dipulihkan.")
    _change_status(session, actor=actor, task=task, to_status=TaskStatus.todo, note="")
    session.commit()
    return task


def _change_status(
    session: Session, *, actor: User, task: Task, to_status: TaskStatus, note: str
) -> None:
    """Cancel or restore: the status and its side effects, the card on top, the event."""
    from_status = TaskStatus(task.status)
    kind = EventKind.cancelled if to_status == TaskStatus.cancelled else EventKind.moved
    changes = workflow.apply_status_change(task, to_status=to_status)
    positions.place(session, task=task, after=None, from_status=from_status)
    record_event(
        session,
        task,
        actor=actor,
        kind=kind,
        changes=changes,
        note=note.strip(),
        from_status=from_status,
        to_status=to_status,
    )
