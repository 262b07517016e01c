"""The demo's public page: turned on, with most programs published as promises under a
citizen-facing title, and most of their tasks listed (DESIGN §8; `seratus up` shows it)."""

import random

from sqlmodel import Session, col, select

from app.models import Plan, Program, Task, TaskProgram

# Program code → (public title, public description). Programs not listed stay unpublished.
PUBLIC_PROGRAMS: dict[str, tuple[str, str]] = {
    "CERDAS": (
        "Pendidikan bermutu untuk setiap anak",
        "Perbaikan sekolah, dukungan bagi guru, dan layanan pendidikan di seluruh kecamatan.",
    ),
    "SEHAT": (
        "Layanan kesehatan yang dekat dan terjangkau",
        "Puskesmas, posyandu, dan layanan kesehatan keliling yang menjangkau desa.",
    ),
    "RELIGIUS": (
        "Kehidupan beragama yang rukun dan semarak",
        "Dukungan bagi rumah ibadah, guru mengaji, dan kegiatan keagamaan warga.",
    ),
    "MAKMUR": (
        "Ekonomi warga tumbuh: petani, nelayan, dan UMKM",
        "Bantuan sarana produksi, pelatihan usaha, dan akses pasar bagi pelaku usaha kecil.",
    ),
    "PRIMA": (
        "Pemerintahan yang bersih dan melayani",
        "Tata kelola yang tertib, disiplin aparatur, dan pengawasan yang terbuka.",
    ),
    "TERBUKA": (
        "Informasi dan layanan publik yang terbuka",
        "Warga dapat mengetahui rencana, anggaran, dan hasil kerja pemerintah daerah.",
    ),
    "MEMBANGUN": (
        "Jalan, jembatan, dan infrastruktur yang layak",
        "Perbaikan jalan dan jembatan, drainase, serta sarana umum di desa dan kecamatan.",
    ),
    "SIMANIS": ("Siswa gemar membaca dan menulis", ""),
    "BEGESAH": ("Masyarakat sadar hidup sehat", ""),
    "GERBANG_KEREN": ("Keluarga sehat dan posyandu yang aktif kembali", ""),
    "GERTAS": ("Pekarangan warga ditanami sayur", ""),
    "GERBANG_TOBARU": ("Tanaman obat keluarga di setiap desa", ""),
    "GERBANG_PERAK": ("Perikanan rakyat yang berkembang", ""),
    "GORONG": ("Gotong royong setiap Jumat", ""),
    "PRO_RAKYAT": ("Rumah layak huni untuk keluarga yang membutuhkan", ""),
    "GPS": ("Lingkungan bersih, sampah terkelola", ""),
    "BANTUAN": ("Bantuan tepat sasaran bagi warga yang membutuhkan", ""),
    "PELAYANAN": ("Pelayanan publik yang cepat dan mudah", ""),
}
# Share of a published program's tasks the demo team lists by name.
LISTED_SHARE = 0.85


def publish_demo(session: Session, *, plan: Plan, seed: int) -> None:
    """Turn the plan's public page on and publish the demo programs and most of their tasks.
    The caller commits."""
    plan.public_enabled = True
    session.add(plan)
    published: list[int] = []
    for program in session.exec(select(Program)).all():
        wording = PUBLIC_PROGRAMS.get(program.code)
        if wording is None:
            continue
        program.is_public = True
        program.public_title, program.public_description = wording
        session.add(program)
        published.append(program.pk)
    rng = random.Random(seed)
    task_ids = session.exec(
        select(TaskProgram.task_id)
        .join(Task, col(Task.id) == TaskProgram.task_id)
        .where(Task.plan_id == plan.id, col(TaskProgram.program_id).in_(published))
        .distinct()
        .order_by(col(TaskProgram.task_id))
    ).all()
    listed = {task_id for task_id in task_ids if rng.random() < LISTED_SHARE}
    for task in session.exec(select(Task).where(col(Task.id).in_(listed))).all():
        task.is_public = True
        session.add(task)
