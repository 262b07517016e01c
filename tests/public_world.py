"""A plan with a public page for the public page's tests: two published programs (one with
published tasks, one without), an unpublished one, tasks in every state, a photo."""

import io
from dataclasses import dataclass

from PIL import Image
from sqlmodel import Session

from app.config import Settings
from app.models import Evidence, Program, ProgramKind, Task, TaskStatus
from app.services import evidence as evidence_service
from app.services import publishing, tasks
from app.services.evidence_files import EvidenceStore
from tests import factories
from tests.factories import World

# Tags of the EXIF GPS IFD and the main IFD (Pillow's ExifTags).
GPS_IFD = 0x8825
GPS_LATITUDE_REF, GPS_LATITUDE, GPS_LONGITUDE_REF, GPS_LONGITUDE = 1, 2, 3, 4
IMAGE_DESCRIPTION = 0x010E
MAKE = 0x010F
PHOTO_SECRET = "ZQEXIFSECRETQZ"


def gps_photo(*, width: int = 1600, height: int = 1200, comment: str = PHOTO_SECRET) -> bytes:
    """A JPEG with a GPS position (2°59′S 104°45′E, Banyuasin), a camera make and a
    description in its EXIF, as a phone camera writes them."""
    image = Image.new("RGB", (width, height), (40, 140, 90))
    exif = Image.Exif()
    exif[IMAGE_DESCRIPTION] = comment
    exif[MAKE] = "PhoneMaker"
    gps = exif.get_ifd(GPS_IFD)
    gps[GPS_LATITUDE_REF] = "S"
    gps[GPS_LATITUDE] = (2.0, 59.0, 12.5)
    gps[GPS_LONGITUDE_REF] = "E"
    gps[GPS_LONGITUDE] = (104.0, 45.0, 3.25)
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, quality=80)
    return out.getvalue()


@dataclass
class PublicWorld:
    world: World
    published: Program  # published, with published tasks
    bare: Program  # published, none of its tasks published
    hidden: Program  # not published
    done: Task  # published, Selesai, with a public photo
    running: Task  # published, Sedang Berjalan
    review: Task  # published, Menunggu Verifikasi
    unlisted: Task  # in the published program, not published
    secret: Task  # only in the hidden program
    photo: Evidence


def publish_program(session: Session, program: Program, title: str) -> None:
    program.is_public = True
    program.public_title = title
    program.public_description = f"Uraian untuk warga: {title}."
    session.add(program)
    publishing.touch_public(session)
    session.commit()


def make_public_world(session: Session, world: World, settings: Settings) -> PublicWorld:
    w = world
    w.plan.public_enabled = True
    session.add(w.plan)
    session.commit()
    bare = factories.make_program(session, code="TERBUKA", kind=ProgramKind.priority)
    hidden = factories.make_program(session, code="RAHASIA", kind=ProgramKind.movement)
    publish_program(session, w.membangun, "Jalan dan jembatan yang layak")
    publish_program(session, bare, "Informasi publik yang terbuka")
    membangun = [w.membangun.id]

    def task(title: str, status: TaskStatus, programs: list[int | None]) -> Task:
        return factories.make_task(
            session,
            actor=w.team,
            plan=w.plan,
            lead=w.putr,
            title=title,
            status=status,
            program_ids=programs,
            district_id=w.district.id,
        )

    done = task("Jembatan Sungai Lilin selesai dibangun", TaskStatus.review, membangun)
    running = task("Pengaspalan jalan desa", TaskStatus.in_progress, membangun)
    review = task("Perbaikan drainase pasar", TaskStatus.review, membangun)
    unlisted = task("Kegiatan yang belum dipublikasikan", TaskStatus.todo, membangun)
    secret = task("Kegiatan program tertutup", TaskStatus.in_progress, [hidden.id])
    task("Kegiatan keterbukaan", TaskStatus.todo, [bare.id])
    for item in (done, running, review):
        publishing.set_task_public(session, actor=w.team, task_id=item.id or 0, public=True)
    photo = evidence_service.add_file(
        session,
        actor=w.team,
        task_id=done.id or 0,
        source=io.BytesIO(gps_photo()),
        filename="jembatan.jpg",
        caption="Foto jembatan",
        store=EvidenceStore(settings.evidence_dir),
        max_bytes=settings.evidence_max_bytes,
    )
    publishing.set_evidence_public(
        session, actor=w.team, task_id=done.id or 0, evidence_id=photo.id or 0, public=True
    )
    session.refresh(done)
    done = verify(session, w, done)
    return PublicWorld(
        world=w,
        published=w.membangun,
        bare=bare,
        hidden=hidden,
        done=done,
        running=running,
        review=review,
        unlisted=unlisted,
        secret=secret,
        photo=photo,
    )


def verify(session: Session, world: World, task: Task) -> Task:
    session.refresh(task)
    return tasks.verify_task(session, actor=world.team, task_id=task.id or 0, version=task.version)
