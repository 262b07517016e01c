"""Importing tasks from a spreadsheet: first a dry run (what would be created, updated and left
unchanged, and every problem by row and column), then the same plan applied all or nothing.

A row updates the task with its code; without a code, the task with exactly the same title
(spacing and case aside), else it creates a task. Columns missing from the file leave those
fields alone; an empty cell clears an optional field. The apply re-plans inside the write
lock against the tasks as they are then, and writes one `imported` event per changed task
(two when the status changes too: the fields, then the status, so the burndown reads the
status change as it reads a move).
"""

import difflib
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from sqlmodel import Session, select

from app import permissions
from app.errors import RuleViolation
from app.models import (
    EventKind,
    Plan,
    Program,
    Task,
    TaskProgram,
    TaskStatus,
    TaskSupportingUnit,
    Unit,
    UnitKind,
    User,
)
from app.services import history, workflow
from app.services.history import jsonable, record_event
from app.services.import_cells import (
    IMPORT_STATUSES,
    CellError,
    Names,
    cell_date,
    cell_status,
    cell_text,
    cell_weight,
    find_many,
    find_one,
    name_key,
    needs_reason,
    unit_keys,
)
from app.services.labels import STATUS_LABELS
from app.services.plans import get_plan, lock_plan_for_writes, plan_calendar
from app.services.positions import END_OF_COLUMN, renumber
from app.services.spreadsheet import (
    INFO_COLUMNS,
    TASK_COLUMNS,
    Cell,
    Sheet,
    normalise_header,
)
from app.services.task_reads import evidence_counts, link_ids
from app.services.tasks import next_task_code, set_links
from app.timefmt import format_day_date

Action = Literal["create", "update", "unchanged"]

CODE_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9._/-]*$")
REQUIRED_KEYS = ("title", "lead_unit")
HEADER_LABEL = "judul kolom"
# Fields compared to decide whether a row changes its task, in the order of the columns.
FIELDS = (
    "title",
    "description",
    "lead_unit_id",
    "supporting_unit_ids",
    "program_ids",
    "district_id",
    "village",
    "due_date",
    "weight",
    "target",
)
HEADERS = {c.key: c.header for c in TASK_COLUMNS}
REVIEW_NEEDS_EVIDENCE = (
    "status Menunggu Verifikasi memerlukan bukti dukung; lampirkan bukti dukung di halaman "
    "tugas lalu kirim tugas lewat papan atau halaman tugasnya."
)


@dataclass
class Issue:
    row: int
    column: str
    message: str

    @property
    def text(self) -> str:
        return f"Baris {self.row}, kolom {self.column}: {self.message}"


@dataclass
class RowPlan:
    row: int
    action: Action
    code: str
    title: str
    task_id: int | None = None
    # Field → new value, for the columns the file has (ids for units and programs).
    values: dict[str, Any] = field(default_factory=dict)
    # For an update: field → [old, new] as recorded in the event.
    changes: dict[str, list[Any]] = field(default_factory=dict)
    status: TaskStatus | None = None
    from_status: TaskStatus | None = None


FIELD_LABELS = {
    "title": "Judul",
    "description": "Uraian",
    "lead_unit_id": "Perangkat Daerah",
    "supporting_unit_ids": "Perangkat Daerah Pendukung",
    "program_ids": "Program",
    "district_id": "Kecamatan",
    "village": "Desa/Kelurahan",
    "due_date": "Tenggat",
    "weight": "Bobot",
    "target": "Target",
}
# A preview shows this much of a long old or new value.
PREVIEW_TEXT_MAX = 80


@dataclass(frozen=True)
class ChangeLine:
    label: str
    old: str
    new: str


@dataclass
class ImportPlan:
    filename: str
    rows: list[RowPlan] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    applied: bool = False
    # Names for the ids in the changes, for the preview.
    unit_names: dict[int, str] = field(default_factory=dict)
    program_names: dict[int, str] = field(default_factory=dict)

    def change_lines(self, row: RowPlan) -> list[ChangeLine]:
        """An update's changes as the preview shows them: label, old and new value."""
        lines = [
            ChangeLine(FIELD_LABELS.get(name, name), self._show(name, old), self._show(name, new))
            for name, (old, new) in row.changes.items()
        ]
        if row.status is not None and row.from_status is not None:
            lines.append(
                ChangeLine("Status", STATUS_LABELS[row.from_status], STATUS_LABELS[row.status])
            )
        return lines

    def _show(self, name: str, value: Any) -> str:
        if value is None or value == "" or value == []:
            return "(kosong)"
        if name in ("lead_unit_id", "district_id"):
            return self.unit_names.get(value, str(value))
        if name == "supporting_unit_ids":
            return "; ".join(self.unit_names.get(v, str(v)) for v in value)
        if name == "program_ids":
            return "; ".join(self.program_names.get(v, str(v)) for v in value)
        if name == "due_date":
            return format_day_date(date.fromisoformat(value))
        text = str(value)
        return text if len(text) <= PREVIEW_TEXT_MAX else text[: PREVIEW_TEXT_MAX - 1] + "…"

    @property
    def ok(self) -> bool:
        return not self.issues

    def of(self, action: Action) -> list[RowPlan]:
        return [r for r in self.rows if r.action == action]

    @property
    def created(self) -> list[RowPlan]:
        return self.of("create")

    @property
    def updated(self) -> list[RowPlan]:
        return self.of("update")

    @property
    def unchanged(self) -> list[RowPlan]:
        return self.of("unchanged")


class ImportHasIssues(RuleViolation):
    """The file has problems; nothing was written. `plan` lists them."""

    def __init__(self, plan: ImportPlan) -> None:
        count = len(plan.issues)
        super().__init__(
            f"Impor dibatalkan: berkas memuat {count} masalah. Tidak ada yang disimpan; "
            "perbaiki lalu unggah lagi."
        )
        self.plan = plan


@dataclass
class _Context:
    plan: Plan
    units: Names
    active_unit_ids: set[int]
    districts: Names
    programs: Names
    tasks_by_code: dict[str, Task]
    tasks_by_title: dict[str, list[Task]]
    links: dict[int, tuple[list[int], list[int]]]
    # Tasks with evidence that was not removed: only they may be sent for verification here.
    with_evidence: set[int]
    start: date
    end: date


def _context(session: Session, plan: Plan) -> _Context:
    """Everything a plan needs from the database, in a fixed number of queries."""
    units = session.exec(select(Unit)).all()
    programs = session.exec(select(Program)).all()
    tasks = session.exec(select(Task).where(Task.plan_id == plan.id)).all()
    calendar = plan_calendar(session, plan)
    task_ids = [t.pk for t in tasks]
    by_title: dict[str, list[Task]] = {}
    for task in tasks:
        by_title.setdefault(name_key(task.title), []).append(task)
    return _Context(
        plan=plan,
        units=Names((u.pk, u.short_name, unit_keys(u)) for u in units),
        active_unit_ids={u.pk for u in units if u.is_active},
        districts=Names(
            (u.pk, u.short_name, unit_keys(u)) for u in units if u.kind == UnitKind.district
        ),
        programs=Names((p.pk, p.short_name, [p.code, p.name, p.short_name]) for p in programs),
        tasks_by_code={t.code.upper(): t for t in tasks},
        tasks_by_title=by_title,
        links=link_ids(session, task_ids=task_ids),
        with_evidence=set(evidence_counts(session, task_ids)),
        start=calendar.start_date,
        end=calendar.end_date,
    )


# --- planning ----------------------------------------------------------------------------


def _columns(sheet: Sheet, result: ImportPlan) -> dict[str, int]:
    """{column key: index in the row}; unknown, doubled or missing headers are issues."""
    by_header = {normalise_header(c.header): c.key for c in TASK_COLUMNS}
    info = {normalise_header(c.header) for c in INFO_COLUMNS}
    found: dict[str, int] = {}
    for index, header in enumerate(sheet.headers):
        name = normalise_header(header)
        if not name:
            continue
        key = by_header.get(name)
        if key is None:
            if name in info:
                result.ignored_columns.append(header)
                continue
            close = difflib.get_close_matches(name, list(by_header), n=1)
            hint = f" — maksud Anda '{HEADERS[by_header[close[0]]]}'?" if close else ""
            result.issues.append(
                Issue(sheet.header_row, header, f"judul kolom tidak dikenal{hint}")
            )
        elif key in found:
            result.issues.append(Issue(sheet.header_row, header, "kolom ini muncul dua kali."))
        else:
            found[key] = index
    for key in REQUIRED_KEYS:
        if key not in found:
            result.issues.append(
                Issue(sheet.header_row, HEADER_LABEL, f"kolom wajib '{HEADERS[key]}' tidak ada.")
            )
    return found


def ensure_can_import(user: User) -> None:
    """Importing creates and edits tasks: the team's right (DESIGN §1)."""
    permissions.ensure_team(user)


def plan_import(
    session: Session, *, actor: User, plan_id: int, sheet: Sheet, filename: str
) -> ImportPlan:
    """The dry run: what importing `sheet` into the plan would do. Writes nothing."""
    ensure_can_import(actor)
    plan = get_plan(session, plan_id=plan_id)
    return _plan(session, plan=plan, sheet=sheet, filename=filename)


def _plan(session: Session, *, plan: Plan, sheet: Sheet, filename: str) -> ImportPlan:
    result = ImportPlan(filename=filename)
    columns = _columns(sheet, result)
    if result.issues:
        return result
    ctx = _context(session, plan)
    result.unit_names = ctx.units.display
    result.program_names = ctx.programs.display
    seen_codes: dict[str, int] = {}
    seen_tasks: dict[int, int] = {}
    seen_titles: dict[str, int] = {}
    for number, cells in sheet.rows:
        row = _plan_row(number, cells, columns, ctx, result)
        if row is None:
            continue
        if row.code:
            earlier = seen_codes.setdefault(row.code, number)
            if earlier != number:
                result.issues.append(
                    Issue(
                        number,
                        HEADERS["code"],
                        f"kode {row.code} sudah dipakai di baris {earlier}.",
                    )
                )
                continue
        if row.task_id is not None:
            earlier = seen_tasks.setdefault(row.task_id, number)
            if earlier != number:
                result.issues.append(
                    Issue(
                        number,
                        HEADERS["code"],
                        f"tugas {row.code} sudah diubah di baris {earlier}.",
                    )
                )
                continue
        elif not row.code:
            title_key = name_key(row.title)
            earlier = seen_titles.setdefault(title_key, number)
            if earlier != number:
                result.issues.append(
                    Issue(
                        number,
                        HEADERS["title"],
                        f"judul sama dengan baris {earlier}; beri kode berbeda agar keduanya "
                        "dapat dibedakan.",
                    )
                )
                continue
        result.rows.append(row)
    return result


def _plan_row(
    number: int, cells: list[Cell], columns: dict[str, int], ctx: _Context, result: ImportPlan
) -> RowPlan | None:
    raw = {key: cells[index] if index < len(cells) else None for key, index in columns.items()}
    values: dict[str, Any] = {}
    status: TaskStatus | None = None
    code = ""
    failed = False

    def fail(key: str, message: str) -> None:
        nonlocal failed
        failed = True
        result.issues.append(Issue(number, HEADERS[key], message))

    for key, cell in raw.items():
        try:
            if key == "code":
                code = cell_text(cell, key).upper()
                if code and not CODE_PATTERN.match(code):
                    raise CellError(
                        f"'{code}' bukan kode tugas: gunakan huruf, angka dan tanda - . / _ "
                        "(misalnya T-001)."
                    )
            elif key in ("title", "description", "village", "target"):
                values[key] = cell_text(cell, key)
            elif key == "lead_unit":
                text = cell_text(cell, key)
                if text:
                    unit_id = find_one(ctx.units, text)
                    if unit_id not in ctx.active_unit_ids:
                        raise CellError(f"'{text}' sudah tidak aktif; pilih penanggung jawab lain.")
                    values["lead_unit_id"] = unit_id
                else:
                    values["lead_unit_id"] = None
            elif key == "supporting_units":
                values["supporting_unit_ids"] = find_many(ctx.units, cell_text(cell, key))
            elif key == "programs":
                values["program_ids"] = find_many(ctx.programs, cell_text(cell, key))
            elif key == "district":
                text = cell_text(cell, key)
                values["district_id"] = find_one(ctx.districts, text) if text else None
            elif key == "due_date":
                values["due_date"] = cell_date(cell, ctx.start, ctx.end)
            elif key == "weight":
                values["weight"] = cell_weight(cell)
            elif key == "status":
                status = cell_status(cell)
        except CellError as exc:
            fail(key, str(exc))
    if failed:
        return None
    title = values.get("title", "")
    if "title" in values and len(title) < 3:
        fail(
            "title",
            "wajib diisi, paling sedikit 3 karakter."
            if not title
            else f"'{title}' terlalu pendek; paling sedikit 3 karakter.",
        )
    if "lead_unit_id" in values and values["lead_unit_id"] is None:
        fail("lead_unit", "wajib diisi: perangkat daerah penanggung jawab.")
    if failed:
        return None

    task = ctx.tasks_by_code.get(code) if code else None
    if task is None and not code:
        same_title = ctx.tasks_by_title.get(name_key(title), [])
        task = same_title[0] if len(same_title) == 1 else None
    if "supporting_unit_ids" in values:
        lead = values.get("lead_unit_id", task.lead_unit_id if task else None)
        values["supporting_unit_ids"] = [u for u in values["supporting_unit_ids"] if u != lead]
    if task is None:
        if status is not None and status not in IMPORT_STATUSES:
            fail("status", needs_reason(status))
            return None
        if status == TaskStatus.review:
            # As on the board: Menunggu Verifikasi needs evidence, which a new task cannot have.
            fail("status", REVIEW_NEEDS_EVIDENCE)
            return None
        return RowPlan(
            row=number,
            action="create",
            code=code,
            title=title,
            values=values,
            status=status or TaskStatus.todo,
        )
    return _update_row(number, task, values, status, ctx, result)


def _update_row(
    number: int,
    task: Task,
    values: dict[str, Any],
    status: TaskStatus | None,
    ctx: _Context,
    result: ImportPlan,
) -> RowPlan | None:
    supporting, programs = ctx.links.get(task.pk, ([], []))
    current = {
        "supporting_unit_ids": sorted(supporting),
        "program_ids": sorted(programs),
    }
    if "lead_unit_id" in values and "supporting_unit_ids" not in values:
        # As in update_task: a new lead unit stops being one of the supporting units.
        kept = [u for u in current["supporting_unit_ids"] if u != values["lead_unit_id"]]
        if kept != current["supporting_unit_ids"]:
            values["supporting_unit_ids"] = kept
    changes: dict[str, list[Any]] = {}
    for name in FIELDS:
        if name not in values:
            continue
        old = current[name] if name in current else getattr(task, name)
        if jsonable(old) != jsonable(values[name]):
            changes[name] = [jsonable(old), jsonable(values[name])]
    old_status = TaskStatus(task.status)
    moved = status is not None and status != old_status
    row = RowPlan(
        row=number,
        action="update" if changes or moved else "unchanged",
        code=task.code,
        title=values.get("title", task.title),
        task_id=task.id,
        values=values,
        changes=changes,
        status=status if moved else None,
        from_status=old_status if moved else None,
    )
    if moved and status not in IMPORT_STATUSES:
        result.issues.append(Issue(number, HEADERS["status"], needs_reason(status)))
        return None
    if moved and status == TaskStatus.review and task.id not in ctx.with_evidence:
        result.issues.append(Issue(number, HEADERS["status"], REVIEW_NEEDS_EVIDENCE))
        return None
    if row.action == "update" and old_status == TaskStatus.cancelled:
        result.issues.append(
            Issue(
                number,
                HEADERS["code"],
                f"tugas {task.code} sudah dibatalkan dan tidak dapat diubah; pulihkan dulu "
                "lewat halaman tugas.",
            )
        )
        return None
    return row


# --- applying ----------------------------------------------------------------------------


def apply_import(
    session: Session, *, actor: User, plan_id: int, sheet: Sheet, filename: str
) -> ImportPlan:
    """Import `sheet` in one transaction: everything, or (on any problem) nothing."""
    ensure_can_import(actor)
    plan = get_plan(session, plan_id=plan_id)
    lock_plan_for_writes(session, plan.pk)
    result = _plan(session, plan=plan, sheet=sheet, filename=filename)
    if result.issues:
        session.rollback()
        raise ImportHasIssues(result)
    note = f"Diimpor dari berkas {filename}"
    try:
        # One flush for every event; the listeners see the cards in their final places.
        with history.batch(session):
            _apply(session, actor=actor, plan=plan, result=result, note=note)
        result.applied = True
        session.commit()
    except Exception:
        session.rollback()
        raise
    return result


def _apply(session: Session, *, actor: User, plan: Plan, result: ImportPlan, note: str) -> None:
    touched: set[TaskStatus] = set()
    placed: list[Task] = []
    created = _create_all(session, actor=actor, plan=plan, rows=result.created, note=note)
    for order, row in enumerate(result.rows):
        if row.action == "create":
            task = created[row.row]
        elif row.action == "update":
            task = _update(session, actor=actor, row=row, note=note)
        else:
            continue
        if row.status is not None:
            # New and moved cards go to the end of their column, in the file's order.
            task.position = END_OF_COLUMN + order
            touched.add(row.status)
            if row.from_status is not None:
                touched.add(row.from_status)
            placed.append(task)
    if placed:
        session.flush()
        renumber(session, task=placed[0], statuses=touched)


def _create_all(
    session: Session, *, actor: User, plan: Plan, rows: list[RowPlan], note: str
) -> dict[int, Task]:
    """The new tasks, by row number. The codes the file gives are inserted first, so the
    plan's next code (`next_task_code`, which skips taken codes) never hands one out again;
    the rest are inserted together, then every link and event."""
    tasks: dict[int, Task] = {}
    side_effects: dict[int, dict[str, list[Any]]] = {}
    for row in (r for r in rows if r.code):
        tasks[row.row], side_effects[row.row] = _new_task(plan, row, row.code)
    session.add_all(tasks.values())
    session.flush()
    # Codes handed out here are new and increasing; the explicit ones are in the database.
    with session.no_autoflush:
        for row in (r for r in rows if not r.code):
            row.code = next_task_code(session, plan=plan)
            tasks[row.row], side_effects[row.row] = _new_task(plan, row, row.code)
            session.add(tasks[row.row])
    session.flush()
    for row in rows:
        task = tasks[row.row]
        row.task_id = task.id
        values = row.values
        # A new task has no links yet, so they are added rather than replaced (set_links).
        session.add_all(
            TaskSupportingUnit(task_id=task.pk, unit_id=u)
            for u in values.get("supporting_unit_ids", [])
        )
        session.add_all(
            TaskProgram(task_id=task.pk, program_id=p) for p in values.get("program_ids", [])
        )
        changes = {
            name: [None, jsonable(values[name])]
            for name in FIELDS
            if values.get(name) not in (None, "", [])
        }
        record_event(
            session,
            task,
            actor=actor,
            kind=EventKind.imported,
            to_status=task.status,
            changes={**changes, **side_effects[row.row]},
            note=note,
            bump_version=False,
        )
    return tasks


def _new_task(plan: Plan, row: RowPlan, code: str) -> tuple[Task, dict[str, list[Any]]]:
    """The new task, and the side effects of its status as creation changes."""
    values = row.values
    status = row.status or TaskStatus.todo
    task = Task(
        plan_id=plan.pk,
        code=code,
        title=values["title"],
        description=values.get("description", ""),
        lead_unit_id=values["lead_unit_id"],
        district_id=values.get("district_id"),
        village=values.get("village", ""),
        due_date=values.get("due_date"),
        weight=values.get("weight", 1),
        target=values.get("target", ""),
        status=TaskStatus.todo,
        position=END_OF_COLUMN,
        version=1,
    )
    # Created as Belum Dimulai, then put into its status with that status's side effects.
    side_effects = workflow.apply_status_change(task, to_status=status)
    return task, {k: [None, new] for k, (_old, new) in side_effects.items() if k != "status"}


def _update(session: Session, *, actor: User, row: RowPlan, note: str) -> Task:
    task = session.get(Task, row.task_id)
    assert task is not None  # planned inside this transaction, under the plan's lock
    if row.changes:
        for name in row.changes:
            if name not in ("supporting_unit_ids", "program_ids"):
                setattr(task, name, row.values[name])
        set_links(
            session,
            task_id=task.pk,
            supporting_unit_ids=row.values["supporting_unit_ids"]
            if "supporting_unit_ids" in row.changes
            else None,
            program_ids=row.values["program_ids"] if "program_ids" in row.changes else None,
        )
        record_event(
            session, task, actor=actor, kind=EventKind.imported, changes=row.changes, note=note
        )
    if row.status is not None and row.from_status is not None:
        changes = workflow.apply_status_change(task, to_status=row.status)
        record_event(
            session,
            task,
            actor=actor,
            kind=EventKind.imported,
            changes=changes,
            note=note,
            from_status=row.from_status,
            to_status=row.status,
        )
    return task
