"""The task workflow: which status changes are allowed with what, and what a status change
does to the task besides its status.

The rules (DESIGN §2): into Terkendala needs a reason; into Menunggu Verifikasi needs live
evidence or a note saying why there is none; out of Menunggu Verifikasi by someone other than
the lead unit (the team) is a rejection and needs a note, except into Selesai, which is
verification. The side effects: Terkendala sets the blocked reason and every other status
but Dibatalkan clears it (a cancelled task keeps it, so its history says why it was stuck);
Selesai sets `done_at` and progress to 100, any other status clears `done_at`.
"""

from typing import Any

from sqlmodel import Session

from app import permissions
from app.db import utcnow
from app.errors import RuleViolation
from app.models import EventKind, Task, TaskStatus, User
from app.services.task_reads import has_evidence

# Statuses of work still to do: on the board and not Selesai.
OPEN_STATUSES: frozenset[TaskStatus] = frozenset(
    {TaskStatus.todo, TaskStatus.in_progress, TaskStatus.blocked, TaskStatus.review}
)

EVIDENCE_OR_NOTE_MESSAGE = (
    "Lampirkan minimal satu bukti dukung (foto, dokumen, atau tautan), atau tuliskan catatan "
    "mengapa belum ada bukti dukung, sebelum mengirim tugas ke Menunggu Verifikasi."
)
REJECTION_NOTE_MESSAGE = (
    "Tuliskan catatan penolakan: apa yang perlu diperbaiki oleh penanggung jawab."
)
BLOCKED_REASON_MESSAGE = "Alasan kendala wajib diisi saat memindahkan tugas ke Terkendala."


def is_open(status: TaskStatus | str) -> bool:
    """Work still to do: neither Selesai nor Dibatalkan."""
    return TaskStatus(status) in OPEN_STATUSES


def ensure_not_cancelling(to_status: TaskStatus) -> None:
    """Cancelling is its own action (with its reason), never a move."""
    if to_status == TaskStatus.cancelled:
        raise RuleViolation("Gunakan Batalkan untuk membatalkan tugas.", field="status")


def check_status_change(
    session: Session, *, actor: User, task: Task, to_status: TaskStatus, note: str, reason: str
) -> EventKind:
    """Refuse a change of `task` into `to_status` that the rules forbid (before anything
    changes, so a refusal leaves nothing pending); otherwise the kind of event it records.
    `note` and `reason` are already stripped. Permissions are the caller's check."""
    from_status = TaskStatus(task.status)
    if to_status == TaskStatus.blocked and not reason:
        raise RuleViolation(BLOCKED_REASON_MESSAGE, field="blocked_reason")
    if to_status == TaskStatus.review and not note and not has_evidence(session, task_id=task.pk):
        raise RuleViolation(EVIDENCE_OR_NOTE_MESSAGE, field="note")
    if to_status == TaskStatus.done:
        return EventKind.verified
    # The team sending reported work back is a rejection, and it needs a reason.
    if from_status == TaskStatus.review and not permissions.leads(actor, task):
        if not note:
            raise RuleViolation(REJECTION_NOTE_MESSAGE, field="note")
        return EventKind.rejected
    return EventKind.moved


def status_changes(
    *,
    status: TaskStatus,
    blocked_reason: str,
    progress_pct: int,
    to_status: TaskStatus,
    reason: str = "",
) -> dict[str, list[Any]]:
    """The fields a change from `status` into `to_status` touches, as [old, new]: the status,
    the blocked reason, and progress to 100 into Selesai. Pure: the demo simulates with it."""
    changes: dict[str, list[Any]] = {"status": [status.value, to_status.value]}
    if to_status == TaskStatus.blocked:
        changes["blocked_reason"] = [blocked_reason, reason]
    elif blocked_reason and to_status != TaskStatus.cancelled:
        changes["blocked_reason"] = [blocked_reason, ""]
    if to_status == TaskStatus.done and progress_pct != 100:
        changes["progress_pct"] = [progress_pct, 100]
    return changes


def apply_status_change(task: Task, *, to_status: TaskStatus, reason: str = "") -> dict[str, Any]:
    """Put `task` into `to_status` with every side effect (not its position: that is
    `positions.place`); the [old, new] changes for its event."""
    changes = status_changes(
        status=TaskStatus(task.status),
        blocked_reason=task.blocked_reason,
        progress_pct=task.progress_pct,
        to_status=to_status,
        reason=reason,
    )
    if "blocked_reason" in changes:
        task.blocked_reason = changes["blocked_reason"][1]
    if "progress_pct" in changes:
        task.progress_pct = changes["progress_pct"][1]
    task.done_at = utcnow() if to_status == TaskStatus.done else None
    task.status = to_status
    return changes
