"""The task page keeps the user where they acted: the result (or the error) is inside the used
form's section and the page opens there (#result); the team sees the review panel first with
how long the task has waited; sending a task under 100 % for verification asks first."""

import re
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from app.db import utcnow
from app.models import TaskEvent, TaskStatus
from tests.factories import REVIEW_NOTE, World, login, make_task

HX = {"HX-Request": "true"}


def _section(html: str, section_id: str) -> str:
    found = re.search(rf'<(section|details)[^>]*id="{section_id}".*?</\1>', html, re.S)
    assert found is not None, section_id
    return found.group(0)


def test_the_result_of_each_action_sits_in_the_used_form(
    client: TestClient, session: Session, world: World
) -> None:
    task = make_task(
        session, actor=world.team, plan=world.plan, lead=world.putr, status=TaskStatus.in_progress
    )
    csrf = login(client, world.putr_head)

    saved = client.post(
        f"/tasks/{task.id}/progress",
        data={"csrf_token": csrf, "version": str(task.version), "progress_pct": "40"},
        follow_redirects=False,
    )
    assert saved.headers["location"] == f"/tasks/{task.id}?ok=progress#result"
    page = client.get(saved.headers["location"]).text
    progress = _section(page, "form-progress")
    assert 'id="result"' in progress
    assert "Capaian dan realisasi tersimpan." in progress
    assert page.count('id="result"') == 1

    # A refusal: the message is in the used form, with the field marked (htmx and plain).
    for headers in (HX, {}):
        refused = client.post(
            f"/tasks/{task.id}/move",
            data={"csrf_token": csrf, "version": str(task.version + 1), "status": "blocked"},
            headers=headers,
        )
        assert refused.status_code == 422
        move = _section(refused.text, "form-move")
        assert 'id="result"' in move
        assert "Belum tersimpan." in move
        assert 'aria-invalid="true"' in move
        assert refused.text.count('id="result"') == 1


def test_sending_under_100_percent_asks_for_confirmation(
    client: TestClient, session: Session, world: World
) -> None:
    task = make_task(
        session, actor=world.team, plan=world.plan, lead=world.putr, status=TaskStatus.in_progress
    )
    csrf = login(client, world.putr_head)
    page = client.get(f"/tasks/{task.id}").text
    assert "Kirim untuk diverifikasi walau capaian baru 0 %" in _section(page, "form-move")
    form = {
        "csrf_token": csrf,
        "version": str(task.version),
        "status": "review",
        "note": REVIEW_NOTE,
    }
    asked = client.post(f"/tasks/{task.id}/move", data=form, headers=HX)
    assert asked.status_code == 422
    assert "Capaian tugas ini baru 0 %" in _section(asked.text, "form-move")

    sent = client.post(
        f"/tasks/{task.id}/move", data={**form, "confirm_incomplete": "1"}, follow_redirects=False
    )
    assert sent.headers["location"] == f"/tasks/{task.id}?ok=sent-for-review#result"
    after = client.get(sent.headers["location"]).text
    assert "Tugas dikirim untuk diverifikasi; Tim Transisi akan memeriksanya." in after


def test_the_team_sees_the_review_panel_first_with_the_waiting_days(
    client: TestClient, session: Session, world: World
) -> None:
    task = make_task(
        session, actor=world.team, plan=world.plan, lead=world.putr, status=TaskStatus.review
    )
    # Sent for verification three days ago.
    sent = session.exec(
        select(TaskEvent)
        .where(TaskEvent.task_id == task.id, TaskEvent.to_status == TaskStatus.review)
        .order_by(col(TaskEvent.id).desc())
    ).first()
    assert sent is not None
    sent.at = utcnow() - timedelta(days=3)
    session.add(sent)
    session.commit()

    login(client, world.team)
    page = client.get(f"/tasks/{task.id}").text
    review = page.index('id="form-verify"')
    assert review < page.index('class="task-layout"')
    assert "Menunggu sejak 3 hari" in page

    # The unit sees no review panel, and no waiting line.
    login(client, world.putr_head)
    unit_page = client.get(f"/tasks/{task.id}").text
    assert 'id="form-verify"' not in unit_page
