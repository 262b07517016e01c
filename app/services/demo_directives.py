"""The demo's answers to directives: the lead units' follow-ups (tindak lanjut) and the
executives' decisions (keputusan), as words, and the link from each follow-up to the
directive it answers once both have ids.

A follow-up's `changes` name its directive's event id ({"directive_id": [None, id]}, as
app.services.directives writes it), which exists only once the seeded history is inserted
(app.services.history.insert_seeded_history, in time order so ids follow time);
`link_follow_ups` fills it in afterwards.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from app.models import EventKind, TaskEvent

# What the lead unit answers to each directive of the story: two ways of saying it.
FOLLOW_UPS: dict[str, tuple[str, str]] = {
    "Camat dan kepala desa segera tuntaskan pembebasan lahan; laporkan setiap Senin.": (
        "Rapat dengan camat dan kepala desa sudah dilaksanakan; surat pernyataan hibah lahan "
        "sedang ditandatangani warga. Laporan dikirim setiap Senin.",
        "Tim sudah turun ke desa bersama camat; dua dari tiga pemilik lahan setuju hibah, "
        "sisanya dijadwalkan musyawarah pekan ini.",
    ),
    "Sekda dan BPKAD prioritaskan pencairan untuk kegiatan 100 hari kerja minggu ini.": (
        "Berkas SPM sudah dilengkapi dan diajukan ulang ke BPKAD; pencairan dijadwalkan pekan ini.",
        "Sudah dikoordinasikan dengan BPKAD; SP2D diterbitkan setelah verifikasi berkas, "
        "rekanan diminta bersiap melanjutkan pekerjaan.",
    ),
    "Segera tender ulang; libatkan Inspektorat untuk pendampingan.": (
        "Tender ulang sudah diumumkan di LPSE; Inspektorat mendampingi sejak penyusunan "
        "dokumen pemilihan.",
        "Pokja menjadwalkan tender ulang dengan metode cepat; surat permohonan pendampingan "
        "sudah dikirim ke Inspektorat.",
    ),
    "Ambil opsi yang paling cepat dirasakan masyarakat; koordinasikan dengan Bappeda.": (
        "Opsi pelaksanaan bertahap dipilih; jadwal dan anggarannya sudah dibahas bersama Bappeda.",
        "Sudah rapat dengan Bappeda; opsi yang dipilih dituangkan dalam nota dinas kepada Sekda.",
    ),
    "Percepat; hasilnya harus dirasakan masyarakat sebelum hari ke-100.": (
        "Jadwal dipercepat: pekerjaan dibagi menjadi dua tim dan target selesai dimajukan "
        "dua minggu.",
        "Sudah ditambah tenaga pelaksana; jadwal baru dilaporkan pada rapat evaluasi Jumat.",
    ),
    "Libatkan camat dan kepala desa sejak awal; laporkan dengan foto.": (
        "Camat dan kepala desa sudah dilibatkan dalam rapat persiapan; foto kegiatan "
        "dilampirkan pada laporan mingguan.",
        "Undangan koordinasi sudah disampaikan ke kecamatan dan desa; dokumentasi foto "
        "diunggah setiap pekan.",
    ),
    "Pastikan tepat sasaran; umumkan data penerima di kantor desa.": (
        "Data penerima sudah dipadankan dengan DTKS dan diumumkan di papan pengumuman kantor desa.",
        "Daftar penerima sudah diverifikasi ulang bersama pendamping desa dan ditempel di "
        "kantor desa.",
    ),
    "Saya akan meninjau lokasi; siapkan paparan singkat kemajuan pekerjaan.": (
        "Paparan kemajuan sudah disiapkan; lokasi siap ditinjau, jadwal kunjungan "
        "dikoordinasikan dengan ajudan.",
        "Bahan paparan dan peta lokasi sudah diserahkan ke bagian protokol untuk kunjungan Bapak.",
    ),
}
FOLLOW_UP_FALLBACK = (
    "Arahan sudah ditindaklanjuti; perkembangannya dilaporkan pada rapat evaluasi mingguan.",
    "Sudah dikoordinasikan dengan pihak terkait; hasilnya dilaporkan pada laporan mingguan.",
)

# What the executive decides when the team asked for a decision, by the directive given
# before it.
DECISIONS: dict[str, str] = {
    "Percepat; hasilnya harus dirasakan masyarakat sebelum hari ke-100.": (
        "Diputuskan: kegiatan dilanjutkan dengan pelaksanaan bertahap, dimulai dari lokasi "
        "yang paling siap."
    ),
    "Libatkan camat dan kepala desa sejak awal; laporkan dengan foto.": (
        "Diputuskan: pelaksanaan di kecamatan dipimpin camat, perangkat daerah mendampingi."
    ),
    "Pastikan tepat sasaran; umumkan data penerima di kantor desa.": (
        "Diputuskan: penyaluran memakai data penerima yang sudah diverifikasi; sanggahan "
        "warga diterima paling lambat tujuh hari."
    ),
    "Saya akan meninjau lokasi; siapkan paparan singkat kemajuan pekerjaan.": (
        "Diputuskan: pekerjaan dilanjutkan sesuai rencana; peninjauan lokasi dijadwalkan "
        "setelah tahap pertama selesai."
    ),
}
DECISION_FALLBACK = "Diputuskan: usulan perangkat daerah disetujui untuk dilaksanakan."


def follow_up_text(directive: str, variant: int) -> str:
    texts = FOLLOW_UPS.get(directive, FOLLOW_UP_FALLBACK)
    return texts[variant % len(texts)]


def decision_text(directive: str) -> str:
    return DECISIONS.get(directive, DECISION_FALLBACK)


@dataclass(frozen=True)
class Answer:
    """A follow-up of the seeded history and the directive it answers, each by its task and
    instant (unique within a task)."""

    task_id: int
    follow_up_at: datetime
    directive_at: datetime


def link_follow_ups(session: Session, *, plan_id: int, answers: Iterable[Answer]) -> None:
    """Name each seeded follow-up's directive in its `changes`: one read of the plan's
    directive and follow-up events, one bulk update."""
    answers = list(answers)
    if not answers:
        return
    rows = session.exec(
        select(col(TaskEvent.id), col(TaskEvent.task_id), col(TaskEvent.at)).where(
            TaskEvent.plan_id == plan_id,
            col(TaskEvent.kind).in_([EventKind.directive, EventKind.follow_up]),
        )
    ).all()
    ids = {(task_id, at): event_id for event_id, task_id, at in rows}
    session.execute(
        sa.update(TaskEvent),
        [
            {
                "id": ids[(a.task_id, a.follow_up_at)],
                "changes": {"directive_id": [None, ids[(a.task_id, a.directive_at)]]},
            }
            for a in answers
        ],
    )
