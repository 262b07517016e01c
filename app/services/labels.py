"""Words the interface uses for the domain's codes (status, …), in one place."""

from app.models import ExecutivePosition, TaskStatus

STATUS_LABELS: dict[TaskStatus, str] = {
    TaskStatus.todo: "Belum Dimulai",
    TaskStatus.in_progress: "Sedang Berjalan",
    TaskStatus.blocked: "Terkendala",
    TaskStatus.review: "Menunggu Verifikasi",
    TaskStatus.done: "Selesai",
    TaskStatus.cancelled: "Dibatalkan",
}

# An executive's office, as the admin pages offer it and as their directives are labelled.
POSITION_LABELS: dict[ExecutivePosition, str] = {
    ExecutivePosition.bupati: "Bupati",
    ExecutivePosition.wakil_bupati: "Wakil Bupati",
    ExecutivePosition.sekretaris_daerah: "Sekretaris Daerah",
}
