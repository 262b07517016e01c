"""Who may do what: the role × action × unit rules of DESIGN §1, in one place.

Every `ensure_*` raises `Forbidden` with a message an official can act on; every `can_*`
answers the same question without raising, for templates that decide which controls to show.
Services call the `ensure_*` functions on every path (page, fragment, API, import).
"""

from typing import Protocol

from app.errors import Forbidden
from app.models import BOARD_STATUSES, Role, Task, TaskStatus, User

# Statuses a unit may move its own tasks between (never into Selesai).
UNIT_STATUSES = frozenset(
    {TaskStatus.todo, TaskStatus.in_progress, TaskStatus.blocked, TaskStatus.review}
)

READ_ONLY_MESSAGE = (
    "Akun pimpinan hanya dapat melihat dan memberikan arahan; perubahan dilakukan oleh "
    "Tim Transisi atau perangkat daerah penanggung jawab."
)
TEAM_ONLY_MESSAGE = "Hanya Tim Transisi yang dapat melakukan tindakan ini."
DONE_TEAM_ONLY_MESSAGE = (
    "Hanya Tim Transisi yang dapat menandai tugas Selesai, setelah memverifikasi hasilnya."
)


class TaskSeat(Protocol):
    """What the task rules read of a task (a `Task`, or the board's kept card that was never
    loaded): its column, its lead unit, and its code for the messages."""

    @property
    def status(self) -> TaskStatus: ...

    @property
    def lead_unit_id(self) -> int: ...

    @property
    def code(self) -> str: ...


def is_team(user: User) -> bool:
    return user.role == Role.team


def leads(user: User, task: TaskSeat) -> bool:
    """The user belongs to the unit that leads (is penanggung jawab of) the task."""
    return user.role == Role.unit and user.unit_id is not None and user.unit_id == task.lead_unit_id


def _not_your_unit(task_code: str) -> Forbidden:
    return Forbidden(
        f"Tugas {task_code} menjadi tanggung jawab perangkat daerah lain; hanya "
        "penanggung jawabnya dan Tim Transisi yang dapat mengubahnya."
    )


def can_import(user: User) -> bool:
    """Only the team imports plans (and so needs the import instructions)."""
    return user.role == Role.team


def ensure_team(user: User) -> None:
    """Plans, units, programs, users, holidays, creating/editing/cancelling tasks."""
    if user.role == Role.executive:
        raise Forbidden(READ_ONLY_MESSAGE)
    if user.role != Role.team:
        raise Forbidden(TEAM_ONLY_MESSAGE)


def ensure_can_work_on(user: User, task: TaskSeat) -> None:
    """Progress, realisation and notes: the team, or the lead unit."""
    if is_team(user):
        return
    if user.role == Role.executive:
        raise Forbidden(READ_ONLY_MESSAGE)
    if not leads(user, task):
        raise _not_your_unit(task.code)


def ensure_can_move(user: User, task: TaskSeat, to_status: TaskStatus) -> None:
    """Moves on the board (DESIGN §2, the statuses table)."""
    if to_status == TaskStatus.cancelled:
        ensure_team(user)
        return
    if to_status == TaskStatus.done or task.status == TaskStatus.done:
        if user.role == Role.executive:
            raise Forbidden(READ_ONLY_MESSAGE)
        if not is_team(user):
            raise Forbidden(DONE_TEAM_ONLY_MESSAGE)
        return
    ensure_can_work_on(user, task)
    if not is_team(user) and (task.status not in UNIT_STATUSES or to_status not in UNIT_STATUSES):
        raise Forbidden(TEAM_ONLY_MESSAGE)


def ensure_can_direct(user: User) -> None:
    """The Bupati's directives (arahan): executives, and the team recording them."""
    if user.role not in (Role.executive, Role.team):
        raise Forbidden("Hanya pimpinan (Bupati, Wakil Bupati, Sekda) yang memberikan arahan.")


def can_edit(user: User) -> bool:
    return is_team(user)


def can_work_on(user: User, task: TaskSeat) -> bool:
    return is_team(user) or leads(user, task)


def can_move(user: User, task: TaskSeat, to_status: TaskStatus) -> bool:
    try:
        ensure_can_move(user, task, to_status)
    except Forbidden:
        return False
    return True


def may_move_cards(user: User) -> bool:
    """Whether the board offers this user a move form at all (executives only read)."""
    return user.role != Role.executive


def move_targets(user: User, task: TaskSeat) -> list[TaskStatus]:
    """The columns this user may move this card into (for the "Pindahkan ke…" control)."""
    return [s for s in BOARD_STATUSES if s != task.status and can_move(user, task, s)]


def can_direct(user: User) -> bool:
    return user.role in (Role.executive, Role.team)


# --- evidence (bukti dukung) -----------------------------------------------------------

EVIDENCE_CLOSED_MESSAGE = (
    "Tugas ini sudah Selesai atau dibatalkan; bukti dukungnya hanya dapat diubah oleh Tim Transisi."
)


def ensure_can_attach_evidence(user: User, task: Task) -> None:
    """Files and links on a task: the team, or the lead unit while the task is open."""
    if task.status == TaskStatus.cancelled:
        if user.role == Role.executive:
            raise Forbidden(READ_ONLY_MESSAGE)
        raise Forbidden("Tugas yang dibatalkan tidak menerima bukti dukung; pulihkan dulu.")
    ensure_can_work_on(user, task)
    if not is_team(user) and task.status == TaskStatus.done:
        raise Forbidden(EVIDENCE_CLOSED_MESSAGE)


def ensure_can_remove_evidence(user: User, task: Task, *, uploader_unit_id: int | None) -> None:
    """Removal (a soft delete): the team, or a user of the uploader's unit while the task is
    open, so verified evidence stays as the team saw it."""
    if is_team(user):
        return
    if user.role == Role.executive:
        raise Forbidden(READ_ONLY_MESSAGE)
    if user.unit_id is None or user.unit_id != uploader_unit_id:
        raise Forbidden(
            "Bukti dukung ini diunggah oleh unit lain; hanya unit pengunggahnya dan "
            "Tim Transisi yang dapat menghapusnya."
        )
    if task.status in (TaskStatus.done, TaskStatus.cancelled):
        raise Forbidden(EVIDENCE_CLOSED_MESSAGE)


def can_attach_evidence(user: User, task: Task) -> bool:
    try:
        ensure_can_attach_evidence(user, task)
    except Forbidden:
        return False
    return True


def can_remove_evidence(user: User, task: Task, *, uploader_unit_id: int | None) -> bool:
    try:
        ensure_can_remove_evidence(user, task, uploader_unit_id=uploader_unit_id)
    except Forbidden:
        return False
    return True
