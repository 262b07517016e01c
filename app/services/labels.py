"""Words the interface uses for the domain's codes, in one place: status, role, office, kinds,
RAG colours, the task's field names, and how a changed field's value is shown (the history
of a task and the conflict view of a stale edit show changes the same way)."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from app.models import ExecutivePosition, ProgramKind, Rag, Role, TaskStatus, UnitKind
from app.timefmt import format_day_date

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

ROLE_LABELS: dict[Role, str] = {
    Role.team: "Tim Transisi",
    Role.unit: "Perangkat Daerah / Kecamatan",
    Role.executive: "Pimpinan",
}
PROGRAM_KIND_LABELS: dict[ProgramKind, str] = {
    ProgramKind.priority: "Program Unggulan",
    ProgramKind.movement: "Gerakan Bersama Masyarakat",
    ProgramKind.pro_people: "Aspek Program Pro Rakyat",
}
UNIT_KIND_LABELS: dict[UnitKind, str] = {
    UnitKind.agency: "Perangkat Daerah",
    UnitKind.district: "Kecamatan",
}
RAG_LABELS: dict[Rag, str] = {
    Rag.green: "Hijau",
    Rag.amber: "Kuning",
    Rag.red: "Merah",
    Rag.grey: "Tanpa tugas",
}

# A task's fields, in the order the task form shows them.
FIELD_LABELS: dict[str, str] = {
    "title": "Judul",
    "description": "Uraian",
    "lead_unit_id": "Penanggung jawab",
    "supporting_unit_ids": "Perangkat daerah pendukung",
    "program_ids": "Program",
    "district_id": "Kecamatan",
    "village": "Desa/kelurahan",
    "due_date": "Tenggat",
    "weight": "Bobot",
    "target": "Target",
    "realisation": "Realisasi",
    "progress_pct": "Capaian",
    "needs_decision": "Perlu keputusan Bupati",
    "blocked_reason": "Alasan kendala",
    "status": "Status",
    "is_public": "Tampil di halaman publik",
}
EMPTY = "(kosong)"
UNIT_FIELDS = ("lead_unit_id", "district_id")


def status_label(value: Any) -> str:
    """A status code's word; an unknown code as it is."""
    try:
        return STATUS_LABELS[TaskStatus(value)]
    except ValueError:
        return str(value)


@dataclass(frozen=True)
class ValueWords:
    """How a task field's value reads in a list of changes: names for unit and program ids,
    dates as the interface writes them, Ya/Tidak, and "(kosong)" for nothing.

    Values come as the history records them: ids as ints, dates as ISO strings."""

    unit_names: Mapping[int, str] = field(default_factory=dict)
    program_names: Mapping[int, str] = field(default_factory=dict)
    # Longer texts are cut with "…" (None: shown whole).
    text_max: int | None = None

    def unit(self, value: Any) -> str:
        if isinstance(value, int) and not isinstance(value, bool):
            return self.unit_names.get(value, f"unit #{value}")
        return EMPTY if value in (None, "") else str(value)

    def program(self, value: Any) -> str:
        if isinstance(value, int) and not isinstance(value, bool):
            return self.program_names.get(value, f"program #{value}")
        return str(value)

    def show(self, name: str, value: Any) -> str:
        if value is None or value == "" or value == []:
            return EMPTY
        if name in UNIT_FIELDS:
            return self.unit(value)
        if name == "supporting_unit_ids" and isinstance(value, list):
            return ", ".join(self.unit(v) for v in value)
        if name == "program_ids" and isinstance(value, list):
            return ", ".join(self.program(v) for v in value)
        if name == "due_date" and isinstance(value, str):
            try:
                return format_day_date(date.fromisoformat(value))
            except ValueError:
                return value
        if name == "status":
            return status_label(value)
        if name == "progress_pct":
            return f"{value}%"
        if isinstance(value, bool):
            return "Ya" if value else "Tidak"
        text = str(value)
        if self.text_max is None or len(text) <= self.text_max:
            return text
        return text[: self.text_max - 1].rstrip() + "…"
