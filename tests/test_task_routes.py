"""The task pages: /tasks/new, /tasks/{id}, /tasks/{id}/edit and every action of the detail."""

import re
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlmodel import Session, col, func, select

from app.models import (
    EventKind,
    Task,
    TaskEvent,
    TaskMove,
    TaskProgram,
    TaskStatus,
    TaskSupportingUnit,
    TaskUpdate,
    User,
)
from app.services import tasks
from tests.factories import World, login, make_task

HX = {"HX-Request": "true"}
WIB_TIME = re.compile(r"\d{1,2} \w{3} \d{4} \d{2}\.\d{2} WIB")


# --- helpers -----------------------------------------------------------------------------


def counts(session: Session) -> tuple[int, int]:
    """(tasks, task events) as stored now."""
    session.rollback()  # a fresh snapshot: the app wrote through its own connection
    session.expire_all()
    return (
        session.exec(select(func.count()).select_from(Task)).one(),
        session.exec(select(func.count()).select_from(TaskEvent)).one(),
    )


def fresh(session: Session, task: Task) -> Task:
    session.rollback()
    session.expire_all()
    stored = session.get(Task, task.id)
    assert stored is not None
    session.refresh(stored)
    return stored


def events_of(session: Session, task: Task) -> list[TaskEvent]:
    session.rollback()
    session.expire_all()
    return list(
        session.exec(
            select(TaskEvent).where(TaskEvent.task_id == task.pk).order_by(col(TaskEvent.id))
        ).all()
    )


def post(
    client: TestClient,
    url: str,
    csrf: str | None,
    data: dict[str, Any] | None = None,
    *,
    htmx: bool = False,
) -> Response:
    body: dict[str, Any] = dict(data or {})
    if csrf is not None:
        body["csrf_token"] = csrf
    response: Response = client.post(
        url, data=body, headers=HX if htmx else None, follow_redirects=False
    )
    return response


def new_form(world: World, **overrides: Any) -> dict[str, Any]:
    due = world.plan.start_date + timedelta(days=60)
    data: dict[str, Any] = {
        "title": "Perbaikan jalan Desa Lebung",
        "description": "Pengaspalan 3,3 km.",
        "lead_unit_id": str(world.putr.id),
        "supporting_unit_ids": [str(world.dinkes.id), str(world.district.id)],
        "program_ids": [str(world.membangun.id)],
        "district_id": str(world.district.id),
        "village": "Lebung",
        "due_date": due.isoformat(),
        "weight": "3",
        "target": "3,3 km",
        "needs_decision": "1",
    }
    data.update(overrides)
    return data


def field_is_invalid(html: str, field_id: str) -> str:
    """Asserts the input is marked invalid and described by a message; returns the message."""
    tag = re.search(rf'<(?:input|select|textarea|fieldset|div)[^>]*id="{field_id}"[^>]*>', html)
    assert tag is not None, f"no element #{field_id}"
    assert 'aria-invalid="true"' in tag.group(0) or field_id.startswith("f-program"), tag.group(0)
    described = re.search(r'aria-describedby="([^"]+)"', tag.group(0))
    assert described is not None, tag.group(0)
    error_id = described.group(1).split()[0]
    message = re.search(rf'id="{error_id}">([^<]+)<', html)
    assert message is not None, f"no message #{error_id}"
    return message.group(1)


@pytest.fixture
def task(session: Session, world: World) -> Task:
    return make_task(
        session,
        actor=world.team,
        plan=world.plan,
        lead=world.putr,
        title="Pembangunan jembatan Rantau Bayur",
        target="1 jembatan",
        district_id=world.district.id,
        village="Lebung",
        supporting_unit_ids=[world.dinkes.id],
        program_ids=[world.membangun.id],
        due_date=world.plan.start_date + timedelta(days=60),
    )


# --- /tasks/new --------------------------------------------------------------------------


def test_new_page_full_and_fragment(client: TestClient, world: World) -> None:
    login(client, world.team)
    page = client.get("/tasks/new")
    assert page.status_code == 200
    assert "<html" in page.text
    assert 'id="task-form"' in page.text
    assert '<optgroup label="Perangkat Daerah">' in page.text
    assert '<optgroup label="Kecamatan">' in page.text
    assert "Program Unggulan" in page.text
    assert "HX-Request" in page.headers["vary"]
    fragment = client.get("/tasks/new", headers=HX)
    assert fragment.status_code == 200
    assert "<html" not in fragment.text
    assert fragment.text.lstrip().startswith("<form")
    assert 'hx-target="#task-form"' in fragment.text


@pytest.mark.parametrize("who", ["putr_head", "executive"])
def test_new_page_team_only(client: TestClient, world: World, who: str) -> None:
    login(client, getattr(world, who))
    page = client.get("/tasks/new")
    assert page.status_code == 403
    assert "Tim Transisi" in page.text or "Akun pimpinan" in page.text
    assert 'id="task-form"' not in page.text


def test_new_page_anonymous_goes_to_login(client: TestClient, world: World) -> None:
    response = client.get("/tasks/new", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")


def test_create_task(client: TestClient, session: Session, world: World) -> None:
    csrf = login(client, world.team)
    response = post(client, "/tasks/new", csrf, new_form(world))
    assert response.status_code == 303
    match = re.fullmatch(r"/tasks/(\d+)\?ok=created", response.headers["location"])
    assert match is not None
    session.rollback()
    session.expire_all()
    created = session.get(Task, int(match.group(1)))
    assert created is not None
    assert (created.title, created.weight, created.village) == (
        "Perbaikan jalan Desa Lebung",
        3,
        "Lebung",
    )
    assert created.needs_decision
    assert created.lead_unit_id == world.putr.id
    supporting = session.exec(
        select(TaskSupportingUnit.unit_id).where(TaskSupportingUnit.task_id == created.id)
    ).all()
    assert set(supporting) == {world.dinkes.id, world.district.id}
    programs = session.exec(
        select(TaskProgram.program_id).where(TaskProgram.task_id == created.id)
    ).all()
    assert programs == [world.membangun.id]
    assert [e.kind for e in events_of(session, created)] == [EventKind.created]
    page = client.get(response.headers["location"])
    assert "Tugas baru tersimpan." in page.text
    assert "Perbaikan jalan Desa Lebung" in page.text


def test_create_task_htmx(client: TestClient, session: Session, world: World) -> None:
    csrf = login(client, world.team)
    response = post(client, "/tasks/new", csrf, new_form(world), htmx=True)
    assert response.status_code == 200
    assert re.fullmatch(r"/tasks/\d+\?ok=created", response.headers["hx-redirect"])
    assert counts(session) == (1, 1)


def test_create_task_htmx_error_is_a_form_fragment(
    client: TestClient, session: Session, world: World
) -> None:
    csrf = login(client, world.team)
    response = post(client, "/tasks/new", csrf, new_form(world, weight="0"), htmx=True)
    assert response.status_code == 422
    assert "<html" not in response.text
    assert 'id="task-form"' in response.text
    assert field_is_invalid(response.text, "f-weight") == "Paling kecil 1."
    assert counts(session) == (0, 0)


INVALID_NEW = [
    ("title", "", "f-title", "Judul wajib diisi."),
    ("title", "ab", "f-title", "paling sedikit 3"),
    ("title", "x" * 201, "f-title", "paling banyak 200"),
    ("description", "x" * 5001, "f-description", "paling banyak 5.000"),
    ("lead_unit_id", "", "f-lead-unit-id", "Pilih penanggung jawab."),
    ("lead_unit_id", "999", "f-lead-unit-id", "Penanggung jawab tidak dikenal."),
    ("lead_unit_id", "abc", "f-lead-unit-id", "Pilihan tidak dikenal."),
    ("lead_unit_id", "99999999999999999999", "f-lead-unit-id", "Pilihan tidak dikenal."),
    ("district_id", "999", "f-district-id", "Kecamatan tidak dikenal."),
    ("supporting_unit_ids", ["999"], "f-supporting-unit-ids", "tidak dikenal"),
    ("supporting_unit_ids", ["x"], "f-supporting-unit-ids", "Pilihan tidak dikenal."),
    ("program_ids", ["999"], "f-program-ids", "tidak dikenal"),
    ("village", "x" * 121, "f-village", "paling banyak 120"),
    ("target", "x" * 121, "f-target", "paling banyak 120"),
    ("due_date", "2025-13-45", "f-due-date", "Tanggal tidak valid"),
    ("due_date", "besok", "f-due-date", "Tanggal tidak valid"),
    ("weight", "0", "f-weight", "Paling kecil 1."),
    ("weight", "101", "f-weight", "Paling besar 100."),
    ("weight", "1,5", "f-weight", "bilangan bulat"),
    ("weight", "", "f-weight", "Wajib diisi"),
]


@pytest.mark.parametrize(("name", "value", "field_id", "message"), INVALID_NEW)
def test_create_task_rejects_each_bad_field(
    client: TestClient,
    session: Session,
    world: World,
    name: str,
    value: Any,
    field_id: str,
    message: str,
) -> None:
    csrf = login(client, world.team)
    before = counts(session)
    response = post(client, "/tasks/new", csrf, new_form(world, **{name: value}))
    assert response.status_code == 422
    assert "<html" in response.text
    assert message in field_is_invalid(response.text, field_id)
    assert counts(session) == before
    # What the user typed is still there.
    if name != "title":
        assert 'value="Perbaikan jalan Desa Lebung"' in response.text
    assert f'value="{world.membangun.id}" checked' in response.text or name == "program_ids"


def test_create_task_due_date_outside_plan(
    client: TestClient, session: Session, world: World
) -> None:
    csrf = login(client, world.team)
    late = world.plan.start_date + timedelta(days=150)
    response = post(client, "/tasks/new", csrf, new_form(world, due_date=late.isoformat()))
    assert response.status_code == 422
    assert "Tenggat harus di dalam masa rencana" in field_is_invalid(response.text, "f-due-date")
    assert counts(session) == (0, 0)
    # The plan's next code was not used up by the refused attempt.
    assert post(client, "/tasks/new", csrf, new_form(world)).status_code == 303
    session.rollback()
    session.expire_all()
    assert session.exec(select(Task.code)).all() == ["T-001"]


def test_create_task_several_errors_at_once(
    client: TestClient, session: Session, world: World
) -> None:
    csrf = login(client, world.team)
    response = post(
        client, "/tasks/new", csrf, new_form(world, title="", weight="0", due_date="2025-02-30")
    )
    assert response.status_code == 422
    for field_id in ("f-title", "f-weight", "f-due-date"):
        field_is_invalid(response.text, field_id)
    assert "Periksa isian yang ditandai" in response.text
    assert counts(session) == (0, 0)


@pytest.mark.parametrize("who", ["putr_head", "executive"])
def test_create_task_forbidden(
    client: TestClient, session: Session, world: World, who: str
) -> None:
    csrf = login(client, getattr(world, who))
    response = post(client, "/tasks/new", csrf, new_form(world))
    assert response.status_code == 403
    assert counts(session) == (0, 0)


def test_create_task_without_csrf(client: TestClient, session: Session, world: World) -> None:
    login(client, world.team)
    assert post(client, "/tasks/new", None, new_form(world)).status_code == 403
    assert post(client, "/tasks/new", "wrong-token", new_form(world)).status_code == 403
    assert counts(session) == (0, 0)


# --- /tasks/{id} -------------------------------------------------------------------------


def test_detail_full_page_and_fragment(
    client: TestClient, session: Session, world: World, task: Task
) -> None:
    login(client, world.team)
    page = client.get(f"/tasks/{task.id}")
    assert page.status_code == 200
    assert "HX-Request" in page.headers["vary"]
    text = page.text
    assert "<html" in text
    assert 'id="task-detail"' in text
    for expected in (
        task.code,
        "Pembangunan jembatan Rantau Bayur",
        "Penanggung Jawab",
        "Dinas PUTR",
        "Perangkat Daerah Pendukung",
        "Dinkes",
        "Lokasi",
        "Lebung, Rantau Bayur",
        "Tenggat",
        "Hari ke-61",
        "1 jembatan",
        "Belum Dimulai",
        "Membangun",
        "membuat tugas ini",
    ):
        assert expected in text, expected
    fragment = client.get(f"/tasks/{task.id}", headers=HX)
    assert fragment.status_code == 200
    assert "<html" not in fragment.text
    assert fragment.text.lstrip().startswith('<div id="task-detail"')


def test_detail_marks_late_tasks(client: TestClient, session: Session, world: World) -> None:
    late = make_task(
        session,
        actor=world.team,
        plan=world.plan,
        lead=world.putr,
        status=TaskStatus.in_progress,
        due_date=world.plan.start_date + timedelta(days=9),  # day 10; today is day 45
    )
    login(client, world.team)
    text = client.get(f"/tasks/{late.id}").text
    assert "Hari ke-10" in text
    assert "Terlambat 35 hari" in text


def test_detail_blocked_and_needs_decision(
    client: TestClient, session: Session, world: World
) -> None:
    blocked = make_task(
        session,
        actor=world.team,
        plan=world.plan,
        lead=world.putr,
        status=TaskStatus.blocked,
        needs_decision=True,
    )
    login(client, world.executive)
    text = client.get(f"/tasks/{blocked.id}").text
    assert "Menunggu pembebasan lahan" in text
    assert "Perlu keputusan Bupati" in text
    assert "Terkendala" in text


def test_unknown_task_is_404(client: TestClient, session: Session, world: World) -> None:
    csrf = login(client, world.team)
    assert client.get("/tasks/4242").status_code == 404
    assert client.get("/tasks/4242/edit").status_code == 404
    response = post(client, "/tasks/4242/comments", csrf, {"note": "Halo"})
    assert response.status_code == 404
    assert "tidak ditemukan" in response.text
    assert counts(session) == (0, 0)


@pytest.mark.parametrize("path", ["abc", "0", "-1", "1.5", "99999999999999999999"])
def test_invalid_task_ids_are_not_500(client: TestClient, world: World, path: str) -> None:
    csrf = login(client, world.team)
    assert client.get(f"/tasks/{path}").status_code in (404, 422)
    assert client.get(f"/tasks/{path}/edit").status_code in (404, 422)
    assert post(client, f"/tasks/{path}/progress", csrf, {}).status_code in (404, 422)


def test_ok_codes_map_to_fixed_messages(client: TestClient, world: World, task: Task) -> None:
    login(client, world.team)
    assert "Catatan ditambahkan." in client.get(f"/tasks/{task.id}?ok=comment").text
    hostile = client.get(f"/tasks/{task.id}", params={"ok": "<script>alert(1)</script>"})
    assert hostile.status_code == 200
    assert "<script>alert(1)" not in hostile.text
    assert "alert(1)" not in hostile.text
    assert 'class="flash flash-ok"' not in hostile.text


def test_history_tells_every_event_kind(client: TestClient, session: Session, world: World) -> None:
    """A task that went through everything; each event reads as a sentence with its actor."""
    t = make_task(session, actor=world.team, plan=world.plan, lead=world.putr, weight=2)
    tid: int = t.pk

    def move(actor: User, status: TaskStatus, **extra: Any) -> None:
        nonlocal t
        t = tasks.move_task(
            session,
            actor=actor,
            task_id=tid,
            move=TaskMove(version=t.version, status=status, **extra),
        )

    move(world.putr_head, TaskStatus.in_progress)
    from app.models import ProgressUpdate

    t = tasks.update_progress(
        session,
        actor=world.putr_head,
        task_id=tid,
        data=ProgressUpdate(version=t.version, progress_pct=40, realisation="100 KK"),
    )
    t = tasks.update_progress(
        session,
        actor=world.putr_head,
        task_id=tid,
        data=ProgressUpdate(version=t.version, progress_pct=60, realisation="150 KK"),
    )
    t = tasks.add_comment(session, actor=world.putr_head, task_id=tid, note="Material tiba.")
    t = tasks.add_directive(session, actor=world.executive, task_id=tid, note="Segera tuntaskan.")
    t = tasks.update_task(
        session,
        actor=world.team,
        task_id=tid,
        data=TaskUpdate(version=t.version, title="Listrik untuk 100 KK Desa Paldas", weight=5),
    )
    t = tasks.update_task(
        session,
        actor=world.team,
        task_id=tid,
        data=TaskUpdate(version=t.version, lead_unit_id=world.dinkes.id),
    )
    move(world.team, TaskStatus.blocked, blocked_reason="Trafo belum tersedia")
    move(world.team, TaskStatus.review, note="Berita acara menyusul.")
    t = tasks.reject_task(
        session, actor=world.team, task_id=tid, version=t.version, note="Foto bukti kurang"
    )
    move(world.team, TaskStatus.review, note="Berita acara menyusul.")
    t = tasks.verify_task(session, actor=world.team, task_id=tid, version=t.version)
    t = tasks.cancel_task(
        session, actor=world.team, task_id=tid, version=t.version, note="Digabung dengan T-009"
    )
    t = tasks.restore_task(session, actor=world.team, task_id=tid, version=t.version)

    login(client, world.executive)
    text = client.get(f"/tasks/{tid}").text
    history = text[text.index('id="history-h"') :]
    for sentence in (
        "membuat tugas ini",
        "memindahkan dari Belum Dimulai ke Sedang Berjalan",
        "memperbarui capaian 0% → 40%",
        "memperbarui capaian 40% → 60%",
        "menulis catatan",
        "Material tiba.",
        "memberikan arahan",
        "Segera tuntaskan.",
        "mengubah tugas",
        "Listrik untuk 100 KK Desa Paldas",
        "mengalihkan penanggung jawab dari Dinas PUTR ke Dinkes",
        "memindahkan dari Sedang Berjalan ke Terkendala",
        "Trafo belum tersedia",
        "memindahkan dari Terkendala ke Menunggu Verifikasi",
        "menolak hasilnya dan mengembalikan tugas ke Sedang Berjalan",
        "Foto bukti kurang",
        "memverifikasi hasilnya dan menandai tugas Selesai",
        "membatalkan tugas ini",
        "Digabung dengan T-009",
        "memulihkan tugas ke Belum Dimulai",
    ):
        assert sentence in history, sentence
    # Edits list the changed fields readably; the actor's name leads each entry.
    assert re.search(r"Bobot:</span> <span class=\"diff-old\">2</span>", history)
    assert "Realisasi:" in history
    assert "100 KK" in history
    assert history.count("Tim Transisi</strong>") >= 8
    assert "Kadis Putr</strong>" in history
    assert "Bupati</strong>" in history
    assert len(WIB_TIME.findall(history)) == len(events_of(session, t))
    # Newest first.
    assert history.index("memulihkan tugas") < history.index("membuat tugas ini")
    # The directive also stands apart at the top, as Arahan Bupati.
    assert text.index('id="directives-h"') < text.index('id="history-h"')


# --- actions, end to end -----------------------------------------------------------------


def test_progress(client: TestClient, session: Session, world: World, task: Task) -> None:
    csrf = login(client, world.putr_head)
    response = post(
        client,
        f"/tasks/{task.id}/progress",
        csrf,
        {"version": task.version, "progress_pct": "60", "realisation": "0,5", "note": "Cor"},
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/tasks/{task.id}?ok=progress#result"
    stored = fresh(session, task)
    assert (stored.progress_pct, stored.realisation, stored.version) == (60, "0,5", 2)
    assert [e.kind for e in events_of(session, task)][-1] == EventKind.progress
    assert len(events_of(session, task)) == 2
    page = client.get(response.headers["location"]).text
    assert "memperbarui capaian 0% → 60%" in page
    assert "Capaian dan realisasi tersimpan." in page


def test_progress_htmx_swaps_the_detail(
    client: TestClient, session: Session, world: World, task: Task
) -> None:
    csrf = login(client, world.putr_head)
    response = post(
        client,
        f"/tasks/{task.id}/progress",
        csrf,
        {"version": task.version, "progress_pct": "25"},
        htmx=True,
    )
    assert response.status_code == 200
    assert "<html" not in response.text
    assert 'id="task-detail"' in response.text
    assert "Capaian dan realisasi tersimpan." in response.text
    assert fresh(session, task).progress_pct == 25


@pytest.mark.parametrize(
    ("value", "message"),
    [("101", "Paling besar 100."), ("-1", "Paling kecil 0."), ("abc", "bilangan bulat"), ("", "")],
)
def test_progress_invalid(
    client: TestClient, session: Session, world: World, task: Task, value: str, message: str
) -> None:
    csrf = login(client, world.putr_head)
    before = counts(session)
    response = post(
        client,
        f"/tasks/{task.id}/progress",
        csrf,
        {"version": task.version, "progress_pct": value, "note": "catatan saya"},
    )
    assert response.status_code == 422
    assert message in field_is_invalid(response.text, "progress-pct")
    assert ">catatan saya</textarea>" in response.text
    assert counts(session) == before


def test_progress_on_done_task_is_refused(
    client: TestClient, session: Session, world: World
) -> None:
    done = make_task(
        session, actor=world.team, plan=world.plan, lead=world.putr, status=TaskStatus.done
    )
    csrf = login(client, world.team)
    before = counts(session)
    response = post(
        client, f"/tasks/{done.id}/progress", csrf, {"version": done.version, "progress_pct": "5"}
    )
    assert response.status_code == 422
    assert "capaian tidak dapat diubah" in response.text
    assert counts(session) == before


def test_comment(client: TestClient, session: Session, world: World, task: Task) -> None:
    csrf = login(client, world.putr_head)
    response = post(client, f"/tasks/{task.id}/comments", csrf, {"note": "Rapat <b>lapangan</b>"})
    assert response.status_code == 303
    events = events_of(session, task)
    assert len(events) == 2
    assert events[-1].kind == EventKind.comment
    page = client.get(f"/tasks/{task.id}").text
    assert "Rapat &lt;b&gt;lapangan&lt;/b&gt;" in page
    assert "<b>lapangan</b>" not in page


@pytest.mark.parametrize(("note", "message"), [("  ", "tidak boleh kosong"), ("x" * 2001, "2.000")])
def test_comment_invalid(
    client: TestClient, session: Session, world: World, task: Task, note: str, message: str
) -> None:
    csrf = login(client, world.putr_head)
    before = counts(session)
    response = post(client, f"/tasks/{task.id}/comments", csrf, {"note": note})
    assert response.status_code == 422
    assert message in field_is_invalid(response.text, "comment-note")
    assert counts(session) == before


def test_directive_by_executive(
    client: TestClient, session: Session, world: World, task: Task
) -> None:
    version = task.version
    csrf = login(client, world.executive)
    response = post(client, f"/tasks/{task.id}/directives", csrf, {"note": "Prioritaskan."})
    assert response.status_code == 303
    events = events_of(session, task)
    assert len(events) == 2
    assert events[-1].kind == EventKind.directive
    assert events[-1].actor_id == world.executive.id
    page = client.get(f"/tasks/{task.id}").text
    assert 'class="directive is-open"' in page  # open until the lead unit answers it
    assert "Prioritaskan." in page
    # The version moved on, so forms opened before this must reload.
    assert fresh(session, task).version == version + 1


def test_move_to_blocked_needs_a_reason(
    client: TestClient, session: Session, world: World, task: Task
) -> None:
    csrf = login(client, world.putr_head)
    before = counts(session)
    response = post(
        client,
        f"/tasks/{task.id}/move",
        csrf,
        {"version": task.version, "status": "blocked", "blocked_reason": " ", "note": "lihat"},
    )
    assert response.status_code == 422
    assert "Alasan kendala wajib diisi" in field_is_invalid(response.text, "move-blocked-reason")
    assert ">lihat</textarea>" in response.text
    assert counts(session) == before
    assert fresh(session, task).status == TaskStatus.todo

    response = post(
        client,
        f"/tasks/{task.id}/move",
        csrf,
        {"version": task.version, "status": "blocked", "blocked_reason": "Lahan sengketa"},
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/tasks/{task.id}?ok=moved#result"
    stored = fresh(session, task)
    assert (stored.status, stored.blocked_reason) == (TaskStatus.blocked, "Lahan sengketa")
    assert counts(session) == (before[0], before[1] + 1)
    page = client.get(f"/tasks/{task.id}").text
    assert "memindahkan dari Belum Dimulai ke Terkendala" in page


@pytest.mark.parametrize("status", ["cancelled", "nope", ""])
def test_move_to_an_unknown_status(
    client: TestClient, session: Session, world: World, task: Task, status: str
) -> None:
    csrf = login(client, world.team)
    before = counts(session)
    response = post(
        client, f"/tasks/{task.id}/move", csrf, {"version": task.version, "status": status}
    )
    assert response.status_code == 422
    field_is_invalid(response.text, "move-status")
    assert counts(session) == before


def test_unit_cannot_move_into_done(
    client: TestClient, session: Session, world: World, task: Task
) -> None:
    csrf = login(client, world.putr_head)
    before = counts(session)
    response = post(
        client, f"/tasks/{task.id}/move", csrf, {"version": task.version, "status": "done"}
    )
    assert response.status_code == 403
    assert "Hanya Tim Transisi" in response.text
    assert counts(session) == before


@pytest.fixture
def in_review(session: Session, world: World) -> Task:
    return make_task(
        session, actor=world.team, plan=world.plan, lead=world.putr, status=TaskStatus.review
    )


def test_verify(client: TestClient, session: Session, world: World, in_review: Task) -> None:
    csrf = login(client, world.team)
    events_before = len(events_of(session, in_review))
    response = post(
        client, f"/tasks/{in_review.id}/verify", csrf, {"version": in_review.version, "note": ""}
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/tasks/{in_review.id}?ok=verified#result"
    stored = fresh(session, in_review)
    assert stored.status == TaskStatus.done
    assert stored.progress_pct == 100
    events = events_of(session, in_review)
    assert len(events) == events_before + 1
    assert events[-1].kind == EventKind.verified


def test_verify_only_from_review(
    client: TestClient, session: Session, world: World, task: Task
) -> None:
    csrf = login(client, world.team)
    before = counts(session)
    response = post(client, f"/tasks/{task.id}/verify", csrf, {"version": task.version})
    assert response.status_code == 422
    assert "Menunggu Verifikasi" in response.text
    assert counts(session) == before


def test_reject_needs_a_note(
    client: TestClient, session: Session, world: World, in_review: Task
) -> None:
    csrf = login(client, world.team)
    before = counts(session)
    response = post(
        client, f"/tasks/{in_review.id}/reject", csrf, {"version": in_review.version, "note": ""}
    )
    assert response.status_code == 422
    assert "catatan penolakan" in field_is_invalid(response.text, "reject-note")
    assert counts(session) == before
    assert fresh(session, in_review).status == TaskStatus.review

    response = post(
        client,
        f"/tasks/{in_review.id}/reject",
        csrf,
        {"version": in_review.version, "note": "Foto kurang"},
    )
    assert response.status_code == 303
    stored = fresh(session, in_review)
    assert stored.status == TaskStatus.in_progress
    events = events_of(session, in_review)
    assert events[-1].kind == EventKind.rejected
    assert events[-1].note == "Foto kurang"
    assert counts(session) == (before[0], before[1] + 1)


def test_cancel_and_restore(client: TestClient, session: Session, world: World, task: Task) -> None:
    csrf = login(client, world.team)
    before = counts(session)
    response = post(
        client, f"/tasks/{task.id}/cancel", csrf, {"version": task.version, "note": " "}
    )
    assert response.status_code == 422
    assert "alasan pembatalan" in field_is_invalid(response.text, "cancel-note")
    assert counts(session) == before

    response = post(
        client, f"/tasks/{task.id}/cancel", csrf, {"version": task.version, "note": "Ganda"}
    )
    assert response.status_code == 303
    stored = fresh(session, task)
    assert stored.status == TaskStatus.cancelled
    assert counts(session) == (before[0], before[1] + 1)
    page = client.get(f"/tasks/{task.id}").text
    assert "Tugas ini dibatalkan" in page
    assert f'action="/tasks/{task.id}/restore"' in page
    assert f'action="/tasks/{task.id}/progress"' not in page

    response = post(client, f"/tasks/{task.id}/restore", csrf, {"version": stored.version})
    assert response.status_code == 303
    assert response.headers["location"] == f"/tasks/{task.id}?ok=restored#result"
    assert fresh(session, task).status == TaskStatus.todo
    assert counts(session) == (before[0], before[1] + 2)


# --- edit --------------------------------------------------------------------------------


def edit_form(task: Task, world: World, **overrides: Any) -> dict[str, Any]:
    data = new_form(world, title=task.title, version=str(task.version))
    data.update(overrides)
    return data


def test_edit_page_full_and_fragment(client: TestClient, world: World, task: Task) -> None:
    login(client, world.team)
    page = client.get(f"/tasks/{task.id}/edit")
    assert page.status_code == 200
    assert "<html" in page.text
    assert f'name="version" value="{task.version}"' in page.text
    assert 'value="Pembangunan jembatan Rantau Bayur"' in page.text
    assert f'<option value="{world.putr.id}" selected>' in page.text
    assert f'value="{world.dinkes.id}" checked' in page.text
    fragment = client.get(f"/tasks/{task.id}/edit", headers=HX)
    assert fragment.status_code == 200
    assert "<html" not in fragment.text
    assert f'hx-post="/tasks/{task.id}/edit"' in fragment.text


def test_edit_saves_and_records_one_event(
    client: TestClient, session: Session, world: World, task: Task
) -> None:
    csrf = login(client, world.team)
    before = counts(session)
    version = task.version
    response = post(
        client, f"/tasks/{task.id}/edit", csrf, edit_form(task, world, title="Jembatan baru")
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/tasks/{task.id}?ok=saved"
    stored = fresh(session, task)
    assert stored.title == "Jembatan baru"
    assert stored.version == version + 1
    assert counts(session) == (before[0], before[1] + 1)
    assert events_of(session, task)[-1].kind == EventKind.edited
    page = client.get(f"/tasks/{task.id}").text
    assert "Judul:" in page
    assert "Jembatan baru" in page


def test_edit_with_no_change_writes_nothing(
    client: TestClient, session: Session, world: World, task: Task
) -> None:
    csrf = login(client, world.team)
    form = edit_form(
        task,
        world,
        description="",
        supporting_unit_ids=[str(world.dinkes.id)],
        weight="1",
        target="1 jembatan",
        needs_decision=None,
    )
    del form["needs_decision"]
    before = counts(session)
    response = post(client, f"/tasks/{task.id}/edit", csrf, form)
    assert response.status_code == 303
    assert response.headers["location"].endswith("?ok=unchanged")
    assert counts(session) == before


def test_edit_changing_lead_is_assigned(
    client: TestClient, session: Session, world: World, task: Task
) -> None:
    csrf = login(client, world.team)
    response = post(
        client,
        f"/tasks/{task.id}/edit",
        csrf,
        edit_form(task, world, lead_unit_id=str(world.dinkes.id)),
    )
    assert response.status_code == 303
    assert events_of(session, task)[-1].kind == EventKind.assigned
    assert fresh(session, task).lead_unit_id == world.dinkes.id


def test_edit_invalid_fields(
    client: TestClient, session: Session, world: World, task: Task
) -> None:
    csrf = login(client, world.team)
    before = counts(session)
    response = post(
        client,
        f"/tasks/{task.id}/edit",
        csrf,
        edit_form(task, world, title="", weight="0", due_date="2025-13-45"),
    )
    assert response.status_code == 422
    assert field_is_invalid(response.text, "f-title") == "Judul wajib diisi."
    assert field_is_invalid(response.text, "f-weight") == "Paling kecil 1."
    assert "Tanggal tidak valid" in field_is_invalid(response.text, "f-due-date")
    assert counts(session) == before

    missing_version = edit_form(task, world, title="Judul baru")
    del missing_version["version"]
    response = post(client, f"/tasks/{task.id}/edit", csrf, missing_version)
    assert response.status_code == 422
    assert "versi tugas tidak terbaca" in response.text
    assert counts(session) == before


def test_edit_with_stale_version_shows_current_state(
    client: TestClient, session: Session, world: World, task: Task
) -> None:
    stale = task.version
    # Someone else renames the task meanwhile.
    tasks.update_task(
        session,
        actor=world.team,
        task_id=task.pk,
        data=TaskUpdate(version=stale, title="Judul dari tab lain"),
    )
    csrf = login(client, world.putr_head)  # a second browser…
    csrf = login(client, world.team)
    before = counts(session)
    response = post(
        client,
        f"/tasks/{task.id}/edit",
        csrf,
        edit_form(task, world, title="Judul saya", version=str(stale)),
    )
    assert response.status_code == 409
    text = response.text
    assert "telah diubah oleh Tim Transisi" in text
    assert "Berikut keadaan terkininya" in text
    assert "Judul dari tab lain" in text  # the current state
    assert 'value="Judul saya"' in text  # the user's unsent input
    assert f'name="version" value="{stale + 1}"' in text
    assert counts(session) == before
    assert fresh(session, task).title == "Judul dari tab lain"

    fragment = post(
        client,
        f"/tasks/{task.id}/edit",
        csrf,
        edit_form(task, world, title="Judul saya", version=str(stale)),
        htmx=True,
    )
    assert fragment.status_code == 409
    assert "<html" not in fragment.text
    assert "Judul dari tab lain" in fragment.text


def test_progress_with_stale_version_shows_current_state(
    client: TestClient, session: Session, world: World, task: Task
) -> None:
    stale = task.version
    tasks.add_comment(session, actor=world.team, task_id=task.pk, note="Dari tab lain")
    csrf = login(client, world.putr_head)
    before = counts(session)
    response = post(
        client,
        f"/tasks/{task.id}/progress",
        csrf,
        {"version": stale, "progress_pct": "70", "note": "Laporan saya"},
    )
    assert response.status_code == 409
    assert "telah diubah oleh Tim Transisi" in response.text
    assert "Dari tab lain" in response.text
    assert ">Laporan saya</textarea>" in response.text
    assert f'name="version" value="{stale + 1}"' in response.text
    assert counts(session) == before
    assert fresh(session, task).progress_pct == 0

    fragment = post(
        client,
        f"/tasks/{task.id}/move",
        csrf,
        {"version": stale, "status": "in_progress"},
        htmx=True,
    )
    assert fragment.status_code == 409
    assert "<html" not in fragment.text
    assert 'id="task-detail"' in fragment.text
    assert counts(session) == before


# --- who sees which controls -------------------------------------------------------------


def forms_on(html: str) -> set[str]:
    return set(re.findall(r'<form method="post" action="/tasks/\d+/(\w+)"', html)) | (
        {"edit"} if re.search(r'href="/tasks/\d+/edit"', html) else set()
    )


def test_controls_per_role(
    client: TestClient, session: Session, world: World, task: Task, in_review: Task
) -> None:
    login(client, world.team)
    assert forms_on(client.get(f"/tasks/{task.id}").text) == {
        "progress",
        "move",
        "comments",
        "directives",
        "cancel",
        "edit",
        "evidence",
        "public",
    }
    assert {"verify", "reject"} <= forms_on(client.get(f"/tasks/{in_review.id}").text)
    login(client, world.putr_head)
    assert forms_on(client.get(f"/tasks/{task.id}").text) == {
        "progress",
        "move",
        "comments",
        "evidence",
    }
    assert forms_on(client.get(f"/tasks/{in_review.id}").text) == {
        "progress",
        "move",
        "comments",
        "evidence",
    }
    login(client, world.dinkes_head)
    assert forms_on(client.get(f"/tasks/{task.id}").text) == set()
    login(client, world.executive)
    page = client.get(f"/tasks/{task.id}").text
    assert forms_on(page) == {"directives"}
    assert "Pembangunan jembatan Rantau Bayur" in page
    assert "Riwayat" in page


# --- permissions for every action and role -----------------------------------------------

ACTIONS: dict[str, tuple[TaskStatus, dict[str, str], set[str]]] = {
    # action: (the task's status, the form, the roles allowed)
    "progress": (TaskStatus.in_progress, {"progress_pct": "50"}, {"team", "own"}),
    "comments": (TaskStatus.todo, {"note": "Catatan"}, {"team", "own"}),
    "directives": (TaskStatus.todo, {"note": "Arahan"}, {"team", "executive"}),
    "move": (TaskStatus.todo, {"status": "in_progress"}, {"team", "own"}),
    "verify": (TaskStatus.review, {}, {"team"}),
    "reject": (TaskStatus.review, {"note": "Kurang"}, {"team"}),
    "cancel": (TaskStatus.todo, {"note": "Ganda"}, {"team"}),
    "restore": (TaskStatus.cancelled, {}, {"team"}),
    "edit": (TaskStatus.todo, {"title": "Judul baru"}, {"team"}),
}
ROLES = {
    "team": "team",
    "own": "putr_head",
    "other": "dinkes_head",
    "executive": "executive",
    "anonymous": None,
}


@pytest.mark.parametrize("role", list(ROLES))
@pytest.mark.parametrize("action", list(ACTIONS))
def test_action_permissions(
    client: TestClient, session: Session, world: World, action: str, role: str
) -> None:
    status, form, allowed = ACTIONS[action]
    t = make_task(
        session,
        actor=world.team,
        plan=world.plan,
        lead=world.putr,
        status=TaskStatus.todo if status == TaskStatus.cancelled else status,
    )
    if status == TaskStatus.cancelled:
        t = tasks.cancel_task(session, actor=world.team, task_id=t.pk, version=t.version, note="x")
    data = dict(form, version=str(t.version))
    if action == "edit":
        data = edit_form(t, world, **form)
    username = ROLES[role]
    csrf = login(client, getattr(world, username)) if username else None
    if csrf is None:
        client.cookies.clear()
    before = counts(session)
    version = t.version
    response = post(client, f"/tasks/{t.id}/{action}", csrf or "x", data)
    if role == "anonymous":
        assert response.status_code == 303
        assert response.headers["location"] == "/login"
    elif role in allowed:
        assert response.status_code == 303, response.text
        assert response.headers["location"].startswith(f"/tasks/{t.id}?ok=")
        assert counts(session) == (before[0], before[1] + 1)
        return
    else:
        assert response.status_code == 403
        assert 'class="error-message"' in response.text
    assert counts(session) == before
    assert fresh(session, t).version == version


@pytest.mark.parametrize("action", list(ACTIONS))
def test_actions_need_the_csrf_token(
    client: TestClient, session: Session, world: World, action: str
) -> None:
    status, form, _ = ACTIONS[action]
    t = make_task(
        session,
        actor=world.team,
        plan=world.plan,
        lead=world.putr,
        status=TaskStatus.todo if status == TaskStatus.cancelled else status,
    )
    if status == TaskStatus.cancelled:
        t = tasks.cancel_task(session, actor=world.team, task_id=t.pk, version=t.version, note="x")
    data = dict(form, version=str(t.version))
    if action == "edit":
        data = edit_form(t, world, **form)
    login(client, world.team)
    before = counts(session)
    version = t.version
    assert post(client, f"/tasks/{t.id}/{action}", None, data).status_code == 403
    assert post(client, f"/tasks/{t.id}/{action}", "forged", data).status_code == 403
    assert counts(session) == before
    assert fresh(session, t).version == version
