"""The in-app inbox: the bell's count on every page, its poll (304 while unchanged), the list,
mark one / all read, and nobody reads another's entries."""

import re

from fastapi.testclient import TestClient
from sqlalchemy import Engine, event
from sqlmodel import Session, col, select

from app.models import NoticeKind, Notification, TaskStatus
from app.services import inbox, tasks
from tests.factories import World, login, make_task

HX = {"HX-Request": "true"}


def _rejected_task(session: Session, world: World) -> int:
    task = make_task(
        session, actor=world.team, plan=world.plan, lead=world.putr, status=TaskStatus.review
    )
    tasks.reject_task(
        session,
        actor=world.team,
        task_id=task.pk,
        version=task.version,
        note="Foto buram",
    )
    return task.pk


def _bell_count(html: str) -> int:
    found = re.search(r'class="bell-count" data-count="(\d+)"', html)
    return int(found.group(1)) if found else 0


def test_the_bell_counts_unread_on_every_page(
    client: TestClient, session: Session, world: World
) -> None:
    _rejected_task(session, world)
    login(client, world.putr_head)
    for path in ("/board", "/dashboard", "/inbox"):
        page = client.get(path)
        assert page.status_code == 200
        # Created for the unit, then rejected: two entries.
        assert _bell_count(page.text) == 2, path
        assert 'aria-label="Pemberitahuan: 2 belum dibaca"' in page.text
    login(client, world.dinkes_head)
    assert _bell_count(client.get("/board").text) == 0


def test_the_header_is_read_in_the_page_session_and_still_on_an_error_page(
    client: TestClient, session: Session, world: World, engine: Engine
) -> None:
    """The bell and the unit in the header come from the request's own read session (one
    connection for the whole page); an error page, drawn after that session has closed,
    reads them in a short session of its own."""
    _rejected_task(session, world)
    login(client, world.putr_head)
    checkouts: list[object] = []

    def count(*_args: object) -> None:
        checkouts.append(None)

    event.listen(engine, "checkout", count)
    try:
        page = client.get("/board")
        assert page.status_code == 200
        assert _bell_count(page.text) == 2
        assert world.putr.short_name in page.text
        assert len(checkouts) == 1
        missing = client.get("/tasks/999999")
        assert missing.status_code == 404
        assert _bell_count(missing.text) == 2
        assert world.putr.short_name in missing.text
    finally:
        event.remove(engine, "checkout", count)


def test_the_bell_poll_answers_304_until_something_changes(
    client: TestClient, session: Session, world: World
) -> None:
    task_id = _rejected_task(session, world)
    csrf = login(client, world.putr_head)
    first = client.get("/inbox/bell", headers=HX)
    assert first.status_code == 200
    assert _bell_count(first.text) == 2
    assert "<html" not in first.text
    etag = first.headers["etag"]
    assert first.headers["cache-control"] == "private, no-cache"
    again = client.get("/inbox/bell", headers={**HX, "If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""

    tasks.add_comment(session, actor=world.team, task_id=task_id, note="Ditunggu fotonya")
    changed = client.get("/inbox/bell", headers={**HX, "If-None-Match": etag})
    assert changed.status_code == 200
    assert _bell_count(changed.text) == 3
    etag = changed.headers["etag"]

    client.post("/inbox/read-all", data={"csrf_token": csrf})
    read = client.get("/inbox/bell", headers={**HX, "If-None-Match": etag})
    assert read.status_code == 200
    assert _bell_count(read.text) == 0


def test_the_bell_counts_up_to_99_plus_and_still_changes_when_one_arrives(
    client: TestClient, session: Session, world: World
) -> None:
    """Past 99 the bell shows "99+" and counts no further (inbox.BELL_CAP), on the page and
    in its poll; the poll still answers 200 when a new entry arrives."""
    task_id = _rejected_task(session, world)
    session.add_all(
        Notification(
            user_id=world.putr_head.pk, task_id=task_id, kind=NoticeKind.comment, text=f"{i}"
        )
        for i in range(inbox.BELL_CAP + 20)
    )
    session.commit()
    login(client, world.putr_head)
    page = client.get("/board").text
    assert _bell_count(page) == inbox.BELL_CAP
    assert '<span class="bell-count" data-count="100">99+</span>' in page
    assert 'aria-label="Pemberitahuan: lebih dari 99 belum dibaca"' in page
    first = client.get("/inbox/bell", headers=HX)
    assert _bell_count(first.text) == inbox.BELL_CAP
    tasks.add_comment(session, actor=world.team, task_id=task_id, note="Ditunggu fotonya")
    changed = client.get("/inbox/bell", headers={**HX, "If-None-Match": first.headers["etag"]})
    assert changed.status_code == 200
    assert "99+" in changed.text


def test_the_list_links_each_entry_to_its_task_and_marks_it_read(
    client: TestClient, session: Session, world: World
) -> None:
    task_id = _rejected_task(session, world)
    csrf = login(client, world.putr_head)
    page = client.get("/inbox")
    assert "Tim Transisi menolak hasil T-001" in page.text
    assert "Foto buram" in page.text
    rejected = session.exec(
        select(Notification).where(
            Notification.user_id == world.putr_head.id, Notification.kind == "rejected"
        )
    ).one()
    assert f'action="/inbox/{rejected.id}/open"' in page.text
    opened = client.post(
        f"/inbox/{rejected.id}/open", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert opened.status_code == 303
    assert opened.headers["location"] == f"/tasks/{task_id}"
    session.rollback()
    session.refresh(rejected)
    assert rejected.read_at is not None
    assert _bell_count(client.get("/board").text) == 1
    unread_only = client.get("/inbox?unread=true")
    assert "menolak hasil" not in unread_only.text
    assert "ditugaskan kepada" in unread_only.text


def test_mark_one_and_all_read(client: TestClient, session: Session, world: World) -> None:
    _rejected_task(session, world)
    csrf = login(client, world.putr_head)
    first = session.exec(
        select(Notification)
        .where(Notification.user_id == world.putr_head.id)
        .order_by(col(Notification.id))
    ).first()
    assert first is not None
    done = client.post(f"/inbox/{first.id}/read", data={"csrf_token": csrf}, follow_redirects=False)
    assert done.status_code == 303
    assert done.headers["location"] == "/inbox"
    assert _bell_count(client.get("/board").text) == 1
    client.post("/inbox/read-all", data={"csrf_token": csrf})
    assert _bell_count(client.get("/board").text) == 0
    assert "Tidak ada pemberitahuan yang belum dibaca." in client.get("/inbox?unread=true").text


def test_nobody_reads_or_marks_anothers_entries(
    client: TestClient, session: Session, world: World
) -> None:
    _rejected_task(session, world)
    theirs = session.exec(
        select(Notification).where(Notification.user_id == world.putr_head.id)
    ).first()
    assert theirs is not None
    csrf = login(client, world.dinkes_head)
    assert "menolak hasil" not in client.get("/inbox").text
    for action in ("open", "read"):
        response = client.post(f"/inbox/{theirs.id}/{action}", data={"csrf_token": csrf})
        assert response.status_code == 404
    session.rollback()
    session.refresh(theirs)
    assert theirs.read_at is None


def test_marking_read_needs_the_csrf_token(
    client: TestClient, session: Session, world: World
) -> None:
    _rejected_task(session, world)
    login(client, world.putr_head)
    assert client.post("/inbox/read-all", data={}).status_code == 403
    assert _bell_count(client.get("/board").text) == 2


def test_anonymous_is_sent_to_login(client: TestClient) -> None:
    response = client.get("/inbox", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")
