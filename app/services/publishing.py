"""What the team publishes on the public page (/publik): the plan's switch lives in the plan
settings and a program's public title, text and flag in the program form (app.services.programs);
here are the per-task and per-evidence flags, and the change stamp they all move.

Only the team publishes. Every change that alters a public page without writing a task event
calls `touch_public`, so the public pages' ETag changes with it (app.services.public_site).
"""

import sqlalchemy as sa
from sqlmodel import Session, col, select

from app import permissions
from app.db import utcnow
from app.errors import NotFound
from app.models import EventKind, Evidence, Plan, Task, User
from app.services.history import load_for_write, record_event


def touch_public(session: Session) -> None:
    """Move every plan's public change stamp (a program or district name is shared by all
    plans). The caller commits."""
    session.execute(
        sa.update(Plan).values(
            public_revision=col(Plan.public_revision) + 1, public_changed_at=utcnow()
        )
    )


def set_task_public(session: Session, *, actor: User, task_id: int, public: bool) -> Task:
    """List (or stop listing) a task on the public page of its published programs; the task's
    history records it."""
    permissions.ensure_team(actor)
    task = load_for_write(session, task_id=task_id)
    if task.is_public != public:
        changes = {"is_public": [task.is_public, public]}
        task.is_public = public
        record_event(session, task, actor=actor, kind=EventKind.edited, changes=changes)
        session.commit()
        session.refresh(task)
    return task


def set_evidence_public(
    session: Session, *, actor: User, task_id: int, evidence_id: int, public: bool
) -> Evidence:
    """Mark a piece of evidence for the public page (shown once it is a photo on a published
    task in Selesai)."""
    permissions.ensure_team(actor)
    evidence = session.exec(
        select(Evidence).where(
            Evidence.id == evidence_id,
            Evidence.task_id == task_id,
            col(Evidence.removed_at).is_(None),
        )
    ).first()
    if evidence is None:
        raise NotFound(f"Bukti dukung #{evidence_id} tidak ditemukan pada tugas ini.")
    if evidence.is_public != public:
        evidence.is_public = public
        session.add(evidence)
        touch_public(session)
        session.commit()
        session.refresh(evidence)
    return evidence
