"""Exporting tasks to .xlsx and .csv in the import template's columns (so an exported file,
edited and imported again, updates exactly the rows that were edited), with the read-only
columns after them and, for the full list, the history.

An export costs a fixed number of queries whatever the number of tasks: the tasks, their
links (two), all units, all programs, and the history in one join.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlmodel import Session, col, select

from app.models import BOARD_STATUSES, EventKind, Plan, Program, Task, TaskEvent, Unit, User
from app.services.filters import TaskFilter
from app.services.import_cells import IMPORT_STATUSES
from app.services.labels import STATUS_LABELS
from app.services.lateness import Lateness
from app.services.plans import plan_calendar
from app.services.spreadsheet import (
    HISTORY_HEADERS,
    INFO_COLUMNS,
    TASK_COLUMNS,
    ChoiceLists,
    write_csv,
    write_workbook,
)
from app.services.task_reads import link_ids
from app.timefmt import WIB

EVENT_LABELS: dict[EventKind, str] = {
    EventKind.created: "Dibuat",
    EventKind.moved: "Dipindahkan",
    EventKind.edited: "Diubah",
    EventKind.assigned: "Penanggung jawab dialihkan",
    EventKind.progress: "Capaian dilaporkan",
    EventKind.comment: "Catatan",
    EventKind.directive: "Arahan",
    EventKind.evidence: "Bukti dukung",
    EventKind.verified: "Diverifikasi",
    EventKind.rejected: "Ditolak",
    EventKind.cancelled: "Dibatalkan",
    EventKind.imported: "Diimpor",
    EventKind.follow_up: "Tindak lanjut arahan",
    EventKind.decision: "Keputusan",
}


@dataclass
class TaskTable:
    """The rows of an export: import columns, information columns, and (optionally) history."""

    rows: list[list[Any]]
    info: list[list[Any]]
    history: list[list[Any]] | None = None


def _labels(items: Sequence[tuple[int, str, str]]) -> dict[int, str]:
    """{id: short name}, or the code where two items share a short name (so an import of
    the export finds each one again)."""
    counts: dict[str, int] = {}
    for _, _, short in items:
        counts[short.lower()] = counts.get(short.lower(), 0) + 1
    return {i: short if counts[short.lower()] == 1 else code for i, code, short in items}


def _local(instant: datetime) -> datetime:
    return instant.astimezone(WIB).replace(tzinfo=None)


def task_table(
    session: Session,
    *,
    plan: Plan,
    filters: TaskFilter | None = None,
    board_only: bool = False,
    with_history: bool = False,
) -> TaskTable:
    """The plan's tasks (under `filters`; only the board's columns when `board_only`)."""
    query = select(Task).where(Task.plan_id == plan.id)
    if filters is not None:
        lateness = Lateness.now(plan_calendar(session, plan))
        query = query.where(*filters.conditions(lateness=lateness))
    if board_only:
        query = query.where(col(Task.status).in_(BOARD_STATUSES))
    tasks = list(session.exec(query.order_by(col(Task.id))).all())
    if board_only:
        order = {s: i for i, s in enumerate(BOARD_STATUSES)}
        tasks.sort(key=lambda t: (order[t.status], t.position, t.pk))
    links = link_ids(session, task_ids=[t.pk for t in tasks])
    units = _labels([(u.pk, u.code, u.short_name) for u in session.exec(select(Unit))])
    programs = _labels([(p.pk, p.code, p.short_name) for p in session.exec(select(Program))])
    rows: list[list[Any]] = []
    info: list[list[Any]] = []
    for task in tasks:
        supporting, program_ids = links.get(task.pk, ([], []))
        rows.append(
            [
                task.code,
                task.title,
                task.description,
                units.get(task.lead_unit_id, ""),
                "; ".join(sorted(units.get(u, "") for u in supporting)),
                "; ".join(sorted(programs.get(p, "") for p in program_ids)),
                units.get(task.district_id, "") if task.district_id else "",
                task.village,
                task.due_date,
                task.weight,
                task.target,
                STATUS_LABELS[task.status],
            ]
        )
        info.append(
            [
                task.progress_pct,
                task.realisation,
                "Ya" if task.needs_decision else "Tidak",
                _local(task.updated_at),
            ]
        )
    history = _history(session, tasks) if with_history else None
    return TaskTable(rows=rows, info=info, history=history)


def _history(session: Session, tasks: Sequence[Task]) -> list[list[Any]]:
    by_id = {t.id: t for t in tasks}
    if not by_id:
        return []
    plan_id = tasks[0].plan_id
    events = session.exec(
        select(TaskEvent, User.full_name)
        .join(User, col(User.id) == TaskEvent.actor_id, isouter=True)
        .where(TaskEvent.plan_id == plan_id)
        .order_by(col(TaskEvent.id))
    ).all()
    rows: list[list[Any]] = []
    for event, actor in events:
        task = by_id.get(event.task_id)
        if task is None:
            continue
        rows.append(
            [
                task.code,
                task.title,
                _local(event.at),
                actor or "Sistem",
                EVENT_LABELS.get(EventKind(event.kind), str(event.kind)),
                STATUS_LABELS[event.from_status] if event.from_status else "",
                STATUS_LABELS[event.to_status] if event.to_status else "",
                event.note,
            ]
        )
    return rows


def choice_lists(session: Session) -> ChoiceLists:
    """The template's drop-downs: active agencies then kecamatan, programs, statuses."""
    units = session.exec(
        select(Unit).where(col(Unit.is_active)).order_by(col(Unit.kind), col(Unit.short_name))
    ).all()
    programs = session.exec(
        select(Program).where(col(Program.is_active)).order_by(col(Program.sort_order))
    ).all()
    unit_labels = _labels([(u.pk, u.code, u.short_name) for u in units])
    program_labels = _labels([(p.pk, p.code, p.short_name) for p in programs])
    return ChoiceLists(
        units=[unit_labels[u.pk] for u in units],
        programs=[program_labels[p.pk] for p in programs],
        districts=[u.short_name for u in units if u.kind == "district"],
        statuses=[STATUS_LABELS[s] for s in IMPORT_STATUSES],
    )


def template_xlsx(session: Session) -> bytes:
    return write_workbook([], lists=choice_lists(session))


def table_xlsx(session: Session, table: TaskTable, *, with_guide: bool = True) -> bytes:
    return write_workbook(
        table.rows,
        lists=choice_lists(session),
        info_rows=table.info,
        history=table.history,
        with_guide=with_guide,
    )


def table_csv(table: TaskTable) -> bytes:
    headers = [c.header for c in (*TASK_COLUMNS, *INFO_COLUMNS)]
    return write_csv(
        headers, [[*row, *info] for row, info in zip(table.rows, table.info, strict=True)]
    )


def history_csv(table: TaskTable) -> bytes:
    return write_csv(HISTORY_HEADERS, table.history or [])


def export_filename(
    kind: str, *, today: date, extension: str, filters: TaskFilter | None = None
) -> str:
    """'tugas-2025-04-05.xlsx', 'papan-2025-04-05-unit-3.csv'."""
    parts = [kind, today.isoformat()]
    for name, value in (filters.query_params() if filters else {}).items():
        if name != "q":
            parts += [name, value]
    return "-".join(parts) + "." + extension
