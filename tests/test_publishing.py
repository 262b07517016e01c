"""What the team publishes: the plan's switch (plan settings), a program's public title, text
and flag (program form), a task's and a photo's flags (task page); only the team may."""

import io

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from app.config import Settings
from app.errors import Forbidden, NotFound
from app.models import Plan, TaskEvent
from app.services import evidence as evidence_service
from app.services import publishing
from app.services.evidence_files import EvidenceStore
from tests import factories
from tests.factories import World
from tests.public_world import gps_photo


def plan_form(plan: Plan, **overrides: str) -> dict[str, str]:
    data = {
        "name": plan.name,
        "start_date": plan.start_date.isoformat(),
        "length_days": str(plan.length_days),
        "day_mode": plan.day_mode.value,
        "timezone": plan.timezone,
        "baseline_at": "",
    }
    data.update(overrides)
    return data


def test_the_team_turns_the_public_page_on_and_off_in_the_plan_settings(
    client: TestClient, session: Session, world: World
) -> None:
    assert client.get("/publik").status_code == 404
    csrf = factories.login(client, world.team)
    page = client.get(f"/admin/plan/{world.plan.id}")
    assert 'name="public_enabled"' in page.text
    response = client.post(
        f"/admin/plan/{world.plan.id}",
        data={**plan_form(world.plan, public_enabled="on"), "csrf_token": csrf},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert client.get("/publik").status_code == 200
    client.post(
        f"/admin/plan/{world.plan.id}",
        data={**plan_form(world.plan), "csrf_token": csrf},
        follow_redirects=False,
    )
    assert client.get("/publik").status_code == 404


def test_a_program_is_published_with_its_public_title(
    client: TestClient, session: Session, world: World
) -> None:
    world.plan.public_enabled = True
    session.add(world.plan)
    session.commit()
    csrf = factories.login(client, world.team)
    program = world.sehat
    base = {
        "kind": program.kind.value,
        "code": program.code,
        "short_name": program.short_name,
        "name": program.name,
        "sort_order": str(program.sort_order),
        "csrf_token": csrf,
    }
    refused = client.post(f"/admin/programs/{program.id}/edit", data={**base, "is_public": "on"})
    assert refused.status_code == 422
    assert 'id="f-public_title-error"' in refused.text
    session.commit()
    session.refresh(program)
    assert not program.is_public
    saved = client.post(
        f"/admin/programs/{program.id}/edit",
        data={
            **base,
            "is_public": "on",
            "public_title": "Puskesmas buka 24 jam",
            "public_description": "Layanan gawat darurat di setiap kecamatan.",
        },
        follow_redirects=False,
    )
    assert saved.status_code == 303
    session.commit()  # a new snapshot: the app wrote through its own session
    session.refresh(program)
    assert (program.is_public, program.public_title) == (True, "Puskesmas buka 24 jam")
    assert "Puskesmas buka 24 jam" in client.get("/publik").text
    form = client.get(f"/admin/programs/{program.id}/edit").text
    assert "Layanan gawat darurat di setiap kecamatan." in form


@pytest.mark.parametrize("role", ["putr_head", "executive"])
def test_only_the_team_publishes_tasks_and_photos(
    session: Session, world: World, settings: Settings, role: str
) -> None:
    task = factories.make_task(session, actor=world.team, plan=world.plan, lead=world.putr)
    photo = evidence_service.add_file(
        session,
        actor=world.team,
        task_id=task.id or 0,
        source=io.BytesIO(gps_photo(width=40, height=30)),
        filename="foto.jpg",
        caption="Foto",
        store=EvidenceStore(settings.evidence_dir),
        max_bytes=settings.evidence_max_bytes,
    )
    actor = getattr(world, role)
    with pytest.raises(Forbidden):
        publishing.set_task_public(session, actor=actor, task_id=task.id or 0, public=True)
    with pytest.raises(Forbidden):
        publishing.set_evidence_public(
            session, actor=actor, task_id=task.id or 0, evidence_id=photo.id or 0, public=True
        )
    session.refresh(task)
    session.refresh(photo)
    assert not task.is_public
    assert not photo.is_public


def test_the_task_page_publishes_a_task_and_a_photo(
    client: TestClient, session: Session, world: World, settings: Settings
) -> None:
    task = factories.make_task(session, actor=world.team, plan=world.plan, lead=world.putr)
    photo = evidence_service.add_file(
        session,
        actor=world.putr_head,
        task_id=task.id or 0,
        source=io.BytesIO(gps_photo(width=40, height=30)),
        filename="foto.jpg",
        caption="Foto",
        store=EvidenceStore(settings.evidence_dir),
        max_bytes=settings.evidence_max_bytes,
    )
    # A unit user sees no publishing control, and its post is refused.
    unit_csrf = factories.login(client, world.putr_head)
    assert "Tampilkan di halaman publik" not in client.get(f"/tasks/{task.id}").text
    refused = client.post(f"/tasks/{task.id}/public", data={"public": "1", "csrf_token": unit_csrf})
    assert refused.status_code == 403

    csrf = factories.login(client, world.team)
    page = client.get(f"/tasks/{task.id}").text
    assert "Tampilkan di halaman publik" in page
    assert "Tandai publik" in page
    done = client.post(
        f"/tasks/{task.id}/public",
        data={"public": "1", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert done.status_code == 303
    shown = client.get(done.headers["location"]).text
    assert "Tugas ini tampil di halaman publik" in shown
    assert "Tampil di halaman publik" in shown  # the badge, and the history line
    fragment = client.post(
        f"/tasks/{task.id}/evidence/{photo.id}/public",
        data={"public": "1", "csrf_token": csrf},
        headers={"HX-Request": "true"},
    )
    assert fragment.status_code == 200
    assert "tampil setelah tugas Selesai" in fragment.text
    session.commit()
    session.refresh(task)
    session.refresh(photo)
    assert task.is_public
    assert photo.is_public
    event = session.exec(
        select(TaskEvent).where(TaskEvent.task_id == task.pk).order_by(col(TaskEvent.id).desc())
    ).first()
    assert event is not None
    assert event.changes == {"is_public": [False, True]}


def test_a_removed_photo_cannot_be_published(
    session: Session, world: World, settings: Settings
) -> None:
    task = factories.make_task(session, actor=world.team, plan=world.plan, lead=world.putr)
    photo = evidence_service.add_file(
        session,
        actor=world.team,
        task_id=task.id or 0,
        source=io.BytesIO(gps_photo(width=40, height=30)),
        filename="foto.jpg",
        caption="Foto",
        store=EvidenceStore(settings.evidence_dir),
        max_bytes=settings.evidence_max_bytes,
    )
    evidence_service.remove_evidence(
        session, actor=world.team, task_id=task.id or 0, evidence_id=photo.id or 0
    )
    with pytest.raises(NotFound):
        publishing.set_evidence_public(
            session, actor=world.team, task_id=task.id or 0, evidence_id=photo.id or 0, public=True
        )
