"""Evidence (bukti dukung) on a task: attach a file or a link, list, remove (soft), serve.

Attaching and removing each write one task event of kind `evidence` whose changes hold
`{"evidence_<id>": [old, new]}`: `[null, item]` when added, `[item, null]` when removed (one
key per item, so every change's old value is the previous new one, as for task fields). The
history keeps who showed what, and who took it away, when.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlsplit

from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from app import permissions, text_input
from app.db import utcnow
from app.errors import NotFound, RuleViolation
from app.models import (
    CAPTION_MAX,
    URL_MAX,
    EventKind,
    Evidence,
    EvidenceKind,
    EvidencePublic,
    Task,
    User,
)
from app.services.evidence_files import (
    BY_CONTENT_TYPE,
    EvidenceStore,
    FileType,
    StoredFile,
    format_size,
)
from app.services.history import load_for_write, record_event
from app.services.task_reads import get_task


@dataclass
class EvidenceView:
    evidence: Evidence
    uploader_name: str
    uploader_unit_id: int | None
    remover_name: str | None = None
    can_remove: bool = False

    @property
    def file_type(self) -> FileType | None:
        return BY_CONTENT_TYPE.get(self.evidence.content_type)

    @property
    def is_image(self) -> bool:
        return self.file_type is not None and self.file_type.is_image

    @property
    def size_label(self) -> str:
        return format_size(self.evidence.size_bytes)

    @property
    def href(self) -> str:
        e = self.evidence
        return e.url if e.kind == EvidenceKind.link else f"/tasks/{e.task_id}/evidence/{e.id}"

    @property
    def title(self) -> str:
        e = self.evidence
        return e.filename if e.kind == EvidenceKind.file else _short_url(e.url)


def _short_url(url: str) -> str:
    parts = urlsplit(url)
    shown = parts.netloc + parts.path
    return shown if len(shown) <= 60 else shown[:59] + "…"


# --- reading ---------------------------------------------------------------------------


def list_evidence(
    session: Session, *, task: Task, user: User | None = None, include_removed: bool = False
) -> list[EvidenceView]:
    """The task's evidence, oldest first, with the uploaders' names (one query)."""
    uploader = aliased(User)
    remover = aliased(User)
    query = (
        select(Evidence, uploader.full_name, uploader.unit_id, remover.full_name)
        .join(uploader, col(uploader.id) == Evidence.uploaded_by)
        .join(remover, col(remover.id) == Evidence.removed_by, isouter=True)
        .where(Evidence.task_id == task.id)
        .order_by(col(Evidence.id))
    )
    if not include_removed:
        query = query.where(col(Evidence.removed_at).is_(None))
    views = []
    for evidence, name, unit_id, remover_name in session.exec(query).all():
        views.append(
            EvidenceView(
                evidence=evidence,
                uploader_name=name,
                uploader_unit_id=unit_id,
                remover_name=remover_name,
                can_remove=(
                    user is not None
                    and evidence.removed_at is None
                    and permissions.can_remove_evidence(user, task, uploader_unit_id=unit_id)
                ),
            )
        )
    return views


def get_evidence(session: Session, *, task_id: int, evidence_id: int) -> Evidence:
    evidence = session.get(Evidence, evidence_id)
    if evidence is None or evidence.task_id != task_id:
        raise NotFound("Bukti dukung tidak ditemukan.")
    return evidence


def evidence_file(
    session: Session, *, task_id: int, evidence_id: int, store: EvidenceStore
) -> tuple[Evidence, Path, FileType]:
    """A stored file to send to a logged-in user (every role may read every task)."""
    evidence = get_evidence(session, task_id=task_id, evidence_id=evidence_id)
    file_type = BY_CONTENT_TYPE.get(evidence.content_type)
    if evidence.kind != EvidenceKind.file or file_type is None:
        raise NotFound("Bukti dukung ini berupa tautan, bukan berkas.")
    if evidence.removed_at is not None:
        raise NotFound("Bukti dukung ini sudah dihapus.")
    path = store.path_of(evidence.sha256)
    if not path.is_file():
        raise NotFound("Berkas bukti dukung tidak ditemukan di penyimpanan.")
    return evidence, path, file_type


def evidence_public(view: EvidenceView) -> EvidencePublic:
    e = view.evidence
    return EvidencePublic.model_validate(
        e,
        update={
            "uploader_name": view.uploader_name,
            "download_url": (
                f"/api/v1/tasks/{e.task_id}/evidence/{e.id}/file"
                if e.kind == EvidenceKind.file and e.removed_at is None
                else None
            ),
        },
    )


# --- validation ------------------------------------------------------------------------


def clean_caption(caption: str) -> str:
    try:
        text = " ".join(text_input.clean_text(caption, multiline=False).split())
    except text_input.TextRefused as exc:
        raise RuleViolation(exc.message, field="caption") from None
    if not text:
        raise RuleViolation(
            "Keterangan bukti dukung wajib diisi (misalnya: foto lokasi setelah pekerjaan).",
            field="caption",
        )
    if len(text) > CAPTION_MAX:
        raise RuleViolation(
            f"Keterangan paling panjang {CAPTION_MAX} karakter (sekarang {len(text)}).",
            field="caption",
        )
    return text


def clean_url(url: str) -> str:
    text = url.strip()
    problem = ""
    if len(text) > URL_MAX:
        problem = f"Tautan paling panjang {URL_MAX} karakter."
    else:
        try:
            parts = urlsplit(text)
            valid = (
                parts.scheme.lower() in ("http", "https")
                and bool(parts.hostname)
                and "@" not in parts.netloc  # no user:password@ that hides the real host
                and not any(ch.isspace() or ord(ch) < 32 for ch in text)
            )
            parts.port  # noqa: B018  (raises on a malformed port)
        except ValueError:
            valid = False
        if not valid:
            problem = "Tautan harus alamat web lengkap yang diawali http:// atau https://."
    if problem:
        raise RuleViolation(problem, field="url")
    return text


# --- writing ---------------------------------------------------------------------------


def change_key(evidence_id: int) -> str:
    """The key of an evidence item in a task event's changes."""
    return f"evidence_{evidence_id}"


def _summary(evidence: Evidence) -> dict[str, Any]:
    return {
        "id": evidence.id,
        "kind": evidence.kind.value if isinstance(evidence.kind, EvidenceKind) else evidence.kind,
        "caption": evidence.caption,
        "filename": evidence.filename,
        "url": evidence.url,
    }


def _attach(session: Session, *, actor: User, task_id: int, evidence: Evidence) -> Evidence:
    task = load_for_write(session, task_id=task_id)
    # Checked again under the write lock: the task may have moved meanwhile.
    permissions.ensure_can_attach_evidence(actor, task)
    session.add(evidence)
    session.flush()
    record_event(
        session,
        task,
        actor=actor,
        kind=EventKind.evidence,
        changes={change_key(evidence.pk): [None, _summary(evidence)]},
        note=evidence.caption,
    )
    session.commit()
    return evidence


def add_link(session: Session, *, actor: User, task_id: int, url: str, caption: str) -> Evidence:
    """A link (a shared folder, a news item, a published document) with its caption."""
    task = get_task(session, task_id=task_id)
    permissions.ensure_can_attach_evidence(actor, task)
    evidence = Evidence(
        task_id=task_id,
        kind=EvidenceKind.link,
        caption=clean_caption(caption),
        url=clean_url(url),
        uploaded_by=actor.pk,
    )
    return _attach(session, actor=actor, task_id=task_id, evidence=evidence)


def add_file(
    session: Session,
    *,
    actor: User,
    task_id: int,
    source: BinaryIO,
    filename: str,
    caption: str,
    store: EvidenceStore,
    max_bytes: int,
) -> Evidence:
    """An uploaded file, checked by its content and kept once per content under its hash.
    Permission and caption are checked before a byte of the upload is read."""
    task = get_task(session, task_id=task_id)
    permissions.ensure_can_attach_evidence(actor, task)
    text = clean_caption(caption)
    stored = store.save(source, original_name=filename, max_bytes=max_bytes)
    evidence = Evidence(
        task_id=task_id,
        kind=EvidenceKind.file,
        caption=text,
        filename=stored.filename,
        content_type=stored.file_type.content_type,
        size_bytes=stored.size_bytes,
        sha256=stored.sha256,
        uploaded_by=actor.pk,
    )
    # A refusal after this point leaves the stored file behind: harmless, since files are
    # named by content and an identical later upload reuses it.
    return _attach(session, actor=actor, task_id=task_id, evidence=evidence)


@dataclass
class RefusedFile:
    filename: str
    message: str


@dataclass
class PhotoBatch:
    """The outcome of one multi-photo upload: the photos kept and each file refused."""

    added: list[Evidence]
    refused: list[RefusedFile]


PHOTO_BATCH_MAX = 10


def add_photos(
    session: Session,
    *,
    actor: User,
    task_id: int,
    photos: list[tuple[BinaryIO, str]],
    caption: str,
    store: EvidenceStore,
    max_bytes: int,
) -> PhotoBatch:
    """Several photos from one upload (the phone's camera), one caption for all.

    Each photo stands on its own: the good ones are kept and every refused file is named with
    its reason, so a user on a weak signal never sends the good photos twice. Files that are
    not photos (JPEG, PNG, WebP) are refused here; documents go through `add_file`. One
    transaction for the kept photos, one `evidence` event each. Nothing is kept when the
    caption is wrong or no file was sent (RuleViolation)."""
    task = get_task(session, task_id=task_id)
    permissions.ensure_can_attach_evidence(actor, task)
    text = clean_caption(caption)
    if not photos:
        raise RuleViolation("Pilih atau ambil foto lebih dulu.", field="photos")
    if len(photos) > PHOTO_BATCH_MAX:
        raise RuleViolation(f"Paling banyak {PHOTO_BATCH_MAX} foto sekali unggah.", field="photos")
    stored: list[StoredFile] = []
    refused: list[RefusedFile] = []
    for source, filename in photos:
        name = filename.replace("\\", "/").rsplit("/", 1)[-1].strip()[:120] or "foto"
        try:
            saved = store.save(source, original_name=filename, max_bytes=max_bytes)
        except RuleViolation as exc:
            refused.append(RefusedFile(name, exc.message))
            continue
        if not saved.file_type.is_image:
            refused.append(RefusedFile(name, f"«{name}» bukan foto ({saved.file_type.label})."))
            continue
        stored.append(saved)
    if not stored:
        return PhotoBatch(added=[], refused=refused)
    task = load_for_write(session, task_id=task_id)
    # Checked again under the write lock: the task may have moved meanwhile.
    permissions.ensure_can_attach_evidence(actor, task)
    added = []
    for number, saved in enumerate(stored, start=1):
        evidence = Evidence(
            task_id=task_id,
            kind=EvidenceKind.file,
            caption=text if len(stored) == 1 else f"{text} ({number}/{len(stored)})"[:200],
            filename=saved.filename,
            content_type=saved.file_type.content_type,
            size_bytes=saved.size_bytes,
            sha256=saved.sha256,
            uploaded_by=actor.pk,
        )
        session.add(evidence)
        session.flush()
        record_event(
            session,
            task,
            actor=actor,
            kind=EventKind.evidence,
            changes={change_key(evidence.pk): [None, _summary(evidence)]},
            note=evidence.caption,
        )
        added.append(evidence)
    session.commit()
    return PhotoBatch(added=added, refused=refused)


def remove_evidence(session: Session, *, actor: User, task_id: int, evidence_id: int) -> Evidence:
    """Soft delete: hidden from the list and no longer served; the row and the history stay."""
    task = load_for_write(session, task_id=task_id)
    evidence = get_evidence(session, task_id=task_id, evidence_id=evidence_id)
    uploader = session.get(User, evidence.uploaded_by)
    permissions.ensure_can_remove_evidence(
        actor, task, uploader_unit_id=uploader.unit_id if uploader else None
    )
    if evidence.removed_at is not None:
        raise RuleViolation("Bukti dukung ini sudah dihapus.")
    evidence.removed_at = utcnow()
    evidence.removed_by = actor.id
    session.add(evidence)
    record_event(
        session,
        task,
        actor=actor,
        kind=EventKind.evidence,
        changes={change_key(evidence_id): [_summary(evidence), None]},
        note=evidence.caption,
    )
    session.commit()
    return evidence


def evidence_view(session: Session, *, evidence: Evidence, user: User) -> EvidenceView:
    """One item as the API shows it."""
    task = get_task(session, task_id=evidence.task_id)
    views = list_evidence(session, task=task, user=user, include_removed=True)
    return next(v for v in views if v.evidence.id == evidence.id)
