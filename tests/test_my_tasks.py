""" "Tugas saya": the urgency order, the supporting section, the three forms per item (full
page and htmx fragment), the confirmation for an incomplete task sent for verification, and
the multi-photo upload with a mix of good and refused files."""

import io
import re
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from PIL import Image
from sqlmodel import Session, col, select

from app.models import EventKind, Evidence, Task, TaskEvent, TaskStatus, User
from app.services import my_tasks, tasks
from app.services.my_tasks import Urgency
from tests.factories import World, login, make_task

HX = {"HX-Request": "true"}


def _today(world: World) -> date:
    return world.plan.start_date + timedelta(days=44)


def _jpeg(color: tuple[int, int, int] = (30, 120, 90)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), color).save(buffer, "JPEG")
    return buffer.getvalue()


@pytest.fixture
def spread(session: Session, world: World) -> dict[str, Task]:
    """One task of PUTR for each urgency, in a shuffled creation order, and one it supports."""
    today = _today(world)
    put = world.putr
    made = {
        "rest_todo": make_task(
            session,
            actor=world.team,
            plan=world.plan,
            lead=put,
            title="Belum mulai",
            due_date=today + timedelta(days=40),
        ),
        "due_soon": make_task(
            session,
            actor=world.team,
            plan=world.plan,
            lead=put,
            title="Tenggat dekat",
            status=TaskStatus.in_progress,
            due_date=today + timedelta(days=3),
        ),
        "blocked": make_task(
            session,
            actor=world.team,
            plan=world.plan,
            lead=put,
            title="Terkendala lahan",
            status=TaskStatus.blocked,
            due_date=today + timedelta(days=30),
        ),
        "late": make_task(
            session,
            actor=world.team,
            plan=world.plan,
            lead=put,
            title="Sudah lewat",
            status=TaskStatus.in_progress,
            due_date=today - timedelta(days=3),
        ),
        "rest_doing": make_task(
            session,
            actor=world.team,
            plan=world.plan,
            lead=put,
            title="Sedang jalan",
            status=TaskStatus.in_progress,
            due_date=today + timedelta(days=40),
        ),
        "directive": make_task(
            session,
            actor=world.team,
            plan=world.plan,
            lead=put,
            title="Ada arahan",
            status=TaskStatus.in_progress,
            due_date=today + timedelta(days=30),
        ),
        "rejected": make_task(
            session,
            actor=world.team,
            plan=world.plan,
            lead=put,
            title="Dikembalikan",
            status=TaskStatus.review,
            due_date=today + timedelta(days=30),
        ),
        "done": make_task(
            session,
            actor=world.team,
            plan=world.plan,
            lead=put,
            title="Sudah selesai",
            status=TaskStatus.done,
        ),
        "supported": make_task(
            session,
            actor=world.team,
            plan=world.plan,
            lead=world.dinkes,
            title="Dukungan",
            supporting_unit_ids=[put.id],
        ),
        "other": make_task(
            session,
            actor=world.team,
            plan=world.plan,
            lead=world.dinkes,
            title="Bukan urusan",
        ),
    }
    rejected = made["rejected"]
    tasks.reject_task(
        session,
        actor=world.team,
        task_id=rejected.id or 0,
        version=rejected.version,
        note="Foto belum menunjukkan hasil akhir.",
    )
    tasks.add_directive(
        session, actor=world.executive, task_id=made["directive"].id or 0, note="Percepat."
    )
    # A directive that was answered by a note is no longer open.
    tasks.add_directive(
        session, actor=world.executive, task_id=made["rest_doing"].id or 0, note="Laporkan."
    )
    tasks.add_comment(
        session, actor=world.putr_head, task_id=made["rest_doing"].id or 0, note="Sudah."
    )
    return made


def test_the_unit_s_tasks_come_most_urgent_first(
    session: Session, world: World, spread: dict[str, Task]
) -> None:
    view = my_tasks.my_tasks(session, user=world.putr_head, plan=world.plan)

    assert [i.task.title for i in view.led] == [
        "Sudah lewat",
        "Dikembalikan",
        "Ada arahan",
        "Terkendala lahan",
        "Tenggat dekat",
        "Sedang jalan",
        "Belum mulai",
        "Sudah selesai",
    ]
    assert [i.urgency for i in view.led[:5]] == [
        Urgency.late,
        Urgency.rejected,
        Urgency.directive,
        Urgency.blocked,
        Urgency.due_soon,
    ]
    assert view.led[0].days_late == 3
    assert [i.task.title for i in view.supported] == ["Dukungan"]
    assert view.supported[0].move_targets == []
    assert not view.supported[0].can_work
    assert all(i.can_work for i in view.led)
    last = view.led[1].last_change
    assert last is not None
    assert last.kind == EventKind.rejected
    assert last.actor_name == world.team.full_name


def test_the_page_costs_the_same_queries_for_many_tasks(
    client: TestClient,
    session: Session,
    world: World,
    spread: dict[str, Task],
    statements: list[str],
) -> None:
    login(client, world.putr_head)

    def count() -> int:
        statements.clear()
        assert client.get("/my-tasks").status_code == 200
        return len(statements)

    few = count()
    for n in range(12):
        make_task(session, actor=world.team, plan=world.plan, lead=world.putr, title=f"Tugas {n}")
    assert count() == few


def test_the_page_lists_both_sections_with_forms_only_on_led_tasks(
    client: TestClient, world: World, spread: dict[str, Task]
) -> None:
    login(client, world.putr_head)
    html = client.get("/my-tasks").text

    assert html.index("Sudah lewat") < html.index("Dikembalikan") < html.index("Belum mulai")
    assert "Unit saya sebagai pendukung" in html
    assert "Bukan urusan" not in html
    supported = spread["supported"].id
    assert f'action="/my-tasks/{supported}/progress"' not in html
    late = spread["late"].id
    assert f'action="/my-tasks/{late}/progress"' in html
    assert 'capture="environment" multiple' in html
    assert "Foto bukti" in html
    # The status choice shows only this unit's targets, never Selesai.
    assert '<option value="done"' not in html


def test_an_executive_or_the_team_sees_an_explanation(client: TestClient, world: World) -> None:
    login(client, world.team)
    assert "untuk pengguna perangkat daerah dan kecamatan" in client.get("/my-tasks").text


def _status(session: Session, task: Task) -> TaskStatus:
    session.rollback()  # a fresh snapshot (SQLite)
    session.refresh(task)
    return TaskStatus(task.status)


def _csrf(client: TestClient) -> str:
    found = re.search(r'<meta name="csrf-token" content="([^"]+)">', client.get("/my-tasks").text)
    assert found is not None
    return found.group(1)


def test_progress_saves_and_answers_with_the_item_and_its_message(
    client: TestClient, session: Session, world: World, spread: dict[str, Task]
) -> None:
    login(client, world.putr_head)
    csrf = _csrf(client)
    task = spread["due_soon"]
    form = {"csrf_token": csrf, "version": str(task.version), "progress_pct": "60"}

    plain = client.post(f"/my-tasks/{task.id}/progress", data=form, follow_redirects=False)
    assert plain.status_code == 303
    assert plain.headers["location"] == f"/my-tasks?ok=progress&task={task.id}#task-{task.id}"
    page = client.get(plain.headers["location"])
    assert 'id="result-' in page.text
    assert "Capaian dan realisasi tersimpan." in page.text

    session.rollback()  # a fresh snapshot (SQLite)
    session.refresh(task)
    form = {"csrf_token": csrf, "version": str(task.version), "progress_pct": "75"}
    hx = client.post(f"/my-tasks/{task.id}/progress", data=form, headers=HX)
    assert hx.status_code == 200
    assert hx.text.lstrip().startswith("<article")
    assert f'id="task-{task.id}"' in hx.text
    assert "Capaian 75%" in hx.text
    assert "Capaian dan realisasi tersimpan." in hx.text

    bad = client.post(
        f"/my-tasks/{task.id}/progress",
        data={"csrf_token": csrf, "version": str(task.version + 1), "progress_pct": "140"},
        headers=HX,
    )
    assert bad.status_code == 422
    assert 'aria-invalid="true"' in bad.text
    assert "Belum tersimpan." in bad.text


def test_another_unit_cannot_act_on_the_item(
    client: TestClient, world: World, spread: dict[str, Task]
) -> None:
    login(client, world.dinkes_head)
    csrf = _csrf(client)
    task = spread["late"]
    for path, data in (
        ("progress", {"progress_pct": "10", "version": str(task.version)}),
        ("move", {"status": "blocked", "blocked_reason": "x", "version": str(task.version)}),
        ("photos", {}),
    ):
        response = client.post(f"/my-tasks/{task.id}/{path}", data={"csrf_token": csrf, **data})
        assert response.status_code == 403, path


def test_sending_an_incomplete_task_for_verification_asks_for_confirmation(
    client: TestClient, session: Session, world: World, spread: dict[str, Task]
) -> None:
    login(client, world.putr_head)
    csrf = _csrf(client)
    task = spread["due_soon"]
    form = {
        "csrf_token": csrf,
        "version": str(task.version),
        "status": "review",
        "note": "Bukti fisik diserahkan langsung.",
    }
    asked = client.post(f"/my-tasks/{task.id}/move", data=form, headers=HX)
    assert asked.status_code == 422
    assert "Capaian tugas ini baru 0 %" in asked.text
    assert _status(session, task) == TaskStatus.in_progress

    sent = client.post(
        f"/my-tasks/{task.id}/move", data={**form, "confirm_incomplete": "1"}, headers=HX
    )
    assert sent.status_code == 200
    assert "Tugas dikirim untuk diverifikasi; Tim Transisi akan memeriksanya." in sent.text
    assert _status(session, task) == TaskStatus.review


def test_a_blocked_move_without_reason_is_refused_at_the_field(
    client: TestClient, world: World, spread: dict[str, Task]
) -> None:
    login(client, world.putr_head)
    csrf = _csrf(client)
    task = spread["rest_doing"]
    form = {"csrf_token": csrf, "version": str(task.version), "status": "blocked"}
    plain = client.post(f"/my-tasks/{task.id}/move", data=form)
    assert plain.status_code == 422
    assert 'aria-invalid="true"' in plain.text
    assert "Belum tersimpan." in plain.text
    assert "<html" in plain.text  # without JS the whole page, with the item's message


def _photo_upload(
    client: TestClient, task: Task, csrf: str, files: list[tuple[str, bytes, str]], **data: str
) -> Response:
    response: Response = client.post(
        f"/my-tasks/{task.id}/photos",
        data={"csrf_token": csrf, **data},
        files=[("photos", (name, content, kind)) for name, content, kind in files],
        headers=HX,
    )
    return response


def test_several_photos_in_one_upload_keep_the_good_and_name_each_refused_file(
    client: TestClient, session: Session, world: World, spread: dict[str, Task]
) -> None:
    login(client, world.putr_head)
    csrf = _csrf(client)
    task = spread["late"]
    response = _photo_upload(
        client,
        task,
        csrf,
        [
            ("depan.jpg", _jpeg((10, 10, 10)), "image/jpeg"),
            ("laporan.jpg", b"<html>bukan foto</html>", "image/jpeg"),
            ("samping.jpg", _jpeg((200, 10, 10)), "image/jpeg"),
            ("rab.pdf", b"%PDF-1.4\n%%EOF\n", "application/pdf"),
            ("belakang.jpg", _jpeg((10, 200, 10)), "image/jpeg"),
        ],
        caption="Pengecoran tahap 2",
    )
    assert response.status_code == 200
    text = response.text
    assert "3 foto dilampirkan." in text
    assert "laporan.jpg" in text
    assert "«rab.pdf» bukan foto" in text

    session.rollback()
    kept = session.exec(
        select(Evidence).where(Evidence.task_id == task.id).order_by(col(Evidence.id))
    ).all()
    assert [e.caption for e in kept] == [
        "Pengecoran tahap 2 (1/3)",
        "Pengecoran tahap 2 (2/3)",
        "Pengecoran tahap 2 (3/3)",
    ]
    assert {e.content_type for e in kept} == {"image/jpeg"}
    events = session.exec(
        select(TaskEvent).where(TaskEvent.task_id == task.id, TaskEvent.kind == EventKind.evidence)
    ).all()
    assert len(events) == 3


def test_an_upload_of_only_refused_files_keeps_nothing_and_says_why(
    client: TestClient, session: Session, world: World, spread: dict[str, Task]
) -> None:
    login(client, world.putr_head)
    csrf = _csrf(client)
    task = spread["late"]
    response = _photo_upload(
        client, task, csrf, [("virus.jpg", b"MZ\x90\x00 not an image", "image/jpeg")]
    )
    assert response.status_code == 422
    assert "virus.jpg" in response.text
    empty = _photo_upload(client, task, csrf, [])
    assert empty.status_code == 422
    assert "Pilih atau ambil foto lebih dulu." in empty.text
    session.rollback()
    assert session.exec(select(Evidence).where(Evidence.task_id == task.id)).first() is None


def test_a_photo_without_caption_gets_the_day_as_caption(
    client: TestClient, session: Session, world: World, spread: dict[str, Task]
) -> None:
    login(client, world.putr_head)
    csrf = _csrf(client)
    task = spread["due_soon"]
    plain = client.post(
        f"/my-tasks/{task.id}/photos",
        data={"csrf_token": csrf, "caption": ""},
        files=[("photos", ("IMG_0001.jpg", _jpeg(), "image/jpeg"))],
        follow_redirects=False,
    )
    assert plain.status_code == 303
    assert plain.headers["location"] == f"/my-tasks?ok=photos&task={task.id}#task-{task.id}"
    session.rollback()
    photo = session.exec(select(Evidence).where(Evidence.task_id == task.id)).one()
    assert photo.caption.startswith("Foto lapangan ")
    uploader = session.get(User, photo.uploaded_by)
    assert uploader is not None
    assert uploader.username == "kadis.putr"
