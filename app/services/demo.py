"""The demo: Banyuasin's 100-day plan with ~150 tasks, a simulated history, and demo logins.

`load_demo` is what a customer sees first, so the history is realistic: tasks are drafted by
the Tim Transisi in the week before day 1, lead units start them, report progress, hit
obstacles (land, weather, funds), ask the Bupati for decisions, submit their work, and the
team verifies or rejects it. Rows are written in bulk, following the rules the task services
follow (event kinds, `{"field": [old, new]}` changes, versions, positions 1..n per column),
so that replaying the events of a task gives exactly its current state. Deterministic for a
given seed and `today`. Loading again creates nothing that exists already.
"""

import dataclasses
import random
import re
import zlib
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, func, select

from app.models import (
    BOARD_STATUSES,
    DayMode,
    EventKind,
    Evidence,
    EvidenceKind,
    NotificationSettings,
    Plan,
    Program,
    Role,
    Task,
    TaskCreate,
    TaskProgram,
    TaskStatus,
    TaskSupportingUnit,
    Unit,
    UnitKind,
    User,
)
from app.services import accounts, holiday_source, workflow
from app.services.demo_directives import (
    Answer,
    decision_text,
    follow_up_text,
    link_follow_ups,
)
from app.services.demo_public import publish_demo
from app.services.evidence import change_key
from app.services.history import apply_event, initial_state, insert_seeded_history, jsonable
from app.services.reference import ReferenceCounts, districts, load_reference, read_csv
from app.timefmt import WIB

PLAN_NAME = "Program 100 Hari Kerja Bupati dan Wakil Bupati Banyuasin 2025–2030"
# Demo-only: every demo account gets this password unless another is given. Never use the
# demo accounts on a real deployment.
DEMO_PASSWORD = "banyuasin-100"  # noqa: S105 (published demo password)
TODAY_DAY = 45  # without a start date, day 1 is placed so that today is this plan day
PLAN_LENGTH = 100
WORK_START_MINUTE = 8 * 60
WORK_END_MINUTE = 16 * 60 + 30


# --- people ----------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoLogin:
    username: str
    full_name: str
    role: Role
    unit_name: str
    # Listed first by `seratus demo`; the other accounts are camat and agency operators.
    featured: bool


@dataclass(frozen=True)
class _Person:
    username: str
    full_name: str
    role: Role
    unit_code: str | None = None
    position: str = ""  # an executive's office (ExecutivePosition)


_LEADERS = (
    _Person("tim.transisi", "Tim Transisi", Role.team),
    _Person("bupati", "H. Askolani, S.H., M.H.", Role.executive, position="bupati"),
    _Person("wabup", "Netta Indian, S.P.", Role.executive, position="wakil_bupati"),
    _Person("sekda", "Sekretaris Daerah", Role.executive, position="sekretaris_daerah"),
)
_FEATURED_UNITS = ("PUTR", "DINKES", "DISDIKBUD", "DLH", "KOPERINDAG", "PERKIMTAN", "TPH")
_FEATURED_DISTRICTS = ("Rantau Bayur", "Pulau Rimau")
_USER_PREFIX = {"Kepala Dinas": "kadis", "Kepala Badan": "kaban", "Camat": "camat"}
_ROMAN = {"i": "1", "ii": "2", "iii": "3"}


def _unit_person(unit: Unit) -> _Person:
    """kadis.putr "Kepala Dinas PUTR", camat.rantaubayur "Camat Rantau Bayur", admin.setda …"""
    prefix = _USER_PREFIX.get(unit.head_title, "admin")
    if unit.kind == UnitKind.district:
        slug = "".join(_ROMAN.get(w, w) for w in unit.short_name.lower().split())
        return _Person(f"camat.{slug}", f"Camat {unit.short_name}", Role.unit, unit.code)
    title = "Kepala" if prefix in ("kadis", "kaban") else "Admin"
    return _Person(
        f"{prefix}.{unit.code.lower()}", f"{title} {unit.short_name}", Role.unit, unit.code
    )


DEMO_EMAIL_DOMAIN = "banyuasin.example"


def _ensure_users(
    session: Session, *, units: dict[str, Unit], lead_codes: set[str], password: str
) -> tuple[list[str], list[str], list[DemoLogin]]:
    """The leaders' accounts and one account per unit that leads a demo task."""
    featured_codes = set(_FEATURED_UNITS) | {
        code for code, name in districts() if name in _FEATURED_DISTRICTS
    }
    people = list(_LEADERS) + [
        _unit_person(units[code]) for code in sorted(lead_codes) if code in units
    ]
    existing = set(session.exec(select(User.username)).all())
    # Demo accounts share one published password, so one argon2 hash (≈0.15 s) serves all.
    shared_hash = accounts.password_hash.hash(password)
    created: list[str] = []
    present: list[str] = []
    logins: list[DemoLogin] = []
    for person in people:
        unit = units.get(person.unit_code or "")
        if person.username in existing:
            present.append(person.username)
        else:
            assert accounts.USERNAME_RE.match(person.username), person.username
            user = User(
                username=person.username,
                full_name=person.full_name,
                role=person.role,
                unit_id=unit.id if unit else None,
                position=person.position,
                password_hash=shared_hash,
            )
            session.add(user)
            session.flush()
            # Addresses on the reserved demo domain with email on, and no quiet hours: a
            # local SMTP sink shows the whole notification flow at any hour (README,
            # "Channels").
            session.add(
                NotificationSettings(
                    user_id=user.pk,
                    email=f"{person.username}@{DEMO_EMAIL_DOMAIN}",
                    email_on=True,
                    quiet_hours_on=False,
                )
            )
            created.append(person.username)
        logins.append(
            DemoLogin(
                username=person.username,
                full_name=person.full_name,
                role=person.role,
                unit_name=unit.short_name if unit else "",
                featured=person.role != Role.unit or person.unit_code in featured_codes,
            )
        )
    session.commit()
    return created, present, logins


# --- the task catalogue ----------------------------------------------------------------


@dataclass(frozen=True)
class TaskSpec:
    title: str
    lead: str  # a unit code
    district: str | None  # a kecamatan code
    village: str
    target: str
    weight: int
    due_day: int
    programs: tuple[str, ...]
    supporting: tuple[str, ...]
    kind: str  # infra | bantuan | layanan | kegiatan | dokumen: picks realistic notes
    description: str = ""
    added_day: int | None = None  # a scope addition, created on this plan day
    cancel_day: int | None = None
    cancel_note: str = ""


def task_catalogue() -> list[TaskSpec]:
    """The demo tasks: app/reference/demo_tasks.csv plus Gorong serentak in every kecamatan."""
    codes = {name: code for code, name in districts()}
    specs = []
    for row in read_csv("demo_tasks.csv"):
        district = codes[row["district"]] if row["district"] else None
        resolve = {"CAMAT": district or ""}
        specs.append(
            TaskSpec(
                title=row["title"],
                lead=resolve.get(row["lead"], row["lead"]),
                district=district,
                village=row["village"],
                target=row["target"],
                weight=int(row["weight"]),
                due_day=int(row["due_day"]),
                programs=tuple(row["programs"].split()),
                supporting=tuple(resolve.get(s, s) for s in row["supporting"].split()),
                kind=row["kind"],
                description=row["description"],
                added_day=int(row["added_day"]) if row["added_day"] else None,
                cancel_day=int(row["cancel_day"]) if row["cancel_day"] else None,
                cancel_note=row["cancel_note"],
            )
        )
    for index, (code, name) in enumerate(districts()):
        specs.append(
            TaskSpec(
                title=f"Gorong serentak Kecamatan {name}",
                lead=code,
                district=code,
                village="",
                target="4 kali Jumat",
                weight=1,
                due_day=28 + (index % 4) * 5,
                programs=("GORONG", "GPS"),
                supporting=("DLH",),
                kind="kegiatan",
                description=(
                    "Gotong royong setiap Jumat bersama warga, TNI/Polri dan ASN kecamatan: "
                    "membersihkan saluran, drainase dan fasilitas umum."
                ),
            )
        )
    return specs


# --- words -----------------------------------------------------------------------------

_PROGRESS_NOTES = {
    "infra": (
        "Pengukuran dan pematokan lokasi bersama perangkat desa.",
        "Mobilisasi alat berat dan material ke lokasi.",
        "Pekerjaan tanah, pemadatan dan fondasi.",
        "Pekerjaan struktur utama berjalan sesuai jadwal.",
        "Pekerjaan finishing dan pembersihan lokasi.",
    ),
    "bantuan": (
        "Verifikasi calon penerima bersama pemerintah desa.",
        "Penetapan SK penerima bantuan.",
        "Pengadaan barang melalui e-katalog.",
        "Penyaluran tahap pertama.",
        "Penyaluran lanjutan; berita acara serah terima ditandatangani.",
    ),
    "layanan": (
        "Koordinasi jadwal dengan camat dan kepala desa.",
        "Sosialisasi kepada warga melalui perangkat desa.",
        "Pelayanan hari pertama berjalan; warga antusias.",
        "Pelayanan lanjutan di desa berikutnya.",
        "Rekapitulasi data warga yang terlayani.",
    ),
    "kegiatan": (
        "Rapat persiapan dan pembagian tugas panitia.",
        "Surat edaran dan undangan sudah disampaikan.",
        "Pelaksanaan tahap pertama.",
        "Pelaksanaan lanjutan di lokasi berikutnya.",
        "Penyusunan laporan dan dokumentasi.",
    ),
    "dokumen": (
        "Pengumpulan data dan bahan.",
        "Penyusunan draf.",
        "Pembahasan draf bersama perangkat daerah terkait.",
        "Perbaikan sesuai masukan.",
        "Finalisasi dan paraf koordinasi.",
    ),
}


@dataclass(frozen=True)
class _Obstacle:
    reason: str
    resolved: str  # the note when the task is unblocked
    directive: str = ""  # set when the Bupati has to decide


_LAND = _Obstacle(
    "Menunggu pembebasan lahan oleh pemerintah desa.",
    "Lahan sudah dihibahkan warga; pekerjaan dilanjutkan.",
    "Camat dan kepala desa segera tuntaskan pembebasan lahan; laporkan setiap Senin.",
)
_FUNDS = _Obstacle(
    "Anggaran belum cair; menunggu SP2D dari BPKAD.",
    "Dana sudah cair; pekerjaan dilanjutkan.",
    "Sekda dan BPKAD prioritaskan pencairan untuk kegiatan 100 hari kerja minggu ini.",
)
_FLOOD = _Obstacle(
    "Cuaca/banjir: akses ke lokasi terputus.",
    "Air sudah surut; pekerjaan dilanjutkan.",
)
_OBSTACLES = {
    "infra": (
        _LAND,
        _FUNDS,
        _FLOOD,
        _Obstacle(
            "Material terlambat dikirim penyedia.",
            "Material sudah tiba di lokasi.",
        ),
    ),
    "bantuan": (
        _FUNDS,
        _Obstacle(
            "Data calon penerima dari desa belum lengkap.",
            "Data penerima sudah lengkap dan diverifikasi.",
        ),
        _Obstacle(
            "Tender gagal; pengadaan harus diulang.",
            "Kontrak pengadaan ulang sudah ditandatangani.",
            "Segera tender ulang; libatkan Inspektorat untuk pendampingan.",
        ),
    ),
    "layanan": (
        _FLOOD,
        _Obstacle(
            "Tenaga kesehatan/petugas terbatas; menunggu penugasan.",
            "Petugas tambahan sudah ditugaskan.",
        ),
        _FUNDS,
    ),
    "kegiatan": (
        _Obstacle(
            "Jadwal bentrok dengan agenda pimpinan; menunggu penjadwalan ulang.",
            "Jadwal baru sudah disepakati.",
        ),
        _FUNDS,
        _FLOOD,
    ),
    "dokumen": (
        _Obstacle(
            "Menunggu data dari perangkat daerah lain.",
            "Data sudah diterima lengkap.",
        ),
        _Obstacle(
            "Menunggu hasil konsultasi dengan pemerintah provinsi.",
            "Hasil konsultasi sudah diterima.",
        ),
        _Obstacle(
            "Perlu keputusan pimpinan atas opsi yang diajukan.",
            "Keputusan pimpinan sudah ditetapkan.",
            "Ambil opsi yang paling cepat dirasakan masyarakat; koordinasikan dengan Bappeda.",
        ),
    ),
}
_DIRECTIVES = (
    "Percepat; hasilnya harus dirasakan masyarakat sebelum hari ke-100.",
    "Libatkan camat dan kepala desa sejak awal; laporkan dengan foto.",
    "Pastikan tepat sasaran; umumkan data penerima di kantor desa.",
    "Saya akan meninjau lokasi; siapkan paparan singkat kemajuan pekerjaan.",
)
_UNIT_COMMENTS = (
    "Rapat koordinasi dengan camat dan kepala desa; jadwal pelaksanaan disepakati.",
    "Tindak lanjut: surat permintaan data sudah dikirim ke desa.",
    "Peninjauan lapangan bersama pengawas.",
)
_TEAM_COMMENTS = (
    "Mohon perbarui capaian setiap Jumat sebelum rapat evaluasi.",
    "Mohon unggah foto terbaru untuk laporan mingguan kepada Bupati.",
)
_REJECTIONS = (
    "Bukti dukung belum lengkap: lampirkan foto 0%, 50%, 100% dan berita acara.",
    "Realisasi belum sesuai target; mohon lengkapi daftar penerima.",
    "Foto lokasi belum menunjukkan pekerjaan selesai; mohon cek ulang di lapangan.",
)
_VERIFY_NOTES = ("", "Hasil sesuai target; bukti dukung lengkap.", "Sudah dicek di lapangan.")

_TARGET = re.compile(r"^(\d[\d.]*(?:,\d+)?)\s+(.+)$")


def realisation_of(target: str, pct: int, kind: str) -> str:
    """Realisation at `pct` percent of `target`: "1,2 km" of "3,3 km", "Fisik 40%" …"""
    if pct >= 100:
        return target
    match = _TARGET.match(target)
    number = match.group(1) if match else ""
    if match and "," in number:
        value = float(number.replace(",", ".")) * pct / 100
        return f"{value:.1f}".replace(".", ",") + f" {match.group(2)}"
    amount = int(number.replace(".", "")) if match else 0
    done = amount * pct // 100
    # Small counts of physical work are reported as physical progress ("Realisasi Fisik").
    if match and done >= 1 and not (kind == "infra" and amount < 10):
        return f"{done:,}".replace(",", ".") + f" {match.group(2)}"
    if kind == "dokumen":
        return "Penyusunan draf" if pct < 50 else "Pembahasan/finalisasi"
    return f"Fisik {pct}%" if kind == "infra" else f"Persiapan {pct}%"


# --- simulated history -----------------------------------------------------------------


@dataclass
class _Draft:
    """One intended change; `_finish` turns drafts into events with exact old values."""

    day: int
    actor: str  # "lead", "team" or a leader's username
    kind: EventKind
    to_status: TaskStatus | None = None
    sets: dict[str, Any] = field(default_factory=dict)
    note: str = ""
    at: datetime | None = None
    # EventKind.evidence: the link attached ({"kind", "caption", "url", "filename"}).
    evidence: dict[str, Any] | None = None
    # EventKind.follow_up: the directive it answers.
    answers: "_Draft | None" = None


def _life(spec: TaskSpec, rng: random.Random, *, created_day: int) -> list[_Draft]:
    """What happens to a task over the whole plan, in plan days (truncated later at 'now')."""
    drafts = [_Draft(created_day, "team", EventKind.created, TaskStatus.todo)]
    first = max(1, created_day)
    due = spec.due_day
    start = rng.randint(first, max(first, min(due - 5, first + 18)))
    if rng.random() < 0.1:
        start = max(start, rng.randint(38, 70))  # some work only starts late
    submit = start + max(3, round((due - start) * _pace(rng)))
    obstacle: _Obstacle | None = None
    blocked = unblocked = 0
    block_chance = 0.5 if spec.kind == "infra" else 0.35
    if rng.random() < block_chance:
        obstacle = rng.choice(_OBSTACLES[spec.kind])
        blocked = rng.randint(start, max(start, submit - 3))
        unblocked = blocked + rng.randint(5, 25)
        submit += unblocked - blocked
    from_todo = obstacle is not None and obstacle is _FUNDS and blocked == start
    if not from_todo:
        drafts.append(_Draft(start, "lead", EventKind.moved, TaskStatus.in_progress))
    drafts += _progress(spec, rng, start=start, end=submit, skip=(blocked, unblocked))
    if obstacle is not None:
        drafts += _obstacle(rng, obstacle, blocked=blocked, unblocked=unblocked)
    drafts += _comments(rng, start=start, end=submit)
    drafts += _submission(spec, submit)
    verify = submit + rng.randint(1, 10)  # the team verifies in batches
    if rng.random() < 0.15:
        drafts.append(
            _Draft(
                verify,
                "team",
                EventKind.rejected,
                TaskStatus.in_progress,
                note=rng.choice(_REJECTIONS),
            )
        )
        submit = verify + rng.randint(2, 6)
        if _with_evidence(spec):
            drafts.append(_evidence_draft(spec, submit, extra=True))
        drafts.append(_Draft(submit, "lead", EventKind.moved, TaskStatus.review, note=_RESUBMIT))
        verify = submit + rng.randint(1, 3)
    drafts.append(
        _Draft(verify, "team", EventKind.verified, TaskStatus.done, note=rng.choice(_VERIFY_NOTES))
    )
    drafts.sort(key=lambda d: d.day)  # stable: same-day drafts keep their logical order
    # The story ends with the final stocktake a week after the last plan day.
    drafts = [d for d in drafts if d.day <= PLAN_LENGTH + 7]
    if spec.cancel_day is not None:
        drafts = [d for d in drafts if d.day < spec.cancel_day]
        drafts.append(
            _Draft(
                spec.cancel_day,
                "team",
                EventKind.cancelled,
                TaskStatus.cancelled,
                note=spec.cancel_note,
            )
        )
    return drafts


_SUBMIT = "Pekerjaan selesai; bukti dukung terlampir."
_SUBMIT_WITHOUT_EVIDENCE = (
    "Bukti dukung fisik (berita acara bermeterai) diserahkan langsung ke sekretariat "
    "Tim Transisi; salinan digital menyusul."
)
_RESUBMIT = "Bukti dukung sudah dilengkapi sesuai catatan."
# Evidence links by kind of task: (caption, last part of the address). The addresses are on
# the reserved .example domain: demo data, never a real document.
_EVIDENCE = {
    "infra": ("Foto dokumentasi pekerjaan 0%, 50% dan 100%", "foto-dokumentasi"),
    "bantuan": ("Berita acara serah terima dan daftar penerima", "berita-acara-serah-terima"),
    "layanan": ("Rekap layanan dan foto kegiatan", "rekap-layanan"),
    "kegiatan": ("Daftar hadir dan foto kegiatan", "daftar-hadir"),
    "dokumen": ("Salinan dokumen yang telah ditandatangani", "dokumen-final"),
}
EVIDENCE_HOST = "https://arsip.banyuasin.example/bukti-dukung"


def _with_evidence(spec: TaskSpec) -> bool:
    """Most submissions carry a link; about one in six a note instead (paper evidence).
    Decided by the title, so the story's random stream stays as it was."""
    return zlib.crc32(spec.title.encode()) % 6 != 0


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60]


def _evidence_draft(spec: TaskSpec, day: int, *, extra: bool = False) -> _Draft:
    caption, leaf = _EVIDENCE.get(spec.kind, _EVIDENCE["kegiatan"])
    if extra:
        caption, leaf = "Bukti dukung tambahan sesuai catatan verifikasi", leaf + "-tambahan"
    url = f"{EVIDENCE_HOST}/{_slug(spec.title)}/{leaf}"
    item = {"kind": EvidenceKind.link.value, "caption": caption, "url": url, "filename": ""}
    return _Draft(day, "lead", EventKind.evidence, note=caption, evidence=item)


def _submission(spec: TaskSpec, day: int) -> list[_Draft]:
    """Into Menunggu Verifikasi as the services require: with evidence, or a note why not."""
    if _with_evidence(spec):
        return [
            _evidence_draft(spec, day),
            _Draft(day, "lead", EventKind.moved, TaskStatus.review, note=_SUBMIT),
        ]
    return [_Draft(day, "lead", EventKind.moved, TaskStatus.review, note=_SUBMIT_WITHOUT_EVIDENCE)]


def _pace(rng: random.Random) -> float:
    """Time used to submit, as a share of the time to the due date: quick wins, most
    on time, some late."""
    roll = rng.random()
    if roll < 0.6:
        return rng.uniform(0.25, 0.85)
    if roll < 0.85:
        return rng.uniform(0.9, 1.15)
    return rng.uniform(1.15, 1.6)


def _progress(
    spec: TaskSpec, rng: random.Random, *, start: int, end: int, skip: tuple[int, int]
) -> list[_Draft]:
    """Reports every few days, progress rising towards 100 % on the day of submission."""
    drafts = []
    notes = _PROGRESS_NOTES[spec.kind]
    last = 0
    day = start + rng.randint(2, 6)
    while day < end:
        if not skip[0] <= day <= skip[1]:
            pct = min(95, 5 * round((day - start) / (end - start) * 20 + rng.uniform(-1.5, 1)))
            if pct > last:
                last = pct
                note = notes[min(len(notes) - 1, pct * len(notes) // 100)]
                drafts.append(
                    _Draft(
                        day,
                        "lead",
                        EventKind.progress,
                        sets=_progress_sets(spec, pct),
                        note=note if rng.random() < 0.7 else "",
                    )
                )
        day += rng.randint(3, 8)
    drafts.append(_Draft(end, "lead", EventKind.progress, sets=_progress_sets(spec, 100)))
    return drafts


def _progress_sets(spec: TaskSpec, pct: int) -> dict[str, Any]:
    return {"progress_pct": pct, "realisation": realisation_of(spec.target, pct, spec.kind)}


def _obstacle(
    rng: random.Random, obstacle: _Obstacle, *, blocked: int, unblocked: int
) -> list[_Draft]:
    """Blocked with a reason; when the Bupati must decide, flagged, directed, then cleared."""
    drafts = [
        _Draft(blocked, "lead", EventKind.moved, TaskStatus.blocked, sets={"reason": obstacle})
    ]
    if obstacle.directive and rng.random() < 0.7:
        flagged = blocked + rng.randint(0, 2)
        directed = min(flagged + rng.randint(1, 4), max(flagged, unblocked - 1))
        leader = rng.choices(("bupati", "wabup", "sekda"), weights=(6, 3, 1))[0]
        drafts += [
            _Draft(flagged, "team", EventKind.edited, sets={"needs_decision": True}),
            _Draft(directed, leader, EventKind.directive, note=obstacle.directive),
            _Draft(unblocked, "team", EventKind.edited, sets={"needs_decision": False}),
        ]
    drafts.insert(
        1,
        _Draft(unblocked, "lead", EventKind.moved, TaskStatus.in_progress, note=obstacle.resolved),
    )
    return drafts


def _comments(rng: random.Random, *, start: int, end: int) -> list[_Draft]:
    drafts = []
    for _ in range(rng.choice((0, 0, 1, 1, 2))):
        day = rng.randint(start, max(start, end - 1))
        if rng.random() < 0.65:
            drafts.append(_Draft(day, "lead", EventKind.comment, note=rng.choice(_UNIT_COMMENTS)))
        else:
            drafts.append(_Draft(day, "team", EventKind.comment, note=rng.choice(_TEAM_COMMENTS)))
    if rng.random() < 0.08:
        # The team asks the Bupati to decide; the flag stays until the team clears it.
        day = rng.randint(start, max(start, end - 1))
        leader = rng.choice(("bupati", "bupati", "wabup"))
        directed = day + rng.randint(1, 5)
        drafts += [
            _Draft(day, "team", EventKind.edited, sets={"needs_decision": True}),
            _Draft(directed, leader, EventKind.directive, note=rng.choice(_DIRECTIVES)),
        ]
        if rng.random() < 0.5:
            # The leader settles it with a recorded decision (clearing the flag).
            cleared = directed + rng.randint(1, 4)
            drafts.append(
                _Draft(
                    cleared,
                    leader,
                    EventKind.decision,
                    sets={"needs_decision": False},
                    note=decision_text(drafts[-1].note),
                )
            )
    return drafts


def _working_date(start: date, day: int, *, before_start: bool) -> date:
    """The office day for plan day `day`: weekends move to Monday (Friday before day 1)."""
    value = start + timedelta(days=day - 1)
    while value.weekday() >= 5:
        value += timedelta(days=-1 if before_start else 1)
    return value


def _timestamp(drafts: list[_Draft], rng: random.Random, *, start: date, now: datetime) -> None:
    """Give each draft an instant in office hours (WIB); drop those after `now`."""
    by_date: dict[date, list[_Draft]] = defaultdict(list)
    for draft in drafts:
        by_date[_working_date(start, draft.day, before_start=draft.day < 1)].append(draft)
    for day, group in by_date.items():
        minutes = sorted(rng.sample(range(WORK_START_MINUTE, WORK_END_MINUTE), len(group)))
        for draft, minute in zip(group, minutes, strict=True):
            local = datetime.combine(day, time(minute // 60, minute % 60), tzinfo=WIB)
            draft.at = local.astimezone(UTC)
    drafts[:] = [d for d in drafts if d.at is not None and d.at <= now]


# About half the directives are answered by the lead unit, one to six days later.
ANSWER_SHARE = 0.55
ANSWER_DELAY_DAYS = (1, 6)


def _answer_directives(spec: TaskSpec, drafts: list[_Draft], *, seed: int, now: datetime) -> None:
    """Add the lead unit's follow-ups to some of the task's directives, timed already (in
    office hours, up to `now`, never after the task was cancelled). Their own random stream,
    seeded by the task, so the rest of the story and its clock stay as they were."""
    rng = random.Random(zlib.crc32(f"{seed}:{spec.title}".encode()))
    cancelled_at = min(
        (d.at for d in drafts if d.kind == EventKind.cancelled and d.at), default=None
    )
    given = [(d, d.at) for d in drafts if d.kind == EventKind.directive and d.at is not None]
    for directive, directed_at in given:
        answered = rng.random() < ANSWER_SHARE
        delay = rng.randint(*ANSWER_DELAY_DAYS)
        minute = rng.randrange(WORK_START_MINUTE, WORK_END_MINUTE)
        variant = rng.randrange(2)
        day = directed_at.astimezone(WIB).date() + timedelta(days=delay)
        while day.weekday() >= 5:
            day += timedelta(days=1)
        # Half a minute past: no other event of the story falls on it (they are on the minute).
        at = datetime.combine(day, time(minute // 60, minute % 60, 30), tzinfo=WIB).astimezone(UTC)
        if not answered or at > now or (cancelled_at is not None and at >= cancelled_at):
            continue
        drafts.append(
            _Draft(
                directive.day + delay,
                "lead",
                EventKind.follow_up,
                note=follow_up_text(directive.note, variant),
                at=at,
                answers=directive,
            )
        )
    drafts.sort(key=lambda d: d.at or now)


@dataclass
class _SimTask:
    spec: TaskSpec
    data: TaskCreate
    events: list[dict[str, Any]]
    state: dict[str, Any]
    # (follow-up, directive) instants, linked by id once written (demo_directives).
    answers: list[tuple[datetime, datetime]] = field(default_factory=list)


def _finish(sim: _SimTask, drafts: list[_Draft], actors: dict[str, int]) -> None:
    """Turn drafts into event rows with exact [old, new] changes, replaying as it goes."""
    state = sim.state
    for draft in drafts:
        changes: dict[str, Any] = {}
        from_status: TaskStatus | None = None
        if draft.kind == EventKind.decision and state["status"] in (
            TaskStatus.done,
            TaskStatus.cancelled,
        ):
            # Executives decide on open tasks only; on a closed one the team clears the flag.
            draft = dataclasses.replace(draft, actor="team", kind=EventKind.edited, note="")
        if draft.kind == EventKind.created:
            changes = {
                k: [None, jsonable(v)]
                for k, v in sim.data.model_dump().items()
                if v not in (None, "", [], False)
            }
        elif draft.to_status is not None:
            from_status = state["status"]
            obstacle = draft.sets.get("reason")
            reason = obstacle.reason if isinstance(obstacle, _Obstacle) else ""
            changes = workflow.status_changes(
                status=from_status,
                blocked_reason=state["blocked_reason"],
                progress_pct=state["progress_pct"],
                to_status=draft.to_status,
                reason=reason,
            )
            if draft.to_status == TaskStatus.blocked:
                draft.note = draft.note or reason
        for name, new in draft.sets.items():
            if name in state and state[name] != new:
                changes[name] = [state[name], new]
        if draft.evidence is not None:
            # Keyed by the evidence row's id once _write has inserted it.
            changes["evidence"] = [None, {"id": None, **draft.evidence}]
        if draft.answers is not None and draft.answers.at is not None and draft.at is not None:
            # The directive's id once written (demo_directives.link_follow_ups).
            changes["directive_id"] = [None, None]
            sim.answers.append((draft.at, draft.answers.at))
        if draft.kind in (EventKind.progress, EventKind.edited, EventKind.decision) and not changes:
            continue
        actor = actors.get(draft.actor, actors["team"])
        row = {
            "actor_id": actor,
            "at": draft.at,
            "kind": draft.kind,
            "from_status": from_status,
            "to_status": draft.to_status,
            "changes": changes,
            "note": draft.note,
        }
        apply_event(state, row)
        sim.events.append(row)


# --- loading ---------------------------------------------------------------------------


@dataclass
class DemoSummary:
    plan: Plan
    plan_created: bool
    reference: ReferenceCounts
    users_created: list[str]
    users_present: list[str]
    logins: list[DemoLogin]
    password: str
    tasks_created: int = 0
    tasks_present: int = 0
    events_created: int = 0


def load_demo(
    session: Session,
    *,
    start_date: date | None,
    today: date | None = None,
    seed: int = 2025,
    password: str = DEMO_PASSWORD,
) -> DemoSummary:
    """Load the reference data, the demo logins and the demo plan with its history.

    Day 1 is `start_date`, or placed so that `today` (default: today in WIB) is day 45. The
    history runs up to now (or the end of `today` when that is earlier). Whatever exists
    already (plan by name, users by username, the plan's tasks) is left alone.
    """
    # Refuse a bad password before the reference data is committed: nothing half-loaded.
    accounts.validate_password(password)
    reference = load_reference(session)
    now = datetime.now(UTC)
    today = today or now.astimezone(WIB).date()
    now = min(now, datetime.combine(today, time(23, 59), tzinfo=WIB).astimezone(UTC))
    catalogue = task_catalogue()
    units = {u.code: u for u in session.exec(select(Unit)).all()}
    created, present, logins = _ensure_users(
        session, units=units, lead_codes={s.lead for s in catalogue}, password=password
    )
    plan = session.exec(select(Plan).where(Plan.name == PLAN_NAME)).first()
    summary = DemoSummary(
        plan=plan or _new_plan(start_date or today - timedelta(days=TODAY_DAY - 1)),
        plan_created=plan is None,
        reference=reference,
        users_created=created,
        users_present=present,
        logins=logins,
        password=password,
    )
    plan = summary.plan
    # The demo plan's calendar has the national holidays of its own years.
    holidays = holiday_source.load_plan_holidays(session, plan)
    summary.reference = dataclasses.replace(reference, holidays=reference.holidays + holidays)
    if plan.id is not None:
        summary.tasks_present = session.exec(
            select(func.count()).select_from(Task).where(Task.plan_id == plan.id)
        ).one()
    if summary.tasks_present == 0:
        sims = _simulate(session, plan=plan, catalogue=catalogue, units=units, seed=seed, now=now)
        summary.tasks_created, summary.events_created = _write(session, plan=plan, sims=sims)
        session.flush()
        publish_demo(session, plan=plan, seed=seed)
    session.add(plan)
    session.commit()
    return summary


def _new_plan(start: date) -> Plan:
    return Plan(
        name=PLAN_NAME,
        start_date=start,
        length_days=PLAN_LENGTH,
        day_mode=DayMode.calendar,
        timezone="Asia/Jakarta",
        # Approved at the start of day 1 (WIB midnight): later tasks are scope additions.
        baseline_at=datetime.combine(start, time(0, 0), tzinfo=WIB).astimezone(UTC),
        is_current=True,
        created_at=datetime.combine(start - timedelta(days=8), time(9), tzinfo=WIB).astimezone(UTC),
    )


def _simulate(
    session: Session,
    *,
    plan: Plan,
    catalogue: list[TaskSpec],
    units: dict[str, Unit],
    seed: int,
    now: datetime,
) -> list[_SimTask]:
    rng = random.Random(seed)
    # Own stream for clock times, so the story does not depend on the weekday of day 1.
    clock = random.Random(seed + 1)
    programs = {p.code: p.pk for p in session.exec(select(Program)).all()}
    users = session.exec(select(User)).all()
    actors = {u.username: u.pk for u in users}
    actors["team"] = actors["tim.transisi"]
    lead_user = {u.unit_id: u.pk for u in users if u.role == Role.unit}
    sims = []
    for index, spec in enumerate(catalogue):
        created_day = spec.added_day or -5 + index * 6 // len(catalogue)  # H-6 … H-1
        drafts = _life(spec, rng, created_day=created_day)
        _timestamp(drafts, clock, start=plan.start_date, now=now)
        if not drafts or drafts[0].kind != EventKind.created:
            continue  # not created yet at `now`
        _answer_directives(spec, drafts, seed=seed, now=now)
        lead = units[spec.lead]
        data = TaskCreate(
            title=spec.title,
            description=spec.description,
            lead_unit_id=lead.pk,
            supporting_unit_ids=[units[c].pk for c in spec.supporting if c != spec.lead],
            program_ids=[programs[c] for c in spec.programs],
            district_id=units[spec.district].pk if spec.district else None,
            village=spec.village,
            due_date=plan.start_date + timedelta(days=spec.due_day - 1),
            weight=spec.weight,
            target=spec.target,
        )
        sim = _SimTask(spec=spec, data=data, events=[], state=initial_state())
        _finish(sim, drafts, {**actors, "lead": lead_user.get(lead.id, actors["team"])})
        sims.append(sim)
    sims.sort(key=lambda s: s.events[0]["at"])
    return sims


def _review_since(sim: _SimTask, plan: Plan) -> date | None:
    """The plan-local date of the task's last move into Menunggu Verifikasi (as the write
    path records it), or None."""
    moves: list[datetime] = [
        row["at"] for row in sim.events if row["to_status"] == TaskStatus.review
    ]
    if not moves:
        return None
    return max(moves).astimezone(ZoneInfo(plan.timezone)).date()


def _write(session: Session, *, plan: Plan, sims: list[_SimTask]) -> tuple[int, int]:
    """Insert tasks (codes in creation order), their links and every event in time order."""
    if plan.id is None:
        session.add(plan)
        session.flush()
    first_number = plan.next_task_number
    tasks = []
    for offset, sim in enumerate(sims):
        state = sim.state
        tasks.append(
            Task(
                plan_id=plan.pk,
                code=f"T-{first_number + offset:03d}",
                **sim.data.model_dump(
                    exclude={"supporting_unit_ids", "program_ids", "needs_decision"}
                ),
                status=state["status"],
                progress_pct=state["progress_pct"],
                realisation=state["realisation"],
                blocked_reason=state["blocked_reason"],
                needs_decision=state["needs_decision"],
                done_at=state["done_at"],
                review_since_date=_review_since(sim, plan),
                version=state["version"],
                created_at=sim.events[0]["at"],
                updated_at=sim.events[-1]["at"],
                position=0,
            )
        )
    plan.next_task_number = first_number + len(tasks)
    _assign_positions(tasks, sims)
    session.add_all(tasks)
    session.flush()
    rows: list[dict[str, Any]] = []
    for task, sim in zip(tasks, sims, strict=True):
        session.add_all(
            TaskSupportingUnit(task_id=task.pk, unit_id=u) for u in sim.data.supporting_unit_ids
        )
        session.add_all(TaskProgram(task_id=task.pk, program_id=p) for p in sim.data.program_ids)
        rows += [{**event, "plan_id": plan.id, "task_id": task.id} for event in sim.events]
    rows.sort(key=lambda r: (r["at"], r["task_id"]))
    _write_evidence(session, rows)
    insert_seeded_history(session, rows)
    link_follow_ups(
        session,
        plan_id=plan.pk,
        answers=(
            Answer(task_id=task.pk, follow_up_at=follow_up, directive_at=directive)
            for task, sim in zip(tasks, sims, strict=True)
            for follow_up, directive in sim.answers
        ),
    )
    return len(tasks), len(rows)


def _write_evidence(session: Session, rows: list[dict[str, Any]]) -> None:
    """The evidence rows the `evidence` events attach, and their ids into those events."""
    pending = []
    for row in rows:
        if row["kind"] != EventKind.evidence:
            continue
        item = row["changes"].pop("evidence")[1]
        evidence = Evidence(
            task_id=row["task_id"],
            kind=EvidenceKind(item["kind"]),
            caption=item["caption"],
            url=item["url"],
            uploaded_by=row["actor_id"],
            created_at=row["at"],
        )
        session.add(evidence)
        pending.append((evidence, item, row))
    session.flush()
    for evidence, item, row in pending:
        item["id"] = evidence.id
        row["changes"][change_key(evidence.pk)] = [None, item]


def _assign_positions(tasks: list[Task], sims: list[_SimTask]) -> None:
    """1..n per column, the most recently moved card on top (as the services place them)."""
    columns: dict[TaskStatus, list[tuple[datetime, int, Task]]] = defaultdict(list)
    for index, (task, sim) in enumerate(zip(tasks, sims, strict=True)):
        if task.status not in BOARD_STATUSES:
            continue
        moved_at = max(e["at"] for e in sim.events if e["to_status"] is not None)
        columns[TaskStatus(task.status)].append((moved_at, index, task))
    for cards in columns.values():
        cards.sort(key=lambda c: (c[0], c[1]), reverse=True)
        for position, (_, _, task) in enumerate(cards, start=1):
            task.position = position


def status_counts(session: Session, *, plan_id: int) -> dict[TaskStatus, int]:
    """Tasks per status in a plan (every status present, 0 when none)."""
    counts = dict.fromkeys(TaskStatus, 0)
    for status, count in session.exec(
        select(Task.status, func.count()).where(Task.plan_id == plan_id).group_by(col(Task.status))
    ).all():
        counts[TaskStatus(status)] = count
    return counts
