"""Words the interface uses for the domain's codes (status, …), in one place."""

from app.models import TaskStatus

STATUS_LABELS: dict[TaskStatus, str] = {
    TaskStatus.todo: "Belum Dimulai",
    TaskStatus.in_progress: "Sedang Berjalan",
    TaskStatus.blocked: "Terkendala",
    TaskStatus.review: "Menunggu Verifikasi",
    TaskStatus.done: "Selesai",
    TaskStatus.cancelled: "Dibatalkan",
}
